/**
 * Real etcd members for tests (Debian's etcd-server 3.4, installed by scripts/test.sh): N members on
 * loopback with free ports and temporary data directories, with the flags `holdfast cluster` uses
 * (ETCD_TUNING: 50 ms heartbeat, 300 ms election timeout…) so a dead leader is replaced in about half a second.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ETCD_TUNING } from "../../src/cli/cluster.js";
import { etcd_client } from "../../src/cluster/etcd_client.js";
import { free_port } from "./nodes.js";

export const ETCD_BIN = process.env.HOLDFAST_ETCD ?? "etcd";

export interface EtcdMember {
  name: string;
  client_url: string;
  peer_url: string;
  dir: string;
  process: ChildProcess | null;
  /** The end of what the member wrote to stderr (errors only), for a failure's message. */
  stderr_tail: string;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs of every member, for `--etcd`. */
  urls: string[];
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP / SIGCONT: a member that stops answering without closing its connections. */
  pause(i: number): void;
  resume(i: number): void;
  restart(i: number): Promise<void>;
  close(): Promise<void>;
}

async function healthy(m: EtcdMember, timeout_ms: number): Promise<void> {
  const url = m.client_url;
  const start = Date.now();
  for (;;) {
    const p = m.process;
    if (p !== null && p.exitCode !== null) {
      throw new Error(
        `etcd ${m.name} (${url}) exited with ${p.exitCode}: ${m.stderr_tail.trim() || "no output"}`,
      );
    }
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
      if (r.ok && ((await r.json()) as { health: string }).health === "true") return;
    } catch {
      // not yet
    }
    if (Date.now() - start > timeout_ms) {
      throw new Error(
        `etcd at ${url} not healthy after ${timeout_ms} ms: ${m.stderr_tail.trim() || "no output"}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A cluster of `size` members, healthy. A start that fails (a member exits or stays unhealthy) is
 * retried once on fresh ports and directories; the second failure's message carries etcd's own words.
 */
export async function start_etcd(size = 3): Promise<EtcdCluster> {
  try {
    return await start_etcd_once(size);
  } catch (error) {
    process.stderr.write(`start_etcd: ${(error as Error).message}; trying once more on other ports\n`);
    return await start_etcd_once(size);
  }
}

async function start_etcd_once(size: number): Promise<EtcdCluster> {
  const root = mkdtempSync(join(tmpdir(), "hf-etcd-"));
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    const [c, p] = [await free_port(), await free_port()];
    members.push({
      name: `m${i}`,
      client_url: `http://127.0.0.1:${c}`,
      peer_url: `http://127.0.0.1:${p}`,
      dir: join(root, `m${i}`),
      process: null,
      stderr_tail: "",
    });
  }
  const initial = members.map((m) => `${m.name}=${m.peer_url}`).join(",");
  const launch = (m: EtcdMember, state: "new" | "existing"): void => {
    const child = spawn(
      ETCD_BIN,
      [
        "--name",
        m.name,
        "--data-dir",
        m.dir,
        "--listen-client-urls",
        m.client_url,
        "--advertise-client-urls",
        m.client_url,
        "--listen-peer-urls",
        m.peer_url,
        "--initial-advertise-peer-urls",
        m.peer_url,
        "--initial-cluster",
        initial,
        "--initial-cluster-state",
        state,
        "--initial-cluster-token",
        "holdfast-test",
        ...ETCD_TUNING,
        "--logger",
        "zap",
        "--log-level",
        "error",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    m.stderr_tail = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      m.stderr_tail = (m.stderr_tail + chunk).slice(-2_000);
    });
    m.process = child;
  };
  for (const m of members) launch(m, "new");
  const cluster: EtcdCluster = {
    members,
    urls: members.map((m) => m.client_url),
    async kill(i, signal = "SIGKILL") {
      const p = members[i].process;
      members[i].process = null;
      if (p === null || p.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once("exit", () => resolve());
        p.kill(signal);
      });
    },
    pause(i) {
      members[i].process?.kill("SIGSTOP");
    },
    resume(i) {
      members[i].process?.kill("SIGCONT");
    },
    async restart(i) {
      launch(members[i], "existing");
      await healthy(members[i], 15_000);
    },
    async close() {
      for (let i = 0; i < members.length; i++) cluster.resume(i);
      for (let i = 0; i < members.length; i++) await cluster.kill(i);
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(members.map((m) => healthy(m, 20_000)));
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

/** Index of the member that leads now (waits through an election). */
export async function leader_index(etcd: EtcdCluster): Promise<number> {
  for (;;) {
    for (let i = 0; i < etcd.urls.length; i++) {
      if (etcd.members[i].process === null) continue;
      const c = etcd_client([etcd.urls[i]]);
      try {
        const s = await c.maintenance.status();
        if (s.leader === s.header.member_id) return i;
      } catch {
        // down, paused or electing
      } finally {
        c.close();
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
