/**
 * Order lists: Binance's OTO (one-triggers-the-other) and OTOCO (one-triggers-one-cancels-the-other),
 * and OCOs whose take-profit order is a TAKE_PROFIT(_LIMIT) stop. An OTO's working order goes on the
 * book; its pending order (or an OTOCO's pending OCO pair) waits off the book, PENDING_NEW, holding
 * its funds, and is placed once the working order has filled completely. Cancelling or expiring any
 * of them before then ends them all.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { OrderSpec, PlaceOrderList, PlaceOto } from "../../src/engine/commands.js";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  CONTINGENCY_OCO,
  CONTINGENCY_OTO,
  END_LIST,
  END_LIST_WORKING,
  LIST_ALL_DONE,
  LIST_EXECUTING,
  SIDE_BUY,
  SIDE_SELL,
  STATUS_CANCELED,
  STATUS_EXPIRED,
  STATUS_FILLED,
  STATUS_PARTIALLY_FILLED,
  STATUS_PENDING_NEW,
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

/** Buy 5 lots at P - 100; once bought, sell them at P + 200 (a take-profit limit order). */
function oto(account: number, over: Partial<PlaceOto> = {}): PlaceOto {
  return {
    type: "place_oto",
    ts_ms: 1000,
    account,
    market: 0,
    list_client_order_id: null,
    working: leg(SIDE_BUY, TYPE_LIMIT, P - 100, 0, 5),
    pending: leg(SIDE_SELL, TYPE_LIMIT, P + 200, 0, 5),
    pending_below: null,
    ...over,
  };
}

/** Buy 5 lots at P - 100; once bought, an OCO: sell at P + 200 (limit maker) or stop out at P - 300. */
function otoco(account: number, over: Partial<PlaceOto> = {}): PlaceOto {
  return oto(account, {
    pending: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P + 200, 0, 5),
    pending_below: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 300, 5),
    ...over,
  });
}

/** A market with a last price of P (accounts 1 and 2 traded). */
const at_p = (): Fixture => traded_at(P);

const lists = (ev: ReturnType<Fixture["run"]>) =>
  of_kind(ev, "order_list").map((l) => [l.status, l.contingency, l.working_order_id]);

const statuses = (ev: ReturnType<Fixture["run"]>) =>
  of_kind(ev, "order_update").map((u) => [u.order_id, u.status, u.end_reason]);

describe("order lists (OTO, OTOCO, OCO with take-profit stops)", () => {
  it("an OTO: the working order rests, the pending order waits PENDING_NEW with its funds locked", () => {
    const f = at_p();
    const btc = balance(f, 0, BTC).locked;
    const usdt = balance(f, 0, USDT).locked;
    const ev = f.run(oto(0, { list_client_order_id: "bracket" }));
    const [list] = of_kind(ev, "order_list");
    assert.deepEqual(
      [list.status, list.contingency, list.working_order_id, list.above_order_id, list.below_order_id],
      [LIST_EXECUTING, CONTINGENCY_OTO, 3, 4, 0],
    );
    assert.deepEqual(
      ev.map((e) => e.kind).filter((k) => k !== "balance"),
      ["order_list", "order_new", "order_new", "order_update", "book"],
      "the list, its orders, the pending one PENDING_NEW, then the working order in the book",
    );
    assert.deepEqual(statuses(ev), [[4, STATUS_PENDING_NEW, 0]]);
    assert.equal(f.engine.markets[0].bids.best_price(), P - 100);
    assert.equal(f.engine.markets[0].asks.count, 0, "the pending order is not in the book");
    assert.deepEqual(
      [balance(f, 0, USDT).locked - usdt, balance(f, 0, BTC).locked - btc],
      [5 * (P - 100) * K, 5 * LOT],
      "each order locks what it needs when the list is placed",
    );
    assert.deepEqual(
      f.engine.open_orders(0, 0).map((s) => f.engine.orders.id(s)),
      [3, 4],
    );
    assert.deepEqual([...f.engine.waiting], [4]);
  });

  it("the working order fills: the OTO is done and its pending order goes on the book", () => {
    const f = at_p();
    f.run(oto(0));
    const part = f.run(limit(1, SIDE_SELL, P - 100, 2));
    assert.deepEqual(lists(part), [], "a partial fill places nothing");
    assert.equal(last_status(part, 3), STATUS_PARTIALLY_FILLED);
    const ev = f.run(limit(1, SIDE_SELL, P - 100, 3));
    const kinds = ev.map((e) => e.kind).filter((k) => k !== "balance" && k !== "book");
    assert.deepEqual(kinds, [
      "order_new",
      "trade",
      "order_update", // the working order: FILLED
      "order_list", // the OTO: done
      "order_update", // the seller: FILLED
      "order_activated", // then the pending order is placed
    ]);
    assert.deepEqual(lists(ev), [[LIST_ALL_DONE, CONTINGENCY_OTO, 3]]);
    assert.equal(last_status(ev, 3), STATUS_FILLED);
    assert.equal(of_kind(ev, "order_activated")[0].order_id, 4);
    assert.equal(f.engine.markets[0].asks.best_price(), P + 200);
    assert.deepEqual([f.engine.order_lists.size, f.engine.waiting.size], [0, 0]);
    // it rests as any sell order, then trades as one
    const sold = f.run(limit(2, SIDE_BUY, P + 200, 5));
    assert.equal(last_status(sold, 4), STATUS_FILLED);
    assert.equal(balance(f, 0, BTC).locked, 0);
  });

  it("a working order that fills at once places its pending order in the same command", () => {
    const f = at_p();
    f.run(limit(1, SIDE_SELL, P - 100, 5));
    const ev = f.run(oto(0));
    assert.equal(last_status(ev, 4), STATUS_FILLED);
    assert.deepEqual(lists(ev), [
      [LIST_EXECUTING, CONTINGENCY_OTO, 4],
      [LIST_ALL_DONE, CONTINGENCY_OTO, 4],
    ]);
    assert.equal(of_kind(ev, "order_activated")[0].order_id, 5);
    assert.equal(f.engine.markets[0].asks.best_price(), P + 200);
  });

  it("cancelling the pending order cancels the working order, and the other way round", () => {
    const f = at_p();
    f.run(oto(0));
    const ev = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 0,
      market: 0,
      order_id: 4,
      client_order_id: null,
    });
    assert.deepEqual(statuses(ev), [
      [4, STATUS_CANCELED, 1],
      [3, STATUS_CANCELED, END_LIST],
    ]);
    assert.deepEqual(lists(ev), [[LIST_ALL_DONE, CONTINGENCY_OTO, 3]]);
    assert.deepEqual(
      [balance(f, 0, BTC).locked, balance(f, 0, USDT).locked, f.engine.orders.live],
      [0, 0, 0],
    );
    f.run(oto(0));
    const working = f.run({
      type: "cancel_order",
      ts_ms: 1000,
      account: 0,
      market: 0,
      order_id: 5,
      client_order_id: null,
    });
    assert.deepEqual(statuses(working), [
      [5, STATUS_CANCELED, 1],
      [6, STATUS_CANCELED, END_LIST_WORKING],
    ]);
    assert.deepEqual([f.engine.waiting.size, f.engine.orders.live], [0, 0]);
    f.run(otoco(0));
    const all = f.run({ type: "cancel_all", ts_ms: 1000, account: 0, market: 0 });
    assert.equal(of_kind(all, "order_update").length, 3);
    assert.deepEqual(
      [balance(f, 0, BTC).locked, balance(f, 0, USDT).locked, f.engine.orders.live],
      [0, 0, 0],
    );
  });

  it("a working IOC order that does not fill expires, and its pending order with it", () => {
    const f = at_p();
    const ev = f.run(oto(0, { working: leg(SIDE_BUY, TYPE_LIMIT, P - 100, 0, 5, { tif: TIF_IOC }) }));
    assert.deepEqual(statuses(ev), [
      [4, STATUS_PENDING_NEW, 0],
      [3, STATUS_EXPIRED, 2],
      [4, STATUS_EXPIRED, END_LIST_WORKING],
    ]);
    assert.deepEqual(lists(ev)[1], [LIST_ALL_DONE, CONTINGENCY_OTO, 3]);
    assert.equal(f.engine.orders.live, 0);
  });

  it("a pending stop order waits for its trigger once placed, or triggers at once if the price is past it", () => {
    const f = at_p();
    const stop = leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 300, 5);
    f.run(oto(0, { pending: stop }));
    f.run(limit(2, SIDE_BUY, P - 400, 20)); // a bid for stops to sell to
    f.run(limit(1, SIDE_SELL, P - 100, 5)); // fills the working order: the stop is filed
    assert.equal(f.engine.markets[0].stops.size, 1);
    const ev = f.run(limit(1, SIDE_SELL, P - 400, 1)); // last P - 400: the stop triggers
    assert.equal(last_status(ev, 4), STATUS_FILLED);
    // placed when the last price is already past its stop price: it triggers in the same command
    f.run(oto(0, { working: leg(SIDE_BUY, TYPE_LIMIT, P - 350, 0, 5), pending: stop }));
    const at_once = f.run(limit(1, SIDE_SELL, P - 350, 5)); // last P - 350, past the stop's P - 300
    const pending_id = of_kind(at_once, "order_activated")[0].order_id;
    assert.deepEqual(
      of_kind(at_once, "order_triggered").map((t) => t.order_id),
      [pending_id],
    );
  });

  it("a pending LIMIT_MAKER that would take when placed expires", () => {
    const f = at_p();
    f.run(oto(0, { pending: leg(SIDE_BUY, TYPE_LIMIT_MAKER, P - 50, 0, 5) }));
    // the seller's remainder rests at P - 100, below the pending buy's price
    const ev = f.run(limit(1, SIDE_SELL, P - 100, 10));
    assert.equal(f.engine.markets[0].asks.best_price(), P - 100);
    assert.equal(last_status(ev, 4), STATUS_EXPIRED);
    assert.equal(of_kind(ev, "trade").length, 1, "only the working order's fill");
  });

  it("an OTOCO: the pair locks once and waits; the working order's fill places it as an OCO", () => {
    const f = at_p();
    const btc = balance(f, 0, BTC).locked;
    const ev = f.run(otoco(0));
    assert.deepEqual(
      of_kind(ev, "order_list").map((l) => [l.working_order_id, l.above_order_id, l.below_order_id]),
      [[3, 4, 5]],
    );
    assert.deepEqual(statuses(ev), [
      [4, STATUS_PENDING_NEW, 0],
      [5, STATUS_PENDING_NEW, 0],
    ]);
    assert.equal(balance(f, 0, BTC).locked - btc, 5 * LOT, "the pair's quantity once");
    const filled = f.run(limit(1, SIDE_SELL, P - 100, 5));
    assert.deepEqual(lists(filled), [], "the list goes on: now an OCO");
    assert.deepEqual(
      of_kind(filled, "order_activated").map((a) => a.order_id),
      [4, 5],
    );
    assert.equal(f.engine.markets[0].asks.best_price(), P + 200);
    assert.equal(f.engine.markets[0].stops.size, 1);
    assert.equal(f.engine.order_lists.get(1)?.waiting, false);
    // the limit maker trades: the stop expires and the list is done
    const traded = f.run(limit(2, SIDE_BUY, P + 200, 2));
    assert.deepEqual(
      statuses(traded).find(([id]) => id === 5),
      [5, STATUS_EXPIRED, END_LIST],
    );
    assert.deepEqual(lists(traded), [[LIST_ALL_DONE, CONTINGENCY_OTO, 3]]);
    assert.equal(balance(f, 0, BTC).locked, 3 * LOT);
  });

  it("an OCO of a TAKE_PROFIT_LIMIT and a STOP_LOSS: both wait as stops; either trigger expires the other", () => {
    const f = at_p();
    const tp_sl = (account: number): PlaceOrderList => ({
      type: "place_order_list",
      ts_ms: 1000,
      account,
      market: 0,
      list_client_order_id: null,
      above: leg(SIDE_SELL, TYPE_TAKE_PROFIT_LIMIT, P + 100, P + 100, 5),
      below: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 100, 5),
    });
    const before = balance(f, 0, BTC).locked;
    const placed = f.run(tp_sl(0));
    assert.equal(of_kind(placed, "order_list")[0].contingency, CONTINGENCY_OCO);
    assert.deepEqual([f.engine.markets[0].stops.size, f.engine.markets[0].asks.count], [2, 0]);
    assert.equal(balance(f, 0, BTC).locked - before, 5 * LOT);
    f.run(limit(2, SIDE_BUY, P + 100, 10)); // bids for the take-profit order to sell to
    const ev = f.run(limit(1, SIDE_SELL, P + 100, 1)); // last P + 100: the take-profit order triggers
    assert.deepEqual(
      of_kind(ev, "order_triggered").map((t) => t.order_id),
      [3],
    );
    assert.deepEqual([last_status(ev, 4), last_status(ev, 3)], [STATUS_EXPIRED, STATUS_FILLED]);
    assert.deepEqual([f.engine.order_lists.size, balance(f, 0, BTC).locked], [0, 0]);
    // a buy pair: the stop-loss triggers and takes the take-profit order's lock over
    const g = at_p();
    const usdt = balance(g, 0, USDT).locked;
    g.run({
      ...tp_sl(0),
      above: leg(SIDE_BUY, TYPE_STOP_LOSS_LIMIT, P + 150, P + 100, 4),
      below: leg(SIDE_BUY, TYPE_TAKE_PROFIT, 0, P - 100, 4),
    });
    // the take-profit (market) order locks 4 lots at its stop price, the stop-loss limit the rest
    assert.equal(balance(g, 0, USDT).locked - usdt, 4 * (P + 150) * K);
    g.run(limit(1, SIDE_SELL, P + 150, 10));
    g.run(limit(1, SIDE_SELL, P + 100, 1));
    const up = g.run(limit(2, SIDE_BUY, P + 100, 1));
    assert.deepEqual(
      of_kind(up, "order_triggered").map((t) => t.order_id),
      [3],
    );
    assert.equal(last_status(up, 4), STATUS_EXPIRED);
    assert.equal(last_status(up, 3), STATUS_FILLED);
    assert.equal(balance(g, 0, USDT).locked, usdt);
  });

  it("a take-profit stop in an OCO is refused in a journal of format 7 (as it was then)", () => {
    const f = at_p();
    const cmd: PlaceOrderList = {
      type: "place_order_list",
      ts_ms: 1000,
      account: 0,
      market: 0,
      list_client_order_id: null,
      above: leg(SIDE_SELL, TYPE_TAKE_PROFIT, 0, P + 100, 5, { format: 7 }),
      below: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 100, 5, { format: 7 }),
    };
    assert.deepEqual(reasons(f.run(cmd)), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(
      reasons(
        f.run({
          ...cmd,
          above: { ...cmd.above, format: undefined },
          below: { ...cmd.below, format: undefined },
        }),
      ),
      [],
    );
  });

  it("refusals: working type, quote amounts, prices of the pair, funds of one asset, ids, room for all", () => {
    const f = at_p();
    const refused = (c: PlaceOto) => reasons(f.run(c));
    assert.deepEqual(refused(oto(0, { working: leg(SIDE_BUY, TYPE_MARKET, 0, 0, 5) })), [
      R.REASON_INVALID_PARAMETER,
    ]);
    assert.deepEqual(refused(oto(0, { working: leg(SIDE_BUY, TYPE_STOP_LOSS, 0, P + 5, 5) })), [
      R.REASON_INVALID_PARAMETER,
    ]);
    assert.deepEqual(
      refused(oto(0, { pending: leg(SIDE_BUY, TYPE_MARKET, 0, 0, 0, { quote_units: 1000 }) })),
      [R.REASON_INVALID_PARAMETER],
    );
    // an OTOCO's pair as an OCO's: a sell's take-profit order above
    assert.deepEqual(
      refused(
        otoco(0, {
          pending: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 300, 5),
          pending_below: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P + 200, 0, 5),
        }),
      ),
      [R.REASON_OCO_BAD_PRICES],
    );
    // a pending order needs no check against the book now: a LIMIT_MAKER below the best bid is fine
    assert.deepEqual(refused(oto(0, { pending: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P - 500, 0, 5) })), []);
    // buying 500,000 lots at P - 100 needs 999,950 USDT of account 1's 1,000,000; a pending buy of
    // the same asset needs more on top: refused though each alone would pass
    const big = (lots: number) =>
      oto(1, {
        working: leg(SIDE_BUY, TYPE_LIMIT, P - 100, 0, lots),
        pending: leg(SIDE_BUY, TYPE_LIMIT, P - 100, 0, lots),
      });
    const free = balance(f, 1, USDT).free;
    const half = Math.floor(free / K / (P - 100) / 2);
    assert.deepEqual(refused(big(half + 1)), [R.REASON_INSUFFICIENT_BALANCE]);
    assert.deepEqual(refused(big(half)), []);
    // client order ids differ among the list's orders; the list's id is unique among open lists
    const twins = otoco(2);
    twins.working.client_order_id = "twin";
    twins.pending_below = { ...(twins.pending_below as OrderSpec), client_order_id: "twin" };
    assert.deepEqual(refused(twins), [R.REASON_DUPLICATE_ORDER]);
    assert.deepEqual(refused(oto(2, { list_client_order_id: "l" })), []);
    assert.deepEqual(refused(oto(2, { list_client_order_id: "l" })), [R.REASON_DUPLICATE_ORDER]);
    const g = fixture(3, { open_orders_per_account_market_max: 4 });
    g.run(limit(0, SIDE_BUY, P - 500, 1));
    g.run(limit(0, SIDE_BUY, P - 501, 1));
    assert.deepEqual(reasons(g.run(otoco(0))), [R.REASON_FILTER_MAX_NUM_ORDERS], "room for three");
    assert.deepEqual(reasons(g.run(oto(0))), [], "room for two");
  });

  it("an OPO: the working order's proceeds are locked for the pending order and size it; the fee from free funds if they hold it", () => {
    const f = at_p();
    const btc = balance(f, 0, BTC);
    const opo = (account: number, lots: number, over: Partial<PlaceOto> = {}): PlaceOto =>
      oto(account, {
        working: leg(SIDE_BUY, TYPE_LIMIT, P - 100, 0, lots),
        pending: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P + 200, 0, 0),
        pays: true,
        ...over,
      });
    const placed = f.run(opo(0, 5));
    assert.deepEqual(
      of_kind(placed, "order_new").map((o) => [o.order_id, o.quantity_lots]),
      [
        [3, 5],
        [4, 0],
      ],
      "the pending order has no quantity yet",
    );
    assert.equal(balance(f, 0, BTC).locked, btc.locked, "nor any funds locked");
    // 2 lots bought as maker (fee 0.1% of the base received, 2 units): the account's free BTC pays
    // the fee (Binance's OPO FAQ), so all 2,000 units are locked for the pending order
    f.run(limit(1, SIDE_SELL, P - 100, 2));
    assert.equal(balance(f, 0, BTC).locked - btc.locked, 2 * LOT);
    assert.equal(
      balance(f, 0, BTC).free,
      btc.free - 2,
      "the proceeds went to the pending order, the fee from free",
    );
    const ev = f.run(limit(1, SIDE_SELL, P - 100, 3));
    // 5,000 units in all: placed with all 5 lots bought
    assert.deepEqual(
      of_kind(ev, "order_activated").map((a) => [a.order_id, a.quantity_lots]),
      [[4, 5]],
    );
    assert.deepEqual(
      [balance(f, 0, BTC).locked - btc.locked, balance(f, 0, BTC).free - btc.free],
      [5 * LOT, -5],
    );
    assert.equal(f.engine.markets[0].asks.best_price(), P + 200);
    // no free BTC to pay the fee with: it comes off the proceeds, 4,995 units, placed with 4 lots and
    // the 995 left released; the same under format 9's rule (the taker's order journaled in v9)
    for (const format of [undefined, 9]) {
      const z = at_p();
      if (format === undefined)
        z.run({
          type: "withdraw",
          ts_ms: 1000,
          account: 0,
          asset: BTC,
          amount_units: balance(z, 0, BTC).free,
        });
      const z_btc = balance(z, 0, BTC);
      z.run(opo(0, 5));
      const taker = limit(1, SIDE_SELL, P - 100, 5);
      const filled = z.run({ ...taker, format });
      assert.deepEqual(
        of_kind(filled, "order_activated").map((a) => a.quantity_lots),
        [4],
        `format ${format}`,
      );
      assert.deepEqual(
        [balance(z, 0, BTC).locked - z_btc.locked, balance(z, 0, BTC).free - z_btc.free],
        [4 * LOT, 995],
        `format ${format}`,
      );
    }
    // an OPOCO: the pair gets the proceeds' lots; cancelled part-way, the proceeds come back
    const g = at_p();
    const g_btc = balance(g, 0, BTC);
    g.run(
      opo(0, 5, {
        pending: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P + 200, 0, 0),
        pending_below: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 300, 0),
      }),
    );
    g.run(limit(1, SIDE_SELL, P - 100, 1));
    assert.equal(balance(g, 0, BTC).locked - g_btc.locked, LOT);
    g.run({ type: "cancel_order_list", ts_ms: 1000, account: 0, market: 0, list_id: 1 });
    assert.deepEqual(
      [balance(g, 0, BTC).locked, balance(g, 0, BTC).free - g_btc.free],
      [g_btc.locked, LOT - 1],
    );
    g.run(
      opo(0, 5, {
        pending: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P + 200, 0, 0),
        pending_below: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 300, 0),
      }),
    );
    const pair = g.run(limit(1, SIDE_SELL, P - 100, 5));
    assert.deepEqual(
      of_kind(pair, "order_activated").map((a) => a.quantity_lots),
      [5, 5],
    );
    assert.deepEqual([g.engine.markets[0].stops.size, g.engine.order_lists.size], [1, 1]);
    // proceeds short of a lot (no free BTC for the fee): the pending order expires when placed, its
    // lock released
    const h = at_p();
    h.run({ type: "withdraw", ts_ms: 1000, account: 0, asset: BTC, amount_units: balance(h, 0, BTC).free });
    h.run(opo(0, 1));
    const short = h.run(limit(1, SIDE_SELL, P - 100, 1));
    assert.equal(last_status(short, 4), STATUS_EXPIRED);
    assert.equal(balance(h, 0, BTC).locked, 0);
    // placing one needs the working order's funds only; under format 9's rule it needed free BTC
    // for the pending order's sale as well
    const v9 = opo(0, 1);
    v9.working = { ...v9.working, format: 9 };
    assert.deepEqual(reasons(h.run(v9)), [R.REASON_INSUFFICIENT_BALANCE]);
    // Binance's rules: a BUY working order, SELL pending orders without a quantity
    assert.deepEqual(reasons(h.run(opo(0, 5, { working: leg(SIDE_SELL, TYPE_LIMIT, P + 100, 0, 5) }))), [
      R.REASON_INVALID_PARAMETER,
    ]);
    assert.deepEqual(reasons(h.run(opo(0, 5, { pending: leg(SIDE_SELL, TYPE_LIMIT, P + 200, 0, 5) }))), [
      R.REASON_INVALID_PARAMETER,
    ]);
  });

  it("cancel_order_list cancels a pending list whole, and refuses one that resolved meanwhile", () => {
    const f = at_p();
    f.run(otoco(0));
    const cancel = (list_id: number, account = 0) =>
      f.run({ type: "cancel_order_list", ts_ms: 1000, account, market: 0, list_id });
    assert.deepEqual(reasons(cancel(1, 1)), [R.REASON_UNKNOWN_ORDER_LIST], "another account's");
    assert.deepEqual(reasons(cancel(7)), [R.REASON_UNKNOWN_ORDER_LIST], "no such list");
    const ev = cancel(1);
    assert.deepEqual(statuses(ev), [
      [3, STATUS_CANCELED, 1],
      [4, STATUS_CANCELED, END_LIST_WORKING],
      [5, STATUS_CANCELED, END_LIST_WORKING],
    ]);
    assert.deepEqual(lists(ev), [[LIST_ALL_DONE, CONTINGENCY_OTO, 3]]);
    // an OCO whose limit maker traded has resolved: its cancel is refused, the limit maker stays
    f.run({
      type: "place_order_list",
      ts_ms: 1000,
      account: 0,
      market: 0,
      list_client_order_id: null,
      above: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P + 100, 0, 5),
      below: leg(SIDE_SELL, TYPE_STOP_LOSS, 0, P - 100, 5),
    });
    f.run(limit(1, SIDE_BUY, P + 100, 1));
    assert.deepEqual(reasons(cancel(2)), [R.REASON_UNKNOWN_ORDER_LIST]);
    assert.equal(f.engine.markets[0].asks.best_price(), P + 100);
  });

  it("amends of list orders (Binance): an OCO pair's both orders together, an OTO's orders each alone, not an OPO's pending ones", () => {
    const f = at_p();
    const amend = (order_id: number, lots: number, cid = "smaller") =>
      f.run({
        type: "amend_order",
        ts_ms: 1000,
        account: 0,
        market: 0,
        order_id,
        client_order_id: null,
        new_client_order_id: cid,
        new_quantity_lots: lots,
      });
    const usdt = balance(f, 0, USDT);
    const btc = balance(f, 0, BTC);
    f.run(otoco(0)); // working 3: buy 5 at P - 100; pending pair 4 (limit maker) and 5 (stop), 5 lots
    // the working order alone
    const working = amend(3, 4, "w");
    assert.deepEqual(
      of_kind(working, "order_amended").map((a) => [a.order_id, a.quantity_lots, a.client_order_id]),
      [[3, 4, "w"]],
    );
    assert.equal(balance(f, 0, USDT).locked - usdt.locked, 4 * (P - 100) * K);
    // either order of the pending pair: both take the new quantity, the pair's lock with them
    const pair = amend(5, 3, "s");
    assert.deepEqual(
      of_kind(pair, "order_amended").map((a) => [
        a.order_id,
        a.quantity_lots,
        a.orig_quantity_lots,
        a.client_order_id,
      ]),
      [
        [5, 3, 5, "s"],
        [4, 3, 5, f.engine.orders.client_order_id(f.engine.orders.by_id.get(4))],
      ],
    );
    assert.equal(balance(f, 0, BTC).locked - btc.locked, 3 * LOT);
    // the working order fills (4 lots): the pair is placed with 3
    const ev = f.run(limit(1, SIDE_SELL, P - 100, 4));
    assert.deepEqual(
      of_kind(ev, "order_activated").map((a) => [a.order_id, a.quantity_lots]),
      [
        [4, 3],
        [5, 3],
      ],
    );
    // placed, still an OCO pair: amended together again
    assert.deepEqual(
      of_kind(amend(4, 2, "l"), "order_amended").map((a) => [a.order_id, a.quantity_lots]),
      [
        [4, 2],
        [5, 2],
      ],
    );
    assert.equal(f.engine.markets[0].asks.best_price(), P + 200);
    assert.equal(balance(f, 0, BTC).locked - btc.locked, 2 * LOT);
    // an OTO's pending order alone
    f.run(oto(0));
    const ids = [...f.engine.order_lists.values()].find((l) => l.below_id === 0) as { above_id: number };
    assert.deepEqual(
      of_kind(amend(ids.above_id, 1, "p"), "order_amended").map((a) => [a.order_id, a.quantity_lots]),
      [[ids.above_id, 1]],
    );
    // an OPO's pending order has no quantity to amend
    f.run(
      oto(0, {
        working: leg(SIDE_BUY, TYPE_LIMIT, P - 100, 0, 5),
        pending: leg(SIDE_SELL, TYPE_LIMIT_MAKER, P + 200, 0, 0),
        pays: true,
      }),
    );
    const opo = [...f.engine.order_lists.values()].find((l) => l.pays) as { above_id: number };
    assert.deepEqual(reasons(amend(opo.above_id, 1, "o")), [R.REASON_AMEND_ORDER_LIST]);
  });

  it("the exchange expiring a market ends waiting lists", () => {
    const f = at_p();
    f.run(otoco(0));
    const ev = f.run({ type: "expire_market_orders", ts_ms: 1000, market: 0 });
    assert.deepEqual(
      statuses(ev).map(([id, status]) => [id, status]),
      [
        [3, STATUS_EXPIRED],
        [4, STATUS_EXPIRED],
        [5, STATUS_EXPIRED],
      ],
    );
    assert.deepEqual([f.engine.orders.live, f.engine.waiting.size, f.engine.order_lists.size], [0, 0, 0]);
  });

  it("a snapshot keeps waiting lists and pending orders: the restored engine hashes and behaves the same", () => {
    const f = at_p();
    f.run(otoco(0, { list_client_order_id: "keep" }));
    f.run(
      oto(1, {
        pending: leg(SIDE_SELL, TYPE_STOP_LOSS_LIMIT, P - 350, P - 300, 5, { trailing_delta_bips: 100 }),
      }),
    );
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    assert.deepEqual([...copy.waiting].sort(), [...f.engine.waiting].sort());
    for (const step of [
      otoco(0, { list_client_order_id: "keep" }), // still a duplicate there too
      limit(2, SIDE_SELL, P - 100, 10), // both working orders fill: their pending orders are placed
      limit(2, SIDE_BUY, P + 200, 2), // the OTOCO's limit maker trades
    ]) {
      assert.deepEqual(copy.apply(step), f.run(step));
      assert.equal(state_hash(copy), state_hash(f.engine));
    }
    assert.deepEqual([copy.order_lists.size, copy.waiting.size], [0, 0]);
  });
});
