/**
 * The web app's API (/web/v1) and sessions, over plain HTTP: what it refuses and why, that a refusal
 * changes nothing, and that sessions are tokens any node can check (a restarted node honours them;
 * log out everywhere voids them on every node, since the epoch is journaled).
 */
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Secret, TOTP } from "otpauth";
import { admin_request } from "../../src/admin/client.js";
import { start_node } from "../../src/server/start.js";
import { demo_node, demo_options } from "../helpers/nodes.js";
import { Client } from "../helpers/web_client.js";

describe("web API and sessions", () => {
  let node: Awaited<ReturnType<typeof demo_node>>;
  let base = "";
  before(async () => {
    node = await demo_node("hf-webapi-");
    base = `http://127.0.0.1:${node.running.port}`;
  });
  after(async () => {
    await node?.remove();
  });

  it("sign-up refuses malformed input field by field and registers nothing", async () => {
    const c = new Client(base);
    const users_before = node.running.node.engine.web_users.size;
    const seq_before = node.running.node.last_applied_seq;
    const cases: [unknown, number, string][] = [
      [{ email: "not-an-address", password: "long enough password" }, 400, "email"],
      [{ email: "<script>@x.y", password: "long enough password" }, 400, "email"],
      [{ email: `${"a".repeat(250)}@example.com`, password: "long enough password" }, 400, "email"],
      [{ email: "ok@example.com", password: "short" }, 400, "password"],
      [{ email: "ok@example.com", password: "x".repeat(129) }, 400, "password"],
      [{ email: "ok@example.com" }, 400, ""],
      [{ email: "ok@example.com", password: "long enough password", admin: true }, 400, ""],
      [{ email: 42, password: "long enough password" }, 400, "email"],
      ["{not json", 400, ""],
      ["[]", 400, ""],
    ];
    for (const [body, status, field] of cases) {
      const r = await c.call("POST", "/web/v1/signup", body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(typeof r.body.error, "string");
      if (field !== "") assert.equal(r.body.field, field, JSON.stringify(r.body));
      assert.equal(r.cookie, null, "no session for a refused sign-up");
    }
    // a form post (what a cross-site page could send without CORS) is not accepted either
    const form = await c.call(
      "POST",
      "/web/v1/signup",
      "email=ok%40example.com&password=long+enough+password",
      {
        "content-type": "application/x-www-form-urlencoded",
      },
    );
    assert.equal(form.status, 400);
    assert.equal(node.running.node.engine.web_users.size, users_before);
    assert.equal(node.running.node.last_applied_seq, seq_before, "nothing journaled");
  });

  it("sessions: CSRF required for changes, tampered tokens refused, login failures limited", async () => {
    const c = new Client(base);
    const signup = await c.call("POST", "/web/v1/signup", {
      email: "Sam@Example.com",
      password: "long enough password",
    });
    assert.equal(signup.status, 200);
    assert.equal(signup.body.email, "sam@example.com", "addresses are case-insensitive");
    // support finds the account by the address its user gives (the admin socket)
    const found = await admin_request(
      join(node.dir, "admin.sock"),
      "GET",
      `/v1/accounts/${encodeURIComponent("SAM@example.com")}`,
    );
    assert.equal(found.status, 200);
    assert.deepEqual(
      [(found.body as { account: number }).account, (found.body as { email: string }).email],
      [signup.body.account, "sam@example.com"],
    );
    const nobody = await admin_request(
      join(node.dir, "admin.sock"),
      "GET",
      "/v1/accounts/nobody%40example.com",
    );
    assert.equal(nobody.status, 404);
    assert.match(signup.cookie ?? "", /HttpOnly/i);
    assert.match(signup.cookie ?? "", /SameSite=Strict/i);
    assert.equal((await c.call("GET", "/web/v1/me")).status, 200);

    // no CSRF header: reads work, changes do not (web API and Binance API alike)
    const no_csrf = { "x-csrf-token": "" };
    assert.equal((await c.call("POST", "/web/v1/demo-funds", {}, no_csrf)).status, 403);
    const order =
      "/api/v3/order?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&price=50000&quantity=0.01";
    const forged = await c.call("POST", order, undefined, no_csrf);
    assert.equal(forged.status, 401);
    assert.equal(forged.body.code, -2014);
    // a wrong CSRF token is no better
    assert.equal(
      (await c.call("POST", "/web/v1/demo-funds", {}, { "x-csrf-token": "x".repeat(43) })).status,
      403,
    );
    assert.equal((await c.call("POST", "/web/v1/demo-funds")).status, 200);

    // a token with one character changed is not a session
    const token = c.cookie.split("=")[1];
    const flipped = token.slice(0, 10) + (token[10] === "A" ? "B" : "A") + token.slice(11);
    const t = new Client(base);
    t.cookie = `hf_session=${flipped}`;
    assert.equal((await t.call("GET", "/web/v1/me")).status, 401);
    // nor is another account's number under the same signature
    const parts = token.split(".");
    t.cookie = `hf_session=${[parts[0], String(Number(parts[1]) - 1), ...parts.slice(2)].join(".")}`;
    assert.equal((await t.call("GET", "/web/v1/me")).status, 401);

    // five wrong passwords, then even the right one waits
    const l = new Client(base);
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await l.call("POST", "/web/v1/login", { email: "sam@example.com", password: `wrong ${i}` })).status,
        401,
      );
    const limited = await l.call("POST", "/web/v1/login", {
      email: "sam@example.com",
      password: "long enough password",
    });
    assert.equal(limited.status, 429);
  });

  it("TOTP: a code is good once; enrolment tokens belong to their account", async () => {
    const c = new Client(base);
    await c.call("POST", "/web/v1/signup", { email: "tia@example.com", password: "long enough password" });
    const setup = await c.call("POST", "/web/v1/totp/setup");
    const secret = setup.body.secret as string;
    assert.match(setup.body.otpauth_uri as string, /^otpauth:\/\/totp\/Holdfast:tia%40example\.com\?/);
    assert.match(setup.body.qr_png as string, /^data:image\/png;base64,/);
    const code = (offset_s: number) =>
      new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offset_s * 1000 });
    // another user cannot confirm this enrolment
    const other = new Client(base);
    await other.call("POST", "/web/v1/signup", {
      email: "eve@example.com",
      password: "long enough password",
    });
    const stolen = await other.call("POST", "/web/v1/totp/confirm", {
      enrolment: setup.body.enrolment,
      code: code(0),
    });
    assert.equal(stolen.status, 400);
    assert.equal(stolen.body.field, "enrolment");
    assert.equal(
      (await c.call("POST", "/web/v1/totp/confirm", { enrolment: setup.body.enrolment, code: "000000x" }))
        .status,
      400,
    );
    const on = await c.call("POST", "/web/v1/totp/confirm", {
      enrolment: setup.body.enrolment,
      code: code(0),
    });
    assert.equal(on.status, 200);
    assert.equal(on.body.totp_enabled, true);
    const login = new Client(base);
    const creds = { email: "tia@example.com", password: "long enough password" };
    const need = await login.call("POST", "/web/v1/login", creds);
    assert.equal(need.status, 401);
    assert.equal(need.body.totp_required, true);
    assert.equal(need.cookie, null);
    assert.equal(
      (await login.call("POST", "/web/v1/login", { ...creds, totp: code(0) })).status,
      401,
      "replayed code",
    );
    assert.equal((await login.call("POST", "/web/v1/login", { ...creds, totp: code(30) })).status, 200);
  });

  it("withdrawal addresses: a code to add one; while the list is on, only listed addresses, a day after", async () => {
    const c = new Client(base);
    await c.call("POST", "/web/v1/signup", { email: "ada@example.com", password: "long enough password" });
    await c.call("POST", "/web/v1/demo-funds");
    const me = (await c.call("GET", "/web/v1/me")).body as { account: number };
    // no two-factor login: no changes, no web withdrawals
    const without = await c.call("POST", "/web/v1/withdraw-addresses", {
      action: "add",
      address: "bc1qada",
      code: "123456",
    });
    assert.equal(without.status, 403);
    const refused = await c.call("POST", "/web/v1/withdraw", {
      coin: "BTC",
      amount: "0.1",
      address: "bc1qada",
      code: "123456",
    });
    assert.equal(refused.status, 403);
    const setup = await c.call("POST", "/web/v1/totp/setup");
    const code = (offset_s: number) =>
      new TOTP({ secret: Secret.fromBase32(setup.body.secret as string) }).generate({
        timestamp: Date.now() + offset_s * 1000,
      });
    await c.call("POST", "/web/v1/totp/confirm", { enrolment: setup.body.enrolment, code: code(0) });
    const seq = node.running.node.last_applied_seq;
    assert.equal(
      (
        await c.call("POST", "/web/v1/withdraw-addresses", {
          action: "add",
          address: "bc1qada",
          code: code(0),
        })
      ).status,
      400,
      "a used code",
    );
    assert.equal(node.running.node.last_applied_seq, seq);
    const added = await c.call("POST", "/web/v1/withdraw-addresses", {
      action: "add",
      address: "bc1qada",
      code: code(30),
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const list = (await c.call("GET", "/web/v1/withdraw-addresses")).body as {
      on: boolean;
      addresses: { address: string; added_ms: number; usable_ms: number }[];
    };
    assert.equal(list.on, false);
    assert.deepEqual(
      list.addresses.map((a) => [a.address, a.usable_ms - a.added_ms]),
      [["bc1qada", 24 * 3600 * 1000]],
    );
    // turned on (here by the operator, at the user's request: the next code is 30 s away)
    const on = await admin_request(node.running.admin_socket, "POST", "/v1/withdrawals/allowlist", {
      account: me.account,
      action: "on",
    });
    assert.equal((on.body as { applied: boolean }).applied, true);
    const key = (
      await admin_request(node.running.admin_socket, "POST", "/v1/api-keys", {
        account: me.account,
        kind: "HMAC",
        withdraw: true,
        ip_allow: ["127.0.0.1"],
      })
    ).body as { apiKey: string; secretKey: string };
    const apply = async (address: string) => {
      const q = new URLSearchParams({ coin: "BTC", amount: "0.1", address, timestamp: String(Date.now()) });
      const sig = createHmac("sha256", key.secretKey).update(q.toString()).digest("hex");
      const r = await fetch(`${base}/sapi/v1/capital/withdraw/apply?${q}&signature=${sig}`, {
        method: "POST",
        headers: { "X-MBX-APIKEY": key.apiKey },
      });
      return (await r.json()) as { code?: number; msg?: string; id?: string };
    };
    assert.deepEqual(await apply("bc1qelsewhere"), {
      code: -4035,
      msg: "This address is not on the whitelist. Please join and try again.",
    });
    assert.deepEqual(await apply("bc1qada"), {
      code: -4036,
      msg: "The new address needs to be withdrawn in 24 hours.",
    });
  });

  it("API keys: HMAC and Ed25519 from the app sign real requests; an account sees and revokes only its own", async () => {
    const c = new Client(base);
    await c.call("POST", "/web/v1/signup", { email: "kim@example.com", password: "long enough password" });
    await c.call("POST", "/web/v1/demo-funds");
    const pair = generateKeyPairSync("ed25519");
    const pem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
    const ed = await c.call("POST", "/web/v1/api-keys", {
      type: "ED25519",
      public_key: pem,
      trade: false,
      ip_allow: ["127.0.0.1"],
    });
    assert.equal(ed.status, 200);
    assert.equal(ed.body.secretKey, undefined, "an Ed25519 key has no secret of ours");
    const q = `timestamp=${Date.now()}`;
    const signature = encodeURIComponent(sign(null, Buffer.from(q), pair.privateKey).toString("base64"));
    const read = await fetch(`${base}/api/v3/account?${q}&signature=${signature}`, {
      headers: { "X-MBX-APIKEY": ed.body.apiKey as string },
    });
    assert.equal(read.status, 200);
    // read-only: no trading with it
    const q2 = `symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&price=50000&quantity=0.01&timestamp=${Date.now()}`;
    const sig2 = encodeURIComponent(sign(null, Buffer.from(q2), pair.privateKey).toString("base64"));
    const trade = await fetch(`${base}/api/v3/order?${q2}&signature=${sig2}`, {
      method: "POST",
      headers: { "X-MBX-APIKEY": ed.body.apiKey as string },
    });
    assert.equal(trade.status, 401);
    assert.equal(((await trade.json()) as { code: number }).code, -2015);

    const bad_keys: [unknown, string][] = [
      [{ type: "ED25519", public_key: "not a key", trade: true, ip_allow: [] }, "public_key"],
      [{ type: "ED25519", trade: true, ip_allow: [] }, "public_key"],
      [{ type: "RSA", trade: true, ip_allow: [] }, "type"],
      [{ type: "HMAC_SHA256", trade: true, ip_allow: ["300.1.1.1"] }, "ip_allow"],
      [{ type: "HMAC_SHA256", trade: "yes", ip_allow: [] }, "trade"],
      [{ type: "HMAC_SHA256", trade: true, ip_allow: Array(11).fill("127.0.0.1") }, "ip_allow"],
    ];
    const keys_before = node.running.node.engine.api_keys.by_key.size;
    for (const [body, field] of bad_keys) {
      const r = await c.call("POST", "/web/v1/api-keys", body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.field, field, JSON.stringify(r.body));
    }
    assert.equal(node.running.node.engine.api_keys.by_key.size, keys_before);

    const mine = await c.call("GET", "/web/v1/api-keys");
    assert.deepEqual(
      (mine.body as unknown as { apiKey: string }[]).map((k) => k.apiKey),
      [ed.body.apiKey],
    );
    const other = new Client(base);
    await other.call("POST", "/web/v1/signup", {
      email: "lou@example.com",
      password: "long enough password",
    });
    assert.deepEqual((await other.call("GET", "/web/v1/api-keys")).body as unknown, []);
    assert.equal((await other.call("DELETE", `/web/v1/api-keys/${ed.body.apiKey}`)).status, 404);
    assert.equal((await c.call("DELETE", `/web/v1/api-keys/${ed.body.apiKey}`)).status, 200);
    assert.equal((await c.call("DELETE", "/web/v1/api-keys/..%2F..%2Fetc")).status, 400);
  });

  it("a restarted node honours a session; log out everywhere voids it for good", async () => {
    const c = new Client(base);
    await c.call("POST", "/web/v1/signup", { email: "ray@example.com", password: "long enough password" });
    const old_cookie = c.cookie;
    const { running, dir } = node;
    await running.close();
    const again = await start_node(demo_options(dir));
    try {
      const c2 = new Client(`http://127.0.0.1:${again.port}`);
      c2.cookie = old_cookie;
      const me = await c2.call("GET", "/web/v1/me");
      assert.equal(me.status, 200, "the token checks on the restarted node");
      assert.equal((await c2.call("POST", "/web/v1/logout-all")).status, 200);
      c2.cookie = old_cookie;
      assert.equal((await c2.call("GET", "/web/v1/me")).status, 401);
      const order = await c2.call("GET", "/api/v3/openOrders?symbol=BTCUSDT");
      assert.equal(order.status, 401);
    } finally {
      await again.close();
    }
  });
});
