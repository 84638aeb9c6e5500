/**
 * Binance's PERCENT_PRICE_BY_SIDE filter, with avgPriceMins 0 (against the last price): a buy's limit
 * price within [last × bidMultiplierDown, last × bidMultiplierUp], a sell's within the ask band
 * (EngineLimits.percent_price_*_ppm; Binance's BTCUSDT values 5 and 0.2 by default). No band before
 * the market's first trade; an order journaled before command format 11 has none either.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as R from "../../src/engine/reasons.js";
import {
  PEG_MARKET,
  SIDE_BUY,
  SIDE_SELL,
  STATUS_EXPIRED,
  TYPE_STOP_LOSS_LIMIT,
} from "../../src/engine/types.js";
import { fixture, last_status, limit, new_id, order, reasons, traded_at } from "./helpers.js";

const P = 500_000; // 5,000 USDT: five times it is within PRICE_FILTER (at most 100,000)

describe("PERCENT_PRICE_BY_SIDE", () => {
  it("a limit price within its side's band around the last price; none before the first trade", () => {
    const fresh = fixture();
    assert.deepEqual(reasons(fresh.run(limit(0, SIDE_BUY, 10 * P, 1))), [], "no last price: no band");
    const f = traded_at(P);
    const band = R.REASON_FILTER_PERCENT_PRICE_BY_SIDE;
    // buy: 0.2 P .. 5 P; sell: the same by default
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, 5 * P + 1, 1))), [band]);
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, P / 5 - 1, 1))), [band]);
    assert.deepEqual(reasons(f.run(limit(0, SIDE_SELL, P / 5 - 1, 1))), [band]);
    assert.deepEqual(reasons(f.run(limit(0, SIDE_SELL, 5 * P + 1, 1))), [band]);
    for (const [side, price] of [
      [SIDE_BUY, 5 * P],
      [SIDE_BUY, P / 5],
      [SIDE_SELL, 5 * P],
    ] as const)
      assert.deepEqual(reasons(f.run(limit(0, side, price, 1))), [], `${side} at ${price}`);
    // a stop-limit order's limit price too
    assert.deepEqual(
      reasons(f.run(order(0, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, P / 10, 1, { stop_price_ticks: P - 100 }))),
      [band],
    );
    // an order of an older format (replayed from an older journal) had no band
    assert.deepEqual(reasons(f.run({ ...limit(0, SIDE_SELL, P / 10, 1), format: 10 })), []);
  });

  it("the bands are the engine's limits, one per side", () => {
    const f = fixture(3, { percent_price_bid_up_ppm: 1_100_000, percent_price_ask_down_ppm: 900_000 });
    f.run(limit(1, SIDE_SELL, P, 1));
    f.run(limit(2, SIDE_BUY, P, 1));
    const band = R.REASON_FILTER_PERCENT_PRICE_BY_SIDE;
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, (P * 11) / 10 + 1, 1))), [band]);
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, (P * 11) / 10, 1))), []);
    assert.deepEqual(reasons(f.run(limit(0, SIDE_SELL, (P * 9) / 10 - 1, 1))), [band]);
    assert.deepEqual(reasons(f.run(limit(0, SIDE_SELL, 4 * P, 1))), [], "the ask band's top is still 5");
  });

  it("a pegged order going to work later expires if the book's price is out of the band then", () => {
    const f = traded_at(P);
    // a bid far below the band (by an order of an older format, which had none)
    assert.deepEqual(reasons(f.run({ ...limit(1, SIDE_BUY, P / 10, 1), format: 10 })), []);
    // a sell stop-limit pegged to the best bid when triggered
    const id = new_id(
      f.run(
        order(0, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, 0, 1, { stop_price_ticks: P - 100, peg_type: PEG_MARKET }),
      ),
    );
    f.run(limit(2, SIDE_BUY, P - 100, 1));
    const events = f.run(limit(1, SIDE_SELL, P - 100, 1)); // trades at P - 100: triggers it
    assert.equal(
      last_status(events, id),
      STATUS_EXPIRED,
      "the best bid, P/10, is below 0.2 × the last price",
    );
  });
});
