/**
 * The ledger (accounts.ts): every account's balances and counts in one array of fixed-size records.
 * Its layout changes as accounts, assets and markets are added; nothing it holds may move or change.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Ledger } from "../../src/engine/accounts.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import { SIDE_BUY, SIDE_SELL } from "../../src/engine/types.js";
import { btcusdt } from "../../src/sim/fixtures.js";
import { Prng } from "../../src/sim/prng.js";
import { BTCUSDT, fixture, limit, USDT } from "./helpers.js";

test("ledger: balances survive account growth and every re-layout, records are whole cache lines", () => {
  for (const seed of [1, 2, 3]) {
    const rng = new Prng(seed);
    const ledger = new Ledger(2);
    let assets = 1;
    let markets = 1;
    const model: { free: number; locked: number }[][] = [];
    const updated: number[] = [];
    for (let step = 0; step < 3000; step++) {
      const r = rng.below(100);
      if (r < 10 || model.length === 0) {
        assert.equal(ledger.add_account(), model.length);
        model.push([]);
        updated.push(0);
      } else if (r < 12 && assets < 40) {
        ledger.ensure(++assets, markets);
      } else if (r < 14 && markets < 40) {
        ledger.ensure(assets, ++markets);
      } else {
        const account = rng.below(model.length);
        const asset = rng.below(assets);
        const free = rng.below(1_000_000_000);
        const locked = rng.below(1_000_000_000);
        ledger.set_balance(account, asset, free, locked);
        model[account][asset] = { free, locked };
        updated[account] = 1_700_000_000_000 + step;
        ledger.set_updated_ms(account, updated[account]);
      }
      assert.equal(ledger.stride % 8, 0, "a record is a whole number of 64-byte lines");
    }
    for (let account = 0; account < model.length; account++) {
      assert.equal(ledger.updated_ms(account), updated[account], `seed ${seed} account ${account} updated`);
      for (let asset = 0; asset < assets; asset++) {
        const want = model[account][asset] ?? { free: 0, locked: 0 };
        assert.equal(
          ledger.free(account, asset),
          want.free,
          `seed ${seed} account ${account} asset ${asset}`,
        );
        assert.equal(
          ledger.locked(account, asset),
          want.locked,
          `seed ${seed} account ${account} asset ${asset}`,
        );
      }
    }
  }
});

test("ledger: an account's update time is the command time of its last balance change, and state", () => {
  const f = fixture(3);
  const e = f.engine;
  assert.equal(e.ledger.updated_ms(0), f.now, "the fixture's deposits");
  const at = (ts_ms: number, cmd: Parameters<typeof f.run>[0]) => f.run({ ...cmd, ts_ms });
  at(2_000, limit(0, SIDE_BUY, 1000, 2)); // locks quote
  assert.deepEqual(
    [0, 1, 2].map((a) => e.ledger.updated_ms(a)),
    [2_000, f.now, f.now],
  );
  at(3_000, limit(1, SIDE_SELL, 1000, 1)); // a fill: both accounts
  assert.deepEqual(
    [0, 1, 2].map((a) => e.ledger.updated_ms(a)),
    [3_000, 3_000, f.now],
  );
  at(4_000, { type: "cancel_all", ts_ms: 0, account: 0, market: BTCUSDT }); // releases the lock
  at(5_000, { type: "withdraw", ts_ms: 0, account: 2, asset: USDT, amount_units: 1 });
  assert.deepEqual(
    [0, 1, 2].map((a) => e.ledger.updated_ms(a)),
    [4_000, 3_000, 5_000],
  );
  // refused commands and orders that change no balance (a cancel of nothing) leave it
  at(6_000, { type: "withdraw", ts_ms: 0, account: 1, asset: USDT, amount_units: 1e30 });
  at(6_000, { type: "cancel_all", ts_ms: 0, account: 1, market: BTCUSDT });
  assert.equal(e.ledger.updated_ms(1), 3_000);
  const copy = restore(snapshot(e));
  assert.deepEqual(
    [0, 1, 2].map((a) => copy.ledger.updated_ms(a)),
    [4_000, 3_000, 5_000],
  );
  assert.equal(state_hash(copy), state_hash(e));
  copy.ledger.set_updated_ms(1, 3_001);
  assert.notEqual(state_hash(copy), state_hash(e));
});

test("ledger: open and stop counts and open-order lists survive a new asset and market added under them", () => {
  const f = fixture(3);
  const e = f.engine;
  for (let i = 0; i < 40; i++)
    f.run(limit(i % 3, i % 2 === 0 ? SIDE_BUY : SIDE_SELL, i % 2 === 0 ? 900 - i : 1100 + i, 1));
  const before = [0, 1, 2].map((a) => ({
    open: e.ledger.open_count(a, BTCUSDT),
    total: e.ledger.open_total(a),
    usdt: [e.ledger.free(a, USDT), e.ledger.locked(a, USDT)],
    ids: e.open_orders(a, BTCUSDT).map((slot) => e.orders.id(slot)),
  }));
  assert.ok(before.every((b) => b.open > 0 && b.ids.length === b.open));
  const stride = e.ledger.stride;
  // Enough assets and markets to need a wider record.
  for (const name of ["ETH", "SOL", "XRP", "ADA", "DOT"])
    f.run({ type: "add_asset", ts_ms: f.now, asset: name, decimals: 8, supply_max_units: 1e15 });
  for (const base of ["ETH", "SOL", "XRP"]) f.run(btcusdt({ ts_ms: f.now, symbol: `${base}USDT`, base }));
  assert.ok(e.ledger.stride > stride, "the record grew");
  const after = [0, 1, 2].map((a) => ({
    open: e.ledger.open_count(a, BTCUSDT),
    total: e.ledger.open_total(a),
    usdt: [e.ledger.free(a, USDT), e.ledger.locked(a, USDT)],
    ids: e.open_orders(a, BTCUSDT).map((slot) => e.orders.id(slot)),
  }));
  assert.deepEqual(after, before);
  for (let a = 0; a < 3; a++) assert.equal(e.ledger.open_count(a, 3), 0);
  // The same state after a snapshot round trip, and cancels still find and count every order.
  const copy = restore(snapshot(e));
  assert.equal(state_hash(copy), state_hash(e));
  for (let a = 0; a < 3; a++) f.run({ type: "cancel_all", ts_ms: f.now, account: a, market: BTCUSDT });
  for (let a = 0; a < 3; a++) {
    assert.equal(e.ledger.open_total(a), 0);
    assert.equal(e.ledger.locked(a, USDT), 0);
  }
});
