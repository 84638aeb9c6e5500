/**
 * Little-endian binary writer and reader for snapshots and the journal's command encoding. Pure (no
 * I/O); the reader throws a precise error on truncated or malformed input and never reads past its end.
 */
import { assert } from "./assert.js";

// One of each for the process: a reader is made per journaled command, and building a TextDecoder
// each time cost more than decoding the command.
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder("utf-8", { fatal: true });

export class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private readonly encoder = ENCODER;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  u32(v: number): void {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, "u32 out of range");
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }
  str(s: string | null): void {
    if (s === null) {
      this.u32(0xffffffff);
      return;
    }
    const bytes = this.encoder.encode(s);
    this.u32(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  /** Overwrites a u32 written earlier (lengths known only afterwards). */
  patch_u32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
  reset(): void {
    this.length = 0;
  }
}

export class ByteReader {
  private at = 0;
  /** Reads stop here: the buffer's end, or the end of the record set by window(). */
  private end: number;
  private readonly view: DataView;
  private readonly decoder = DECODER;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.end = buf.length;
  }
  /**
   * Reads bytes [start, end) of the buffer next: one reader walks every record of a journal frame
   * instead of a new reader (and DataView and subarray) per command.
   */
  window(start: number, end: number): void {
    if (start < 0 || end < start || end > this.buf.length) throw new Error("window outside the buffer");
    this.at = start;
    this.end = end;
  }
  private need(n: number): void {
    if (this.at + n > this.end) throw new Error(`snapshot truncated at byte ${this.at}`);
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.at++];
  }
  str(): string | null {
    const n = this.u32();
    if (n === 0xffffffff) return null;
    this.need(n);
    const s = this.decoder.decode(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }
  get offset(): number {
    return this.at;
  }
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  done(): boolean {
    return this.at === this.end;
  }
}
