/** `holdfast start`: runs one node until SIGTERM/SIGINT. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { CANARY_KEY_FILE } from "../demo/setup.js";
import { check_tiers, DEFAULT_TIERS, type LimitTiers } from "../gateway/limits.js";
import { trust_proxy } from "../server/connections.js";
import { start_node } from "../server/start.js";

export function register_start(program: Command): void {
  program
    .command("start")
    .description("run a node: journal, engine, public API and admin interface")
    .option("--data-dir <dir>", "where the node keeps its journal and snapshots", "holdfast-data")
    .option("--host <host>", "address the public API listens on", "127.0.0.1")
    .option("--port <n>", "port of the public API (0: any free port)", "8080")
    .option("--admin-socket <path>", "Unix socket of the admin interface (default DATA_DIR/admin.sock)")
    .option("--demo", "demo markets, funded users (DATA_DIR/demo-credentials.json) and a market maker")
    .option("--no-market-maker", "in demo mode, do not run the market maker")
    .option(
      "--limits <file>",
      'rate-limit tiers, JSON {"tier": {"weight_per_minute": N, "orders_per_10s": N, "orders_per_day": N, "connections_per_5m": N}, …} (connections_per_5m optional, 300; tiers not named keep their built-in limits: default (Binance\'s), demo, bench)',
    )
    .option(
      "--anonymous-tier <name>",
      "tier of requests without an API key (default: default; demo in --demo)",
    )
    .option(
      "--status-port <n>",
      "also run the status service, as a process of its own, on this port, watching this node",
    )
    .option("--status-data-dir <dir>", "the status service's directory (default: DATA_DIR-status)")
    .option("--journal <kind>", "file (the embedded default) or etcd (cluster mode)", "file")
    .option("--etcd <urls>", "cluster mode: client URLs of the etcd members, comma-separated")
    .option("--node-id <id>", "cluster mode: this node's name (1-32 letters, digits, - or _)")
    .option("--etcd-prefix <prefix>", "cluster mode: the exchange's key prefix in etcd", "/holdfast")
    .option(
      "--disk-free-min-mb <mb>",
      "file journal: refuse new commands while the data directory's disk has less free, resume at 1.5x (0: never; default 128)",
    )
    .option(
      "--connections-per-ip <n>",
      "connections one client address may hold at once (0: no cap; a --trust-proxy proxy has none; default 1000)",
    )
    .option(
      "--trust-proxy <list>",
      "reverse proxies (addresses, CIDR ranges, 'loopback') whose X-Forwarded-For names the client, for limits and API key IP lists (default: none; the header is ignored)",
    )
    .option(
      "--metrics-port <n>",
      "serve Prometheus metrics at http://METRICS_HOST:N/metrics (0: any free port; default: not on TCP, the admin socket serves them)",
    )
    .option("--metrics-host <host>", "address the metrics listen on", "127.0.0.1")
    .option("--snapshot-every <commands>", "take a snapshot after this many commands (default 100000)")
    .option("--compact-every <seconds>", "cluster mode: how often the log is compacted (default 30)")
    .option(
      "--compact-away-grace <seconds>",
      "cluster mode: how long compaction waits for a node that is down before going past its snapshot (default 900)",
    )
    .option(
      "--advertise-url <url>",
      "cluster mode: the URL peers reach this node's public API at, to bootstrap from its snapshot (default http://HOST:PORT)",
    )
    .option(
      "--payout-url <url>",
      "the custody service that pays approved withdrawals (Standard Webhooks POSTs; docs/OPERATIONS.md); unset, an operator records payouts by hand",
    )
    .option("--payout-secret-file <file>", "the custody service's whsec_ webhook secret (with --payout-url)")
    .option(
      "--status-url <url>",
      "the status service's public URL, for the web app's banner and links (default with --status-port: http://HOST:PORT)",
    )
    .action(
      async (opts: {
        dataDir: string;
        host: string;
        port: string;
        adminSocket?: string;
        demo?: boolean;
        marketMaker: boolean;
        limits?: string;
        anonymousTier?: string;
        statusPort?: string;
        statusDataDir?: string;
        payoutUrl?: string;
        payoutSecretFile?: string;
        statusUrl?: string;
        journal: string;
        etcd?: string;
        nodeId?: string;
        etcdPrefix: string;
        advertiseUrl?: string;
        snapshotEvery?: string;
        compactEvery?: string;
        compactAwayGrace?: string;
        diskFreeMinMb?: string;
        connectionsPerIp?: string;
        trustProxy?: string;
        metricsPort?: string;
        metricsHost: string;
      }) => {
        if (opts.journal !== "file" && opts.journal !== "etcd") {
          console.error("holdfast start: --journal must be file or etcd");
          process.exitCode = 2;
          return;
        }
        const etcd_urls = (opts.etcd ?? "").split(",").filter((u) => u !== "");
        if (opts.journal === "etcd" && (etcd_urls.length === 0 || opts.nodeId === undefined)) {
          console.error("holdfast start: --journal etcd needs --etcd URL[,URL…] and --node-id ID");
          process.exitCode = 2;
          return;
        }
        if (etcd_urls.some((u) => !/^https?:\/\/[^\s/]+$/.test(u))) {
          console.error("holdfast start: --etcd takes URLs like http://127.0.0.1:2379");
          process.exitCode = 2;
          return;
        }
        if (opts.advertiseUrl !== undefined && !/^https?:\/\/[^\s/]+$/.test(opts.advertiseUrl)) {
          console.error("holdfast start: --advertise-url takes a base URL like http://10.0.0.5:8080");
          process.exitCode = 2;
          return;
        }
        const snapshot_every = opts.snapshotEvery === undefined ? undefined : Number(opts.snapshotEvery);
        if (
          snapshot_every !== undefined &&
          !(Number.isSafeInteger(snapshot_every) && snapshot_every >= 1000)
        ) {
          console.error("holdfast start: --snapshot-every takes a whole number of commands, at least 1000");
          process.exitCode = 2;
          return;
        }
        const compact_every_s = opts.compactEvery === undefined ? undefined : Number(opts.compactEvery);
        if (
          compact_every_s !== undefined &&
          !(Number.isInteger(compact_every_s) && compact_every_s >= 1 && compact_every_s <= 86_400)
        ) {
          console.error("holdfast start: --compact-every takes whole seconds, 1 to 86400");
          process.exitCode = 2;
          return;
        }
        const away_grace_s = opts.compactAwayGrace === undefined ? undefined : Number(opts.compactAwayGrace);
        if (
          away_grace_s !== undefined &&
          !(Number.isInteger(away_grace_s) && away_grace_s >= 1 && away_grace_s <= 7 * 86_400)
        ) {
          console.error("holdfast start: --compact-away-grace takes whole seconds, 1 to 604800");
          process.exitCode = 2;
          return;
        }
        const disk_free_min_mb = opts.diskFreeMinMb === undefined ? undefined : Number(opts.diskFreeMinMb);
        if (
          disk_free_min_mb !== undefined &&
          !(Number.isInteger(disk_free_min_mb) && disk_free_min_mb >= 0 && disk_free_min_mb <= 1_048_576)
        ) {
          console.error("holdfast start: --disk-free-min-mb takes whole megabytes, 0 to 1048576");
          process.exitCode = 2;
          return;
        }
        const connections_per_ip =
          opts.connectionsPerIp === undefined ? undefined : Number(opts.connectionsPerIp);
        if (
          connections_per_ip !== undefined &&
          !(
            Number.isInteger(connections_per_ip) &&
            connections_per_ip >= 0 &&
            connections_per_ip <= 1_000_000
          )
        ) {
          console.error("holdfast start: --connections-per-ip takes a whole number, 0 to 1000000");
          process.exitCode = 2;
          return;
        }
        if (opts.trustProxy !== undefined) {
          try {
            trust_proxy(opts.trustProxy);
          } catch (error) {
            console.error(`holdfast start: --trust-proxy: ${(error as Error).message}`);
            process.exitCode = 2;
            return;
          }
        }
        const metrics_port = opts.metricsPort === undefined ? null : Number(opts.metricsPort);
        if (
          metrics_port !== null &&
          !(Number.isInteger(metrics_port) && metrics_port >= 0 && metrics_port <= 65535)
        ) {
          console.error("holdfast start: --metrics-port must be 0..65535");
          process.exitCode = 2;
          return;
        }
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          console.error("holdfast start: --port must be 0..65535");
          process.exitCode = 2;
          return;
        }
        let limit_tiers: LimitTiers | undefined;
        if (opts.limits !== undefined) {
          try {
            const file: unknown = JSON.parse(readFileSync(opts.limits, "utf8"));
            // checked alone first: merged into the built-in tiers, an array or null would vanish
            if (typeof file !== "object" || file === null || Array.isArray(file))
              throw new Error("limit tiers must be an object of tier → limits");
            const problem = check_tiers({ default: DEFAULT_TIERS.default, ...file }, "default");
            if (problem !== null) throw new Error(problem);
            limit_tiers = { ...DEFAULT_TIERS, ...(file as LimitTiers) };
          } catch (error) {
            console.error(`holdfast start: --limits ${opts.limits}: ${String(error)}`);
            process.exitCode = 2;
            return;
          }
        }
        const anonymous_tier = opts.anonymousTier ?? (opts.demo === true ? "demo" : "default");
        const problem = check_tiers(limit_tiers ?? DEFAULT_TIERS, anonymous_tier);
        if (problem !== null) {
          console.error(`holdfast start: ${problem}`);
          process.exitCode = 2;
          return;
        }
        const public_host = opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host;
        const status_url =
          opts.statusUrl ??
          (opts.statusPort === undefined ? null : `http://${public_host}:${opts.statusPort}`);
        if (status_url !== null && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(status_url)) {
          console.error("holdfast start: --status-url must be an http:// or https:// URL");
          process.exitCode = 2;
          return;
        }
        let payout: { url: string; secret: string } | null = null;
        if (opts.payoutUrl !== undefined || opts.payoutSecretFile !== undefined) {
          const problem = payout_problem(opts.payoutUrl, opts.payoutSecretFile);
          if (typeof problem === "string") {
            console.error(`holdfast start: ${problem}`);
            process.exitCode = 2;
            return;
          }
          payout = problem;
        }
        const log = (line: string): void => console.error(`${new Date().toISOString()} ${line}`);
        const running = await start_node({
          payout,
          data_dir: opts.dataDir,
          host: opts.host,
          port,
          admin_socket: opts.adminSocket ?? null,
          demo: opts.demo === true,
          market_maker: opts.marketMaker,
          ...(limit_tiers === undefined ? {} : { limit_tiers }),
          anonymous_tier,
          status_url: status_url?.replace(/\/+$/, "") ?? null,
          cluster:
            opts.journal === "etcd"
              ? { etcd: etcd_urls, node_id: opts.nodeId as string, prefix: opts.etcdPrefix }
              : null,
          ...(opts.advertiseUrl === undefined ? {} : { advertise_url: opts.advertiseUrl }),
          ...(snapshot_every === undefined ? {} : { snapshot_every_commands: snapshot_every }),
          ...(compact_every_s === undefined ? {} : { compact_every_ms: compact_every_s * 1000 }),
          ...(away_grace_s === undefined ? {} : { compact_away_grace_ms: away_grace_s * 1000 }),
          ...(disk_free_min_mb === undefined ? {} : { disk_free_min_bytes: disk_free_min_mb * 1024 * 1024 }),
          ...(connections_per_ip === undefined ? {} : { connections_per_ip }),
          ...(opts.trustProxy === undefined ? {} : { trust_proxy: opts.trustProxy }),
          metrics_port,
          metrics_host: opts.metricsHost,
          log,
        });
        console.log(
          `holdfast: node ready at http://${opts.host}:${running.port} (sequence ${running.node.last_applied_seq}); admin socket ${running.admin_socket}`,
        );
        if (running.credentials_file !== null)
          console.log(`holdfast: demo users' API keys are in ${running.credentials_file}`);
        // The status service is its own process: it outlives this one if this one dies (that is
        // what it is for); a clean stop of the node stops it too.
        let status: ChildProcess | null = null;
        if (opts.statusPort !== undefined) {
          const watched = `http://${public_host}:${running.port}`;
          status = spawn(
            process.execPath,
            [
              process.argv[1],
              "status",
              "--watch",
              watched,
              "--port",
              opts.statusPort,
              "--host",
              opts.host,
              "--data-dir",
              opts.statusDataDir ?? `${opts.dataDir.replace(/\/+$/, "")}-status`,
              ...(opts.demo === true ? ["--canary-key", join(opts.dataDir, CANARY_KEY_FILE)] : []),
              "--exchange-admin-socket",
              running.admin_socket,
            ],
            { stdio: "inherit" },
          );
        }
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          log(`node: ${signal}: stopping`);
          status?.kill("SIGTERM");
          running.close().then(
            () => {
              log("node: stopped cleanly");
              process.exit(0);
            },
            (error: unknown) => {
              log(`node: error while stopping: ${String(error)}`);
              process.exit(1);
            },
          );
        };
        process.on("SIGTERM", () => stop("SIGTERM"));
        process.on("SIGINT", () => stop("SIGINT"));
      },
    );
}

/** The payout options, or what is wrong with them (both --payout-url and a readable whsec_ secret). */
function payout_problem(
  url: string | undefined,
  secret_file: string | undefined,
): { url: string; secret: string } | string {
  if (url === undefined || secret_file === undefined)
    return "--payout-url and --payout-secret-file go together";
  if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url)) return "--payout-url must be an http:// or https:// URL";
  let secret: string;
  try {
    secret = readFileSync(secret_file, "utf8").trim();
  } catch (error) {
    return `--payout-secret-file ${secret_file}: ${String(error)}`;
  }
  if (!/^whsec_[A-Za-z0-9+/=]{16,}$/.test(secret))
    return `--payout-secret-file ${secret_file}: expected a Standard Webhooks secret (whsec_ and base64)`;
  return { url, secret };
}
