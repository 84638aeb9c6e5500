/**
 * Binance's NOTIONAL filter on MARKET orders (exchangeInfo: applyMinToMarket true, avgPriceMins 0):
 * a MARKET order by quantity is refused when quantity × the last price is below minNotional; none
 * before the market's first trade; an order journaled before command format 12 was not held to it.
 * The fixture's BTCUSDT has minNotional 0.0001 USDT = 10,000 units and one lot at one tick is 10.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FORMAT_MARKET_NOTIONAL } from "../../src/engine/commands.js";
import * as R from "../../src/engine/reasons.js";
import { SIDE_BUY, SIDE_SELL, STATUS_EXPIRED, TYPE_MARKET } from "../../src/engine/types.js";
import {
  BTC,
  balance,
  type Fixture,
  fixture,
  last_status,
  limit,
  new_id,
  of_kind,
  order,
  reasons,
  USDT,
} from "./helpers.js";

const P = 100; // a last price of 1.00 USDT: one lot there is 1,000 units, a tenth of minNotional

/** A market whose last price is `price_ticks`: accounts 1 and 2 traded 100 lots there. */
function traded_at(price_ticks: number): Fixture {
  const f = fixture();
  f.run(limit(1, SIDE_SELL, price_ticks, 100));
  const ev = f.run(limit(2, SIDE_BUY, price_ticks, 100));
  assert.equal(of_kind(ev, "trade").length, 1);
  return f;
}

describe("NOTIONAL on MARKET orders", () => {
  it("a MARKET order by quantity below minNotional at the last price is refused and changes nothing", () => {
    const f = traded_at(P);
    f.run(limit(2, SIDE_BUY, P, 100)); // a bid to sell into
    const btc = balance(f, 0, BTC);
    const usdt = balance(f, 0, USDT);
    for (const side of [SIDE_SELL, SIDE_BUY] as const) {
      const ev = f.run(order(0, side, TYPE_MARKET, 0, 9));
      assert.deepEqual(reasons(ev), [R.REASON_FILTER_NOTIONAL], `${side}: 9 lots × 1.00 = 0.00009 USDT`);
      assert.equal(of_kind(ev, "order_new").length, 0);
    }
    assert.deepEqual(balance(f, 0, BTC), btc);
    assert.deepEqual(balance(f, 0, USDT), usdt);
    // exactly minNotional passes, and trades
    const ok = f.run(order(0, SIDE_SELL, TYPE_MARKET, 0, 10));
    assert.deepEqual(reasons(ok), []);
    assert.equal(of_kind(ok, "trade").length, 1);
  });

  it("the last price moves the minimum; a quoteOrderQty is held to it as before", () => {
    const f = traded_at(P);
    // a trade at 4.00 (within PERCENT_PRICE_BY_SIDE's 5 ×): a lot is 4,000 units there
    f.run(limit(1, SIDE_SELL, 4 * P, 3));
    assert.equal(of_kind(f.run(limit(2, SIDE_BUY, 4 * P, 3)), "trade").length, 1);
    assert.deepEqual(reasons(f.run(order(0, SIDE_SELL, TYPE_MARKET, 0, 2))), [R.REASON_FILTER_NOTIONAL]);
    const ev = f.run(order(0, SIDE_SELL, TYPE_MARKET, 0, 3));
    assert.deepEqual(reasons(ev), [], "3 lots × 4.00 = 0.00012 USDT, above minNotional");
    assert.equal(last_status(ev, new_id(ev)), STATUS_EXPIRED, "no bid: nothing to trade with");
    const quote = f.run(order(0, SIDE_BUY, TYPE_MARKET, 0, 0, { quote_units: 9_999 }));
    assert.deepEqual(reasons(quote), [R.REASON_FILTER_NOTIONAL]);
  });

  it("at the reference price when the market has one (Binance: filters use it when it is non-null)", () => {
    const f = fixture();
    // the price range's calculation without its bounds (multipliers 0: not enforced), so the trades
    // below are not held to them
    f.run({
      type: "set_price_range",
      ts_ms: f.now,
      market: 0,
      bucket_count: 80,
      bucket_width_ms: 3750,
      bid_up_e4: 0,
      bid_down_e4: 0,
      ask_up_e4: 0,
      ask_down_e4: 0,
    });
    for (const [price, lots] of [
      [P, 100],
      [4 * P, 3],
    ]) {
      f.run(limit(1, SIDE_SELL, price, lots));
      assert.equal(of_kind(f.run(limit(2, SIDE_BUY, price, lots)), "trade").length, 1);
    }
    // the reference is the mean trade price, 2.50; the last price is 4.00
    assert.equal(f.engine.markets[0].price_range?.reference_e4(f.now), 250 * 10_000);
    const ev = f.run(order(0, SIDE_SELL, TYPE_MARKET, 0, 3));
    assert.deepEqual(
      reasons(ev),
      [R.REASON_FILTER_NOTIONAL],
      "3 lots × 2.50 = 7,500 units; at 4.00 it would pass",
    );
    assert.deepEqual(
      reasons(f.run(order(0, SIDE_SELL, TYPE_MARKET, 0, 4))),
      [],
      "4 lots × 2.50 = minNotional",
    );
  });

  it("no last price, no minimum; an order of an older format had none", () => {
    const fresh = fixture();
    const ev = fresh.run(order(0, SIDE_SELL, TYPE_MARKET, 0, 1));
    assert.deepEqual(reasons(ev), [], "before the first trade there is no price to hold it to");
    const f = traded_at(P);
    const older = f.run({ ...order(0, SIDE_SELL, TYPE_MARKET, 0, 1), format: FORMAT_MARKET_NOTIONAL - 1 });
    assert.deepEqual(reasons(older), [], "replayed from an older journal: accepted as it was then");
  });
});
