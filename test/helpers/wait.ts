/** Small helpers the process-level tests share. */
import { execFile } from "node:child_process";
import { BIN } from "./nodes.js";

/** Polls `get` every 50 ms until it gives a value (not null); fails after `timeout_ms` naming `what`. */
export async function until<T>(
  what: string,
  timeout_ms: number,
  get: () => Promise<T | null> | T | null,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await get();
    if (v !== null) return v;
    if (Date.now() - start > timeout_ms)
      throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The `holdfast` CLI as a child process, awaited (so a server in this process keeps answering). */
export function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { encoding: "utf8", timeout: 20_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : -1,
          stdout,
          stderr,
        }),
    );
  });
}
