import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AddMarket } from "../../src/engine/commands.js";
import { price_text, quantity_text } from "../../src/engine/config.js";
import { Engine } from "../../src/engine/engine.js";
import * as R from "../../src/engine/reasons.js";
import { MARKET_TRADING, SIDE_BUY, TYPE_STOP_LOSS } from "../../src/engine/types.js";
import { Prng } from "../../src/sim/prng.js";
import { fixture, limit, market_commands, order, reasons } from "./helpers.js";

function engine_with_assets(): Engine {
  const e = new Engine();
  for (const c of market_commands().slice(0, 2)) e.apply(c);
  return e;
}

const base_market = market_commands()[2] as AddMarket;
const add = (e: Engine, over: Partial<AddMarket>) => e.apply({ ...base_market, symbol: "TEST", ...over });

describe("market configuration", () => {
  it("accepts BTCUSDT and derives exact integer units", () => {
    const e = engine_with_assets();
    assert.deepEqual(reasons(add(e, {})), []);
    const cfg = e.markets[0].config;
    assert.equal(cfg.quote_units_per_tick_lot, 10); // 0.01 * 0.00001 * 10^8
    assert.equal(cfg.lot_units, 1000);
    assert.equal(cfg.max_price_ticks, 10_000_000);
    assert.equal(cfg.max_qty_lots, 10_000_000);
    assert.equal(price_text(cfg, 2_000_050), "20000.50");
    assert.equal(quantity_text(cfg, 150), "0.00150");
  });

  it("prints prices and quantities exactly: every size, counts up to and past 2^53 (number and BigInt)", () => {
    const rng = new Prng(20261127);
    // the plain computation, all BigInt, that the float64 fast path must equal
    const want = (count: bigint, size: string): string => {
      const [whole, fraction = ""] = size.split(".");
      const scale = fraction.replace(/0+$/, "").length;
      const digits = BigInt(whole + fraction.slice(0, scale));
      const text = (count * digits).toString().padStart(scale + 1, "0");
      return scale === 0 ? text : `${text.slice(0, text.length - scale)}.${text.slice(text.length - scale)}`;
    };
    const sizes = ["1", "10", "0.01", "0.00001", "0.5", "0.00000001", "25", "0.0250", "100000"];
    for (let i = 0; i < 20_000; i++) {
      const size = sizes[rng.below(sizes.length)];
      const cfg = { ...base_market, tick_size: size, step_size: size } as unknown as Parameters<
        typeof price_text
      >[0];
      const magnitude = rng.below(4);
      const count =
        magnitude === 0
          ? rng.below(1000)
          : magnitude === 1
            ? rng.below(2 ** 30) * 2 ** 20 + rng.below(2 ** 20)
            : magnitude === 2
              ? Number.MAX_SAFE_INTEGER - rng.below(1000)
              : rng.below(2 ** 32);
      assert.equal(price_text(cfg, count), want(BigInt(count), size), `${count} × ${size}`);
      assert.equal(quantity_text(cfg, count), want(BigInt(count), size), `${count} × ${size}`);
      const big = BigInt(count) * 1000n + BigInt(rng.below(1000));
      assert.equal(quantity_text(cfg, big), want(big, size), `${big} × ${size}`);
    }
  });

  it("refuses markets whose arithmetic could lose precision or overflow", () => {
    const cases: [Partial<AddMarket>, RegExp][] = [
      [{ tick_size: "0.0000001", step_size: "0.00000001" }, /finer than the quote asset's precision/],
      [{ step_size: "0.000000001" }, /finer than the base asset's precision/],
      [{ max_price: "1000000000", max_qty: "1000" }, /overflows 2\^53-1/],
      [{ min_price: "0.015" }, /multiple of tick_size/],
      [{ max_qty: "1.000005" }, /multiple of step_size/],
      [{ min_price: "0" }, /at least one tick/],
      [{ max_price: "0.005" }, /multiple of tick_size/],
      [{ min_notional: "0.000000001" }, /finer than the quote/],
      [{ maker_fee_ppm: -1 }, /maker_fee_ppm/],
      [{ taker_fee_ppm: 1.5 }, /taker_fee_ppm/],
      [{ base: "DOGE" }, /unknown base asset/],
      [{ quote: "BTC" }, /base and quote must differ/],
      [{ symbol: "bad symbol" }, /symbol/],
      [{ tick_size: "abc" }, /tick_size/],
      [{ status: 9 as 0 }, /status/],
    ];
    for (const [over, pattern] of cases) {
      const e = engine_with_assets();
      const events = add(e, over);
      assert.equal(events.length, 1, JSON.stringify(over));
      const ev = events[0];
      assert.ok(ev.kind === "rejected" && ev.reason === R.REASON_INVALID_CONFIG, JSON.stringify(over));
      assert.match(ev.kind === "rejected" ? (ev.detail ?? "") : "", pattern, JSON.stringify(over));
      assert.equal(e.markets.length, 0);
    }
  });

  it("refuses duplicate assets, duplicate symbols and bad assets", () => {
    const e = engine_with_assets();
    add(e, {});
    assert.deepEqual(reasons(add(e, {})), [R.REASON_INVALID_CONFIG]);
    assert.deepEqual(
      reasons(e.apply({ type: "add_asset", ts_ms: 0, asset: "BTC", decimals: 8, supply_max_units: 1 })),
      [R.REASON_INVALID_CONFIG],
    );
    for (const bad of [
      { asset: "eth", decimals: 8, supply_max_units: 1 },
      { asset: "ETH", decimals: 19, supply_max_units: 1 },
      { asset: "ETH", decimals: 8, supply_max_units: 2 ** 53 },
      { asset: "ETH", decimals: 8, supply_max_units: 0 },
    ]) {
      assert.deepEqual(reasons(e.apply({ type: "add_asset", ts_ms: 0, ...bad })), [R.REASON_INVALID_CONFIG]);
    }
  });

  it("a market added later works for accounts made earlier", () => {
    const f = fixture(2);
    f.run({ type: "add_asset", ts_ms: 0, asset: "ETH", decimals: 8, supply_max_units: 10 ** 15 });
    f.run({ ...base_market, symbol: "ETHUSDT", base: "ETH", status: MARKET_TRADING });
    f.run({ type: "deposit", ts_ms: 0, account: 0, asset: 2, amount_units: 10 ** 9 });
    const ev = f.run({ ...limit(1, SIDE_BUY, 100_000, 10), market: 1 });
    assert.deepEqual(reasons(ev), []);
  });
});

describe("remaining refusals", () => {
  it("unknown symbol, per-account limit across markets, stop orders per market, malformed specs", () => {
    const f = fixture(3, { open_orders_per_account_max: 1, stop_orders_per_market_max: 1 });
    assert.deepEqual(reasons(f.run({ ...limit(0, SIDE_BUY, 100, 10), market: 5 })), [
      R.REASON_UNKNOWN_SYMBOL,
    ]);
    f.run(limit(0, SIDE_BUY, 100_000, 10));
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, 100_001, 10))), [
      R.REASON_FILTER_EXCHANGE_MAX_NUM_ORDERS,
    ]);
    f.run(order(1, SIDE_BUY, TYPE_STOP_LOSS, 0, 10, { stop_price_ticks: 2_000_000 }));
    assert.deepEqual(
      reasons(f.run(order(2, SIDE_BUY, TYPE_STOP_LOSS, 0, 10, { stop_price_ticks: 2_000_000 }))),
      [R.REASON_STOP_ORDERS_FULL],
    );
    assert.deepEqual(reasons(f.run({ ...limit(1, SIDE_BUY, 100, 10), side: 7 as 0 })), [
      R.REASON_INVALID_PARAMETER,
    ]);
    assert.deepEqual(
      reasons(f.run({ ...limit(1, SIDE_BUY, 100, 10), client_order_id: "no spaces allowed" })),
      [R.REASON_INVALID_PARAMETER],
    );
    assert.deepEqual(reasons(f.run({ ...limit(1, SIDE_BUY, 100, 10), quote_units: 5 })), [
      R.REASON_INVALID_PARAMETER,
    ]);
  });
});
