/**
 * The history projection (SQLite, better-sqlite3): every order and trade, from the engine's events,
 * for GET order, allOrders and myTrades, public trades, klines and tickers. The node's thread packs
 * each command's rows (history_rows.ts) and hands them, a batch at a time, to a writer thread
 * (history_writer.ts) that writes them with the batch's last sequence in one transaction (DESIGN,
 * "State outside the engine"), so after a crash the node replays exactly what it lacks. Reads run on
 * the node's thread on a connection of their own; each first waits until everything fed so far is
 * written, so a client reads its own writes.
 */
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { EngineEvent } from "../engine/events.js";
import { open_or_set_aside } from "../node/data_dir.js";
import {
  type Agg,
  type Buckets,
  build_candles,
  CANDLES_SCHEMA,
  CANDLES_VERSION,
  type Candle,
  CandleReader,
} from "./candles.js";
import type { CheckpointStart } from "./checkpoint_worker.js";
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

export interface OrderRow {
  order_id: number;
  account: number;
  market: number;
  client_order_id: string | null;
  side: number;
  order_type: number;
  tif: number;
  price_ticks: number;
  quantity_lots: number;
  quote_units: number;
  stop_price_ticks: number;
  status: number;
  executed_lots: number;
  cumulative_quote_units: number;
  time_ms: number;
  update_ms: number;
}

export interface TradeRow {
  market: number;
  trade_id: number;
  order_id: number;
  account: number;
  price_ticks: number;
  quantity_lots: number;
  quote_units: number;
  fee_units: number;
  is_buyer: number;
  is_maker: number;
  time_ms: number;
}

export type { Agg, Buckets, Candle } from "./candles.js";
export { fixed_buckets, month_buckets } from "./candles.js";

interface MarketStatements {
  from: Database.Statement;
  recent: Database.Statement;
}

export interface Range {
  from_id?: number;
  start_ms?: number;
  end_ms?: number;
  limit: number;
}

/** Rows gathered before they go to the writer (one transaction each: ~1-3 ms of its thread). */
const FLUSH_ROWS = 1000;
/**
 * Batches handed to the writer and not yet written before the node's thread waits for it: the
 * bound on the rows waiting in memory (~100 KB a batch) when the disk or the writer falls behind.
 */
const BATCHES_BEHIND_MAX = 64;
/** The longest the node's thread waits for the writer to take more batches before the history stops. */
const WRITER_WAIT_MS_MAX = 30_000;
/** The longest a read waits for the writer to catch up before it answers "busy" (see settle). */
const READ_WAIT_MS_MAX = 1000;
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
  /** The readers' connection (the writer thread has its own). */
  private readonly db: Database.Database;
  private readonly candle_reader: CandleReader;
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
  private readonly stmt: Record<string, Database.Statement>;
  private readonly checkpointer: Worker;
  /** Set by the checkpoint thread once its connection is closed. */
  private readonly checkpointer_closed: Int32Array;

  /** `log` hears what opening did that an operator should know (candles built after an upgrade). */
  constructor(
    file: string,
    private readonly log: (line: string) => void = (line) => console.error(line),
  ) {
    this.db = new Database(file);
    try {
      this.init_schema();
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
    this.stmt = {
      last: this.db.prepare("SELECT value FROM meta WHERE key = 'last_seq'"),
      by_id: this.db.prepare("SELECT * FROM orders WHERE order_id = ? AND account = ? AND market = ?"),
      by_client_id: this.db.prepare(
        "SELECT * FROM orders WHERE account = ? AND client_order_id = ? AND market = ? ORDER BY order_id DESC LIMIT 1",
      ),
      // Ranges are by id: ids grow with time (an order's or trade's time is its command's, and
      // command times never go backwards), so a time window is first turned into the ids it spans
      // (id_bounds) and the rows read by index from there. Filtering on time instead scanned every
      // row of the account or market outside the window (0.2-0.8 s for a day of 2,000,000 trades).
      all_orders: this.db.prepare(`SELECT * FROM orders WHERE account = ? AND market = ? AND order_id >= ?
        AND order_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY order_id LIMIT ?`),
      all_orders_recent: this.db.prepare(`SELECT * FROM (SELECT * FROM orders WHERE account = ? AND market = ?
        AND order_id >= ? AND order_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY order_id DESC LIMIT ?)
        ORDER BY order_id`),
      trades: this.db.prepare(`SELECT * FROM trades WHERE account = ? AND market = ? AND trade_id >= ?
        AND trade_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id LIMIT ?`),
      trades_recent: this.db.prepare(`SELECT * FROM (SELECT * FROM trades WHERE account = ? AND market = ?
        AND trade_id >= ? AND trade_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id DESC LIMIT ?)
        ORDER BY trade_id`),
      order_trades: this.db.prepare(`SELECT * FROM trades WHERE account = ? AND market = ? AND trade_id >= ?
        AND trade_id <= ? AND order_id = ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id LIMIT ?`),
      first_trade_at: this.db.prepare(`SELECT trade_id FROM trades WHERE market = ? AND is_maker = 0
        AND time_ms >= ? ORDER BY time_ms, trade_id LIMIT 1`),
      last_trade_at: this.db.prepare(`SELECT trade_id FROM trades WHERE market = ? AND is_maker = 0
        AND time_ms <= ? ORDER BY time_ms DESC, trade_id DESC LIMIT 1`),
      order_from: this.db.prepare(
        "SELECT order_id, time_ms FROM orders WHERE order_id >= ? ORDER BY order_id LIMIT 1",
      ),
      last_order: this.db.prepare("SELECT MAX(order_id) AS order_id FROM orders"),
    };
    this.candle_reader = new CandleReader(this.db);
    const written = (this.stmt.last.get() as { value: number }).value;
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
  }

  /** Settings and tables; throws for a file SQLite cannot read as a database (see open_history). */
  private init_schema(): void {
    this.db.pragma("journal_mode = WAL");
    // NORMAL: a power loss may lose the last transactions, never corrupt the file; the node replays
    // whatever last_seq says is missing.
    this.db.pragma("synchronous = NORMAL");
    // Checkpoints run on their own thread (checkpoint_worker.ts). SQLite's own stays as a backstop at
    // ~64 MB of WAL, should that thread fail: a longer pause then, never an unbounded file.
    this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta VALUES ('last_seq', 0);
      CREATE TABLE IF NOT EXISTS orders (
        order_id INTEGER PRIMARY KEY, account INTEGER NOT NULL, market INTEGER NOT NULL,
        client_order_id TEXT, side INTEGER NOT NULL, order_type INTEGER NOT NULL, tif INTEGER NOT NULL,
        price_ticks INTEGER NOT NULL, quantity_lots INTEGER NOT NULL, quote_units INTEGER NOT NULL,
        stop_price_ticks INTEGER NOT NULL, status INTEGER NOT NULL, executed_lots INTEGER NOT NULL,
        cumulative_quote_units INTEGER NOT NULL, time_ms INTEGER NOT NULL, update_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS orders_by_account ON orders (account, market, order_id);
      CREATE INDEX IF NOT EXISTS orders_by_client_id ON orders (account, client_order_id);
      CREATE TABLE IF NOT EXISTS trades (
        market INTEGER NOT NULL, trade_id INTEGER NOT NULL, order_id INTEGER NOT NULL,
        account INTEGER NOT NULL, price_ticks INTEGER NOT NULL, quantity_lots INTEGER NOT NULL,
        quote_units INTEGER NOT NULL, fee_units INTEGER NOT NULL, is_buyer INTEGER NOT NULL,
        is_maker INTEGER NOT NULL, time_ms INTEGER NOT NULL, PRIMARY KEY (market, trade_id, is_maker));
      CREATE INDEX IF NOT EXISTS trades_by_account ON trades (account, market, trade_id);
      CREATE INDEX IF NOT EXISTS trades_by_time ON trades (market, is_maker, time_ms);
      ${CANDLES_SCHEMA}
    `);
    // A history written before candles existed, or before some of their levels, gets them from its
    // trades, once.
    const version = this.db.prepare("SELECT value FROM meta WHERE key = 'candles'").get() as
      | { value: number }
      | undefined;
    if (version === undefined || version.value < CANDLES_VERSION) {
      const started_ms = Date.now();
      if (this.db.prepare("SELECT 1 FROM trades LIMIT 1").get() !== undefined)
        this.log("history: building candles from the trades (once, after an upgrade; ~1.5 s a million)…");
      const trades = this.db.transaction(() => {
        const n = build_candles(this.db);
        this.db.prepare("INSERT OR REPLACE INTO meta VALUES ('candles', ?)").run(CANDLES_VERSION);
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
    this.packer.add(time_ms, events);
    this.fed_seq = seq;
    if (this.packer.rows >= FLUSH_ROWS) this.flush();
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
    this.writer.postMessage(batch satisfies WriterRequest, [batch.numbers.buffer as ArrayBuffer]);
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
   * Everything fed so far, written: what a read must see (a client reads its own writes). The wait
   * blocks the node's thread, so it is short: a writer that has not caught up within
   * READ_WAIT_MS_MAX (another connection holding the write lock, a stalled disk) makes the read
   * answer "busy" (503, try again), and the history goes on.
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

  order(
    account: number,
    market: number,
    order_id: number | null,
    client_order_id: string | null,
  ): OrderRow | null {
    this.settle();
    const row =
      order_id !== null
        ? this.stmt.by_id.get(order_id, account, market)
        : this.stmt.by_client_id.get(account, client_order_id, market);
    return (row as OrderRow | undefined) ?? null;
  }

  all_orders(account: number, market: number, q: Range): OrderRow[] {
    const rows = this.ranged(
      this.stmt.all_orders,
      this.stmt.all_orders_recent,
      [account, market],
      q,
      (a, b) => this.order_ids(a, b),
    );
    return rows as OrderRow[];
  }

  trades(account: number, market: number, q: Range): TradeRow[] {
    const rows = this.ranged(this.stmt.trades, this.stmt.trades_recent, [account, market], q, (a, b) =>
      this.trade_ids(market, a, b),
    );
    return rows as TradeRow[];
  }

  /** The price of the market's last trade before `time_ms`, or null if it had none. */
  last_price_before(market: number, time_ms: number): number | null {
    this.settle();
    return this.candle_reader.last_price_before(market, time_ms);
  }

  /**
   * The trades of one of the account's orders (myTrades?orderId), oldest first: read between the
   * trade ids of the order's life (placed to last updated), among the account's trades (an index
   * on order ids would slow every trade's write on the writer thread, measured ~10%: docs/BENCHMARKS.md).
   */
  order_trades(account: number, market: number, order_id: number, q: Range): TradeRow[] {
    this.settle();
    const order = this.stmt.by_id.get(order_id, account, market) as OrderRow | undefined;
    if (order === undefined) return [];
    const ids = this.trade_ids(market, order.time_ms, order.update_ms);
    if (ids === null) return [];
    const rows = this.stmt.order_trades.all(
      account,
      market,
      Math.max(q.from_id ?? 0, ids[0]),
      ids[1],
      order_id,
      q.start_ms ?? 0,
      q.end_ms ?? Number.MAX_SAFE_INTEGER,
      q.limit,
    );
    return rows as TradeRow[];
  }

  /** Public trades of a market (the taker's row of each). */
  market_trades(market: number, q: Range): TradeRow[] {
    const rows = this.ranged(this.market_stmt.from, this.market_stmt.recent, [market], q, (a, b) =>
      this.trade_ids(market, a, b),
    );
    return rows as TradeRow[];
  }

  /**
   * Binance's paging: from an id onwards (`from`), or else the most recent `limit` (`recent`), both
   * within [start_ms, end_ms] and oldest first. A window is read between the ids it spans.
   */
  private ranged(
    from: Database.Statement,
    recent: Database.Statement,
    keys: number[],
    q: Range,
    id_bounds: (start_ms: number, end_ms: number) => [number, number] | null,
  ): unknown[] {
    this.settle();
    const start = q.start_ms ?? 0;
    const end = q.end_ms ?? Number.MAX_SAFE_INTEGER;
    let [lo, hi] = [q.from_id ?? 0, Number.MAX_SAFE_INTEGER];
    if (q.start_ms !== undefined || q.end_ms !== undefined) {
      const ids = id_bounds(start, end);
      if (ids === null) return [];
      lo = Math.max(lo, ids[0]);
      hi = ids[1];
    }
    return q.from_id !== undefined
      ? from.all(...keys, lo, hi, start, end, q.limit)
      : recent.all(...keys, lo, hi, start, end, q.limit);
  }

  /** The first and last trade ids of a market in [start_ms, end_ms], or null if it had none then. */
  private trade_ids(market: number, start_ms: number, end_ms: number): [number, number] | null {
    const first = this.stmt.first_trade_at.get(market, start_ms) as { trade_id: number } | undefined;
    const last = this.stmt.last_trade_at.get(market, end_ms) as { trade_id: number } | undefined;
    if (first === undefined || last === undefined || first.trade_id > last.trade_id) return null;
    return [first.trade_id, last.trade_id];
  }

  /**
   * The order ids created in [start_ms, end_ms] lie in the returned range (orders have no time index:
   * a binary search over the ids, ~25 lookups, finds where the window starts and ends).
   */
  private order_ids(start_ms: number, end_ms: number): [number, number] | null {
    const last = (this.stmt.last_order.get() as { order_id: number | null }).order_id;
    if (last === null) return null;
    /** The first order id whose order was created at or after `t` (last + 1 if none). */
    const first_at = (t: number): number => {
      let lo = 0;
      let hi = last + 1;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const row = this.stmt.order_from.get(mid) as { order_id: number; time_ms: number } | undefined;
        if (row === undefined || row.time_ms >= t) hi = mid;
        else lo = row.order_id + 1;
      }
      return lo;
    };
    const lo = first_at(start_ms);
    const hi = end_ms >= Number.MAX_SAFE_INTEGER ? last : first_at(end_ms + 1) - 1;
    return lo > hi ? null : [lo, hi];
  }

  /** Binance's klines of a market: whole buckets, quiet ones filled (CandleReader.klines). */
  klines(
    market: number,
    buckets: Buckets,
    q: { start_ms?: number; end_ms: number; limit: number },
  ): Candle[] {
    this.settle();
    return this.candle_reader.klines(market, buckets, q);
  }

  /** Trade statistics of a market over [start_ms, end_ms] (both included), or null without trades. */
  stats(market: number, start_ms: number, end_ms: number): Agg | null {
    this.settle();
    return this.candle_reader.range(market, start_ms, end_ms + 1);
  }

  private _market_stmt: MarketStatements | null = null;
  private get market_stmt(): MarketStatements {
    if (this._market_stmt !== null) return this._market_stmt;
    const db = this.db;
    this._market_stmt = {
      from: db.prepare(`SELECT * FROM trades WHERE market = ? AND is_maker = 0 AND trade_id >= ?
        AND trade_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id LIMIT ?`),
      recent: db.prepare(`SELECT * FROM (SELECT * FROM trades WHERE market = ? AND is_maker = 0
        AND trade_id >= ? AND trade_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id DESC LIMIT ?)
        ORDER BY trade_id`),
    };
    return this._market_stmt;
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

  /** Writes what is waiting (unless it failed), stops the writer and closes both connections. */
  close(): void {
    if (this.closed) return;
    try {
      if (this.failure === null) this.settle();
    } catch {
      // stopped while settling: the reason stays in `failure`; the connections are closed all the same
    } finally {
      this.closed = true;
      // Both threads' connections are closed before this returns (a caller may remove the files
      // next); a thread that does not answer in time is left behind, the database consistent anyway.
      this.writer.postMessage({ type: "stop" } satisfies WriterRequest);
      this.checkpointer.postMessage({ type: "stop" });
      const deadline_ms = Date.now() + CLOSE_WAIT_MS;
      while (Atomics.load(this.words, SLOT_STATE) !== STATE_CLOSED && Date.now() < deadline_ms)
        Atomics.wait(this.words, SLOT_BATCHES_WRITTEN, Atomics.load(this.words, SLOT_BATCHES_WRITTEN), 100);
      Atomics.wait(this.checkpointer_closed, 0, 0, Math.max(0, deadline_ms - Date.now()));
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
export function open_history(file: string, log: (line: string) => void): History {
  return open_or_set_aside(
    file,
    () => new History(file, log),
    (aside, error) =>
      log(
        `history: ${file} is damaged (${String(error)}): moved to ${aside}; a new one is filled from the journal`,
      ),
  );
}
