/**
 * The history projection (SQLite, better-sqlite3): every order and trade, from the engine's events,
 * for GET order, allOrders and myTrades. It records the last sequence it applied in the same
 * transaction as the rows (DESIGN, "State outside the engine"), so after a crash the node replays
 * exactly what it lacks. Rows are gathered in memory and written one transaction per flush; every
 * read flushes first, so a client reads its own writes.
 */
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { EngineEvent } from "../engine/events.js";
import type { CheckpointStart } from "./checkpoint_worker.js";

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

export interface Candle {
  open_ms: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume_lots: number;
  quote_units: number;
  count: number;
  taker_buy_lots: number;
  taker_buy_quote_units: number;
}

export interface Stats {
  count: number;
  first_id: number;
  last_id: number;
  open: number;
  high: number;
  low: number;
  last: number;
  last_lots: number;
  last_ms: number;
  volume_lots: number;
  quote_units: number;
}

interface MarketStatements {
  from: Database.Statement;
  recent: Database.Statement;
  candles: (recent: boolean) => Database.Statement;
  stats: Database.Statement;
}

export interface Range {
  from_id?: number;
  start_ms?: number;
  end_ms?: number;
  limit: number;
}

// The flush runs on the node's thread. Measured (session 3): a transaction of ~10,000 rows blocked it
// 10-29 ms, one of ~1,000 rows about 1 ms; the commit is still amortised over hundreds of rows.
const FLUSH_ROWS = 1000;
const CHECKPOINT_EVERY_MS = 1000;
/** 16,384 pages of 4 KiB. */
const WAL_AUTOCHECKPOINT_PAGES = 16_384;
export const HISTORY_LIMIT_MAX = 1000;

export class History {
  private readonly db: Database.Database;
  private pending_new: OrderRow[] = [];
  private pending_updates: [number, number, number, number, number][] = [];
  private pending_trades: TradeRow[] = [];
  private pending_seq = 0;
  private applied_seq: number;
  private readonly stmt: Record<string, Database.Statement>;
  private readonly checkpointer: Worker;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    // NORMAL: a power loss may lose the last transactions, never corrupt the file; the node replays
    // whatever last_seq says is missing.
    this.db.pragma("synchronous = NORMAL");
    // Checkpoints run on their own thread (checkpoint_worker.ts). SQLite's own stays as a backstop at
    // ~64 MB of WAL, should that thread fail: a longer pause then, never an unbounded file.
    this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    const checkpoints: CheckpointStart = { file, every_ms: CHECKPOINT_EVERY_MS };
    this.checkpointer = new Worker(new URL("./checkpoint_worker.js", import.meta.url), {
      workerData: checkpoints,
    });
    this.checkpointer.unref();
    this.checkpointer.on("error", () => {}); // the backstop covers it
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
    `);
    this.stmt = {
      last: this.db.prepare("SELECT value FROM meta WHERE key = 'last_seq'"),
      set_last: this.db.prepare("UPDATE meta SET value = ? WHERE key = 'last_seq'"),
      insert_order: this.db.prepare(`INSERT OR REPLACE INTO orders VALUES (@order_id, @account, @market,
        @client_order_id, @side, @order_type, @tif, @price_ticks, @quantity_lots, @quote_units,
        @stop_price_ticks, @status, @executed_lots, @cumulative_quote_units, @time_ms, @update_ms)`),
      update_order: this.db.prepare(
        "UPDATE orders SET status = ?, executed_lots = ?, cumulative_quote_units = ?, update_ms = ? WHERE order_id = ?",
      ),
      insert_trade: this.db.prepare(`INSERT OR REPLACE INTO trades VALUES (@market, @trade_id, @order_id,
        @account, @price_ticks, @quantity_lots, @quote_units, @fee_units, @is_buyer, @is_maker, @time_ms)`),
      by_id: this.db.prepare("SELECT * FROM orders WHERE order_id = ? AND account = ? AND market = ?"),
      by_client_id: this.db.prepare(
        "SELECT * FROM orders WHERE account = ? AND client_order_id = ? AND market = ? ORDER BY order_id DESC LIMIT 1",
      ),
      all_orders: this.db.prepare(`SELECT * FROM orders WHERE account = ? AND market = ? AND order_id >= ?
        AND time_ms >= ? AND time_ms <= ? ORDER BY order_id LIMIT ?`),
      all_orders_recent: this.db.prepare(`SELECT * FROM (SELECT * FROM orders WHERE account = ? AND market = ?
        AND time_ms >= ? AND time_ms <= ? ORDER BY order_id DESC LIMIT ?) ORDER BY order_id`),
      trades: this.db.prepare(`SELECT * FROM trades WHERE account = ? AND market = ? AND trade_id >= ?
        AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id LIMIT ?`),
      trades_recent: this.db.prepare(`SELECT * FROM (SELECT * FROM trades WHERE account = ? AND market = ?
        AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id DESC LIMIT ?) ORDER BY trade_id`),
    };
    this.applied_seq = (this.stmt.last.get() as { value: number }).value;
  }

  /** The last sequence whose events are in the projection (flushed or waiting). */
  get last_seq(): number {
    return Math.max(this.applied_seq, this.pending_seq);
  }

  /** Takes the events of command `seq` (commands arrive in sequence order). */
  apply(seq: number, time_ms: number, events: readonly EngineEvent[]): void {
    if (seq <= this.last_seq) return;
    for (const e of events) {
      if (e.kind === "order_new") {
        this.pending_new.push({
          order_id: e.order_id,
          account: e.account,
          market: e.market,
          client_order_id: e.client_order_id,
          side: e.side,
          order_type: e.order_type,
          tif: e.tif,
          price_ticks: e.price_ticks,
          quantity_lots: e.quantity_lots,
          quote_units: e.quote_units,
          stop_price_ticks: e.stop_price_ticks,
          status: 0,
          executed_lots: 0,
          cumulative_quote_units: 0,
          time_ms: e.time_ms,
          update_ms: e.time_ms,
        });
      } else if (e.kind === "order_update") {
        this.pending_updates.push([e.status, e.executed_lots, e.cumulative_quote_units, time_ms, e.order_id]);
      } else if (e.kind === "trade") {
        const taker_buys = e.taker_side === 0;
        const common = {
          market: e.market,
          trade_id: e.trade_id,
          price_ticks: e.price_ticks,
          quantity_lots: e.quantity_lots,
          quote_units: e.quote_units,
          time_ms: e.time_ms,
        };
        this.pending_trades.push(
          {
            ...common,
            order_id: e.taker_order_id,
            account: e.taker_account,
            fee_units: e.taker_fee_units,
            is_buyer: taker_buys ? 1 : 0,
            is_maker: 0,
          },
          {
            ...common,
            order_id: e.maker_order_id,
            account: e.maker_account,
            fee_units: e.maker_fee_units,
            is_buyer: taker_buys ? 0 : 1,
            is_maker: 1,
          },
        );
      }
    }
    this.pending_seq = seq;
    if (this.pending_new.length + this.pending_updates.length + this.pending_trades.length > FLUSH_ROWS)
      this.flush();
  }

  /** Writes what is waiting, with its last sequence, in one transaction. */
  flush(): void {
    if (this.pending_seq <= this.applied_seq) return;
    const news = this.pending_new;
    const updates = this.pending_updates;
    const trades = this.pending_trades;
    const seq = this.pending_seq;
    this.db.transaction(() => {
      // In event order: an order's update always follows its insert within the waiting rows.
      for (const o of news) this.stmt.insert_order.run(o);
      for (const u of updates) this.stmt.update_order.run(...u);
      for (const t of trades) this.stmt.insert_trade.run(t);
      this.stmt.set_last.run(seq);
    })();
    this.pending_new = [];
    this.pending_updates = [];
    this.pending_trades = [];
    this.applied_seq = seq;
  }

  order(
    account: number,
    market: number,
    order_id: number | null,
    client_order_id: string | null,
  ): OrderRow | null {
    this.flush();
    const row =
      order_id !== null
        ? this.stmt.by_id.get(order_id, account, market)
        : this.stmt.by_client_id.get(account, client_order_id, market);
    return (row as OrderRow | undefined) ?? null;
  }

  all_orders(account: number, market: number, q: Range): OrderRow[] {
    return this.ranged(this.stmt.all_orders, this.stmt.all_orders_recent, [account, market], q) as OrderRow[];
  }

  trades(account: number, market: number, q: Range): TradeRow[] {
    return this.ranged(this.stmt.trades, this.stmt.trades_recent, [account, market], q) as TradeRow[];
  }

  /** A market's latest trades (the taker's row of each), oldest first. */
  market_trades(market: number, q: Range): TradeRow[] {
    return this.ranged(this.market_stmt.from, this.market_stmt.recent, [market], q) as TradeRow[];
  }

  /**
   * Binance's paging: from an id onwards (`from`), or else the most recent `limit` (`recent`), both
   * within [start_ms, end_ms] and oldest first.
   */
  private ranged(from: Database.Statement, recent: Database.Statement, keys: number[], q: Range): unknown[] {
    this.flush();
    const start = q.start_ms ?? 0;
    const end = q.end_ms ?? Number.MAX_SAFE_INTEGER;
    return q.from_id !== undefined
      ? from.all(...keys, q.from_id, start, end, q.limit)
      : recent.all(...keys, start, end, q.limit);
  }

  /**
   * Candles of `interval_ms` (aligned to the epoch plus `offset_ms`: Binance's weeks start on Monday)
   * from the trades; buckets without trades are left out. Oldest first.
   */
  candles(
    market: number,
    q: { interval_ms: number; offset_ms: number; start_ms?: number; end_ms?: number; limit: number },
  ): Candle[] {
    this.flush();
    const recent = q.start_ms === undefined;
    const rows = this.market_stmt.candles(recent).all({
      market,
      ms: q.interval_ms,
      off: q.offset_ms,
      start: q.start_ms ?? 0,
      end: q.end_ms ?? Number.MAX_SAFE_INTEGER,
      limit: q.limit,
    }) as Candle[];
    return recent ? rows.reverse() : rows;
  }

  /** Trade statistics of a market over [start_ms, end_ms]. */
  stats(market: number, start_ms: number, end_ms: number): Stats | null {
    this.flush();
    const row = this.market_stmt.stats.get({ market, start: start_ms, end: end_ms }) as Stats | undefined;
    return row === undefined || row.count === 0 ? null : row;
  }

  private _market_stmt: MarketStatements | null = null;
  private get market_stmt(): MarketStatements {
    if (this._market_stmt !== null) return this._market_stmt;
    const db = this.db;
    const candle_sql = (order: string) => `
      WITH b AS (
        -- integer division: parameters may be bound as REAL
        SELECT (CAST(time_ms AS INTEGER) - CAST(@off AS INTEGER)) / CAST(@ms AS INTEGER) AS k, MIN(trade_id) AS f, MAX(trade_id) AS l,
          MAX(price_ticks) AS high, MIN(price_ticks) AS low, SUM(quantity_lots) AS volume_lots,
          SUM(quote_units) AS quote_units, COUNT(*) AS count,
          SUM(CASE WHEN is_buyer = 1 THEN quantity_lots ELSE 0 END) AS taker_buy_lots,
          SUM(CASE WHEN is_buyer = 1 THEN quote_units ELSE 0 END) AS taker_buy_quote_units
        FROM trades WHERE market = @market AND is_maker = 0 AND time_ms >= @start AND time_ms <= @end
        GROUP BY k ORDER BY k ${order} LIMIT @limit)
      SELECT b.k * @ms + @off AS open_ms, o.price_ticks AS open, b.high, b.low, c.price_ticks AS close,
        b.volume_lots, b.quote_units, b.count, b.taker_buy_lots, b.taker_buy_quote_units
      FROM b JOIN trades o ON o.market = @market AND o.trade_id = b.f AND o.is_maker = 0
             JOIN trades c ON c.market = @market AND c.trade_id = b.l AND c.is_maker = 0
      ORDER BY b.k ${order}`;
    const asc = db.prepare(candle_sql("ASC"));
    const desc = db.prepare(candle_sql("DESC"));
    this._market_stmt = {
      from: db.prepare(`SELECT * FROM trades WHERE market = ? AND is_maker = 0 AND trade_id >= ?
        AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id LIMIT ?`),
      recent: db.prepare(`SELECT * FROM (SELECT * FROM trades WHERE market = ? AND is_maker = 0
        AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id DESC LIMIT ?) ORDER BY trade_id`),
      candles: (recent: boolean) => (recent ? desc : asc),
      stats: db.prepare(`
        WITH w AS (SELECT * FROM trades WHERE market = @market AND is_maker = 0 AND time_ms >= @start AND time_ms <= @end)
        SELECT COUNT(*) AS count, MIN(trade_id) AS first_id, MAX(trade_id) AS last_id, MAX(time_ms) AS last_ms,
          MAX(price_ticks) AS high, MIN(price_ticks) AS low, SUM(quantity_lots) AS volume_lots,
          SUM(quote_units) AS quote_units,
          (SELECT price_ticks FROM w ORDER BY trade_id LIMIT 1) AS open,
          (SELECT price_ticks FROM w ORDER BY trade_id DESC LIMIT 1) AS last,
          (SELECT quantity_lots FROM w ORDER BY trade_id DESC LIMIT 1) AS last_lots
        FROM w`),
    };
    return this._market_stmt;
  }

  /**
   * Writes a consistent copy of the database to `file` (SQLite's online backup, a few pages per turn
   * of the event loop, so the node keeps serving) for a peer to bootstrap from (cluster/peer.ts).
   * Returns the last sequence flushed before the copy began; the copy holds at least that much.
   */
  async backup(file: string): Promise<number> {
    this.flush();
    const seq = this.applied_seq;
    await this.db.backup(file);
    return seq;
  }

  close(): void {
    this.flush();
    // The worker closes its connection when told; the database is consistent either way.
    this.checkpointer.postMessage({ type: "stop" });
    this.db.close();
  }
}
