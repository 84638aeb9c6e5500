/** Request-weight and order-count limits over real HTTP: Binance's headers, 429, then 418. */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { admin_request } from "../../src/admin/client.js";
import { check_tiers, DEFAULT_TIERS } from "../../src/gateway/limits.js";
import { demo_node } from "../helpers/nodes.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits for a fresh fixed window so the counts in a test cannot straddle two. */
async function fresh_window(length_ms: number, need_ms: number): Promise<void> {
  const into = Date.now() % length_ms;
  if (into > length_ms - need_ms) await sleep(length_ms - into + 50);
}

/** A demo node whose demo tier allows 3 orders per 10 s, with its base URL and its users' keys. */
async function three_orders_node(prefix: string) {
  const handle = await demo_node(prefix, {
    limit_tiers: {
      ...DEFAULT_TIERS,
      demo: { weight_per_minute: 1000, orders_per_10s: 3, orders_per_day: 1000 },
    },
  });
  const running = handle.running;
  const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
    users: { apiKey: string; secretKey: string }[];
  };
  return { handle, running, base: `http://127.0.0.1:${running.port}`, creds };
}

describe("rate limits", () => {
  it("limit tiers from a file: a misspelt limit, a tier that is no object or a file that is none is refused", () => {
    const ok = { weight_per_minute: 10, orders_per_10s: 1, orders_per_day: 1 };
    assert.equal(check_tiers({ ...DEFAULT_TIERS, vip: ok }, "default"), null);
    assert.equal(check_tiers({ ...DEFAULT_TIERS, vip: { ...ok, connections_per_5m: 5 } }, "default"), null);
    const refused: [unknown, RegExp][] = [
      [[], /must be an object of tier → limits/],
      [null, /must be an object of tier → limits/],
      [{ ...DEFAULT_TIERS, vip: null }, /tier "vip" must be an object of limits/],
      [{ ...DEFAULT_TIERS, vip: [1, 2] }, /tier "vip" must be an object of limits/],
      [
        { ...DEFAULT_TIERS, vip: { ...ok, orders_per_10sec: 5 } },
        /tier "vip": unknown limit "orders_per_10sec"/,
      ],
      [{ ...DEFAULT_TIERS, vip: { ...ok, orders_per_day: 0 } }, /orders_per_day must be a positive integer/],
      [{ vip: ok }, /must include "default"/],
    ];
    for (const [tiers, why] of refused) assert.match(check_tiers(tiers, "default") ?? "accepted", why);
  });

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
      const ws_banned = await connect(`ws://127.0.0.1:${running.port}/ws/btcusdt@trade`);
      assert.equal(ws_banned.status, 418, "nor may a banned IP open a WebSocket");
    } finally {
      await handle.remove();
    }
  });

  it("per-key tiers: one order counter per account, compared with the ceiling of the key's tier", async () => {
    const { handle, running, base, creds } = await three_orders_node("hf-tiers-");
    try {
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

  it("Binance's unfilled order count: an order's first fill, as taker or maker, takes one off its account's count; a cancel does not", async () => {
    const { handle, base, creds } = await three_orders_node("hf-unfilled-");
    try {
      const [alice, bob] = creds.users;
      const place = (key: typeof alice, side: string, price: string) =>
        signed(base, key, "POST", "/api/v3/order", {
          symbol: "BTCUSDT",
          side,
          type: "LIMIT",
          timeInForce: "GTC",
          quantity: "0.001",
          price,
        });
      const count = (r: Response) => r.headers.get("x-mbx-order-count-10s");
      await fresh_window(10_000, 4000);
      // alice: three bids that nobody hits, then the limit
      const bids = [];
      for (const price of ["10000", "10001", "10002"]) bids.push(await place(alice, "BUY", price));
      assert.deepEqual(bids.map(count), ["1", "2", "3"]);
      assert.equal((await place(alice, "BUY", "10003")).status, 429);
      // a cancel gives nothing back
      const first = (await bids[0].json()) as { orderId: number };
      const cancelled = await signed(base, alice, "DELETE", "/api/v3/order", {
        symbol: "BTCUSDT",
        orderId: String(first.orderId),
      });
      assert.equal(cancelled.status, 200);
      assert.equal((await place(alice, "BUY", "10003")).status, 429, "a cancel gives nothing back");
      // bob sells into alice's best bid: his order's first fill (taker) and hers (maker) both count
      const sold = await place(bob, "SELL", "10002");
      assert.equal(count(sold), "1");
      const usage = async (key: typeof alice) =>
        (
          (await (await signed(base, key, "GET", "/api/v3/rateLimit/order", {})).json()) as {
            count: number;
          }[]
        )[0].count;
      assert.equal(await usage(bob), 0, "bob's order traded at once");
      assert.equal(await usage(alice), 2, "alice's bid traded (its first fill)");
      const again = await place(alice, "BUY", "10003");
      assert.deepEqual([again.status, count(again)], [200, "3"]);
    } finally {
      await handle.remove();
    }
  });

  it("cancelReplace past the order limit: DO_NOTHING refuses it whole (-1015); CANCEL_ONLY still cancels", async () => {
    const handle = await demo_node("hf-limit-cancel-", {
      limit_tiers: {
        ...DEFAULT_TIERS,
        demo: { weight_per_minute: 1000, orders_per_10s: 2, orders_per_day: 1000 },
      },
    });
    const running = handle.running;
    try {
      const base = `http://127.0.0.1:${running.port}`;
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
        users: { apiKey: string; secretKey: string }[];
      };
      const key = creds.users[0];
      await fresh_window(10_000, 3000);
      const placed = (await (await signed_order(base, key)()).json()) as { orderId: number };
      assert.equal((await signed_order(base, key)()).status, 200); // the second: at the limit now
      const replace = async (extra: Record<string, string>) => {
        const text = new URLSearchParams({
          symbol: "BTCUSDT",
          cancelReplaceMode: "STOP_ON_FAILURE",
          cancelOrderId: String(placed.orderId),
          side: "BUY",
          type: "LIMIT",
          timeInForce: "GTC",
          quantity: "0.002",
          price: "10000",
          ...extra,
          timestamp: String(Date.now()),
        }).toString();
        const sig = createHmac("sha256", key.secretKey).update(text).digest("hex");
        const r = await fetch(`${base}/api/v3/order/cancelReplace?${text}&signature=${sig}`, {
          method: "POST",
          headers: { "X-MBX-APIKEY": key.apiKey },
        });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      };
      const seq = running.node.last_applied_seq;
      const bad_mode = await replace({ orderRateLimitExceededMode: "CANCEL" });
      assert.deepEqual([bad_mode.status, (bad_mode.body as { code: number }).code], [400, -1100]);
      const refused = await replace({ orderRateLimitExceededMode: "DO_NOTHING" });
      assert.deepEqual([refused.status, refused.body.code], [429, -1015], JSON.stringify(refused.body));
      assert.equal((await replace({})).status, 429, "DO_NOTHING is the default");
      assert.equal(running.node.last_applied_seq, seq, "nothing journaled");
      const cancelled = await replace({ orderRateLimitExceededMode: "CANCEL_ONLY" });
      assert.equal(cancelled.status, 409, JSON.stringify(cancelled.body));
      const data = cancelled.body.data as Record<string, { status?: string; code?: number }>;
      assert.deepEqual(
        [
          cancelled.body.code,
          data.cancelResult,
          data.newOrderResult,
          data.cancelResponse.status,
          data.newOrderResponse.code,
        ],
        [-2021, "SUCCESS", "FAILURE", "CANCELED", -1015],
      );
      assert.equal(running.node.engine.orders.by_id.has(placed.orderId), false, "the order is gone");
    } finally {
      await handle.remove();
    }
  });

  it("WebSocket connection attempts per IP per 5 minutes, for streams and the WebSocket API each: 429 -1003 past the limit; a WebSocket API connection costs 2 weight", async () => {
    const handle = await demo_node("hf-conns-", {
      limit_tiers: {
        ...DEFAULT_TIERS,
        demo: { weight_per_minute: 1000, orders_per_10s: 100, orders_per_day: 1000, connections_per_5m: 4 },
      },
    });
    const open: WebSocket[] = [];
    try {
      const port = handle.running.port;
      await fresh_window(300_000, 20_000);
      await fresh_window(60_000, 10_000);
      // attempts count, not open connections: two of the four are closed again at once
      for (let i = 0; i < 4; i++) {
        const r = await connect(`ws://127.0.0.1:${port}/ws/btcusdt@trade`);
        assert.equal(r.status, 101, `attempt ${i + 1}`);
        if (i % 2 === 0) r.ws?.close();
        else open.push(r.ws as WebSocket);
      }
      const over = await connect(`ws://127.0.0.1:${port}/stream?streams=btcusdt@trade`);
      assert.equal(over.status, 429);
      assert.ok(Number(over.headers["retry-after"]) >= 1 && Number(over.headers["retry-after"]) <= 300);
      assert.deepEqual(JSON.parse(over.body), {
        code: -1003,
        msg: "Too many connection attempts; current limit is 4 connections per 5 MINUTE.",
      });
      for (const ws of open) assert.equal(ws.readyState, WebSocket.OPEN, "connections made before stay open");

      // the WebSocket API is counted on its own, and each connection costs 2 request weight
      const before = Number(
        (await fetch(`http://127.0.0.1:${port}/api/v3/ping`)).headers.get("x-mbx-used-weight-1m"),
      );
      for (let i = 0; i < 4; i++) {
        const r = await connect(`ws://127.0.0.1:${port}/ws-api/v3`);
        assert.equal(r.status, 101, `WebSocket API attempt ${i + 1}`);
        open.push(r.ws as WebSocket);
      }
      const after = Number(
        (await fetch(`http://127.0.0.1:${port}/api/v3/ping`)).headers.get("x-mbx-used-weight-1m"),
      );
      assert.equal(after - before, 4 * 2 + 1, "4 connections at 2 weight, and the ping itself");
      assert.equal((await connect(`ws://127.0.0.1:${port}/ws-api/v3`)).status, 429);
      // REST is not affected
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/v3/ping`)).status, 200);
    } finally {
      for (const ws of open) ws.terminate();
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

interface Attempt {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ws: WebSocket | null;
}

/** One WebSocket handshake: 101 and the open socket, or the HTTP answer that refused it. */
function connect(url: string): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve({ status: 101, headers: {}, body: "", ws }));
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, ws: null }),
      );
    });
    ws.once("error", reject);
  });
}

/** A signed call with every parameter in the query string. */
function signed(
  base: string,
  key: { apiKey: string; secretKey: string },
  method: string,
  path: string,
  params: Record<string, string>,
): Promise<Response> {
  const text = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
  const sig = createHmac("sha256", key.secretKey).update(text).digest("hex");
  return fetch(`${base}${path}?${text}&signature=${sig}`, {
    method,
    headers: { "X-MBX-APIKEY": key.apiKey },
  });
}
