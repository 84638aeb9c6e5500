/** Web app users: registration makes an account, two-factor and session epochs are journaled state. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as R from "../../src/engine/reasons.js";
import { restore, snapshot, state_hash } from "../../src/engine/snapshot.js";
import { fixture, of_kind, reasons } from "./helpers.js";

const HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";

describe("web users", () => {
  it("registering creates an account and a user; an address registers once", () => {
    const f = fixture(1);
    const events = f.run({
      type: "register_user",
      ts_ms: f.now,
      email: "ann@example.com",
      password_hash: HASH,
    });
    assert.deepEqual(events, [
      { kind: "account_created", account: 1 },
      { kind: "web_user", account: 1, change: "registered" },
    ]);
    const user = f.engine.web_users.by_email.get("ann@example.com");
    assert.equal(user?.account, 1);
    assert.equal(user?.session_epoch, 0);
    const again = f.run({
      type: "register_user",
      ts_ms: f.now,
      email: "ann@example.com",
      password_hash: HASH,
    });
    assert.deepEqual(reasons(again), [R.REASON_INVALID_PARAMETER]);
    assert.equal(f.engine.accounts.length, 2);
  });

  it("refuses malformed addresses and anything but an argon2id hash, creating nothing", () => {
    const f = fixture(1);
    const bad: [unknown, unknown][] = [
      ["no-at-sign", HASH],
      ["Upper@Example.com", HASH],
      [`${"a".repeat(250)}@b.c`, HASH],
      ["a b@c.d", HASH],
      ["ok@example.com", "plain password"],
      ["ok@example.com", "$argon2i$v=19$weaker"],
      [42, HASH],
      ["ok@example.com", null],
    ];
    for (const [email, password_hash] of bad) {
      const events = f.run({ type: "register_user", ts_ms: f.now, email, password_hash } as never);
      assert.deepEqual(reasons(events), [R.REASON_INVALID_PARAMETER], String(email));
    }
    assert.equal(f.engine.accounts.length, 1);
    assert.equal(f.engine.web_users.size, 0);
  });

  it("two-factor on and off, log out everywhere; unknown accounts refused; all of it in the snapshot", () => {
    const f = fixture(1);
    f.run({ type: "register_user", ts_ms: f.now, email: "bo@example.com", password_hash: HASH });
    assert.deepEqual(
      of_kind(f.run({ type: "set_user_totp", ts_ms: f.now, account: 1, totp_sealed: "s1" }), "web_user"),
      [{ kind: "web_user", account: 1, change: "totp_on" }],
    );
    f.run({ type: "end_user_sessions", ts_ms: f.now, account: 1 });
    f.run({ type: "end_user_sessions", ts_ms: f.now, account: 1 });
    // account 0 exists but has no web user
    assert.deepEqual(reasons(f.run({ type: "end_user_sessions", ts_ms: f.now, account: 0 })), [
      R.REASON_UNKNOWN_ACCOUNT,
    ]);
    assert.deepEqual(reasons(f.run({ type: "set_user_totp", ts_ms: f.now, account: 9, totp_sealed: "" })), [
      R.REASON_UNKNOWN_ACCOUNT,
    ]);
    const user = f.engine.web_users.by_account.get(1);
    assert.equal(user?.session_epoch, 2);
    assert.equal(user?.totp_sealed, "s1");
    const copy = restore(snapshot(f.engine));
    assert.equal(state_hash(copy), state_hash(f.engine));
    assert.deepEqual(copy.web_users.by_email.get("bo@example.com"), user);
    // the restored engine goes on the same way
    copy.apply({ type: "set_user_totp", ts_ms: f.now, account: 1, totp_sealed: "" });
    f.run({ type: "set_user_totp", ts_ms: f.now, account: 1, totp_sealed: "" });
    assert.equal(state_hash(copy), state_hash(f.engine));
    assert.equal(copy.web_users.by_account.get(1)?.totp_sealed, "");
  });
});
