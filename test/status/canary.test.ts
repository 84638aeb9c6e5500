/** The canary's order: rests at the bottom of the book, on the tick and step grids, at the minimum notional. */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CANARY_KEY_FILE } from "../../src/demo/setup.js";
import { band_floor, canary_order, read_canary_key, run_canary } from "../../src/status/canary.js";
import { demo_node } from "../helpers/nodes.js";

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

  it("on a real node: a canary order left resting (a node killed before its cancel) is swept first", async () => {
    const handle = await demo_node("hf-canary-");
    try {
      const base = `http://127.0.0.1:${handle.running.port}`;
      const key = read_canary_key(join(handle.dir, CANARY_KEY_FILE));
      const signed = async (method: string, path: string, params: Record<string, string>) => {
        const text = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
        const signature = createHmac("sha256", key.secretKey).update(text).digest("hex");
        const r = await fetch(`${base}${path}?${text}&signature=${signature}`, {
          method,
          headers: { "X-MBX-APIKEY": key.apiKey },
        });
        return (await r.json()) as Record<string, unknown>[] & Record<string, unknown>;
      };
      const info = (await (await fetch(`${base}/api/v3/exchangeInfo`)).json()) as {
        symbols: Parameters<typeof run_canary>[2];
      };
      const symbol = key.symbols[0];
      // what a canary round leaves when the node dies between its order and the cancel
      const orphan = await signed("POST", "/api/v3/order", {
        symbol,
        side: "BUY",
        type: "LIMIT_MAKER",
        price: "1000.00",
        quantity: "0.01",
        newClientOrderId: "canary-orphan",
      });
      assert.equal(typeof orphan.orderId, "number", JSON.stringify(orphan));
      assert.equal((await signed("GET", "/api/v3/openOrders", { symbol })).length, 1);
      const r = await run_canary(base, key, info.symbols, 5000);
      assert.equal(r?.ok, true, JSON.stringify(r));
      const open = await signed("GET", "/api/v3/openOrders", { symbol });
      assert.deepEqual(open, []);
      const all = await signed("GET", "/api/v3/allOrders", { symbol });
      assert.deepEqual(
        all.map((o) => [String(o.clientOrderId).startsWith("canary-"), o.status]),
        [
          [true, "CANCELED"],
          [true, "CANCELED"],
        ],
      );
    } finally {
      await handle.remove();
    }
  });
});
