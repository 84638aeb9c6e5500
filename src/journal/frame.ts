/**
 * The journal's on-disk frame: one per group-committed batch.
 *
 *   offset size  field
 *        0    4  magic "HJF1"
 *        4    4  frame length in bytes (header + payload)
 *        8    4  CRC32C of bytes 12..end
 *       12    8  first sequence number (f64, an integer)
 *       20    4  command count
 *       24    8  batch timestamp, ms (assigned by the sequencer; non-decreasing)
 *       32   32  hash of the previous frame (zeros before the first)
 *       64   32  SHA-256 of bytes 12..63 and the payload: chains every frame to all before it
 *       96    …  payload: per command, u32 length + encoded command (codec.ts)
 *
 * One hash per frame rather than per record: a cryptographic hash per record would cap replay far
 * below its target, and the CRC already guards every byte.
 */
import { createHash } from "node:crypto";
import { crc32c } from "@node-rs/crc32";
import { ByteReader, ByteWriter } from "../engine/bytes.js";
import type { Command } from "../engine/commands.js";
import type { CheckedAhead } from "./check_ahead.js";
import { type DecodeScratch, decode_record, decode_record_reusing, encode_command } from "./codec.js";

export const FRAME_MAGIC = 0x3146_4a48; // "HJF1" little-endian
export const HEADER_BYTES = 96;
/** Refuse absurd lengths before allocating: a frame holds at most one batch. */
export const FRAME_BYTES_MAX = 64 * 1024 * 1024;
export const ZERO_HASH = new Uint8Array(32);

export interface FrameHeader {
  first_seq: number;
  count: number;
  timestamp_ms: number;
  prev_hash: Uint8Array;
  hash: Uint8Array;
  /** Offset of the frame in its segment and its total length. */
  offset: number;
  length: number;
}

function frame_hash(bytes: Uint8Array): Uint8Array {
  // bytes 12..63 (the header without magic, length, crc and hash) then the payload
  return createHash("sha256").update(bytes.subarray(12, 64)).update(bytes.subarray(HEADER_BYTES)).digest();
}

/** Encodes a batch as one frame. */
export function encode_frame(
  commands: readonly Command[],
  first_seq: number,
  timestamp_ms: number,
  prev_hash: Uint8Array,
  w = new ByteWriter(),
): { bytes: Uint8Array; hash: Uint8Array } {
  w.reset();
  for (let i = 0; i < HEADER_BYTES / 4; i++) w.u32(0);
  for (const c of commands) {
    const at = w.length;
    w.u32(0);
    encode_command(w, c);
    w.patch_u32(at, w.length - at - 4);
  }
  const bytes = w.bytes();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, bytes.length, true);
  view.setFloat64(12, first_seq, true);
  view.setUint32(20, commands.length, true);
  view.setFloat64(24, timestamp_ms, true);
  bytes.set(prev_hash, 32);
  const hash = frame_hash(bytes);
  bytes.set(hash, 64);
  view.setUint32(8, crc32c(bytes.subarray(12)) >>> 0, true);
  return { bytes: bytes.slice(), hash };
}

export type FrameCheck =
  | { ok: true; header: FrameHeader }
  /** Incomplete or damaged at the very end of the data: what a crash mid-write leaves. */
  | { ok: false; torn: true; reason: string }
  | { ok: false; torn: false; reason: string };

/**
 * Checks the frame at `offset` of a segment's bytes. `expected_seq` and `prev_hash` continue the
 * chain from the previous frame. A problem that reaches the end of the data is "torn" (a crash
 * mid-write can leave exactly that); anything followed by more data is corruption. `data_end`: where
 * the written data ends (after it only zeros: space the journal filled ahead of its writes); a frame
 * may still run past it into that space, since its own last bytes can be zeros.
 */
export function check_frame(
  bytes: Uint8Array,
  offset: number,
  expected_seq: number,
  prev_hash: Uint8Array,
  /** This frame's CRC verdict and hash, computed from the same file on another thread (check_ahead.ts). */
  ahead: CheckedAhead | null = null,
  data_end = bytes.length,
): FrameCheck {
  const left = bytes.length - offset;
  // A crash mid-write damages only the last frame. If a valid frame still follows the damage (a bit
  // flip in a length field can make a frame look as if it ran past the end), it is corruption.
  const torn = (reason: string): FrameCheck => {
    const later = valid_frame_after(bytes, offset + 1);
    return later < 0
      ? { ok: false, torn: true, reason }
      : { ok: false, torn: false, reason: `${reason}, but a valid frame follows at offset ${later}` };
  };
  const corrupt = (reason: string): FrameCheck => ({ ok: false, torn: false, reason });
  const all_zero = (): boolean => bytes.subarray(offset).every((b) => b === 0);
  // Less than a header's worth of written bytes (a valid frame always has some at 12 or later).
  const written = data_end - offset;
  if (written < 12) return torn(`${written} bytes of a frame header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, left);
  // A torn write can garble any of its bytes, the magic too: torn unless a valid frame follows.
  if (view.getUint32(0, true) !== FRAME_MAGIC)
    return torn(all_zero() ? "zero-filled tail" : "bad frame magic");
  const length = view.getUint32(4, true);
  if (length > left) return torn(`frame of ${length} bytes with ${left} bytes left`);
  // Torn if the damaged frame reaches the end of the written data: nothing but zeros follows it.
  const to_end = offset + length >= data_end;
  const bad = (reason: string): FrameCheck => (to_end ? torn(reason) : corrupt(reason));
  if (length < HEADER_BYTES || length > FRAME_BYTES_MAX) return bad(`impossible frame length ${length}`);
  const frame = bytes.subarray(offset, offset + length);
  if (ahead?.crc_ok !== true && crc32c(frame.subarray(12)) >>> 0 !== view.getUint32(8, true))
    return bad("CRC32C mismatch");
  const first_seq = view.getFloat64(12, true);
  const count = view.getUint32(20, true);
  const timestamp_ms = view.getFloat64(24, true);
  if (first_seq !== expected_seq) return corrupt(`sequence ${first_seq} where ${expected_seq} was expected`);
  const prev = frame.subarray(32, 64);
  if (!equal(prev, prev_hash)) return corrupt("hash chain broken: previous-frame hash does not match");
  const hash = frame.subarray(64, 96);
  if (!equal(ahead?.hash ?? frame_hash(frame), hash)) return corrupt("frame hash mismatch");
  if (!Number.isSafeInteger(timestamp_ms)) return corrupt("bad timestamp");
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + 4 > length) return corrupt("payload shorter than its command count");
    const n = view.getUint32(at, true);
    at += 4 + n;
    if (at > length) return corrupt("command record runs past the frame");
  }
  if (at !== length) return corrupt("bytes after the last command of the frame");
  return {
    ok: true,
    header: { first_seq, count, timestamp_ms, prev_hash: prev.slice(), hash: hash.slice(), offset, length },
  };
}

/**
 * The header of a frame this process just wrote (the journal hands durable frames to the snapshot
 * worker): checked for shape, not re-hashed, since it never left memory.
 */
export function parse_frame_header(frame: Uint8Array): FrameHeader {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < HEADER_BYTES || view.getUint32(0, true) !== FRAME_MAGIC)
    throw new Error("not a journal frame");
  if (view.getUint32(4, true) !== frame.length) throw new Error("frame length mismatch");
  return {
    first_seq: view.getFloat64(12, true),
    count: view.getUint32(20, true),
    timestamp_ms: view.getFloat64(24, true),
    prev_hash: frame.slice(32, 64),
    hash: frame.slice(64, 96),
    offset: 0,
    length: frame.length,
  };
}

/** The commands of a checked frame. One reader walks every record (no reader or subarray per command). */
export function frame_commands(bytes: Uint8Array, header: FrameHeader): Command[] {
  const frame = bytes.subarray(header.offset, header.offset + header.length);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const reader = new ByteReader(frame);
  const out: Command[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < header.count; i++) {
    const n = view.getUint32(at, true);
    reader.window(at + 4, at + 4 + n);
    out.push(decode_record(reader));
    at += 4 + n;
  }
  return out;
}

/**
 * Calls `visit` with each command of a checked frame from index `from`, decoded into `scratch`'s
 * objects where it can (see DecodeScratch): what replay uses, with no array or object per command.
 */
export function visit_frame_commands(
  bytes: Uint8Array,
  header: FrameHeader,
  from: number,
  scratch: DecodeScratch,
  visit: (command: Command) => void,
): void {
  const frame = bytes.subarray(header.offset, header.offset + header.length);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const reader = new ByteReader(frame);
  let at = HEADER_BYTES;
  for (let i = 0; i < header.count; i++) {
    const n = view.getUint32(at, true);
    if (i >= from) {
      reader.window(at + 4, at + 4 + n);
      visit(decode_record_reusing(reader, scratch));
    }
    at += 4 + n;
  }
}

/** Offset of the first CRC-valid frame at or after `from`, or -1. Used only on the error path. */
function valid_frame_after(bytes: Uint8Array, from: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = from; at + HEADER_BYTES <= bytes.length; at++) {
    if (view.getUint32(at, true) !== FRAME_MAGIC) continue;
    const length = view.getUint32(at + 4, true);
    if (length < HEADER_BYTES || at + length > bytes.length) continue;
    if (crc32c(bytes.subarray(at + 12, at + length)) >>> 0 === view.getUint32(at + 8, true)) return at;
  }
  return -1;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
