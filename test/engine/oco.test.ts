/**
 * Order lists: Binance's OCO (one-cancels-the-other). A LIMIT_MAKER and a STOP_LOSS(_LIMIT) of one
 * side and quantity: when one is activated (the limit maker trades, the stop triggers) the other
 * expires; cancelling one cancels both; their funds are locked once.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PlaceOrderList } from "../../src/engine/commands.js";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  END_LIST,
  LIST_ALL_DONE,
  LIST_EXECUTING,
  SIDE_BUY,
  SIDE_SELL,
  STATUS_CANCELED,
  STATUS_EXPIRED,
  STATUS_EXPIRED_IN_MATCH,
  STATUS_FILLED,
  STP_EXPIRE_MAKER,
  TIF_GTC,
  TYPE_LIMIT_MAKER,
  TYPE_STOP_LOSS,
  TYPE_STOP_LOSS_LIMIT,
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
  list_leg,
  of_kind,
  reasons,
  traded_at,
  USDT,
} from "./helpers.js";

const P = 2_000_000;

const leg = list_leg;

/** A sell OCO: take profit at P + 100 (limit maker), stop loss at P - 100 (a limit 50 below). */
function sell_oco(account: number, lots: number, over: Partial<PlaceOrderList> = {}): PlaceOrderList {
  return {
    type: "place_order_list",
    ts_ms: 1000,
    account,
    market: 0,
    list_client_order_id: null,
    above: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P + 100, 0, lots),
    below: leg(SIDE_SELL, TYPE_STOP_LOSS_LIMIT, P - 150, P - 100, lots),
    ...over,
  };
}

/** A buy OCO: stop (market) at P + 100 above, limit maker at P - 100 below. */
function buy_oco(account: number, lots: number): PlaceOrderList {
  return {
    type: "place_order_list",
    ts_ms: 1000,
    account,
    market: 0,
    list_client_order_id: "mine",
    above: leg(SIDE_BUY, TYPE_STOP_LOSS, 0, P + 100, lots),
    below: leg(SIDE_BUY, TYPE_LIMIT_MAKER, P - 100, 0, lots),
  };
}

/** A market with a last price of P (accounts 1 and 2 traded). */
const at_p = (): Fixture => traded_at(P);

const lists = (ev: ReturnType<Fixture["run"]>) =>
  of_kind(ev, "order_list").map((l) => [l.list_id, l.status, l.above_order_id, l.below_order_id]);

describe("order lists (OCO)", () => {
  it("a sell OCO: reported as a list, then its two orders; the limit maker rests; base locked once", () => {
    const f = at_p();
    const before = balance(f, 0, BTC);
    const ev = f.run(sell_oco(0, 5));
    const [list] = of_kind(ev, "order_list");
    assert.deepEqual(
      [list.status, list.list_id, ev.findIndex((e) => e.kind === "order_list")],
      [LIST_EXECUTING, 1, 0],
    );
    assert.deepEqual(
      of_kind(ev, "order_new").map((o) => [o.order_id, o.order_type]),
      [
        [list.above_order_id, TYPE_LIMIT_MAKER],
        [list.below_order_id, TYPE_STOP_LOSS_LIMIT],
      ],
    );
    assert.equal(f.engine.markets[0].asks.best_price(), P + 100);
    assert.equal(balance(f, 0, BTC).locked - before.locked, 5 * LOT, "the quantity once, not twice");
    assert.equal(f.engine.open_orders(0, 0).length, 2, "both count as open orders");
  });

  it("the limit maker trades: the stop expires (END_LIST) and the list is done", () => {
    const f = at_p();
    const [list] = of_kind(f.run(sell_oco(0, 5)), "order_list");
    const ev = f.run(limit(1, SIDE_BUY, P + 100, 2));
    assert.equal(of_kind(ev, "trade")[0].maker_order_id, list.above_order_id);
    const stop = of_kind(ev, "order_update").find((u) => u.order_id === list.below_order_id);
    assert.deepEqual([stop?.status, stop?.end_reason], [STATUS_EXPIRED, END_LIST]);
    assert.deepEqual(lists(ev), [[list.list_id, LIST_ALL_DONE, list.above_order_id, list.below_order_id]]);
    // the limit maker goes on alone with its 3 lots, locked as any resting order
    assert.equal(balance(f, 0, BTC).locked, 3 * LOT);
    assert.equal(f.engine.order_lists.size, 0);
  });

  it("the stop triggers: the limit maker expires and the stop takes its lock over, then sells", () => {
    const f = at_p();
    const [list] = of_kind(f.run(sell_oco(0, 5)), "order_list");
    f.run(limit(2, SIDE_BUY, P - 140, 10)); // a bid for the stop's limit order to sell to
    f.run(limit(1, SIDE_SELL, P - 100, 1));
    const ev = f.run(limit(2, SIDE_BUY, P - 100, 1)); // last price P - 100: the stop triggers
    assert.deepEqual(
      of_kind(ev, "order_triggered").map((t) => t.order_id),
      [list.below_order_id],
    );
    const maker = of_kind(ev, "order_update").find((u) => u.order_id === list.above_order_id);
    assert.deepEqual([maker?.status, maker?.end_reason], [STATUS_EXPIRED, END_LIST]);
    assert.deepEqual(lists(ev), [[list.list_id, LIST_ALL_DONE, list.above_order_id, list.below_order_id]]);
    assert.equal(last_status(ev, list.below_order_id), STATUS_FILLED);
    assert.equal(balance(f, 0, BTC).locked, 0);
  });

  it("a buy OCO locks the larger of its two orders' needs; the stop's trigger takes the rest over", () => {
    const f = at_p();
    const before = balance(f, 0, USDT).locked;
    const [list] = of_kind(f.run(buy_oco(0, 4)), "order_list");
    // the limit maker locks 4 lots at P - 100, the stop only what it needs beyond: 4 lots at P + 100
    assert.equal(balance(f, 0, USDT).locked - before, 4 * (P + 100) * K);
    const stop_slot = f.engine.orders.by_id.get(list.above_order_id);
    assert.equal(f.engine.orders.locked_units(stop_slot), 4 * 200 * K);
    f.run(limit(1, SIDE_SELL, P + 150, 10)); // asks for the stop to buy from
    f.run(limit(1, SIDE_SELL, P + 100, 1));
    const ev = f.run(limit(2, SIDE_BUY, P + 100, 1)); // last P + 100: the stop triggers
    assert.deepEqual(
      of_kind(ev, "order_triggered").map((t) => t.order_id),
      [list.above_order_id],
    );
    assert.equal(last_status(ev, list.below_order_id), STATUS_EXPIRED);
    // a stop-market buy spends at most its lock at the stop price (4 lots at P + 100): 3 lots at P + 150
    const fills = of_kind(ev, "trade").filter((t) => t.taker_order_id === list.above_order_id);
    assert.deepEqual(
      fills.map((t) => [t.price_ticks, t.quantity_lots]),
      [[P + 150, 3]],
    );
    assert.equal(balance(f, 0, USDT).locked, before);
  });

  it("cancelling either order cancels both; cancel-all too", () => {
    const f = at_p();
    const [list] = of_kind(f.run(sell_oco(0, 5)), "order_list");
    const ev = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 0,
      market: 0,
      order_id: list.below_order_id,
      client_order_id: null,
    });
    assert.deepEqual(
      of_kind(ev, "order_update").map((u) => [u.order_id, u.status]),
      [
        [list.below_order_id, STATUS_CANCELED],
        [list.above_order_id, STATUS_CANCELED],
      ],
    );
    assert.deepEqual(lists(ev), [[list.list_id, LIST_ALL_DONE, list.above_order_id, list.below_order_id]]);
    assert.deepEqual([balance(f, 0, BTC).locked, f.engine.orders.live], [0, 0]);
    f.run(sell_oco(0, 5));
    const all = f.run({ type: "cancel_all", ts_ms: 1000, account: 0, market: 0 });
    assert.equal(of_kind(all, "order_update").length, 2);
    assert.deepEqual([balance(f, 0, BTC).locked, f.engine.orders.live], [0, 0]);
  });

  it("self-trade prevention expiring the limit maker ends the list: the stop expires too", () => {
    const f = at_p();
    const [list] = of_kind(f.run(sell_oco(0, 5)), "order_list");
    const ev = f.run(limit(0, SIDE_BUY, P + 100, 1, TIF_GTC, STP_EXPIRE_MAKER));
    assert.equal(last_status(ev, list.above_order_id), STATUS_EXPIRED_IN_MATCH);
    assert.equal(last_status(ev, list.below_order_id), STATUS_EXPIRED);
    assert.equal(f.engine.order_lists.size, 0);
  });

  it("refusals: prices the wrong way round or the last price not between, funds, limits, duplicate ids, amends", () => {
    const f = at_p();
    const refused = (c: PlaceOrderList) => reasons(f.run(c));
    // a sell's limit maker must be above: swapped, refused
    const swapped = sell_oco(0, 5);
    assert.deepEqual(refused({ ...swapped, above: swapped.below, below: swapped.above }), [
      R.REASON_OCO_BAD_PRICES,
    ]);
    // the last price (P) must be between: a stop at P + 50 (which would trigger at once), a limit
    // maker at P - 50 (with no bid there it would not take)
    const high_stop = sell_oco(0, 5, { below: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P + 50, 5) });
    assert.deepEqual(refused(high_stop), [R.REASON_OCO_BAD_PRICES]);
    const low_maker = sell_oco(0, 5, {
      above: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P - 50, 0, 5),
      below: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 100, 5),
    });
    assert.deepEqual(refused(low_maker), [R.REASON_OCO_BAD_PRICES]);
    // not the same quantity or side, not a limit maker and a stop
    assert.deepEqual(refused(sell_oco(0, 5, { below: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 100, 4) })), [
      R.REASON_INVALID_PARAMETER,
    ]);
    assert.deepEqual(refused(sell_oco(0, 5, { below: leg(SIDE_BUY, TYPE_STOP_LOSS, 0, P - 100, 5) })), [
      R.REASON_INVALID_PARAMETER,
    ]);
    // funds: account 0 has 10 BTC = 1,000,000 lots; the list needs its quantity once
    assert.deepEqual(refused(sell_oco(0, 1_000_001)), [R.REASON_INSUFFICIENT_BALANCE]);
    // a list client order id is unique among the account's open lists
    assert.deepEqual(refused(sell_oco(0, 1, { list_client_order_id: "x" })), []);
    assert.deepEqual(refused(sell_oco(0, 1, { list_client_order_id: "x" })), [R.REASON_DUPLICATE_ORDER]);
    assert.deepEqual(refused(sell_oco(1, 1, { list_client_order_id: "x" })), [], "another account's is not");
    // the two orders' client order ids differ
    const same = sell_oco(0, 1);
    same.above.client_order_id = "twin";
    same.below.client_order_id = "twin";
    assert.deepEqual(refused(same), [R.REASON_DUPLICATE_ORDER]);
    // amend keep priority did not touch an order of a pending list before format 9 (oto.test: since)
    const listed = [...f.engine.order_lists.values()][0];
    const amend = f.run({
      type: "amend_order",
      ts_ms: 1000,
      account: listed.account,
      market: 0,
      order_id: listed.above_id,
      client_order_id: null,
      new_client_order_id: "smaller",
      new_quantity_lots: 1,
      format: 8,
    });
    assert.deepEqual(reasons(amend), [R.REASON_AMEND_ORDER_LIST]);
  });

  it("room for both orders: refused when the open-order limit has room for one", () => {
    const f = fixture(3, { open_orders_per_account_market_max: 3 });
    f.run(limit(1, SIDE_SELL, P, 1));
    f.run(limit(2, SIDE_BUY, P, 1));
    f.run(limit(0, SIDE_BUY, P - 500, 1));
    f.run(limit(0, SIDE_BUY, P - 501, 1));
    assert.deepEqual(reasons(f.run(sell_oco(0, 1))), [R.REASON_FILTER_MAX_NUM_ORDERS]);
  });

  it("a snapshot keeps pending lists: the restored engine hashes and behaves the same", () => {
    const f = at_p();
    f.run(sell_oco(0, 5, { list_client_order_id: "keep" }));
    f.run(buy_oco(1, 2));
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    assert.equal(copy.order_lists.size, 2);
    for (const step of [
      sell_oco(0, 1, { list_client_order_id: "keep" }), // still a duplicate there too
      limit(2, SIDE_BUY, P + 100, 2), // the sell list's limit maker trades
      limit(2, SIDE_SELL, P - 100, 3), // the buy list's limit maker trades
    ]) {
      assert.deepEqual(copy.apply(step), f.run(step));
      assert.equal(state_hash(copy), state_hash(f.engine));
    }
    assert.equal(copy.order_lists.size, 0);
  });
});
