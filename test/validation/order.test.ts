import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Engine } from "../../src/engine/engine.js";
import * as R from "../../src/engine/reasons.js";
import {
  SIDE_BUY,
  SIDE_SELL,
  TIF_IOC,
  TYPE_LIMIT,
  TYPE_MARKET,
  TYPE_STOP_LOSS_LIMIT,
} from "../../src/engine/types.js";
import { type MarketFacts, validate_order } from "../../src/validation/order.js";
import { seed } from "../engine/gen.js";
import { market_commands } from "../engine/helpers.js";

function engine_with_market(): { engine: Engine; facts: MarketFacts } {
  const engine = new Engine();
  for (const c of market_commands()) engine.apply(c);
  engine.apply({ type: "create_account", ts_ms: 0 });
  engine.apply({ type: "deposit", ts_ms: 0, account: 0, asset: 0, amount_units: 2_000_000_000_000_000 });
  engine.apply({ type: "deposit", ts_ms: 0, account: 0, asset: 1, amount_units: 9_000_000_000_000_000 });
  const m = engine.markets[0];
  return { engine, facts: { config: m.config, base_decimals: 8, quote_decimals: 8 } };
}

const { facts } = engine_with_market();
const err = (params: Record<string, string>) => {
  const r = validate_order(params, facts);
  assert.equal(r.ok, false, `expected an error for ${JSON.stringify(params)}`);
  return r.ok ? null : r.error;
};

describe("order validator", () => {
  it("turns a valid LIMIT into engine units", () => {
    const r = validate_order(
      {
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        quantity: "0.00150",
        price: "20000.50",
        newClientOrderId: "abc-1",
      },
      facts,
    );
    assert.deepEqual(r, {
      ok: true,
      spec: {
        side: SIDE_BUY,
        order_type: TYPE_LIMIT,
        tif: TIF_IOC,
        price_ticks: 2_000_050,
        quantity_lots: 150,
        quote_units: 0,
        stop_price_ticks: 0,
        client_order_id: "abc-1",
        stp: -1,
      },
    });
  });

  it("takes MARKET by quantity or by quoteOrderQty, and stop-limit orders", () => {
    const by_quote = validate_order({ side: "BUY", type: "MARKET", quoteOrderQty: "100.5" }, facts);
    assert.ok(
      by_quote.ok && by_quote.spec.order_type === TYPE_MARKET && by_quote.spec.quote_units === 10_050_000_000,
    );
    const stop = validate_order(
      {
        side: "SELL",
        type: "STOP_LOSS_LIMIT",
        timeInForce: "GTC",
        quantity: "1",
        price: "100",
        stopPrice: "101",
      },
      facts,
    );
    assert.ok(
      stop.ok && stop.spec.order_type === TYPE_STOP_LOSS_LIMIT && stop.spec.stop_price_ticks === 10_100,
    );
    assert.ok(stop.ok && stop.spec.side === SIDE_SELL);
  });

  it("takes all six of Binance's self-trade prevention modes by name, and nothing else", () => {
    const base = { side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "1", price: "100" };
    const modes = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT", "TRANSFER"];
    modes.forEach((mode, i) => {
      const r = validate_order({ ...base, selfTradePreventionMode: mode }, facts);
      assert.ok(r.ok && r.spec.stp === i, mode);
    });
    for (const bad of ["decrement", "TRANSFER ", "6"])
      assert.deepEqual(err({ ...base, selfTradePreventionMode: bad }), {
        code: -1100,
        msg: "Invalid selfTradePreventionMode.",
      });
  });

  it("answers Binance's codes and messages", () => {
    assert.deepEqual(err({ type: "LIMIT" }), {
      code: -1102,
      msg: "Mandatory parameter 'side' was not sent, was empty/null, or malformed.",
    });
    assert.deepEqual(err({ side: "UP", type: "LIMIT" }), { code: -1117, msg: "Invalid side." });
    assert.deepEqual(err({ side: "BUY", type: "ICEBERG" }), { code: -1116, msg: "Invalid orderType." });
    // pegged orders (Binance's "Notes on using parameters for Pegged Orders")
    const peg_limit = { side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "1" };
    const pegs: [Record<string, string>, number, string][] = [
      [
        { pegOffsetValue: "1", pegOffsetType: "PRICE_LEVEL" },
        -1106,
        "Parameter 'pegOffsetType' sent when not required.",
      ],
      [
        { pegPriceType: "BEST" },
        -1100,
        "Illegal characters found in parameter 'pegPriceType'; legal range is 'PRIMARY_PEG, MARKET_PEG'.",
      ],
      [
        { pegPriceType: "PRIMARY_PEG", pegOffsetValue: "1" },
        -1128,
        "Fields [pegOffsetType, pegOffsetValue] must be sent together or omitted entirely.",
      ],
      [
        { pegPriceType: "PRIMARY_PEG", pegOffsetType: "LEVEL", pegOffsetValue: "1" },
        -1100,
        "Illegal characters found in parameter 'pegOffsetType'; legal range is 'PRICE_LEVEL'.",
      ],
      [
        { pegPriceType: "PRIMARY_PEG", pegOffsetType: "PRICE_LEVEL", pegOffsetValue: "101" },
        -1100,
        "Illegal characters found in parameter 'pegOffsetValue'; legal range is '0 - 100'.",
      ],
      [{ pegPriceType: "PRIMARY_PEG", timeInForce: "IOC" }, -2010, "Unsupported order combination"],
      [
        { pegPriceType: "MARKET_PEG", type: "LIMIT_MAKER", timeInForce: "" },
        -2010,
        "Unsupported order combination",
      ],
      [
        { pegPriceType: "MARKET_PEG", type: "MARKET", timeInForce: "" },
        -1106,
        "Parameter 'pegPriceType' sent when not required.",
      ],
      // a price sent with a peg must pass the filters too
      [{ pegPriceType: "MARKET_PEG", price: "0.001" }, -1013, "Filter failure: PRICE_FILTER"],
    ];
    for (const [peg, code, msg] of pegs)
      assert.deepEqual(err({ ...peg_limit, ...peg }), { code, msg }, JSON.stringify(peg));
    // a pegged order needs no price: the engine takes it from the book
    const pegged = validate_order(
      { ...peg_limit, pegPriceType: "MARKET_PEG", pegOffsetType: "PRICE_LEVEL", pegOffsetValue: "2" },
      facts,
    );
    assert.deepEqual(
      pegged.ok && [pegged.spec.price_ticks, pegged.spec.peg_type, pegged.spec.peg_offset_levels],
      [0, 2, 2],
    );
    assert.deepEqual(err({ side: "BUY", type: "LIMIT", quantity: "1", price: "1" })?.code, -1102);
    assert.deepEqual(err({ side: "BUY", type: "LIMIT", timeInForce: "DAY", quantity: "1", price: "1" }), {
      code: -1115,
      msg: "Invalid timeInForce.",
    });
    assert.deepEqual(err({ side: "BUY", type: "MARKET", quantity: "1", price: "1" }), {
      code: -1106,
      msg: "Parameter 'price' sent when not required.",
    });
    assert.deepEqual(
      err({ side: "BUY", type: "LIMIT_MAKER", timeInForce: "GTC", quantity: "1", price: "1" })?.code,
      -1106,
    );
    assert.deepEqual(err({ side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "1", price: "1,5" }), {
      code: -1100,
      msg: "Illegal characters found in parameter 'price'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    });
    for (const bad of ["-1", "1e3", " 1", "NaN", "0x10", "<script>"]) {
      assert.equal(
        err({ side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: bad, price: "1" })?.code,
        -1100,
      );
    }
    assert.deepEqual(
      err({ side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "1", price: "1.000000001" }),
      {
        code: -1111,
        msg: "Precision is over the maximum defined for this asset.",
      },
    );
    assert.deepEqual(err({ side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "1", price: "1.005" }), {
      code: -1013,
      msg: "Filter failure: PRICE_FILTER",
    });
    assert.deepEqual(
      err({ side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "1", price: "100001" })?.msg,
      "Filter failure: PRICE_FILTER",
    );
    assert.deepEqual(
      err({ side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "0.000015", price: "1" })?.msg,
      "Filter failure: LOT_SIZE",
    );
    assert.deepEqual(
      err({ side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "101", price: "1" })?.msg,
      "Filter failure: LOT_SIZE",
    );
    assert.deepEqual(
      err({ side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "0", price: "1" })?.msg,
      "Filter failure: LOT_SIZE",
    );
    assert.deepEqual(
      err({ side: "BUY", type: "MARKET", quantity: "101" })?.msg,
      "Filter failure: MARKET_LOT_SIZE",
    );
    assert.deepEqual(
      err({ side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "0.00001", price: "0.01" })?.msg,
      "Filter failure: NOTIONAL",
    );
    assert.deepEqual(err({ side: "BUY", type: "MARKET", quantity: "1", quoteOrderQty: "5" })?.code, -1106);
    assert.equal(
      err({
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "1",
        price: "1",
        newClientOrderId: "bad id!",
      })?.code,
      -1100,
    );
    assert.deepEqual(err({ side: "BUY", type: "STOP_LOSS", quantity: "1" }), {
      code: -1102,
      msg: "Param 'stopPrice' or 'trailingDelta' must be sent, but both were empty/null!",
    });
    // an iceberg: a GTC order with a limit price showing icebergQty (LOT_SIZE) at a time, less than
    // its quantity, in at most 10 parts (ICEBERG_PARTS); Binance's matching-engine messages
    const limit = { side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "1", price: "1" };
    const ice = validate_order({ ...limit, icebergQty: "0.1" }, facts);
    assert.ok(ice.ok);
    assert.equal(ice.spec.iceberg_lots, 10_000);
    assert.ok(
      validate_order({ ...limit, type: "LIMIT_MAKER", timeInForce: "", icebergQty: "0.5" }, facts).ok,
    );
    const rejected = (msg: string) => ({ code: -2010, msg });
    assert.deepEqual(err({ ...limit, icebergQty: "1" }), rejected("IcebergQty exceeds QTY."));
    assert.deepEqual(err({ ...limit, icebergQty: "0.09999" }), {
      code: -1013,
      msg: "Filter failure: ICEBERG_PARTS",
    });
    assert.deepEqual(
      err({ ...limit, timeInForce: "IOC", icebergQty: "0.5" }),
      rejected("Unsupported order combination"),
    );
    assert.deepEqual(
      err({ side: "BUY", type: "MARKET", quantity: "1", icebergQty: "0.5" }),
      rejected("Unsupported order combination"),
    );
    assert.deepEqual(err({ ...limit, icebergQty: "0.000001" }), {
      code: -1013,
      msg: "Filter failure: LOT_SIZE",
    });
    assert.equal(err({ ...limit, icebergQty: "1e3" })?.code, -1100);
    const plain_limit = validate_order(limit, facts);
    assert.ok(plain_limit.ok && !("iceberg_lots" in plain_limit.spec));
    // a trailing stop: trailingDelta (bips) within the TRAILING_DELTA filter, stopPrice then optional
    const stop = { side: "SELL", type: "STOP_LOSS", quantity: "1", stopPrice: "1" };
    const trailing = validate_order({ ...stop, trailingDelta: "100" }, facts);
    assert.ok(trailing.ok);
    assert.deepEqual([trailing.spec.trailing_delta_bips, trailing.spec.stop_price_ticks > 0], [100, true]);
    const { stopPrice: _s, ...no_stop } = stop;
    const tracking = validate_order({ ...no_stop, trailingDelta: "2000" }, facts);
    assert.ok(tracking.ok);
    assert.deepEqual([tracking.spec.trailing_delta_bips, tracking.spec.stop_price_ticks], [2000, 0]);
    for (const bips of ["9", "2001", "0", "9999999999999999999"])
      assert.deepEqual(err({ ...stop, trailingDelta: bips }), {
        code: -1013,
        msg: "Filter failure: TRAILING_DELTA",
      });
    for (const bad of ["-5", "1.5", "1e2", "x"])
      assert.equal(err({ ...stop, trailingDelta: bad })?.code, -1100, bad);
    assert.deepEqual(err({ ...limit, trailingDelta: "100" }), {
      code: -1106,
      msg: "Parameter 'trailingDelta' sent when not required.",
    });
    assert.ok(!("trailing_delta_bips" in (validate_order(stop, facts) as { spec: object }).spec));
    // strategy labels: strategyId a LONG (here what an exact integer holds), strategyType an INT of
    // at least 1,000,000
    assert.deepEqual(err({ ...limit, strategyType: "999999" }), {
      code: -1134,
      msg: "strategyType was less than 1000000.",
    });
    assert.equal(err({ ...limit, strategyType: "-5" })?.code, -1134);
    for (const bad of ["2147483648", "1e6", "1000000.0", "x"])
      assert.equal(err({ ...limit, strategyType: bad })?.code, -1100, bad);
    for (const bad of ["-1", "1.5", "9007199254740992", "12345678901234567", "0x1"])
      assert.equal(err({ ...limit, strategyId: bad })?.code, -1100, bad);
    const labelled = validate_order({ ...limit, strategyId: "0", strategyType: "1000000" }, facts);
    assert.ok(labelled.ok);
    assert.deepEqual([labelled.spec.strategy_id, labelled.spec.strategy_type], [0, 1_000_000]);
    const plain = validate_order(limit, facts);
    assert.ok(plain.ok && !("strategy_id" in plain.spec) && !("strategy_type" in plain.spec));
  });

  it("never throws, and everything it accepts passes the engine's own shape checks", () => {
    const { engine } = engine_with_market();
    const decimal = fc.oneof(
      fc.constantFrom(
        "",
        "0",
        "1",
        "0.01",
        "0.00001",
        "100000",
        "100000.01",
        "1e3",
        "-1",
        "abc",
        "0.000000001",
      ),
      fc.tuple(fc.nat(200_000), fc.nat(99_999)).map(([a, b]) => `${a}.${String(b).padStart(5, "0")}`),
      fc
        .tuple(fc.integer({ min: 1, max: 5000 }), fc.nat(99))
        .map(([a, b]) => `${a}.${String(b).padStart(2, "0")}`),
      fc.tuple(fc.nat(3), fc.nat(99_999)).map(([a, b]) => `${a}.${String(b).padStart(5, "0")}`),
    );
    const params = fc.record(
      {
        side: fc.constantFrom("BUY", "SELL", "BUY", "SELL", "BUY", "SELL", "buy", ""),
        type: fc.constantFrom(
          "LIMIT",
          "MARKET",
          "LIMIT_MAKER",
          "STOP_LOSS",
          "STOP_LOSS_LIMIT",
          "TAKE_PROFIT",
          "TAKE_PROFIT_LIMIT",
          "X",
        ),
        timeInForce: fc.constantFrom("GTC", "IOC", "FOK", "GTC", "IOC", "FOK", "GTX"),
        quantity: decimal,
        quoteOrderQty: decimal,
        price: decimal,
        stopPrice: decimal,
        trailingDelta: fc.constantFrom("10", "100", "2000", "9", "2001", "1.5", ""),
        icebergQty: decimal,
        newClientOrderId: fc.oneof(
          { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
          { weight: 3, arbitrary: fc.constantFrom("ok-1", "x_2", "A.B:C/d") },
        ),
        selfTradePreventionMode: fc.constantFrom(
          "NONE",
          "EXPIRE_TAKER",
          "EXPIRE_MAKER",
          "EXPIRE_BOTH",
          "NONE",
          "DECREMENT",
          "TRANSFER",
          "REDUCE",
        ),
      },
      { requiredKeys: [] },
    );
    // Mostly the keys each type takes (so many orders are valid), sometimes every key (so many are not).
    const wanted: Record<string, string[]> = {
      LIMIT: ["timeInForce", "quantity", "price"],
      MARKET: ["quantity"],
      LIMIT_MAKER: ["quantity", "price"],
      STOP_LOSS: ["quantity", "stopPrice"],
      STOP_LOSS_LIMIT: ["timeInForce", "quantity", "price", "stopPrice"],
      TAKE_PROFIT: ["quantity", "stopPrice"],
      TAKE_PROFIT_LIMIT: ["timeInForce", "quantity", "price", "stopPrice"],
    };
    const shaped = fc.tuple(params, fc.nat(9), fc.boolean()).map(([given, noise, quote]) => {
      if (noise === 0) return given;
      // half the icebergs kept have a quantity and part that fit (10 parts at most)
      const p =
        noise === 9
          ? {
              ...given,
              quantity: "1",
              timeInForce: "GTC",
              icebergQty: ["0.5", "0.2", "0.25", "0.1", "0.09", "1"][(given.icebergQty ?? "").length % 6],
            }
          : given;
      const keep = new Set([
        "side",
        "type",
        "newClientOrderId",
        "selfTradePreventionMode",
        ...(wanted[p.type ?? ""] ?? []),
      ]);
      if (p.type === "MARKET" && quote) {
        keep.delete("quantity");
        keep.add("quoteOrderQty");
      }
      // a fifth of them icebergs (most of those refused: icebergQty is random)
      if (noise >= 8) keep.add("icebergQty");
      // stop types: half of them trailing, and half of those without a stop price
      if (p.type?.startsWith("STOP") === true || p.type?.startsWith("TAKE") === true) {
        if (quote) keep.add("trailingDelta");
        if (quote && noise % 2 === 1) keep.delete("stopPrice");
      }
      return Object.fromEntries(Object.entries(p).filter(([k]) => keep.has(k)));
    });
    const shape_reasons = new Set([
      R.REASON_INVALID_PARAMETER,
      R.REASON_FILTER_PRICE,
      R.REASON_FILTER_LOT_SIZE,
      R.REASON_FILTER_NOTIONAL,
      R.REASON_FILTER_TRAILING_DELTA,
      R.REASON_UNSUPPORTED_ORDER,
      R.REASON_ICEBERG_EXCEEDS_QTY,
      R.REASON_FILTER_ICEBERG_PARTS,
    ]);
    let accepted = 0;
    let trailing = 0;
    let icebergs = 0;
    fc.assert(
      fc.property(shaped, (p) => {
        const r = validate_order(p, facts);
        if (!r.ok) {
          assert.ok(Number.isInteger(r.error.code) && r.error.code < 0 && r.error.msg.length > 0);
          return;
        }
        accepted++;
        if (r.spec.trailing_delta_bips !== undefined) trailing++;
        if (r.spec.iceberg_lots !== undefined) icebergs++;
        const events = engine.apply({
          type: "place_order",
          ts_ms: 1,
          account: 0,
          market: 0,
          ...r.spec,
          client_order_id: null,
        });
        for (const e of events)
          if (e.kind === "rejected")
            assert.ok(!shape_reasons.has(e.reason), `engine refused ${JSON.stringify(p)}: ${e.reason}`);
      }),
      { seed: seed(), numRuns: 3000 },
    );
    assert.ok(accepted > 50, `only ${accepted} random orders were valid`);
    assert.ok(trailing > 10, `only ${trailing} random trailing stops were valid`);
    assert.ok(icebergs > 5, `only ${icebergs} random icebergs were valid`);
  });
});
