/**
 * Binance's Price Range Execution Rule for one market (docs/ENGINE.md "Price range"): a reference
 * price, the arithmetic mean of trade prices over a moving window kept in time buckets, and the
 * PRICE_RANGE multipliers a taker's trades must stay within around it. Binance's FAQ ("How does
 * the Matching Engine calculate the reference price?"): each trade adds its price to the bucket of
 * its time (open time aligned to the bucket width); buckets whose close time has left the window
 * are dropped; the oldest bucket, straddling the window's start (the cutoff), counts prorated; the
 * reference is the buckets' total sum over their total trade count, truncating integer division,
 * counts in fixed point with four decimals.
 *
 * One deliberate difference: Binance prorates the oldest bucket by changing it (its counts reduced,
 * its open time set to the cutoff) whenever it computes, so its result depends on when it last
 * computed; here the bucket is kept whole and prorated by the part of it still in the window each
 * time, so the reference is a function of the trades and the time alone (a query cannot change it,
 * and every replica agrees). Both give the same result the first time a bucket is prorated.
 *
 * Deterministic, no clock: times come from commands. Exact integers throughout; BigInt only where a
 * product can pass 2^53 (the mean of a busy window, a band's bounds), and results are cached until
 * the next trade or a later time.
 */
import { assert } from "./assert.js";

/** Fixed-point scale of the multipliers, of a bucket's weight and of the reference price (4 decimals). */
export const E4 = 10_000;
export const REFERENCE_BUCKETS_MAX = 1000;
export const REFERENCE_BUCKET_WIDTH_MS_MAX = 3_600_000;
/** Upper multipliers up to 1000 (10^7 in E4); lower ones at most 1 (a bound must be below the reference). */
export const RANGE_UP_E4_MAX = 1000 * E4;

/** Binance's defaults as seen on BTCUSDT-like symbols: 80 buckets of 3,750 ms, a 5-minute window. */
export const REFERENCE_BUCKETS_DEFAULT = 80;
export const REFERENCE_BUCKET_WIDTH_MS_DEFAULT = 3750;

export interface PriceRangeConfig {
  bucket_count: number;
  bucket_width_ms: number;
  /** Multipliers in 1/10,000 (Binance shows four decimals); 0: not set, that bound not enforced. */
  bid_up_e4: number;
  bid_down_e4: number;
  ask_up_e4: number;
  ask_down_e4: number;
}

/** Why a configuration is refused, or null. */
export function validate_price_range(c: PriceRangeConfig): string | null {
  const int = (v: number) => Number.isSafeInteger(v) && v >= 0;
  if (!int(c.bucket_count) || c.bucket_count < 1 || c.bucket_count > REFERENCE_BUCKETS_MAX)
    return `bucket_count must be 1..${REFERENCE_BUCKETS_MAX}`;
  if (!int(c.bucket_width_ms) || c.bucket_width_ms < 1 || c.bucket_width_ms > REFERENCE_BUCKET_WIDTH_MS_MAX)
    return `bucket_width_ms must be 1..${REFERENCE_BUCKET_WIDTH_MS_MAX}`;
  for (const up of [c.bid_up_e4, c.ask_up_e4])
    if (!int(up) || (up !== 0 && (up < E4 || up > RANGE_UP_E4_MAX)))
      return "an up multiplier must be 0 (not set) or 1.0000..1000.0000";
  for (const down of [c.bid_down_e4, c.ask_down_e4])
    if (!int(down) || down > E4) return "a down multiplier must be 0 (not set) up to 1.0000";
  return null;
}

/** floor(a × b / d) exactly, for non-negative safe integers (BigInt only when a × b passes 2^53). */
export function mul_div_floor(a: number, b: number, d: number): number {
  const p = a * b;
  if (p <= Number.MAX_SAFE_INTEGER) {
    // the float quotient can round up across an integer: correct it with exact products
    let q = Math.floor(p / d);
    if (q * d > p) q--;
    else if ((q + 1) * d <= p) q++;
    return q;
  }
  return Number((BigInt(a) * BigInt(b)) / BigInt(d));
}

/** ceil(a × b / d) exactly, as mul_div_floor. */
export function mul_div_ceil(a: number, b: number, d: number): number {
  const q = mul_div_floor(a, b, d);
  const p = a * b;
  if (p <= Number.MAX_SAFE_INTEGER) return q * d === p ? q : q + 1;
  return BigInt(q) * BigInt(d) === BigInt(a) * BigInt(b) ? q : q + 1;
}

export class PriceRange {
  readonly config: PriceRangeConfig;
  /** Ring of bucket_count + 1 buckets by (open time / width) mod length; open -1: empty. */
  readonly open_ms: number[];
  readonly trades: number[];
  readonly sum_ticks: number[];
  /** Changes with every recorded trade: the cache below is for one (time, version). */
  private version = 0;
  private cached_at_ms = -1;
  private cached_version = -1;
  private cached_e4 = 0;

  constructor(config: PriceRangeConfig) {
    assert(validate_price_range(config) === null, "price range configuration is valid");
    this.config = { ...config };
    const n = config.bucket_count + 1;
    this.open_ms = new Array<number>(n).fill(-1);
    this.trades = new Array<number>(n).fill(0);
    this.sum_ticks = new Array<number>(n).fill(0);
  }

  /**
   * Scratch set by execution_bounds: the lowest and highest price a taker may trade at (ticks), from
   * the reference at the start of its taker phase (Binance: "the reference price is recalculated to
   * set the execution price limits for the order's entire taker phase").
   */
  lo_ticks = 0;
  hi_ticks = Number.MAX_SAFE_INTEGER;
  /** Percent price bounds per side (PERCENT_PRICE_BY_SIDE against the reference), cached as the mean. */
  private readonly pct_at_ms = [-1, -1];
  private readonly pct_version = [-1, -1];
  private readonly pct_lo = [0, 0];
  private readonly pct_hi = [0, 0];

  /**
   * Sets lo_ticks / hi_ticks for a taker (buy: the bid multipliers) at `now_ms`; false if the rule
   * is not enforced now (no reference price, or neither multiplier of the side set).
   */
  execution_bounds(buy: boolean, now_ms: number): boolean {
    const c = this.config;
    const up = buy ? c.bid_up_e4 : c.ask_up_e4;
    const down = buy ? c.bid_down_e4 : c.ask_down_e4;
    this.lo_ticks = 0;
    this.hi_ticks = Number.MAX_SAFE_INTEGER;
    if (up === 0 && down === 0) return false;
    const ref = this.reference_e4(now_ms);
    if (ref === 0) return false;
    // price × 10^8 <= ref_e4 × up_e4, price × 10^8 >= ref_e4 × down_e4
    if (up !== 0) this.hi_ticks = mul_div_floor(ref, up, E4 * E4);
    if (down !== 0) this.lo_ticks = mul_div_ceil(ref, down, E4 * E4);
    return true;
  }

  /**
   * Whether a limit price lies in the PERCENT_PRICE_BY_SIDE band [ref × down, ref × up] (multipliers
   * in parts per million) around the reference price now; null if there is no reference price (the
   * caller falls back to the last price, as Binance's filters do).
   */
  in_percent_band(
    side: number,
    price_ticks: number,
    up_ppm: number,
    down_ppm: number,
    now_ms: number,
  ): boolean | null {
    const ref = this.reference_e4(now_ms);
    if (ref === 0) return null;
    if (this.pct_at_ms[side] !== now_ms || this.pct_version[side] !== this.version) {
      // price × 10^4 × 10^6 <= ref_e4 × up_ppm
      this.pct_hi[side] = mul_div_floor(ref, up_ppm, E4 * 1_000_000);
      this.pct_lo[side] = mul_div_ceil(ref, down_ppm, E4 * 1_000_000);
      this.pct_at_ms[side] = now_ms;
      this.pct_version[side] = this.version;
    }
    return price_ticks >= this.pct_lo[side] && price_ticks <= this.pct_hi[side];
  }

  /** Same calculation (bucket count and width): the buckets can be kept when only multipliers change. */
  same_calculation(c: PriceRangeConfig): boolean {
    return c.bucket_count === this.config.bucket_count && c.bucket_width_ms === this.config.bucket_width_ms;
  }

  /** Takes over another's buckets (same calculation; the multipliers changed). */
  keep_buckets(from: PriceRange): void {
    assert(this.same_calculation(from.config), "same calculation");
    for (let i = 0; i < this.open_ms.length; i++)
      this.set_bucket(i, from.open_ms[i], from.trades[i], from.sum_ticks[i]);
  }

  /** @internal snapshot restore and keep_buckets. */
  set_bucket(i: number, open_ms: number, trades: number, sum_ticks: number): void {
    this.open_ms[i] = open_ms;
    this.trades[i] = trades;
    this.sum_ticks[i] = sum_ticks;
    this.version++;
  }

  /** A trade at `price_ticks` at `now_ms` (never earlier than the last one). */
  record(price_ticks: number, now_ms: number): void {
    const width = this.config.bucket_width_ms;
    const open = now_ms - (now_ms % width);
    const i = Math.floor(open / width) % this.open_ms.length;
    if (this.open_ms[i] !== open) {
      // the slot's bucket, if any, is a whole ring older: out of the window
      this.open_ms[i] = open;
      this.trades[i] = 0;
      this.sum_ticks[i] = 0;
    }
    // A bucket's sum stays exact: passing 2^53 would take billions of trades in one bucket at the
    // highest prices a market allows; such a trade would be left out of the mean, not mis-added.
    const sum = this.sum_ticks[i] + price_ticks;
    if (sum > Number.MAX_SAFE_INTEGER) return;
    this.sum_ticks[i] = sum;
    this.trades[i]++;
    this.version++;
  }

  /**
   * The reference price at `now_ms` in ticks with four more decimals (ticks × 10^4), 0 if none (no
   * trade in the window). Changes nothing.
   */
  reference_e4(now_ms: number): number {
    if (now_ms === this.cached_at_ms && this.version === this.cached_version) return this.cached_e4;
    const { bucket_count, bucket_width_ms: width } = this.config;
    const cutoff = now_ms - bucket_count * width;
    // whole buckets: plain sums (exact while safe); the straddling one: its own weight
    let full_trades = 0;
    let full_sum = 0;
    let old_trades = 0;
    let old_sum = 0;
    let old_weight_e4 = 0;
    let big = false;
    for (let i = 0; i < this.open_ms.length; i++) {
      const open = this.open_ms[i];
      if (open < 0 || open + width <= cutoff || open > now_ms) continue;
      if (open >= cutoff) {
        full_trades += this.trades[i];
        full_sum += this.sum_ticks[i];
        if (full_sum > Number.MAX_SAFE_INTEGER) big = true;
      } else {
        old_trades = this.trades[i];
        old_sum = this.sum_ticks[i];
        // the part of the bucket still in the window, truncated to four decimals
        old_weight_e4 = Math.floor(((open + width - cutoff) * E4) / width);
      }
    }
    let result = 0;
    const count_e4 = full_trades * E4 + old_trades * old_weight_e4;
    if (count_e4 > 0) {
      if (big) {
        // rare: re-add the whole buckets in BigInt
        let s = 0n;
        for (let i = 0; i < this.open_ms.length; i++) {
          const open = this.open_ms[i];
          if (open >= cutoff && open <= now_ms) s += BigInt(this.sum_ticks[i]);
        }
        const e4 = BigInt(E4);
        const num = (s * e4 + BigInt(old_sum) * BigInt(old_weight_e4)) * e4;
        result = Number(num / BigInt(count_e4));
      } else {
        // (full_sum × 10^4 + old_sum × weight) × 10^4 / count_e4, exactly
        const sum_e4 = full_sum * E4 + old_sum * old_weight_e4;
        if (sum_e4 <= Number.MAX_SAFE_INTEGER) result = mul_div_floor(sum_e4, E4, count_e4);
        else {
          const e4 = BigInt(E4);
          const num = (BigInt(full_sum) * e4 + BigInt(old_sum) * BigInt(old_weight_e4)) * e4;
          result = Number(num / BigInt(count_e4));
        }
      }
    }
    this.cached_at_ms = now_ms;
    this.cached_version = this.version;
    this.cached_e4 = result;
    return result;
  }
}
