/**
 * Request-weight and order-count limits, as Binance applies them: weight per IP per minute, new
 * orders per account per 10 seconds and per day, counted in fixed windows. Every answer carries
 * X-MBX-USED-WEIGHT-1M (and, for orders, X-MBX-ORDER-COUNT-10S / -1D). Over the limit: 429 with
 * Retry-After (-1003 for weight, -1015 for orders). An IP that keeps going after a 429 is banned
 * with 418, for 2 minutes, doubling on each repeat up to 3 days. Counters are per node (DESIGN).
 */
import { ApiError } from "./params.js";

export interface RateLimits {
  weight_per_minute: number;
  orders_per_10s: number;
  orders_per_day: number;
}

/** Binance's published defaults. */
export const BINANCE_LIMITS: RateLimits = {
  weight_per_minute: 6000,
  orders_per_10s: 100,
  orders_per_day: 200_000,
};
/** The demo tier: the demo's users, tests and benchmarks fit in it. */
export const DEMO_LIMITS: RateLimits = {
  weight_per_minute: 1_000_000,
  orders_per_10s: 100_000,
  orders_per_day: 100_000_000,
};

const MINUTE_MS = 60_000;
const TEN_S_MS = 10_000;
const DAY_MS = 86_400_000;
/** 429s an IP may collect in one minute before it is banned. */
const REFUSALS_BEFORE_BAN = 10;
const BAN_FIRST_MS = 2 * MINUTE_MS;
const BAN_MAX_MS = 3 * DAY_MS;
/** Bound on tracked IPs and accounts: beyond it the oldest windows are dropped. */
const TRACKED_MAX = 100_000;

interface Window {
  start_ms: number;
  used: number;
}

export class Limiter {
  private readonly weight = new Map<string, Window & { refusals: number }>();
  private readonly orders_10s = new Map<number, Window>();
  private readonly orders_day = new Map<number, Window>();
  private readonly bans = new Map<string, { until_ms: number; length_ms: number }>();

  constructor(
    readonly limits: RateLimits,
    private readonly clock_ms: () => number,
  ) {}

  private window<K>(map: Map<K, Window>, key: K, length_ms: number, now: number): Window {
    const start = now - (now % length_ms);
    let w = map.get(key);
    if (w === undefined || w.start_ms !== start) {
      if (w === undefined && map.size >= TRACKED_MAX) map.delete(map.keys().next().value as K);
      w = { start_ms: start, used: 0 };
      map.delete(key);
      map.set(key, w);
    }
    return w;
  }

  /** Counts `weight` for `ip`; throws 429/418 when over. Returns the weight used this minute. */
  charge_weight(ip: string, weight: number): number {
    const now = this.clock_ms();
    const ban = this.bans.get(ip);
    if (ban !== undefined && ban.until_ms > now)
      throw new ApiError(
        418,
        {
          code: -1003,
          msg: `Way too much request weight used; IP banned until ${ban.until_ms}. Please use WebSocket Streams for live updates to avoid bans.`,
        },
        { "Retry-After": String(Math.ceil((ban.until_ms - now) / 1000)) },
      );
    const w = this.window(this.weight, ip, MINUTE_MS, now) as Window & { refusals: number };
    w.refusals ??= 0;
    if (w.used + weight > this.limits.weight_per_minute) {
      w.refusals++;
      if (w.refusals > REFUSALS_BEFORE_BAN) {
        const length_ms = Math.min(BAN_MAX_MS, ban === undefined ? BAN_FIRST_MS : ban.length_ms * 2);
        this.bans.set(ip, { until_ms: now + length_ms, length_ms });
      }
      throw new ApiError(
        429,
        {
          code: -1003,
          msg: `Too much request weight used; current limit is ${this.limits.weight_per_minute} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
        },
        {
          "Retry-After": String(Math.ceil((w.start_ms + MINUTE_MS - now) / 1000)),
          "X-MBX-USED-WEIGHT-1M": String(w.used),
        },
      );
    }
    w.used += weight;
    return w.used;
  }

  /** Counts one new order for `account`; throws 429 -1015 when over. Returns the counts. */
  charge_order(account: number): { ten_s: number; day: number } {
    const now = this.clock_ms();
    const ten = this.window(this.orders_10s, account, TEN_S_MS, now);
    const day = this.window(this.orders_day, account, DAY_MS, now);
    const over = (w: Window, limit: number, length_ms: number, label: string) =>
      new ApiError(
        429,
        { code: -1015, msg: `Too many new orders; current limit is ${limit} orders per ${label}.` },
        { "Retry-After": String(Math.ceil((w.start_ms + length_ms - now) / 1000)) },
      );
    if (ten.used + 1 > this.limits.orders_per_10s)
      throw over(ten, this.limits.orders_per_10s, TEN_S_MS, "10 SECOND");
    if (day.used + 1 > this.limits.orders_per_day) throw over(day, this.limits.orders_per_day, DAY_MS, "DAY");
    ten.used++;
    day.used++;
    return { ten_s: ten.used, day: day.used };
  }

  /** exchangeInfo's rateLimits. */
  describe() {
    return [
      {
        rateLimitType: "REQUEST_WEIGHT",
        interval: "MINUTE",
        intervalNum: 1,
        limit: this.limits.weight_per_minute,
      },
      { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: this.limits.orders_per_10s },
      { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: this.limits.orders_per_day },
    ];
  }
}
