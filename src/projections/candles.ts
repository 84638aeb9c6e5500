/**
 * Candles kept as trades are written, so that klines, tickers and the average price read a bounded
 * number of rows however busy a market has been. Before, every one of those reads aggregated the
 * trades themselves on the node's thread: with 2,000,000 trades in a day, one GET ticker/24hr took
 * 2.6 s and a recent 1m klines 1.0 s (measured), and the @ticker stream asks for the ticker every
 * second, so a busy market would have frozen its own exchange.
 *
 * Five levels (1 s, 1 min, 15 min, 1 h, 1 day, aligned to the epoch) are folded in by the history's writer
 * thread in the same transaction as the trades (history_writer.ts). Reads:
 * - statistics over any [start, end] (`range`) split the range into whole days, hours, minutes and
 *   seconds and read the trades only for the partial seconds at its two ends: exact to the
 *   millisecond, ~250 rows for a 24-hour window;
 * - klines (`klines`) are at most `limit` whole buckets, each from the coarsest level that divides
 *   it (or, for a time zone finer than the interval's level, summed as a range); buckets without
 *   trades are filled at the previous close, as Binance's.
 * Sums are read as BigInt: a day's quote volume in an asset's smallest unit can pass 2^53.
 */
import type Database from "better-sqlite3";
import { assert } from "../engine/assert.js";

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/**
 * Finest first. Each divides the next, and every Binance interval and the week's offset. The 15-minute
 * level serves 15m/30m klines and the zones of :30 and :45 (an hour in UTC+5:45 is 4 rows, not 60).
 */
export const CANDLE_LEVELS_MS: readonly number[] = [SECOND_MS, MINUTE_MS, 15 * MINUTE_MS, HOUR_MS, DAY_MS];
/**
 * The levels' version in the history's meta table ('candles'): a history folded with fewer levels
 * gets the new ones built from its trades when opened (version 2 added the 15-minute level).
 */
export const CANDLES_VERSION = 2;

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

const SUMS = ["volume_lots", "quote_units", "taker_buy_lots", "taker_buy_quote_units"] as const;
type Sums = (typeof SUMS)[number];

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
 * Fills the candles of a history written before they existed, or before some of their levels did,
 * from its trades (once, when such a file is opened; seconds for millions of trades): rows already
 * folded are left as they are (CANDLE_UPSERT_SQL's guard), missing ones are made. Runs inside the
 * caller's transaction.
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

/**
 * How a kline interval cuts time: where the bucket holding a moment opens, where the next one
 * opens, and the coarsest candle level none of its buckets straddles (with how many of that level's
 * rows a bucket holds at most, to choose between one scan and a sum per bucket).
 */
export interface Buckets {
  of(time_ms: number): number;
  next(open_ms: number): number;
  level: number;
  rows_per_bucket: number;
  /** What made it (functions do not cross to the reader thread; this does: `buckets_of`). */
  spec: BucketsSpec;
}

export type BucketsSpec =
  | { kind: "fixed"; interval_ms: number; offset_ms: number }
  | { kind: "month"; zone_ms: number };

/** The buckets `spec` describes. */
export function buckets_of(spec: BucketsSpec): Buckets {
  return spec.kind === "fixed"
    ? fixed_buckets(spec.interval_ms, spec.offset_ms)
    : month_buckets(spec.zone_ms);
}

/** The coarsest level whose step divides every given span. */
function level_dividing(...spans_ms: number[]): number {
  let level = CANDLE_LEVELS_MS.length - 1;
  while (spans_ms.some((span) => span % CANDLE_LEVELS_MS[level] !== 0)) level--;
  assert(level >= 0, `no candle level divides ${spans_ms.join(", ")} ms`);
  return level;
}

/** Buckets of `interval_ms` aligned to the epoch plus `offset_ms` (a week's Monday, a time zone). */
export function fixed_buckets(interval_ms: number, offset_ms: number): Buckets {
  assert(interval_ms > 0 && Number.isSafeInteger(interval_ms), `interval ${interval_ms} ms`);
  const level = level_dividing(interval_ms, offset_ms);
  return {
    of: (t) => floor_to(t - offset_ms, interval_ms) + offset_ms,
    next: (open_ms) => open_ms + interval_ms,
    level,
    rows_per_bucket: interval_ms / CANDLE_LEVELS_MS[level],
    spec: { kind: "fixed", interval_ms, offset_ms },
  };
}

/** Calendar months in a time zone `zone_ms` east of UTC (Binance's 1M interval). */
export function month_buckets(zone_ms: number): Buckets {
  const level = level_dividing(zone_ms, DAY_MS);
  const month_start = (local_ms: number, months_after: number): number => {
    const d = new Date(local_ms);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months_after, 1) - zone_ms;
  };
  return {
    of: (t) => month_start(t + zone_ms, 0),
    next: (open_ms) => month_start(open_ms + zone_ms, 1),
    level,
    rows_per_bucket: (31 * DAY_MS) / CANDLE_LEVELS_MS[level],
    spec: { kind: "month", zone_ms },
  };
}

/**
 * How a kline's level rows are read: up to this many a bucket, each row into JavaScript (one pass);
 * up to SUM_ROWS_PER_BUCKET_MAX, summed by SQLite per bucket; above (a zone offset finer than the
 * interval: a day cut at 18:15 UTC is 1,440 minute rows), as a range of whole hours and the minutes at
 * its ends. Measured: docs/BENCHMARKS.md, "History reads".
 */
const READ_ROWS_PER_BUCKET_MAX = 4;
const SUM_ROWS_PER_BUCKET_MAX = 200;

/** A kline without trades: Binance's, volume 0 at the previous close. No trade ids or time (-1). */
function quiet_candle(open_ms: number, price_ticks: number): Candle {
  return {
    open_ms,
    count: 0,
    first_id: -1,
    last_id: -1,
    open: price_ticks,
    high: price_ticks,
    low: price_ticks,
    close: price_ticks,
    close_lots: 0,
    close_ms: -1,
    volume_lots: 0n,
    quote_units: 0n,
    taker_buy_lots: 0n,
    taker_buy_quote_units: 0n,
  };
}

/** Reads candles and statistics on a reading connection (the history's reader thread: history_reader.ts). */
export class CandleReader {
  private readonly rows_between: Database.Statement;
  private readonly sum_between: Database.Statement;
  private readonly trades_between: Database.Statement;
  private readonly first_trade: Database.Statement;
  private readonly price_before: Database.Statement;

  constructor(db: Database.Database) {
    this.rows_between = db
      .prepare(`SELECT * FROM candles WHERE market = ? AND interval_ms = ? AND open_ms >= ? AND open_ms < ?
        ORDER BY open_ms`)
      .safeIntegers(true);
    this.trades_between = db
      .prepare(`SELECT trade_id, price_ticks, quantity_lots, quote_units, time_ms, is_buyer FROM trades
        WHERE market = ? AND is_maker = 0 AND time_ms >= ? AND time_ms < ? ORDER BY trade_id`)
      .raw();
    // The rows of a span summed by SQLite: reading a row into JavaScript costs ~2-4 µs here (16
    // columns), summing it in SQLite a fraction of that. Sums are split at bit 24 so that neither
    // half can overflow SQLite's 64-bit SUM (a month of a busy market's quote units might); the
    // first row's open and the last row's close are read by the primary key.
    const span =
      "FROM candles WHERE market = @market AND interval_ms = @step AND open_ms >= @from AND open_ms < @to";
    const split = (c: string) => `SUM(${c} >> 24) AS ${c}_hi, SUM(${c} & 16777215) AS ${c}_lo`;
    this.sum_between = db
      .prepare(`SELECT SUM(count) AS count, MIN(first_id) AS first_id, MAX(last_id) AS last_id,
        MAX(high) AS high, MIN(low) AS low, ${SUMS.map(split).join(", ")},
        (SELECT open ${span} ORDER BY open_ms LIMIT 1) AS open,
        (SELECT close || ' ' || close_lots || ' ' || close_ms ${span} ORDER BY open_ms DESC LIMIT 1) AS last
        ${span}`)
      .safeIntegers(true);
    // both on trades_by_time (market, is_maker, time_ms)
    this.first_trade = db.prepare(`SELECT time_ms FROM trades WHERE market = ? AND is_maker = 0
      ORDER BY time_ms LIMIT 1`);
    this.price_before = db.prepare(`SELECT price_ticks FROM trades WHERE market = ? AND is_maker = 0
      AND time_ms < ? ORDER BY time_ms DESC, trade_id DESC LIMIT 1`);
  }

  /** The rows of `level` opening in [from_ms, to_ms) folded into one, or null if there are none. */
  private sum(market: number, level: number, from_ms: number, to_ms: number): Agg | null {
    const step = CANDLE_LEVELS_MS[level];
    const r = this.sum_between.get({ market, step, from: from_ms, to: to_ms }) as Row & { last: string };
    if (r.count === null) return null;
    const [close, close_lots, close_ms] = r.last.split(" ").map(Number);
    const whole = (c: Sums) => (r[`${c}_hi`] << 24n) + r[`${c}_lo`];
    return {
      count: Number(r.count),
      first_id: Number(r.first_id),
      last_id: Number(r.last_id),
      open: Number(r.open),
      high: Number(r.high),
      low: Number(r.low),
      close,
      close_lots,
      close_ms,
      volume_lots: whole("volume_lots"),
      quote_units: whole("quote_units"),
      taker_buy_lots: whole("taker_buy_lots"),
      taker_buy_quote_units: whole("taker_buy_quote_units"),
    };
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
    const middle = this.sum(market, level, whole_from, whole_to);
    if (middle !== null) fold(middle);
    this.cover(market, whole_to, b, level - 1, acc);
  }

  /**
   * Binance's klines (`GET /api/v3/klines`): every bucket whose open time is in [start_ms, end_ms],
   * from the bucket of the market's first trade on, each whole (Binance identifies a kline by its
   * open time, so a start or end inside a bucket neither cuts it nor includes it early). A bucket
   * without trades is a candle of volume 0 at the previous close, as Binance's are: a chart of a
   * quiet market has no holes. With a start, the first `limit`; without, the most recent `limit`.
   * Oldest first. Work is bounded by `limit` buckets whatever the window.
   */
  klines(market: number, b: Buckets, q: { start_ms?: number; end_ms: number; limit: number }): Candle[] {
    const first = this.first_trade.get(market) as { time_ms: number } | undefined;
    if (first === undefined || q.limit <= 0) return [];
    let lo = b.of(first.time_ms);
    if (q.start_ms !== undefined) {
      const s = b.of(q.start_ms);
      lo = Math.max(lo, s === q.start_ms ? s : b.next(s));
    }
    const hi = b.of(q.end_ms);
    const opens: number[] = [];
    if (q.start_ms !== undefined)
      for (let o = lo; o <= hi && opens.length < q.limit; o = b.next(o)) opens.push(o);
    else {
      for (let o = hi; o >= lo && opens.length < q.limit; o = b.of(o - 1)) opens.push(o);
      opens.reverse();
    }
    if (opens.length === 0) return [];
    const ends = opens.map((o, i) => (i + 1 < opens.length ? opens[i + 1] : b.next(o)));

    const aggs: (Agg | null)[] = opens.map(() => null);
    if (b.rows_per_bucket <= READ_ROWS_PER_BUCKET_MAX) {
      // one pass over the level's rows: none straddles two buckets (the level divides them)
      let i = 0;
      const rows = this.rows_between.iterate(
        market,
        CANDLE_LEVELS_MS[b.level],
        opens[0],
        ends[ends.length - 1],
      );
      for (const row of rows as Iterable<Row>) {
        const t = Number(row.open_ms);
        while (t >= ends[i]) i++;
        const a = aggs[i];
        if (a === null) aggs[i] = agg_of(row);
        else merge(a, agg_of(row));
      }
    } else if (b.rows_per_bucket <= SUM_ROWS_PER_BUCKET_MAX) {
      for (let i = 0; i < opens.length; i++) aggs[i] = this.sum(market, b.level, opens[i], ends[i]);
    } else {
      // a zone offset finer than the interval's level (a day starting at 18:15 UTC): whole hours and
      // the minutes at each end, per bucket, rather than every minute row of the day
      for (let i = 0; i < opens.length; i++) aggs[i] = this.range(market, opens[i], ends[i]);
    }

    const out: Candle[] = [];
    let previous_close: number | null = null;
    if (aggs[0] === null) {
      const row = this.price_before.get(market, opens[0]) as { price_ticks: number } | undefined;
      previous_close = row?.price_ticks ?? null;
    }
    for (let i = 0; i < opens.length; i++) {
      const a = aggs[i];
      if (a !== null) {
        out.push({ open_ms: opens[i], ...a });
        previous_close = a.close;
        continue;
      }
      // a bucket at or after the first trade's has one before it, or trades itself
      assert(previous_close !== null, `klines: no close before ${opens[i]} on market ${market}`);
      out.push(quiet_candle(opens[i], previous_close));
    }
    return out;
  }

  /** The price of the market's last trade before time_ms, or null. */
  last_price_before(market: number, time_ms: number): number | null {
    const row = this.price_before.get(market, time_ms) as { price_ticks: number } | undefined;
    return row?.price_ticks ?? null;
  }
}
