/**
 * Self-trade prevention by DECREMENT and TRANSFER (Binance's STP FAQ): both orders lose what would
 * have traded, the smaller expires (both if equal), the other goes on; and the matching rule format 7
 * added: a taker with nothing left stops before prevention looks at the next order of its own.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AmendOrder } from "../../src/engine/commands.js";
import { check_invariants } from "../../src/engine/invariants.js";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  END_STP,
  SIDE_BUY,
  SIDE_SELL,
  STATUS_EXPIRED,
  STATUS_EXPIRED_IN_MATCH,
  STATUS_FILLED,
  STATUS_NEW,
  STATUS_PARTIALLY_FILLED,
  STP_DECREMENT,
  STP_EXPIRE_MAKER,
  STP_NONE,
  STP_TRANSFER,
  TIF_FOK,
  TIF_GTC,
  TIF_IOC,
  TYPE_LIMIT,
  TYPE_MARKET,
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
  new_id,
  of_kind,
  order,
  reasons,
  USDT,
} from "./helpers.js";

const P = 2_000_000;

/** [taker lots, maker lots, taker total, maker total, mode] of each prevented match. */
const prevented = (ev: ReturnType<Fixture["run"]>) =>
  of_kind(ev, "prevented_match").map((x) => [
    x.taker_prevented_lots,
    x.maker_prevented_lots,
    x.taker_prevented_total_lots,
    x.maker_prevented_total_lots,
    x.stp,
  ]);

const bid_depth = (f: Fixture, price: number): number => {
  const level = f.engine.markets[0].bids.find_level(price);
  return level === 0 ? 0 : f.engine.levels.quantity_lots[level];
};

function amend(order_id: number, lots: number): AmendOrder {
  return {
    type: "amend_order",
    ts_ms: 1000,
    account: 0,
    market: 0,
    order_id,
    client_order_id: null,
    new_client_order_id: `amended-${lots}`,
    new_quantity_lots: lots,
  };
}

describe("self-trade prevention: DECREMENT", () => {
  it("Binance's scenario G: the smaller taker expires, the maker stays NEW with 2 lots less and its lock", () => {
    const f = fixture();
    const maker = new_id(f.run(limit(0, SIDE_BUY, P, 6, TIF_GTC, STP_NONE)));
    assert.equal(balance(f, 0, USDT).locked, 6 * P * K);
    const ev = f.run(limit(0, SIDE_SELL, P, 2, TIF_GTC, STP_DECREMENT));
    const taker = new_id(ev);
    assert.deepEqual(prevented(ev), [[2, 2, 2, 2, STP_DECREMENT]]);
    assert.equal(of_kind(ev, "trade").length, 0);
    assert.equal(last_status(ev, taker), STATUS_EXPIRED_IN_MATCH);
    // the maker: reported open, ended by STP (Binance's TRADE_PREVENTION report), 4 lots left
    const update = of_kind(ev, "order_update").find((u) => u.order_id === maker);
    assert.deepEqual([update?.status, update?.executed_lots, update?.end_reason], [STATUS_NEW, 0, END_STP]);
    assert.equal(f.engine.orders.remaining_lots(f.engine.orders.by_id.get(maker)), 4);
    assert.equal(f.engine.orders.prevented_lots(f.engine.orders.by_id.get(maker)), 2);
    assert.equal(bid_depth(f, P), 4);
    assert.deepEqual(
      of_kind(ev, "book").map((b) => [b.side, b.price_ticks, b.quantity_lots]),
      [[SIDE_BUY, P, 4]],
    );
    // locks follow: the maker's quote for 4 lots, the taker's base all back
    assert.equal(balance(f, 0, USDT).locked, 4 * P * K);
    assert.equal(balance(f, 0, BTC).locked, 0);
    assert.deepEqual(check_invariants(f.engine), []);
  });

  it("the smaller maker expires and the taker goes on: trades with others, rests the rest", () => {
    const f = fixture();
    const own = new_id(f.run(limit(0, SIDE_SELL, P, 2)));
    const other = new_id(f.run(limit(1, SIDE_SELL, P, 3)));
    const ev = f.run(limit(0, SIDE_BUY, P, 6, TIF_GTC, STP_DECREMENT));
    const taker = new_id(ev);
    assert.deepEqual(prevented(ev), [[2, 2, 2, 2, STP_DECREMENT]]);
    assert.equal(last_status(ev, own), STATUS_EXPIRED_IN_MATCH);
    assert.deepEqual(
      of_kind(ev, "trade").map((t) => [t.maker_order_id, t.quantity_lots]),
      [[other, 3]],
    );
    // the taker: reported reduced by prevention (open), then partly filled, then resting 1 lot
    const updates = of_kind(ev, "order_update").filter((u) => u.order_id === taker);
    assert.deepEqual(
      updates.map((u) => [u.status, u.end_reason]),
      [
        [STATUS_NEW, END_STP],
        [STATUS_PARTIALLY_FILLED, 0],
      ],
    );
    const slot = f.engine.orders.by_id.get(taker);
    assert.deepEqual([f.engine.orders.remaining_lots(slot), f.engine.orders.prevented_lots(slot)], [1, 2]);
    assert.equal(bid_depth(f, P), 1);
    assert.equal(balance(f, 0, USDT).locked, 1 * P * K, "quote for the one resting lot only");
    assert.deepEqual(check_invariants(f.engine), []);
  });

  it("equal quantities: both expire", () => {
    const f = fixture();
    const maker = new_id(f.run(limit(0, SIDE_SELL, P, 3)));
    const ev = f.run(limit(0, SIDE_BUY, P, 3, TIF_GTC, STP_DECREMENT));
    assert.deepEqual(prevented(ev), [[3, 3, 3, 3, STP_DECREMENT]]);
    assert.equal(last_status(ev, maker), STATUS_EXPIRED_IN_MATCH);
    assert.equal(last_status(ev, new_id(ev)), STATUS_EXPIRED_IN_MATCH);
    assert.equal(f.engine.orders.live, 0);
    assert.deepEqual([balance(f, 0, BTC).locked, balance(f, 0, USDT).locked], [0, 0]);
  });

  it("a taker that traded first and has its rest prevented expires EXPIRED_IN_MATCH, not FILLED", () => {
    const f = fixture();
    f.run(limit(1, SIDE_SELL, P, 2));
    f.run(limit(0, SIDE_SELL, P, 5));
    const ev = f.run(limit(0, SIDE_BUY, P, 4, TIF_GTC, STP_DECREMENT));
    const taker = new_id(ev);
    assert.deepEqual(prevented(ev), [[2, 2, 2, 2, STP_DECREMENT]]);
    const last = of_kind(ev, "order_update")
      .filter((u) => u.order_id === taker)
      .at(-1);
    assert.deepEqual([last?.status, last?.executed_lots], [STATUS_EXPIRED_IN_MATCH, 2]);
  });

  it("prevention adds up over an order's life; TRANSFER only when both orders name it", () => {
    const f = fixture();
    const maker = new_id(f.run(limit(0, SIDE_BUY, P, 10, TIF_GTC, STP_TRANSFER)));
    let ev = f.run(limit(0, SIDE_SELL, P, 2, TIF_IOC, STP_TRANSFER));
    assert.deepEqual(prevented(ev), [[2, 2, 2, 2, STP_TRANSFER]]);
    ev = f.run(limit(0, SIDE_SELL, P, 3, TIF_IOC, STP_DECREMENT));
    assert.deepEqual(prevented(ev), [[3, 3, 3, 5, STP_DECREMENT]], "the maker's total: 2 + 3");
    const plain = new_id(f.run(limit(0, SIDE_BUY, P - 1, 4, TIF_GTC, STP_NONE)));
    ev = f.run(limit(0, SIDE_SELL, P - 1, 1, TIF_IOC, STP_TRANSFER));
    assert.equal(of_kind(ev, "prevented_match")[0].maker_order_id, maker, "best price first");
    assert.deepEqual(prevented(ev), [[1, 1, 1, 6, STP_TRANSFER]]);
    // a TRANSFER taker against a maker that named another mode: DECREMENT
    f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 0,
      market: 0,
      order_id: maker,
      client_order_id: null,
    });
    ev = f.run(limit(0, SIDE_SELL, P - 1, 1, TIF_IOC, STP_TRANSFER));
    assert.equal(of_kind(ev, "prevented_match")[0].maker_order_id, plain);
    assert.deepEqual(prevented(ev), [[1, 1, 1, 1, STP_DECREMENT]]);
    // an EXPIRE mode reports an order's whole total when it expires it
    ev = f.run(limit(0, SIDE_SELL, P - 1, 1, TIF_IOC, STP_EXPIRE_MAKER));
    assert.deepEqual(prevented(ev), [[-1, 3, -1, 4, STP_EXPIRE_MAKER]]);
  });

  it("an iceberg maker whose shown part is prevented shows the next at the back of the queue", () => {
    const f = fixture();
    const ice = new_id(f.run(order(0, SIDE_BUY, TYPE_LIMIT, P, 9, { iceberg_lots: 3 })));
    const behind = new_id(f.run(limit(1, SIDE_BUY, P, 2)));
    assert.equal(bid_depth(f, P), 5);
    let ev = f.run(limit(0, SIDE_SELL, P, 5, TIF_IOC, STP_DECREMENT));
    // 3 prevented (the part shown), the next part goes behind the other account's order: 2 trade there
    assert.deepEqual(prevented(ev), [[3, 3, 3, 3, STP_DECREMENT]]);
    assert.deepEqual(
      of_kind(ev, "trade").map((t) => [t.maker_order_id, t.quantity_lots]),
      [[behind, 2]],
    );
    assert.equal(bid_depth(f, P), 3);
    const slot = f.engine.orders.by_id.get(ice);
    assert.deepEqual([f.engine.orders.remaining_lots(slot), f.engine.orders.prevented_lots(slot)], [6, 3]);
    assert.deepEqual(check_invariants(f.engine), []);
    // what a taker meets of it is the part shown: 1 of the shown 3
    ev = f.run(limit(0, SIDE_SELL, P, 1, TIF_IOC, STP_DECREMENT));
    assert.deepEqual(prevented(ev), [[1, 1, 1, 4, STP_DECREMENT]]);
    assert.equal(bid_depth(f, P), 2);
    assert.deepEqual(check_invariants(f.engine), []);
  });

  it("a market buy by quote amount loses what the prevented lots would have cost", () => {
    const f = fixture();
    f.run(limit(0, SIDE_SELL, P, 2));
    const other = new_id(f.run(limit(1, SIDE_SELL, P + 10, 5)));
    const quote = 2 * P * K + 3 * (P + 10) * K;
    const ev = f.run(order(0, SIDE_BUY, TYPE_MARKET, 0, 0, { quote_units: quote, stp: STP_DECREMENT }));
    const taker = new_id(ev);
    assert.deepEqual(prevented(ev), [[2, 2, 2, 2, STP_DECREMENT]]);
    // 2 lots' worth at P gone; the rest buys 3 lots at P + 10: the whole amount, FILLED
    assert.deepEqual(
      of_kind(ev, "trade").map((t) => [t.maker_order_id, t.quantity_lots]),
      [[other, 3]],
    );
    assert.equal(last_status(ev, taker), STATUS_FILLED);
    assert.equal(balance(f, 0, USDT).locked, 0);
  });

  it("FOK: an own order in the way means it cannot fill completely; nothing changes", () => {
    const f = fixture();
    const ids = [new_id(f.run(limit(1, SIDE_SELL, P, 5))), new_id(f.run(limit(0, SIDE_SELL, P, 5)))];
    const ev = f.run(limit(0, SIDE_BUY, P, 7, TIF_FOK, STP_DECREMENT));
    assert.equal(last_status(ev, new_id(ev)), STATUS_EXPIRED);
    assert.deepEqual(
      of_kind(ev, "prevented_match").length + of_kind(ev, "trade").length + of_kind(ev, "book").length,
      0,
    );
    const left = ids.map((id) => f.engine.orders.remaining_lots(f.engine.orders.by_id.get(id)));
    assert.deepEqual(left, [5, 5]);
    assert.deepEqual([balance(f, 0, USDT).locked, balance(f, 0, BTC).locked], [0, 5 * LOT]);
  });

  it("amend after prevention: origQty is what it works with plus what was prevented", () => {
    const f = fixture();
    const maker = new_id(f.run(limit(0, SIDE_BUY, P, 6)));
    f.run(limit(0, SIDE_SELL, P, 2, TIF_IOC, STP_DECREMENT)); // 4 left, 2 prevented
    assert.deepEqual(reasons(f.run(amend(maker, 7))), [R.REASON_AMEND_INCREASE]);
    assert.deepEqual(reasons(f.run(amend(maker, 6))), [R.REASON_AMEND_NO_CHANGE]);
    assert.deepEqual(reasons(f.run(amend(maker, 2))), [R.REASON_AMEND_NOT_ABOVE_EXECUTED], "nothing left");
    const ev = f.run(amend(maker, 5));
    assert.deepEqual(reasons(ev), []);
    const a = of_kind(ev, "order_amended")[0];
    assert.deepEqual([a.quantity_lots, a.orig_quantity_lots], [5, 6]);
    const slot = f.engine.orders.by_id.get(maker);
    assert.deepEqual([f.engine.orders.remaining_lots(slot), f.engine.orders.prevented_lots(slot)], [3, 2]);
    assert.equal(bid_depth(f, P), 3);
    assert.equal(balance(f, 0, USDT).locked, 3 * P * K);
    assert.deepEqual(check_invariants(f.engine), []);
  });

  it("a snapshot keeps prevented quantities: the restored engine hashes and behaves the same", () => {
    const f = fixture();
    const maker = new_id(f.run(limit(0, SIDE_SELL, P, 8)));
    f.run(limit(0, SIDE_BUY, P, 3, TIF_IOC, STP_DECREMENT));
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    assert.equal(copy.orders.prevented_lots(copy.orders.by_id.get(maker)), 3);
    const next = limit(0, SIDE_BUY, P, 2, TIF_IOC, STP_DECREMENT);
    assert.deepEqual(copy.apply(next), f.run(next));
    assert.equal(state_hash(copy), state_hash(f.engine));
    // the prevented quantity is state: the hash covers it
    const slot = copy.orders.by_id.get(maker);
    copy.orders.add_prevented(slot, 1);
    assert.notEqual(state_hash(copy), state_hash(f.engine));
  });
});

describe("self-trade prevention after a fill (format 7)", () => {
  it("a taker with nothing left stops before its own order behind; one journaled in format 6 does not", () => {
    for (const format of [undefined, 6]) {
      const f = fixture();
      f.run(limit(1, SIDE_SELL, P, 2));
      const own = new_id(f.run(limit(0, SIDE_SELL, P, 2)));
      const ev = f.run(order(0, SIDE_BUY, TYPE_LIMIT, P, 2, { stp: STP_EXPIRE_MAKER, format }));
      assert.equal(last_status(ev, new_id(ev)), STATUS_FILLED);
      if (format === undefined) {
        assert.equal(of_kind(ev, "prevented_match").length, 0);
        assert.ok(f.engine.orders.by_id.has(own), "left alone: the taker never reached it");
      } else {
        // the rule before: prevention expired the account's order the filled taker never traded with
        assert.equal(last_status(ev, own), STATUS_EXPIRED_IN_MATCH);
      }
    }
  });
});
