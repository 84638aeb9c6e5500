/** The canary's order: rests at the bottom of the book, on the tick and step grids, at the minimum notional. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { band_floor, canary_order } from "../../src/status/canary.js";

const BTCUSDT = {
  minPrice: "0.01000000",
  tickSize: "0.01000000",
  minQty: "0.00001000",
  maxQty: "9000.00000000",
  stepSize: "0.00001000",
  minNotional: "5.00000000",
};

describe("canary order", () => {
  it("lowest price, smallest quantity that meets the notional filter", () => {
    assert.deepEqual(canary_order(BTCUSDT), { price: "0.01000000", quantity: "500.00000000" });
    assert.deepEqual(canary_order({ ...BTCUSDT, minPrice: "0" }), {
      price: "0.01000000",
      quantity: "500.00000000",
    });
    assert.deepEqual(canary_order({ ...BTCUSDT, minNotional: "10", minPrice: "3" }), {
      price: "3.00000000",
      quantity: "3.33334000",
    });
  });

  it("a market that has traded: above its PERCENT_PRICE_BY_SIDE bound, with room", () => {
    // last 65,000, bidMultiplierDown 0.2: the bound is 13,000, the floor halfway to the last price
    assert.equal(band_floor("65000.00000000", "0.2"), "39000.00000000");
    assert.equal(band_floor("0.00000000", "0.2"), null, "no trade yet: no band");
    assert.deepEqual(canary_order(BTCUSDT, band_floor("65000", "0.2")), {
      price: "39000.00000000",
      quantity: "0.00013000",
    });
    // a floor below what the filters allow anyway changes nothing
    assert.deepEqual(
      canary_order({ ...BTCUSDT, minPrice: "3" }, "1"),
      canary_order({ ...BTCUSDT, minPrice: "3" }),
    );
  });

  it("a quantity cap raises the price instead", () => {
    assert.deepEqual(canary_order({ ...BTCUSDT, maxQty: "100" }), {
      price: "0.05000000",
      quantity: "100.00000000",
    });
    // 7 × 0.72 = 5.04 ≥ 5 with the price on the 0.01 grid
    assert.deepEqual(canary_order({ ...BTCUSDT, maxQty: "7.5", stepSize: "1" }), {
      price: "0.72000000",
      quantity: "7.00000000",
    });
  });
});
