/** Starting nodes for tests: in this process (start_node) or as a real `holdfast start` process. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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

/** A TCP port that was free a moment ago (for a node that must come back on the same address). */
export function free_port(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
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
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const args = [
      BIN,
      "start",
      "--data-dir",
      dir,
      "--port",
      String(port),
      "--demo",
      "--no-market-maker",
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
