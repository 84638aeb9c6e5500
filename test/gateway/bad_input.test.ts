/**
 * Bad input, property-based, over the REST endpoints: random, missing, duplicated and out-of-range
 * parameters, wrong precision, huge numbers, unicode, bad and missing signatures, stale timestamps,
 * other users' order ids. Every answer is a Binance {code,msg} (never a 5xx), refusals that need no
 * state leave the journal untouched, and the engine's invariants hold afterwards. The same over the
 * WebSocket API (/ws-api/v3): any JSON (or none) in a message, any method, params of any type.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import WebSocket from "ws";
import { admin_request } from "../../src/admin/client.js";
import { check_invariants } from "../../src/engine/invariants.js";
import { seed } from "../engine/gen.js";
import { demo_node } from "../helpers/nodes.js";

const NAMES = [
  "symbol",
  "audit",
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
  "symbolStatus",
  "recvWindow",
  "listenKey",
  "cancelReplaceMode",
  "cancelOrderId",
  "cancelOrigClientOrderId",
  "timeZone",
  "preventedMatchId",
  "fromPreventedMatchId",
  "strategyId",
  "strategyType",
  "newQty",
  "fromExecutionId",
  "cancelRestrictions",
  // OCO order lists
  "listClientOrderId",
  "orderListId",
  "aboveType",
  "abovePrice",
  "aboveStopPrice",
  "aboveTimeInForce",
  "belowType",
  "belowPrice",
  "belowStopPrice",
  "belowTimeInForce",
  // OTO and OTOCO order lists
  "workingType",
  "workingSide",
  "workingPrice",
  "workingQuantity",
  "workingTimeInForce",
  "pendingType",
  "pendingSide",
  "pendingPrice",
  "pendingQuantity",
  "pendingStopPrice",
  "pendingAboveType",
  "pendingAbovePrice",
  "pendingBelowType",
  "pendingBelowStopPrice",
  // the deprecated OCO (POST order/oco)
  "stopLimitPrice",
  "stopLimitTimeInForce",
  "limitClientOrderId",
  "stopIcebergQty",
  // withdrawals
  "coin",
  "address",
  "addressTag",
  "amount",
  "network",
  "withdrawOrderId",
  "walletType",
  "transactionFeeFlag",
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
    "STOP_LOSS",
    "BTC",
    "bc1qexample",
  ),
  fc.constantFrom(
    "GTC",
    "IOC",
    "FOK",
    "FULL",
    "ACK",
    "1m",
    "1M",
    "EXPIRE_BOTH",
    '["BTCUSDT"]',
    "+08:00",
    "-5:30",
    "15",
  ),
  fc.constantFrom(
    "0.001",
    "0.0000000001",
    "50000",
    "50000.005",
    "-1",
    "0",
    "1e5",
    "9".repeat(40),
    "NaN",
    "",
    "1000000",
    "2147483648",
  ),
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constant("x".repeat(5000)),
);
const request = fc.record({
  method: fc.constantFrom("GET", "POST", "DELETE", "PUT"),
  path: fc.constantFrom(
    "/api/v3/order",
    "/api/v3/order/test",
    "/api/v3/openOrders",
    "/api/v3/allOrders",
    "/api/v3/myTrades",
    "/api/v3/myPreventedMatches",
    "/api/v3/myFilters",
    "/api/v3/order/amend/keepPriority",
    "/api/v3/order/amendments",
    "/api/v3/account",
    "/api/v3/account/commission",
    "/sapi/v1/asset/tradeFee",
    "/sapi/v1/capital/config/getall",
    "/sapi/v1/account/apiRestrictions",
    "/sapi/v1/account/status",
    "/sapi/v1/capital/deposit/hisrec",
    "/sapi/v1/capital/withdraw/history",
    "/sapi/v1/capital/withdraw/apply",
    "/sapi/v1/margin/allPairs",
    "/api/v3/rateLimit/order",
    "/api/v3/order/cancelReplace",
    "/api/v3/order/oco",
    "/api/v3/orderList/oco",
    "/api/v3/orderList/oto",
    "/api/v3/orderList/otoco",
    "/api/v3/orderList/opo",
    "/api/v3/orderList/opoco",
    "/api/v3/orderList",
    "/api/v3/allOrderList",
    "/api/v3/openOrderList",
    "/api/v3/depth",
    "/api/v3/klines",
    "/api/v3/trades",
    "/api/v3/exchangeInfo",
    "/api/v3/ticker/24hr",
    "/api/v3/ticker/tradingDay",
    "/api/v3/ticker/price",
    "/api/v3/ticker/bookTicker",
    "/api/v3/aggTrades",
    "/api/v3/historicalTrades",
    "/api/v3/avgPrice",
    "/api/v3/executionRules",
    "/api/v3/referencePrice",
    "/api/v3/referencePrice/calculation",
    "/api/v3/uiKlines",
    "/api/v3/userDataStream",
    "/api/v3/time",
    "/sapi/v1/system/status",
    "/holdfast/v1/reserves",
    "/holdfast/v1/reserves/audits",
    "/holdfast/v1/reserves/proof",
  ),
  params: fc.array(fc.tuple(fc.constantFrom(...NAMES), value), { maxLength: 10 }),
  // "escape": a percent escape that does not decode (once a 500 here)
  signature: fc.constantFrom("good", "good", "good", "bad", "none", "escape"),
  timestamp_offset_ms: fc.constantFrom(0, 0, 0, -120_000, 5_000),
  in_body: fc.boolean(),
  // 2: a key of user 0 that may withdraw
  key: fc.constantFrom(0, 0, 1, 2, -1),
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
      const uid = running.node.engine.api_keys.by_key.get(creds.users[0].apiKey)?.account;
      const made = await admin_request(running.admin_socket, "POST", "/v1/api-keys", {
        account: uid,
        kind: "HMAC",
        withdraw: true,
        ip_allow: ["127.0.0.1"],
      });
      const withdraw_key = made.body as { apiKey: string; secretKey: string };
      const keys = [...creds.users.slice(0, 2), withdraw_key];
      let statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const pairs = [...r.params];
          if (r.signature !== "none" || r.key >= 0)
            pairs.push(["timestamp", String(Date.now() + r.timestamp_offset_ms)]);
          let text = new URLSearchParams(pairs).toString();
          const key = r.key < 0 ? { apiKey: "nope".repeat(16), secretKey: "x" } : keys[r.key];
          if (r.signature !== "none") {
            const sig = createHmac("sha256", key.secretKey).update(text).digest("hex");
            const sent = { good: sig, bad: sig.replace(/^./, "0"), escape: `%ZZ${sig.slice(3)}` }[
              r.signature
            ];
            text += `&signature=${sent}`;
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
            // (withdrawals: limits, balance, paused: -4015, -4023, -4026, -4019)
            const journaled = [-2010, -2011, -2021, -2022, -4015, -4023, -4026, -4019].includes(
              answer.code as number,
            );
            if (!journaled) assert.equal(running.node.last_applied_seq, before, JSON.stringify(answer));
          }
        }),
        { seed: seed(), numRuns: Number(process.env.HOLDFAST_PROPERTY_RUNS ?? 300) },
      );
      assert.deepEqual(check_invariants(running.node.engine), []);
      assert.equal((await fetch(`${base}/api/v3/ping`)).status, 200);
      assert.ok((statuses.get(400) ?? 0) > 0);
      // a signature whose percent escapes do not decode is an invalid signature, not a server error
      const text = `symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000&timestamp=${Date.now()}`;
      for (const bad_signature of ["%ZZ", "%E0%A4%A", "ab%"]) {
        const res = await fetch(`${base}/api/v3/order?${text}&signature=${bad_signature}`, {
          method: "POST",
          headers: { "X-MBX-APIKEY": creds.users[0].apiKey },
        });
        assert.equal(res.status, 400, bad_signature);
        assert.deepEqual(await res.json(), { code: -1022, msg: "Signature for this request is not valid." });
      }
      statuses = new Map();
    } finally {
      await handle.remove();
    }
  });
});

/** WebSocket API methods, and a few that do not exist. */
const WS_METHODS = [
  "ping",
  "time",
  "exchangeInfo",
  "depth",
  "trades.recent",
  "klines",
  "ticker.24hr",
  "ticker.tradingDay",
  "executionRules",
  "referencePrice",
  "referencePrice.calculation",
  "order.place",
  "order.test",
  "order.status",
  "order.cancel",
  "order.cancelReplace",
  "openOrders.status",
  "openOrders.cancelAll",
  "allOrders",
  "myTrades",
  "myPreventedMatches",
  "orderList.place",
  "orderList.place.oco",
  "orderList.place.oto",
  "orderList.place.otoco",
  "orderList.place.opo",
  "orderList.place.opoco",
  "orderList.cancel",
  "orderList.status",
  "openOrderLists.status",
  "allOrderLists",
  "order.amend.keepPriority",
  "order.amendments",
  "account.status",
  "account.commission",
  "account.rateLimits.orders",
  "session.logon",
  "session.status",
  "session.logout",
  "userDataStream.subscribe",
  "userDataStream.subscribe.signature",
  "session.subscriptions",
  "userDataStream.unsubscribe",
  "userDataStream.start",
  "order.teleport",
  "",
];
/** A params value of any JSON type: the API takes strings, numbers and booleans (arrays as JSON). */
const ws_value = fc.oneof(
  value,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
);
const ws_request = fc.record({
  id: fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null), fc.constant({ x: 1 })),
  method: fc.oneof(fc.constantFrom(...WS_METHODS), fc.string({ maxLength: 20 }), fc.integer()),
  params: fc.oneof(
    fc.array(fc.tuple(fc.constantFrom(...NAMES, "apiKey", "returnRateLimits", "subscriptionId"), ws_value), {
      maxLength: 10,
    }),
    fc.constant(null),
  ),
  sign: fc.constantFrom("good", "good", "bad", "escape", "none"),
  timestamp_offset_ms: fc.constantFrom(0, 0, -120_000, 5_000),
  /** What goes on the wire instead of the request now and then. */
  frame: fc.constantFrom("json", "json", "json", "json", "not-json", "array", "binary", "huge"),
});

describe("bad input over the WebSocket API (property)", () => {
  it("every message gets an answer with Binance's {code,msg}, never a 5xx; refusals journal nothing", async () => {
    const handle = await demo_node("hf-bad-ws-");
    try {
      const { running } = handle;
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
        wsUrl: string;
        users: { apiKey: string; secretKey: string }[];
      };
      const connect = async (): Promise<WebSocket> => {
        const ws = new WebSocket(`${creds.wsUrl}/ws-api/v3`);
        await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
        return ws;
      };
      let ws = await connect();
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(ws_request, async (r) => {
          const params: Record<string, unknown> = {};
          for (const [k, v] of r.params ?? []) params[k] = v;
          if (r.sign !== "none") {
            params.apiKey = creds.users[0].apiKey;
            params.timestamp = String(Date.now() + r.timestamp_offset_ms);
            const text = Object.keys(params)
              .sort()
              .map((k) => {
                const v = params[k];
                const text = typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
                return `${k}=${encodeURIComponent(text)}`;
              })
              .join("&");
            const sig = createHmac("sha256", creds.users[0].secretKey).update(text).digest("hex");
            params.signature = { good: sig, bad: `0${sig.slice(1)}`, escape: `%ZZ${sig.slice(3)}` }[r.sign];
          }
          const message =
            r.frame === "not-json"
              ? "{not json"
              : r.frame === "array"
                ? "[1,2]"
                : r.frame === "huge"
                  ? JSON.stringify({ id: 1, method: "ping", params: { x: "x".repeat(70_000) } })
                  : JSON.stringify({ id: r.id, method: r.method, params: r.params === null ? null : params });
          const before = running.node.last_applied_seq;
          const answer = await new Promise<Record<string, unknown> | "closed">((resolve) => {
            const on_message = (data: Buffer) => {
              ws.off("close", on_close);
              resolve(JSON.parse(data.toString()) as Record<string, unknown>);
            };
            const on_close = () => {
              ws.off("message", on_message);
              resolve("closed");
            };
            ws.once("message", on_message);
            ws.once("close", on_close);
            if (r.frame === "binary") ws.send(Buffer.from(message));
            else ws.send(message);
          });
          if (answer === "closed") {
            // only a message over the size limit (64 KiB) may end the connection (close 1009)
            assert.equal(r.frame, "huge", `connection closed after ${message.slice(0, 200)}`);
            ws = await connect();
            return;
          }
          const status = answer.status as number;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          assert.ok(status < 500, `${JSON.stringify(answer)} for ${message.slice(0, 300)}`);
          if (status >= 400) {
            const error = answer.error as { code?: unknown; msg?: unknown };
            assert.ok(Number.isInteger(error.code) && (error.code as number) < 0, JSON.stringify(answer));
            assert.equal(typeof error.msg, "string");
            const journaled = [-2010, -2011, -2021, -2022].includes(error.code as number);
            if (!journaled) assert.equal(running.node.last_applied_seq, before, JSON.stringify(answer));
          }
        }),
        { seed: seed(), numRuns: Number(process.env.HOLDFAST_PROPERTY_RUNS ?? 300) },
      );
      ws.close();
      assert.deepEqual(check_invariants(running.node.engine), []);
      assert.ok((statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
      assert.ok((statuses.get(200) ?? 0) > 0, JSON.stringify([...statuses]));
    } finally {
      await handle.remove();
    }
  });
});

/** A market-stream control message: any JSON, or Binance's methods with params of any shape. */
const stream_message = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record({
      method: fc.oneof(
        fc.constantFrom("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "subscribe"),
        fc.jsonValue(),
      ),
      params: fc.oneof(
        fc.array(
          fc.oneof(
            fc.constantFrom(
              "btcusdt@trade",
              "btcusdt@depth@100ms",
              "ethbtc@kline_1m",
              "!miniTicker@arr",
              "!ticker_1h@arr",
              "btcusdt@ticker_4h",
              "nope@x",
            ),
            fc.string({ maxLength: 30 }),
            fc.jsonValue(),
          ),
          { maxLength: 6 },
        ),
        fc.jsonValue(),
      ),
      id: fc.oneof(fc.nat(), fc.string({ maxLength: 8 }), fc.jsonValue()),
    })
    .map((m) => JSON.stringify(m)),
  fc.string({ maxLength: 50 }),
  fc.constantFrom("null", "5", '"x"', "[]", "{}", "true"),
);

describe("bad input over the market streams (property)", () => {
  it("every message gets Binance's answer or error; the connection and the node stay up", async () => {
    const handle = await demo_node("hf-bad-streams-");
    try {
      const { running } = handle;
      const ws = new WebSocket(`ws://127.0.0.1:${running.port}/ws/btcusdt@trade`);
      await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
      let closed: number | null = null;
      ws.on("close", (code) => {
        closed = code;
      });
      let errors = 0;
      await fc.assert(
        fc.asyncProperty(stream_message, async (message) => {
          // (a connection closed by an earlier failure fails every later run, shrinking included,
          // rather than waiting for an answer that cannot come)
          if (ws.readyState !== WebSocket.OPEN) throw new Error(`connection closed (${closed})`);
          const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
            ws.once("message", (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>));
            ws.once("close", (code) => reject(new Error(`closed ${code} after ${message.slice(0, 200)}`)));
            ws.send(message);
          });
          ws.removeAllListeners("close");
          ws.on("close", (code) => {
            closed = code;
          });
          assert.ok("id" in answer, JSON.stringify(answer));
          if ("error" in answer) {
            errors++;
            const error = answer.error as { code?: unknown; msg?: unknown };
            assert.ok([0, 1, 2, 3].includes(error.code as number), JSON.stringify(answer));
            assert.equal(typeof error.msg, "string");
          } else assert.ok("result" in answer, JSON.stringify(answer));
          // stay under the 5 messages a second a connection may send (Binance's limit), the pong
          // answering the server's ping (every 20 s) included: 4 a second leaves room for it
          await new Promise((r) => setTimeout(r, 250));
        }),
        { seed: seed(), numRuns: Number(process.env.HOLDFAST_STREAM_PROPERTY_RUNS ?? 60) },
      );
      assert.equal(closed, null);
      assert.ok(errors > 0);
      ws.close();
      assert.equal((await fetch(`http://127.0.0.1:${running.port}/api/v3/ping`)).status, 200);
    } finally {
      await handle.remove();
    }
  });
});

describe("bad WebSocket upgrades", () => {
  it("an upgrade to any target is answered or refused, and the node stays up", {
    timeout: 60_000,
  }, async () => {
    const handle = await demo_node("hf-bad-upgrade-");
    try {
      const port = handle.running.port;
      /** A raw upgrade request (no client library: they refuse to send such targets). */
      const upgrade = (target: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(port, "127.0.0.1", () =>
            socket.write(
              `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            ),
          );
          let got = "";
          socket.on("data", (d) => {
            got += d.toString("latin1");
            if (got.includes("\r\n\r\n")) socket.destroy();
          });
          socket.on("close", () => resolve(got));
          socket.on("error", reject);
          // a server that neither answers nor closes fails the test instead of hanging it
          socket.setTimeout(5000, () => {
            got = "(no answer in 5 s)";
            socket.destroy();
          });
        });
      // targets that are no URL once resolved against the host (these once ended the process)
      for (const target of ["//", "//[", "//@", "//%zz", "/\\\\", "http://"]) {
        const answer = await upgrade(target);
        assert.ok(answer === "" || answer.startsWith("HTTP/1.1 400"), `${target}: ${answer}`);
      }
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.constantFrom("/ws/", "/stream?streams=", "/ws-api/v3", "/", "//"),
            fc.string({ maxLength: 5 }).map((s) => `/ws/${s}`),
          ),
          fc.string({ unit: "grapheme-ascii", maxLength: 30 }),
          async (prefix, rest) => {
            const target = `${prefix}${encodeURI(rest).replace(/%25/g, "%")}`;
            const answer = await upgrade(target);
            assert.ok(answer === "" || /^HTTP\/1\.1 (101|400|404|429)/.test(answer), `${target}: ${answer}`);
          },
        ),
        { seed: seed(), numRuns: 200 },
      );
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/v3/ping`)).status, 200);
    } finally {
      await handle.remove();
    }
  });
});
