/**
 * Snapshot files: snapshots/snapshot-<last seq>.hfs, written atomically (temp file, fsync, rename,
 * directory fsync) with a header carrying the last applied sequence, the state hash and a CRC32C of
 * the body. Reading skips (and reports) any file that fails its checks, so recovery falls back to an
 * older snapshot and a longer replay, never to a damaged state.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { crc32c } from "@node-rs/crc32";

const MAGIC = 0x4e534648; // "HFSN"
const VERSION = 1;
const HEADER = 56;
const NAME_RE = /^snapshot-(\d{20})\.hfs$/;

export interface StoredSnapshot {
  last_seq: number;
  state_hash: string;
  body: Uint8Array;
  file: string;
}

/** Writes `dir/name` atomically and durably: temp file, fsync, rename, directory fsync. */
export function write_atomic(dir: string, name: string, chunks: Uint8Array[]): void {
  const tmp = join(dir, `${name}.tmp`);
  const fd = openSync(tmp, "w");
  try {
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
    }
    fsyncSync(fd);
  } catch (error) {
    // a half-written temp file (a full disk, say) would otherwise stay until the next snapshot that
    // succeeds, and each failed attempt, named by its own sequence, would leave another
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, join(dir, name));
  const dfd = openSync(dir, "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

export function write_snapshot(dir: string, last_seq: number, body: Uint8Array): string {
  const name = `snapshot-${String(last_seq).padStart(20, "0")}.hfs`;
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(VERSION, 4);
  header.writeDoubleLE(last_seq, 8);
  createHash("sha256").update(body).digest().copy(header, 16);
  header.writeUInt32LE(body.length, 48);
  header.writeUInt32LE(crc32c(body) >>> 0, 52);
  write_atomic(dir, name, [header, body]);
  return name;
}

/** Snapshot files, newest first. */
export function list_snapshots(dir: string): { name: string; last_seq: number }[] {
  return readdirSync(dir)
    .map((name) => ({ name, m: NAME_RE.exec(name) }))
    .filter((x) => x.m !== null)
    .map((x) => ({ name: x.name, last_seq: Number((x.m as RegExpExecArray)[1]) }))
    .sort((a, b) => b.last_seq - a.last_seq);
}

/** Reads and checks one snapshot file; returns a reason instead when it is damaged. */
export function read_snapshot(dir: string, name: string): StoredSnapshot | string {
  const bytes = readFileSync(join(dir, name));
  if (bytes.length < HEADER) return "shorter than its header";
  if (bytes.readUInt32LE(0) !== MAGIC) return "bad magic";
  if (bytes.readUInt32LE(4) !== VERSION) return `unsupported version ${bytes.readUInt32LE(4)}`;
  const length = bytes.readUInt32LE(48);
  if (bytes.length !== HEADER + length)
    return `body is ${bytes.length - HEADER} bytes, header says ${length}`;
  const body = bytes.subarray(HEADER);
  if (crc32c(body) >>> 0 !== bytes.readUInt32LE(52)) return "CRC32C mismatch";
  const state_hash = bytes.subarray(16, 48).toString("hex");
  if (createHash("sha256").update(body).digest("hex") !== state_hash) return "state hash mismatch";
  return { last_seq: bytes.readDoubleLE(8), state_hash, body, file: name };
}

/** Keeps the newest `keep` snapshots; removes older ones and leftover temp files. */
export function prune_snapshots(dir: string, keep: number): void {
  for (const s of list_snapshots(dir).slice(keep)) rmSync(join(dir, s.name), { force: true });
  for (const name of readdirSync(dir)) if (name.endsWith(".tmp")) rmSync(join(dir, name), { force: true });
}
