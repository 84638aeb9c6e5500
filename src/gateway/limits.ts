/**
 * Request-weight and order-count limits, as Binance applies them: weight per IP per minute, new
 * unfilled orders per account per 10 seconds and per day, counted in fixed windows (an order's first
 * fill takes it back off: first_fills, credit_first_fill). Every answer carries
 * X-MBX-USED-WEIGHT-1M (and, for orders, X-MBX-ORDER-COUNT-10S / -1D). Over the limit: 429 with
 * Retry-After (-1003 for weight, -1015 for orders). An IP that keeps going after a 429 is banned
 * with 418, for 2 minutes, doubling on each repeat up to 3 days. Counters are per node (DESIGN).
 *
 * Tiers: every API key names a tier (journaled with the key); what a tier allows is configuration
 * (`holdfast start --limits FILE`). A request's ceilings are those of the tier of the key it carries
 * (X-MBX-APIKEY, or the WebSocket session's key), else of the anonymous tier. Counters stay Binance's
 * (weight per IP, orders per account); only the ceiling a request is compared with depends on its key.
 */
import type { EngineEvent } from "../engine/events.js";
import { ApiError } from "./params.js";

export interface RateLimits {
  weight_per_minute: number;
  orders_per_10s: number;
  orders_per_day: number;
  /**
   * WebSocket connection attempts per IP per 5 minutes, counted separately for the market streams
   * and the WebSocket API (Binance: 300 for each). Attempts carry no key, so the anonymous tier's
   * ceiling applies. Optional in a limits file (absent: Binance's 300).
   */
  connections_per_5m?: number;
}

/** Binance's published defaults. */
export const BINANCE_LIMITS: RateLimits = {
  weight_per_minute: 6000,
  orders_per_10s: 100,
  orders_per_day: 200_000,
  connections_per_5m: 300,
};
/** The demo tier: the demo's users, tests and benchmarks fit in it. */
export const DEMO_LIMITS: RateLimits = {
  weight_per_minute: 1_000_000,
  orders_per_10s: 100_000,
  orders_per_day: 100_000_000,
  connections_per_5m: 100_000,
};
/** The benchmark tier: no ceiling a benchmark on one machine can reach. */
export const BENCH_LIMITS: RateLimits = {
  weight_per_minute: 1_000_000_000,
  orders_per_10s: 1_000_000_000,
  orders_per_day: 1_000_000_000_000,
  connections_per_5m: 1_000_000_000,
};

/** Tier name → its ceilings. "default" must exist: keys naming an unknown tier get it. */
export type LimitTiers = Readonly<Record<string, RateLimits>>;

export const DEFAULT_TIERS: LimitTiers = { default: BINANCE_LIMITS, demo: DEMO_LIMITS, bench: BENCH_LIMITS };

const LIMIT_KEYS: readonly string[] = [
  "weight_per_minute",
  "orders_per_10s",
  "orders_per_day",
  "connections_per_5m",
];

/** Why `tiers` cannot be used, or null. */
export function check_tiers(tiers: unknown, anonymous_tier: string): string | null {
  if (typeof tiers !== "object" || tiers === null || Array.isArray(tiers))
    return "limit tiers must be an object of tier → limits";
  const t = tiers as Record<string, unknown>;
  if (!("default" in t)) return 'limit tiers must include "default"';
  if (!(anonymous_tier in t)) return `limit tiers must include the anonymous tier "${anonymous_tier}"`;
  for (const [name, limits] of Object.entries(t)) {
    if (!/^[a-z0-9_-]{1,32}$/.test(name)) return `tier name "${name.slice(0, 40)}": 1-32 of a-z 0-9 _ -`;
    if (typeof limits !== "object" || limits === null || Array.isArray(limits))
      return `tier "${name}" must be an object of limits`;
    // a misspelt limit would otherwise be ignored and the tier's ceiling silently another
    const unknown = Object.keys(limits).find((k) => !LIMIT_KEYS.includes(k));
    if (unknown !== undefined)
      return `tier "${name}": unknown limit "${unknown.slice(0, 40)}" (known: ${LIMIT_KEYS.join(", ")})`;
    const l = limits as Record<string, unknown>;
    for (const key of ["weight_per_minute", "orders_per_10s", "orders_per_day"]) {
      const v = l?.[key];
      if (!Number.isSafeInteger(v) || (v as number) < 1)
        return `tier "${name}": ${key} must be a positive integer`;
    }
    const c = l?.connections_per_5m;
    if (c !== undefined && (!Number.isSafeInteger(c) || (c as number) < 1))
      return `tier "${name}": connections_per_5m must be a positive integer`;
  }
  return null;
}

const MINUTE_MS = 60_000;
const TEN_S_MS = 10_000;
const DAY_MS = 86_400_000;
const FIVE_MINUTES_MS = 300_000;
/** Binance's WebSocket connection attempts per IP per 5 minutes, where a tier does not say. */
export const CONNECTIONS_PER_5M_DEFAULT = 300;
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
  /** WebSocket connection attempts, keyed by "<service> <ip>". */
  private readonly connections = new Map<string, Window>();

  constructor(
    readonly tiers: LimitTiers,
    /** The tier of requests that carry no known API key. */
    readonly anonymous_tier: string,
    private readonly clock_ms: () => number,
  ) {
    const problem = check_tiers(tiers, anonymous_tier);
    if (problem !== null) throw new Error(problem);
  }

  /** A tier's ceilings; an unknown name (a key whose tier left the configuration) gets "default". */
  limits(tier: string = this.anonymous_tier): RateLimits {
    return this.tiers[tier] ?? this.tiers.default;
  }

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

  /** The weight `ip` has used this minute (nothing charged). */
  used_weight(ip: string): number {
    const w = this.weight.get(ip);
    const now = this.clock_ms();
    return w === undefined || w.start_ms !== now - (now % MINUTE_MS) ? 0 : w.used;
  }

  /** Counts `weight` for `ip`; throws 429/418 when over. Returns the weight used this minute. */
  charge_weight(ip: string, weight: number, tier: string = this.anonymous_tier): number {
    const limit = this.limits(tier).weight_per_minute;
    const now = this.clock_ms();
    const ban = this.check_ban(ip, now);
    const w = this.window(this.weight, ip, MINUTE_MS, now) as Window & { refusals: number };
    w.refusals ??= 0;
    if (w.used + weight > limit) {
      w.refusals++;
      if (w.refusals > REFUSALS_BEFORE_BAN) {
        const length_ms = Math.min(BAN_MAX_MS, ban === undefined ? BAN_FIRST_MS : ban.length_ms * 2);
        this.bans.set(ip, { until_ms: now + length_ms, length_ms });
      }
      throw new ApiError(
        429,
        {
          code: -1003,
          msg: `Too much request weight used; current limit is ${limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
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

  /** Throws 418 while `ip` is banned; returns its last ban (or undefined) otherwise. */
  private check_ban(ip: string, now: number): { until_ms: number; length_ms: number } | undefined {
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
    return ban;
  }

  /**
   * Counts one WebSocket connection attempt from `ip` to `service`; throws 429 -1003 past the
   * anonymous tier's attempts per 5 minutes, 418 while the IP is banned. Without it, one address
   * could open and drop connections as fast as the node can accept them, each handshake costing
   * the thread every other client shares.
   */
  charge_connection(ip: string, service: "streams" | "ws_api"): void {
    const now = this.clock_ms();
    this.check_ban(ip, now);
    const limit = this.limits().connections_per_5m ?? CONNECTIONS_PER_5M_DEFAULT;
    const w = this.window(this.connections, `${service} ${ip}`, FIVE_MINUTES_MS, now);
    if (w.used + 1 > limit)
      throw new ApiError(
        429,
        {
          code: -1003,
          msg: `Too many connection attempts; current limit is ${limit} connections per 5 MINUTE.`,
        },
        { "Retry-After": String(Math.ceil((w.start_ms + FIVE_MINUTES_MS - now) / 1000)) },
      );
    w.used++;
  }

  /** Counts one new order for `account`; throws 429 -1015 when over. Returns the counts. */
  charge_order(account: number, tier: string): { ten_s: number; day: number } {
    const limits = this.limits(tier);
    const now = this.clock_ms();
    const ten = this.window(this.orders_10s, account, TEN_S_MS, now);
    const day = this.window(this.orders_day, account, DAY_MS, now);
    const over = (w: Window, limit: number, length_ms: number, label: string) =>
      new ApiError(
        429,
        { code: -1015, msg: `Too many new orders; current limit is ${limit} orders per ${label}.` },
        { "Retry-After": String(Math.ceil((w.start_ms + length_ms - now) / 1000)) },
      );
    if (ten.used + 1 > limits.orders_per_10s) throw over(ten, limits.orders_per_10s, TEN_S_MS, "10 SECOND");
    if (day.used + 1 > limits.orders_per_day) throw over(day, limits.orders_per_day, DAY_MS, "DAY");
    ten.used++;
    day.used++;
    return { ten_s: ten.used, day: day.used };
  }

  /**
   * Binance's unfilled order count: an order's first fill, as taker or maker, takes one off its
   * account's count in each ORDERS window still current, never below zero (Binance may take more for
   * a first fill as maker or a large one; Holdfast takes one). Cancels and expiries take nothing.
   */
  credit_first_fill(account: number): void {
    const now = this.clock_ms();
    for (const [map, length_ms] of [
      [this.orders_10s, TEN_S_MS],
      [this.orders_day, DAY_MS],
    ] as const) {
      const w = map.get(account);
      if (w !== undefined && w.start_ms === now - (now % length_ms) && w.used > 0) w.used--;
    }
  }

  /** GET /api/v3/rateLimit/order: the account's order counts in the current windows (nothing charged). */
  order_usage(account: number, tier: string) {
    const l = this.limits(tier);
    const now = this.clock_ms();
    const used = (map: Map<number, Window>, length_ms: number): number => {
      const w = map.get(account);
      return w === undefined || w.start_ms !== now - (now % length_ms) ? 0 : w.used;
    };
    return [
      {
        rateLimitType: "ORDERS",
        interval: "SECOND",
        intervalNum: 10,
        limit: l.orders_per_10s,
        count: used(this.orders_10s, TEN_S_MS),
      },
      {
        rateLimitType: "ORDERS",
        interval: "DAY",
        intervalNum: 1,
        limit: l.orders_per_day,
        count: used(this.orders_day, DAY_MS),
      },
    ];
  }

  /** exchangeInfo's rateLimits: the anonymous tier's, or a given tier's. */
  describe(tier: string = this.anonymous_tier) {
    const l = this.limits(tier);
    return [
      { rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: l.weight_per_minute },
      { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: l.orders_per_10s },
      { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: l.orders_per_day },
    ];
  }
}

/**
 * The accounts of the orders that traded for the first time in one command's events, once per order:
 * a taker at its first trade in the command (a taker trades only in the command that placed or
 * triggered it), a maker when the update after its trade shows that trade as all it has executed.
 */
export function first_fills(events: readonly EngineEvent[]): number[] {
  const accounts: number[] = [];
  let takers: Set<number> | null = null;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.kind !== "trade") continue;
    takers ??= new Set();
    if (!takers.has(e.taker_order_id)) {
      takers.add(e.taker_order_id);
      accounts.push(e.taker_account);
    }
    for (let j = i + 1; j < events.length; j++) {
      const u = events[j];
      if (u.kind === "order_update" && u.order_id === e.maker_order_id) {
        if (u.executed_lots === e.quantity_lots) accounts.push(e.maker_account);
        break;
      }
    }
  }
  return accounts;
}
