import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LISTEN_KEY_CLOSE,
  LISTEN_KEY_KEEP,
  LISTEN_KEY_OPEN,
  SETTABLE_LIMITS,
  type SettableLimit,
} from "../../src/engine/commands.js";
import { DAY_MS } from "../../src/engine/config.js";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  END_EXCHANGE,
  MARKET_BREAK,
  MARKET_CANCEL_ONLY,
  MARKET_HALT,
  MARKET_POST_ONLY,
  MARKET_TRADING,
  SIDE_BUY,
  SIDE_SELL,
  STATUS_EXPIRED,
  TIF_GTC,
  TYPE_LIMIT_MAKER,
  TYPE_MARKET,
  TYPE_STOP_LOSS,
} from "../../src/engine/types.js";
import { BTC, balance, fixture, K, LOT, limit, new_id, of_kind, order, reasons, USDT } from "./helpers.js";

const P = 2_000_000;
const status = (market: number, s: 0 | 1 | 2 | 3 | 4) =>
  ({ type: "set_market_status", ts_ms: 1000, market, status: s }) as const;
const cancel = (account: number, order_id: number) =>
  ({ type: "cancel_order", ts_ms: 1000, account, market: 0, order_id, client_order_id: null }) as const;

describe("market modes", () => {
  it("POST_ONLY accepts only LIMIT_MAKER, and cancels", () => {
    const f = fixture();
    const resting = new_id(f.run(limit(0, SIDE_BUY, P, 10)));
    f.run(status(0, MARKET_POST_ONLY));
    assert.deepEqual(reasons(f.run(limit(1, SIDE_BUY, P, 1))), [R.REASON_UNSUPPORTED_ORDER]);
    assert.deepEqual(reasons(f.run(order(1, SIDE_BUY, TYPE_MARKET, 0, 1))), [R.REASON_UNSUPPORTED_ORDER]);
    assert.equal(reasons(f.run(order(1, SIDE_SELL, TYPE_LIMIT_MAKER, P + 1, 1))).length, 0);
    assert.equal(reasons(f.run(cancel(0, resting))).length, 0);
  });

  it("CANCEL_ONLY refuses new orders and allows cancels", () => {
    const f = fixture();
    const resting = new_id(f.run(limit(0, SIDE_BUY, P, 10)));
    f.run(status(0, MARKET_CANCEL_ONLY));
    assert.deepEqual(reasons(f.run(order(1, SIDE_SELL, TYPE_LIMIT_MAKER, P + 1, 1))), [
      R.REASON_MARKET_CLOSED,
    ]);
    assert.equal(reasons(f.run(cancel(0, resting))).length, 0);
  });

  for (const [name, mode] of [
    ["HALT", MARKET_HALT],
    ["BREAK", MARKET_BREAK],
  ] as const) {
    it(`${name} refuses orders and cancels; TRADING resumes`, () => {
      const f = fixture();
      const resting = new_id(f.run(limit(0, SIDE_BUY, P, 10)));
      f.run(status(0, mode));
      assert.deepEqual(reasons(f.run(limit(1, SIDE_SELL, P, 1))), [R.REASON_MARKET_CLOSED]);
      assert.deepEqual(reasons(f.run(cancel(0, resting))), [R.REASON_MARKET_CLOSED]);
      f.run(status(0, MARKET_TRADING));
      assert.equal(of_kind(f.run(limit(1, SIDE_SELL, P, 1)), "trade").length, 1);
    });
  }

  it("exchange maintenance refuses orders, cancels, deposits and withdrawals", () => {
    const f = fixture();
    const resting = new_id(f.run(limit(0, SIDE_BUY, P, 10)));
    f.run({
      type: "set_exchange_flags",
      ts_ms: 1000,
      maintenance: true,
      deposits_paused: false,
      withdrawals_paused: false,
    });
    assert.deepEqual(reasons(f.run(limit(1, SIDE_SELL, P, 1))), [R.REASON_MAINTENANCE]);
    assert.deepEqual(reasons(f.run(cancel(0, resting))), [R.REASON_MAINTENANCE]);
    assert.deepEqual(
      reasons(f.run({ type: "deposit", ts_ms: 1000, account: 0, asset: BTC, amount_units: 1 })),
      [R.REASON_DEPOSITS_PAUSED],
    );
    assert.deepEqual(
      reasons(f.run({ type: "withdraw", ts_ms: 1000, account: 0, asset: BTC, amount_units: 1 })),
      [R.REASON_WITHDRAWALS_PAUSED],
    );
  });

  it("an operator can expire every order of a market (EXCHANGE_CANCELED)", () => {
    const f = fixture();
    f.run(limit(0, SIDE_BUY, P, 10));
    f.run(limit(1, SIDE_SELL, P + 5, 10));
    f.run(order(2, SIDE_SELL, TYPE_STOP_LOSS, 0, 10, { stop_price_ticks: P - 5 }));
    const ev = f.run({ type: "expire_market_orders", ts_ms: 1000, market: 0 });
    const updates = of_kind(ev, "order_update");
    assert.equal(updates.length, 3);
    assert.ok(updates.every((u) => u.status === STATUS_EXPIRED && u.end_reason === END_EXCHANGE));
    for (const a of [0, 1, 2]) {
      assert.equal(balance(f, a, BTC).locked, 0);
      assert.equal(balance(f, a, USDT).locked, 0);
    }
  });
});

describe("market fees", () => {
  it("an operator's new fees apply to later fills, open orders included, and a snapshot keeps them", () => {
    const f = fixture(); // maker 0.1%, taker 0.2%
    f.run(limit(1, SIDE_SELL, P, 20));
    const buy = (lots: number) => of_kind(f.run(limit(0, SIDE_BUY, P, lots)), "trade")[0];
    const before = buy(10);
    // the taker buys 10 lots (10,000 BTC units), the maker receives 10 × P × K USDT units
    assert.equal(before.taker_fee_units, (10 * LOT * 2000) / 1e6);
    assert.equal(before.maker_fee_units, (10 * P * K * 1000) / 1e6);
    const set = (market: number, maker: number, taker: number) =>
      f.run({ type: "set_market_fees", ts_ms: 1000, market, maker_fee_ppm: maker, taker_fee_ppm: taker });
    assert.deepEqual(reasons(set(0, 0, 500)), []);
    const after = buy(10); // the resting sell placed before the change pays the new maker fee
    assert.equal(after.taker_fee_units, (10 * LOT * 500) / 1e6);
    assert.equal(after.maker_fee_units, 0);
    const m = f.engine.markets[0];
    assert.deepEqual([m.config.maker_fee_ppm, m.config.taker_fee_ppm], [0, 500]);
    assert.deepEqual([m.config.add_market.maker_fee_ppm, m.config.add_market.taker_fee_ppm], [0, 500]);
    // refused: nothing changes
    assert.deepEqual(reasons(set(7, 0, 0)), [R.REASON_UNKNOWN_SYMBOL]);
    assert.deepEqual(reasons(set(0, 100_001, 0)), [R.REASON_INVALID_CONFIG]);
    assert.deepEqual(reasons(set(0, 0, 1.5)), [R.REASON_INVALID_CONFIG]);
    assert.deepEqual([m.config.maker_fee_ppm, m.config.taker_fee_ppm], [0, 500]);
    // a snapshot stores the listing with its fees: the restored engine charges the same
    const restored = restore(snapshot(f.engine));
    assert.equal(state_hash(restored), state_hash(f.engine));
    assert.deepEqual(
      [restored.markets[0].config.maker_fee_ppm, restored.markets[0].config.taker_fee_ppm],
      [0, 500],
    );
  });
});

describe("account fees", () => {
  it("an account's own fees replace the market's in its fills, side by side; -1 keeps the market's; a snapshot keeps them", () => {
    const f = fixture(); // market: maker 0.1%, taker 0.2%
    const own = (account: number, maker: number, taker: number) =>
      f.run({ type: "set_account_fees", ts_ms: 1000, account, maker_fee_ppm: maker, taker_fee_ppm: taker });
    assert.deepEqual(reasons(own(1, 0, -1)), []); // account 1: no maker fee, the market's taker fee
    assert.deepEqual(f.engine.fee_rates(1, 0), { maker_fee_ppm: 0, taker_fee_ppm: 2000 });
    assert.deepEqual(f.engine.fee_rates(0, 0), { maker_fee_ppm: 1000, taker_fee_ppm: 2000 });
    const trade = (maker: number, taker: number) => {
      f.run(limit(maker, SIDE_SELL, P, 10));
      return of_kind(f.run(limit(taker, SIDE_BUY, P, 10)), "trade")[0];
    };
    const a = trade(1, 0); // account 1 makes: free of fee; account 0 takes at the market's 0.2%
    assert.deepEqual([a.maker_fee_units, a.taker_fee_units], [0, (10 * LOT * 2000) / 1e6]);
    const b = trade(0, 1); // account 1 takes: the market's taker fee (its own is -1)
    assert.deepEqual(
      [b.maker_fee_units, b.taker_fee_units],
      [(10 * P * K * 1000) / 1e6, (10 * LOT * 2000) / 1e6],
    );
    assert.deepEqual(reasons(own(2, 300, 400)), []);
    const c = trade(2, 1);
    assert.deepEqual(
      [c.maker_fee_units, c.taker_fee_units],
      [(10 * P * K * 300) / 1e6, (10 * LOT * 2000) / 1e6],
    );
    // refused: nothing changes
    assert.deepEqual(reasons(own(9, 0, 0)), [R.REASON_UNKNOWN_ACCOUNT]);
    assert.deepEqual(reasons(own(1, -2, 0)), [R.REASON_INVALID_CONFIG]);
    assert.deepEqual(reasons(own(1, 0, 100_001)), [R.REASON_INVALID_CONFIG]);
    assert.deepEqual(f.engine.fee_rates(1, 0), { maker_fee_ppm: 0, taker_fee_ppm: 2000 });
    // the snapshot holds them by account: a restored engine (its map in another order) hashes the same
    const restored = restore(snapshot(f.engine));
    assert.equal(state_hash(restored), state_hash(f.engine));
    assert.deepEqual(restored.fee_rates(2, 0), { maker_fee_ppm: 300, taker_fee_ppm: 400 });
    // both -1: the markets' fees again
    assert.deepEqual(reasons(own(1, -1, -1)), []);
    assert.equal(f.engine.account_fees.has(1), false);
    assert.deepEqual(f.engine.fee_rates(1, 0), { maker_fee_ppm: 1000, taker_fee_ppm: 2000 });
  });
});

describe("listen keys", () => {
  it("open makes a key or keeps the live one alive; keepalive and close take only the live one; a snapshot keeps them", () => {
    const f = fixture();
    const key = (ts_ms: number, account: number, action: 0 | 1 | 2, nonce: number, ttl_ms = 1000) =>
      reasons(f.run({ type: "listen_key", ts_ms, account, action, nonce, ttl_ms }));
    const state = (account: number) => f.engine.listen_keys.get(account);
    assert.deepEqual(key(1000, 1, LISTEN_KEY_OPEN, 0), []);
    assert.deepEqual(state(1), { nonce: 1, expires_ms: 2000 });
    // a second open while it lives: the same key, alive for longer (Binance answers the same key)
    assert.deepEqual(key(1500, 1, LISTEN_KEY_OPEN, 0), []);
    assert.deepEqual(state(1), { nonce: 1, expires_ms: 2500 });
    assert.deepEqual(key(2000, 1, LISTEN_KEY_KEEP, 1), []);
    assert.deepEqual(state(1), { nonce: 1, expires_ms: 3000 });
    // not the live key's nonce, or an unknown account: refused, nothing changes
    assert.deepEqual(key(2000, 1, LISTEN_KEY_KEEP, 2), [R.REASON_UNKNOWN_LISTEN_KEY]);
    assert.deepEqual(key(2000, 1, LISTEN_KEY_CLOSE, 0), [R.REASON_UNKNOWN_LISTEN_KEY]);
    assert.deepEqual(key(2000, 9, LISTEN_KEY_OPEN, 0), [R.REASON_UNKNOWN_ACCOUNT]);
    assert.deepEqual(key(2000, 1, LISTEN_KEY_KEEP, 1, 0), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(key(2000, 1, LISTEN_KEY_OPEN, 0, 86_400_001), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(state(1), { nonce: 1, expires_ms: 3000 });
    // expired (its time passed with no keepalive): a keepalive is refused, an open makes the next key
    assert.deepEqual(key(3001, 1, LISTEN_KEY_KEEP, 1), [R.REASON_UNKNOWN_LISTEN_KEY]);
    assert.deepEqual(key(3001, 1, LISTEN_KEY_OPEN, 0), []);
    assert.deepEqual(state(1), { nonce: 2, expires_ms: 4001 });
    // closed: refused after, and the next open makes another
    assert.deepEqual(key(3100, 1, LISTEN_KEY_CLOSE, 2), []);
    assert.deepEqual(state(1), { nonce: 2, expires_ms: -1 });
    assert.deepEqual(key(3100, 1, LISTEN_KEY_CLOSE, 2), [R.REASON_UNKNOWN_LISTEN_KEY]);
    assert.deepEqual(key(3100, 0, LISTEN_KEY_OPEN, 0), []);
    const restored = restore(snapshot(f.engine));
    assert.equal(state_hash(restored), state_hash(f.engine));
    assert.deepEqual([...restored.listen_keys].sort(), [...f.engine.listen_keys].sort());
    assert.deepEqual(key(3200, 1, LISTEN_KEY_OPEN, 0), []);
    assert.deepEqual(state(1), { nonce: 3, expires_ms: 4200 });
  });
});

describe("client order ids", () => {
  it("are unique per account over the retention window, finished orders included", () => {
    const f = fixture();
    const a = new_id(f.run(limit(0, SIDE_BUY, P, 10, TIF_GTC, -1, "retry-me")));
    f.run(cancel(0, a));
    const dup = f.run(limit(0, SIDE_BUY, P, 10, TIF_GTC, -1, "retry-me"));
    assert.deepEqual(reasons(dup), [R.REASON_DUPLICATE_ORDER]);
    assert.equal(R.REASONS[R.REASON_DUPLICATE_ORDER].message, "Duplicate order sent.");
    // another account may use the same id
    assert.equal(reasons(f.run(limit(1, SIDE_BUY, P, 10, TIF_GTC, -1, "retry-me"))).length, 0);
    // just inside 24 hours: still reserved; after: free again
    const inside = { ...limit(0, SIDE_BUY, P, 10, TIF_GTC, -1, "retry-me"), ts_ms: 1000 + DAY_MS - 1 };
    assert.deepEqual(reasons(f.run(inside)), [R.REASON_DUPLICATE_ORDER]);
    const after = { ...limit(0, SIDE_BUY, P, 10, TIF_GTC, -1, "retry-me"), ts_ms: 1000 + DAY_MS };
    assert.equal(reasons(f.run(after)).length, 0);
  });

  it("command time never goes backwards, so an old timestamp cannot shorten the window", () => {
    const f = fixture();
    f.run({ ...limit(0, SIDE_BUY, P, 1, TIF_GTC, -1, "x"), ts_ms: 5_000_000 });
    const back = { ...limit(0, SIDE_BUY, P, 1, TIF_GTC, -1, "y"), ts_ms: 10 };
    const ev = f.run(back);
    assert.equal(of_kind(ev, "order_new")[0].time_ms, 5_000_000);
  });

  it("a full retention window refuses new ids instead of forgetting unexpired ones", () => {
    const f = fixture(3, { client_ids_per_account_max: 2 });
    f.run(limit(0, SIDE_BUY, P, 1, TIF_GTC, -1, "a"));
    f.run(limit(0, SIDE_BUY, P, 1, TIF_GTC, -1, "b"));
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, P, 1, TIF_GTC, -1, "c"))), [
      R.REASON_CLIENT_ID_RETENTION_FULL,
    ]);
    assert.equal(reasons(f.run(limit(0, SIDE_BUY, P, 1))).length, 0); // orders without an id still work
  });
});

describe("limits", () => {
  it("an operator changes a settable limit while the exchange runs; later commands meet it, a snapshot keeps it", () => {
    const f = fixture(3, { open_orders_per_account_market_max: 2 });
    const set = (name: string, value: number, ts_ms = 1000) =>
      reasons(
        f.run({ type: "set_limit", ts_ms, limit: SETTABLE_LIMITS.indexOf(name as SettableLimit), value }),
      );
    f.run(limit(0, SIDE_BUY, P, 1));
    f.run(limit(0, SIDE_BUY, P - 1, 1));
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, P - 2, 1))), [R.REASON_FILTER_MAX_NUM_ORDERS]);
    // raised: the third rests
    assert.deepEqual(set("open_orders_per_account_market_max", 3), []);
    assert.equal(f.engine.limits.open_orders_per_account_market_max, 3);
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, P - 2, 1))), []);
    // lowered below what is open: the open ones stay, new ones are refused
    assert.deepEqual(set("open_orders_per_account_market_max", 1), []);
    assert.equal(f.engine.markets[0].bids.count, 3);
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, P - 3, 1))), [R.REASON_FILTER_MAX_NUM_ORDERS]);
    // the band too (PERCENT_PRICE_BY_SIDE's multipliers)
    assert.deepEqual(set("percent_price_bid_up_ppm", 2_000_000), []);
    // refused, changing nothing: an index that names no settable limit, a value the engine's own
    // check of its limits refuses, a count above what its structures hold
    const before = { ...f.engine.limits };
    assert.deepEqual(
      reasons(f.run({ type: "set_limit", ts_ms: 1000, limit: SETTABLE_LIMITS.length, value: 5 })),
      [R.REASON_INVALID_PARAMETER],
    );
    assert.deepEqual(set("percent_price_bid_up_ppm", 999_999), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(set("percent_price_ask_down_ppm", 1_000_001), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(set("open_orders_per_account_max", 0), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(set("open_orders_per_account_max", 1.5), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(set("stop_orders_per_market_max", f.engine.limits.orders_max + 1), [
      R.REASON_INVALID_PARAMETER,
    ]);
    assert.deepEqual(f.engine.limits, before);
    const restored = restore(snapshot(f.engine));
    assert.equal(state_hash(restored), state_hash(f.engine));
    assert.deepEqual(
      [restored.limits.open_orders_per_account_market_max, restored.limits.percent_price_bid_up_ppm],
      [1, 2_000_000],
    );
  });

  it("open orders per account and market (MAX_NUM_ORDERS) and per account (EXCHANGE_MAX_NUM_ORDERS)", () => {
    const f = fixture(3, { open_orders_per_account_market_max: 2, open_orders_per_account_max: 3 });
    f.run(limit(0, SIDE_BUY, P, 1));
    f.run(limit(0, SIDE_BUY, P - 1, 1));
    assert.deepEqual(reasons(f.run(limit(0, SIDE_BUY, P - 2, 1))), [R.REASON_FILTER_MAX_NUM_ORDERS]);
    // an order that cannot rest is not limited
    assert.equal(reasons(f.run(order(0, SIDE_SELL, TYPE_MARKET, 0, 1))).length, 0);
  });

  it("stop orders per account and market (MAX_NUM_ALGO_ORDERS)", () => {
    const f = fixture(3, { stop_orders_per_account_market_max: 1 });
    f.run(order(0, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, { stop_price_ticks: P }));
    assert.deepEqual(reasons(f.run(order(0, SIDE_SELL, TYPE_STOP_LOSS, 0, 1, { stop_price_ticks: P }))), [
      R.REASON_FILTER_MAX_NUM_ALGO_ORDERS,
    ]);
  });

  it("price levels per side", () => {
    const f = fixture(3, { levels_per_side_max: 2 });
    f.run(limit(0, SIDE_BUY, P, 1));
    f.run(limit(1, SIDE_BUY, P - 1, 1));
    assert.deepEqual(reasons(f.run(limit(2, SIDE_BUY, P - 2, 1))), [R.REASON_PRICE_LEVELS_FULL]);
    assert.equal(reasons(f.run(limit(2, SIDE_BUY, P - 1, 1))).length, 0); // existing level: fine
  });

  it("engine-wide order capacity", () => {
    const f = fixture(3, { orders_max: 2 });
    f.run(limit(0, SIDE_BUY, P, 1));
    f.run(limit(1, SIDE_BUY, P, 1));
    assert.deepEqual(reasons(f.run(limit(2, SIDE_BUY, P, 1))), [R.REASON_ORDER_CAPACITY_FULL]);
  });

  it("accounts", () => {
    const f = fixture(3, { accounts_max: 3 });
    assert.deepEqual(reasons(f.run({ type: "create_account", ts_ms: 1 })), [R.REASON_ACCOUNTS_FULL]);
  });
});

describe("deposits and withdrawals", () => {
  it("credit and debit free balances; refuse overdrafts, bad amounts and supply overflow", () => {
    const f = fixture(1);
    f.run({ type: "withdraw", ts_ms: 1, account: 0, asset: BTC, amount_units: 5 });
    assert.equal(balance(f, 0, BTC).free, 10 * 1e8 - 5);
    assert.deepEqual(
      reasons(f.run({ type: "withdraw", ts_ms: 1, account: 0, asset: BTC, amount_units: 10 * 1e8 })),
      [R.REASON_INSUFFICIENT_BALANCE],
    );
    for (const amount of [0, -1, 1.5, Number.NaN, 2 ** 60])
      assert.deepEqual(
        reasons(f.run({ type: "deposit", ts_ms: 1, account: 0, asset: BTC, amount_units: amount })),
        [R.REASON_INVALID_AMOUNT],
      );
    assert.deepEqual(
      reasons(
        f.run({ type: "deposit", ts_ms: 1, account: 0, asset: BTC, amount_units: 2_100_000_000_000_000 }),
      ),
      [R.REASON_SUPPLY_LIMIT],
    );
    assert.deepEqual(reasons(f.run({ type: "deposit", ts_ms: 1, account: 9, asset: BTC, amount_units: 1 })), [
      R.REASON_UNKNOWN_ACCOUNT,
    ]);
    assert.deepEqual(reasons(f.run({ type: "deposit", ts_ms: 1, account: 0, asset: 7, amount_units: 1 })), [
      R.REASON_UNKNOWN_ASSET,
    ]);
  });

  it("locked funds cannot be withdrawn", () => {
    const f = fixture(1);
    f.run(limit(0, SIDE_SELL, P, 1_000_000)); // locks all 10 BTC
    assert.deepEqual(
      reasons(f.run({ type: "withdraw", ts_ms: 1, account: 0, asset: BTC, amount_units: 1 })),
      [R.REASON_INSUFFICIENT_BALANCE],
    );
  });
});

describe("book update ids", () => {
  it("are contiguous per market and carry absolute level quantities", () => {
    const f = fixture();
    const ids: number[] = [];
    const collect = (ev: ReturnType<typeof f.run>) => {
      for (const b of of_kind(ev, "book")) ids.push(b.update_id);
    };
    collect(f.run(limit(0, SIDE_SELL, P, 10)));
    collect(f.run(limit(0, SIDE_SELL, P + 1, 10)));
    collect(f.run(limit(1, SIDE_SELL, P, 5)));
    const ev = f.run(limit(2, SIDE_BUY, P + 1, 20));
    collect(ev);
    assert.deepEqual(ids, [1, 2, 3, 4, 5]);
    assert.deepEqual(
      of_kind(ev, "book").map((b) => [b.side, b.price_ticks, b.quantity_lots]),
      [
        [SIDE_SELL, P, 0],
        [SIDE_SELL, P + 1, 5],
      ],
    );
  });
});
