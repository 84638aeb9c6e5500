import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  END_FUNDS,
  END_NO_LIQUIDITY,
  SIDE_BUY,
  SIDE_SELL,
  STATUS_CANCELED,
  STATUS_EXPIRED,
  STATUS_FILLED,
  STATUS_PARTIALLY_FILLED,
  TIF_FOK,
  TIF_IOC,
  TYPE_LIMIT,
  TYPE_LIMIT_MAKER,
  TYPE_MARKET,
  TYPE_STOP_LOSS,
  TYPE_STOP_LOSS_LIMIT,
  TYPE_TAKE_PROFIT,
  TYPE_TAKE_PROFIT_LIMIT,
} from "../../src/engine/types.js";
import {
  BTC,
  BTCUSDT,
  balance,
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

const BTC0 = 10 * 1e8;
const USDT0 = 1_000_000 * 1e8;
const P = 2_000_000; // 20,000.00 USDT

describe("LIMIT orders", () => {
  it("rest, then match at the maker's price with the improvement refunded and fees in the asset received", () => {
    const f = fixture();
    const sell = new_id(f.run(limit(0, SIDE_SELL, P, 100)));
    assert.deepEqual(balance(f, 0, BTC), { free: BTC0 - 100 * LOT, locked: 100 * LOT });
    const ev = f.run(limit(1, SIDE_BUY, P + 100, 60));
    const buy = new_id(ev);
    const [trade] = of_kind(ev, "trade");
    assert.equal(trade.price_ticks, P);
    assert.equal(trade.quantity_lots, 60);
    assert.equal(trade.quote_units, P * 60 * K);
    assert.equal(trade.taker_fee_units, (60 * LOT * 2000) / 1e6);
    assert.equal(trade.maker_fee_units, (P * 60 * K * 1000) / 1e6);
    assert.equal(last_status(ev, buy), STATUS_FILLED);
    assert.equal(last_status(ev, sell), STATUS_PARTIALLY_FILLED);
    assert.deepEqual(balance(f, 1, USDT), { free: USDT0 - P * 60 * K, locked: 0 });
    assert.deepEqual(balance(f, 1, BTC), { free: BTC0 + 60 * LOT - 120, locked: 0 });
    assert.deepEqual(balance(f, 0, BTC), { free: BTC0 - 100 * LOT, locked: 40 * LOT });
    assert.deepEqual(balance(f, 0, USDT), { free: USDT0 + P * 60 * K - 1_200_000, locked: 0 });
    assert.equal(f.engine.markets[0].asks.best_price(), P);
    assert.equal(f.engine.levels.quantity_lots[f.engine.markets[0].asks.best_level()], 40);
  });

  it("matches price-time priority across levels and rests the remainder", () => {
    const f = fixture();
    const a = new_id(f.run(limit(0, SIDE_SELL, P + 2, 10)));
    const b = new_id(f.run(limit(0, SIDE_SELL, P, 10)));
    const c = new_id(f.run(limit(2, SIDE_SELL, P, 10)));
    const ev = f.run(limit(1, SIDE_BUY, P + 1, 25));
    const trades = of_kind(ev, "trade");
    assert.deepEqual(
      trades.map((t) => [t.maker_order_id, t.quantity_lots, t.price_ticks]),
      [
        [b, 10, P],
        [c, 10, P],
      ],
    );
    const buy = new_id(ev);
    assert.equal(last_status(ev, buy), STATUS_PARTIALLY_FILLED);
    assert.equal(f.engine.markets[0].bids.best_price(), P + 1);
    assert.equal(f.engine.markets[0].asks.best_price(), P + 2);
    assert.ok(f.engine.orders.by_id.has(a));
    // the resting buy still locks exactly its remainder at its own price
    assert.equal(balance(f, 1, USDT).locked, (P + 1) * 5 * K);
  });

  it("IOC expires what it cannot fill", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 10));
    const ev = f.run(limit(1, SIDE_BUY, P, 15, TIF_IOC));
    const id = new_id(ev);
    const final = of_kind(ev, "order_update")
      .filter((u) => u.order_id === id)
      .at(-1);
    assert.equal(final?.status, STATUS_EXPIRED);
    assert.equal(final?.executed_lots, 10);
    assert.equal(final?.end_reason, END_NO_LIQUIDITY);
    assert.equal(balance(f, 1, USDT).locked, 0);
    assert.equal(f.engine.markets[0].bids.count, 0);
  });

  it("FOK fills completely or not at all", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 10));
    f.run(limit(0, SIDE_SELL, P + 5, 10));
    const no = f.run(limit(1, SIDE_BUY, P + 4, 15, TIF_FOK));
    assert.equal(last_status(no, new_id(no)), STATUS_EXPIRED);
    assert.equal(of_kind(no, "trade").length, 0);
    assert.equal(balance(f, 1, USDT).locked, 0);
    const yes = f.run(limit(1, SIDE_BUY, P + 5, 15, TIF_FOK));
    assert.equal(last_status(yes, new_id(yes)), STATUS_FILLED);
    assert.equal(of_kind(yes, "trade").length, 2);
  });

  it("refuses an order the account cannot pay for, moving nothing", () => {
    const f = fixture();
    const ev = f.run(limit(1, SIDE_SELL, P, 1_000_001)); // 10.00001 BTC > 10 BTC
    assert.deepEqual(reasons(ev), [R.REASON_INSUFFICIENT_BALANCE]);
    assert.deepEqual(balance(f, 1, BTC), { free: BTC0, locked: 0 });
    assert.equal(of_kind(ev, "order_new").length, 0);
  });

  it("refuses out-of-filter values with the filter's name", () => {
    const f = fixture();
    assert.deepEqual(reasons(f.run(limit(1, SIDE_BUY, 0, 1))), [R.REASON_FILTER_PRICE]);
    assert.deepEqual(reasons(f.run(limit(1, SIDE_BUY, 10_000_001, 1))), [R.REASON_FILTER_PRICE]);
    assert.deepEqual(reasons(f.run(limit(1, SIDE_BUY, P, 0))), [R.REASON_FILTER_LOT_SIZE]);
    assert.deepEqual(reasons(f.run(limit(1, SIDE_BUY, P, 10_000_001))), [R.REASON_FILTER_LOT_SIZE]);
    assert.deepEqual(reasons(f.run(limit(1, SIDE_BUY, P, 1.5))), [R.REASON_FILTER_LOT_SIZE]);
    assert.deepEqual(reasons(f.run(limit(1, SIDE_BUY, 1, 1))), [R.REASON_FILTER_NOTIONAL]);
  });
});

describe("LIMIT_MAKER", () => {
  it("is rejected if it would take, rests otherwise", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 10));
    const take = f.run(order(1, SIDE_BUY, TYPE_LIMIT_MAKER, P, 10));
    assert.deepEqual(reasons(take), [R.REASON_WOULD_TAKE]);
    assert.equal(balance(f, 1, USDT).locked, 0);
    const ok = f.run(order(1, SIDE_BUY, TYPE_LIMIT_MAKER, P - 1, 10));
    assert.equal(reasons(ok).length, 0);
    assert.equal(f.engine.markets[0].bids.best_price(), P - 1);
    const sell_take = f.run(order(2, SIDE_SELL, TYPE_LIMIT_MAKER, P - 1, 10));
    assert.deepEqual(reasons(sell_take), [R.REASON_WOULD_TAKE]);
  });
});

describe("MARKET orders", () => {
  it("by quantity: fills across levels and locks no more than it spends", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 10));
    f.run(limit(0, SIDE_SELL, P + 100, 10));
    const ev = f.run(order(1, SIDE_BUY, TYPE_MARKET, 0, 15));
    const id = new_id(ev);
    assert.equal(last_status(ev, id), STATUS_FILLED);
    const cost = P * 10 * K + (P + 100) * 5 * K;
    assert.deepEqual(balance(f, 1, USDT), { free: USDT0 - cost, locked: 0 });
  });

  it("by quantity: expires what the book cannot fill; on an empty book it expires unfilled", () => {
    const f = fixture();
    const empty = f.run(order(1, SIDE_SELL, TYPE_MARKET, 0, 5));
    assert.equal(last_status(empty, new_id(empty)), STATUS_EXPIRED);
    f.run(limit(0, SIDE_BUY, P, 10));
    const ev = f.run(order(1, SIDE_SELL, TYPE_MARKET, 0, 15));
    const final = of_kind(ev, "order_update").at(-1);
    assert.equal(final?.status, STATUS_EXPIRED);
    assert.equal(final?.executed_lots, 10);
    assert.deepEqual(balance(f, 1, BTC), { free: BTC0 - 10 * LOT, locked: 0 });
  });

  it("by quantity: refused when the book's cost exceeds the free balance", () => {
    const f = fixture(3);
    f.run({ type: "create_account", ts_ms: 1000 });
    f.run({ type: "deposit", ts_ms: 1000, account: 3, asset: USDT, amount_units: P * 5 * K });
    f.run(limit(0, SIDE_SELL, P, 10));
    assert.deepEqual(reasons(f.run(order(3, SIDE_BUY, TYPE_MARKET, 0, 6))), [R.REASON_INSUFFICIENT_BALANCE]);
    const ok = f.run(order(3, SIDE_BUY, TYPE_MARKET, 0, 5));
    assert.equal(last_status(ok, new_id(ok)), STATUS_FILLED);
    assert.deepEqual(balance(f, 3, USDT), { free: 0, locked: 0 });
  });

  it("buy by quote amount spends at most that amount, in whole lots", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 10));
    f.run(limit(0, SIDE_SELL, P + 100, 10));
    const quote = P * 10 * K + (P + 100) * 3 * K + 7; // 3 lots at the second level and change
    const ev = f.run(order(1, SIDE_BUY, TYPE_MARKET, 0, 0, { quote_units: quote }));
    const final = of_kind(ev, "order_update").at(-1);
    assert.equal(final?.status, STATUS_FILLED);
    assert.equal(final?.executed_lots, 13);
    assert.equal(final?.cumulative_quote_units, quote - 7);
    assert.deepEqual(balance(f, 1, USDT), { free: USDT0 - (quote - 7), locked: 0 });
  });

  it("sell by quote amount sells whole lots until the amount is reached", () => {
    const f = fixture();
    f.run(limit(0, SIDE_BUY, P, 10));
    const quote = P * 4 * K + 1;
    const ev = f.run(order(1, SIDE_SELL, TYPE_MARKET, 0, 0, { quote_units: quote }));
    const final = of_kind(ev, "order_update").at(-1);
    assert.equal(final?.status, STATUS_FILLED);
    assert.equal(final?.executed_lots, 4);
    assert.deepEqual(balance(f, 1, BTC), { free: BTC0 - 4 * LOT, locked: 0 });
  });

  it("buy by quote expires when the book runs out", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 2));
    const ev = f.run(order(1, SIDE_BUY, TYPE_MARKET, 0, 0, { quote_units: P * 5 * K }));
    const final = of_kind(ev, "order_update").at(-1);
    assert.equal(final?.status, STATUS_EXPIRED);
    assert.equal(final?.executed_lots, 2);
    assert.equal(balance(f, 1, USDT).locked, 0);
  });
});

describe("stop orders", () => {
  it("STOP_LOSS_LIMIT sell triggers when the last price falls to the stop", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 1));
    f.run(limit(1, SIDE_BUY, P, 1)); // last price P
    const stop = new_id(
      f.run(order(2, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, P - 200, 5, { stop_price_ticks: P - 100 })),
    );
    assert.equal(balance(f, 2, BTC).locked, 5 * LOT);
    f.run(limit(1, SIDE_BUY, P - 300, 5));
    f.run(limit(0, SIDE_SELL, P - 50, 1));
    const no = f.run(limit(1, SIDE_BUY, P - 50, 1)); // last P-50 > stop: nothing
    assert.equal(of_kind(no, "order_triggered").length, 0);
    f.run(limit(0, SIDE_SELL, P - 100, 1));
    const ev = f.run(limit(1, SIDE_BUY, P - 100, 1)); // last = stop: trigger, rests at P-200
    assert.deepEqual(
      of_kind(ev, "order_triggered").map((t) => t.order_id),
      [stop],
    );
    assert.equal(f.engine.markets[0].asks.best_price(), P - 200);
  });

  it("STOP_LOSS buy triggers on a rise and spends at most the lock at its stop price", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 1));
    f.run(limit(1, SIDE_BUY, P, 1));
    const stop = new_id(f.run(order(2, SIDE_BUY, TYPE_STOP_LOSS, 0, 10, { stop_price_ticks: P + 100 })));
    assert.equal(balance(f, 2, USDT).locked, (P + 100) * 10 * K);
    f.run(limit(0, SIDE_SELL, P + 100, 4));
    f.run(limit(0, SIDE_SELL, P + 200, 20));
    const ev = f.run(limit(1, SIDE_BUY, P + 100, 1)); // last P+100 -> trigger
    assert.deepEqual(
      of_kind(ev, "order_triggered").map((t) => t.order_id),
      [stop],
    );
    const final = of_kind(ev, "order_update")
      .filter((u) => u.order_id === stop)
      .at(-1);
    // 3 lots at P+100, then the lock left buys 6 lots at P+200 and the rest expires for lack of funds
    const lock = (P + 100) * 10 * K;
    const spent_first = (P + 100) * 3 * K;
    const more = Math.floor((lock - spent_first) / ((P + 200) * K));
    assert.equal(final?.executed_lots, 3 + more);
    assert.equal(final?.status, STATUS_EXPIRED);
    assert.equal(final?.end_reason, END_FUNDS);
    assert.equal(balance(f, 2, USDT).locked, 0);
  });

  it("TAKE_PROFIT sell triggers on a rise; TAKE_PROFIT_LIMIT buy on a fall", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 1));
    f.run(limit(1, SIDE_BUY, P, 1));
    const tp = new_id(f.run(order(2, SIDE_SELL, TYPE_TAKE_PROFIT, 0, 2, { stop_price_ticks: P + 10 })));
    const tpl = new_id(
      f.run(order(2, SIDE_BUY, TYPE_TAKE_PROFIT_LIMIT, P - 10, 2, { stop_price_ticks: P - 10 })),
    );
    f.run(limit(1, SIDE_BUY, P + 5, 2)); // bid for the take-profit to hit
    f.run(limit(0, SIDE_SELL, P + 10, 1));
    const up = f.run(limit(1, SIDE_BUY, P + 10, 1));
    assert.deepEqual(
      of_kind(up, "order_triggered").map((t) => t.order_id),
      [tp],
    );
    assert.equal(last_status(up, tp), STATUS_FILLED);
    f.run(limit(1, SIDE_BUY, P - 10, 1));
    const down = f.run(limit(0, SIDE_SELL, P - 10, 1)); // last P-10 -> TAKE_PROFIT_LIMIT buy triggers
    assert.deepEqual(
      of_kind(down, "order_triggered").map((t) => t.order_id),
      [tpl],
    );
  });

  it("triggers on any trade price of the command: a sweep that passes a stop and ends beyond it (format 7)", () => {
    for (const format of [undefined, 6]) {
      const f = fixture();
      f.run(limit(0, SIDE_SELL, P, 1));
      f.run(limit(1, SIDE_BUY, P, 1)); // last price P
      // a BUY stop at P + 50 (rising), and bids that moved up without a trade
      const stop = new_id(
        f.run(order(2, SIDE_BUY, TYPE_STOP_LOSS_LIMIT, P + 80, 1, { stop_price_ticks: P + 50 })),
      );
      f.run(limit(1, SIDE_BUY, P + 60, 1));
      f.run(limit(1, SIDE_BUY, P + 40, 1));
      f.run(limit(0, SIDE_SELL, P + 70, 5)); // for the stop to buy from
      // a sell sweep trades at P + 60 (past the stop) and ends at P + 40 (below it)
      const ev = f.run(order(0, SIDE_SELL, TYPE_LIMIT, P + 40, 2, { format }));
      assert.deepEqual(
        of_kind(ev, "trade").map((t) => t.price_ticks),
        format === undefined ? [P + 60, P + 40, P + 70] : [P + 60, P + 40],
      );
      assert.equal(f.engine.markets[0].last_price_ticks, format === undefined ? P + 70 : P + 40);
      if (format === undefined)
        assert.deepEqual(
          of_kind(ev, "order_triggered").map((t) => t.order_id),
          [stop],
        );
      else assert.ok(f.engine.orders.by_id.has(stop), "format 6: only the last price counted");
      // a falling stop the other way: a buy sweep through it ending above
      const g = fixture();
      g.run(limit(0, SIDE_SELL, P, 1));
      g.run(limit(1, SIDE_BUY, P, 1));
      const down = new_id(g.run(order(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, { stop_price_ticks: P - 50 })));
      g.run(limit(0, SIDE_SELL, P - 60, 1));
      g.run(limit(0, SIDE_SELL, P - 40, 1));
      g.run(limit(1, SIDE_BUY, P - 100, 3)); // for the stop to sell to
      const up = g.run(order(1, SIDE_BUY, TYPE_LIMIT, P - 40, 2, { format }));
      assert.equal(of_kind(up, "order_triggered").length, format === undefined ? 1 : 0);
      if (format === undefined) assert.equal(last_status(up, down), STATUS_FILLED);
    }
  });

  it("is refused if it would trigger immediately", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 1));
    f.run(limit(1, SIDE_BUY, P, 1));
    const ev = f.run(order(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, { stop_price_ticks: P + 1 }));
    assert.deepEqual(reasons(ev), [R.REASON_WOULD_TRIGGER]);
    assert.equal(balance(f, 2, BTC).locked, 0);
  });

  it("can be cancelled before it triggers, releasing its lock", () => {
    const f = fixture();
    const id = new_id(f.run(order(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 3, { stop_price_ticks: P })));
    const ev = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 2,
      market: 0,
      order_id: id,
      client_order_id: null,
    });
    assert.equal(last_status(ev, id), STATUS_CANCELED);
    assert.deepEqual(balance(f, 2, BTC), { free: BTC0, locked: 0 });
  });
});

describe("strategy labels (Binance's strategyId, strategyType)", () => {
  it("are kept with the order, in its order_new event, through a snapshot; out-of-range ones are refused", () => {
    const f = fixture();
    const ev = f.run(
      order(0, SIDE_BUY, TYPE_LIMIT, P - 100, 1, { strategy_id: 42, strategy_type: 1_000_001 }),
    );
    const created = of_kind(ev, "order_new")[0];
    assert.deepEqual([created.strategy_id, created.strategy_type], [42, 1_000_001]);
    const plain = of_kind(f.run(order(0, SIDE_BUY, TYPE_LIMIT, P - 101, 1)), "order_new")[0];
    assert.deepEqual([plain.strategy_id, plain.strategy_type], [-1, -1]);
    const one = of_kind(
      f.run(order(0, SIDE_BUY, TYPE_LIMIT, P - 102, 1, { strategy_type: 2_000_000 })),
      "order_new",
    )[0];
    const labels = (e: typeof f.engine, id: number) => e.orders.strategy(e.orders.by_id.get(id));
    assert.deepEqual(labels(f.engine, created.order_id), [42, 1_000_001]);
    assert.equal(labels(f.engine, plain.order_id), null);
    assert.deepEqual(labels(f.engine, one.order_id), [-1, 2_000_000]);
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    assert.deepEqual(labels(copy, created.order_id), [42, 1_000_001]);
    assert.equal(labels(copy, plain.order_id), null);
    assert.deepEqual(labels(copy, one.order_id), [-1, 2_000_000]);
    // the labels are state: a different one is a different hash
    const other = fixture();
    other.run(order(0, SIDE_BUY, TYPE_LIMIT, P - 100, 1, { strategy_id: 43, strategy_type: 1_000_001 }));
    other.run(order(0, SIDE_BUY, TYPE_LIMIT, P - 101, 1));
    other.run(order(0, SIDE_BUY, TYPE_LIMIT, P - 102, 1, { strategy_type: 2_000_000 }));
    assert.notEqual(state_hash(other.engine), state_hash(f.engine));
    // a cancelled order's slot takes no labels to the next order placed in it
    f.run({ type: "cancel_all", ts_ms: 1_000, account: 0, market: BTCUSDT });
    const next = of_kind(f.run(order(0, SIDE_BUY, TYPE_LIMIT, P - 103, 1)), "order_new")[0];
    assert.equal(labels(f.engine, next.order_id), null);
    for (const bad of [
      { strategy_id: -1 },
      { strategy_id: 1.5 },
      { strategy_type: 999_999 },
      { strategy_type: 2 ** 31 },
    ])
      assert.deepEqual(reasons(f.run(order(0, SIDE_BUY, TYPE_LIMIT, P - 100, 1, bad))), [
        R.REASON_INVALID_PARAMETER,
      ]);
  });
});
