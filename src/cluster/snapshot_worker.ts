/**
 * A cluster node's snapshot worker (a worker thread): a second engine, a replica of the node's, fed
 * every log entry the node applies, in the same order, and applying it the same way (decode, clamp
 * the timestamp, execute; an undecodable entry is skipped by both). It serializes, hashes and writes
 * snapshots (and their log positions) on its own core, so a snapshot of a large state never stalls
 * the node's thread: the node only copies each entry's bytes into a buffer it hands over now and then
 * (node/snapshot_worker.ts does the same for a single node's journal frames).
 *
 * Start-up: restore the snapshot the node restored (or start empty) at the node's start position;
 * from there every entry arrives as a message. Entries wait until a snapshot is asked for (or too
 * many bytes wait): on a machine with few cores a replica applying everything at once would compete
 * with the node all the time.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { Engine } from "../engine/engine.js";
import { restore, snapshot } from "../engine/snapshot.js";
import { run_in_background } from "../node/background.js";
import { read_snapshot } from "../node/snapshot_store.js";
import { HeldBuffers } from "../node/transfer_pool.js";
import { decode_batch } from "./batch_codec.js";
import { type Position, write_cluster_snapshot } from "./peer.js";
import {
  type ClusterWorkerStart,
  ENTRY_HEADER_BYTES,
  type FromClusterWorker,
  type ToClusterWorker,
} from "./snapshotter.js";

const start = workerData as ClusterWorkerStart;
const port = parentPort;
run_in_background();
if (port === null) throw new Error("cluster/snapshot_worker must run as a worker thread");
const to_node: MessagePort = port;
const post = (m: FromClusterWorker): void => port.postMessage(m);

let engine: Engine;
const at: Position = { ...start.position };
const waiting: Uint8Array[] = [];
let waiting_bytes = 0;

function apply_records(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < bytes.length; ) {
    const length = view.getUint32(i, true);
    const revision = view.getFloat64(i + 4, true);
    const value = bytes.subarray(i + ENTRY_HEADER_BYTES, i + ENTRY_HEADER_BYTES + length);
    i += ENTRY_HEADER_BYTES + length;
    if (revision <= at.revision)
      throw new Error(`entry at revision ${revision}, replica is at ${at.revision}`);
    let batch: ReturnType<typeof decode_batch>;
    try {
      batch = decode_batch(value);
    } catch {
      at.revision = revision; // the node skipped it too (cluster_node.ts apply_entry)
      continue;
    }
    const ts = Math.max(at.last_ts_ms, batch.timestamp_ms);
    engine.quietly(() => {
      for (const c of batch.commands) {
        c.ts_ms = ts;
        engine.execute(c);
      }
    });
    at.seq += batch.commands.length;
    at.last_ts_ms = ts;
    at.revision = revision;
  }
}

/** The buffers the waiting entries arrived in: sent back to the node once applied, for reuse. */
const held = new HeldBuffers();

function apply_waiting(): void {
  for (const records of waiting) apply_records(records);
  waiting.length = 0;
  waiting_bytes = 0;
  held.give_back(to_node);
}

function handle(m: ToClusterWorker): void {
  if (m.type === "entries") {
    waiting.push(m.bytes);
    waiting_bytes += m.bytes.length;
    held.hold(m.bytes);
    if (waiting_bytes > start.waiting_bytes_max) apply_waiting();
    return;
  }
  apply_waiting();
  if (m.revision > at.revision)
    throw new Error(`asked for a snapshot at revision ${m.revision}, replica is only at ${at.revision}`);
  const t0 = performance.now();
  const body = snapshot(engine);
  const position = { ...at };
  const dir = start.snapshots_dir;
  // This thread is the only writer of the snapshots directory once it runs, so pruning happens here.
  const name = write_cluster_snapshot(dir, position, body, start.snapshots_kept);
  post({
    type: "written",
    id: m.id,
    name,
    position,
    bytes: body.length,
    ms: Math.round(performance.now() - t0),
  });
}

try {
  if (start.restore_name === null) engine = new Engine(start.engine_limits);
  else {
    const stored = read_snapshot(start.snapshots_dir, start.restore_name);
    if (typeof stored === "string") throw new Error(`snapshot ${start.restore_name}: ${stored}`);
    if (stored.last_seq !== start.position.seq)
      throw new Error(
        `snapshot ${start.restore_name} is at ${stored.last_seq}, the node at ${start.position.seq}`,
      );
    engine = restore(stored.body);
  }
  port.on("message", (m: ToClusterWorker) => {
    try {
      handle(m);
    } catch (error) {
      post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
      port.close();
    }
  });
  post({ type: "ready" });
} catch (error) {
  post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  port.close();
}
