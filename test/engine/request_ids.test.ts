/** Request ids make create_account, deposit and withdraw idempotent over the retention window. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DAY_MS } from "../../src/engine/config.js";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import { BTC, balance, fixture, of_kind, reasons, USDT } from "./helpers.js";

describe("request ids", () => {
  it("a retried create_account creates one account and answers with it", () => {
    const f = fixture(1);
    const first = f.run({ type: "create_account", ts_ms: f.now, request_id: "signup-alice" });
    assert.deepEqual(first, [{ kind: "account_created", account: 1 }]);
    const retry = f.run({ type: "create_account", ts_ms: f.now + 5, request_id: "signup-alice" });
    assert.deepEqual(retry, [{ kind: "duplicate_request", request_id: "signup-alice", result: 1 }]);
    assert.equal(f.engine.accounts.length, 2);
  });

  it("a retried deposit or withdrawal moves funds once; other ids and no id are independent", () => {
    const f = fixture(1);
    const before = balance(f, 0, USDT).free;
    const dep = { type: "deposit" as const, ts_ms: f.now, account: 0, asset: USDT, amount_units: 500 };
    f.run({ ...dep, request_id: "tx-1" });
    assert.deepEqual(f.run({ ...dep, request_id: "tx-1" }), [
      { kind: "duplicate_request", request_id: "tx-1", result: 0 },
    ]);
    f.run({ ...dep, request_id: "tx-2" });
    f.run({ ...dep, request_id: null });
    f.run(dep);
    assert.equal(balance(f, 0, USDT).free, before + 4 * 500);
    const wd = { type: "withdraw" as const, ts_ms: f.now, account: 0, asset: BTC, amount_units: 7 };
    const btc = balance(f, 0, BTC).free;
    f.run({ ...wd, request_id: "out-1" });
    assert.equal(of_kind(f.run({ ...wd, request_id: "out-1" }), "duplicate_request").length, 1);
    assert.equal(balance(f, 0, BTC).free, btc - 7);
  });

  it("a refused command does not reserve its id: the retry applies once the cause is gone", () => {
    const f = fixture(1);
    const flags = {
      type: "set_exchange_flags" as const,
      ts_ms: f.now,
      maintenance: false,
      withdrawals_paused: false,
    };
    f.run({ ...flags, deposits_paused: true });
    const dep = {
      type: "deposit" as const,
      ts_ms: f.now,
      account: 0,
      asset: USDT,
      amount_units: 9,
      request_id: "tx-9",
    };
    assert.deepEqual(reasons(f.run(dep)), [R.REASON_DEPOSITS_PAUSED]);
    f.run({ ...flags, deposits_paused: false });
    assert.equal(of_kind(f.run(dep), "ledger").length, 1);
    assert.equal(of_kind(f.run(dep), "duplicate_request").length, 1);
  });

  it("ids expire after the window, are bounded in number and length", () => {
    const f = fixture(1, { request_ids_retained_max: 2 });
    const dep = (id: string, ts_ms: number) => ({
      type: "deposit" as const,
      ts_ms,
      account: 0,
      asset: USDT,
      amount_units: 1,
      request_id: id,
    });
    f.run(dep("a", f.now));
    f.run(dep("b", f.now + 10));
    assert.deepEqual(reasons(f.run(dep("c", f.now + 20))), [R.REASON_REQUEST_ID_RETENTION_FULL]);
    assert.deepEqual(reasons(f.run(dep("x".repeat(101), f.now + 20))), [R.REASON_INVALID_PARAMETER]);
    assert.deepEqual(reasons(f.run(dep("", f.now + 20))), [R.REASON_INVALID_PARAMETER]);
    // still inside the window: a duplicate
    assert.equal(of_kind(f.run(dep("a", f.now + DAY_MS - 1)), "duplicate_request").length, 1);
    // "a" is a day old now: forgotten, so it applies again, and there is room for "c"
    assert.equal(of_kind(f.run(dep("a", f.now + DAY_MS)), "ledger").length, 1);
    assert.equal(of_kind(f.run(dep("c", f.now + DAY_MS + 10)), "ledger").length, 1);
  });

  it("the window is part of the snapshot: a retry after restore is still a duplicate", () => {
    const f = fixture(1);
    const dep = {
      type: "deposit" as const,
      ts_ms: f.now,
      account: 0,
      asset: USDT,
      amount_units: 3,
      request_id: "tx-s",
    };
    f.run(dep);
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    assert.deepEqual(copy.apply(dep), [{ kind: "duplicate_request", request_id: "tx-s", result: 0 }]);
  });
});
