/**
 * The history projection (SQLite, better-sqlite3): every order and trade, from the engine's events,
 * for GET order, allOrders and myTrades, public trades, klines and tickers. The node's thread packs
 * each command's rows (history_rows.ts) and hands them, a batch at a time, to a writer thread
 * (history_writer.ts) that writes them with the batch's last sequence in one transaction (DESIGN,
 * "State outside the engine"), so after a crash the node replays exactly what it lacks. Reads run on
 * a reader thread (history_reader.ts, the queries in history_queries.ts) with a connection of its
 * own, and answer by promise; each first waits until everything fed before it was asked is written,
 * so a client reads its own writes.
 */
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { EngineEvent } from "../engine/events.js";
import type { MarketFormat, PublicShape } from "../gateway/history_json.js";
import { open_or_set_aside } from "../node/data_dir.js";
import { type AuditFound, type AuditRow, type ProofRow, RESERVES_SCHEMA } from "../reserves/audit.js";
import type { BuilderRequest, BuilderStart } from "../reserves/builder_worker.js";
import {
  type Agg,
  type Buckets,
  build_candles,
  CANDLES_SCHEMA,
  CANDLES_VERSION,
  type Candle,
} from "./candles.js";
import type { CheckpointStart } from "./checkpoint_worker.js";
import {
  HistoryQueries,
  type ListRange,
  type OrderListRow,
  type OrderRow,
  type PreventedQuery,
  type Range,
  type TradeRow,
  type TransferQuery,
  type TransferRow,
  type WithdrawalHistoryRow,
  type WithdrawalQuery,
} from "./history_queries.js";
import type { ReaderReply, ReaderRequest, ReaderStart, ReadOp } from "./history_reader.js";
import {
  ERROR_TEXT_OFFSET,
  RowPacker,
  SHARED_BYTES,
  SLOT_BATCHES_WRITTEN,
  SLOT_ERROR_BYTES,
  SLOT_STATE,
  SLOT_WRITTEN_SEQ,
  STATE_CLOSED,
  STATE_FAILED,
  type WriterReply,
  type WriterRequest,
  type WriterStart,
} from "./history_rows.js";

export type { Agg, Buckets, Candle } from "./candles.js";
export { fixed_buckets, month_buckets } from "./candles.js";
export type {
  AmendmentRow,
  ListRange,
  OrderListRow,
  OrderRow,
  PreventedMatchRow,
  PreventedQuery,
  Range,
  TradeRow,
  TransferQuery,
  TransferRow,
  WithdrawalHistoryRow,
  WithdrawalQuery,
} from "./history_queries.js";

/** Rows gathered before they go to the writer (one transaction each: ~1-3 ms of its thread). */
const FLUSH_ROWS = 1000;
/**
 * Batches handed to the writer and not yet written before the node's thread waits for it: the
 * bound on the rows waiting in memory (~100 KB a batch) when the disk or the writer falls behind.
 */
const BATCHES_BEHIND_MAX = 64;
/** The longest the node's thread waits for the writer to take more batches before the history stops. */
const WRITER_WAIT_MS_MAX = 30_000;
/** The longest a read waits for the writer to catch up before it answers "busy" (history_reader.ts). */
const READ_WAIT_MS_MAX = 1000;
/**
 * When reads come faster than the reader thread answers them (each takes 0.1-15 ms there), more are
 * refused at once (busy, 503 -1008) while the oldest waiting has waited READ_QUEUE_MS_MAX, or
 * READS_WAITING_MAX wait: the queue's bounds in time and memory. A ticker of every market asks two
 * reads a market, so the count is well above any market count.
 */
const READ_QUEUE_MS_MAX = 3000;
const READS_WAITING_MAX = 20_000;
/**
 * The reader thread's nice value: below order entry (0), above the snapshot replica and checkpoints
 * (19), so that reads still get a share of a busy machine rather than only what is left.
 */
const READER_NICE = 10;
const CHECKPOINT_EVERY_MS = 1000;
/** How long close() waits for the writer and checkpoint threads to close their connections. */
const CLOSE_WAIT_MS = 5000;
/** 16,384 pages of 4 KiB. */
const WAL_AUTOCHECKPOINT_PAGES = 16_384;
export const HISTORY_LIMIT_MAX = 1000;

/** The history cannot answer: its writer failed or stalls (a full disk, say). The node itself goes on. */
export class HistoryUnavailable extends Error {
  constructor(
    readonly reason: string,
    /** False for a moment's delay (busy): the history goes on. */
    readonly stopped = true,
  ) {
    super(`history: ${reason}`);
  }
}

export class History {
  /** The node thread's own connection: the schema, and order_now's rare lookups. */
  private readonly db: Database.Database;
  private queries_now: HistoryQueries | null = null;
  private readonly packer = new RowPacker();
  /** The last sequence fed (apply), handed to the writer, and written. */
  private fed_seq: number;
  private shipped_seq: number;
  private shipped_batches = 0;
  private readonly words: Int32Array;
  private readonly seqs: BigInt64Array;
  private readonly writer: Worker;
  /** Why the writer thread died, if it did (a failed write leaves its text in shared memory instead). */
  private writer_error = "";
  private readonly backups = new Map<number, (r: { seq: number; error: string | null }) => void>();
  private next_backup_id = 0;
  private closed = false;
  private readonly checkpointer: Worker;
  /** Set by the checkpoint thread once its connection is closed. */
  private readonly checkpointer_closed: Int32Array;
  /** The reader thread (started again at the next read if it stops), its reads waiting, its closed flag. */
  private reader: Worker | null = null;
  private readonly reads = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (e: unknown) => void; asked_ms: number }
  >();
  private next_read_id = 0;
  private readonly reader_closed = new Int32Array(new SharedArrayBuffer(4));

  /** `log` hears what opening did that an operator should know (candles built after an upgrade). */
  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void = (line) => console.error(line),
    /**
     * The key of the reserves audits' leaf nonces (src/reserves/audit.ts): the nodes derive it from
     * the master key, so that every node, and a history rebuilt from the journal, makes the same tree.
     * Without one (tests of other things), a random key: the audits are then this process's own.
     */
    reserves_key: Uint8Array = randomBytes(32),
  ) {
    // This connection makes the tables and serves order_now; the threads have their own.
    this.db = new Database(file);
    let written: number;
    try {
      this.init_schema(this.db);
      written = (this.db.prepare("SELECT value FROM meta WHERE key = 'last_seq'").get() as { value: number })
        .value;
    } catch (error) {
      this.db.close();
      throw error;
    }
    const checkpoints: CheckpointStart = {
      file,
      every_ms: CHECKPOINT_EVERY_MS,
      closed: new SharedArrayBuffer(4),
    };
    this.checkpointer_closed = new Int32Array(checkpoints.closed);
    this.checkpointer = new Worker(new URL("./checkpoint_worker.js", import.meta.url), {
      workerData: checkpoints,
    });
    this.checkpointer.unref();
    // the backstop covers it; close() need not wait for a thread that is gone
    this.checkpointer.on("error", () => Atomics.store(this.checkpointer_closed, 0, 1));
    this.fed_seq = written;
    this.shipped_seq = written;
    const shared = new SharedArrayBuffer(SHARED_BYTES);
    this.words = new Int32Array(shared, 0, 5);
    this.seqs = new BigInt64Array(shared, 0, 2);
    this.seqs[SLOT_WRITTEN_SEQ] = BigInt(written);
    const start: WriterStart = { file, shared, wal_autocheckpoint_pages: WAL_AUTOCHECKPOINT_PAGES };
    this.writer = new Worker(new URL("./history_writer.js", import.meta.url), { workerData: start });
    this.writer.unref();
    this.writer.on("message", (m: WriterReply) => {
      this.backups.get(m.id)?.(m);
    });
    this.writer.on("error", (error) => {
      this.writer_error ||= String(error);
      Atomics.store(this.words, SLOT_STATE, STATE_FAILED);
    });
    this.start_reader();
    // proof-of-reserves trees, built off the writer's thread (src/reserves/audit.ts); an audit left
    // pending by a crash or a stop is built now
    const builder: BuilderStart = {
      file,
      reserves_key,
      flags: new SharedArrayBuffer(8),
      writer_words: shared,
      batches_slot: SLOT_BATCHES_WRITTEN,
    };
    this.builder_flags = new Int32Array(builder.flags);
    this.builder = new Worker(new URL("../reserves/builder_worker.js", import.meta.url), {
      workerData: builder,
    });
    this.builder.unref();
    this.builder.on("error", (error) => this.log(`history: the reserves builder failed: ${String(error)}`));
    this.builder.postMessage({ type: "build", after_batches: 0 } satisfies BuilderRequest);
  }

  private readonly builder: Worker;
  /** Int32 [0] stop, [1] closed (builder_worker.ts). */
  private readonly builder_flags: Int32Array;

  /** Settings and tables; throws for a file SQLite cannot read as a database (see open_history). */
  private init_schema(db: Database.Database): void {
    db.pragma("journal_mode = WAL");
    // NORMAL: a power loss may lose the last transactions, never corrupt the file; the node replays
    // whatever last_seq says is missing.
    db.pragma("synchronous = NORMAL");
    // Checkpoints run on their own thread (checkpoint_worker.ts). SQLite's own stays as a backstop at
    // ~64 MB of WAL, should that thread fail: a longer pause then, never an unbounded file.
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta VALUES ('last_seq', 0);
      CREATE TABLE IF NOT EXISTS orders (
        order_id INTEGER PRIMARY KEY, account INTEGER NOT NULL, market INTEGER NOT NULL,
        client_order_id TEXT, side INTEGER NOT NULL, order_type INTEGER NOT NULL, tif INTEGER NOT NULL,
        price_ticks INTEGER NOT NULL, quantity_lots INTEGER NOT NULL, quote_units INTEGER NOT NULL,
        stop_price_ticks INTEGER NOT NULL, status INTEGER NOT NULL, executed_lots INTEGER NOT NULL,
        cumulative_quote_units INTEGER NOT NULL, time_ms INTEGER NOT NULL, update_ms INTEGER NOT NULL,
        stp INTEGER, working_ms INTEGER, prevented_match_id INTEGER, prevented_lots INTEGER,
        strategy_id INTEGER, strategy_type INTEGER, trailing_delta INTEGER, trailing_ms INTEGER,
        iceberg_lots INTEGER, order_list_id INTEGER, peg_type INTEGER, peg_offset INTEGER,
        pegged_price_ticks INTEGER, end_reason INTEGER);
      CREATE INDEX IF NOT EXISTS orders_by_account ON orders (account, market, order_id);
      CREATE INDEX IF NOT EXISTS orders_by_client_id ON orders (account, client_order_id);
      CREATE TABLE IF NOT EXISTS trades (
        market INTEGER NOT NULL, trade_id INTEGER NOT NULL, order_id INTEGER NOT NULL,
        account INTEGER NOT NULL, price_ticks INTEGER NOT NULL, quantity_lots INTEGER NOT NULL,
        quote_units INTEGER NOT NULL, fee_units INTEGER NOT NULL, is_buyer INTEGER NOT NULL,
        is_maker INTEGER NOT NULL, time_ms INTEGER NOT NULL, PRIMARY KEY (market, trade_id, is_maker));
      CREATE INDEX IF NOT EXISTS trades_by_account ON trades (account, market, trade_id);
      CREATE INDEX IF NOT EXISTS trades_by_time ON trades (market, is_maker, time_ms);
      CREATE TABLE IF NOT EXISTS amendments (
        market INTEGER NOT NULL, order_id INTEGER NOT NULL, account INTEGER NOT NULL,
        execution_id INTEGER NOT NULL, orig_client_order_id TEXT, new_client_order_id TEXT NOT NULL,
        orig_quantity_lots INTEGER NOT NULL, new_quantity_lots INTEGER NOT NULL, time_ms INTEGER NOT NULL,
        PRIMARY KEY (order_id, execution_id));
      CREATE TABLE IF NOT EXISTS prevented_matches (
        market INTEGER NOT NULL, prevented_match_id INTEGER NOT NULL, account INTEGER NOT NULL,
        taker_order_id INTEGER NOT NULL, maker_order_id INTEGER NOT NULL, price_ticks INTEGER NOT NULL,
        taker_lots INTEGER NOT NULL, maker_lots INTEGER NOT NULL, stp INTEGER NOT NULL,
        time_ms INTEGER NOT NULL, PRIMARY KEY (market, prevented_match_id));
      CREATE INDEX IF NOT EXISTS prevented_by_taker ON prevented_matches (account, market, taker_order_id);
      CREATE INDEX IF NOT EXISTS prevented_by_maker ON prevented_matches (account, market, maker_order_id);
      CREATE TABLE IF NOT EXISTS order_lists (
        list_id INTEGER PRIMARY KEY, account INTEGER NOT NULL, market INTEGER NOT NULL,
        list_client_order_id TEXT, status INTEGER NOT NULL, time_ms INTEGER NOT NULL,
        update_ms INTEGER NOT NULL, above_order_id INTEGER NOT NULL, below_order_id INTEGER NOT NULL,
        contingency INTEGER, working_order_id INTEGER);
      CREATE INDEX IF NOT EXISTS order_lists_by_account ON order_lists (account, list_id);
      CREATE INDEX IF NOT EXISTS order_lists_by_client_id ON order_lists (account, list_client_order_id);
      CREATE TABLE IF NOT EXISTS transfers (
        seq INTEGER PRIMARY KEY, account INTEGER NOT NULL, asset INTEGER NOT NULL,
        amount_units INTEGER NOT NULL, time_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS transfers_by_account ON transfers (account, time_ms);
      CREATE TABLE IF NOT EXISTS withdrawals (
        id INTEGER PRIMARY KEY, account INTEGER NOT NULL, asset INTEGER NOT NULL,
        amount_units INTEGER NOT NULL, address TEXT NOT NULL, address_tag TEXT NOT NULL,
        network TEXT NOT NULL, client_id TEXT NOT NULL, status INTEGER NOT NULL, held INTEGER NOT NULL,
        note TEXT NOT NULL, requested_ms INTEGER NOT NULL, update_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS withdrawals_by_account ON withdrawals (account, requested_ms);
      ${CANDLES_SCHEMA}
      ${RESERVES_SCHEMA}
    `);
    // A history written before orders kept their self-trade prevention mode gets the column; its
    // older rows hold NULL ("not recorded": answers show the market's default, what such an order
    // had unless its client named another).
    // Likewise when it began working (working_ms; NULL: shown as its time, as before).
    const columns = db.prepare("PRAGMA table_info(orders)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "stp")) db.exec("ALTER TABLE orders ADD COLUMN stp INTEGER");
    if (!columns.some((c) => c.name === "working_ms"))
      db.exec("ALTER TABLE orders ADD COLUMN working_ms INTEGER");
    // And the self-trade prevention that expired it (NULL: none, or not recorded).
    // And its strategy labels (NULL: none given, or not recorded), and a trailing stop's delta and
    // when it began tracking (NULL: not a trailing stop; trailing_ms -1 until it tracks), and an
    // iceberg order's part shown at a time (NULL: not an iceberg), and the order list it was placed in,
    // and a pegged order's peg (NULL: not pegged), offset (NULL: none sent) and pegged price (NULL: not
    // known yet), and why it ended (engine EndReason: Binance's expiryReason; NULL: open, or older).
    for (const name of [
      "prevented_match_id",
      "prevented_lots",
      "strategy_id",
      "strategy_type",
      "trailing_delta",
      "trailing_ms",
      "iceberg_lots",
      "order_list_id",
      "peg_type",
      "peg_offset",
      "pegged_price_ticks",
      "end_reason",
    ])
      if (!columns.some((c) => c.name === name)) db.exec(`ALTER TABLE orders ADD COLUMN ${name} INTEGER`);
    // An order list's kind and an OTO's working order (NULL: an OCO, or written before OTOs existed).
    const list_columns = db.prepare("PRAGMA table_info(order_lists)").all() as { name: string }[];
    for (const name of ["contingency", "working_order_id"])
      if (!list_columns.some((c) => c.name === name))
        db.exec(`ALTER TABLE order_lists ADD COLUMN ${name} INTEGER`);
    // A history written before candles existed, or before some of their levels, gets them from its
    // trades, once.
    const version = db.prepare("SELECT value FROM meta WHERE key = 'candles'").get() as
      | { value: number }
      | undefined;
    if (version === undefined || version.value < CANDLES_VERSION) {
      const started_ms = Date.now();
      if (db.prepare("SELECT 1 FROM trades LIMIT 1").get() !== undefined)
        this.log("history: building candles from the trades (once, after an upgrade; ~1.5 s a million)…");
      const trades = db.transaction(() => {
        const n = build_candles(db);
        db.prepare("INSERT OR REPLACE INTO meta VALUES ('candles', ?)").run(CANDLES_VERSION);
        return n;
      })();
      if (trades > 0)
        this.log(
          `history: candles built from ${trades} trades in ${Date.now() - started_ms} ms (once, after an upgrade)`,
        );
    }
  }

  /** The last sequence whose events it holds (written, or on their way to the writer). */
  get last_seq(): number {
    return this.fed_seq;
  }

  /** The last sequence whose events are written to the database (what a restart continues from). */
  get written_seq(): number {
    return Number(Atomics.load(this.seqs, SLOT_WRITTEN_SEQ));
  }

  /**
   * Why nothing more is written (the writer failed, or did not answer in time), or null. The node
   * goes on without its history then: trading needs only the journal, reads of the history answer
   * that it is unavailable, and a restart rebuilds what is missing from the journal.
   */
  get failure(): string | null {
    if (this.stopped !== null) return this.stopped;
    if (Atomics.load(this.words, SLOT_STATE) !== STATE_FAILED) return null;
    const length = Atomics.load(this.words, SLOT_ERROR_BYTES);
    const text = Buffer.from(this.words.buffer, ERROR_TEXT_OFFSET, length).toString("utf8");
    this.stopped = `the writer failed, nothing more is written: ${text || this.writer_error || "(no detail)"}`;
    return this.stopped;
  }
  private stopped: string | null = null;

  /** Takes the events of command `seq` (commands arrive in sequence order); dropped once it failed. */
  apply(seq: number, time_ms: number, events: readonly EngineEvent[]): void {
    if (seq <= this.fed_seq || this.stopped !== null) return;
    this.packer.add(seq, time_ms, events);
    this.fed_seq = seq;
    // an audit goes at once: its tree is built by the writer, and its answer waits for it
    if (this.packer.rows >= FLUSH_ROWS || this.packer.audits.length > 0) this.flush();
  }

  /** Events up to `seq` are gone for good (see Projection.skip_to): it continues after `seq`. */
  skip_to(seq: number): void {
    if (seq > this.fed_seq && this.stopped === null) this.fed_seq = seq;
  }

  /**
   * Hands what is waiting to the writer (its last sequence too, even without rows, so that a restart
   * does not replay commands that had none). Waits only if the writer is BATCHES_BEHIND_MAX behind.
   */
  flush(): void {
    if (this.fed_seq <= this.shipped_seq || this.closed || this.failure !== null) {
      if (this.failure !== null) this.packer.take(this.fed_seq); // rows that will never be written
      return;
    }
    const batch = this.packer.take(this.fed_seq);
    this.shipped_seq = this.fed_seq;
    this.shipped_batches++;
    const audits = batch.audits.length > 0;
    this.writer.postMessage(batch satisfies WriterRequest, [
      batch.numbers.buffer as ArrayBuffer,
      ...batch.audits.map((a) => a.balances.buffer as ArrayBuffer),
    ]);
    if (audits)
      this.builder.postMessage({
        type: "build",
        after_batches: this.shipped_batches,
      } satisfies BuilderRequest);
    const behind = () => this.shipped_batches - Atomics.load(this.words, SLOT_BATCHES_WRITTEN);
    try {
      if (behind() > BATCHES_BEHIND_MAX)
        this.wait_for_writer(() => behind() <= BATCHES_BEHIND_MAX / 2, "behind");
    } catch (error) {
      // a writer that failed or stalls stops the history, never the node (see `failure`)
      this.stopped ??= error instanceof HistoryUnavailable ? error.reason : String(error);
    }
  }

  /**
   * Everything fed so far, written, waited for on the node's thread: for order_now, a backup and
   * close, not the reads (those wait on the reader thread). The wait blocks the node's thread, so it
   * is short: a writer that has not caught up within READ_WAIT_MS_MAX (another connection holding
   * the write lock, a stalled disk) makes it throw "busy" (503, try again), and the history goes on.
   */
  private settle(): void {
    this.flush();
    this.check_writer();
    if (this.written_seq >= this.shipped_seq) return;
    const deadline_ms = Date.now() + READ_WAIT_MS_MAX;
    while (this.written_seq < this.shipped_seq) {
      this.check_writer();
      const left_ms = deadline_ms - Date.now();
      if (left_ms <= 0)
        throw new HistoryUnavailable(
          `busy: the writer has not caught up within ${READ_WAIT_MS_MAX} ms (${this.shipped_batches - Atomics.load(this.words, SLOT_BATCHES_WRITTEN)} batches waiting)`,
          false,
        );
      Atomics.wait(
        this.words,
        SLOT_BATCHES_WRITTEN,
        Atomics.load(this.words, SLOT_BATCHES_WRITTEN),
        Math.min(left_ms, 100),
      );
    }
  }

  private check_writer(): void {
    if (this.closed) throw new Error("history: closed");
    const failure = this.failure;
    if (failure !== null) throw new HistoryUnavailable(failure);
  }

  /**
   * Blocks the node's thread until `done()` (the writer's progress is in shared memory, so no
   * event-loop turn is needed), or throws if the writer failed or did not answer in time.
   */
  private wait_for_writer(done: () => boolean, what: string): void {
    const deadline_ms = Date.now() + WRITER_WAIT_MS_MAX;
    for (;;) {
      const seen = Atomics.load(this.words, SLOT_BATCHES_WRITTEN);
      if (done()) return;
      this.check_writer();
      const left_ms = deadline_ms - Date.now();
      if (left_ms <= 0) {
        this.stopped ??= `the writer did not answer in ${WRITER_WAIT_MS_MAX} ms (${what}); nothing more is written`;
        throw new HistoryUnavailable(this.stopped);
      }
      // Short slices: a writer that died cannot notify, and its error event needs this thread.
      Atomics.wait(this.words, SLOT_BATCHES_WRITTEN, seen, Math.min(left_ms, 100));
    }
  }

  /**
   * Runs a read on the reader thread, after everything fed so far is written. Refused at once (busy)
   * while the oldest read waiting has waited READ_QUEUE_MS_MAX or READS_WAITING_MAX wait, and when
   * the writer has failed.
   */
  private read<T>(op: ReadOp, args: unknown[]): Promise<T> {
    try {
      this.check_writer();
    } catch (error) {
      return Promise.reject(error);
    }
    const now_ms = Date.now();
    const oldest = this.reads.values().next().value; // answers come in the order asked
    if (
      this.reads.size >= READS_WAITING_MAX ||
      (oldest !== undefined && now_ms - oldest.asked_ms > READ_QUEUE_MS_MAX)
    )
      return Promise.reject(
        new HistoryUnavailable(
          `busy: ${this.reads.size} reads wait for the reader thread, the oldest for ${now_ms - (oldest?.asked_ms ?? now_ms)} ms`,
          false,
        ),
      );
    const reader = this.reader ?? this.start_reader();
    const id = this.next_read_id++;
    return new Promise<T>((resolve, reject) => {
      this.reads.set(id, { resolve: resolve as (value: unknown) => void, reject, asked_ms: now_ms });
      if (this.reads.size === 1) reader.ref(); // a read waiting keeps the process alive
      reader.postMessage({
        type: "read",
        id,
        batches: this.batches_for_read(),
        op,
        args,
      } satisfies ReaderRequest);
    });
  }

  /**
   * The batches a read must see written: those handed to the writer, and the rows fed since, which
   * go in one batch at the end of this event-loop turn however many reads ask (a flush per read, under
   * many reads, made many small batches, and 64 behind makes the node's thread wait for the writer).
   */
  private batches_for_read(): number {
    if (this.fed_seq <= this.shipped_seq) return this.shipped_batches;
    if (!this.flush_scheduled) {
      this.flush_scheduled = true;
      setImmediate(() => {
        this.flush_scheduled = false;
        this.flush();
      });
    }
    // apply() may ship them first (FLUSH_ROWS); either way this many batches are handed over
    return this.shipped_batches + 1;
  }
  private flush_scheduled = false;

  private on_read(m: ReaderReply): void {
    const waiting = this.reads.get(m.id);
    if (waiting === undefined) return;
    this.reads.delete(m.id);
    if (this.reads.size === 0) this.reader?.unref();
    if (m.ok) waiting.resolve(m.value);
    else if (m.busy) waiting.reject(new HistoryUnavailable(m.error, false));
    else if (m.writer_down) waiting.reject(new HistoryUnavailable(this.failure ?? m.error));
    else waiting.reject(new Error(`history read: ${m.error}`));
  }

  private start_reader(): Worker {
    Atomics.store(this.reader_closed, 0, 0);
    const start: ReaderStart = {
      file: this.file,
      shared: this.words.buffer as SharedArrayBuffer,
      closed: this.reader_closed.buffer as SharedArrayBuffer,
      wait_ms_max: READ_WAIT_MS_MAX,
      nice: READER_NICE,
    };
    const reader = new Worker(new URL("./history_reader.js", import.meta.url), { workerData: start });
    reader.unref();
    reader.on("message", (m: ReaderReply) => this.on_read(m));
    const stopped = (why: string): void => {
      if (this.reader !== reader) return;
      // reads waiting fail; the next read starts a new reader (unless the history is closing)
      this.reader = null;
      Atomics.store(this.reader_closed, 0, 1);
      for (const waiting of this.reads.values()) waiting.reject(new HistoryUnavailable(why, false));
      this.reads.clear();
    };
    reader.on("error", (error) => stopped(`the reader thread failed: ${String(error)}`));
    reader.on("exit", (code) => stopped(`the reader thread exited (${code})`));
    this.reader = reader;
    return reader;
  }

  order(
    account: number,
    market: number,
    order_id: number | null,
    client_order_id: string | null,
  ): Promise<OrderRow | null> {
    return this.read("order", [account, market, order_id, client_order_id]);
  }

  /**
   * `order`, answered at once on the node's thread (blocking until the writer has caught up): for
   * the user-data events of an order placed too long ago to be in their cache (user_data.ts), which
   * are made synchronously as each command is applied. A point lookup by key, ~10 µs once written.
   */
  order_now(account: number, market: number, order_id: number): OrderRow | null {
    this.settle();
    this.queries_now ??= new HistoryQueries(this.db);
    return this.queries_now.order(account, market, order_id, null);
  }

  /** One of the account's order lists (OCO), by id or by list client order id. */
  order_list(
    account: number,
    list_id: number | null,
    client_id: string | null,
  ): Promise<OrderListRow | null> {
    return this.read("order_list", [account, list_id, client_id]);
  }

  /** The account's order lists, from an id or within a time window (allOrderList). */
  order_lists(account: number, q: ListRange): Promise<OrderListRow[]> {
    return this.read("order_lists", [account, q]);
  }

  /** An audit (the latest when `seq` is null), or that it is still being built (AuditQueries.find). */
  reserves_find(seq: number | null): Promise<AuditFound> {
    return this.read("reserves_find", [seq]);
  }

  /** The latest audits, newest first. */
  reserves_audits(limit: number): Promise<AuditRow[]> {
    return this.read("reserves_audits", [limit]);
  }

  /** The account's leaf and path in an audit (the latest when `seq` is null); null: no audit. */
  reserves_proof(account: number, seq: number | null): Promise<ProofRow | null> {
    return this.read("reserves_proof", [account, seq]);
  }

  /** The account's deposits or withdrawals, newest first (the wallet's histories). */
  transfers(account: number, q: TransferQuery): Promise<TransferRow[]> {
    return this.read("transfers", [account, q]);
  }

  /** The account's own withdrawals (asked for through the API), newest first. */
  withdrawals(account: number, q: WithdrawalQuery): Promise<WithdrawalHistoryRow[]> {
    return this.read("withdrawals", [account, q]);
  }

  /** Several of the account's orders by [market, order id], in one read (null for each not found). */
  orders_by_id(account: number, ids: readonly [number, number][]): Promise<(OrderRow | null)[]> {
    return this.read("orders_by_id", [account, ids]);
  }

  all_orders(account: number, market: number, q: Range): Promise<OrderRow[]> {
    return this.read("all_orders", [account, market, q]);
  }

  trades(account: number, market: number, q: Range): Promise<TradeRow[]> {
    return this.read("trades", [account, market, q]);
  }

  /** The price of the market's last trade before `time_ms`, or null if it had none. */
  last_price_before(market: number, time_ms: number): Promise<number | null> {
    return this.read("last_price_before", [market, time_ms]);
  }

  /** The trades of one of the account's orders (myTrades?orderId), oldest first. */
  order_trades(account: number, market: number, order_id: number, q: Range): Promise<TradeRow[]> {
    return this.read("order_trades", [account, market, order_id, q]);
  }

  /** Public trades of a market (the taker's row of each). */
  market_trades(market: number, q: Range): Promise<TradeRow[]> {
    return this.read("market_trades", [market, q]);
  }

  /** Binance's klines of a market: whole buckets, quiet ones filled (CandleReader.klines). */
  klines(
    market: number,
    buckets: Buckets,
    q: { start_ms?: number; end_ms: number; limit: number },
  ): Promise<Candle[]> {
    return this.read("klines", [market, buckets.spec, q]);
  }

  /** `market_trades` as Binance's trades or aggTrades JSON, made on the reader thread (gateway/history_json.ts). */
  market_trades_text(market: number, q: Range, shape: PublicShape, format: MarketFormat): Promise<string> {
    return this.read("market_trades_text", [market, q, shape, format]);
  }

  /** `all_orders` as Binance's allOrders JSON, made on the reader thread. */
  all_orders_text(account: number, market: number, q: Range, format: MarketFormat): Promise<string> {
    return this.read("all_orders_text", [account, market, q, format]);
  }

  /** The account's trades (of one order, or all) as Binance's myTrades JSON, made on the reader thread. */
  my_trades_text(
    account: number,
    market: number,
    order_id: number | null,
    q: Range,
    format: MarketFormat,
  ): Promise<string> {
    return this.read("my_trades_text", [account, market, order_id, q, format]);
  }

  /**
   * The account's prevented self-trades on a market as Binance's myPreventedMatches JSON, made on the
   * reader thread: one by id, or those of one order from an id on.
   */
  prevented_matches_text(
    account: number,
    market: number,
    q: PreventedQuery,
    format: MarketFormat,
  ): Promise<string> {
    return this.read("prevented_matches_text", [account, market, q, format]);
  }

  /** One of the account's orders' amendments as Binance's GET order/amendments JSON, made on the reader thread. */
  amendments_text(
    account: number,
    market: number,
    order_id: number,
    q: { from_id: number; limit: number },
    format: MarketFormat,
  ): Promise<string> {
    return this.read("amendments_text", [account, market, order_id, q, format]);
  }

  /** `klines` as Binance's JSON, made on the reader thread. */
  klines_text(
    market: number,
    buckets: Buckets,
    q: { start_ms?: number; end_ms: number; limit: number },
    format: MarketFormat,
  ): Promise<string> {
    return this.read("klines_text", [market, buckets.spec, q, format]);
  }

  /** Trade statistics of a market over [start_ms, end_ms] (both included), or null without trades. */
  stats(market: number, start_ms: number, end_ms: number): Promise<Agg | null> {
    return this.read("stats", [market, start_ms, end_ms]);
  }

  /**
   * Writes a consistent copy of the database to `file` (SQLite's online backup, run by the writer
   * thread a few pages at a time between its batches) for a peer to bootstrap from (cluster/peer.ts).
   * Returns the last sequence written before the copy began; the copy holds at least that much.
   */
  async backup(file: string): Promise<number> {
    this.settle();
    const id = this.next_backup_id++;
    const done = new Promise<{ seq: number; error: string | null }>((resolve) =>
      this.backups.set(id, resolve),
    );
    this.writer.postMessage({ type: "backup", id, file } satisfies WriterRequest);
    this.writer.ref(); // a copy in progress keeps the process alive until it answers
    try {
      const r = await done;
      if (r.error !== null) throw new Error(`history backup: ${r.error}`);
      return r.seq;
    } finally {
      this.backups.delete(id);
      this.writer.unref();
    }
  }

  /** Writes what is waiting (unless it failed), stops the threads and closes every connection. */
  close(): void {
    if (this.closed) return;
    try {
      if (this.failure === null) this.settle();
    } catch {
      // stopped while settling: the reason stays in `failure`; the connections are closed all the same
    } finally {
      this.closed = true;
      // The threads' connections are closed before this returns (a caller may remove the files
      // next); a thread that does not answer in time is left behind, the database consistent anyway.
      const reader = this.reader;
      this.reader = null;
      for (const waiting of this.reads.values()) waiting.reject(new Error("history: closed"));
      this.reads.clear();
      reader?.postMessage({ type: "stop" } satisfies ReaderRequest);
      this.writer.postMessage({ type: "stop" } satisfies WriterRequest);
      this.checkpointer.postMessage({ type: "stop" });
      // a build in progress sees the flag between chunks; an idle builder gets the message
      Atomics.store(this.builder_flags, 0, 1);
      this.builder.postMessage({ type: "stop" } satisfies BuilderRequest);
      const deadline_ms = Date.now() + CLOSE_WAIT_MS;
      while (Atomics.load(this.words, SLOT_STATE) !== STATE_CLOSED && Date.now() < deadline_ms)
        Atomics.wait(this.words, SLOT_BATCHES_WRITTEN, Atomics.load(this.words, SLOT_BATCHES_WRITTEN), 100);
      Atomics.wait(this.checkpointer_closed, 0, 0, Math.max(0, deadline_ms - Date.now()));
      if (reader !== null) Atomics.wait(this.reader_closed, 0, 0, Math.max(0, deadline_ms - Date.now()));
      Atomics.wait(this.builder_flags, 1, 0, Math.max(0, deadline_ms - Date.now()));
      this.db.close();
    }
  }
}

/**
 * Opens the history at `file`. The history is derived from the journal, so a damaged copy must not
 * keep the exchange from starting: a file SQLite cannot read as a database is moved aside (with its
 * WAL) and a new one begun, which the node fills from the journal as it opens (what the journal no
 * longer holds is logged as a gap).
 */
export function open_history(file: string, log: (line: string) => void, reserves_key?: Uint8Array): History {
  return open_or_set_aside(
    file,
    () => new History(file, log, reserves_key),
    (aside, error) =>
      log(
        `history: ${file} is damaged (${String(error)}): moved to ${aside}; a new one is filled from the journal`,
      ),
  );
}
