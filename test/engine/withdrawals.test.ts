/**
 * Users' withdrawals in the engine (src/engine/withdrawals.ts): funds locked while pending, the
 * safeguards (review threshold, daily maximum, new withdraw key hold, limits), review and payout
 * outcomes, and the state through a snapshot. Every command here runs the full invariant check
 * (helpers.ts `run`), which counts pending withdrawals in the locked balances.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KEY_HMAC, PERMISSION_TRADE, PERMISSION_WITHDRAW } from "../../src/engine/api_keys.js";
import type { Command } from "../../src/engine/commands.js";
import type { EngineEvent } from "../../src/engine/events.js";
import { reason_name } from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import {
  ALLOWLIST_ADD,
  ALLOWLIST_OFF,
  ALLOWLIST_ON,
  ALLOWLIST_REMOVE,
  HELD_ALLOWLIST_OFF,
  HELD_AMOUNT,
  HELD_NEW_KEY,
  WITHDRAW_AWAITING_APPROVAL,
  WITHDRAW_COMPLETED,
  WITHDRAW_FAILURE,
  WITHDRAW_PROCESSING,
  WITHDRAW_REJECTED,
  WITHDRAW_WINDOW_MS,
  WITHDRAWALS_PENDING_PER_ACCOUNT_MAX,
} from "../../src/engine/withdrawals.js";
import { BTC, type Fixture, fixture } from "./helpers.js";

const BTC_1 = 100_000_000;

function request(f: Fixture, over: Partial<Extract<Command, { type: "withdraw_request" }>> = {}) {
  return f.run({
    type: "withdraw_request",
    ts_ms: f.now,
    account: 0,
    asset: BTC,
    amount_units: BTC_1,
    address: "bc1qexampleaddress",
    address_tag: "",
    network: "BTC",
    client_id: "",
    ...over,
  });
}

const refusal = (events: EngineEvent[]): string | null => {
  const r = events.find((e) => e.kind === "rejected");
  return r?.kind === "rejected" ? reason_name(r.reason) : null;
};
const withdrawal = (events: EngineEvent[]) => {
  const w = events.find((e) => e.kind === "withdrawal");
  assert.ok(w?.kind === "withdrawal", `no withdrawal event in ${JSON.stringify(events)}`);
  return w;
};

/** Review from 2 BTC, at most 5 BTC a day. */
function with_policy(): Fixture {
  const f = fixture(2);
  f.run({
    type: "withdraw_policy",
    ts_ms: f.now,
    asset: BTC,
    review_min_units: 2 * BTC_1,
    daily_max_units: 5 * BTC_1,
  });
  return f;
}

describe("withdrawals (engine)", () => {
  it("locks the amount; a small one is approved at once and completes: the funds leave the ledger", () => {
    const f = with_policy();
    const before = f.engine.asset_totals[BTC].withdrawals_units;
    const w = withdrawal(request(f, { client_id: "mine-1" }));
    assert.equal(w.status, WITHDRAW_PROCESSING);
    assert.equal(w.held, 0);
    assert.equal(w.client_id, "mine-1");
    assert.equal(f.engine.ledger.free(0, BTC), 9 * BTC_1);
    assert.equal(f.engine.ledger.locked(0, BTC), BTC_1);
    const done = withdrawal(
      f.run({ type: "withdraw_result", ts_ms: f.now, id: w.id, ok: true, note: "txid-1" }),
    );
    assert.equal(done.status, WITHDRAW_COMPLETED);
    assert.equal(done.note, "txid-1");
    assert.equal(f.engine.ledger.locked(0, BTC), 0);
    assert.equal(f.engine.ledger.free(0, BTC), 9 * BTC_1);
    assert.equal(f.engine.asset_totals[BTC].withdrawals_units, before + BTC_1);
    assert.equal(f.engine.withdrawals.pending.size, 0);
    // a second outcome for it is refused: a result journaled twice is harmless
    assert.equal(
      refusal(f.run({ type: "withdraw_result", ts_ms: f.now, id: w.id, ok: true, note: "txid-1" })),
      "UNKNOWN_WITHDRAWAL",
    );
    assert.equal(f.engine.asset_totals[BTC].withdrawals_units, before + BTC_1);
  });

  it("a large one waits for approval; rejected or failed, its funds come back", () => {
    const f = with_policy();
    const w = withdrawal(request(f, { amount_units: 2 * BTC_1 }));
    assert.equal(w.status, WITHDRAW_AWAITING_APPROVAL);
    assert.equal(w.held, HELD_AMOUNT);
    // no payout before approval
    assert.equal(
      refusal(f.run({ type: "withdraw_result", ts_ms: f.now, id: w.id, ok: true, note: "x" })),
      "UNKNOWN_WITHDRAWAL",
    );
    const rejected = withdrawal(f.run({ type: "withdraw_review", ts_ms: f.now, id: w.id, approve: false }));
    assert.equal(rejected.status, WITHDRAW_REJECTED);
    assert.equal(f.engine.ledger.free(0, BTC), 10 * BTC_1);
    assert.equal(f.engine.ledger.locked(0, BTC), 0);

    const w2 = withdrawal(request(f, { amount_units: 3 * BTC_1 }));
    const approved = withdrawal(f.run({ type: "withdraw_review", ts_ms: f.now, id: w2.id, approve: true }));
    assert.equal(approved.status, WITHDRAW_PROCESSING);
    const failed = withdrawal(
      f.run({ type: "withdraw_result", ts_ms: f.now, id: w2.id, ok: false, note: "address rejected" }),
    );
    assert.equal(failed.status, WITHDRAW_FAILURE);
    assert.equal(failed.note, "address rejected");
    assert.equal(f.engine.ledger.free(0, BTC), 10 * BTC_1);
  });

  it("no policy: every withdrawal is reviewed", () => {
    const f = fixture(1);
    assert.equal(withdrawal(request(f, { amount_units: 1 })).status, WITHDRAW_AWAITING_APPROVAL);
  });

  it("a key that may withdraw, made within 24 hours, holds every withdrawal for review", () => {
    const f = with_policy();
    f.run({
      type: "add_api_key",
      ts_ms: f.now,
      account: 0,
      api_key: "k".repeat(64),
      kind: KEY_HMAC,
      material: "sealed",
      permissions: PERMISSION_TRADE | PERMISSION_WITHDRAW,
      ip_allow: "",
      tier: "default",
    });
    const held = withdrawal(request(f));
    assert.equal(held.status, WITHDRAW_AWAITING_APPROVAL);
    assert.equal(held.held, HELD_NEW_KEY);
    f.now += WITHDRAW_WINDOW_MS;
    assert.equal(withdrawal(request(f)).held, 0, "a day later the key is no longer new");
  });

  it("the daily maximum counts 24 hours of command time; given-back ones do not count", () => {
    const f = with_policy();
    f.run({
      type: "withdraw_policy",
      ts_ms: f.now,
      asset: BTC,
      review_min_units: 10 * BTC_1,
      daily_max_units: 3 * BTC_1,
    });
    const a = withdrawal(request(f, { amount_units: 2 * BTC_1 }));
    assert.equal(refusal(request(f, { amount_units: 2 * BTC_1 })), "WITHDRAW_DAILY_LIMIT");
    f.run({ type: "withdraw_result", ts_ms: f.now, id: a.id, ok: false, note: "" });
    const b = withdrawal(request(f, { amount_units: 3 * BTC_1 }));
    f.run({ type: "withdraw_result", ts_ms: f.now, id: b.id, ok: true, note: "t" });
    f.now += WITHDRAW_WINDOW_MS - 1;
    assert.equal(refusal(request(f, { amount_units: 1 })), "WITHDRAW_DAILY_LIMIT");
    f.now += 1;
    assert.equal(withdrawal(request(f, { amount_units: 3 * BTC_1 })).status, WITHDRAW_PROCESSING);
  });

  it("refuses what it must and changes nothing then", () => {
    const f = with_policy();
    // what a withdrawal could change (the state hash also counts the commands applied)
    const view = () =>
      JSON.stringify([
        [0, 1].map((a) => [f.engine.ledger.free(a, BTC), f.engine.ledger.locked(a, BTC)]),
        f.engine.withdrawals.next_id,
        [...f.engine.withdrawals.pending],
        [...f.engine.withdrawals.recent],
        f.engine.asset_totals[BTC],
      ]);
    const hash = view();
    const cases: [Partial<Extract<Command, { type: "withdraw_request" }>>, string][] = [
      [{ amount_units: 11 * BTC_1 }, "WITHDRAW_DAILY_LIMIT"],
      [{ amount_units: 0 }, "INVALID_AMOUNT"],
      [{ amount_units: 0.5 }, "INVALID_AMOUNT"],
      [{ asset: 7 }, "UNKNOWN_ASSET"],
      [{ account: 9 }, "UNKNOWN_ACCOUNT"],
      [{ address: "" }, "INVALID_PARAMETER"],
      [{ address: "a".repeat(129) }, "INVALID_PARAMETER"],
      [{ client_id: "c".repeat(65) }, "INVALID_PARAMETER"],
    ];
    for (const [over, reason] of cases) {
      assert.equal(refusal(request(f, over)), reason, JSON.stringify(over));
      assert.equal(view(), hash, JSON.stringify(over));
    }
    f.run({ type: "withdraw", ts_ms: f.now, account: 1, asset: BTC, amount_units: 9 * BTC_1 });
    assert.equal(refusal(request(f, { account: 1, amount_units: 2 * BTC_1 })), "INSUFFICIENT_BALANCE");
    f.run({
      type: "set_exchange_flags",
      ts_ms: f.now,
      maintenance: false,
      deposits_paused: false,
      withdrawals_paused: true,
    });
    assert.equal(refusal(request(f)), "WITHDRAWALS_PAUSED");
  });

  it("a withdrawOrderId is unique per account; limits on pending withdrawals", () => {
    const f = with_policy();
    f.run({
      type: "withdraw_policy",
      ts_ms: f.now,
      asset: BTC,
      review_min_units: BTC_1,
      daily_max_units: 10 * BTC_1,
    });
    request(f, { client_id: "same", amount_units: 1 });
    assert.equal(refusal(request(f, { client_id: "same", amount_units: 1 })), "DUPLICATE_WITHDRAWAL");
    assert.equal(
      withdrawal(request(f, { account: 1, client_id: "same", amount_units: 1 })).client_id,
      "same",
    );
    for (let i = 1; i < WITHDRAWALS_PENDING_PER_ACCOUNT_MAX; i++) request(f, { amount_units: 1 });
    assert.equal(f.engine.withdrawals.pending_count(0), WITHDRAWALS_PENDING_PER_ACCOUNT_MAX);
    assert.equal(refusal(request(f, { amount_units: 1 })), "WITHDRAWALS_LIMITED");
  });

  it("an address allow-list: only listed addresses, each from 24 hours after it was added", () => {
    const f = with_policy();
    const list = (action: number, address = "") =>
      f.run({ type: "withdraw_allowlist", ts_ms: f.now, account: 0, action, address });
    assert.equal(
      withdrawal(request(f, { address: "anywhere" })).status,
      WITHDRAW_PROCESSING,
      "off: any address",
    );
    list(ALLOWLIST_ADD, "bc1qmine");
    list(ALLOWLIST_ON);
    assert.equal(refusal(request(f, { address: "anywhere" })), "ADDRESS_NOT_ALLOWED");
    assert.equal(refusal(request(f, { address: "bc1qmine" })), "ADDRESS_TOO_NEW");
    assert.equal(refusal(list(ALLOWLIST_ADD, "bc1qmine")), "INVALID_PARAMETER", "already listed");
    assert.equal(refusal(list(ALLOWLIST_REMOVE, "nope")), "INVALID_PARAMETER", "not listed");
    assert.equal(refusal(list(7)), "INVALID_PARAMETER");
    assert.equal(refusal(list(ALLOWLIST_ADD, "")), "INVALID_PARAMETER");
    f.now += WITHDRAW_WINDOW_MS;
    assert.equal(withdrawal(request(f, { address: "bc1qmine" })).status, WITHDRAW_PROCESSING);
    // another account's list is its own
    assert.equal(withdrawal(request(f, { account: 1, address: "anywhere" })).status, WITHDRAW_PROCESSING);
    // a snapshot holds it exactly
    assert.equal(state_hash(restore(snapshot(f.engine))), state_hash(f.engine));
    // turned off: any address again, but the next 24 hours' withdrawals wait for review
    list(ALLOWLIST_OFF);
    const held = withdrawal(request(f, { address: "anywhere" }));
    assert.equal(held.status, WITHDRAW_AWAITING_APPROVAL);
    assert.equal(held.held, HELD_ALLOWLIST_OFF);
    list(ALLOWLIST_REMOVE, "bc1qmine");
    assert.equal(f.engine.withdrawals.allowlists.get(0)?.addresses.size, 0);
  });

  it("pending withdrawals, policies and the daily window survive a snapshot exactly", () => {
    const f = with_policy();
    const a = withdrawal(request(f, { client_id: "x", address_tag: "memo", amount_units: 2 * BTC_1 }));
    request(f, { account: 1 });
    const bytes = snapshot(f.engine);
    const copy = restore(bytes);
    assert.equal(state_hash(copy), state_hash(f.engine));
    assert.deepEqual([...copy.withdrawals.pending.values()], [...f.engine.withdrawals.pending.values()]);
    assert.equal(copy.withdrawals.pending_count(0), 1);
    // both go on alike
    for (const e of [f.engine, copy]) {
      e.apply({ type: "withdraw_review", ts_ms: f.now, id: a.id, approve: true });
      e.apply({
        type: "withdraw_request",
        ts_ms: f.now,
        account: 0,
        asset: BTC,
        amount_units: 4 * BTC_1,
        address: "q",
        address_tag: "",
        network: "",
        client_id: "x",
      });
    }
    assert.equal(state_hash(copy), state_hash(f.engine));
  });
});
