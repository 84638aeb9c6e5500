/**
 * The file journal (the embedded default): segment files of frames, one frame per group-committed
 * batch. append() resolves only once its commands are durable: one fdatasync covers every command that
 * arrived while the previous write was in flight (group commit), up to batch_commands_max per frame.
 * The sequencer here assigns sequence numbers and a non-decreasing timestamp per batch, so replay is
 * deterministic. Opening a journal recovers it: a torn tail is cut (and logged); corruption anywhere
 * else refuses to open, naming the file, offset and sequence.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ByteWriter } from "../engine/bytes.js";
import type { Command } from "../engine/commands.js";
import { CheckAhead } from "./check_ahead.js";
import { encode_frame } from "./frame.js";
import { type Appended, type Journal, UnencodableCommand } from "./journal.js";
import {
  type JournaledCommand,
  type OnFrame,
  type Problem,
  read_batches,
  read_commands,
  type ScanResult,
  SEGMENT_RE,
  scan_journal,
  segment_name,
} from "./scan.js";
import { FsStorage, type JournalFile, type Storage } from "./storage.js";

/** Bytes of the segment files in a journal directory. */
/** The commands of a batch of appends, in order. */
function commands_of(batch: readonly Pending[]): Command[] {
  const commands: Command[] = [];
  for (const p of batch) for (const c of p.commands) commands.push(c);
  return commands;
}

function journal_bytes(dir: string): number {
  let bytes = 0;
  for (const name of existsSync(dir) ? readdirSync(dir) : [])
    if (SEGMENT_RE.test(name)) bytes += statSync(join(dir, name)).size;
  return bytes;
}

export interface JournalOptions {
  /** Most commands in one frame (one fdatasync). */
  batch_commands_max: number;
  /** A new segment starts once the current one is this large. */
  segment_bytes_max: number;
  /** Wall clock for batch timestamps (the engine never reads one). */
  clock_ms: () => number;
  /** Where recovery reports what it did. */
  log: (line: string) => void;
  /**
   * Called with each frame once it is durable, before its appends resolve, in sequence order. The
   * callee owns the bytes (the node transfers them to its snapshot worker).
   */
  on_durable_frame: ((frame: Uint8Array) => void) | null;
  /** Told each durable write's bytes, commands and time (the node's metrics). */
  on_write_timed: ((bytes: number, commands: number, write_ms: number) => void) | null;
  /**
   * Opening a journal directory of at least this many bytes checks its frames' CRCs and hashes on a
   * worker thread ahead of the scan (check_ahead.ts); below it, starting the worker costs more.
   */
  check_ahead_bytes_min: number;
  /**
   * The open segment is zero-filled (and made durable) this many bytes at a time ahead of the frames
   * written into it; 0 writes by plain appends. A synced write that extends a file must also commit
   * its new size; one into space already filled commits only the data (an 8 KB O_DSYNC write on this
   * machine's disk: p50 0.15-0.17 ms into filled space against 0.22-0.28 ms appending).
   */
  zero_fill_bytes: number;
}

/** The first fill of a new segment is awaited before its first frame: kept small (~1-2 ms here). */
const FIRST_FILL_BYTES_MAX = 256 * 1024;

export const DEFAULT_JOURNAL_OPTIONS: JournalOptions = {
  batch_commands_max: 8192,
  segment_bytes_max: 64 * 1024 * 1024,
  clock_ms: () => Date.now(),
  log: (line) => console.error(line),
  on_durable_frame: null,
  on_write_timed: null,
  check_ahead_bytes_min: 16 * 1024 * 1024,
  zero_fill_bytes: 4 * 1024 * 1024,
};

export type { Appended } from "./journal.js";

export class JournalCorruptionError extends Error {
  override name = "JournalCorruptionError";
  constructor(readonly problem: Problem) {
    super(
      `journal corrupt in ${problem.file} at byte offset ${problem.offset} (sequence ${problem.seq}): ${problem.reason}; refusing to start — acknowledged data must never be dropped silently`,
    );
  }
}

export class JournalClosedError extends Error {
  override name = "JournalClosedError";
}

interface Pending {
  commands: readonly Command[];
  resolve: (appended: Appended) => void;
  reject: (error: Error) => void;
}

export class FileJournal implements Journal {
  private file: JournalFile | null = null;
  private file_offset = 0;
  /** Appends waiting for a frame: queue[queue_head..] (a FIFO; see take_batch). */
  private queue: Pending[] = [];
  private queue_head = 0;
  private flushing = false;
  private failed: Error | null = null;
  private readonly writer = new ByteWriter();
  /** The first sequence the opening scan checked (earlier segments were listed, not read). */
  private opened_from_seq = 1;
  /** The open segment is zero-filled and durable up to here (its size): frames below it overwrite zeros. */
  private filled_end = 0;
  /** A fill of [fill_from, …) of the open segment in flight: no frame may be written into that range. */
  private filling: Promise<void> | null = null;
  private fill_from = 0;
  /** A fill that failed: the file's state is unknown, so the journal stops, as for a failed write. */
  private fill_error: Error | null = null;
  /** Finished segments being cut back to their frames (their zero-filled tails) and closed. */
  private readonly sealing = new Set<Promise<void>>();

  private constructor(
    private readonly storage: Storage,
    private readonly options: JournalOptions,
    private scan: ScanResult,
    private next_seq: number,
    private last_hash: Uint8Array,
    private last_timestamp_ms: number,
  ) {}

  /**
   * Opens (and recovers) the journal in `storage`. `needed_from_seq`: the first sequence the caller
   * will read (a node: its snapshot's last + 1); older segments are not re-verified on every start.
   * `on_frame`: sees every frame from `needed_from_seq` on as it is checked (a node's replay).
   */
  static async open(
    storage: Storage,
    options: Partial<JournalOptions> = {},
    needed_from_seq = 1,
    on_frame: OnFrame | null = null,
  ): Promise<FileJournal> {
    const opts = { ...DEFAULT_JOURNAL_OPTIONS, ...options };
    const check_ahead =
      storage instanceof FsStorage && journal_bytes(storage.dir) >= opts.check_ahead_bytes_min
        ? new CheckAhead(storage.dir)
        : null;
    let scan: ScanResult;
    try {
      scan = await scan_journal(storage, needed_from_seq, on_frame, check_ahead);
    } finally {
      check_ahead?.close();
    }
    if (scan.corruption !== null) throw new JournalCorruptionError(scan.corruption);
    if (scan.torn !== null) {
      const t = scan.torn;
      const segment = scan.segments.at(-1);
      if (segment === undefined) throw new Error("torn tail without a segment");
      const file = await storage.open(t.file, false);
      try {
        await file.truncate(t.offset);
        await file.datasync();
      } finally {
        await file.close();
      }
      opts.log(
        `journal: cut a torn tail of ${segment.data_bytes - t.offset} bytes from ${t.file} at offset ${t.offset} (sequence ${t.seq}): ${t.reason}`,
      );
      // Checked again without on_frame: it has seen every frame before the cut already.
      scan = await scan_journal(storage, needed_from_seq);
      if (scan.corruption !== null || scan.torn !== null)
        throw new JournalCorruptionError(scan.corruption ?? (scan.torn as Problem));
    }
    const journal = new FileJournal(
      storage,
      opts,
      scan,
      scan.next_seq,
      scan.last_hash,
      scan.last_timestamp_ms,
    );
    journal.opened_from_seq = needed_from_seq;
    const last = scan.segments.at(-1);
    if (last !== undefined) {
      journal.file = await storage.open(last.name, false);
      journal.file_offset = last.valid_bytes;
      journal.filled_end = Math.max(last.valid_bytes, await journal.file.size());
    }
    return journal;
  }

  /** Sequence number the next command will get. */
  get next_sequence(): number {
    return this.next_seq;
  }

  get first_sequence(): number {
    return this.scan.first_seq;
  }

  get failure(): Error | null {
    return this.failed instanceof JournalClosedError ? null : this.failed;
  }

  /** Appends commands; resolves once they are durable. */
  append(commands: readonly Command[]): Promise<Appended> {
    if (this.failed !== null) return Promise.reject(this.failed);
    if (commands.length === 0 || commands.length > this.options.batch_commands_max)
      return Promise.reject(new RangeError(`an append holds 1..${this.options.batch_commands_max} commands`));
    return new Promise((resolve, reject) => {
      this.queue.push({ commands, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    let batch: Pending[] = [];
    try {
      while (this.queue_head < this.queue.length) {
        if (this.fill_error !== null) throw this.fill_error;
        batch = this.take_batch();
        let commands = commands_of(batch);
        const timestamp_ms = Math.max(Math.floor(this.options.clock_ms()), this.last_timestamp_ms);
        const first_seq = this.next_seq;
        let frame: { bytes: Uint8Array; hash: Uint8Array };
        try {
          frame = encode_frame(commands, first_seq, timestamp_ms, this.last_hash, this.writer);
        } catch {
          // Nothing is written yet: only the appends holding a command the format cannot hold are
          // refused, and the journal goes on (an encoding failure is not an I/O failure).
          batch = this.without_unencodable(batch);
          if (batch.length === 0) continue;
          commands = commands_of(batch);
          frame = encode_frame(commands, first_seq, timestamp_ms, this.last_hash, this.writer);
        }
        const { bytes, hash } = frame;
        const file = await this.file_for(first_seq, bytes.length);
        // Never into a range being zero-filled (the fill would overwrite the frame); rare: fills keep
        // a chunk ahead.
        if (this.filling !== null && this.file_offset + bytes.length > this.fill_from) await this.filling;
        if (this.fill_error !== null) throw this.fill_error;
        const timed = this.options.on_write_timed;
        const write_started_ms = timed === null ? 0 : performance.now();
        await file.write_synced(bytes, this.file_offset);
        const write_ms = timed === null ? 0 : performance.now() - write_started_ms;
        this.file_offset += bytes.length;
        // A frame written past the filled space (none yet, or a fill behind) extended the file.
        this.filled_end = Math.max(this.filled_end, this.file_offset);
        this.fill_ahead();
        this.next_seq += commands.length;
        this.last_hash = hash;
        this.last_timestamp_ms = timestamp_ms;
        this.options.on_durable_frame?.(bytes);
        let seq = first_seq;
        for (const p of batch) {
          p.resolve({ first_seq: seq, timestamp_ms });
          seq += p.commands.length;
        }
        batch = [];
        if (timed !== null) {
          // metrics only: their failure must never look like the journal's
          try {
            timed(bytes.length, commands.length, write_ms);
          } catch {}
        }
      }
    } catch (error) {
      // After a failed write or fdatasync the file's state is unknown (a retried fsync can report
      // success for lost data), so the journal stops: nothing more is acknowledged.
      this.failed = error instanceof Error ? error : new Error(String(error));
      for (const p of [...batch, ...this.queue.slice(this.queue_head)]) p.reject(this.failed);
      this.queue = [];
      this.queue_head = 0;
    } finally {
      this.flushing = false;
    }
  }

  /** The appends of `batch` whose commands encode; each other one is refused with UnencodableCommand. */
  private without_unencodable(batch: Pending[]): Pending[] {
    const kept: Pending[] = [];
    for (const p of batch) {
      try {
        encode_frame(p.commands, 1, 0, new Uint8Array(32), this.writer);
        kept.push(p);
      } catch (error) {
        p.reject(new UnencodableCommand(`a command cannot be journaled: ${(error as Error).message}`));
      }
    }
    return kept;
  }

  /**
   * Whole appends from the front of the queue, up to the batch limit. The queue is consumed by moving
   * its head, and compacted only once the consumed part is most of it: slicing the rest off after every
   * frame (as this did) copied the whole backlog per frame, so once a backlog formed each frame cost
   * more than the one before and the node fell ever further behind (bench:journal's paced phase: acks
   * 9-13 s late, 70% of the time in GC, from a hiccup at the start).
   */
  private take_batch(): Pending[] {
    const queue = this.queue;
    const head = this.queue_head;
    let count = 0;
    let end = head;
    while (end < queue.length && count + queue[end].commands.length <= this.options.batch_commands_max) {
      count += queue[end].commands.length;
      end++;
    }
    const batch = queue.slice(head, end);
    if (end === queue.length) {
      this.queue = [];
      this.queue_head = 0;
    } else if (end >= 1024 && end * 2 >= queue.length) {
      this.queue = queue.slice(end);
      this.queue_head = 0;
    } else this.queue_head = end;
    return batch;
  }

  /**
   * Starts zero-filling the open segment's next chunk once less than half a chunk of filled space is
   * left ahead of the frames (in the background: write, then datasync, on the thread pool).
   */
  private fill_ahead(): void {
    const chunk = this.options.zero_fill_bytes;
    const file = this.file;
    if (chunk === 0 || this.filling !== null || file === null) return;
    const from = this.filled_end;
    const to = Math.min(this.options.segment_bytes_max, from + chunk);
    if (to <= from || from - this.file_offset > chunk / 2) return;
    this.fill_from = from;
    const fill: Promise<void> = fill_zeros(file, from, to).then(
      () => {
        if (this.file === file) this.filled_end = to;
        if (this.filling === fill) this.filling = null;
      },
      (error: unknown) => {
        this.fill_error ??= error instanceof Error ? error : new Error(String(error));
        if (this.filling === fill) this.filling = null;
      },
    );
    this.filling = fill;
  }

  /**
   * The open segment, or a new one when it is full: created empty, its first bytes zero-filled and
   * made durable, then its directory entry. The finished segment is cut back to its frames (dropping
   * its unused zero-filled tail, so a replay does not read it) and closed in the background.
   */
  private async file_for(first_seq: number, frame_bytes: number): Promise<JournalFile> {
    if (this.file !== null && this.file_offset + frame_bytes <= this.options.segment_bytes_max)
      return this.file;
    if (this.file !== null && this.file_offset === 0) return this.file;
    if (this.file !== null) this.seal(this.file, this.file_offset);
    const name = segment_name(first_seq);
    const file = await this.storage.open(name, true);
    this.file = file;
    await file.truncate(0);
    const first_fill = Math.min(
      this.options.zero_fill_bytes,
      FIRST_FILL_BYTES_MAX,
      this.options.segment_bytes_max,
    );
    if (first_fill > 0) await fill_zeros(file, 0, first_fill);
    await this.storage.sync_dir();
    this.file_offset = 0;
    this.filled_end = first_fill;
    return file;
  }

  /** Cuts a finished segment back to its frames and closes it, once its fill (if any) is done. */
  private seal(file: JournalFile, frames_bytes: number): void {
    const filling = this.filling;
    const task: Promise<void> = (async () => {
      await filling;
      await file.truncate(frames_bytes);
      await file.datasync();
      await file.close();
    })().then(
      () => void this.sealing.delete(task),
      (error: unknown) => {
        this.sealing.delete(task);
        this.fill_error ??= error instanceof Error ? error : new Error(String(error));
      },
    );
    this.sealing.add(task);
    this.filling = null;
  }

  /** Commands from `from_seq` on, as durable now. */
  async *read_from(from_seq: number): AsyncGenerator<JournaledCommand> {
    const scan = await scan_journal(this.storage, from_seq);
    if (scan.corruption !== null) throw new JournalCorruptionError(scan.corruption);
    yield* read_commands(this.storage, scan, from_seq);
  }

  /**
   * Retention: removes whole segments that hold only commands before `seq` (never the open segment),
   * once nothing needs them any more (a snapshot after them exists). Returns the names removed.
   */
  async drop_before(seq: number): Promise<string[]> {
    const names = (await this.storage.list()).filter((n) => SEGMENT_RE.test(n)).sort();
    const removed: string[] = [];
    for (let i = 0; i + 1 < names.length; i++) {
      const next_first = Number((SEGMENT_RE.exec(names[i + 1]) as RegExpExecArray)[1]);
      if (next_first > seq) break;
      await this.storage.remove(names[i]);
      removed.push(names[i]);
    }
    if (removed.length > 0) {
      await this.storage.sync_dir();
      this.scan = {
        ...this.scan,
        first_seq: Number((SEGMENT_RE.exec(names[removed.length]) as RegExpExecArray)[1]),
      };
    }
    return removed;
  }

  /** Commands from `from_seq` on, a frame at a time. */
  async *read_batches_from(from_seq: number): AsyncGenerator<JournaledCommand[]> {
    // Right after open (a node replaying its tail) the scan that recovery just made is still exact,
    // and it already checked every frame from the snapshot on: do not check them all again.
    const fresh = this.next_seq === this.scan.next_seq && from_seq >= this.opened_from_seq;
    const scan = fresh ? this.scan : await scan_journal(this.storage, from_seq);
    if (scan.corruption !== null) throw new JournalCorruptionError(scan.corruption);
    yield* read_batches(this.storage, scan, from_seq);
  }

  async close(): Promise<void> {
    while (this.flushing) await new Promise((r) => setTimeout(r, 1));
    this.failed ??= new JournalClosedError("journal closed");
    await this.filling;
    await Promise.all(this.sealing);
    if (this.file !== null) await this.file.close();
    this.file = null;
  }
}

/** Zeros written in every fill (read-only: fills of several files may share it). */
let zeros = new Uint8Array(0);

/** Writes zeros over [from, to) of `file` and makes them durable. */
async function fill_zeros(file: JournalFile, from: number, to: number): Promise<void> {
  if (zeros.length < to - from) zeros = new Uint8Array(to - from);
  await file.write(zeros.subarray(0, to - from), from);
  await file.datasync();
}
