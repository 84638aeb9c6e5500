/**
 * Checking a journal segment ahead of its replay, on another thread (check_ahead_worker.ts): the node
 * thread's replay is the engine's speed plus decoding plus these checks, and the checks (a CRC32C and a
 * SHA-256 over every byte) need no engine state. Segments are handed over in the order the scan will
 * read them; the worker publishes each frame's results as it goes, and the scan takes a result only if
 * it is there already, for exactly the frame at that offset. It never waits for a frame's result: what
 * the worker has not reached yet, the scan checks itself, as it always did. It does wait, briefly
 * (started()), for the worker to begin a segment before walking it: the scan walks a segment without
 * yielding, so results that arrive after it began reach it only at the next segment. Without that
 * wait the first segment was always checked on the node's thread (the worker was still booting): one
 * segment in seven of the journal benchmark's replay, ~5% of its time.
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
  /** Scans waiting (started()) for the worker to begin a segment. */
  private readonly waiting = new Map<string, () => void>();
  private stopped = false;

  constructor(private readonly dir: string) {
    this.worker = new Worker(new URL("./check_ahead_worker.js", import.meta.url));
    this.worker.unref();
    this.worker.on("message", (r: CheckAheadResults) => {
      this.results.set(r.name, r);
      this.waiting.get(r.name)?.();
    });
    // A worker that fails only means the scan checks everything itself.
    const stop = (): void => {
      this.stopped = true;
      for (const wake of [...this.waiting.values()]) wake();
    };
    this.worker.on("error", stop);
    this.worker.on("exit", stop);
  }

  /**
   * Resolves once the worker has begun segment `name` (it sends its results handle before reading the
   * file), or after `timeout_ms`, or at once if it has begun already or has stopped.
   */
  started(name: string, timeout_ms: number): Promise<void> {
    if (this.stopped || this.results.has(name)) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiting.delete(name);
        resolve();
      };
      const timer = setTimeout(wake, timeout_ms);
      this.waiting.set(name, wake);
    });
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
