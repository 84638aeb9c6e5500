/**
 * The costly half of checking a journal, on a thread of its own: for each segment it is sent, in order,
 * this thread reads the file, walks its frames by their length fields, and publishes each frame's
 * CRC32C verdict and SHA-256 hash into shared memory as it goes (check_ahead.ts). The node thread,
 * replaying the segments at the same time, takes those results instead of hashing the frames itself.
 * Anything odd (bad magic, impossible length) stops the walk: the node thread then checks the rest
 * itself, so every error is still found and reported by the one function that always did (check_frame).
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { crc32c } from "@node-rs/crc32";
import { FRAME_BYTES_MAX, FRAME_MAGIC, HEADER_BYTES } from "./frame.js";

export interface CheckAheadRequest {
  /** The segment's file. */
  path: string;
  /** Its name, echoed with the results. */
  name: string;
}

export interface CheckAheadResults {
  name: string;
  /** [frames published, walk finished (1)], updated with Atomics as the walk goes. */
  progress: Int32Array;
  /** Per frame: its offset in the segment. */
  offsets: Float64Array;
  /** Per frame: 1 if its CRC32C matched. */
  crc_ok: Uint8Array;
  /** Per frame: 32 bytes of SHA-256 (of bytes 12..63 and the payload, as frame.ts defines). */
  hashes: Uint8Array;
}

const port = parentPort;
if (port === null) throw new Error("check_ahead_worker must run as a worker thread");

/** Reused between segments: faulting in a fresh 64 MB buffer per segment costs ~200 ms here. */
let buffer = Buffer.alloc(0);

// The thread is terminated by its owner (CheckAhead.close) once the scan is done.
port.on("message", (request: CheckAheadRequest) => {
  const fd = openSync(request.path, "r");
  try {
    const size = fstatSync(fd).size;
    // No frame is shorter than its header: enough room for every frame the segment can hold.
    const capacity = Math.floor(size / HEADER_BYTES) + 1;
    const shared = new SharedArrayBuffer(8 + capacity * (8 + 1 + 32));
    const results: CheckAheadResults = {
      name: request.name,
      progress: new Int32Array(shared, 0, 2),
      offsets: new Float64Array(shared, 8, capacity),
      crc_ok: new Uint8Array(shared, 8 + capacity * 8, capacity),
      hashes: new Uint8Array(shared, 8 + capacity * 9, capacity * 32),
    };
    port.postMessage(results);
    if (buffer.length < size) buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    const bytes = buffer.subarray(0, read);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    let k = 0;
    while (at + HEADER_BYTES <= bytes.length && k < capacity) {
      if (view.getUint32(at, true) !== FRAME_MAGIC) break;
      const length = view.getUint32(at + 4, true);
      if (length < HEADER_BYTES || length > FRAME_BYTES_MAX || at + length > bytes.length) break;
      const frame = bytes.subarray(at, at + length);
      results.offsets[k] = at;
      results.crc_ok[k] = crc32c(frame.subarray(12)) >>> 0 === view.getUint32(at + 8, true) ? 1 : 0;
      const hash = createHash("sha256").update(frame.subarray(12, 64)).update(frame.subarray(HEADER_BYTES));
      results.hashes.set(hash.digest(), k * 32);
      k++;
      Atomics.store(results.progress, 0, k);
      at += length;
    }
    Atomics.store(results.progress, 1, 1);
  } finally {
    closeSync(fd);
  }
});
