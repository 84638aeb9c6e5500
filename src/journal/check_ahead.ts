/**
 * Checking a journal segment ahead of its replay, on another thread (check_ahead_worker.ts): the node
 * thread's replay is the engine's speed plus decoding plus these checks, and the checks (a CRC32C and a
 * SHA-256 over every byte) need no engine state. Segments are handed over in the order the scan will
 * read them; the worker publishes each frame's results as it goes, and the scan takes a result only if
 * it is there already, for exactly the frame at that offset. It never waits for one: what the worker
 * has not reached yet, the scan checks itself, as it always did.
 */
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { CheckAheadRequest, CheckAheadResults } from "./check_ahead_worker.js";

/** What the worker found for one frame. */
export interface CheckedAhead {
  crc_ok: boolean;
  hash: Uint8Array;
}

export class CheckAhead {
  private readonly worker: Worker;
  private readonly results = new Map<string, CheckAheadResults>();

  constructor(private readonly dir: string) {
    this.worker = new Worker(new URL("./check_ahead_worker.js", import.meta.url));
    this.worker.unref();
    this.worker.on("message", (r: CheckAheadResults) => this.results.set(r.name, r));
    // A worker that fails only means the scan checks everything itself.
    this.worker.on("error", () => {});
  }

  /** Queues a segment (in the order the scan reads them). */
  start(name: string): void {
    const request: CheckAheadRequest = { path: join(this.dir, name), name };
    this.worker.postMessage(request);
  }

  /** The worker's results for frame `k` of segment `name`, if it has them and it is at `offset`. */
  frame(name: string, k: number, offset: number): CheckedAhead | null {
    const r = this.results.get(name);
    if (r === undefined || k >= Atomics.load(r.progress, 0) || r.offsets[k] !== offset) return null;
    return { crc_ok: r.crc_ok[k] === 1, hash: r.hashes.subarray(k * 32, k * 32 + 32) };
  }

  /** True once the worker has walked all it could of segment `name` (tests). */
  finished(name: string): boolean {
    const r = this.results.get(name);
    return r !== undefined && Atomics.load(r.progress, 1) === 1;
  }

  /** Done with a segment: its results can go. */
  done(name: string): void {
    this.results.delete(name);
  }

  close(): void {
    void this.worker.terminate();
  }
}
