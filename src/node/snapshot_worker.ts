/**
 * The snapshot worker (a worker thread): a second engine, a replica of the node's, fed the same
 * durable journal frames. It serializes and writes snapshots on its own core, so taking a snapshot
 * of a million resting orders (≈1 s of serializing, hashing and fsync) never stalls order entry:
 * the node's thread only hands over each frame's bytes (a transfer, no copy) and asks.
 *
 * Start-up: restore the snapshot the node restored (or start empty), then read the journal from disk
 * up to `durable_seq` (everything durable when the worker was spawned); every later frame arrives
 * as a message, in order. Replaying is deterministic, so the replica's state at a sequence is the
 * node's state at that sequence; a snapshot is written at whatever sequence the replica has reached
 * (never behind what the node asked for, never ahead of what is durable).
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type { EngineLimits } from "../engine/config.js";
import { Engine } from "../engine/engine.js";
import { restore, snapshot } from "../engine/snapshot.js";
import { DecodeScratch } from "../journal/codec.js";
import { parse_frame_header, visit_frame_commands } from "../journal/frame.js";
import { read_batches, scan_journal } from "../journal/scan.js";
import { FsStorage } from "../journal/storage.js";
import { run_in_background } from "./background.js";
import { prune_snapshots, read_snapshot, write_snapshot } from "./snapshot_store.js";
import type { FromWorker, ToWorker, WorkerStart } from "./snapshotter.js";
import { HeldBuffers } from "./transfer_pool.js";

const start = workerData as WorkerStart;
run_in_background();
const port = parentPort;
if (port === null) throw new Error("snapshot_worker must run as a worker thread");
const to_node: MessagePort = port;
const post = (m: FromWorker): void => port.postMessage(m);

let engine: Engine;
let applied_seq = 0;
let ready = false;
const early: ToWorker[] = [];

/**
 * Commands are decoded into one reused object per kind, as the node's own replay does (the engine
 * keeps no reference to a command): the replica runs beside the node on a two-core machine, and a
 * fresh object per command made it collect ~23 MB of garbage every ~60 ms at 150,000 commands/s.
 */
const scratch = new DecodeScratch();

function apply_frame(bytes: Uint8Array): void {
  const header = parse_frame_header(bytes);
  if (header.first_seq !== applied_seq + 1)
    throw new Error(`frame starts at ${header.first_seq}, replica is at ${applied_seq}`);
  const ts_ms = header.timestamp_ms;
  engine.quietly(() =>
    visit_frame_commands(bytes, header, 0, scratch, (c) => {
      c.ts_ms = ts_ms;
      engine.execute(c);
    }),
  );
  applied_seq = header.first_seq + header.count - 1;
}

/**
 * Frames wait here until a snapshot is asked for (or too many bytes wait): on a machine with few
 * cores a replica that applied every frame at once would compete with the node for CPU all the time.
 */
const waiting: Uint8Array[] = [];
let waiting_bytes = 0;

/** The buffers the waiting frames arrived in: sent back to the node once applied, for reuse. */
const held = new HeldBuffers();

function apply_waiting(): void {
  for (const frame of waiting) apply_frame(frame);
  waiting.length = 0;
  waiting_bytes = 0;
  held.give_back(to_node);
}

function handle(m: ToWorker): void {
  if (m.type === "frames") {
    // Consecutive frames, each starting with its magic and length.
    const view = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    for (let at = 0; at < m.bytes.length; ) {
      const length = view.getUint32(at + 4, true);
      waiting.push(m.bytes.subarray(at, at + length));
      at += length;
    }
    waiting_bytes += m.bytes.length;
    held.hold(m.bytes);
    if (waiting_bytes > start.waiting_bytes_max) apply_waiting();
    return;
  }
  apply_waiting();
  if (m.seq > applied_seq)
    throw new Error(`asked for a snapshot at ${m.seq}, replica is only at ${applied_seq}`);
  const t0 = performance.now();
  const body = snapshot(engine);
  const name = write_snapshot(start.snapshots_dir, applied_seq, body);
  // This thread is the only writer of the snapshots directory, so pruning (which also removes
  // leftover temp files) happens here too, never while a snapshot is half written.
  prune_snapshots(start.snapshots_dir, start.snapshots_kept);
  post({
    type: "written",
    id: m.id,
    name,
    seq: applied_seq,
    bytes: body.length,
    ms: Math.round(performance.now() - t0),
  });
}

function fail(error: unknown): void {
  post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  port?.close();
}

port.on("message", (m: ToWorker) => {
  if (!ready) {
    early.push(m);
    return;
  }
  try {
    handle(m);
  } catch (error) {
    fail(error);
  }
});

async function catch_up(): Promise<void> {
  let from_seq = 1;
  if (start.restore_name !== null) {
    const stored = read_snapshot(start.snapshots_dir, start.restore_name);
    if (typeof stored === "string") throw new Error(`snapshot ${start.restore_name}: ${stored}`);
    engine = restore(stored.body);
    from_seq = stored.last_seq + 1;
  } else {
    engine = new Engine(start.engine_limits as Partial<EngineLimits>);
  }
  applied_seq = from_seq - 1;
  if (start.durable_seq >= from_seq) {
    // The node may be appending to the last segment meanwhile: a frame it is writing looks torn to
    // this scan and is left out; only frames up to durable_seq are applied here.
    const scan = await scan_journal(new FsStorage(start.journal_dir), from_seq);
    if (scan.corruption !== null) throw new Error(`journal: ${scan.corruption.reason}`);
    for await (const batch of read_batches(new FsStorage(start.journal_dir), scan, from_seq)) {
      engine.quietly(() => {
        for (const c of batch) {
          if (c.seq > start.durable_seq) break;
          c.command.ts_ms = c.timestamp_ms;
          engine.execute(c.command);
          applied_seq = c.seq;
        }
      });
      if (applied_seq >= start.durable_seq) break;
    }
  }
  if (applied_seq !== Math.max(start.durable_seq, from_seq - 1))
    throw new Error(`replica caught up to ${applied_seq}, expected ${start.durable_seq}`);
  ready = true;
  for (const m of early) handle(m);
  early.length = 0;
  post({ type: "ready", seq: applied_seq });
}

catch_up().catch(fail);
