/**
 * Bad input, property-based, over the REST endpoints: random, missing, duplicated and out-of-range
 * parameters, wrong precision, huge numbers, unicode, bad and missing signatures, stale timestamps,
 * other users' order ids. Every answer is a Binance {code,msg} (never a 5xx), refusals that need no
 * state leave the journal untouched, and the engine's invariants hold afterwards.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { check_invariants } from "../../src/engine/invariants.js";
import { seed } from "../engine/gen.js";
import { demo_node } from "../helpers/nodes.js";

const NAMES = [
  "symbol",
  "side",
  "type",
  "timeInForce",
  "quantity",
  "quoteOrderQty",
  "price",
  "stopPrice",
  "newClientOrderId",
  "newOrderRespType",
  "selfTradePreventionMode",
  "orderId",
  "origClientOrderId",
  "limit",
  "fromId",
  "startTime",
  "endTime",
  "interval",
  "symbols",
  "recvWindow",
  "bogus",
];
const value = fc.oneof(
  fc.constantFrom(
    "BTCUSDT",
    "ETHBTC",
    "btcusdt",
    "BUY",
    "SELL",
    "LIMIT",
    "MARKET",
    "LIMIT_MAKER",
    "STOP_LOSS_LIMIT",
  ),
  fc.constantFrom("GTC", "IOC", "FOK", "FULL", "ACK", "1m", "1M", "EXPIRE_BOTH", '["BTCUSDT"]'),
  fc.constantFrom("0.001", "0.0000000001", "50000", "50000.005", "-1", "0", "1e5", "9".repeat(40), "NaN", ""),
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constant("x".repeat(5000)),
);
const request = fc.record({
  method: fc.constantFrom("GET", "POST", "DELETE"),
  path: fc.constantFrom(
    "/api/v3/order",
    "/api/v3/order/test",
    "/api/v3/openOrders",
    "/api/v3/allOrders",
    "/api/v3/myTrades",
    "/api/v3/account",
    "/api/v3/order/cancelReplace",
    "/api/v3/depth",
    "/api/v3/klines",
    "/api/v3/trades",
    "/api/v3/exchangeInfo",
    "/api/v3/ticker/24hr",
  ),
  params: fc.array(fc.tuple(fc.constantFrom(...NAMES), value), { maxLength: 10 }),
  signature: fc.constantFrom("good", "good", "good", "bad", "none"),
  timestamp_offset_ms: fc.constantFrom(0, 0, 0, -120_000, 5_000),
  in_body: fc.boolean(),
  key: fc.constantFrom(0, 0, 1, -1),
});

describe("bad input over REST (property)", () => {
  it("never a 5xx or a crash; Binance errors; stateless refusals journal nothing", async () => {
    const handle = await demo_node("hf-bad-");
    try {
      const { running } = handle;
      const base = `http://127.0.0.1:${running.port}`;
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
        users: { apiKey: string; secretKey: string }[];
      };
      let statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const pairs = [...r.params];
          if (r.signature !== "none" || r.key >= 0)
            pairs.push(["timestamp", String(Date.now() + r.timestamp_offset_ms)]);
          let text = new URLSearchParams(pairs).toString();
          const key = r.key < 0 ? { apiKey: "nope".repeat(16), secretKey: "x" } : creds.users[r.key];
          if (r.signature !== "none") {
            const sig = createHmac("sha256", key.secretKey).update(text).digest("hex");
            text += `&signature=${r.signature === "good" ? sig : sig.replace(/^./, "0")}`;
          }
          const before = running.node.last_applied_seq;
          const body = r.in_body && r.method !== "GET" ? text : undefined;
          const url = body === undefined ? `${base}${r.path}?${text}` : `${base}${r.path}`;
          const res = await fetch(url, {
            method: r.method,
            headers: {
              "X-MBX-APIKEY": key.apiKey,
              ...(body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }),
            },
            body,
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const answer = (await res.json()) as { code?: unknown; msg?: unknown };
          assert.ok(
            res.status < 500,
            `${res.status} ${JSON.stringify(answer)} for ${r.method} ${r.path}?${text}`,
          );
          if (res.status >= 400 && res.status !== 404) {
            assert.ok(Number.isInteger(answer.code) && (answer.code as number) < 0, JSON.stringify(answer));
            assert.equal(typeof answer.msg, "string");
            // engine refusals are journaled as REJECTED; everything else never reaches the journal
            const journaled = [-2010, -2011, -2021, -2022].includes(answer.code as number);
            if (!journaled) assert.equal(running.node.last_applied_seq, before, JSON.stringify(answer));
          }
        }),
        { seed: seed(), numRuns: Number(process.env.HOLDFAST_PROPERTY_RUNS ?? 300) },
      );
      assert.deepEqual(check_invariants(running.node.engine), []);
      assert.equal((await fetch(`${base}/api/v3/ping`)).status, 200);
      assert.ok((statuses.get(400) ?? 0) > 0);
      statuses = new Map();
    } finally {
      await handle.remove();
    }
  });
});
