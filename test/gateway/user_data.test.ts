/**
 * User data streams the listenKey way, as @binance/connector 3.6.1 uses them: createListenKey,
 * /ws/<listenKey>, executionReport (NEW, TRADE with the order's state after the fill, CANCELED,
 * TRADE_PREVENTION),
 * outboundAccountPosition and balanceUpdate with Binance's field names; keepalive and close.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Spot } from "@binance/connector";
import WebSocket from "ws";
import { admin_request } from "../../src/admin/client.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { demo_node } from "../helpers/nodes.js";

type Msg = Record<string, unknown>;

describe("user data streams (listenKey)", () => {
  it("executionReport, outboundAccountPosition and balanceUpdate reach only their account", async () => {
    const handle = await demo_node("hf-user-");
    try {
      const { running } = handle;
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as DemoCredentials;
      const [alice, bob] = creds.users;
      const a = new Spot(alice.apiKey, alice.secretKey, { baseURL: creds.baseUrl });
      const b = new Spot(bob.apiKey, bob.secretKey, { baseURL: creds.baseUrl });
      const key = ((await a.createListenKey()).data as { listenKey: string }).listenKey;
      assert.match(key, /^[A-Za-z0-9]{60}$/);
      assert.equal(
        ((await a.createListenKey()).data as { listenKey: string }).listenKey,
        key,
        "one key per account",
      );
      const bob_key = ((await b.createListenKey()).data as { listenKey: string }).listenKey;

      const received: Msg[] = [];
      const bob_received: Msg[] = [];
      const connect = (k: string, into: Msg[]) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${creds.wsUrl}/ws/${k}`);
          ws.on("message", (d) => into.push(JSON.parse(d.toString()) as Msg));
          ws.on("open", () => resolve(ws));
          ws.on("error", reject);
        });
      const ws = await connect(key, received);
      const bws = await connect(bob_key, bob_received);

      const order = (
        await a.newOrder("BTCUSDT", "BUY", "LIMIT", {
          price: "50000",
          quantity: "0.01",
          timeInForce: "GTC",
          newClientOrderId: "ud-1",
          selfTradePreventionMode: "EXPIRE_BOTH",
        })
      ).data as { orderId: number };
      await b.newOrder("BTCUSDT", "SELL", "MARKET", { quantity: "0.004" });
      await a.cancelOrder("BTCUSDT", { orderId: order.orderId });
      const uid = ((await a.account()).data as { uid: number }).uid;
      await admin_request(running.admin_socket, "POST", "/v1/deposit", {
        account: uid,
        asset: "ETH",
        amount: "1.5",
      });
      await new Promise((r) => setTimeout(r, 300));

      const reports = received.filter((m) => m.e === "executionReport");
      assert.deepEqual(
        reports.map((r) => [r.x, r.X, r.c, r.i, r.l, r.z, r.V]),
        [
          ["NEW", "NEW", "ud-1", order.orderId, "0.00000000", "0.00000000", "EXPIRE_BOTH"],
          ["TRADE", "PARTIALLY_FILLED", "ud-1", order.orderId, "0.00400000", "0.00400000", "EXPIRE_BOTH"],
          ["CANCELED", "CANCELED", "ud-1", order.orderId, "0.00000000", "0.00400000", "EXPIRE_BOTH"],
        ],
      );
      const trade = reports[1];
      assert.equal(trade.L, "50000.00000000");
      assert.equal(trade.m, true, "alice was the maker");
      assert.equal(trade.n, "0.00000400");
      assert.equal(trade.N, "BTC");
      assert.equal(trade.Z, "200.00000000");
      const positions = received.filter((m) => m.e === "outboundAccountPosition");
      assert.ok(positions.length >= 3);
      assert.deepEqual(
        (positions[0].B as Msg[]).find((x) => x.a === "USDT"),
        {
          a: "USDT",
          f: "999500.00000000",
          l: "500.00000000",
        },
      );
      assert.deepEqual(
        received.filter((m) => m.e === "balanceUpdate").map((m) => [m.a, m.d]),
        [["ETH", "1.50000000"]],
      );
      // bob sees his own fill, never alice's order
      const bob_reports = bob_received.filter((m) => m.e === "executionReport");
      // bob named no mode: the market's default, as exchangeInfo says it
      const info = (await (await fetch(`${creds.baseUrl}/api/v3/exchangeInfo?symbol=BTCUSDT`)).json()) as {
        symbols: { defaultSelfTradePreventionMode: string }[];
      };
      for (const r of bob_reports) assert.equal(r.V, info.symbols[0].defaultSelfTradePreventionMode);
      assert.deepEqual(
        bob_reports.map((r) => [r.x, r.X, r.m]),
        [
          ["NEW", "NEW", false],
          ["TRADE", "FILLED", false],
        ],
      );
      assert.ok(!bob_received.some((m) => m.c === "ud-1"));

      // self-trade prevention: an order it expires is reported as TRADE_PREVENTION with the
      // prevented match (v), the quantity expired (A: in all, B: by this match) and the other order (U)
      // (at 55,000: within the demo market's price range, 1.15 × the last price, 50,000)
      const resting = (
        await a.newOrder("BTCUSDT", "SELL", "LIMIT", {
          price: "55000",
          quantity: "0.002",
          timeInForce: "GTC",
          newClientOrderId: "ud-rest",
        })
      ).data as { orderId: number };
      const taker = (
        await a.newOrder("BTCUSDT", "BUY", "LIMIT", {
          price: "55000",
          quantity: "0.003",
          timeInForce: "GTC",
          newClientOrderId: "ud-take",
          selfTradePreventionMode: "EXPIRE_BOTH",
          newOrderRespType: "FULL",
        })
      ).data as { orderId: number; preventedMatches: { preventedMatchId: number }[] };
      const pm = taker.preventedMatches[0].preventedMatchId;
      await new Promise((r) => setTimeout(r, 300));
      const prevented = received.filter(
        (m) => m.e === "executionReport" && (m.c === "ud-rest" || m.c === "ud-take") && m.x !== "NEW",
      );
      assert.deepEqual(
        prevented.map((r) => [r.x, r.X, r.i, r.v, r.A, r.B, r.U, r.w]),
        [
          [
            "TRADE_PREVENTION",
            "EXPIRED_IN_MATCH",
            resting.orderId,
            pm,
            "0.00200000",
            "0.00200000",
            taker.orderId,
            false,
          ],
          [
            "TRADE_PREVENTION",
            "EXPIRED_IN_MATCH",
            taker.orderId,
            pm,
            "0.00300000",
            "0.00300000",
            resting.orderId,
            false,
          ],
        ],
      );
      // other ends carry none of these fields
      for (const r of reports) assert.ok(!("v" in r) && !("A" in r) && !("U" in r), JSON.stringify(r));

      // a stop order is not on the book (w false, no working time W) until it triggers; once it has,
      // its reports say since when it works (the trade that triggered it)
      const c = new Spot(creds.users[2].apiKey, creds.users[2].secretKey, { baseURL: creds.baseUrl });
      const stop = (
        await a.newOrder("BTCUSDT", "SELL", "STOP_LOSS_LIMIT", {
          price: "44000",
          stopPrice: "45000",
          quantity: "0.001",
          timeInForce: "GTC",
          newClientOrderId: "ud-stop",
        })
      ).data as { orderId: number };
      await c.newOrder("BTCUSDT", "BUY", "LIMIT", { price: "45000", quantity: "0.001", timeInForce: "GTC" });
      const trigger = (await b.newOrder("BTCUSDT", "SELL", "MARKET", { quantity: "0.001" })).data as {
        transactTime: number;
      };
      await a.cancelOrder("BTCUSDT", { orderId: stop.orderId });
      await new Promise((r) => setTimeout(r, 300));
      const stop_reports = received.filter((m) => m.e === "executionReport" && m.c === "ud-stop");
      assert.deepEqual(
        stop_reports.map((r) => [r.x, r.w, r.W]),
        [
          ["NEW", false, undefined],
          ["CANCELED", false, trigger.transactTime],
        ],
      );

      assert.deepEqual((await a.renewListenKey(key)).data, {});
      assert.deepEqual((await a.closeListenKey(key)).data, {});
      await assert.rejects(a.renewListenKey(key), (e: { response: { data: Msg } }) => {
        assert.deepEqual(e.response.data, { code: -1125, msg: "This listenKey does not exist." });
        return true;
      });
      ws.close();
      bws.close();
    } finally {
      await handle.remove();
    }
  });

  it("a listen key that expires tells its streams (listenKeyExpired) and sends no more, and tells a client reconnecting with it; one closed sends no more; LIST_SUBSCRIPTIONS names it", async () => {
    const handle = await demo_node("hf-user-expiry-", { listen_key_ttl_ms: 1500 });
    try {
      const creds = JSON.parse(
        readFileSync(handle.running.credentials_file as string, "utf8"),
      ) as DemoCredentials;
      const [alice, bob] = creds.users;
      const a = new Spot(alice.apiKey, alice.secretKey, { baseURL: creds.baseUrl });
      const b = new Spot(bob.apiKey, bob.secretKey, { baseURL: creds.baseUrl });
      const open = (path: string, into: Msg[]) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${creds.wsUrl}${path}`);
          ws.on("message", (d) => into.push(JSON.parse(d.toString()) as Msg));
          ws.on("open", () => resolve(ws));
          ws.on("error", reject);
        });
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const order = (s: Spot, id: string) =>
        s.newOrder("BTCUSDT", "BUY", "LIMIT", {
          price: "40000",
          quantity: "0.001",
          timeInForce: "GTC",
          newClientOrderId: id,
        });

      // alice: a raw stream and a combined one on her key, left to expire
      const key = ((await a.createListenKey()).data as { listenKey: string }).listenKey;
      const raw: Msg[] = [];
      const combined: Msg[] = [];
      const ws = await open(`/ws/${key}`, raw);
      const cws = await open(`/stream?streams=${key}`, combined);
      cws.send(JSON.stringify({ method: "LIST_SUBSCRIPTIONS", id: 1 }));
      await order(a, "before-expiry");
      await sleep(300);
      assert.ok(raw.some((m) => m.e === "executionReport" && m.c === "before-expiry"));
      assert.deepEqual(
        combined.find((m) => m.id === 1),
        { result: [key], id: 1 },
        "the stream goes by its listen key",
      );
      const wrapped = combined.find((m) => (m.data as Msg | undefined)?.e === "executionReport");
      assert.equal(wrapped?.stream, key);

      await sleep(2500); // past the key's 1.5 s without a keepalive
      const expired = raw.find((m) => m.e === "listenKeyExpired");
      assert.deepEqual({ ...expired, E: 0 }, { e: "listenKeyExpired", E: 0, listenKey: key });
      assert.deepEqual(
        {
          ...(combined.find((m) => m.stream === key && (m.data as Msg).e === "listenKeyExpired")
            ?.data as Msg),
          E: 0,
        },
        {
          e: "listenKeyExpired",
          E: 0,
          listenKey: key,
        },
      );
      const seen = raw.length;
      await order(a, "after-expiry");
      await sleep(300);
      assert.equal(raw.length, seen, "no more events after listenKeyExpired");
      // a client reconnecting with the ended key is told at once (it makes a new one), raw and combined;
      // a key this exchange never made gets nothing
      const again: Msg[] = [];
      const again_combined: Msg[] = [];
      const forged: Msg[] = [];
      const late = await open(`/ws/${key}`, again);
      const late_combined = await open(`/stream?streams=${key}`, again_combined);
      const fake = await open(`/ws/${key.slice(0, 59)}${key.endsWith("0") ? "1" : "0"}`, forged);
      await sleep(300);
      assert.deepEqual(
        again.map((m) => ({ ...m, E: 0 })),
        [{ e: "listenKeyExpired", E: 0, listenKey: key }],
      );
      assert.deepEqual(
        again_combined.map((m) => ({ stream: m.stream, e: (m.data as Msg).e })),
        [{ stream: key, e: "listenKeyExpired" }],
      );
      assert.deepEqual(forged, []);
      for (const s of [late, late_combined, fake]) s.close();

      // bob: closes his key; no listenKeyExpired, and no more events
      const bob_key = ((await b.createListenKey()).data as { listenKey: string }).listenKey;
      const bob_raw: Msg[] = [];
      const bws = await open(`/ws/${bob_key}`, bob_raw);
      await b.closeListenKey(bob_key);
      await order(b, "after-close");
      await sleep(300);
      assert.deepEqual(bob_raw, [], "nothing after the key was closed");
      for (const s of [ws, cws, bws]) s.close();
    } finally {
      await handle.remove();
    }
  });
});
