/**
 * Background threads yield the CPU to order entry. On Linux a thread's nice value is its own, so a
 * worker can lower just itself: with two cores shared by the node's thread, the collector's helper
 * threads, libuv's fsync threads and a snapshot replica applying a backlog of a million commands,
 * the replica at nice 0 took CPU from the others and stretched acknowledgements (a 41.6 ms GC pause
 * and a 93 ms event-loop stall in one 10 s window of `npm run bench:journal`). At nice 19 it runs on
 * whatever CPU they leave, which is most of a core.
 */
import { setPriority } from "node:os";

/**
 * Lowest priority (or `nice`) for the calling thread. Only on Linux: elsewhere pid 0 means the whole
 * process, which would slow order entry too. Returns false where nothing changed.
 */
export function run_in_background(nice = 19): boolean {
  if (process.platform !== "linux") return false;
  try {
    setPriority(nice); // pid 0: this thread only, on Linux
    return true;
  } catch {
    return false;
  }
}
