/**
 * Pegged orders (Binance's pegged orders FAQ): a limit price taken from the book when the order goes
 * to work. PRIMARY_PEG: the best price on the order's own side; MARKET_PEG: the best on the other
 * side; an offset goes that many price levels deeper. Placed orders peg at once; a stop-limit order
 * pegs when triggered, an OTO's pending order when placed, and expires then if it cannot.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PlaceOto } from "../../src/engine/commands.js";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  type OrderType,
  PEG_MARKET,
  PEG_PRIMARY,
  SIDE_BUY,
  SIDE_SELL,
  type Side,
  STATUS_EXPIRED,
  STATUS_FILLED,
  STATUS_PENDING_NEW,
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
  K,
  LOT,
  last_status,
  limit,
  list_leg,
  new_id,
  of_kind,
  order,
  reasons,
  USDT,
} from "./helpers.js";

const P = 2_000_000;

/** Bids at P-10 (2 lots) and P-20 (3), asks at P+10 (2) and P+20 (3), from accounts 1 and 2. */
function booked(): Fixture {
  const f = fixture();
  f.run(limit(1, SIDE_BUY, P - 10, 2));
  f.run(limit(1, SIDE_BUY, P - 20, 3));
  f.run(limit(2, SIDE_SELL, P + 10, 2));
  f.run(limit(2, SIDE_SELL, P + 20, 3));
  return f;
}

describe("pegged orders", () => {
  it("a PRIMARY_PEG limit order rests at its own side's best price, or levels deeper; price 0 as sent", () => {
    const f = booked();
    const usdt = balance(f, 0, USDT);
    let events = f.run(order(0, SIDE_BUY, TYPE_LIMIT, 0, 4, { peg_type: PEG_PRIMARY }));
    let id = new_id(events);
    assert.equal(of_kind(events, "order_new")[0].price_ticks, 0, "the price it was sent with");
    const pegged = of_kind(events, "order_pegged");
    assert.deepEqual(
      pegged.map((e) => [e.order_id, e.peg_type, e.peg_offset_levels, e.pegged_price_ticks]),
      [[id, PEG_PRIMARY, -1, P - 10]],
    );
    const slot = f.engine.orders.by_id.get(id);
    assert.equal(f.engine.orders.price_ticks(slot), P - 10);
    assert.deepEqual(f.engine.orders.peg(slot), {
      type: PEG_PRIMARY,
      offset_levels: -1,
      sent_price_ticks: 0,
      pegged: true,
    });
    assert.equal(balance(f, 0, USDT).locked - usdt.locked, (P - 10) * 4 * K, "locked at the pegged price");
    assert.deepEqual(of_kind(events, "trade"), []);
    // one level deeper, with a price of its own (shown as sent)
    events = f.run(
      order(0, SIDE_SELL, TYPE_LIMIT, P + 500, 1, { peg_type: PEG_PRIMARY, peg_offset_levels: 1 }),
    );
    id = new_id(events);
    assert.equal(of_kind(events, "order_new")[0].price_ticks, P + 500);
    assert.equal(of_kind(events, "order_pegged")[0].pegged_price_ticks, P + 20);
    assert.equal(f.engine.orders.price_ticks(f.engine.orders.by_id.get(id)), P + 20);
  });

  it("a MARKET_PEG IOC order takes the other side's best price and only that price", () => {
    const f = booked();
    const events = f.run(order(0, SIDE_BUY, TYPE_LIMIT, 0, 5, { peg_type: PEG_MARKET, tif: TIF_IOC }));
    const id = new_id(events);
    assert.deepEqual(
      of_kind(events, "trade").map((t) => [t.price_ticks, t.quantity_lots]),
      [[P + 10, 2]],
    );
    assert.equal(last_status(events, id), STATUS_EXPIRED);
    assert.equal(balance(f, 0, USDT).locked, 0);
    assert.equal(balance(f, 0, BTC).free, 10 * 1e8 + 2 * LOT - 4, "2 lots bought, less the 0.2% fee");
  });

  it("refusals: nothing to peg to, and the shapes Binance does not take; nothing changes", () => {
    const f = fixture();
    f.run(limit(1, SIDE_BUY, P - 10, 2));
    const before = [balance(f, 0, USDT), balance(f, 0, BTC), f.engine.open_orders(0, 0).length];
    const refused = (
      over: Parameters<typeof order>[5],
      type: OrderType = TYPE_LIMIT,
      side: Side = SIDE_BUY,
    ) => reasons(f.run(order(0, side, type, 0, 1, over)));
    // no asks at all; no second bid
    assert.deepEqual(refused({ peg_type: PEG_MARKET }), [R.REASON_PEG_NO_PRICE]);
    assert.deepEqual(refused({ peg_type: PEG_PRIMARY, peg_offset_levels: 1 }), [R.REASON_PEG_NO_PRICE]);
    // LIMIT_MAKER: PRIMARY_PEG only; a PRIMARY_PEG LIMIT: GTC only
    assert.deepEqual(refused({ peg_type: PEG_MARKET }, TYPE_LIMIT_MAKER, SIDE_SELL), [
      R.REASON_UNSUPPORTED_ORDER,
    ]);
    assert.deepEqual(refused({ peg_type: PEG_PRIMARY, tif: TIF_IOC }), [R.REASON_UNSUPPORTED_ORDER]);
    // no peg for a market order; no such peg type; an offset past 100 levels
    assert.deepEqual(refused({ peg_type: PEG_PRIMARY }, TYPE_MARKET), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(refused({ peg_type: 3 }), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(refused({ peg_type: PEG_PRIMARY, peg_offset_levels: 101 }), [
      R.REASON_INVALID_PARAMETER,
    ]);
    assert.deepEqual([balance(f, 0, USDT), balance(f, 0, BTC), f.engine.open_orders(0, 0).length], before);
    // a PRIMARY_PEG limit maker joins the best bid (never takes)
    const events = f.run(order(0, SIDE_BUY, TYPE_LIMIT_MAKER, 0, 1, { peg_type: PEG_PRIMARY }));
    assert.equal(of_kind(events, "order_pegged")[0].pegged_price_ticks, P - 10);
    assert.deepEqual(of_kind(events, "trade"), []);
  });

  it("a pegged stop-limit order pegs when triggered: its lock follows the price; a snapshot keeps it", () => {
    const f = booked();
    // a BUY stop-limit at stop P+10, no price: its lock is reckoned at the stop price until triggered
    const placed = f.run(
      order(0, SIDE_BUY, TYPE_STOP_LOSS_LIMIT, 0, 2, { stop_price_ticks: P + 10, peg_type: PEG_MARKET }),
    );
    const id = new_id(placed);
    assert.equal(of_kind(placed, "order_pegged")[0].pegged_price_ticks, 0, "not known yet");
    assert.equal(balance(f, 0, USDT).locked, (P + 10) * 2 * K);
    // a copy from a snapshot behaves the same from here on
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    // a trade at P+10 triggers it; the best ask is then P+20 (account 2's last 3 lots)
    const trigger = limit(1, SIDE_BUY, P + 10, 2);
    const events = f.run(trigger);
    assert.equal(state_hash(restore(snapshot(copy))), state_hash(copy));
    copy.apply(trigger);
    assert.equal(state_hash(copy), state_hash(f.engine));
    const pegged = of_kind(events, "order_pegged");
    assert.deepEqual(
      pegged.map((e) => [e.order_id, e.pegged_price_ticks]),
      [[id, P + 20]],
    );
    assert.deepEqual(
      of_kind(events, "trade")
        .filter((t) => t.taker_order_id === id)
        .map((t) => [t.price_ticks, t.quantity_lots]),
      [[P + 20, 2]],
    );
    assert.equal(last_status(events, id), STATUS_FILLED);
    assert.equal(balance(f, 0, USDT).locked, 0, "the higher price's lock taken and spent");
  });

  it("a pegged stop-limit order expires when triggered if there is nothing to peg to or no funds", () => {
    const f = fixture();
    f.run(limit(1, SIDE_SELL, P, 1));
    // SELL stop below P; MARKET_PEG: the best bid when it triggers
    const placed = f.run(
      order(0, SIDE_SELL, TYPE_STOP_LOSS_LIMIT, 0, 2, { stop_price_ticks: P, peg_type: PEG_MARKET }),
    );
    const id = new_id(placed);
    const events = f.run(limit(2, SIDE_BUY, P, 1)); // trades at P: triggers it; no bids left
    assert.equal(last_status(events, id), STATUS_EXPIRED);
    assert.deepEqual(balance(f, 0, BTC), { free: 10 * 1e8, locked: 0 });
    // a BUY one whose pegged price needs more than the account has free
    const g = fixture();
    g.run(limit(1, SIDE_SELL, P, 1));
    g.run(limit(1, SIDE_SELL, 3 * P, 1));
    const spend = g.run({
      type: "withdraw",
      ts_ms: 1000,
      account: 0,
      asset: USDT,
      amount_units: 1_000_000 * 1e8 - P * 10 * K,
    });
    assert.deepEqual(reasons(spend), []);
    const buy = new_id(
      g.run(order(0, SIDE_BUY, TYPE_STOP_LOSS_LIMIT, 0, 10, { stop_price_ticks: P, peg_type: PEG_MARKET })),
    );
    const after = g.run(limit(2, SIDE_BUY, P, 1)); // trades at P; best ask now 3P: 30 lots' worth needed
    assert.equal(last_status(after, buy), STATUS_EXPIRED);
    assert.deepEqual(balance(g, 0, USDT), { free: P * 10 * K, locked: 0 });
  });

  it("an OTO's pegged pending order pegs when its working order has filled", () => {
    const f = booked();
    const oto: PlaceOto = {
      type: "place_oto",
      ts_ms: 1000,
      account: 0,
      market: 0,
      list_client_order_id: null,
      // buy the 2 lots at P+10 now (MARKET_PEG working order), then sell them at the best ask then
      working: list_leg(SIDE_BUY, TYPE_LIMIT, 0, 0, 2, { peg_type: PEG_MARKET }),
      pending: list_leg(SIDE_SELL, TYPE_LIMIT_MAKER, 0, 0, 2, { peg_type: PEG_PRIMARY }),
      pending_below: null,
    };
    const events = f.run(oto);
    const news = of_kind(events, "order_new");
    assert.equal(news.length, 2);
    const [working, pending] = news.map((n) => n.order_id);
    assert.equal(last_status(events, working), STATUS_FILLED);
    assert.deepEqual(
      of_kind(events, "order_pegged").map((e) => [e.order_id, e.pegged_price_ticks]),
      [
        [working, P + 10],
        [pending, 0],
        [pending, P + 20],
      ],
    );
    const slot = f.engine.orders.by_id.get(pending);
    assert.equal(f.engine.orders.price_ticks(slot), P + 20);
    assert.notEqual(f.engine.orders.level(slot), 0, "resting at the best ask");
    assert.equal(last_status(events, pending), STATUS_PENDING_NEW, "placed as pending; then activated");
    assert.equal(of_kind(events, "order_activated")[0].order_id, pending);
  });
});
