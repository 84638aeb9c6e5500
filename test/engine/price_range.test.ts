/**
 * Binance's Price Range Execution Rule (reference.ts): the reference price, a bucketed moving mean of
 * trade prices, exact against a plain BigInt model; a taker's trades kept within the PRICE_RANGE
 * multipliers around it (the remainder expires, EXECUTION_RULE_PRICE_RANGE_EXCEEDED, even a GTC
 * limit order's); PERCENT_PRICE_BY_SIDE against it when there is one; snapshots keep it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Command, SetPriceRange } from "../../src/engine/commands.js";
import * as R from "../../src/engine/reasons.js";
import { E4, mean_e4, mul_div_ceil, mul_div_floor, PriceRange } from "../../src/engine/reference.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  END_NO_LIQUIDITY,
  END_PRICE_RANGE,
  SIDE_BUY,
  SIDE_SELL,
  STATUS_EXPIRED,
  TIF_FOK,
  TIF_IOC,
  TYPE_MARKET,
} from "../../src/engine/types.js";
import { seed } from "./gen.js";
import { BTCUSDT, fixture, limit, new_id, of_kind, order, reasons } from "./helpers.js";

const P = 500_000; // 5,000.00 USDT

function range(over: Partial<SetPriceRange> = {}, ts_ms = 1_000): SetPriceRange {
  return {
    type: "set_price_range",
    ts_ms,
    market: BTCUSDT,
    bucket_count: 80,
    bucket_width_ms: 3750,
    bid_up_e4: 11_500,
    bid_down_e4: 8_500,
    ask_up_e4: 11_500,
    ask_down_e4: 8_500,
    ...over,
  };
}

/** The reference as the FAQ defines it (whole buckets, the straddling one prorated), in BigInt. */
function model_e4(trades: [number, number][], now: number, count: number, width: number): number {
  const cutoff = now - count * width;
  const buckets = new Map<number, { n: bigint; s: bigint }>();
  for (const [t, p] of trades) {
    const open = t - (t % width);
    const b = buckets.get(open) ?? { n: 0n, s: 0n };
    // a trade that would take its bucket's sum past 2^53 is left out (reference.ts)
    if (b.s + BigInt(p) > BigInt(Number.MAX_SAFE_INTEGER)) continue;
    b.n += 1n;
    b.s += BigInt(p);
    buckets.set(open, b);
  }
  let n = 0n;
  let s = 0n;
  for (const [open, b] of buckets) {
    if (open + width <= cutoff) continue;
    const w = open >= cutoff ? BigInt(E4) : BigInt(Math.floor(((open + width - cutoff) * E4) / width));
    n += b.n * w;
    s += b.s * w;
  }
  return n === 0n ? 0 : Number((s * BigInt(E4)) / n);
}

function final_update(events: ReturnType<ReturnType<typeof fixture>["run"]>, id: number) {
  const u = of_kind(events, "order_update").filter((e) => e.order_id === id);
  return u[u.length - 1];
}

describe("reference price", () => {
  it("the mean of the window's trade prices, the oldest bucket prorated (the FAQ's calculation)", () => {
    const r = new PriceRange({
      bucket_count: 2,
      bucket_width_ms: 1000,
      bid_up_e4: 0,
      bid_down_e4: 0,
      ask_up_e4: 0,
      ask_down_e4: 0,
    });
    assert.equal(r.reference_e4(0), 0, "no trade: no reference");
    r.record(100, 500);
    r.record(200, 1500);
    assert.equal(r.reference_e4(1500), 150 * E4);
    // at 2,500 the window starts at 500: the first bucket (0-1,000) counts half
    // (200 × 1 + 100 × 0.5) / 1.5 = 166.6666…
    assert.equal(r.reference_e4(2500), 1_666_666);
    assert.equal(r.reference_e4(2500), 1_666_666, "a query changes nothing");
    assert.equal(r.reference_e4(3000), 200 * E4, "the first bucket has left the window");
    assert.equal(r.reference_e4(4000), 0, "no trade in the window: no reference");
  });

  it("exact against a BigInt model, at prices and volumes whose sums pass 2^53", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(1, 7, 1000, 3750),
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 4000 }),
            // mostly prices whose sums pass 2^53 only with many trades; some whose do with a few
            fc.oneof(
              { weight: 5, arbitrary: fc.integer({ min: 1, max: 10_000_000_000 }) },
              { weight: 1, arbitrary: fc.integer({ min: 10 ** 11, max: 9 * 10 ** 11 }) },
            ),
          ),
          { maxLength: 60 },
        ),
        fc.integer({ min: 0, max: 8000 }),
        (count, width, steps, after) => {
          const r = new PriceRange({
            bucket_count: count,
            bucket_width_ms: width,
            bid_up_e4: 0,
            bid_down_e4: 0,
            ask_up_e4: 0,
            ask_down_e4: 0,
          });
          const trades: [number, number][] = [];
          let t = 0;
          for (const [dt, price] of steps) {
            t += dt;
            // many trades at once, so that sums pass 2^53
            for (let k = 0; k < 3; k++) {
              r.record(price, t);
              trades.push([t, price]);
            }
            assert.equal(r.reference_e4(t), model_e4(trades, t, count, width));
          }
          assert.equal(r.reference_e4(t + after), model_e4(trades, t + after, count, width));
        },
      ),
      { seed: seed(), numRuns: 300 },
    );
  });

  it("the bounds and the percent band from the double's interval are the exact integer ones", () => {
    // execution_bounds and in_percent_band decide from approx_e4 unless near a bound; against BigInt
    // from the model's exact reference, at the bounds themselves and a tick either side
    const multiplier_up = fc.oneof(
      fc.constantFrom(10_000, 11_500, 20_000),
      fc.integer({ min: E4, max: 30_000 }),
    );
    const multiplier_down = fc.oneof(fc.constantFrom(10_000, 8_500, 5_000), fc.integer({ min: 0, max: E4 }));
    fc.assert(
      fc.property(
        multiplier_up,
        multiplier_down,
        fc.constantFrom(1_000_000, 5_000_000, 200_000),
        fc.constantFrom(200_000, 1_000_000),
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 3000 }),
            // a few prices, so that means are often whole (a bound exactly on a tick)
            fc.oneof(
              fc.constantFrom(1, 3, 100, 500_000, 999_999),
              fc.integer({ min: 1, max: 10_000_000_000 }),
            ),
          ),
          { minLength: 1, maxLength: 30 },
        ),
        (up_e4, down_e4, up_ppm, down_ppm, steps) => {
          const r = new PriceRange({
            bucket_count: 3,
            bucket_width_ms: 1000,
            bid_up_e4: up_e4,
            bid_down_e4: down_e4,
            ask_up_e4: 0,
            ask_down_e4: 0,
          });
          const trades: [number, number][] = [];
          let t = 0;
          for (const [dt, price] of steps) {
            t += dt;
            r.record(price, t);
            trades.push([t, price]);
            const ref = BigInt(model_e4(trades, t, 3, 1000));
            assert.ok(ref > 0n);
            assert.equal(r.execution_bounds(true, t), true);
            const hi = (ref * BigInt(up_e4)) / BigInt(E4 * E4);
            const lo = down_e4 === 0 ? 0n : (ref * BigInt(down_e4) + BigInt(E4 * E4) - 1n) / BigInt(E4 * E4);
            assert.deepEqual([r.lo_ticks, r.hi_ticks], [Number(lo), Number(hi)], `ref ${ref}`);
            const scale = BigInt(E4) * 1_000_000n;
            const band_hi = (ref * BigInt(up_ppm)) / scale;
            const band_lo = (ref * BigInt(down_ppm) + scale - 1n) / scale;
            for (const q of [
              band_hi - 1n,
              band_hi,
              band_hi + 1n,
              band_lo - 1n,
              band_lo,
              band_lo + 1n,
              BigInt(price),
            ]) {
              if (q < 1n) continue;
              const within = q <= band_hi && q >= band_lo;
              assert.equal(
                r.in_percent_band(0, Number(q), up_ppm, down_ppm, t),
                within,
                `${q} in ${band_lo}..${band_hi}`,
              );
            }
          }
        },
      ),
      { seed: seed(), numRuns: 500 },
    );
  });

  it("windows whose sums pass 2^53: BigInt gives the same exact mean", () => {
    const r = new PriceRange({
      bucket_count: 5,
      bucket_width_ms: 1000,
      bid_up_e4: 0,
      bid_down_e4: 0,
      ask_up_e4: 0,
      ask_down_e4: 0,
    });
    const trades: [number, number][] = [];
    // the highest price a reference allows (9 × 10^11 ticks), 12,000 trades a second: a bucket
    // holds 10,000 of them before its sum would pass 2^53, the rest are left out
    for (let t = 0; t < 6000; t += 100)
      for (let k = 0; k < 1200; k++) {
        const price = 9 * 10 ** 11 - ((t + k) % 7);
        r.record(price, t);
        trades.push([t, price]);
      }
    for (const now of [5999, 6000, 6500, 9999, 10_999])
      assert.equal(r.reference_e4(now), model_e4(trades, now, 5, 1000), `at ${now}`);
  });

  it("mean_e4's long division in float64 integers equals BigInt's", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: E4 }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        (full_sum, old_sum, weight, count_e4) => {
          const e4 = BigInt(E4);
          const exact = ((BigInt(full_sum) * e4 + BigInt(old_sum) * BigInt(weight)) * e4) / BigInt(count_e4);
          if (exact > BigInt(Number.MAX_SAFE_INTEGER)) return;
          assert.equal(mean_e4(full_sum, old_sum, weight, count_e4), Number(exact));
        },
      ),
      { seed: seed(), numRuns: 5000 },
    );
  });

  it("mul_div_floor and mul_div_ceil are exact", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 100_000_000 }),
        // large divisors (BigInt beyond 2^53) and small ones (split in float64 integers)
        fc.oneof(
          fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          fc.integer({ min: 1, max: 100_000_000 }),
        ),
        (a, b, d) => {
          const p = BigInt(a) * BigInt(b);
          const floor = p / BigInt(d);
          if (floor > BigInt(Number.MAX_SAFE_INTEGER)) return;
          assert.equal(mul_div_floor(a, b, d), Number(floor));
          assert.equal(mul_div_ceil(a, b, d), Number(p % BigInt(d) === 0n ? floor : floor + 1n));
        },
      ),
      { seed: seed(), numRuns: 2000 },
    );
    // where a float quotient rounds up across an integer
    assert.equal(mul_div_floor(2 ** 52 - 1, 1, 2 ** 52), 0);
    assert.equal(mul_div_ceil(2 ** 52, 1, 2 ** 52), 1);
  });
});

describe("PRICE_RANGE execution rule", () => {
  /** BTCUSDT with the rule, a trade at P (the reference) and asks at 1.1, 1.2 and 1.3 P. */
  function ranged(over: Partial<SetPriceRange> = {}) {
    const f = fixture();
    assert.deepEqual(reasons(f.run(range(over))), []);
    f.run(limit(1, SIDE_SELL, P, 1));
    f.run(limit(2, SIDE_BUY, P, 1));
    for (const m of [11, 12, 13]) f.run(limit(1, SIDE_SELL, (P * m) / 10, 1));
    for (const m of [9, 8, 7]) f.run(limit(1, SIDE_BUY, (P * m) / 10, 1));
    return f;
  }

  it("a market buy trades up to reference × bidMultiplierUp, and the rest expires", () => {
    const f = ranged();
    const events = f.run(order(0, SIDE_BUY, TYPE_MARKET, 0, 3));
    const id = new_id(events);
    const trades = of_kind(events, "trade");
    assert.deepEqual(
      trades.map((t) => t.price_ticks),
      [(P * 11) / 10],
      "1.1 P only: 1.2 P is above 1.15 P",
    );
    const end = final_update(events, id);
    assert.equal(end.status, STATUS_EXPIRED);
    assert.equal(end.end_reason, END_PRICE_RANGE);
    assert.equal(end.executed_lots, 1);
    assert.equal(f.engine.markets[BTCUSDT].asks.best_price(), (P * 12) / 10, "the asks above stay");
  });

  it("a GTC limit order that reaches the bound expires instead of resting; a sell keeps to the ask band", () => {
    const f = ranged();
    const buy = f.run(limit(0, SIDE_BUY, (P * 13) / 10, 3));
    const end = final_update(buy, new_id(buy));
    assert.equal(end.status, STATUS_EXPIRED);
    assert.equal(end.end_reason, END_PRICE_RANGE);
    assert.equal(end.executed_lots, 1);
    // the reference is now (P + 1.1 P) / 2 = 1.05 P: the ask band's floor 0.8925 P
    const sell = f.run(order(0, SIDE_SELL, TYPE_MARKET, 0, 3));
    assert.deepEqual(
      of_kind(sell, "trade").map((t) => t.price_ticks),
      [(P * 9) / 10],
    );
    assert.equal(final_update(sell, new_id(sell)).end_reason, END_PRICE_RANGE);
  });

  it("FOK and IOC: a FOK that could fill only beyond the bound expires unfilled, for that reason", () => {
    const f = ranged();
    const fok = f.run(limit(0, SIDE_BUY, (P * 13) / 10, 2, TIF_FOK));
    assert.equal(of_kind(fok, "trade").length, 0);
    assert.equal(final_update(fok, new_id(fok)).end_reason, END_PRICE_RANGE);
    const fok_inside = f.run(limit(0, SIDE_BUY, (P * 11) / 10, 2, TIF_FOK));
    assert.equal(
      final_update(fok_inside, new_id(fok_inside)).end_reason,
      END_NO_LIQUIDITY,
      "its own limit stops it first: plain no liquidity",
    );
    const ioc = f.run(limit(0, SIDE_BUY, (P * 13) / 10, 2, TIF_IOC));
    assert.equal(of_kind(ioc, "trade").length, 1);
    assert.equal(final_update(ioc, new_id(ioc)).end_reason, END_PRICE_RANGE);
  });

  it("an unset multiplier is not enforced; no reference (no trade in the window) means no rule", () => {
    const open = ranged({ bid_up_e4: 0 });
    const all = open.run(order(0, SIDE_BUY, TYPE_MARKET, 0, 3));
    assert.equal(of_kind(all, "trade").length, 3, "no bid up multiplier: the buy sweeps");
    const f = ranged();
    // five minutes later the window holds no trade
    const later = f.run(order(0, SIDE_BUY, TYPE_MARKET, 0, 3, { ts_ms: 1_000 + 80 * 3750 + 3750 }));
    assert.equal(of_kind(later, "trade").length, 3);
  });

  it("changing the multipliers keeps the reference; a new calculation starts without one", () => {
    const f = ranged();
    assert.deepEqual(reasons(f.run(range({ bid_up_e4: 12_500 }))), []);
    const wider = f.run(order(0, SIDE_BUY, TYPE_MARKET, 0, 3));
    assert.deepEqual(
      of_kind(wider, "trade").map((t) => t.price_ticks),
      [(P * 11) / 10, (P * 12) / 10],
    );
    assert.deepEqual(reasons(f.run(range({ bucket_count: 10 }))), []);
    assert.equal(f.engine.markets[BTCUSDT].price_range?.reference_e4(1_000), 0);
    assert.deepEqual(reasons(f.run(range({ bucket_count: 0 }))), []);
    assert.equal(f.engine.markets[BTCUSDT].price_range, null, "bucket_count 0 removes it");
  });

  it("bad configurations and markets are refused and change nothing", () => {
    const f = fixture();
    for (const bad of [
      { bucket_count: 1001 },
      { bucket_width_ms: 0 },
      { bucket_width_ms: 3_600_001 },
      { bid_up_e4: 9_999 },
      { ask_up_e4: 10_000_001 },
      { ask_down_e4: 10_001 },
      { bid_down_e4: -1 },
      { bid_up_e4: 1.5 },
    ]) {
      assert.deepEqual(reasons(f.run(range(bad))), [R.REASON_INVALID_CONFIG], JSON.stringify(bad));
      assert.equal(f.engine.markets[BTCUSDT].price_range, null);
    }
    assert.deepEqual(reasons(f.run(range({ market: 7 }))), [R.REASON_UNKNOWN_SYMBOL]);
  });

  it("PERCENT_PRICE_BY_SIDE is checked against the reference price when there is one", () => {
    const f = fixture(3, { percent_price_bid_up_ppm: 1_500_000 });
    f.run(range({ bid_up_e4: 0, bid_down_e4: 0, ask_up_e4: 0, ask_down_e4: 0 }));
    for (const price of [P, P, (P * 12) / 10]) {
      f.run(limit(1, SIDE_SELL, price, 1));
      f.run(limit(2, SIDE_BUY, price, 1));
    }
    // last 1.2 P allows up to 1.8 P; the reference (P + P + 1.2 P) / 3 = 1.0666… P only up to 1.6 P
    const band = R.REASON_FILTER_PERCENT_PRICE_BY_SIDE;
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, (P * 17) / 10, 1))), [band]);
    // the reference truncates to 533,333.3333 ticks: × 1.5 = 799,999.99995
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, 799_999, 1))), []);
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, 800_000, 1))), [band]);
  });

  it("a snapshot keeps the calculation, the rule and the buckets", () => {
    const f = ranged();
    f.run(order(0, SIDE_BUY, TYPE_MARKET, 0, 1, { ts_ms: 5_000 }));
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    const next: Command[] = [
      order(0, SIDE_BUY, TYPE_MARKET, 0, 3, { ts_ms: 9_000 }),
      limit(2, SIDE_SELL, (P * 8) / 10, 2, TIF_IOC),
      range({ ask_down_e4: 0 }, 10_000),
      order(0, SIDE_SELL, TYPE_MARKET, 0, 3, { ts_ms: 10_000 }),
    ];
    for (const c of next) assert.deepEqual(copy.apply(c), f.run(c));
    assert.equal(state_hash(copy), state_hash(f.engine));
    assert.notEqual(copy.markets[BTCUSDT].price_range, null);
  });

  it("a resting order the rule leaves alone: a maker is never expired by it", () => {
    const f = ranged();
    const id = new_id(f.run(limit(0, SIDE_SELL, (P * 14) / 10, 1)));
    f.run(order(2, SIDE_BUY, TYPE_MARKET, 0, 5));
    const slot = f.engine.orders.by_id.get(id);
    assert.notEqual(slot, 0, "still live");
    assert.equal(f.engine.orders.open(slot), 1);
    assert.equal(f.engine.orders.executed_lots(slot), 0);
  });
});
