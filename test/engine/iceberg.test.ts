/**
 * Iceberg orders (Binance's icebergQty): the book shows one part at a time; a filled part is followed
 * by the next at the back of the queue; takers, FOK and market locks see what is hidden too.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PlaceOrder } from "../../src/engine/commands.js";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  SIDE_BUY,
  SIDE_SELL,
  type Side,
  STATUS_CANCELED,
  STATUS_EXPIRED_IN_MATCH,
  STATUS_FILLED,
  STP_EXPIRE_MAKER,
  TIF_FOK,
  TIF_GTC,
  TIF_IOC,
  TYPE_LIMIT,
  TYPE_LIMIT_MAKER,
  TYPE_MARKET,
  TYPE_STOP_LOSS_LIMIT,
} from "../../src/engine/types.js";
import {
  BTC,
  balance,
  type Fixture,
  fixture,
  LOT,
  last_status,
  limit,
  new_id,
  of_kind,
  order,
  reasons,
} from "./helpers.js";

const P = 2_000_000;

function iceberg(
  account: number,
  side: Side,
  price: number,
  lots: number,
  shown: number,
  over = {},
): PlaceOrder {
  return order(account, side, TYPE_LIMIT, price, lots, { iceberg_lots: shown, ...over });
}

/** The ask level's total at `price` (what depth shows). */
function ask_depth(f: Fixture, price: number): number {
  const level = f.engine.markets[0].asks.find_level(price);
  return level === 0 ? 0 : f.engine.levels.quantity_lots[level];
}

/** [maker order id, lots] of each trade. */
const trades = (ev: ReturnType<Fixture["run"]>) =>
  of_kind(ev, "trade").map((t) => [t.maker_order_id, t.quantity_lots]);

describe("iceberg orders", () => {
  it("show one part; the book and its update say so", () => {
    const f = fixture();
    const ev = f.run(iceberg(0, SIDE_SELL, P, 10, 3));
    assert.deepEqual(
      of_kind(ev, "book").map((b) => [b.price_ticks, b.quantity_lots]),
      [[P, 3]],
    );
    assert.equal(ask_depth(f, P), 3);
    // all of it is locked: it may all trade
    assert.equal(balance(f, 0, BTC).locked, 10 * LOT);
  });

  it("a filled part is followed by the next at the back of the queue: orders behind it trade first", () => {
    const f = fixture();
    const ice = new_id(f.run(iceberg(0, SIDE_SELL, P, 10, 3)));
    const plain = new_id(f.run(limit(1, SIDE_SELL, P, 2)));
    assert.equal(ask_depth(f, P), 5);
    const ev = f.run(limit(2, SIDE_BUY, P, 4, TIF_IOC));
    assert.deepEqual(trades(ev), [
      [ice, 3],
      [plain, 1],
    ]);
    assert.equal(ask_depth(f, P), 3 + 1);
    // the queue is now: plain (1 left), then the iceberg's next part
    assert.deepEqual(trades(f.run(limit(2, SIDE_BUY, P, 2, TIF_IOC))), [
      [plain, 1],
      [ice, 1],
    ]);
    assert.equal(ask_depth(f, P), 2);
  });

  it("one taker takes part after part of an iceberg alone at its price, and what is left of it", () => {
    const f = fixture();
    const ice = new_id(f.run(iceberg(0, SIDE_SELL, P, 10, 3)));
    const ev = f.run(limit(2, SIDE_BUY, P, 12));
    assert.deepEqual(trades(ev), [
      [ice, 3],
      [ice, 3],
      [ice, 3],
      [ice, 1],
    ]);
    assert.equal(last_status(ev, ice), STATUS_FILLED);
    assert.equal(ask_depth(f, P), 0);
    assert.equal(f.engine.markets[0].bids.best_price(), P, "the taker's 2 lots left rest");
  });

  it("FOK and a market buy by quantity count the hidden parts", () => {
    const f = fixture();
    f.run(iceberg(0, SIDE_SELL, P, 10, 3));
    const fok = f.run(limit(2, SIDE_BUY, P, 8, TIF_FOK));
    assert.equal(of_kind(fok, "trade").length, 3, "3 + 3 + 2");
    assert.equal(last_status(fok, new_id(fok)), STATUS_FILLED);
    f.run(iceberg(0, SIDE_SELL, P + 10, 10, 3));
    // at P 2 left (1 of its third part shown, then the last 1) and 10 at P+10 (3 shown): a market buy
    // of 9 locks their cost and fills
    const market = f.run(order(2, SIDE_BUY, TYPE_MARKET, 0, 9));
    assert.equal(last_status(market, new_id(market)), STATUS_FILLED);
    assert.deepEqual(
      of_kind(market, "trade").map((t) => [t.price_ticks, t.quantity_lots]),
      [
        [P, 1],
        [P, 1],
        [P + 10, 3],
        [P + 10, 3],
        [P + 10, 1],
      ],
    );
  });

  it("cancel, self-trade prevention and an amend take what it shows off its level", () => {
    const f = fixture();
    const a = new_id(f.run(iceberg(0, SIDE_SELL, P, 10, 3)));
    f.run(limit(1, SIDE_SELL, P, 1));
    // an amend to 2 lots left: it shows 2
    const amended = f.run({
      type: "amend_order",
      ts_ms: 1000,
      account: 0,
      market: 0,
      order_id: a,
      client_order_id: null,
      new_client_order_id: "smaller",
      new_quantity_lots: 2,
    });
    assert.deepEqual(
      of_kind(amended, "book").map((b) => b.quantity_lots),
      [2 + 1],
    );
    assert.equal(balance(f, 0, BTC).locked, 2 * LOT);
    const cancelled = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 0,
      market: 0,
      order_id: a,
      client_order_id: null,
    });
    assert.equal(last_status(cancelled, a), STATUS_CANCELED);
    assert.equal(ask_depth(f, P), 1);
    const b = new_id(f.run(iceberg(0, SIDE_SELL, P, 10, 4)));
    // 2 lots: one trades with the other account's order ahead; a taker with nothing left would stop
    // before the iceberg (FORMAT_STP_AFTER_FILL)
    const stp = f.run(order(0, SIDE_BUY, TYPE_LIMIT, P, 2, { stp: STP_EXPIRE_MAKER, tif: TIF_IOC }));
    assert.equal(last_status(stp, b), STATUS_EXPIRED_IN_MATCH);
    assert.equal(of_kind(stp, "prevented_match")[0].maker_prevented_lots, 10, "all it had left, hidden too");
    assert.equal(ask_depth(f, P), 0, "the other account's lot traded");
    assert.equal(balance(f, 0, BTC).locked, 0);
  });

  it("LIMIT_MAKER and a triggered STOP_LOSS_LIMIT can be icebergs too", () => {
    const f = fixture();
    f.run(order(0, SIDE_SELL, TYPE_LIMIT_MAKER, P + 5, 6, { iceberg_lots: 2 }));
    assert.equal(ask_depth(f, P + 5), 2);
    f.run(limit(1, SIDE_SELL, P, 1));
    f.run(limit(2, SIDE_BUY, P, 1)); // last price P
    f.run(
      order(0, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, P - 50, 8, { stop_price_ticks: P - 10, iceberg_lots: 3 }),
    );
    f.run(limit(1, SIDE_SELL, P - 10, 1));
    f.run(limit(2, SIDE_BUY, P - 10, 1)); // triggers: rests at P-50 showing 3
    assert.equal(ask_depth(f, P - 50), 3);
  });

  it("refusals: not a GTC limit order, as much shown as there is, more than 10 parts, below LOT_SIZE", () => {
    const f = fixture();
    const refused = (o: PlaceOrder) => reasons(f.run(o));
    assert.deepEqual(refused(order(0, SIDE_SELL, TYPE_MARKET, 0, 10, { iceberg_lots: 3 })), [
      R.REASON_UNSUPPORTED_ORDER,
    ]);
    assert.deepEqual(refused(iceberg(0, SIDE_SELL, P, 10, 3, { tif: TIF_IOC })), [
      R.REASON_UNSUPPORTED_ORDER,
    ]);
    assert.deepEqual(refused(iceberg(0, SIDE_SELL, P, 10, 10)), [R.REASON_ICEBERG_EXCEEDS_QTY]);
    assert.deepEqual(refused(iceberg(0, SIDE_SELL, P, 10, 11)), [R.REASON_ICEBERG_EXCEEDS_QTY]);
    assert.deepEqual(refused(iceberg(0, SIDE_SELL, P, 100, 9)), [R.REASON_FILTER_ICEBERG_PARTS]);
    assert.deepEqual(refused(iceberg(0, SIDE_SELL, P, 100, 10)), []);
    assert.deepEqual(refused(iceberg(0, SIDE_SELL, P, 10, 0)), [R.REASON_FILTER_LOT_SIZE]);
    assert.deepEqual(refused(iceberg(0, SIDE_SELL, P, 10, 2.5)), [R.REASON_FILTER_LOT_SIZE]);
    assert.deepEqual(refused(iceberg(0, SIDE_SELL, P, 10, 3, { tif: TIF_GTC })), []);
  });

  it("MAX_NUM_ICEBERG_ORDERS: an account's open icebergs in a market, untriggered stop-limit ones too; not before format 7", () => {
    const f = fixture(3, { iceberg_orders_per_account_market_max: 2 });
    const first = new_id(f.run(iceberg(0, SIDE_SELL, P, 10, 3)));
    f.run(limit(1, SIDE_SELL, P - 10, 1));
    f.run(limit(1, SIDE_BUY, P - 10, 1)); // last price P - 10
    const stop = order(0, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, P - 50, 8, {
      stop_price_ticks: P - 20,
      iceberg_lots: 2,
    });
    assert.deepEqual(reasons(f.run(stop)), []);
    assert.deepEqual(reasons(f.run(iceberg(0, SIDE_SELL, P + 1, 10, 3))), [
      R.REASON_FILTER_MAX_NUM_ICEBERG_ORDERS,
    ]);
    // plain orders, other accounts and other markets' counts are not concerned
    assert.deepEqual(reasons(f.run(limit(0, SIDE_SELL, P + 1, 10))), []);
    assert.deepEqual(reasons(f.run(iceberg(1, SIDE_SELL, P + 1, 10, 3))), []);
    // an order journaled before format 7 is placed under the rules it had
    const old = f.run(iceberg(0, SIDE_SELL, P + 2, 10, 3, { format: 6 }));
    assert.deepEqual(reasons(old), []);
    const cancel = (order_id: number) =>
      f.run({ type: "cancel_order", ts_ms: 1000, account: 0, market: 0, order_id, client_order_id: null });
    cancel(first);
    // open: the stop-limit iceberg and the format-6 one, at the limit
    assert.deepEqual(reasons(f.run(iceberg(0, SIDE_SELL, P + 3, 10, 3))), [
      R.REASON_FILTER_MAX_NUM_ICEBERG_ORDERS,
    ]);
    cancel(new_id(old));
    assert.deepEqual(reasons(f.run(iceberg(0, SIDE_SELL, P + 3, 10, 3))), []);
  });

  it("a snapshot taken mid-iceberg restores it: the same events and state hash from there on", () => {
    const f = fixture();
    f.run(iceberg(0, SIDE_SELL, P, 10, 3));
    f.run(limit(1, SIDE_SELL, P, 2));
    f.run(iceberg(1, SIDE_BUY, P - 5, 9, 2));
    f.run(limit(2, SIDE_BUY, P, 4, TIF_IOC)); // the iceberg's first part and one of the plain order's
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    const steps: PlaceOrder[] = [
      limit(2, SIDE_BUY, P, 2, TIF_IOC),
      limit(2, SIDE_SELL, P - 5, 3, TIF_IOC),
      limit(2, SIDE_BUY, P, 9),
      limit(2, SIDE_SELL, P - 5, 20, TIF_IOC),
    ];
    for (const step of steps) {
      assert.deepEqual(copy.apply(step), f.run(step));
      assert.equal(state_hash(copy), state_hash(f.engine));
    }
  });
});
