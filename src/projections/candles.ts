/**
 * Candles kept as trades are written, so that klines, tickers and the average price read a bounded
 * number of rows however busy a market has been. Before, every one of those reads aggregated the
 * trades themselves on the node's thread: with 2,000,000 trades in a day, one GET ticker/24hr took
 * 2.6 s and a recent 1m klines 1.0 s (measured), and the @ticker stream asks for the ticker every
 * second, so a busy market would have frozen its own exchange.
 *
 * Four levels (1 s, 1 min, 1 h, 1 day, aligned to the epoch) are folded in by the history's writer
 * thread in the same transaction as the trades (history_writer.ts). Reads:
 * - statistics over any [start, end] (`range`) split the range into whole days, hours, minutes and
 *   seconds and read the trades only for the partial seconds at its two ends: exact to the
 *   millisecond, ~250 rows for a 24-hour window;
 * - candles of an interval (`candles`) come from the coarsest level that divides it, stopping once
 *   `limit` buckets are complete; a bucket cut by the requested start or end is recomputed exactly.
 * Sums are read as BigInt: a day's quote volume in an asset's smallest unit can pass 2^53.
 */
import type Database from "better-sqlite3";

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Finest first. Each divides the next, and every Binance interval and the week's offset. */
export const CANDLE_LEVELS_MS: readonly number[] = [SECOND_MS, MINUTE_MS, HOUR_MS, DAY_MS];

export const CANDLES_SCHEMA = `
  CREATE TABLE IF NOT EXISTS candles (
    market INTEGER NOT NULL, interval_ms INTEGER NOT NULL, open_ms INTEGER NOT NULL,
    open INTEGER NOT NULL, high INTEGER NOT NULL, low INTEGER NOT NULL, close INTEGER NOT NULL,
    close_lots INTEGER NOT NULL, close_ms INTEGER NOT NULL, volume_lots INTEGER NOT NULL,
    quote_units INTEGER NOT NULL, count INTEGER NOT NULL, first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL, taker_buy_lots INTEGER NOT NULL, taker_buy_quote_units INTEGER NOT NULL,
    PRIMARY KEY (market, interval_ms, open_ms)) WITHOUT ROWID;`;

/**
 * Folds a group into its candle row. The WHERE makes it idempotent (DESIGN invariant 5): trades
 * arrive in trade-id order, so a group whose first trade is not after the row's last was folded in
 * already (a batch written twice).
 */
export const CANDLE_UPSERT_SQL = `
  INSERT INTO candles VALUES (@market, @interval_ms, @open_ms, @open, @high, @low, @close, @close_lots,
    @close_ms, @volume_lots, @quote_units, @count, @first_id, @last_id, @taker_buy_lots, @taker_buy_quote_units)
  ON CONFLICT (market, interval_ms, open_ms) DO UPDATE SET
    high = max(high, excluded.high), low = min(low, excluded.low), close = excluded.close,
    close_lots = excluded.close_lots, close_ms = excluded.close_ms,
    volume_lots = volume_lots + excluded.volume_lots, quote_units = quote_units + excluded.quote_units,
    count = count + excluded.count, last_id = excluded.last_id,
    taker_buy_lots = taker_buy_lots + excluded.taker_buy_lots,
    taker_buy_quote_units = taker_buy_quote_units + excluded.taker_buy_quote_units
  WHERE excluded.first_id > candles.last_id`;

/** Trade statistics of a span: a candle without its open time. Sums are exact (BigInt). */
export interface Agg {
  count: number;
  first_id: number;
  last_id: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Quantity and time of the last trade. */
  close_lots: number;
  close_ms: number;
  volume_lots: bigint;
  quote_units: bigint;
  taker_buy_lots: bigint;
  taker_buy_quote_units: bigint;
}

export interface Candle extends Agg {
  open_ms: number;
}

/** `later` folded into `into` (which covers the earlier trades). */
function merge(into: Agg, later: Agg): void {
  into.count += later.count;
  into.last_id = later.last_id;
  if (later.high > into.high) into.high = later.high;
  if (later.low < into.low) into.low = later.low;
  into.close = later.close;
  into.close_lots = later.close_lots;
  into.close_ms = later.close_ms;
  into.volume_lots += later.volume_lots;
  into.quote_units += later.quote_units;
  into.taker_buy_lots += later.taker_buy_lots;
  into.taker_buy_quote_units += later.taker_buy_quote_units;
}

type Sums = "volume_lots" | "quote_units" | "taker_buy_lots" | "taker_buy_quote_units";

/** A group being folded on the writer thread: its sums are numbers, checked to stay safe integers. */
interface Group extends Omit<Agg, Sums>, Record<Sums, number> {
  market: number;
  interval_ms: number;
  open_ms: number;
}

const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Gathers a batch's trades into one group per market, level and bucket (trades come in time order
 * per market, so a bucket once left is not seen again) for CANDLE_UPSERT_SQL.
 */
export class CandleFolder {
  /** market → the open group of each level */
  private readonly open = new Map<number, (Group | null)[]>();
  private done: Group[] = [];

  /** One trade (the taker's row). */
  add(
    market: number,
    trade_id: number,
    price_ticks: number,
    lots: number,
    quote_units: number,
    time_ms: number,
    taker_buys: boolean,
  ): void {
    let groups = this.open.get(market);
    if (groups === undefined) {
      groups = CANDLE_LEVELS_MS.map(() => null);
      this.open.set(market, groups);
    }
    for (let level = 0; level < CANDLE_LEVELS_MS.length; level++) {
      const interval_ms = CANDLE_LEVELS_MS[level];
      const open_ms = time_ms - (time_ms % interval_ms);
      const g = groups[level];
      // a sum that would pass 2^53 is written as it is and a new group begun: the row adds them
      // in SQLite's 64-bit integers
      if (
        g !== null &&
        g.open_ms === open_ms &&
        g.volume_lots + lots <= SAFE &&
        g.quote_units + quote_units <= SAFE
      ) {
        g.count++;
        g.last_id = trade_id;
        if (price_ticks > g.high) g.high = price_ticks;
        if (price_ticks < g.low) g.low = price_ticks;
        g.close = price_ticks;
        g.close_lots = lots;
        g.close_ms = time_ms;
        g.volume_lots += lots;
        g.quote_units += quote_units;
        if (taker_buys) {
          g.taker_buy_lots += lots;
          g.taker_buy_quote_units += quote_units;
        }
        continue;
      }
      if (g !== null) this.done.push(g);
      groups[level] = {
        market,
        interval_ms,
        open_ms,
        open: price_ticks,
        high: price_ticks,
        low: price_ticks,
        close: price_ticks,
        close_lots: lots,
        close_ms: time_ms,
        volume_lots: lots,
        quote_units,
        count: 1,
        first_id: trade_id,
        last_id: trade_id,
        taker_buy_lots: taker_buys ? lots : 0,
        taker_buy_quote_units: taker_buys ? quote_units : 0,
      };
    }
  }

  /** Every group gathered (in the order they must be folded in); the folder starts empty again. */
  take(): Group[] {
    for (const groups of this.open.values()) for (const g of groups) if (g !== null) this.done.push(g);
    this.open.clear();
    const out = this.done;
    this.done = [];
    return out;
  }
}

const BUILD_PAGE_ROWS = 50_000;

/**
 * Fills the candles of a history written before they existed, from its trades (once, when such a file
 * is opened; seconds for millions of trades). Runs inside the caller's transaction.
 */
export function build_candles(db: Database.Database): number {
  const upsert = db.prepare(CANDLE_UPSERT_SQL);
  const folder = new CandleFolder();
  // read a page at a time: a connection cannot write while a statement of it is iterating
  const page = db
    .prepare(`SELECT market, trade_id, price_ticks, quantity_lots, quote_units, time_ms, is_buyer
      FROM trades WHERE is_maker = 0 AND (market, trade_id) > (?, ?) ORDER BY market, trade_id LIMIT ?`)
    .raw();
  let trades = 0;
  let after: [number, number] = [Number.MIN_SAFE_INTEGER, 0];
  for (;;) {
    const rows = page.all(after[0], after[1], BUILD_PAGE_ROWS) as number[][];
    for (const [market, trade_id, price, lots, quote, time_ms, is_buyer] of rows)
      folder.add(market, trade_id, price, lots, quote, time_ms, is_buyer === 1);
    for (const g of folder.take()) upsert.run(g);
    trades += rows.length;
    if (rows.length < BUILD_PAGE_ROWS) break;
    const last = rows[rows.length - 1];
    after = [last[0], last[1]];
  }
  return trades;
}

type Row = Record<string, bigint>;

function agg_of(row: Row): Agg {
  return {
    count: Number(row.count),
    first_id: Number(row.first_id),
    last_id: Number(row.last_id),
    open: Number(row.open),
    high: Number(row.high),
    low: Number(row.low),
    close: Number(row.close),
    close_lots: Number(row.close_lots),
    close_ms: Number(row.close_ms),
    volume_lots: row.volume_lots,
    quote_units: row.quote_units,
    taker_buy_lots: row.taker_buy_lots,
    taker_buy_quote_units: row.taker_buy_quote_units,
  };
}

const floor_to = (t: number, step: number): number => t - (((t % step) + step) % step);
const ceil_to = (t: number, step: number): number => floor_to(t + step - 1, step);

/** Reads candles and statistics on the history's reading connection (the node's thread). */
export class CandleReader {
  private readonly rows_between: Database.Statement;
  private readonly rows_down_from: Database.Statement;
  private readonly trades_between: Database.Statement;

  constructor(db: Database.Database) {
    this.rows_between = db
      .prepare(`SELECT * FROM candles WHERE market = ? AND interval_ms = ? AND open_ms >= ? AND open_ms < ?
        ORDER BY open_ms`)
      .safeIntegers(true);
    this.rows_down_from = db
      .prepare(`SELECT * FROM candles WHERE market = ? AND interval_ms = ? AND open_ms <= ?
        ORDER BY open_ms DESC`)
      .safeIntegers(true);
    this.trades_between = db
      .prepare(`SELECT trade_id, price_ticks, quantity_lots, quote_units, time_ms, is_buyer FROM trades
        WHERE market = ? AND is_maker = 0 AND time_ms >= ? AND time_ms < ? ORDER BY trade_id`)
      .raw();
  }

  /** Statistics of the trades with from_ms ≤ time < to_ms, or null if there were none. */
  range(market: number, from_ms: number, to_ms: number): Agg | null {
    const acc: { agg: Agg | null } = { agg: null };
    this.cover(market, from_ms, to_ms, CANDLE_LEVELS_MS.length - 1, acc);
    return acc.agg;
  }

  /**
   * Folds [a, b) into acc, earliest first: the whole buckets of `level` in the middle, the parts
   * before and after them at the next finer level, and below seconds the trades themselves.
   */
  private cover(market: number, a: number, b: number, level: number, acc: { agg: Agg | null }): void {
    if (a >= b) return;
    const fold = (x: Agg) => {
      if (acc.agg === null) acc.agg = { ...x };
      else merge(acc.agg, x);
    };
    if (level < 0) {
      const rows = this.trades_between.all(market, a, b) as number[][];
      for (const [trade_id, price, lots, quote, time_ms, is_buyer] of rows) {
        const buy = is_buyer === 1;
        fold({
          count: 1,
          first_id: trade_id,
          last_id: trade_id,
          open: price,
          high: price,
          low: price,
          close: price,
          close_lots: lots,
          close_ms: time_ms,
          volume_lots: BigInt(lots),
          quote_units: BigInt(quote),
          taker_buy_lots: buy ? BigInt(lots) : 0n,
          taker_buy_quote_units: buy ? BigInt(quote) : 0n,
        });
      }
      return;
    }
    const step = CANDLE_LEVELS_MS[level];
    const whole_from = ceil_to(a, step);
    const whole_to = floor_to(b, step);
    if (whole_from >= whole_to) {
      this.cover(market, a, b, level - 1, acc);
      return;
    }
    this.cover(market, a, whole_from, level - 1, acc);
    for (const row of this.rows_between.iterate(market, step, whole_from, whole_to) as Iterable<Row>)
      fold(agg_of(row));
    this.cover(market, whole_to, b, level - 1, acc);
  }

  /**
   * Candles of `interval_ms` aligned to the epoch plus `offset_ms` over the trades with
   * start_ms ≤ time ≤ end_ms; buckets without trades are left out. With a start, the first `limit`
   * from it; without, the most recent `limit`. Oldest first.
   */
  candles(
    market: number,
    q: { interval_ms: number; offset_ms: number; start_ms?: number; end_ms?: number; limit: number },
  ): Candle[] {
    const { interval_ms, offset_ms, limit } = q;
    const start = q.start_ms ?? 0;
    const end = Math.min(q.end_ms ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - DAY_MS);
    if (limit <= 0 || start > end) return [];
    let level = CANDLE_LEVELS_MS.length - 1;
    while (interval_ms % CANDLE_LEVELS_MS[level] !== 0 || offset_ms % CANDLE_LEVELS_MS[level] !== 0) level--;
    const step = CANDLE_LEVELS_MS[level];
    const bucket_of = (t: number) => floor_to(t - offset_ms, interval_ms) + offset_ms;

    // The buckets' rows, one bucket more than asked: an edge bucket recomputed below may turn out
    // empty (its rows' trades all outside [start, end]) and the next one is then needed.
    const buckets: { open_ms: number; rows: Agg[] }[] = [];
    const recent = q.start_ms === undefined;
    const rows = recent
      ? this.rows_down_from.iterate(market, step, end)
      : this.rows_between.iterate(market, step, floor_to(start, step), end + 1);
    for (const row of rows as Iterable<Row>) {
      const open_ms = bucket_of(Number(row.open_ms));
      const last = buckets.at(-1);
      if (last !== undefined && last.open_ms === open_ms) last.rows.push(agg_of(row));
      else if (buckets.length === limit + 1) break;
      else buckets.push({ open_ms, rows: [agg_of(row)] });
    }
    if (recent) buckets.reverse();

    const out: Candle[] = [];
    for (const b of buckets) {
      const from_ms = Math.max(start, b.open_ms);
      const to_ms = Math.min(end + 1, b.open_ms + interval_ms);
      let agg: Agg | null;
      if (from_ms === b.open_ms && to_ms === b.open_ms + interval_ms) {
        if (recent) b.rows.reverse();
        agg = { ...b.rows[0] };
        for (let i = 1; i < b.rows.length; i++) merge(agg, b.rows[i]);
      } else agg = this.range(market, from_ms, to_ms); // cut by start or end: exactly
      if (agg !== null) out.push({ open_ms: b.open_ms, ...agg });
    }
    return recent ? out.slice(-limit) : out.slice(0, limit);
  }
}
