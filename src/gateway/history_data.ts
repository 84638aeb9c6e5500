/**
 * Public trade history in Binance's shapes, from the history projection: trades, aggTrades (each
 * trade is its own aggregate: Holdfast does not merge fills), klines for every Binance interval, and
 * the 24-hour ticker. Prices and sums are exact: integers scaled by the market's tick and step.
 */
import { scaled_text } from "../engine/config.js";
import { parse_decimal } from "../engine/decimal.js";
import type { Engine } from "../engine/engine.js";
import type { Market } from "../engine/market.js";
import {
  type Agg,
  type Buckets,
  fixed_buckets,
  type History,
  month_buckets,
} from "../projections/history.js";
import { market_format, RawJson } from "./history_json.js";
import { book_ticker, pad8, price_str, qty_str } from "./market_data.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** 1970-01-05, the first Monday after the epoch: Binance's weeks start on Monday 00:00 UTC. */
const MONDAY_OFFSET_MS = 4 * DAY;

export const INTERVALS: Record<string, number> = {
  "1s": 1000,
  "1m": MINUTE,
  "3m": 3 * MINUTE,
  "5m": 5 * MINUTE,
  "15m": 15 * MINUTE,
  "30m": 30 * MINUTE,
  "1h": HOUR,
  "2h": 2 * HOUR,
  "4h": 4 * HOUR,
  "6h": 6 * HOUR,
  "8h": 8 * HOUR,
  "12h": 12 * HOUR,
  "1d": DAY,
  "3d": 3 * DAY,
  "1w": 7 * DAY,
  "1M": 0, // calendar months, merged from days
};

const quote_str = (e: Engine, m: Market, units: number | bigint): string =>
  pad8(scaled_text(BigInt(units), e.assets[m.config.quote].decimals));

/**
 * Binance's `timeZone` (klines, uiKlines): hours, or hours and minutes, from -12:00 to +14:00
 * ("8", "-1:00", "05:45"), as milliseconds east of UTC; null if it is not one.
 */
export function parse_time_zone(text: string): number | null {
  const m = /^([+-]?)(\d{1,2})(?::(\d{2}))?$/.exec(text);
  if (m === null) return null;
  const minutes = Number(m[3] ?? "0");
  if (minutes >= 60) return null;
  const total_min = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + minutes);
  if (total_min < -12 * 60 || total_min > 14 * 60) return null;
  return total_min * MINUTE;
}

/** How `interval` cuts time in a zone `zone_ms` east of UTC (weeks start on Monday, local). */
export function interval_buckets(interval: string, zone_ms: number): Buckets {
  if (interval === "1M") return month_buckets(zone_ms);
  const ms = INTERVALS[interval];
  const base_ms = interval === "1w" ? MONDAY_OFFSET_MS : 0;
  return fixed_buckets(ms, base_ms - zone_ms);
}

export interface KlineQuery {
  start_ms?: number;
  end_ms?: number;
  limit: number;
  now_ms: number;
  /** Binance's timeZone, in ms east of UTC. */
  zone_ms?: number;
}

/**
 * Klines as Binance's: the buckets opening in [startTime, endTime] (endTime at most now), whole, and
 * the quiet ones at the previous close with volume 0.
 */
export async function kline_candles(m: Market, history: History, interval: string, q: KlineQuery) {
  const { buckets, range } = kline_request(interval, q);
  return { buckets, candles: await history.klines(m.id, buckets, range) };
}

/** Klines as kline_candles chooses them, in Binance's JSON, made on the history's reader thread. */
export async function klines(e: Engine, m: Market, history: History, interval: string, q: KlineQuery) {
  const { buckets, range } = kline_request(interval, q);
  return new RawJson(await history.klines_text(m.id, buckets, range, market_format(e, m)));
}

/** The buckets of `interval` in the query's zone, and the range read: endTime at most now. */
function kline_request(interval: string, q: KlineQuery) {
  const buckets = interval_buckets(interval, q.zone_ms ?? 0);
  const end_ms = Math.min(q.end_ms ?? q.now_ms, q.now_ms);
  return { buckets, range: { start_ms: q.start_ms, end_ms, limit: q.limit } };
}

/** Volume-weighted average price of the trades in `s`, 8 decimals, rounded down (exact integers). */
function weighted_price(m: Market, s: Agg): string {
  const tick = parse_decimal(m.config.add_market.tick_size);
  if (tick === null) throw new Error(`market ${m.config.symbol}: tick size does not parse`);
  // average price = quote / (lots × quote units per tick-lot) ticks, to 8 decimals of the price
  const denominator = BigInt(s.volume_lots) * BigInt(m.config.quote_units_per_tick_lot);
  const avg_ticks_e8 = (BigInt(s.quote_units) * 10n ** 8n) / denominator;
  const scale = 8 + tick.scale;
  return pad8(scaled_text((avg_ticks_e8 * tick.digits) / 10n ** BigInt(scale - 8), 8));
}

const AVG_PRICE_MINS = 5;

/** GET /api/v3/avgPrice: the volume-weighted price of the last 5 minutes' trades. */
export async function avg_price(m: Market, history: History, now_ms: number) {
  const s = await history.stats(m.id, now_ms - AVG_PRICE_MINS * 60_000, now_ms);
  // no trade in the window: Binance answers the last price; closeTime is the last trade's time
  if (s === null) return { mins: AVG_PRICE_MINS, price: price_str(m, m.last_price_ticks), closeTime: 0 };
  return { mins: AVG_PRICE_MINS, price: weighted_price(m, s), closeTime: s.close_ms };
}

/**
 * How long a window's statistics are served again while its market has not traded since (Binance's
 * tickers come from memory too). A request for every market, or for one market a hundred times
 * over, would otherwise read each window's candles again (~1 ms a market on the history's reader thread).
 */
const STATS_REUSE_MS = 1000;
type WindowStats = Awaited<ReturnType<typeof compute_window_stats>>;
const reused = new WeakMap<
  History,
  Map<string, { open_ms: number; at_ms: number; next_trade_id: number; stats: WindowStats }>
>();

/**
 * Price statistics of [open_ms, close_ms] in Binance's fields, reused as STATS_REUSE_MS says. A
 * sliding window's reuse may have opened up to a second earlier; a calendar window (`fixed_open`: the
 * trading day) is never reused across its start, or the first second of a day would report the last.
 */
async function window_stats(
  e: Engine,
  m: Market,
  history: History,
  open_ms: number,
  close_ms: number,
  key: string,
  fixed_open = false,
) {
  let cache = reused.get(history);
  if (cache === undefined) {
    cache = new Map();
    reused.set(history, cache);
  }
  const id = `${m.id} ${key}`;
  const hit = cache.get(id);
  if (
    hit !== undefined &&
    (!fixed_open || hit.open_ms === open_ms) &&
    hit.next_trade_id === m.next_trade_id &&
    close_ms >= hit.at_ms &&
    close_ms - hit.at_ms < STATS_REUSE_MS
  )
    return hit.stats;
  const trade_id = m.next_trade_id; // before the read: a trade meanwhile makes the next request read again
  const stats = await compute_window_stats(e, m, history, open_ms, close_ms);
  cache.set(id, { open_ms, at_ms: close_ms, next_trade_id: trade_id, stats });
  return stats;
}

/** Price statistics of [open_ms, close_ms] in Binance's fields (MINI: without change and average). */
async function compute_window_stats(
  e: Engine,
  m: Market,
  history: History,
  open_ms: number,
  close_ms: number,
) {
  const s = await history.stats(m.id, open_ms, close_ms);
  const zero = "0.00000000";
  let change = zero;
  let percent = "0.000";
  let weighted = zero;
  if (s !== null) {
    const diff = BigInt(s.close - s.open);
    change = (diff < 0n ? "-" : "") + price_str(m, Math.abs(s.close - s.open));
    // percent with 3 decimals, rounded half away from zero
    const milli = (diff * 100_000n * 2n + (diff < 0n ? -1n : 1n) * BigInt(s.open)) / (2n * BigInt(s.open));
    const abs = milli < 0n ? -milli : milli;
    percent = (milli < 0n ? "-" : "") + scaled_text(abs, 3);
    weighted = weighted_price(m, s);
  }
  return {
    change: { priceChange: change, priceChangePercent: percent, weightedAvgPrice: weighted },
    last_qty: s === null ? zero : qty_str(m, s.close_lots),
    mini: {
      openPrice: s === null ? zero : price_str(m, s.open),
      highPrice: s === null ? zero : price_str(m, s.high),
      lowPrice: s === null ? zero : price_str(m, s.low),
      lastPrice: s === null ? price_str(m, m.last_price_ticks) : price_str(m, s.close),
      volume: s === null ? zero : qty_str(m, s.volume_lots),
      quoteVolume: s === null ? zero : quote_str(e, m, s.quote_units),
      openTime: open_ms,
      closeTime: close_ms,
      firstId: s === null ? -1 : s.first_id,
      lastId: s === null ? -1 : s.last_id,
      count: s === null ? 0 : s.count,
    },
  };
}

/** GET /api/v3/ticker/24hr: the last 24 hours to the millisecond, with the book's best prices. */
export async function ticker_24hr(e: Engine, m: Market, history: History, now_ms: number) {
  const open_ms = now_ms - DAY;
  const [w, before] = await Promise.all([
    window_stats(e, m, history, open_ms, now_ms, "24h"),
    history.last_price_before(m.id, open_ms), // only this ticker reports it
  ]);
  const book = book_ticker(e, m); // the book's best prices move without trades: never reused
  const { openPrice, highPrice, lowPrice, lastPrice, volume, quoteVolume, ...rest } = w.mini;
  return {
    symbol: m.config.symbol,
    ...w.change,
    // the last trade's price before the window (Binance's previous window's close)
    prevClosePrice: before === null ? "0.00000000" : price_str(m, before),
    lastPrice,
    lastQty: w.last_qty,
    bidPrice: book.bidPrice,
    bidQty: book.bidQty,
    askPrice: book.askPrice,
    askQty: book.askQty,
    openPrice,
    highPrice,
    lowPrice,
    volume,
    quoteVolume,
    ...rest,
  };
}

/** GET /api/v3/ticker/24hr?type=MINI. */
export async function ticker_24hr_mini(e: Engine, m: Market, history: History, now_ms: number) {
  return {
    symbol: m.config.symbol,
    ...(await window_stats(e, m, history, now_ms - DAY, now_ms, "24h")).mini,
  };
}

/** Binance's rolling-window sizes (GET /api/v3/ticker windowSize): 1m-59m, 1h-23h, 1d-7d. */
export function window_size_ms(text: string): number | null {
  const match = /^([1-9][0-9]?)([mhd])$/.exec(text);
  if (match === null) return null;
  const n = Number(match[1]);
  const [unit_ms, max] = match[2] === "m" ? [MINUTE, 59] : match[2] === "h" ? [HOUR, 23] : [DAY, 7];
  return n <= max ? n * unit_ms : null;
}

/**
 * GET /api/v3/ticker: statistics of a rolling window. As Binance's, the window opens on the minute
 * (up to 59,999 ms wider than asked) and closes now.
 */
export async function rolling_ticker(
  e: Engine,
  m: Market,
  history: History,
  now_ms: number,
  window_ms: number,
) {
  const w = await rolling_stats(e, m, history, now_ms, window_ms);
  const { openPrice, highPrice, lowPrice, lastPrice, ...rest } = w.mini;
  return { symbol: m.config.symbol, ...w.change, openPrice, highPrice, lowPrice, lastPrice, ...rest };
}

/** GET /api/v3/ticker?type=MINI. */
export async function rolling_ticker_mini(
  e: Engine,
  m: Market,
  history: History,
  now_ms: number,
  window_ms: number,
) {
  return { symbol: m.config.symbol, ...(await rolling_stats(e, m, history, now_ms, window_ms)).mini };
}

/**
 * GET /api/v3/ticker/tradingDay: the statistics of today so far, the day in the zone `zone_ms` east of
 * UTC; Binance reports the whole day's span as openTime and closeTime.
 */
export async function trading_day_ticker(
  e: Engine,
  m: Market,
  history: History,
  now_ms: number,
  zone_ms: number,
  mini: boolean,
) {
  const open_ms = fixed_buckets(DAY, -zone_ms).of(now_ms);
  const w = await window_stats(e, m, history, open_ms, now_ms, `day ${zone_ms}`, true);
  const { openPrice, highPrice, lowPrice, lastPrice, ...rest } = w.mini;
  const day = { ...rest, openTime: open_ms, closeTime: open_ms + DAY - 1 };
  return mini
    ? { symbol: m.config.symbol, openPrice, highPrice, lowPrice, lastPrice, ...day }
    : { symbol: m.config.symbol, ...w.change, openPrice, highPrice, lowPrice, lastPrice, ...day };
}

function rolling_stats(e: Engine, m: Market, history: History, now_ms: number, window_ms: number) {
  const open_ms = now_ms - window_ms - ((now_ms - window_ms) % MINUTE);
  return window_stats(e, m, history, open_ms, now_ms, `rolling ${window_ms}`);
}
