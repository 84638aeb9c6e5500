/**
 * Trailing stops (Binance's trailingDelta): the five scenarios of Binance's trailing stop FAQ, price
 * for price, then what a trailing stop does inside one sweep, what it locks, and how it is refused,
 * cancelled, amended, expired and snapshotted.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PlaceOrder } from "../../src/engine/commands.js";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import { bips_of, buy_trigger_ticks, sell_trigger_ticks } from "../../src/engine/trailing.js";
import {
  END_EXCHANGE,
  SIDE_BUY,
  SIDE_SELL,
  type Side,
  STATUS_CANCELED,
  STATUS_EXPIRED,
  TIF_IOC,
  TYPE_LIMIT,
  TYPE_STOP_LOSS,
  TYPE_STOP_LOSS_LIMIT,
  TYPE_TAKE_PROFIT,
  TYPE_TAKE_PROFIT_LIMIT,
} from "../../src/engine/types.js";
import {
  BTC,
  balance,
  type Fixture,
  fixture,
  K,
  LOT,
  last_status,
  limit,
  new_id,
  of_kind,
  order,
  reasons,
  USDT,
} from "./helpers.js";

/** USDT to ticks (BTCUSDT's tick is 0.01). */
const usd = (dollars: number): number => Math.round(dollars * 100);

/** One trade of one lot at `price` between accounts 0 (seller) and 1 (buyer); its events. */
function trade_at(f: Fixture, price: number, taker: Side = SIDE_BUY) {
  const maker_side = taker === SIDE_BUY ? SIDE_SELL : SIDE_BUY;
  f.run(limit(taker === SIDE_BUY ? 0 : 1, maker_side, price, 1));
  return f.run(limit(taker === SIDE_BUY ? 1 : 0, taker, price, 1, TIF_IOC));
}

/**
 * Trades at each price in turn (dollars); returns the price whose trade triggered `order_id`, or
 * null, and the price at which it began tracking, or null.
 */
function walk(f: Fixture, order_id: number, dollars: number[]) {
  let started: number | null = null;
  for (const d of dollars) {
    const ev = trade_at(f, usd(d));
    for (const s of of_kind(ev, "trailing_started")) if (s.order_id === order_id) started = d;
    if (of_kind(ev, "order_triggered").some((t) => t.order_id === order_id)) return { fired: d, started };
  }
  return { fired: null, started };
}

/** A linear series of trade prices from `a` to `b` (exclusive of a, inclusive of b) in `step`s. */
function linear(a: number, b: number, step: number): number[] {
  const out: number[] = [];
  const dir = b > a ? 1 : -1;
  for (let p = a + dir * step; dir > 0 ? p < b : p > b; p += dir * step) out.push(p);
  out.push(b);
  return out;
}

function trailing(
  account: number,
  side: Side,
  type: number,
  price_dollars: number,
  lots: number,
  delta_bips: number,
  stop_dollars = 0,
): PlaceOrder {
  return order(account, side, type as PlaceOrder["order_type"], usd(price_dollars), lots, {
    stop_price_ticks: usd(stop_dollars),
    trailing_delta_bips: delta_bips,
  });
}

describe("trailing stops: Binance's FAQ scenarios", () => {
  it("A: STOP_LOSS_LIMIT BUY, stop 44,000, 500 bips: tracks from 44,000, triggers at 44,100 after a low of 42,000", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    const id = new_id(f.run(trailing(2, SIDE_BUY, TYPE_STOP_LOSS_LIMIT, 45_000, 1, 500, 44_000)));
    const path = [
      ...linear(40_000, 37_000, 1000), // -7.5%: ignored, not tracking yet
      ...linear(37_000, 45_000, 1000), // tracking from the first trade at or above 44,000
      46_000, // +4.5% from 44,000: not enough
      ...linear(46_000, 42_000, 1000), // new low 42,000
      43_000,
      44_000,
      44_099.99,
      44_100, // 42,000 × 1.05
    ];
    const r = walk(f, id, path);
    assert.deepEqual(r, { fired: 44_100, started: 44_000 });
  });

  it("B: STOP_LOSS_LIMIT SELL, stop 39,000, 1000 bips: triggers at 36,900 after a high of 41,000", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    const id = new_id(f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, 38_000, 1, 1000, 39_000)));
    const path = [
      ...linear(40_000, 41_500, 500),
      ...linear(41_500, 37_000, 500), // tracking from 39,000; 37,000 is only ~5.1% below it
      ...linear(37_000, 41_000, 1000), // new high 41,000
      40_000,
      38_000,
      36_900.01,
      36_900, // 41,000 × 0.90
    ];
    assert.deepEqual(walk(f, id, path), { fired: 36_900, started: 39_000 });
  });

  it("C: TAKE_PROFIT_LIMIT BUY, stop 38,000, 850 bips: triggers at 40,145 after a low of 37,000", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    const id = new_id(f.run(trailing(2, SIDE_BUY, TYPE_TAKE_PROFIT_LIMIT, 38_500, 1, 850, 38_000)));
    const path = [
      ...linear(40_000, 42_000, 1000),
      ...linear(42_000, 37_000, 1000), // tracking from 38,000, low 37,000
      ...linear(37_000, 39_000, 1000), // ~5.4%: not enough
      38_000, // not below the low
      40_000,
      40_144.99,
      40_145, // 37,000 × 1.085
    ];
    assert.deepEqual(walk(f, id, path), { fired: 40_145, started: 38_000 });
  });

  it("D: TAKE_PROFIT_LIMIT SELL, stop 42,000, 750 bips: triggers at 43,012.50 after a high of 46,500", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    const id = new_id(f.run(trailing(2, SIDE_SELL, TYPE_TAKE_PROFIT_LIMIT, 41_000, 1, 750, 42_000)));
    const path = [
      ...linear(40_000, 41_500, 500),
      ...linear(41_500, 39_000, 500), // not tracking yet
      ...linear(39_000, 45_000, 1000), // tracking from 42,000, high 45,000
      44_000, // ~2.2% down: not enough
      ...linear(44_000, 46_500, 500), // new high 46,500
      45_000,
      43_012.51,
      43_012.5, // 46,500 × 0.925
    ];
    assert.deepEqual(walk(f, id, path), { fired: 43_012.5, started: 42_000 });
  });

  it("E: STOP_LOSS_LIMIT SELL without a stop price tracks from the last price at placement; triggers at 42,315", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    const placed = f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, 39_000, 1, 700));
    const id = new_id(placed);
    const [started] = of_kind(placed, "trailing_started");
    assert.deepEqual([started.order_id, started.extreme_ticks], [id, usd(40_000)]);
    const path = [
      ...linear(40_000, 42_000, 1000),
      ...linear(42_000, 39_500, 500), // ~5.95% below 42,000: not enough
      ...linear(39_500, 45_500, 1000), // new high 45,500
      44_000,
      42_315.01,
      42_315, // 45,500 × 0.93
    ];
    assert.deepEqual(walk(f, id, path), { fired: 42_315, started: null });
  });
});

describe("trailing stops: mechanics", () => {
  it("trigger prices are exact: ceil(price × bips / 10,000) with no product beyond 2^53", () => {
    for (const [p, d] of [
      [1, 10],
      [9999, 2000],
      [10_000, 1],
      [4_650_000, 750],
      [Number.MAX_SAFE_INTEGER, 2000],
      [Number.MAX_SAFE_INTEGER - 12_345, 17],
    ]) {
      const exact = (BigInt(p) * BigInt(d) + 9999n) / 10_000n;
      assert.equal(BigInt(bips_of(p, d)), exact, `${p} × ${d}`);
    }
    assert.equal(buy_trigger_ticks(usd(42_000), 500), usd(44_100));
    assert.equal(sell_trigger_ticks(usd(46_500), 750), usd(43_012.5));
  });

  it("without a trade yet, a stop-price-less trailing stop tracks from the next trade", () => {
    const f = fixture();
    const placed = f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 100));
    assert.equal(of_kind(placed, "trailing_started").length, 0);
    const id = new_id(placed);
    // the first trade starts it at 50,000; a fall of 1% from there (49,500) fires it
    assert.deepEqual(walk(f, id, [50_000, 49_600, 49_500.01, 49_500]), { fired: 49_500, started: 50_000 });
  });

  it("fires inside a sweep, at the first level that passes its delta, and runs once the taker is done", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    // bids at 39,900, 39,700, 39,500 (one lot each) and 39,000 (ten lots)
    for (const d of [39_900, 39_700, 39_500]) f.run(limit(1, SIDE_BUY, usd(d), 1));
    f.run(limit(1, SIDE_BUY, usd(39_000), 10));
    // a trailing STOP_LOSS sell of 2 lots, 1% from 40,000: fires at or below 39,600
    const id = new_id(f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 2, 100)));
    const ev = f.run(order(0, SIDE_SELL, TYPE_LIMIT, usd(39_500), 3, { tif: TIF_IOC }));
    const seq = ev
      .filter((e) => e.kind === "trade" || e.kind === "order_triggered")
      .map((e) => (e.kind === "trade" ? `trade ${e.price_ticks / 100} by ${e.taker_order_id}` : "triggered"));
    const taker = new_id(ev);
    assert.deepEqual(seq, [
      `trade 39900 by ${taker}`,
      `trade 39700 by ${taker}`,
      `trade 39500 by ${taker}`, // fires here (39,500 <= 39,600), after the taker's sweep it runs:
      "triggered",
      `trade 39000 by ${id}`,
    ]);
    assert.equal(of_kind(ev, "trade").at(-1)?.quantity_lots, 2);
  });

  it("a trailing sell follows a rise inside a sweep: the sweep's last price is its new high", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    const id = new_id(f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, 30_000, 1, 100)));
    for (const d of [40_100, 40_200, 40_400]) f.run(limit(0, SIDE_SELL, usd(d), 1));
    f.run(limit(1, SIDE_BUY, usd(40_400), 3)); // high 40,400: fires at or below 39,996
    assert.deepEqual(walk(f, id, [40_000, 39_996.01, 39_996]), { fired: 39_996, started: null });
  });

  it("a stop-market buy locks at its trigger bound: stop × (1 + delta), or last price × (1 + delta) without a stop", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    f.run(trailing(2, SIDE_BUY, TYPE_STOP_LOSS, 0, 10, 500, 44_000));
    assert.equal(balance(f, 2, USDT).locked, usd(46_200) * 10 * K);
    f.run(trailing(2, SIDE_BUY, TYPE_TAKE_PROFIT, 0, 10, 200));
    assert.equal(balance(f, 2, USDT).locked, (usd(46_200) + usd(40_800)) * 10 * K);
    // a limit buy locks at its limit price, a sell its base, as plain stops do
    f.run(trailing(2, SIDE_BUY, TYPE_STOP_LOSS_LIMIT, 45_000, 1, 500, 44_000));
    f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 3, 500));
    assert.equal(balance(f, 2, USDT).locked, (usd(46_200) + usd(40_800)) * 10 * K + usd(45_000) * K);
    assert.equal(balance(f, 2, BTC).locked, 3 * LOT);
  });

  it("refusals: delta outside 10..2000 bips, on a non-stop type, a market buy with nothing to lock at, a stop price already met", () => {
    const f = fixture();
    const refused = (o: PlaceOrder) => reasons(f.run(o));
    assert.deepEqual(refused(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 9)), [
      R.REASON_FILTER_TRAILING_DELTA,
    ]);
    assert.deepEqual(refused(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 2001)), [
      R.REASON_FILTER_TRAILING_DELTA,
    ]);
    assert.deepEqual(refused(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 10.5)), [
      R.REASON_FILTER_TRAILING_DELTA,
    ]);
    assert.deepEqual(refused(trailing(2, SIDE_SELL, TYPE_LIMIT, 40_000, 1, 100)), [
      R.REASON_INVALID_PARAMETER,
    ]);
    // a plain stop still needs its stop price
    assert.deepEqual(refused(order(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1)), [R.REASON_FILTER_PRICE]);
    // no trade yet and no stop price: a market buy has no price to lock at
    assert.deepEqual(refused(trailing(2, SIDE_BUY, TYPE_STOP_LOSS, 0, 1, 100)), [
      R.REASON_TRAILING_NO_REFERENCE,
    ]);
    trade_at(f, usd(40_000));
    assert.deepEqual(refused(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 100, 41_000)), [
      R.REASON_WOULD_TRIGGER,
    ]);
    assert.deepEqual(balance(f, 2, USDT).locked + balance(f, 2, BTC).locked, 0);
    // trailing stops count toward MAX_NUM_ALGO_ORDERS with the plain ones (5 per account and market)
    for (let i = 0; i < 3; i++) f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 100));
    for (let i = 0; i < 2; i++)
      f.run(order(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, { stop_price_ticks: usd(30_000) }));
    assert.deepEqual(refused(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 100)), [
      R.REASON_FILTER_MAX_NUM_ALGO_ORDERS,
    ]);
  });

  it("trailing stops per market are bounded on their own (a trade that moves them passes over all)", () => {
    const f = fixture(3, { trailing_orders_per_market_max: 2 });
    trade_at(f, usd(40_000));
    f.run(trailing(0, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 100));
    f.run(trailing(1, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 100));
    assert.deepEqual(reasons(f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, 100))), [
      R.REASON_STOP_ORDERS_FULL,
    ]);
    // plain stops are not
    assert.deepEqual(
      reasons(f.run(order(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, { stop_price_ticks: usd(30_000) }))),
      [],
    );
    const restored = restore(snapshot(f.engine));
    assert.equal(restored.limits.trailing_orders_per_market_max, 2);
  });

  it("cancel releases it; amend releases lots at its lock price; expiring the market expires it", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    const a = new_id(f.run(trailing(2, SIDE_BUY, TYPE_STOP_LOSS, 0, 10, 500, 44_000)));
    const b = new_id(f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 4, 100)));
    const amended = f.run({
      type: "amend_order",
      ts_ms: 1000,
      account: 2,
      market: 0,
      order_id: a,
      client_order_id: null,
      new_client_order_id: "smaller",
      new_quantity_lots: 4,
    });
    assert.equal(of_kind(amended, "order_amended").length, 1);
    assert.equal(balance(f, 2, USDT).locked, usd(46_200) * 4 * K);
    const cancelled = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 2,
      market: 0,
      order_id: a,
      client_order_id: null,
    });
    assert.equal(last_status(cancelled, a), STATUS_CANCELED);
    assert.equal(balance(f, 2, USDT).locked, 0);
    assert.equal(f.engine.markets[0].trailing.size, 1);
    const expired = f.run({ type: "expire_market_orders", ts_ms: 1000, market: 0 });
    const update = of_kind(expired, "order_update").find((u) => u.order_id === b);
    assert.deepEqual([update?.status, update?.end_reason], [STATUS_EXPIRED, END_EXCHANGE]);
    assert.equal(f.engine.markets[0].trailing.size, 0);
    assert.equal(balance(f, 2, BTC).locked, 0);
  });

  it("a snapshot taken while orders track restores them: the same events and state hash from there on", () => {
    const f = fixture();
    trade_at(f, usd(40_000));
    f.run(trailing(2, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, 39_000, 1, 700)); // tracking
    f.run(trailing(2, SIDE_BUY, TYPE_STOP_LOSS_LIMIT, 45_000, 1, 500, 44_000)); // waiting for 44,000
    f.run(trailing(2, SIDE_BUY, TYPE_TAKE_PROFIT, 0, 1, 300, 38_000)); // waiting for 38,000
    trade_at(f, usd(41_000));
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    const g: Fixture = { ...f, engine: copy, run: (c) => copy.apply(c) };
    const path = [42_000, 44_000, 43_000, 38_000, 39_500, 36_000, 37_100, 45_000];
    for (const d of path) {
      assert.deepEqual(trade_at(g, usd(d)), trade_at(f, usd(d)), `at ${d}`);
      assert.equal(state_hash(copy), state_hash(f.engine));
    }
    assert.equal(f.engine.markets[0].trailing.size, 0, "all three fired on the way");
  });
});
