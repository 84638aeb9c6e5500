/** Starting nodes for tests: in this process (start_node) or as a real `holdfast start` process. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunningNode, type StartOptions, start_node } from "../../src/server/start.js";

export const BIN = fileURLToPath(new URL("../../../bin/holdfast.js", import.meta.url));

/** A demo node's options on `dir`, without the market maker (tests want a book they control). */
export function demo_options(dir: string): StartOptions {
  return {
    data_dir: dir,
    host: "127.0.0.1",
    port: 0,
    admin_socket: null,
    demo: true,
    market_maker: false,
    log: () => {},
  };
}

/**
 * A demo node in this process on a fresh temporary data directory, without the market maker (tests
 * want a book they control). `remove()` closes it and deletes the directory.
 */
export async function demo_node(
  prefix: string,
  over: Partial<StartOptions> = {},
): Promise<{ running: RunningNode; dir: string; remove: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const running = await start_node({ ...demo_options(dir), ...over });
  return {
    running,
    dir,
    remove: async () => {
      await running.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Ports this process has handed out already: never twice, though each is closed again at once. */
const handed_out = new Set<number>();

/** The kernel's range for outgoing connections' local ports (Linux), or null when unknown. */
function ephemeral_range(): [number, number] | null {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    return Number.isInteger(low) && Number.isInteger(high) ? [low, high] : null;
  } catch {
    return null;
  }
}

function try_listen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(null));
    s.listen(port, "127.0.0.1", () => {
      const got = (s.address() as AddressInfo).port;
      s.close(() => resolve(got));
    });
  });
}

/**
 * A TCP port that was free a moment ago, for a process started next (an etcd member, a node that must
 * come back on the same address). Chosen below the kernel's ephemeral range: a port from listen(0)
 * comes from that range, and between our close and the child's bind any outgoing connection on the
 * machine may take it as its local port. That happened in CI: three etcd members started together,
 * two dialled each other, and one dial took the third's client port, so it never came up.
 */
export async function free_port(): Promise<number> {
  const range = ephemeral_range();
  const low = 20_000;
  const high = range === null ? 0 : Math.min(range[0] - 1, 32_767);
  for (let attempt = 0; high > low && attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handed_out.has(port)) continue;
    if ((await try_listen(port)) === null) continue;
    handed_out.add(port);
    return port;
  }
  // No room below the range (an unusual kernel setting): the kernel's choice, as before.
  for (;;) {
    const port = await try_listen(0);
    if (port === null) throw new Error("no free TCP port on 127.0.0.1");
    if (!handed_out.has(port)) {
      handed_out.add(port);
      return port;
    }
  }
}

/**
 * `holdfast start --demo --no-market-maker` as a child process; resolves once it is ready. `port`
 * (default 0: any) and `extra` arguments as needed.
 */
export function spawn_node(
  dir: string,
  port = 0,
  extra: string[] = [],
  /** A command the node runs under, e.g. ["prlimit", "--nofile=800"]. */
  wrapper: string[] = [],
  /** false: no demo markets, users or market maker (the node then needs DIR/master.key). */
  demo = true,
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const args = [
      BIN,
      "start",
      "--data-dir",
      dir,
      "--port",
      String(port),
      ...(demo ? ["--demo", "--no-market-maker"] : []),
      ...extra,
    ];
    const child =
      wrapper.length === 0
        ? spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
        : spawn(wrapper[0], [...wrapper.slice(1), process.execPath, ...args], {
            stdio: ["ignore", "pipe", "pipe"],
          });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`node did not start: ${err}`)), 30_000);
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /node ready at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.stderr?.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code}: ${err}`));
    });
  });
}
