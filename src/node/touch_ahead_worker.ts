/**
 * The touch-ahead thread (touch_ahead.ts): every POLL_MS it reads the order store's published
 * high-water mark and writes to one 4-byte word per 4 KiB page up to AHEAD_SLOTS beyond it, so the
 * kernel maps (and zeroes) those pages here. The write is an atomic add of 0: it changes no value even
 * if the node's thread has already reached that word and written it.
 */
import { workerData } from "node:worker_threads";
import { run_in_background } from "./background.js";
import type { TouchAheadStart } from "./touch_ahead.js";

/** How far ahead of the high-water mark pages are mapped: 8 MB of hot records (4 huge pages). */
const AHEAD_SLOTS = 131_072;
const POLL_MS = 2;
const PAGE_BYTES = 4096;

const { plan, control } = workerData as TouchAheadStart;
const regions = plan.regions.map((r) => ({
  words: new Int32Array(r.buffer),
  bytes_per_slot: r.bytes_per_slot,
  touched_bytes: Math.ceil((plan.mapped_slots * r.bytes_per_slot) / PAGE_BYTES) * PAGE_BYTES,
}));

// On a machine with few cores its zeroing must not delay the journal's write threads or the node's
// thread: the lowest priority (Linux; elsewhere it runs at normal priority).
run_in_background();

while (Atomics.load(control, 0) === 0) {
  const high_water = Atomics.load(plan.progress, 0);
  for (const r of regions) {
    const target = Math.min(r.words.byteLength, (high_water + AHEAD_SLOTS) * r.bytes_per_slot);
    for (; r.touched_bytes < target; r.touched_bytes += PAGE_BYTES)
      Atomics.add(r.words, r.touched_bytes >> 2, 0);
  }
  Atomics.wait(control, 0, 0, POLL_MS);
}
