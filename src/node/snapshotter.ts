/**
 * The node's side of background snapshots: spawns the snapshot worker (snapshot_worker.ts), hands it
 * every durable journal frame, and asks it for snapshots. What this costs the node's thread is one
 * postMessage per frame (the frame's buffer is transferred, not copied) and one per snapshot — the
 * serializing, hashing and fsync run on the worker's thread.
 *
 * If the worker dies (a bug or an I/O error), a new one is spawned from the newest snapshot and the
 * journal, at most `restarts_max` times; the node keeps trading meanwhile, and a restart would
 * only replay a longer tail.
 */
import { Worker } from "node:worker_threads";
import type { EngineLimits } from "../engine/config.js";
import { TRANSFER_POOL_KEPT_MAX, TransferPool } from "./transfer_pool.js";

export interface WorkerStart {
  snapshots_dir: string;
  journal_dir: string;
  /** The snapshot to start from (the newest valid one), or null to start from an empty engine. */
  restore_name: string | null;
  engine_limits: Partial<EngineLimits>;
  snapshots_kept: number;
  /** Frames are applied when a snapshot is asked for, or once this many bytes of them wait. */
  waiting_bytes_max: number;
  /** Every frame up to this sequence is on disk; later ones arrive as messages. */
  durable_seq: number;
}

export type ToWorker = { type: "frames"; bytes: Uint8Array } | { type: "snapshot"; id: number; seq: number };

export type FromWorker =
  | { type: "ready"; seq: number }
  | { type: "written"; id: number; name: string; seq: number; bytes: number; ms: number }
  | { type: "failed"; message: string }
  /** Frame buffers the worker has applied, back for reuse. */
  | { type: "buffers"; buffers: ArrayBuffer[] };

export interface Written {
  name: string;
  /** The snapshot's last sequence: at least the one asked for. */
  seq: number;
  bytes: number;
  /** Time the worker spent serializing and writing it. */
  ms: number;
}

/** Frames are gathered on the node's thread in buffers of this size (or less, when a snapshot is asked for). */
const OUTGOING_BYTES = 4 * 1024 * 1024;

interface Request {
  id: number;
  resolve: (w: Written) => void;
  reject: (e: Error) => void;
}

export class Snapshotter {
  private worker: Worker | null = null;
  private requests: Request[] = [];
  private readonly in_flight = new Set<Promise<Written>>();
  private next_id = 1;
  private restarts = 0;
  private closed = false;

  constructor(
    private readonly base: Omit<WorkerStart, "restore_name" | "durable_seq">,
    private readonly restarts_max: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts the worker from `restore_name` and the journal on disk up to `durable_seq`. */
  start(restore_name: string | null, durable_seq: number): void {
    const data: WorkerStart = { ...this.base, restore_name, durable_seq };
    const worker = new Worker(new URL("./snapshot_worker.js", import.meta.url), { workerData: data });
    worker.unref();
    worker.on("message", (m: FromWorker) => this.on_message(m));
    worker.on("error", (error) => this.on_failure(worker, error.message));
    worker.on("exit", (code) => {
      if (this.worker === worker && !this.closed) this.on_failure(worker, `exited with code ${code}`);
    });
    this.worker = worker;
  }

  /**
   * Hands a durable frame to the worker. Frames are copied into one outgoing buffer that is sent
   * (transferred, not copied again) once full or when a snapshot is asked for: one postMessage costs
   * tens of microseconds, which per frame would take a tenth of the node's thread at a few thousand
   * frames a second, and many small buffers held for a while cost the garbage collector more.
   */
  frame(frame: Uint8Array): void {
    if (this.worker === null) return;
    if (this.outgoing_bytes + frame.length > this.outgoing.length) {
      this.send_outgoing();
      if (frame.length > this.outgoing.length) this.outgoing = Buffer.allocUnsafeSlow(frame.length);
    }
    this.outgoing.set(frame, this.outgoing_bytes);
    this.outgoing_bytes += frame.length;
  }

  // Its own ArrayBuffer (transferable), never zero-filled on this thread, and reused once the worker
  // sends it back.
  private readonly pool = new TransferPool(OUTGOING_BYTES, TRANSFER_POOL_KEPT_MAX);
  private outgoing: Uint8Array = this.pool.take();
  private outgoing_bytes = 0;

  private send_outgoing(): void {
    if (this.worker === null || this.outgoing_bytes === 0) return;
    const t0 = performance.now();
    const message: ToWorker = { type: "frames", bytes: this.outgoing.subarray(0, this.outgoing_bytes) };
    this.worker.postMessage(message, [this.outgoing.buffer as ArrayBuffer]);
    this.outgoing = this.pool.take();
    this.outgoing_bytes = 0;
    this.count_post(performance.now() - t0);
  }

  /** What snapshots cost the node's thread: every postMessage to the worker, timed. */
  readonly cost = { posts: 0, total_ms: 0, max_ms: 0 };

  private count_post(ms: number): void {
    this.cost.posts++;
    this.cost.total_ms += ms;
    if (ms > this.cost.max_ms) this.cost.max_ms = ms;
  }

  /** True while a snapshot is being written. */
  get busy(): boolean {
    return this.requests.length > 0;
  }

  /** Asks for a snapshot at `seq` or later (every frame up to `seq` must have been handed over). */
  snapshot(seq: number): Promise<Written> {
    if (this.worker === null || this.closed) return Promise.reject(new Error("no snapshot worker"));
    const id = this.next_id++;
    this.send_outgoing();
    const t0 = performance.now();
    const message: ToWorker = { type: "snapshot", id, seq };
    this.worker.postMessage(message);
    this.count_post(performance.now() - t0);
    const written = new Promise<Written>((resolve, reject) => this.requests.push({ id, resolve, reject }));
    this.in_flight.add(written);
    const forget = (): void => void this.in_flight.delete(written);
    written.then(forget, forget);
    return written;
  }

  private on_message(m: FromWorker): void {
    if (m.type === "ready") return;
    if (m.type === "buffers") {
      this.pool.give(m.buffers);
      return;
    }
    if (m.type === "failed") {
      if (this.worker !== null) this.on_failure(this.worker, m.message);
      return;
    }
    const i = this.requests.findIndex((r) => r.id === m.id);
    if (i < 0) return;
    const [r] = this.requests.splice(i, 1);
    r.resolve({ name: m.name, seq: m.seq, bytes: m.bytes, ms: m.ms });
  }

  /** Set by the node: where to restart a worker from (newest snapshot, journal position now). */
  restart_from: () => { restore_name: string | null; durable_seq: number } = () => ({
    restore_name: null,
    durable_seq: 0,
  });

  private on_failure(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.outgoing_bytes = 0; // a new worker reads these frames from disk
    void worker.terminate();
    const error = new Error(`snapshot worker failed: ${message}`);
    for (const r of this.requests.splice(0)) r.reject(error);
    this.log(`node: ${error.message}`);
    if (this.closed) return;
    if (this.restarts >= this.restarts_max) {
      this.log("node: no more snapshot worker restarts; snapshots stop until the node restarts");
      return;
    }
    this.restarts++;
    try {
      const from = this.restart_from();
      this.start(from.restore_name, from.durable_seq);
    } catch (error) {
      this.log(`node: cannot restart the snapshot worker: ${String(error)}`);
    }
  }

  /** Waits for snapshots being written, then stops the worker. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.in_flight]);
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) await worker.terminate();
  }
}
