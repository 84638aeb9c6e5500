/**
 * The reserves audits' builder thread (see audit.ts): at the lowest priority, it builds the tree of
 * each pending audit and stores it in small transactions, on a connection of its own. Told "build"
 * when the history hands the writer an audit and once at start (an audit pending from before a crash
 * or a restart is built then). Stopping is a shared flag it checks between chunks: a build is long
 * and synchronous, so a message would wait for its end.
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { run_in_background } from "../node/background.js";
import { build_next } from "./audit.js";

export interface BuilderStart {
  file: string;
  reserves_key: Uint8Array;
  /** Int32 [0]: 1 asks it to stop; [1]: it sets 1 once its connection is closed. */
  flags: SharedArrayBuffer;
  /** The history's shared words: Int32 [BATCHES_SLOT] counts the batches the writer has written. */
  writer_words: SharedArrayBuffer;
  batches_slot: number;
}

/** "build": look for pending audits once the writer has written `after_batches` batches. */
export type BuilderRequest = { type: "build"; after_batches: number } | { type: "stop" };

const start = workerData as BuilderStart;
const port = parentPort;
if (port === null) throw new Error("builder_worker must run as a worker thread");
run_in_background();
const flags = new Int32Array(start.flags);
const stopping = () => Atomics.load(flags, 0) === 1;

const db = new Database(start.file);
// the writer's batches hold the write lock briefly; a chunk waits for them, never fails on them
db.pragma("busy_timeout = 60000");

function close(): void {
  db.close();
  Atomics.store(flags, 1, 1);
  Atomics.notify(flags, 1);
  port?.close();
}

const written = new Int32Array(start.writer_words);

port.on("message", (m: BuilderRequest) => {
  if (m.type === "stop" || stopping()) return close();
  // the audit's pending row is in that batch: wait for its transaction (a writer that failed never
  // writes it; the next start replays the audit)
  for (;;) {
    const seen = Atomics.load(written, start.batches_slot);
    if (seen >= m.after_batches) break;
    if (stopping()) return close();
    Atomics.wait(written, start.batches_slot, seen, 100);
  }
  for (;;) {
    const r = build_next(db, start.reserves_key, stopping);
    if (r === "stopped") return close();
    if (r === "none") return;
  }
});
