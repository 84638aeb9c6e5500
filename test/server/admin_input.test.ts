/**
 * Bad input on the admin socket, property-based: every operator route gets random JSON bodies, valid
 * bodies with fields dropped, replaced or added (huge and negative numbers, fractions, unicode, wrong
 * types, nested values), and random paths. The answer is never a 5xx, the node stays up and keeps
 * taking commands, a refusal on sight (400, 404) journals nothing (409 is the engine's refusal,
 * journaled as its outcome), and the engine's invariants hold at the end. Found, session 29: an
 * account number past 2^32 reached the journal's encoder and stopped order entry.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { admin_request } from "../../src/admin/client.js";
import { check_invariants } from "../../src/engine/invariants.js";
import { seed } from "../engine/gen.js";
import { bodies } from "../helpers/bodies.js";
import { demo_node } from "../helpers/nodes.js";

/** A valid body for each POST route: the mutations start from these. */
const VALID: Record<string, Record<string, unknown>> = {
  "/v1/assets": { asset: "SOL", decimals: 8, supply_max: "1000" },
  "/v1/markets": {
    symbol: "SOLUSDT",
    base: "SOL",
    quote: "USDT",
    tick_size: "0.01",
    step_size: "0.001",
    max_price: "10000",
    max_qty: "1000",
    min_notional: "5",
    maker_fee_ppm: 1000,
    taker_fee_ppm: 1000,
    status: "BREAK",
    stp_default: "EXPIRE_MAKER",
  },
  "/v1/market-fees": { symbol: "BTCUSDT", maker_fee_ppm: 500, taker_fee_ppm: 900 },
  "/v1/account-fees": { account: 2, maker_fee_ppm: 0, taker_fee_ppm: -1 },
  "/v1/market-status": { symbol: "ETHBTC", status: "POST_ONLY" },
  "/v1/price-range": { symbol: "ETHUSDT", bucket_count: 80, bucket_width_ms: 3750, bid_up: "1.15" },
  "/v1/exchange-flags": { deposits_paused: false },
  "/v1/expire-orders": { symbol: "ETHBTC" },
  "/v1/users": { request_id: "admin-input" },
  "/v1/api-keys": { account: 1, kind: "HMAC", trade: false, tier: "default" },
  "/v1/deposit": { account: 1, asset: "USDT", amount: "12.5", request_id: "dep-1" },
  "/v1/withdraw": { account: 1, asset: "USDT", amount: "0.5" },
  "/v1/limits": { name: "open_orders_per_account_max", value: 1500 },
  "/v1/reserves": { reserves: { BTC: "12.5", USDT: "1000" } },
  "/v1/withdrawals/review": { id: "w1", approve: true },
  "/v1/withdrawals/result": { id: "w2", ok: false, note: "no such address" },
  "/v1/withdrawals/policy": { asset: "BTC", review_min: "1", daily_max: "5" },
  "/v1/withdrawals/allowlist": { account: 1, action: "add", address: "bc1qfuzz" },
};
const body = bodies(
  VALID,
  [
    "TRADING ",
    "ED25519",
    "RSA",
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n",
    "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n",
  ],
  ["asset", "symbol", "public_key", "kind"],
);

describe("admin socket: bad input (property)", () => {
  it("every body gets an answer below 500; a refusal on sight journals nothing; invariants hold", async () => {
    const { running, dir, remove } = await demo_node("hf-admin-input-");
    const socket = join(dir, "admin.sock");
    try {
      const node = running.node;
      await fc.assert(
        fc.asyncProperty(body, fc.boolean(), async ({ route, body }, wrong_path) => {
          const before = node.last_applied_seq;
          const path = wrong_path && typeof body === "string" ? `/v1/${encodeURIComponent(body)}` : route;
          const answer = await admin_request(socket, "POST", path, body);
          const what = `${path} ${JSON.stringify(body)} → ${answer.status} ${JSON.stringify(answer.body)}`;
          assert.ok(answer.status < 500, what);
          // 400 and 404: refused on sight; 409 is the engine's refusal, journaled as its outcome
          if (answer.status === 400 || answer.status === 404)
            assert.equal(node.last_applied_seq, before, `refused but journaled: ${what}`);
          assert.equal(node.writes_refused, null, `order entry stopped after ${what}`);
        }),
        { seed: seed(), numRuns: Number(process.env.HOLDFAST_PROPERTY_RUNS ?? 300) },
      );
      // revoking a key: any key and account text in the path and query
      const account_text = fc.oneof(fc.string(), fc.integer().map(String), fc.constant("1e309"));
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 300 }), account_text, async (key, account) => {
          const before = node.last_applied_seq;
          const path = `/v1/api-keys/${encodeURIComponent(key)}?account=${encodeURIComponent(account)}`;
          const answer = await admin_request(socket, "DELETE", path);
          const what = `${path} → ${answer.status} ${JSON.stringify(answer.body)}`;
          assert.ok(answer.status < 500, what);
          if (answer.status === 400 || answer.status === 404)
            assert.equal(node.last_applied_seq, before, what);
        }),
        { seed: seed(), numRuns: Number(process.env.HOLDFAST_PROPERTY_RUNS ?? 300) },
      );
      assert.equal(node.writes_refused, null);
      assert.deepEqual(check_invariants(node.engine), []);
      assert.equal((await admin_request(socket, "GET", "/v1/status")).status, 200);
      // a garbage collection on request, only in a process started with --expose-gc (soak:memory's)
      const gc = await admin_request(socket, "POST", "/v1/gc");
      if (typeof (globalThis as { gc?: unknown }).gc === "function")
        assert.ok((gc.body as { heap_used_bytes: number }).heap_used_bytes > 0);
      else assert.deepEqual([gc.status, gc.body], [404, { error: "start the node with node --expose-gc" }]);
    } finally {
      await remove();
    }
  });
});
