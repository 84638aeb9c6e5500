/**
 * The node's side of a cluster node's background snapshots (snapshot_worker.ts): hands the worker
 * every log entry the node applies and asks it for snapshots. What this costs the node's thread is a
 * copy of each entry's bytes into an outgoing buffer and one postMessage per buffer or snapshot.
 *
 * If the worker fails (a bug or an I/O error), `running` turns false and the node takes its
 * snapshots on its own thread from then on (cluster_node.ts): slower for it, never wrong.
 */
import { Worker } from "node:worker_threads";
import type { EngineLimits } from "../engine/config.js";
import { TRANSFER_POOL_KEPT_MAX, TransferPool } from "../node/transfer_pool.js";
import type { Position } from "./peer.js";

/** What the worker starts from (its workerData). */
export interface ClusterWorkerStart {
  snapshots_dir: string;
  /** The snapshot the node restored, or null: it started from an empty engine. */
  restore_name: string | null;
  /** Where the node stood after restoring (the replica starts there too). */
  position: Position;
  engine_limits: Partial<EngineLimits>;
  snapshots_kept: number;
  /** Entries are applied when a snapshot is asked for, or once this many bytes of them wait. */
  waiting_bytes_max: number;
}

/** Entries travel as consecutive records: u32 length of the value, f64 revision, the value. */
export const ENTRY_HEADER_BYTES = 12;

export type ToClusterWorker =
  | { type: "entries"; bytes: Uint8Array }
  | { type: "snapshot"; id: number; revision: number };

export type FromClusterWorker =
  | { type: "ready" }
  | { type: "written"; id: number; name: string; position: Position; bytes: number; ms: number }
  | { type: "failed"; message: string }
  /** Entry buffers the worker has applied, back for reuse. */
  | { type: "buffers"; buffers: ArrayBuffer[] };

/** Entries are gathered in buffers of this size (or less, when a snapshot is asked for). */
const OUTGOING_BYTES = 4 * 1024 * 1024;

export interface ClusterWritten {
  name: string;
  position: Position;
  bytes: number;
  /** Time the worker spent serializing and writing it. */
  ms: number;
}

interface Request {
  id: number;
  resolve: (w: ClusterWritten) => void;
  reject: (e: Error) => void;
}

export class ClusterSnapshotter {
  private worker: Worker | null = null;
  private readonly requests: Request[] = [];
  private readonly in_flight = new Set<Promise<ClusterWritten>>();
  private next_id = 1;
  private closed = false;
  // Its own ArrayBuffer (transferable), never zero-filled on the node's thread, reused once the worker
  // sends it back (node/transfer_pool.ts).
  private readonly pool = new TransferPool(OUTGOING_BYTES, TRANSFER_POOL_KEPT_MAX);
  private outgoing: Buffer = this.pool.take();
  private outgoing_bytes = 0;

  constructor(
    data: ClusterWorkerStart,
    private readonly log: (line: string) => void,
  ) {
    const worker = new Worker(new URL("./snapshot_worker.js", import.meta.url), { workerData: data });
    worker.unref();
    worker.on("message", (m: FromClusterWorker) => this.on_message(m));
    worker.on("error", (error) => this.on_failure(error.message));
    worker.on("exit", (code) => {
      if (this.worker !== null && !this.closed) this.on_failure(`exited with code ${code}`);
    });
    this.worker = worker;
  }

  /** False once the worker has failed: the node snapshots on its own thread. */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Hands over one applied log entry (copied: the node keeps no reference to it). */
  entry(revision: number, value: Uint8Array): void {
    if (this.worker === null) return;
    const need = ENTRY_HEADER_BYTES + value.length;
    if (this.outgoing_bytes + need > this.outgoing.length) {
      this.send_outgoing();
      if (need > this.outgoing.length) this.outgoing = Buffer.allocUnsafeSlow(need);
    }
    this.outgoing.writeUInt32LE(value.length, this.outgoing_bytes);
    this.outgoing.writeDoubleLE(revision, this.outgoing_bytes + 4);
    this.outgoing.set(value, this.outgoing_bytes + ENTRY_HEADER_BYTES);
    this.outgoing_bytes += need;
  }

  private send_outgoing(): void {
    if (this.worker === null || this.outgoing_bytes === 0) return;
    const message: ToClusterWorker = {
      type: "entries",
      bytes: this.outgoing.subarray(0, this.outgoing_bytes),
    };
    this.worker.postMessage(message, [this.outgoing.buffer as ArrayBuffer]);
    this.outgoing = this.pool.take();
    this.outgoing_bytes = 0;
  }

  /** A snapshot at `revision` or later (every entry up to it must have been handed over). */
  snapshot(revision: number): Promise<ClusterWritten> {
    if (this.worker === null || this.closed) return Promise.reject(new Error("no snapshot worker"));
    const id = this.next_id++;
    this.send_outgoing();
    const message: ToClusterWorker = { type: "snapshot", id, revision };
    this.worker.postMessage(message);
    const written = new Promise<ClusterWritten>((resolve, reject) =>
      this.requests.push({ id, resolve, reject }),
    );
    this.in_flight.add(written);
    const forget = (): void => void this.in_flight.delete(written);
    written.then(forget, forget);
    return written;
  }

  private on_message(m: FromClusterWorker): void {
    if (m.type === "ready") return;
    if (m.type === "buffers") {
      this.pool.give(m.buffers);
      return;
    }
    if (m.type === "failed") {
      this.on_failure(m.message);
      return;
    }
    const i = this.requests.findIndex((r) => r.id === m.id);
    if (i < 0) return;
    const [r] = this.requests.splice(i, 1);
    r.resolve({ name: m.name, position: m.position, bytes: m.bytes, ms: m.ms });
  }

  private on_failure(message: string): void {
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    void worker.terminate();
    const error = new Error(`snapshot worker failed: ${message}`);
    for (const r of this.requests.splice(0)) r.reject(error);
    if (!this.closed)
      this.log(`node: ${error.message}; snapshots are taken on the node's thread from now on`);
  }

  /** Lets a snapshot being written finish (a half-written one would only be a temp file), then stops. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.in_flight]);
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) await worker.terminate();
  }
}
