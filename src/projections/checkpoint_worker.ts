/**
 * The history database's WAL checkpoints, on a thread of their own. A checkpoint copies the WAL's pages
 * into the database file and fsyncs both; left to SQLite's automatic checkpoint it runs inside the
 * node thread's commit, every ~4 MB of WAL, and every order queued behind it waits. Here a second
 * connection runs a PASSIVE checkpoint every `every_ms`, which never blocks the writer. Measured with
 * `npm run bench:api -- --quick --only-rest`, six alternating pairs against the build before: half-load
 * p99 19.9-21.5 ms vs 25.2-32.1 ms in five pairs (one outlier of 227 ms, a VM pause or a busy wait not
 * seen again), orders/s within the machine's noise (median +6%).
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { run_in_background } from "../node/background.js";

export interface CheckpointStart {
  file: string;
  every_ms: number;
  /** Int32 [0]: set to 1 once this thread's connection is closed. */
  closed: SharedArrayBuffer;
}

const start = workerData as CheckpointStart;
const port = parentPort;
if (port === null) throw new Error("checkpoint_worker must run as a worker thread");
run_in_background();

const db = new Database(start.file);
db.pragma("busy_timeout = 1000");
const timer = setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // A checkpoint that fails (a busy or full disk) is retried next time; meanwhile the WAL grows
    // until the node's own automatic checkpoint (the backstop in history.ts) takes over.
  }
}, start.every_ms);

port.on("message", (m: { type: "stop" }) => {
  if (m.type !== "stop") return;
  clearInterval(timer);
  db.close();
  // History.close() waits for this: its caller may remove the directory next.
  const closed = new Int32Array(start.closed);
  Atomics.store(closed, 0, 1);
  Atomics.notify(closed, 0);
  port.close();
});
