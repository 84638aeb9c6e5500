/**
 * The node runtime: commands come in, are journaled, applied to the engine in sequence order, and only
 * then answered (DESIGN invariant 2). On open it locks the data directory, restores the newest valid
 * snapshot and replays the journal's tail. The engine sees the journal's batch timestamp as each
 * command's time, so a replay reproduces every event exactly.
 */

import { readdirSync } from "node:fs";
import type { Command } from "../engine/commands.js";
import type { EngineLimits } from "../engine/config.js";
import { Engine } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";
import { restore, state_hash } from "../engine/snapshot.js";
import { DecodeScratch } from "../journal/codec.js";
import { DEFAULT_JOURNAL_OPTIONS, FileJournal, type JournalOptions } from "../journal/file_journal.js";
import { type FrameHeader, frame_commands, visit_frame_commands } from "../journal/frame.js";
import { type Appended, type Journal, UnencodableCommand } from "../journal/journal.js";
import { SEGMENT_RE } from "../journal/scan.js";
import { FsStorage } from "../journal/storage.js";
import { type DataDir, open_data_dir } from "./data_dir.js";
import { DISK_FREE_MIN_BYTES_DEFAULT, DiskGuard } from "./disk_guard.js";
import { type Applied, type ExchangeNode, type NodeObserver, WritesRefused } from "./exchange_node.js";
import { list_snapshots, read_snapshot } from "./snapshot_store.js";
import { TouchAhead } from "./touch_ahead.js";

/** First sequence of the oldest journal segment (1 when there is none yet). */
function first_segment_seq(journal_dir: string): number {
  const firsts = readdirSync(journal_dir)
    .map((n) => SEGMENT_RE.exec(n))
    .filter((m) => m !== null)
    .map((m) => Number((m as RegExpExecArray)[1]));
  return firsts.length === 0 ? 1 : Math.min(...firsts);
}

import { Snapshotter } from "./snapshotter.js";

/** Something kept up to date from every command's events (the SQLite history, step 3). */
export interface Projection {
  /** The last sequence whose events it holds (written or waiting to be). */
  readonly last_seq: number;
  /** The last sequence whose events are written: where it would continue after a crash. */
  readonly written_seq: number;
  apply(seq: number, time_ms: number, events: readonly EngineEvent[]): void;
  /**
   * The events up to `seq` are gone for good (no snapshot or journal still holds them): it goes on
   * from `seq` + 1. Without it a projection restarted after its file was lost stayed at 0 when the
   * snapshot it restarted from was the journal's end (nothing after it to feed), and said the same
   * history was missing at every later start.
   */
  skip_to(seq: number): void;
  /** Starts writing what it holds (with its last sequence, atomically); written_seq follows. Never throws. */
  flush(): void;
  /** Why it stopped writing (it then drops what it is fed; the node goes on), or null. */
  readonly failure?: string | null;
}

export interface NodeOptions {
  data_dir: string;
  engine_limits: Partial<EngineLimits>;
  /** Take a snapshot after this many commands since the last one… */
  snapshot_every_commands: number;
  /** …or after this long, if any command arrived since. */
  snapshot_every_ms: number;
  snapshots_kept: number;
  /** Drop journal segments no kept snapshot needs (off only for benchmarks that replay everything). */
  journal_retention: boolean;
  journal: Partial<JournalOptions>;
  log: (line: string) => void;
  /** Fed every applied command's events, after the journal and before the answer. */
  projection?: Projection;
  /** New commands are refused while the data directory's disk has less free (0: never). See disk_guard.ts. */
  disk_free_min_bytes: number;
  /** Told each applied group of commands and each journal write (the node's metrics). */
  observer?: NodeObserver;
}

export const DEFAULT_NODE_OPTIONS: Omit<NodeOptions, "data_dir"> = {
  engine_limits: {},
  snapshot_every_commands: 100_000,
  snapshot_every_ms: 60_000,
  snapshots_kept: 2,
  journal_retention: true,
  journal: {},
  log: (line) => console.error(line),
  disk_free_min_bytes: DISK_FREE_MIN_BYTES_DEFAULT,
};

const SNAPSHOT_WORKER_RESTARTS_MAX = 3;
/** Commands submitted one at a time that are gathered into one journal append at most. */
const GATHER_COMMANDS_MAX = 1024;
const PROJECTION_FLUSH_MS = 1000;
/** What writes_refused asks about: whether a new order would be taken. */
const NEW_ORDER = { type: "place_order" };
/**
 * Bytes of frames the snapshot replica holds before applying them (once or twice a second at full load,
 * on a thread at nice 19): the two buffers it then returns are reused for the next hand-overs, so the
 * node's thread never maps new memory for them (that took up to 5 ms now and then).
 */
const SNAPSHOT_WORKER_WAITING_BYTES_MAX = 8 * 1024 * 1024;

export type { Applied } from "./exchange_node.js";

/** Tells the observer (the metrics) what was applied; its failure is logged, never the node's. */
export function observed(
  observer: NodeObserver,
  commands: readonly Command[],
  submitted_ms: number,
  log: (line: string) => void,
): void {
  try {
    observer.commands_applied(commands, performance.now() - submitted_ms);
  } catch (error) {
    log(`node: metrics failed: ${String(error)}`);
  }
}

export class EngineNode implements ExchangeNode {
  private applied_seq: number;
  /** Sequence of the last snapshot asked for (the worker may write it a little later, or further on). */
  private snapshot_seq: number;
  private snapshot_time_ms = Date.now();
  private closed = false;
  private readonly snapshot_tasks = new Set<Promise<string>>();
  /** Live consumers of every applied command's events (market data), called in sequence order. */
  private readonly listeners: ((seq: number, time_ms: number, events: readonly EngineEvent[]) => void)[] = [];

  /** Registers a live consumer of events from now on (replay at open does not reach it). */
  on_applied(listener: (seq: number, time_ms: number, events: readonly EngineEvent[]) => void): void {
    this.listeners.push(listener);
  }

  /** Flushes the projection now and then, so a crash replays little into it. */
  private projection_timer: NodeJS.Timeout | null = null;
  /** Maps the order store's memory ahead of its high-water mark on a helper thread. */
  private touch_ahead: TouchAhead | null = null;
  /** The newest snapshot on disk (restored from, or written since). */
  last_snapshot: { name: string; seq: number } | null = null;
  /** Set when applying a durable command failed (a bug): the state no longer follows the journal. */
  private failed: Error | null = null;
  /** Whether the journal's failure (Journal.failure) has been logged. */
  private journal_failure_told = false;
  /** Pauses order entry while the disk is nearly full. */
  private disk_guard: DiskGuard | null = null;

  private constructor(
    readonly engine: Engine,
    private readonly journal: Journal,
    private readonly dir: DataDir,
    private readonly options: NodeOptions,
    private readonly snapshotter: Snapshotter,
    applied_seq: number,
    snapshot_seq: number,
  ) {
    this.applied_seq = applied_seq;
    this.snapshot_seq = snapshot_seq;
    this.gather_max = Math.min(
      GATHER_COMMANDS_MAX,
      options.journal.batch_commands_max ?? DEFAULT_JOURNAL_OPTIONS.batch_commands_max,
    );
  }

  static async open(opts: Partial<NodeOptions> & { data_dir: string }): Promise<EngineNode> {
    const options: NodeOptions = { ...DEFAULT_NODE_OPTIONS, ...opts };
    const dir = open_data_dir(options.data_dir);
    let touch_ahead: TouchAhead | null = null;
    try {
      // A projection (step 3's history) needs the events of every command after its last sequence,
      // so the node starts from a snapshot no later than that, when the journal still covers it.
      const feed_after = options.projection?.last_seq ?? Number.POSITIVE_INFINITY;
      const journal_first = first_segment_seq(dir.journal);
      let engine: Engine | null = null;
      let from_seq = 1;
      let snapshot_seq = 0;
      let restored: string | null = null;
      const candidates = list_snapshots(dir.snapshots);
      const usable = (last_seq: number): boolean => last_seq <= feed_after && last_seq + 1 >= journal_first;
      const ordered = [
        ...candidates.filter((c) => usable(c.last_seq)),
        ...candidates.filter((c) => !usable(c.last_seq)),
      ];
      const from_start_ok = journal_first <= 1 && feed_after < (candidates[0]?.last_seq ?? 0);
      for (const s of from_start_ok ? candidates.filter((c) => usable(c.last_seq)) : ordered) {
        const stored = read_snapshot(dir.snapshots, s.name);
        if (typeof stored === "string") {
          options.log(`node: skipping damaged snapshot ${s.name}: ${stored}`);
          continue;
        }
        engine = restore(stored.body);
        from_seq = stored.last_seq + 1;
        snapshot_seq = stored.last_seq;
        restored = s.name;
        options.log(
          `node: restored snapshot ${s.name} (sequence ${stored.last_seq}, state ${stored.state_hash.slice(0, 16)})`,
        );
        break;
      }
      if (options.projection !== undefined && snapshot_seq > feed_after) {
        options.log(
          `node: history projection is at sequence ${feed_after} but the journal no longer holds what follows; history from ${feed_after + 1} to ${snapshot_seq} is not available`,
        );
        options.projection.skip_to(snapshot_seq);
      }
      engine ??= new Engine(options.engine_limits);
      touch_ahead = new TouchAhead(engine.orders.touch_plan, options.log);
      const snapshotter = new Snapshotter(
        {
          snapshots_dir: dir.snapshots,
          journal_dir: dir.journal,
          engine_limits: options.engine_limits,
          snapshots_kept: options.snapshots_kept,
          waiting_bytes_max: SNAPSHOT_WORKER_WAITING_BYTES_MAX,
        },
        SNAPSHOT_WORKER_RESTARTS_MAX,
        options.log,
      );
      let applied = from_seq - 1;
      const started = Date.now();
      const replaying = engine;
      const projection = options.projection;
      // The tail is applied frame by frame as the journal's opening scan checks it (one read of each
      // segment). Up to the projection's position nothing needs events (the fast path); after it,
      // events feed the projection.
      const scratch = new DecodeScratch();
      const replay_frame = (bytes: Uint8Array, header: FrameHeader): void => {
        if (header.first_seq > applied + 1)
          throw new Error(
            `journal starts at ${header.first_seq} but the snapshot needs ${applied + 1} onwards`,
          );
        const skip = applied + 1 - header.first_seq;
        const ts_ms = header.timestamp_ms;
        if (projection === undefined || header.first_seq + header.count - 1 <= feed_after) {
          // The engine keeps no reference to a command, so replay decodes into one reused object.
          replaying.quietly(() =>
            visit_frame_commands(bytes, header, skip, scratch, (c) => {
              c.ts_ms = ts_ms;
              replaying.execute(c);
            }),
          );
          applied = header.first_seq + header.count - 1;
          return;
        }
        const commands = frame_commands(bytes, header);
        for (let i = skip; i < commands.length; i++) {
          const c = commands[i];
          const seq = header.first_seq + i;
          c.ts_ms = ts_ms;
          if (seq <= feed_after) replaying.quietly(() => replaying.execute(c));
          else projection.apply(seq, ts_ms, replaying.apply(c));
          applied = seq;
        }
      };
      const journal = await FileJournal.open(
        new FsStorage(dir.journal),
        {
          log: options.log,
          ...options.journal,
          on_durable_frame: (frame) => snapshotter.frame(frame),
          on_write_timed:
            options.observer === undefined ? null : options.observer.journal_written.bind(options.observer),
        },
        from_seq,
        replay_frame,
      );
      if (journal.first_sequence > from_seq && journal.next_sequence > journal.first_sequence)
        throw new Error(
          `journal starts at ${journal.first_sequence} but the snapshot needs ${from_seq} onwards`,
        );
      if (applied !== journal.next_sequence - 1)
        throw new Error(`replay reached ${applied}, the journal ends at ${journal.next_sequence - 1}`);
      projection?.flush();
      if (applied >= from_seq)
        options.log(`node: replayed ${applied - from_seq + 1} commands in ${Date.now() - started} ms`);
      // The worker starts from the same snapshot and reads the same tail from disk, on its own thread;
      // every frame made durable from here on is handed to it.
      snapshotter.start(restored, journal.next_sequence - 1);
      snapshotter.restart_from = () => ({
        restore_name: list_snapshots(dir.snapshots)[0]?.name ?? null,
        durable_seq: journal.next_sequence - 1,
      });
      const node = new EngineNode(engine, journal, dir, options, snapshotter, applied, snapshot_seq);
      if (projection !== undefined) {
        let told = false;
        node.projection_timer = setInterval(() => {
          projection.flush();
          const failure = projection.failure ?? null;
          if (failure !== null && !told) {
            told = true;
            options.log(
              `node: HISTORY STOPPED: ${failure}; trading goes on, order and trade history reads answer ` +
                "503 until a restart rebuilds what is missing from the journal (if the file itself is damaged, " +
                "move it aside first: the restart then fills a new one)",
            );
          }
        }, PROJECTION_FLUSH_MS);
        node.projection_timer.unref();
      }
      if (restored !== null) node.last_snapshot = { name: restored, seq: snapshot_seq };
      node.touch_ahead = touch_ahead;
      if (options.disk_free_min_bytes > 0)
        node.disk_guard = new DiskGuard(dir.root, options.disk_free_min_bytes, options.log);
      return node;
    } catch (error) {
      await touch_ahead?.stop();
      dir.release();
      throw error;
    }
  }

  get last_applied_seq(): number {
    return this.applied_seq;
  }

  /**
   * Time the node's thread spent handing frames and snapshot requests to the snapshot worker: the
   * whole of what snapshots cost order entry. Live counters; a benchmark may reset them.
   */
  get snapshot_cost(): { posts: number; total_ms: number; max_ms: number } {
    return this.snapshotter.cost;
  }

  state_hash(): string {
    return state_hash(this.engine);
  }

  /**
   * Journals a command, applies it once durable, and returns its sequence and events. The node takes
   * ownership of `command`: it sets `ts_ms` to the journal's batch timestamp.
   */
  submit(command: Command): Promise<Applied> {
    const refused = this.refusal(command);
    if (refused !== null) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      this.gathered.push(command);
      this.gathered_resolve.push(resolve);
      this.gathered_reject.push(reject);
      if (this.gathered.length >= this.gather_max) this.append_gathered();
      else if (!this.gather_scheduled) {
        this.gather_scheduled = true;
        queueMicrotask(this.append_gathered_bound);
      }
    });
  }

  /**
   * Commands submitted one at a time in the same synchronous run (a burst of requests handled in one
   * callback, a benchmark's loop) go to the journal as one append, in submission order, when the run
   * ends (a microtask: no later than the answers to anything already applied). One append per
   * command cost a Pending record, a second promise and a closure each.
   */
  private gathered: Command[] = [];
  private gathered_resolve: ((applied: Applied) => void)[] = [];
  private gathered_reject: ((error: unknown) => void)[] = [];
  private gather_scheduled = false;
  /** GATHER_COMMANDS_MAX, or the journal's batch limit if lower. */
  private readonly gather_max: number;
  private readonly append_gathered_bound = (): void => this.append_gathered();

  private append_gathered(): void {
    this.gather_scheduled = false;
    const commands = this.gathered;
    if (commands.length === 0) return;
    const resolve = this.gathered_resolve;
    const reject = this.gathered_reject;
    this.gathered = [];
    this.gathered_resolve = [];
    this.gathered_reject = [];
    const observer = this.options.observer;
    const submitted_ms = observer === undefined ? 0 : performance.now();
    this.journal.append(commands).then(
      (appended) => {
        let applied: Applied[];
        try {
          applied = this.apply_appended(commands, appended);
        } catch (error) {
          for (const r of reject) r(error);
          return;
        }
        for (let i = 0; i < applied.length; i++) resolve[i](applied[i]);
        if (observer !== undefined) observed(observer, commands, submitted_ms, this.options.log);
      },
      (error: unknown) => {
        if (error instanceof UnencodableCommand && commands.length > 1) {
          // one command of the turn cannot be journaled (nothing was written): the others go on,
          // each in an append of its own and in their order; only that one is refused
          for (let i = 0; i < commands.length; i++) this.append_alone(commands[i], resolve[i], reject[i]);
          return;
        }
        this.journal_failure();
        for (const r of reject) r(error);
      },
    );
  }

  private append_alone(
    command: Command,
    resolve: (applied: Applied) => void,
    reject: (error: unknown) => void,
  ): void {
    const observer = this.options.observer;
    const submitted_ms = observer === undefined ? 0 : performance.now();
    this.journal.append([command]).then(
      (appended) => {
        let applied: Applied[];
        try {
          applied = this.apply_appended([command], appended);
        } catch (error) {
          reject(error);
          return;
        }
        resolve(applied[0]);
        if (observer !== undefined) observed(observer, [command], submitted_ms, this.options.log);
      },
      (error: unknown) => {
        this.journal_failure();
        reject(error);
      },
    );
  }

  /**
   * A failed append: the commands in it have an unknown outcome (the caller's error says so), and the
   * journal takes nothing more. The node stays up for reads; commands from now on are refused.
   */
  private journal_failure(): void {
    // only a failure of the journal itself (not, say, a batch over its size limit) stops order entry
    const failure = this.journal.failure;
    if (this.closed || this.journal_failure_told || failure === null) return;
    this.journal_failure_told = true;
    this.options.log(
      `node: ORDER ENTRY STOPPED: a journal write failed (${failure.message}); new commands are ` +
        "refused, reads go on. Fix the cause (free space, the disk) and restart the node: nothing acknowledged is lost.",
    );
  }

  /**
   * The same for several commands at once: one journal append, one await. A gateway that gathers the
   * requests of one event-loop turn saves a promise and a frame of bookkeeping per command.
   * (Not async functions: a suspended async function keeps its whole frame alive, ~1.7 KB per submit
   * measured with V8's sampling heap profiler, and the node's GC grew with it.)
   */
  submit_batch(commands: Command[]): Promise<Applied[]> {
    const refused = this.refusal(commands);
    if (refused !== null) return Promise.reject(refused);
    this.append_gathered(); // what was submitted before goes first
    const observer = this.options.observer;
    const submitted_ms = observer === undefined ? 0 : performance.now();
    return this.journal.append(commands).then(
      (appended) => {
        const applied = this.apply_appended(commands, appended);
        if (observer !== undefined) observed(observer, commands, submitted_ms, this.options.log);
        return applied;
      },
      (error: unknown) => {
        this.journal_failure();
        throw error;
      },
    );
  }

  /** Why new orders are refused now (see ExchangeNode), or null. */
  get writes_refused(): string | null {
    const refused = this.refusal(NEW_ORDER);
    return refused instanceof WritesRefused ? refused.reason : null;
  }

  /** Why `commands` cannot go to the journal now, or null. */
  private refusal(commands: { type: string } | readonly { type: string }[]): Error | null {
    if (this.closed) return new Error("node is closed");
    if (this.failed !== null) return new WritesRefused(`the node stopped: ${this.failed.message}`);
    const journal_failure = this.journal.failure;
    if (journal_failure !== null)
      return new WritesRefused(`the journal stopped after a failed write: ${journal_failure.message}`);
    const paused = this.disk_guard?.refusal(commands) ?? null;
    return paused === null ? null : new WritesRefused(paused);
  }

  /** Applies durable commands in order; then, if one is due, asks for a snapshot. */
  private apply_appended(commands: Command[], appended: Appended): Applied[] {
    if (this.failed !== null) throw this.failed;
    const out: Applied[] = [];
    try {
      if (appended.first_seq !== this.applied_seq + 1)
        throw new Error(`applying ${appended.first_seq} after ${this.applied_seq}: out of order`);
      for (let i = 0; i < commands.length; i++) {
        const command = commands[i];
        command.ts_ms = appended.timestamp_ms;
        const events = this.engine.apply(command);
        this.applied_seq = appended.first_seq + i;
        this.options.projection?.apply(this.applied_seq, appended.timestamp_ms, events);
        for (const listener of this.listeners) {
          // A consumer's bug must not stop the node: the state is fine, only that consumer is not.
          try {
            listener(this.applied_seq, appended.timestamp_ms, events);
          } catch (error) {
            this.options.log(`node: event listener failed: ${String(error)}`);
          }
        }
        out.push({ seq: this.applied_seq, timestamp_ms: appended.timestamp_ms, events });
      }
    } catch (error) {
      // A durable command that cannot be applied means a bug: stop answering rather than serve a
      // state that differs from the journal. A restart replays the journal from the last snapshot.
      this.failed = error instanceof Error ? error : new Error(String(error));
      this.options.log(`node: stopped: ${this.failed.message}`);
      throw this.failed;
    }
    const since = this.applied_seq - this.snapshot_seq;
    if (
      !this.snapshotter.busy &&
      (since >= this.options.snapshot_every_commands ||
        (since > 0 && Date.now() - this.snapshot_time_ms >= this.options.snapshot_every_ms))
    )
      this.snapshot().catch((error: unknown) => this.options.log(`node: snapshot failed: ${String(error)}`));
    return out;
  }

  /**
   * Has the snapshot worker write a snapshot of the state after `last_applied_seq` (or a little later),
   * then prunes old snapshots and lets the journal drop the segments that no kept snapshot needs
   * (retention). Resolves with the file name once it is durable. Projections (step 3) will add their
   * own positions to that minimum.
   */
  snapshot(): Promise<string> {
    if (this.closed) return Promise.reject(new Error("node is closed"));
    const task = this.write_snapshot();
    this.snapshot_tasks.add(task);
    const forget = (): void => void this.snapshot_tasks.delete(task);
    task.then(forget, forget);
    return task;
  }

  private async write_snapshot(): Promise<string> {
    this.snapshot_seq = this.applied_seq;
    this.snapshot_time_ms = Date.now();
    const written = await this.snapshotter.snapshot(this.applied_seq);
    if (this.last_snapshot === null || written.seq > this.last_snapshot.seq)
      this.last_snapshot = { name: written.name, seq: written.seq };
    try {
      this.options.observer?.snapshot_written?.(written.bytes, written.ms);
    } catch (error) {
      this.options.log(`node: metrics failed: ${String(error)}`);
    }
    this.options.log(
      `node: snapshot ${written.name} written (${written.bytes} bytes in ${written.ms} ms, off the order path)`,
    );
    const oldest = list_snapshots(this.dir.snapshots).at(-1);
    if (oldest !== undefined && this.options.journal_retention) {
      // Keep what the oldest kept snapshot and the projection still need.
      const projection = this.options.projection;
      if (projection !== undefined) projection.flush();
      const needed = Math.min(oldest.last_seq + 1, (projection?.written_seq ?? Number.POSITIVE_INFINITY) + 1);
      const removed = await this.journal.drop_before(needed);
      if (removed.length > 0) this.options.log(`node: retention removed ${removed.join(", ")}`);
    }
    return written.name;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.disk_guard?.stop();
    await Promise.allSettled([...this.snapshot_tasks]);
    if (this.projection_timer !== null) clearInterval(this.projection_timer);
    this.options.projection?.flush();
    await this.snapshotter.close();
    await this.journal.close();
    await this.touch_ahead?.stop();
    this.dir.release();
  }
}
