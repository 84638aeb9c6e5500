/**
 * `holdfast cluster` (what `npm run cluster` runs): a whole cluster on this machine's loopback, for
 * trying cluster mode out: three etcd members (Debian's etcd-server, tuned as docs/CLUSTER.md
 * says), three nodes on them (`holdfast start --journal etcd`, demo markets and users, one shared
 * master key) and the status service watching all three. Ctrl-C stops everything. Each process is its
 * own, so `kill -9` one node or etcd member and watch the others carry on.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";

/** etcd flags for fast failure detection on a LAN or loopback (docs/CLUSTER.md explains each). */
export const ETCD_TUNING = [
  "--heartbeat-interval",
  "50",
  "--election-timeout",
  "300",
  "--grpc-keepalive-min-time",
  "400ms",
  "--quota-backend-bytes",
  String(2 * 1024 * 1024 * 1024),
];

export function register_cluster(program: Command): void {
  program
    .command("cluster")
    .description("run three etcd members, three nodes and the status service on loopback (try cluster mode)")
    .option("--dir <dir>", "where the members and nodes keep their data", "holdfast-cluster")
    .option("--port <n>", "first node's API port; the others follow (+2, +4), the status page is +1", "8080")
    .option("--etcd-port <n>", "first etcd client port; peers use +100", "2379")
    .option("--etcd-bin <path>", "the etcd binary", "etcd")
    .action((opts: { dir: string; port: string; etcdPort: string; etcdBin: string }) => {
      const port = Number(opts.port);
      const etcd_port = Number(opts.etcdPort);
      if (
        !(Number.isInteger(port) && port > 0 && port < 65530) ||
        !(Number.isInteger(etcd_port) && etcd_port > 0)
      )
        return void fail("--port and --etcd-port must be port numbers");
      if (spawnSync(opts.etcdBin, ["--version"]).status !== 0)
        return void fail(
          `${opts.etcdBin} not found: install Debian's etcd-server (apt-get install etcd-server)`,
        );
      mkdirSync(opts.dir, { recursive: true });
      // one master key for the whole cluster: every node must open every sealed secret
      const key_file = join(opts.dir, "master.key");
      if (!existsSync(key_file))
        writeFileSync(key_file, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
      const master_key = readFileSync(key_file, "utf8").trim();
      const children: ChildProcess[] = [];
      const run = (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
        const child = spawn(cmd, args, { stdio: ["ignore", "inherit", "inherit"], env });
        child.on("exit", (code, signal) => console.error(`cluster: ${name} exited (${signal ?? code})`));
        children.push(child);
        return child;
      };
      const members = [0, 1, 2].map((i) => ({
        name: `etcd${i}`,
        client: `http://127.0.0.1:${etcd_port + i * 2}`,
        peer: `http://127.0.0.1:${etcd_port + 100 + i * 2}`,
      }));
      const initial = members.map((m) => `${m.name}=${m.peer}`).join(",");
      for (const m of members) {
        const data = join(opts.dir, m.name);
        run(m.name, opts.etcdBin, [
          "--name",
          m.name,
          "--data-dir",
          data,
          "--listen-client-urls",
          m.client,
          "--advertise-client-urls",
          m.client,
          "--listen-peer-urls",
          m.peer,
          "--initial-advertise-peer-urls",
          m.peer,
          "--initial-cluster",
          initial,
          "--initial-cluster-state",
          existsSync(data) ? "existing" : "new",
          "--initial-cluster-token",
          "holdfast",
          "--logger",
          "zap",
          "--log-level",
          "warn",
          ...ETCD_TUNING,
        ]);
      }
      const urls = members.map((m) => m.client);
      const node_urls: string[] = [];
      for (let i = 0; i < 3; i++) {
        const node_port = port + i * 2;
        node_urls.push(`http://127.0.0.1:${node_port}`);
        run(
          `node${i}`,
          process.execPath,
          [
            process.argv[1],
            "start",
            "--demo",
            "--journal",
            "etcd",
            "--etcd",
            [urls[i], ...urls.filter((_, j) => j !== i)].join(","),
            "--node-id",
            `node${i}`,
            "--port",
            String(node_port),
            "--data-dir",
            join(opts.dir, `node${i}`),
            "--status-url",
            `http://127.0.0.1:${port + 1}`,
          ],
          { ...process.env, HOLDFAST_MASTER_KEY: master_key },
        );
      }
      run("status", process.execPath, [
        process.argv[1],
        "status",
        "--watch",
        node_urls.join(","),
        "--port",
        String(port + 1),
        "--data-dir",
        join(opts.dir, "status"),
      ]);
      console.log(
        `holdfast cluster: etcd ${urls.join(" ")}; nodes ${node_urls.join(" ")}; status page http://127.0.0.1:${port + 1}; Ctrl-C stops it all`,
      );
      const stop = (): void => {
        for (const c of children) c.kill("SIGTERM");
        setTimeout(() => process.exit(0), 3000).unref();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
}

function fail(message: string): void {
  console.error(`holdfast cluster: ${message}`);
  process.exitCode = 2;
}
