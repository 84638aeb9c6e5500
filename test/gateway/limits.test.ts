/** Request-weight and order-count limits over real HTTP: Binance's headers, 429, then 418. */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import { DEFAULT_TIERS } from "../../src/gateway/limits.js";
import { demo_node } from "../helpers/nodes.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits for a fresh fixed window so the counts in a test cannot straddle two. */
async function fresh_window(length_ms: number, need_ms: number): Promise<void> {
  const into = Date.now() % length_ms;
  if (into > length_ms - need_ms) await sleep(length_ms - into + 50);
}

describe("rate limits", () => {
  it("request weight per IP: X-MBX-USED-WEIGHT-1M, 429 -1003 with Retry-After, then a 418 ban", async () => {
    // the demo's anonymous requests and its users' keys are in the "demo" tier: made small here
    const handle = await demo_node("hf-limits-", {
      limit_tiers: {
        ...DEFAULT_TIERS,
        demo: { weight_per_minute: 30, orders_per_10s: 3, orders_per_day: 1000 },
      },
    });
    const running = handle.running;
    try {
      const base = `http://127.0.0.1:${running.port}`;
      const info = (await (await fetch(`${base}/api/v3/exchangeInfo`)).json()) as { rateLimits: unknown[] };
      assert.deepEqual(info.rateLimits[0], {
        rateLimitType: "REQUEST_WEIGHT",
        interval: "MINUTE",
        intervalNum: 1,
        limit: 30,
      });

      // orders: 3 per 10 s per account
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
        users: { apiKey: string; secretKey: string }[];
      };
      const order = signed_order(base, creds.users[0]);
      await fresh_window(10_000, 3000);
      for (let i = 1; i <= 3; i++) {
        const r = await order();
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("x-mbx-order-count-10s"), String(i));
      }
      const seq = running.node.last_applied_seq;
      const over = await order();
      assert.equal(over.status, 429);
      assert.ok(Number(over.headers.get("retry-after")) >= 1);
      assert.deepEqual(await over.json(), {
        code: -1015,
        msg: "Too many new orders; current limit is 3 orders per 10 SECOND.",
      });
      assert.equal(running.node.last_applied_seq, seq, "a refused order reaches no journal");

      // weight: depth costs 5; 30 a minute
      await sleep(100);
      await fresh_window(60_000, 5000);
      let used = 0;
      for (;;) {
        const r = await fetch(`${base}/api/v3/depth?symbol=BTCUSDT`);
        if (r.status !== 200) {
          assert.equal(r.status, 429);
          assert.ok(Number(r.headers.get("retry-after")) >= 1);
          assert.equal(((await r.json()) as { code: number }).code, -1003);
          break;
        }
        used = Number(r.headers.get("x-mbx-used-weight-1m"));
        await r.arrayBuffer();
      }
      assert.ok(used > 25 && used <= 30, `used ${used}`);
      let status = 429;
      for (let i = 0; i < 12 && status === 429; i++)
        status = (await fetch(`${base}/api/v3/depth?symbol=BTCUSDT`)).status;
      assert.equal(status, 418, "an IP that keeps going after 429s is banned");
      const banned = await fetch(`${base}/api/v3/ping`);
      assert.equal(banned.status, 418);
      assert.ok(Number(banned.headers.get("retry-after")) > 60);
    } finally {
      await handle.remove();
    }
  });

  it("per-key tiers: one order counter per account, compared with the ceiling of the key's tier", async () => {
    const handle = await demo_node("hf-tiers-", {
      limit_tiers: {
        ...DEFAULT_TIERS,
        demo: { weight_per_minute: 1000, orders_per_10s: 3, orders_per_day: 1000 },
      },
    });
    const running = handle.running;
    try {
      const base = `http://127.0.0.1:${running.port}`;
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
        users: { apiKey: string; secretKey: string }[];
      };
      const order = signed_order(base, creds.users[0]);
      await fresh_window(10_000, 3000);
      for (let i = 1; i <= 3; i++) assert.equal((await order()).status, 200);
      assert.equal((await order()).status, 429);
      // per-key tiers: the same account's count, compared with the ceiling of the key's tier
      const alice = running.node.engine.api_keys.by_key.get(creds.users[0].apiKey)?.account as number;
      const unknown_tier = await admin_request(running.admin_socket, "POST", "/v1/api-keys", {
        account: alice,
        kind: "HMAC",
        tier: "platinum",
      });
      assert.equal(unknown_tier.status, 400);
      assert.match(JSON.stringify(unknown_tier.body), /unknown tier \\"platinum\\"/);
      const made = await admin_request(running.admin_socket, "POST", "/v1/api-keys", {
        account: alice,
        kind: "HMAC",
        tier: "bench",
      });
      const bench = made.body as { apiKey: string; secretKey: string };
      assert.equal(running.node.engine.api_keys.by_key.get(bench.apiKey)?.tier, "bench");
      const more = await signed_order(base, bench)();
      assert.equal(more.status, 200, "the bench tier's ceiling is far above the demo tier's");
      assert.equal(more.headers.get("x-mbx-order-count-10s"), "4", "one counter per account, as Binance's");
      assert.equal((await order()).status, 429, "the demo-tier key of the same account is still over");
    } finally {
      await handle.remove();
    }
  });

  it("admission control: past the bound on commands waiting for the journal, 429 -1003 and nothing journaled", async () => {
    const handle = await demo_node("hf-busy-", { in_flight_max: 0 });
    try {
      const base = `http://127.0.0.1:${handle.running.port}`;
      const creds = JSON.parse(readFileSync(handle.running.credentials_file as string, "utf8")) as {
        users: { apiKey: string; secretKey: string }[];
      };
      const seq = handle.running.node.last_applied_seq;
      const r = await signed_order(base, creds.users[0])();
      assert.equal(r.status, 429);
      assert.equal(r.headers.get("retry-after"), "1");
      assert.deepEqual(await r.json(), { code: -1003, msg: "Too many requests queued." });
      assert.equal(
        r.headers.get("x-mbx-order-count-10s"),
        null,
        "a refused request is not counted as an order",
      );
      assert.equal(handle.running.node.last_applied_seq, seq);
    } finally {
      await handle.remove();
    }
  });
});

function signed_order(base: string, key: { apiKey: string; secretKey: string }) {
  return () => {
    const text = new URLSearchParams({
      symbol: "BTCUSDT",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.001",
      price: "10000",
      timestamp: String(Date.now()),
    }).toString();
    const sig = createHmac("sha256", key.secretKey).update(text).digest("hex");
    return fetch(`${base}/api/v3/order?${text}&signature=${sig}`, {
      method: "POST",
      headers: { "X-MBX-APIKEY": key.apiKey },
    });
  };
}
