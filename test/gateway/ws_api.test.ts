/** The WebSocket API's own protocol: ids, status, errors in Binance's shape, signatures over sorted params. */
import assert from "node:assert/strict";
import { createHmac, createPrivateKey, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { admin_request } from "../../src/admin/client.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { demo_node } from "../helpers/nodes.js";

type Msg = Record<string, unknown>;

/** A demo node and one WebSocket API connection to it. */
async function connected(prefix: string) {
  const handle = await demo_node(prefix);
  const creds = JSON.parse(
    readFileSync(handle.running.credentials_file as string, "utf8"),
  ) as DemoCredentials;
  const ws = new WebSocket(`${creds.wsUrl}/ws-api/v3`);
  await new Promise((r, j) => ws.on("open", r).on("error", j));
  return { handle, creds, ws };
}

describe("WebSocket API (/ws-api/v3)", () => {
  it("answers by id; signed methods check the signature over sorted params; errors are {code,msg}", async () => {
    const { handle, creds, ws } = await connected("hf-wsapi-raw-");
    try {
      const answers = new Map<unknown, Msg>();
      const waiting = new Map<unknown, (m: Msg) => void>();
      ws.on("message", (d) => {
        const m = JSON.parse(d.toString()) as Msg;
        answers.set(m.id, m);
        waiting.get(m.id)?.(m);
      });
      const call = (id: string, method: string, params: Record<string, unknown> = {}) =>
        new Promise<Msg>((resolve) => {
          waiting.set(id, resolve);
          ws.send(JSON.stringify({ id, method, params }));
        });
      const signed = (params: Record<string, string>, secret = creds.users[0].secretKey) => {
        const all = { ...params, apiKey: creds.users[0].apiKey, timestamp: String(Date.now()) };
        const text = Object.keys(all)
          .sort()
          .map((k) => `${k}=${encodeURIComponent(all[k as keyof typeof all])}`)
          .join("&");
        return { ...all, signature: createHmac("sha256", secret).update(text).digest("hex") };
      };

      assert.deepEqual((await call("p", "ping")).result, {});
      assert.equal((await call("p", "ping")).status, 200);
      // the rolling-window ticker, as over REST (windowSize, type, symbols as a JSON array)
      const rolling = await call("t", "ticker", {
        symbols: ["BTCUSDT", "ETHUSDT"],
        windowSize: "7d",
        type: "MINI",
      });
      assert.equal(rolling.status, 200, JSON.stringify(rolling));
      assert.deepEqual(
        (rolling.result as Msg[]).map((t) => [t.symbol, typeof t.count, t.priceChange]),
        [
          ["BTCUSDT", "number", undefined],
          ["ETHUSDT", "number", undefined],
        ],
      );
      assert.equal(
        ((await call("t2", "ticker", { symbol: "BTCUSDT", windowSize: "8d" })).error as Msg).code,
        -1100,
      );
      // the trading-day ticker, and klines in a time zone
      const day = await call("d", "ticker.tradingDay", { symbol: "BTCUSDT", timeZone: "+08:00" });
      assert.equal(day.status, 200, JSON.stringify(day));
      const open_ms = (day.result as Msg).openTime as number;
      assert.equal((open_ms + 8 * 3_600_000) % 86_400_000, 0);
      assert.equal((day.result as Msg).closeTime, open_ms + 86_400_000 - 1);
      assert.equal(
        ((await call("d2", "klines", { symbol: "BTCUSDT", interval: "1d", timeZone: "+15:00" })).error as Msg)
          .code,
        -1100,
      );
      const unknown = await call("u", "order.teleport");
      assert.equal(unknown.status, 400);
      assert.equal((unknown.error as Msg).code, -1100);
      const order = {
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "0.001",
        price: "10000",
      };
      const seq = handle.running.node.last_applied_seq;
      const forged = await call("f", "order.place", signed(order, "not-the-secret"));
      assert.deepEqual(forged.error, { code: -1022, msg: "Signature for this request is not valid." });
      const bad_qty = await call("q", "order.place", signed({ ...order, quantity: "0.000000001" }));
      assert.equal((bad_qty.error as Msg).code, -1111);
      assert.equal(handle.running.node.last_applied_seq, seq, "nothing journaled");
      const placed = await call("o", "order.place", signed({ ...order, newClientOrderId: "ws-1" }));
      assert.equal(placed.status, 200, JSON.stringify(placed));
      assert.equal((placed.result as Msg).clientOrderId, "ws-1");
      // Binance's rateLimits: the weight used this minute and, for an order, the order counts
      const limits = placed.rateLimits as Msg[];
      assert.deepEqual(
        limits.map((l) => [l.rateLimitType, l.interval, l.intervalNum]),
        [
          ["REQUEST_WEIGHT", "MINUTE", 1],
          ["ORDERS", "SECOND", 10],
          ["ORDERS", "DAY", 1],
        ],
      );
      assert.ok((limits[0].count as number) >= 4, JSON.stringify(limits)); // this and the calls before
      // orders are counted once authenticated: the one refused for its precision above, and this one
      assert.equal(limits[1].count, 2, JSON.stringify(limits));
      assert.equal(limits[2].count, 2, JSON.stringify(limits));
      for (const l of limits) assert.ok((l.limit as number) >= (l.count as number));
      const status = await call(
        "s",
        "order.status",
        signed({ symbol: "BTCUSDT", origClientOrderId: "ws-1" }),
      );
      assert.equal((status.result as Msg).status, "NEW");
      const quiet = await call("r", "account.status", signed({ returnRateLimits: "false" }));
      assert.equal(quiet.status, 200, JSON.stringify(quiet));
      assert.equal(quiet.rateLimits, undefined);

      // session.logon with an Ed25519 key: later requests carry no apiKey or signature
      const ed = creds.users[1].ed25519;
      const logon_params = { apiKey: ed.apiKey, timestamp: String(Date.now()) };
      const logon_text = `apiKey=${logon_params.apiKey}&timestamp=${logon_params.timestamp}`;
      const ed_sig = sign(null, Buffer.from(logon_text), createPrivateKey(ed.privateKeyPem)).toString(
        "base64",
      );
      const hmac_logon = await call("h", "session.logon", signed({}));
      assert.deepEqual(hmac_logon.error, { code: -4056, msg: "HMAC_SHA256 API key is not supported." });
      const logon = await call("l", "session.logon", { ...logon_params, signature: ed_sig });
      assert.equal(logon.status, 200, JSON.stringify(logon));
      assert.equal((logon.result as Msg).apiKey, ed.apiKey);
      const by_session = await call("b", "order.place", {
        ...order,
        newClientOrderId: "ws-s",
        timestamp: Date.now(),
      });
      assert.equal(by_session.status, 200, JSON.stringify(by_session));
      // a burst: answers that become ready together leave in one write (the socket is corked for
      // the turn); each must still arrive whole, once, under its own id
      const burst = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          call(`burst-${i}`, "order.place", {
            ...order,
            newClientOrderId: `ws-b${i}`,
            timestamp: Date.now(),
          }),
        ),
      );
      burst.forEach((m, i) => {
        assert.equal(m.status, 200, JSON.stringify(m));
        assert.equal((m.result as Msg).clientOrderId, `ws-b${i}`);
      });
      assert.equal([...answers.keys()].filter((k) => String(k).startsWith("burst-")).length, 100);
      // a pegged order: its price from the book (the best bid, where the burst rests)
      const { price: _price, ...unpriced } = order;
      const pegged = await call("peg", "order.place", {
        ...unpriced,
        pegPriceType: "PRIMARY_PEG",
        newOrderRespType: "RESULT",
        timestamp: Date.now(),
      });
      assert.deepEqual(
        [
          (pegged.result as Msg).price,
          (pegged.result as Msg).pegPriceType,
          (pegged.result as Msg).peggedPrice,
        ],
        ["0.00000000", "PRIMARY_PEG", "10000.00000000"],
        JSON.stringify(pegged),
      );
      // a trade; then the public history pages (made into JSON on the history's reader thread and put
      // into the answer as text) equal REST's, inside a whole answer with its id and rateLimits
      const sold = await call("sell", "order.place", {
        ...order,
        side: "SELL",
        newClientOrderId: "ws-sell",
        timestamp: Date.now(),
      });
      assert.equal((sold.result as Msg).status, "FILLED", JSON.stringify(sold));
      const recent = await call("tr", "trades.recent", { symbol: "BTCUSDT", limit: 5 });
      const traded_ms = ((recent.result as Msg[]).at(-1) as Msg).time as number;
      const pages: [string, string, Record<string, string | number>][] = [
        ["trades.recent", "trades", { symbol: "BTCUSDT", limit: 5 }],
        ["trades.aggregate", "aggTrades", { symbol: "BTCUSDT", limit: 5 }],
        ["klines", "klines", { symbol: "BTCUSDT", interval: "1h", endTime: traded_ms, limit: 2 }],
      ];
      for (const [method, path, params] of pages) {
        const answer = await call(`page-${method}`, method, params);
        assert.equal(answer.id, `page-${method}`);
        assert.equal(answer.status, 200, JSON.stringify(answer));
        assert.ok(Array.isArray(answer.rateLimits), JSON.stringify(answer));
        const query = new URLSearchParams(
          Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
        );
        const rest = await fetch(`${creds.baseUrl}/api/v3/${path}?${query}`);
        assert.equal(rest.headers.get("content-type"), "application/json; charset=utf-8");
        const page = (await rest.json()) as unknown[];
        assert.ok(page.length > 0, `${path}: ${JSON.stringify(page)}`);
        assert.deepEqual(answer.result, page, method);
      }
      // the account's pages too (allOrders, myTrades, myPreventedMatches: also made on the reader thread), the session's
      // (bob's) against REST signed with bob's HMAC key
      const bob = creds.users[1];
      // and a self-trade the session's own order was kept from (myPreventedMatches)
      const rests = await call("pm-rest", "order.place", {
        ...order,
        side: "SELL",
        price: "11000",
        timestamp: Date.now(),
      });
      // (within 1.15 × the last price, 10,000: the demo market's price range)
      const kept = await call("pm-take", "order.place", {
        ...order,
        price: "11000",
        selfTradePreventionMode: "EXPIRE_TAKER",
        timestamp: Date.now(),
      });
      assert.equal((kept.result as Msg).status, "EXPIRED_IN_MATCH", JSON.stringify(kept));
      // an amend (keep priority) of the resting one, and its amendments (REST's equal, below)
      const amend = await call("amend", "order.amend.keepPriority", {
        symbol: "BTCUSDT",
        orderId: (rests.result as Msg).orderId as number,
        newQty: "0.0005",
        timestamp: Date.now(),
      });
      assert.equal(amend.status, 200, JSON.stringify(amend));
      assert.equal(((amend.result as Msg).amendedOrder as Msg).qty, "0.00050000");
      for (const [method, path, extra] of [
        ["allOrders", "allOrders", {}],
        ["myTrades", "myTrades", {}],
        ["myPreventedMatches", "myPreventedMatches", { orderId: String((rests.result as Msg).orderId) }],
        ["order.amendments", "order/amendments", { orderId: String((rests.result as Msg).orderId) }],
      ] as const) {
        const answer = await call(`mine-${method}`, method, {
          symbol: "BTCUSDT",
          ...extra,
          timestamp: Date.now(),
        });
        assert.equal(answer.status, 200, JSON.stringify(answer));
        const text = new URLSearchParams({
          symbol: "BTCUSDT",
          ...extra,
          timestamp: String(Date.now()),
        }).toString();
        const sig = createHmac("sha256", bob.secretKey).update(text).digest("hex");
        const rest = await fetch(`${creds.baseUrl}/api/v3/${path}?${text}&signature=${sig}`, {
          headers: { "X-MBX-APIKEY": bob.apiKey },
        });
        assert.equal(rest.headers.get("content-type"), "application/json; charset=utf-8");
        const page = (await rest.json()) as Msg[];
        assert.ok(page.length > 0, `${path}: ${JSON.stringify(page)}`);
        assert.deepEqual(answer.result, page, method);
      }
      // the filters the session's account meets on a market (myFilters), as REST has them
      const filters = await call("filters", "myFilters", { symbol: "ETHUSDT", timestamp: Date.now() });
      assert.equal(filters.status, 200, JSON.stringify(filters));
      const ftext = new URLSearchParams({ symbol: "ETHUSDT", timestamp: String(Date.now()) }).toString();
      const fsig = createHmac("sha256", bob.secretKey).update(ftext).digest("hex");
      const frest = await fetch(`${creds.baseUrl}/api/v3/myFilters?${ftext}&signature=${fsig}`, {
        headers: { "X-MBX-APIKEY": bob.apiKey },
      });
      assert.deepEqual(filters.result, await frest.json());
      // an OCO on the session: placed, shown pending, cancelled whole, in the history (orderList.*)
      const oco = await call("oco", "orderList.place.oco", {
        symbol: "BTCUSDT",
        side: "SELL",
        quantity: "0.001",
        aboveType: "LIMIT_MAKER",
        // within PERCENT_PRICE_BY_SIDE (at most 5 × the last price, 10,000)
        abovePrice: "40000",
        belowType: "STOP_LOSS",
        belowStopPrice: "100",
        listClientOrderId: "ws-oco",
        newOrderRespType: "ACK",
        timestamp: Date.now(),
      });
      assert.equal(oco.status, 200, JSON.stringify(oco));
      const list_id = (oco.result as Msg).orderListId as number;
      assert.deepEqual(
        [(oco.result as Msg).listOrderStatus, ((oco.result as Msg).orders as Msg[]).length],
        ["EXECUTING", 2],
      );
      const open_lists = await call("oco-open", "openOrderLists.status", { timestamp: Date.now() });
      assert.deepEqual(
        (open_lists.result as Msg[]).map((l) => [l.orderListId, l.listClientOrderId]),
        [[list_id, "ws-oco"]],
      );
      const gone = await call("oco-cancel", "orderList.cancel", {
        symbol: "BTCUSDT",
        orderListId: list_id,
        timestamp: Date.now(),
      });
      assert.equal(gone.status, 200, JSON.stringify(gone));
      assert.deepEqual(
        ((gone.result as Msg).orderReports as Msg[]).map((r) => [r.orderListId, r.status]),
        [
          [list_id, "CANCELED"],
          [list_id, "CANCELED"],
        ],
      );
      const list_status = await call("oco-status", "orderList.status", {
        orderListId: list_id,
        timestamp: Date.now(),
      });
      assert.equal((list_status.result as Msg).listOrderStatus, "ALL_DONE", JSON.stringify(list_status));
      const all_lists = await call("oco-all", "allOrderLists", { timestamp: Date.now() });
      assert.deepEqual(
        (all_lists.result as Msg[]).map((l) => [l.orderListId, l.listOrderStatus]),
        [[list_id, "ALL_DONE"]],
      );
      // an OTOCO and an OTO on the session: their pending orders PENDING_NEW; cancelled whole
      const otoco = await call("otoco", "orderList.place.otoco", {
        symbol: "BTCUSDT",
        workingType: "LIMIT",
        workingSide: "BUY",
        workingPrice: "10000",
        workingQuantity: "0.001",
        workingTimeInForce: "GTC",
        pendingSide: "SELL",
        pendingQuantity: "0.001",
        pendingAboveType: "LIMIT_MAKER",
        pendingAbovePrice: "40000",
        pendingBelowType: "STOP_LOSS",
        pendingBelowStopPrice: "100",
        newOrderRespType: "RESULT",
        timestamp: Date.now(),
      });
      assert.equal(otoco.status, 200, JSON.stringify(otoco));
      assert.deepEqual(
        [
          (otoco.result as Msg).contingencyType,
          ((otoco.result as Msg).orderReports as Msg[]).map((r) => r.status),
        ],
        ["OTO", ["NEW", "PENDING_NEW", "PENDING_NEW"]],
      );
      const oto = await call("oto", "orderList.place.oto", {
        symbol: "BTCUSDT",
        workingType: "LIMIT_MAKER",
        workingSide: "BUY",
        workingPrice: "10000",
        workingQuantity: "0.001",
        pendingType: "STOP_LOSS_LIMIT",
        pendingSide: "SELL",
        pendingStopPrice: "9000",
        pendingPrice: "8000",
        pendingTimeInForce: "GTC",
        pendingQuantity: "0.001",
        timestamp: Date.now(),
      });
      assert.equal(oto.status, 200, JSON.stringify(oto));
      for (const [i, placed] of [otoco, oto].entries()) {
        const cancelled = await call(`oto-cancel-${i}`, "orderList.cancel", {
          symbol: "BTCUSDT",
          orderListId: (placed.result as Msg).orderListId as number,
          timestamp: Date.now(),
        });
        assert.deepEqual(
          ((cancelled.result as Msg).orderReports as Msg[]).map((r) => r.status),
          i === 0 ? ["CANCELED", "CANCELED", "CANCELED"] : ["CANCELED", "CANCELED"],
          JSON.stringify(cancelled),
        );
      }
      // the deprecated orderList.place (POST order/oco's parameters): a BUY's stop above the last price
      // (10,000), its limit maker below
      const old_oco = await call("old-oco", "orderList.place", {
        symbol: "BTCUSDT",
        side: "BUY",
        quantity: "0.001",
        price: "9000",
        stopPrice: "40000",
        stopLimitPrice: "41000",
        stopLimitTimeInForce: "GTC",
        timestamp: Date.now(),
      });
      assert.equal(old_oco.status, 200, JSON.stringify(old_oco));
      assert.deepEqual(
        ((old_oco.result as Msg).orderReports as Msg[]).map((r) => [r.type, r.side, r.status]),
        [
          ["STOP_LOSS_LIMIT", "BUY", "NEW"],
          ["LIMIT_MAKER", "BUY", "NEW"],
        ],
      );
      const old_cancelled = await call("old-oco-cancel", "orderList.cancel", {
        symbol: "BTCUSDT",
        orderListId: (old_oco.result as Msg).orderListId as number,
        timestamp: Date.now(),
      });
      assert.equal((old_cancelled.result as Msg).listOrderStatus, "ALL_DONE", JSON.stringify(old_cancelled));
      const bob_uid = ((await call("a", "account.status", { timestamp: Date.now() })).result as Msg).uid;
      assert.notEqual(
        bob_uid,
        ((await call("a2", "account.status", signed({}))).result as Msg).uid,
        "the session acts as bob",
      );
      const stale = await call("t", "order.status", {
        symbol: "BTCUSDT",
        origClientOrderId: "ws-s",
        timestamp: Date.now() - 60_000,
      });
      assert.equal((stale.error as Msg).code, -1021);
      // user data subscriptions: the logon's (bob's) and one by signature (alice's), numbered from 0 on
      // this connection; one per account; logout ends only the logon's (Binance's rules)
      const by_logon = await call("s1", "userDataStream.subscribe");
      assert.deepEqual(by_logon.result, { subscriptionId: 0 });
      assert.deepEqual((await call("s2", "userDataStream.subscribe")).error, {
        code: -2035,
        msg: "User Data Stream subscription already active.",
      });
      const alice_params = signed({});
      const by_signature = await call("s3", "userDataStream.subscribe.signature", alice_params);
      assert.deepEqual(by_signature.result, { subscriptionId: 1 });
      assert.deepEqual((await call("s4", "session.subscriptions")).result, [
        { subscriptionId: 0 },
        { subscriptionId: 1 },
      ]);
      const out = await call("x", "session.logout");
      assert.deepEqual([(out.result as Msg).apiKey, (out.result as Msg).userDataStream], [null, true]);
      assert.deepEqual((await call("s5", "session.subscriptions")).result, [{ subscriptionId: 1 }]);
      assert.equal(
        ((await call("s6", "userDataStream.unsubscribe", { subscriptionId: 0 })).error as Msg).code,
        -2036,
      );
      assert.deepEqual((await call("s7", "userDataStream.unsubscribe", { subscriptionId: 1 })).result, {});
      const none = await call("s8", "session.status");
      assert.equal((none.result as Msg).userDataStream, false);
      const after = await call("z", "account.status", { timestamp: Date.now() });
      assert.equal(after.status, 401);
      ws.close();
    } finally {
      await handle.remove();
    }
  });

  it("a client that does not read its answers is dropped, not buffered without bound", async () => {
    const { handle, creds, ws } = await connected("hf-wsapi-slow-");
    try {
      let answers = 0;
      ws.on("message", () => answers++);
      const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
      // stop reading, then ask for ~4,300 bytes 4,000 times: more than the kernel's socket buffers
      // and the server's 4 MB limit hold
      (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const request = JSON.stringify({ id: 1, method: "exchangeInfo", params: {} });
      for (let i = 0; i < 4000; i++) ws.send(request);
      await new Promise((r) => setTimeout(r, 3000));
      (ws as unknown as { _socket: { resume(): void } })._socket.resume();
      const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
      assert.equal(code, 1006, "terminated by the server, without a close frame");
      assert.ok(answers < 4000, `${answers} answers`);
      // the node is fine
      assert.equal((await fetch(`${creds.baseUrl}/api/v3/ping`)).status, 200);
    } finally {
      await handle.remove();
    }
  });

  it("a revoked API key's user data subscription ends with eventStreamTerminated, and nothing more follows", async () => {
    const { handle, creds, ws } = await connected("hf-wsapi-revoke-");
    try {
      const messages: Msg[] = [];
      ws.on("message", (d) => messages.push(JSON.parse(d.toString()) as Msg));
      const alice = creds.users[0];
      const account = handle.running.node.engine.api_keys.by_key.get(alice.apiKey)?.account as number;
      // a second key of alice's, to subscribe with and then revoke
      const made = await admin_request(handle.running.admin_socket, "POST", "/v1/api-keys", {
        account,
        kind: "HMAC",
      });
      const key = made.body as { apiKey: string; secretKey: string };
      const all = { apiKey: key.apiKey, timestamp: String(Date.now()) };
      const text = `apiKey=${all.apiKey}&timestamp=${all.timestamp}`;
      const signature = createHmac("sha256", key.secretKey).update(text).digest("hex");
      ws.send(
        JSON.stringify({
          id: "s",
          method: "userDataStream.subscribe.signature",
          params: { ...all, signature },
        }),
      );
      const until = async (what: string, f: () => boolean) => {
        for (let i = 0; i < 100 && !f(); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(f(), what);
      };
      await until("subscribed", () => messages.some((m) => m.id === "s"));
      const sid = ((messages.find((m) => m.id === "s") as Msg).result as { subscriptionId: number })
        .subscriptionId;
      const deposit = () =>
        admin_request(handle.running.admin_socket, "POST", "/v1/deposit", {
          account,
          asset: "USDT",
          amount: "1",
        });
      await deposit();
      await until("the deposit's balanceUpdate", () =>
        messages.some((m) => m.subscriptionId === sid && (m.event as Msg).e === "balanceUpdate"),
      );

      const revoked = await admin_request(
        handle.running.admin_socket,
        "DELETE",
        `/v1/api-keys/${key.apiKey}?account=${account}`,
      );
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      await until("eventStreamTerminated", () =>
        messages.some((m) => m.subscriptionId === sid && (m.event as Msg).e === "eventStreamTerminated"),
      );
      const seen = messages.length;
      await deposit();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(messages.length, seen, "no events after the key was revoked");
    } finally {
      ws.close();
      await handle.remove();
    }
  });
});
