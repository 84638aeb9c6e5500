/**
 * Bad input on the web app's API (/web/v1), property-based, from a signed-in browser session: every
 * route gets random JSON, valid bodies with a field replaced, dropped or added, and bodies that are not
 * JSON at all. The answer is never a 5xx, the node keeps taking commands, a refusal on sight (400, 401,
 * 403, 404, 415) journals nothing, and the engine's invariants hold at the end.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { check_invariants } from "../../src/engine/invariants.js";
import { seed } from "../engine/gen.js";
import { bodies } from "../helpers/bodies.js";
import { demo_node } from "../helpers/nodes.js";
import { Client } from "../helpers/web_client.js";

/** Valid bodies per route (sign-up and log-in are argon2-bound: their valid form is tried rarely). */
const VALID: Record<string, Record<string, unknown>> = {
  "/web/v1/signup": { email: "new@example.com", password: "long enough password" },
  "/web/v1/login": { email: "fuzz@example.com", password: "long enough password", totp: "123456" },
  "/web/v1/totp/confirm": { enrolment: "x".repeat(40), code: "123456" },
  "/web/v1/totp/disable": { code: "123456" },
  "/web/v1/api-keys": { type: "HMAC_SHA256", trade: true, ip_allow: ["127.0.0.1"] },
  "/web/v1/demo-funds": {},
  "/web/v1/withdraw": { coin: "BTC", amount: "0.01", address: "bc1qfuzz", code: "123456" },
  "/web/v1/withdraw-addresses": { action: "add", address: "bc1qfuzz", code: "123456" },
};
const ROUTES = Object.keys(VALID);

const request = fc.oneof(
  { weight: 6, arbitrary: bodies(VALID, ["true", "1.2.3.4", "a@b"], ["email", "account"]) },
  // not JSON, or a key to revoke that is anything at all
  {
    weight: 1,
    arbitrary: fc.record({
      route: fc.constantFrom(...ROUTES),
      body: fc.string({ maxLength: 200 }).map((t) => `{${t}`),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      route: fc.string({ maxLength: 80 }).map((k) => `/web/v1/api-keys/${encodeURIComponent(k)}`),
      body: fc.constant(undefined as unknown),
    }),
  },
);

describe("web API: bad input (property)", () => {
  it("every request gets an answer below 500; a refusal on sight journals nothing; invariants hold", async () => {
    const { running, remove } = await demo_node("hf-web-input-");
    const node = running.node;
    try {
      const c = new Client(`http://127.0.0.1:${running.port}`);
      const signup = await c.call("POST", "/web/v1/signup", {
        email: "fuzz@example.com",
        password: "long enough password",
      });
      assert.equal(signup.status, 200, JSON.stringify(signup.body));
      const session = { cookie: c.cookie, csrf: c.csrf };
      await fc.assert(
        fc.asyncProperty(request, async ({ route, body }) => {
          // every run from the same signed-in session (a log-in may replace the cookie)
          c.cookie = session.cookie;
          c.csrf = session.csrf;
          const before = node.last_applied_seq;
          const method = route.startsWith("/web/v1/api-keys/") ? "DELETE" : "POST";
          const answer = await c.call(method, route, body);
          const what = `${method} ${route} ${JSON.stringify(body)?.slice(0, 300)} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
          assert.ok(answer.status < 500, what);
          if ([400, 401, 403, 404, 415].includes(answer.status))
            assert.equal(node.last_applied_seq, before, `refused but journaled: ${what}`);
          assert.equal(node.writes_refused, null, `order entry stopped after ${what}`);
        }),
        { seed: seed(), numRuns: Number(process.env.HOLDFAST_WEB_PROPERTY_RUNS ?? 200) },
      );
      assert.deepEqual(check_invariants(node.engine), []);
      c.cookie = session.cookie;
      c.csrf = session.csrf;
      assert.equal((await c.call("GET", "/web/v1/me")).status, 200);
    } finally {
      await remove();
    }
  });
});
