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

/** The configuration's fields in the order the journal and snapshots write them. */
export const PRICE_RANGE_KEYS = [
  "bucket_count",
  "bucket_width_ms",
  "bid_up_e4",
  "bid_down_e4",
  "ask_up_e4",
  "ask_down_e4",
] as const satisfies readonly (keyof PriceRangeConfig)[];

/** A configuration of `read()`s, in PRICE_RANGE_KEYS order (decoding a command or a snapshot). */
export function read_price_range(read: () => number): PriceRangeConfig {
  const c = {} as PriceRangeConfig;
  for (const key of PRICE_RANGE_KEYS) c[key] = read();
  return c;
}

/** The configuration fields of `from` (a command), copied: what the engine keeps. */
export function price_range_of(from: PriceRangeConfig): PriceRangeConfig {
  const c = {} as PriceRangeConfig;
  for (const key of PRICE_RANGE_KEYS) c[key] = from[key];
  return c;
}

/** The demo markets' rule: Binance's observed five-minute window, 0.85-1.15 both sides. */
export const DEMO_PRICE_RANGE: Readonly<PriceRangeConfig> = {
  bucket_count: REFERENCE_BUCKETS_DEFAULT,
  bucket_width_ms: REFERENCE_BUCKET_WIDTH_MS_DEFAULT,
  bid_up_e4: 11_500,
  bid_down_e4: 8_500,
  ask_up_e4: 11_500,
  ask_down_e4: 8_500,
};

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

/** floor(a / b) exactly, for non-negative safe integers (the float quotient can round up across one). */
function floor_div(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

/**
 * floor((full_sum × 10^4 + old_sum × weight_e4) × 10^4 / count_e4) in float64 integers alone: the
 * numerator passes 2^53 in any busy window, so it is divided in two base-10^4 steps (long division)
 * whose parts stay below 2^53 while count_e4 × 10^4 does (below 9 × 10^7 trades in the window);
 * BigInt beyond.
 */
export function mean_e4(full_sum: number, old_sum: number, weight_e4: number, count_e4: number): number {
  // the numerator before its last × 10^4, U = H × 10^4 + L
  const o_hi = Math.floor(old_sum / E4);
  const o_lo = old_sum - o_hi * E4;
  const lw = o_lo * weight_e4;
  const h = full_sum + o_hi * weight_e4 + Math.floor(lw / E4);
  const l = lw % E4;
  if (!(h <= Number.MAX_SAFE_INTEGER && count_e4 * E4 + E4 <= Number.MAX_SAFE_INTEGER)) {
    const e4 = BigInt(E4);
    return Number(((BigInt(full_sum) * e4 + BigInt(old_sum) * BigInt(weight_e4)) * e4) / BigInt(count_e4));
  }
  // U / C = h1 × 10^4 + t1, remainder r; then (U × 10^4) / C = (U / C) × 10^4 + r × 10^4 / C
  const h1 = floor_div(h, count_e4);
  const t = (h - h1 * count_e4) * E4 + l;
  const t1 = floor_div(t, count_e4);
  const r = t - t1 * count_e4;
  return (h1 * E4 + t1) * E4 + floor_div(r * E4, count_e4);
}

/**
 * floor(a × b / d) exactly, for non-negative safe integers whose result is safe: in float64 integers
 * when a × b is safe, or d × b is (a = q × d + r: q × b + r × b / d); BigInt otherwise.
 */
export function mul_div_floor(a: number, b: number, d: number): number {
  const p = a * b;
  if (p <= Number.MAX_SAFE_INTEGER) return floor_div(p, d);
  if (d * b <= Number.MAX_SAFE_INTEGER) {
    const q = floor_div(a, d);
    return q * b + floor_div((a - q * d) * b, d);
  }
  return Number((BigInt(a) * BigInt(b)) / BigInt(d));
}

/** ceil(a × b / d) exactly, as mul_div_floor. */
export function mul_div_ceil(a: number, b: number, d: number): number {
  const p = a * b;
  if (p <= Number.MAX_SAFE_INTEGER) {
    const q = floor_div(p, d);
    return q * d === p ? q : q + 1;
  }
  if (d * b <= Number.MAX_SAFE_INTEGER) {
    const q = floor_div(a, d);
    const rb = (a - q * d) * b;
    const q2 = floor_div(rb, d);
    return q * b + (q2 * d === rb ? q2 : q2 + 1);
  }
  const big = BigInt(a) * BigInt(b);
  const q = big / BigInt(d);
  return Number(big % BigInt(d) === 0n ? q : q + 1n);
}

/**
 * Relative margin of the fast paths (execution_bounds, in_percent_band): far above the few roundings
 * of a double (each within 2^-53, about 1.1 × 10^-16), so that a decision taken from the interval
 * around approx_e4 is the exact one; nearer a bound than this, the exact integer path decides.
 */
const APPROX_MARGIN = 1e-12;

export class PriceRange {
  readonly config: PriceRangeConfig;
  /** Ring of bucket_count + 1 buckets by (open time / width) mod length; open -1: empty. */
  readonly open_ms: number[];
  readonly trades: number[];
  readonly sum_ticks: number[];
  /** Changes with every recorded trade: the cache below is for one (time, version). */
  private version = 0;
  /** reference_e4's totals of the whole buckets before the current one, for time in bucket base_epoch. */
  private base_epoch = -1;
  private base_trades = 0;
  private base_sum = 0;
  private base_big = false;
  /** record()'s bucket for the time of its last trade (-1: none). */
  private record_ms = -1;
  private record_epoch = -1;
  private record_slot = 0;
  private cached_at_ms = -1;
  private cached_version = -1;
  private cached_e4 = 0;
  /** totals() of (totals_at_ms, totals_version): the window's sums, and the mean as a double. */
  private totals_at_ms = -1;
  private totals_version = -1;
  private totals_epoch = -1;
  private full_sum = 0;
  private old_sum = 0;
  private weight_e4 = 0;
  private count_e4 = 0;
  private sums_big = false;
  /**
   * The reference as a double (ticks × 10^4 before the floor): 0 none, -1 not kept (sums past 2^53);
   * when kept, the exact reference lies in [approx_lo_e4, approx_hi_e4].
   */
  private approx_e4 = 0;
  private approx_lo_e4 = 0;
  private approx_hi_e4 = 0;

  constructor(config: PriceRangeConfig) {
    assert(validate_price_range(config) === null, "price range configuration is valid");
    // its own copy of the configuration's fields (a command has more)
    this.config = price_range_of(config);
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
    this.totals(now_ms);
    const r = this.approx_e4;
    if (r === 0) return false;
    // price × 10^8 <= ref_e4 × up_e4, price × 10^8 >= ref_e4 × down_e4: from the interval the exact
    // reference lies in when both ends give the same whole tick (all but a sliver of cases), else exact
    if (r > 0) {
      const lo_r = this.approx_lo_e4;
      const hi_r = this.approx_hi_e4;
      let exact = false;
      if (up !== 0) {
        const a = Math.floor(((lo_r * up) / (E4 * E4)) * (1 - APPROX_MARGIN));
        if (a === Math.floor(((hi_r * up) / (E4 * E4)) * (1 + APPROX_MARGIN))) this.hi_ticks = a;
        else exact = true;
      }
      if (down !== 0) {
        const a = Math.ceil(((lo_r * down) / (E4 * E4)) * (1 - APPROX_MARGIN));
        if (a === Math.ceil(((hi_r * down) / (E4 * E4)) * (1 + APPROX_MARGIN))) this.lo_ticks = a;
        else exact = true;
      }
      if (!exact) return true;
    }
    const ref = this.reference_e4(now_ms);
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
    this.totals(now_ms);
    const r = this.approx_e4;
    if (r === 0) return null;
    if (r > 0) {
      // price × 10^10 against ref_e4 × multiplier (ppm), from the interval the exact reference lies
      // in: decided here unless the price is within a hair of a bound
      const x = price_ticks * (E4 * 1_000_000);
      const lo_r = this.approx_lo_e4;
      const hi_r = this.approx_hi_e4;
      if (x > hi_r * up_ppm * (1 + APPROX_MARGIN) || x < lo_r * down_ppm * (1 - APPROX_MARGIN)) return false;
      if (x <= lo_r * up_ppm * (1 - APPROX_MARGIN) && x >= hi_r * down_ppm * (1 + APPROX_MARGIN)) return true;
    }
    const ref = this.reference_e4(now_ms);
    if (this.pct_at_ms[side] !== now_ms || this.pct_version[side] !== this.version) {
      // price × 10^4 × 10^6 <= ref_e4 × up_ppm; in two divisions, so that each stays in float64
      // integers (floor(floor(x / m) / n) = floor(x / mn), and the same of ceilings)
      this.pct_hi[side] = floor_div(mul_div_floor(ref, up_ppm, E4), 1_000_000);
      const lo = mul_div_ceil(ref, down_ppm, E4);
      const lo_q = floor_div(lo, 1_000_000);
      this.pct_lo[side] = lo_q * 1_000_000 === lo ? lo_q : lo_q + 1;
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
    this.base_epoch = -1;
    this.record_ms = -1;
  }

  /** A trade at `price_ticks` at `now_ms` (never earlier than the last one). */
  record(price_ticks: number, now_ms: number): void {
    // a command's trades share its time: the bucket is found once per time
    if (now_ms !== this.record_ms) {
      const width = this.config.bucket_width_ms;
      const epoch = Math.floor(now_ms / width);
      const open = epoch * width;
      const i = epoch % this.open_ms.length;
      if (this.open_ms[i] !== open) {
        // the slot's bucket, if any, is a whole ring older: out of the window
        this.open_ms[i] = open;
        this.trades[i] = 0;
        this.sum_ticks[i] = 0;
        this.version++;
      }
      this.record_ms = now_ms;
      this.record_epoch = epoch;
      this.record_slot = i;
    }
    const i = this.record_slot;
    // A bucket's sum stays exact: passing 2^53 would take billions of trades in one bucket at the
    // highest prices a market allows; such a trade would be left out of the mean, not mis-added.
    const sum = this.sum_ticks[i] + price_ticks;
    if (sum > Number.MAX_SAFE_INTEGER) return;
    this.sum_ticks[i] = sum;
    this.trades[i]++;
    this.version++;
    // reference_e4 keeps the totals of the buckets before the current one: a trade in one of them
    // (a query ran at a later time than the engine's) makes it add them up again
    if (this.record_epoch !== this.base_epoch) this.base_epoch = -1;
  }

  /**
   * The reference price at `now_ms` in ticks with four more decimals (ticks × 10^4), 0 if none (no
   * trade in the window). Changes nothing.
   */
  reference_e4(now_ms: number): number {
    if (now_ms === this.cached_at_ms && this.version === this.cached_version) return this.cached_e4;
    this.totals(now_ms);
    const count_e4 = this.count_e4;
    const result =
      count_e4 === 0
        ? 0
        : this.sums_big
          ? this.mean_big(this.totals_epoch, this.old_sum, this.weight_e4, count_e4)
          : mean_e4(this.full_sum, this.old_sum, this.weight_e4, count_e4);
    this.cached_at_ms = now_ms;
    this.cached_version = this.version;
    this.cached_e4 = result;
    return result;
  }

  /**
   * The window's sums at `now_ms` (fields below), kept until the next trade or another time; and
   * approx_e4, the mean as a double.
   */
  private totals(now_ms: number): void {
    if (now_ms === this.totals_at_ms && this.version === this.totals_version) return;
    const { bucket_count, bucket_width_ms: width } = this.config;
    const epoch = Math.floor(now_ms / width);
    const n = this.open_ms.length;
    // The buckets between the oldest and the current one change only when time enters another
    // bucket (trades land in the current one): their totals are kept per epoch, so that a
    // reference after every trade costs no pass over the buckets.
    if (epoch !== this.base_epoch) this.rebuild_base(epoch);
    const cur = epoch % n;
    const cur_open = epoch * width;
    const has_cur = this.open_ms[cur] === cur_open;
    const full_trades = this.base_trades + (has_cur ? this.trades[cur] : 0);
    const full_sum = this.base_sum + (has_cur ? this.sum_ticks[cur] : 0);
    // the oldest bucket straddles the window's start: the part of it still inside, to four decimals
    const old_open = cur_open - bucket_count * width;
    const old = (epoch - bucket_count) % n;
    let old_trades = 0;
    let old_sum = 0;
    let weight_e4 = 0;
    if (old_open >= 0 && this.open_ms[old] === old_open) {
      old_trades = this.trades[old];
      old_sum = this.sum_ticks[old];
      weight_e4 = Math.floor(((old_open + width - (now_ms - bucket_count * width)) * E4) / width);
    }
    const count_e4 = full_trades * E4 + old_trades * weight_e4;
    const big = this.base_big || full_sum > Number.MAX_SAFE_INTEGER;
    this.totals_at_ms = now_ms;
    this.totals_version = this.version;
    this.totals_epoch = epoch;
    this.full_sum = full_sum;
    this.old_sum = old_sum;
    this.weight_e4 = weight_e4;
    this.count_e4 = count_e4;
    this.sums_big = big;
    // Five roundings of exact integers (sums and count below 2^53): within 6 × 2^-53 of the exact
    // quotient, whose floor is reference_e4. Past 2^53, -1: only the exact path is taken.
    const r =
      count_e4 === 0
        ? 0
        : big || count_e4 > Number.MAX_SAFE_INTEGER
          ? -1
          : ((full_sum * E4 + old_sum * weight_e4) * E4) / count_e4;
    this.approx_e4 = r;
    // the floor takes up to one unit off; the roundings, far less than the margin
    this.approx_lo_e4 = r * (1 - APPROX_MARGIN) - 1;
    this.approx_hi_e4 = r * (1 + APPROX_MARGIN);
  }

  /** Totals of the whole buckets between the oldest (straddling) one and the current one. */
  private rebuild_base(epoch: number): void {
    const { bucket_count, bucket_width_ms: width } = this.config;
    let trades = 0;
    let sum = 0;
    for (let i = 0; i < this.open_ms.length; i++) {
      const e = this.open_ms[i] < 0 ? -1 : this.open_ms[i] / width;
      if (e > epoch - bucket_count && e < epoch) {
        trades += this.trades[i];
        sum += this.sum_ticks[i];
      }
    }
    this.base_epoch = epoch;
    this.base_trades = trades;
    this.base_sum = sum;
    // past 2^53 (beyond what the engine can trade in a window) the mean is taken in BigInt
    this.base_big = sum > Number.MAX_SAFE_INTEGER;
  }

  /** The mean as reference_e4 defines it, in BigInt (sums past 2^53). */
  private mean_big(epoch: number, old_sum: number, weight_e4: number, count_e4: number): number {
    const { bucket_count, bucket_width_ms: width } = this.config;
    let s = 0n;
    for (let i = 0; i < this.open_ms.length; i++) {
      const e = this.open_ms[i] < 0 ? -1 : this.open_ms[i] / width;
      if (e > epoch - bucket_count && e <= epoch) s += BigInt(this.sum_ticks[i]);
    }
    const e4 = BigInt(E4);
    return Number(((s * e4 + BigInt(old_sum) * BigInt(weight_e4)) * e4) / BigInt(count_e4));
  }
}
