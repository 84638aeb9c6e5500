import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CANCEL_ONLY_NEW, CANCEL_ONLY_PARTIALLY_FILLED } from "../../src/engine/commands.js";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  END_STP,
  SIDE_BUY,
  SIDE_SELL,
  STATUS_CANCELED,
  STATUS_EXPIRED_IN_MATCH,
  STATUS_FILLED,
  STP_EXPIRE_BOTH,
  STP_EXPIRE_MAKER,
  STP_EXPIRE_TAKER,
  STP_NONE,
  TIF_FOK,
  TIF_GTC,
  TYPE_MARKET,
  TYPE_STOP_LOSS,
} from "../../src/engine/types.js";
import {
  BTC,
  balance,
  fixture,
  K,
  last_status,
  limit,
  new_id,
  of_kind,
  order,
  reasons,
  spec,
  USDT,
} from "./helpers.js";

const P = 2_000_000;

describe("cancel", () => {
  it("by order id and by client order id; unknown and foreign orders are refused", () => {
    const f = fixture();
    const a = new_id(f.run(limit(0, SIDE_BUY, P, 10)));
    f.run(limit(0, SIDE_BUY, P - 1, 10, TIF_GTC, -1, "mine-1"));
    const foreign = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 1,
      market: 0,
      order_id: a,
      client_order_id: null,
    });
    assert.deepEqual(reasons(foreign), [R.REASON_UNKNOWN_ORDER]);
    const by_id = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 0,
      market: 0,
      order_id: a,
      client_order_id: null,
    });
    assert.equal(last_status(by_id, a), STATUS_CANCELED);
    const by_cid = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 0,
      market: 0,
      order_id: 0,
      client_order_id: "mine-1",
    });
    assert.equal(of_kind(by_cid, "order_update")[0].status, STATUS_CANCELED);
    assert.deepEqual(balance(f, 0, USDT).locked, 0);
    const again = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 0,
      market: 0,
      order_id: a,
      client_order_id: null,
    });
    assert.deepEqual(reasons(again), [R.REASON_UNKNOWN_ORDER]);
    assert.equal(f.engine.markets[0].bids.count, 0);
  });

  it("cancel_all cancels every open order of the account in the market, stops included", () => {
    const f = fixture();
    f.run(limit(0, SIDE_BUY, P, 10));
    f.run(limit(0, SIDE_SELL, P + 10, 10));
    f.run(order(0, SIDE_SELL, TYPE_STOP_LOSS, 0, 5, { stop_price_ticks: P - 100 }));
    f.run(limit(1, SIDE_BUY, P - 5, 10));
    const ev = f.run({ type: "cancel_all", ts_ms: 1000, account: 0, market: 0 });
    assert.equal(of_kind(ev, "order_update").filter((u) => u.status === STATUS_CANCELED).length, 3);
    assert.deepEqual(balance(f, 0, BTC).locked, 0);
    assert.deepEqual(balance(f, 0, USDT).locked, 0);
    assert.equal(f.engine.markets[0].bids.best_price(), P - 5);
    assert.deepEqual(reasons(f.run({ type: "cancel_all", ts_ms: 1000, account: 0, market: 0 })), [
      R.REASON_UNKNOWN_ORDER,
    ]);
  });

  it("cancel_replace: STOP_ON_FAILURE places nothing if the cancel fails; ALLOW_FAILURE places anyway", () => {
    const f = fixture();
    const a = new_id(f.run(limit(0, SIDE_BUY, P, 10)));
    const ok = f.run({
      type: "cancel_replace",
      ts_ms: 1000,
      account: 0,
      market: 0,
      cancel_order_id: a,
      cancel_client_order_id: null,
      allow_failure: false,
      order: spec({ side: SIDE_BUY, price_ticks: P - 1, quantity_lots: 20 }),
    });
    assert.equal(last_status(ok, a), STATUS_CANCELED);
    const b = new_id(ok);
    assert.equal(balance(f, 0, USDT).locked, (P - 1) * 20 * K);
    const stop = f.run({
      type: "cancel_replace",
      ts_ms: 1000,
      account: 0,
      market: 0,
      cancel_order_id: a,
      cancel_client_order_id: null,
      allow_failure: false,
      order: spec({ side: SIDE_BUY, price_ticks: P - 2, quantity_lots: 20 }),
    });
    assert.deepEqual(
      of_kind(stop, "rejected").map((r) => [r.reason, r.detail]),
      [[R.REASON_UNKNOWN_ORDER, "cancel"]],
    );
    assert.equal(of_kind(stop, "order_new").length, 0);
    const allow = f.run({
      type: "cancel_replace",
      ts_ms: 1000,
      account: 0,
      market: 0,
      cancel_order_id: a,
      cancel_client_order_id: null,
      allow_failure: true,
      order: spec({ side: SIDE_BUY, price_ticks: P - 2, quantity_lots: 20 }),
    });
    assert.equal(of_kind(allow, "order_new").length, 1);
    assert.ok(f.engine.orders.by_id.has(b));
  });
});

describe("cancel restrictions (Binance's cancelRestrictions)", () => {
  it("ONLY_NEW cancels only an order nothing of which executed, ONLY_PARTIALLY_FILLED only a partly filled one", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 10));
    const partly = new_id(f.run(limit(0, SIDE_SELL, P + 1, 10)));
    f.run(limit(1, SIDE_BUY, P + 1, 13)); // fills the first, then 3 of `partly`
    const again = new_id(f.run(limit(0, SIDE_SELL, P + 2, 10)));
    const cancel = (order_id: number, restriction: 1 | 2) =>
      f.run({
        type: "cancel_order",
        ts_ms: 1_000,
        account: 0,
        market: 0,
        order_id,
        client_order_id: null,
        restriction,
      });
    assert.deepEqual(reasons(cancel(partly, CANCEL_ONLY_NEW)), [R.REASON_CANCEL_RESTRICTED]);
    assert.deepEqual(reasons(cancel(again, CANCEL_ONLY_PARTIALLY_FILLED)), [R.REASON_CANCEL_RESTRICTED]);
    assert.ok(f.engine.orders.by_id.has(partly) && f.engine.orders.by_id.has(again), "nothing cancelled");
    assert.equal(last_status(cancel(partly, CANCEL_ONLY_PARTIALLY_FILLED), partly), STATUS_CANCELED);
    assert.equal(last_status(cancel(again, CANCEL_ONLY_NEW), again), STATUS_CANCELED);
    // cancel-replace: a restricted cancel fails; STOP_ON_FAILURE then places nothing, ALLOW_FAILURE does
    const rest = new_id(f.run(limit(0, SIDE_SELL, P + 3, 10)));
    f.run(limit(1, SIDE_BUY, P + 3, 1));
    const replace = (allow_failure: boolean) =>
      f.run({
        type: "cancel_replace",
        ts_ms: 1_000,
        account: 0,
        market: 0,
        cancel_order_id: rest,
        cancel_client_order_id: null,
        allow_failure,
        order: spec({ side: SIDE_SELL, price_ticks: P + 4, quantity_lots: 5 }),
        cancel_restriction: CANCEL_ONLY_NEW,
      });
    const stopped = replace(false);
    assert.deepEqual(reasons(stopped), [R.REASON_CANCEL_RESTRICTED]);
    assert.equal(of_kind(stopped, "order_new").length, 0);
    const allowed = replace(true);
    assert.deepEqual(reasons(allowed), [R.REASON_CANCEL_RESTRICTED]);
    assert.equal(of_kind(allowed, "order_new").length, 1);
    assert.ok(f.engine.orders.by_id.has(rest));
  });
});

describe("self-trade prevention (the taker's mode decides)", () => {
  const setup = () => {
    const f = fixture();
    const own = new_id(f.run(limit(0, SIDE_SELL, P, 10)));
    const other = new_id(f.run(limit(1, SIDE_SELL, P, 10)));
    return { f, own, other };
  };

  it("NONE lets an account trade with itself", () => {
    const { f, own } = setup();
    const ev = f.run(limit(0, SIDE_BUY, P, 10, TIF_GTC, STP_NONE));
    assert.equal(of_kind(ev, "trade")[0].maker_order_id, own);
    assert.equal(last_status(ev, own), STATUS_FILLED);
  });

  it("EXPIRE_TAKER expires the taker's remainder when it meets its own order", () => {
    const { f, own } = setup();
    const ev = f.run(limit(0, SIDE_BUY, P, 15, TIF_GTC, STP_EXPIRE_TAKER));
    const id = new_id(ev);
    assert.equal(of_kind(ev, "trade").length, 0);
    const final = of_kind(ev, "order_update")
      .filter((u) => u.order_id === id)
      .at(-1);
    assert.equal(final?.status, STATUS_EXPIRED_IN_MATCH);
    assert.equal(final?.end_reason, END_STP);
    assert.ok(f.engine.orders.by_id.has(own));
    assert.equal(balance(f, 0, USDT).locked, 0);
  });

  it("EXPIRE_MAKER expires the resting own order and keeps matching", () => {
    const { f, own, other } = setup();
    const ev = f.run(limit(0, SIDE_BUY, P, 15, TIF_GTC, STP_EXPIRE_MAKER));
    assert.equal(last_status(ev, own), STATUS_EXPIRED_IN_MATCH);
    const trades = of_kind(ev, "trade");
    assert.deepEqual(
      trades.map((t) => [t.maker_order_id, t.quantity_lots]),
      [[other, 10]],
    );
    assert.equal(f.engine.markets[0].bids.best_price(), P); // 5 lots rest
    assert.equal(balance(f, 0, BTC).locked, 0);
  });

  it("EXPIRE_BOTH expires both", () => {
    const { f, own } = setup();
    const ev = f.run(limit(0, SIDE_BUY, P, 15, TIF_GTC, STP_EXPIRE_BOTH));
    const id = new_id(ev);
    assert.equal(last_status(ev, own), STATUS_EXPIRED_IN_MATCH);
    assert.equal(last_status(ev, id), STATUS_EXPIRED_IN_MATCH);
    assert.equal(of_kind(ev, "trade").length, 0);
  });

  it("FOK counts what STP would prevent", () => {
    const { f } = setup();
    const ev = f.run(limit(0, SIDE_BUY, P, 15, TIF_FOK, STP_EXPIRE_MAKER));
    assert.equal(of_kind(ev, "trade").length, 0); // only 10 lots of others: not fillable
    assert.equal(of_kind(ev, "order_update").length, 1);
  });

  it("records each prevented match before the updates it causes: ids per market from 0, what expired", () => {
    const { f, own, other } = setup();
    const own2 = new_id(f.run(limit(0, SIDE_SELL, P + 1, 4)));
    // EXPIRE_MAKER: two of the account's own orders meet the taker; both expire, the taker goes on
    let ev = f.run(limit(0, SIDE_BUY, P + 1, 30, TIF_GTC, STP_EXPIRE_MAKER));
    const taker = new_id(ev);
    const pm = of_kind(ev, "prevented_match");
    assert.deepEqual(
      pm.map((x) => [x.prevented_match_id, x.taker_order_id, x.maker_order_id, x.account, x.price_ticks]),
      [
        [0, taker, own, 0, P],
        [1, taker, own2, 0, P + 1],
      ],
    );
    assert.deepEqual(
      pm.map((x) => [x.taker_prevented_lots, x.maker_prevented_lots, x.stp]),
      [
        [-1, 10, STP_EXPIRE_MAKER],
        [-1, 4, STP_EXPIRE_MAKER],
      ],
    );
    const at = (kind: string, id: number) =>
      ev.findIndex(
        (x) =>
          (kind === "pm" && x.kind === "prevented_match" && x.maker_order_id === id) ||
          (kind === "end" && x.kind === "order_update" && x.order_id === id && x.end_reason === END_STP),
      );
    assert.ok(at("pm", own) >= 0 && at("pm", own) < at("end", own));
    assert.ok(at("pm", own2) < at("end", own2));
    assert.equal(of_kind(ev, "trade")[0].maker_order_id, other);
    // EXPIRE_TAKER: the taker's remainder (what it had left at that price) expires, the maker stays
    f.run(limit(1, SIDE_BUY, P - 5, 7)); // account 1 bids
    const resting = new_id(f.run(limit(1, SIDE_SELL, P + 50, 6)));
    ev = f.run(limit(1, SIDE_BUY, P + 50, 9, TIF_GTC, STP_EXPIRE_TAKER));
    const t2 = new_id(ev);
    assert.deepEqual(
      of_kind(ev, "prevented_match").map((x) => [
        x.prevented_match_id,
        x.taker_order_id,
        x.maker_order_id,
        x.taker_prevented_lots,
        x.maker_prevented_lots,
      ]),
      [[2, t2, resting, 9, -1]],
    );
    assert.ok(f.engine.orders.by_id.has(resting));
    // EXPIRE_BOTH: both quantities; a market order by quote amount prevents the lots it could buy there
    ev = f.run(
      order(1, SIDE_BUY, TYPE_MARKET, 0, 0, { quote_units: (P + 50) * K * 3 + 5, stp: STP_EXPIRE_BOTH }),
    );
    assert.deepEqual(
      of_kind(ev, "prevented_match").map((x) => [
        x.prevented_match_id,
        x.taker_prevented_lots,
        x.maker_prevented_lots,
      ]),
      [[3, 3, 6]],
    );
    assert.equal(f.engine.markets[0].next_prevented_match_id, 4);
    // the counter is state: a restored engine continues it (and the hash covers it)
    const copy = restore(snapshot(f.engine));
    assert.equal(copy.markets[0].next_prevented_match_id, 4);
    assert.equal(state_hash(copy), state_hash(f.engine));
    copy.markets[0].next_prevented_match_id = 5;
    assert.notEqual(state_hash(copy), state_hash(f.engine));
  });

  it("the market default applies when the order names none", () => {
    const f = fixture();
    assert.equal(f.engine.markets[0].config.stp_default, STP_NONE); // the fixture's default
    f.run(limit(0, SIDE_SELL, P, 10));
    assert.equal(of_kind(f.run(limit(0, SIDE_BUY, P, 10)), "trade").length, 1);
  });
});
