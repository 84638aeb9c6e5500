/**
 * Signed trading over real HTTP against a real node: users and keys made through the admin socket,
 * requests signed the way @binance/connector (everything in the query string, empty JSON body) and
 * ccxt (form body) sign them; HMAC and Ed25519 keys; Binance's errors for every refusal, and nothing
 * journaled for a refusal that needs no state.
 */
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import WebSocket from "ws";
import { admin_request } from "../../src/admin/client.js";
import { DEMO_SETUP } from "../../src/demo/markets.js";
import type { Command } from "../../src/engine/commands.js";
import { type RunningNode, type StartOptions, start_node } from "../../src/server/start.js";
import { demo_node, demo_options } from "../helpers/nodes.js";

interface Key {
  apiKey: string;
  secretKey?: string;
  privateKey?: import("node:crypto").KeyObject;
}
type Body = Record<string, unknown> & { code?: number; msg?: string };
type HmacKey = { apiKey: string; secretKey: string };

/** A node of its own in a directory of its own (demo markets and users, no market maker): restartable. */
function own_node(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, opts: demo_options(dir) };
}

/**
 * `check()`s the node, restarts it and checks again, then loses its history file and checks the one
 * rebuilt from the journal; `started` hears of each new node before its check.
 */
async function across_restarts(
  node: RunningNode,
  opts: StartOptions,
  started: (node: RunningNode) => void,
  check: () => Promise<void>,
): Promise<void> {
  await check();
  await node.close();
  let next = await start_node(opts);
  started(next);
  await check();
  await next.close();
  for (const file of ["history.sqlite", "history.sqlite-wal", "history.sqlite-shm"])
    rmSync(join(opts.data_dir, file), { force: true });
  next = await start_node(opts);
  started(next);
  await check();
}

/**
 * The account's user data stream (a listen key's WebSocket); the returned function waits a moment,
 * closes it and gives the executionReports seen as [x, i, j, J] (with `fields`, those fields instead).
 */
async function listen(
  port: number,
  key: HmacKey,
  fields: string[] = ["x", "i", "j", "J"],
  /** Other events to keep, as [e, ...their own fields]. */
  others: Record<string, string[]> = {},
): Promise<() => Promise<unknown[][]>> {
  const into: Body[] = [];
  const listen_key = (
    (await (
      await fetch(`http://127.0.0.1:${port}/api/v3/userDataStream`, {
        method: "POST",
        headers: { "X-MBX-APIKEY": key.apiKey },
      })
    ).json()) as { listenKey: string }
  ).listenKey;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${listen_key}`);
  ws.on("message", (d) => into.push(JSON.parse(d.toString()) as Body));
  await new Promise((resolve, reject) => {
    ws.on("open", resolve);
    ws.on("error", reject);
  });
  return async () => {
    await new Promise((r) => setTimeout(r, 200));
    ws.close();
    return into
      .filter((r) => r.e === "executionReport" || (r.e as string) in others)
      .map((r) =>
        r.e === "executionReport"
          ? fields.map((f) => r[f])
          : [r.e, ...others[r.e as string].map((f) => r[f])],
      );
  };
}

/** A REST call signed with an HMAC key, every parameter in the query string. */
async function hmac_call(
  port: number,
  method: string,
  path: string,
  key: HmacKey,
  params: Record<string, string>,
): Promise<{ status: number; body: Body & Body[] }> {
  const text = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
  const sig = createHmac("sha256", key.secretKey).update(text).digest("hex");
  const r = await fetch(`http://127.0.0.1:${port}${path}?${text}&signature=${sig}`, {
    method,
    headers: { "X-MBX-APIKEY": key.apiKey },
  });
  return { status: r.status, body: (await r.json()) as Body & Body[] };
}

/**
 * Runs `body` against a node of its own (own_node: demo markets and users, no market maker): its demo
 * users' HMAC keys, calls signed with them on ETHUSDT, and `restarts(check)` (across_restarts, after
 * which `running` is the new node). The node is closed and its directory removed afterwards.
 */
async function on_own_node(
  prefix: string,
  body: (node: {
    readonly running: RunningNode;
    users: HmacKey[];
    call: (
      method: string,
      path: string,
      key: HmacKey,
      params: Record<string, string>,
    ) => ReturnType<typeof hmac_call>;
    restarts: (check: () => Promise<void>) => Promise<void>;
  }) => Promise<void>,
): Promise<void> {
  const { dir, opts } = own_node(prefix);
  let running = await start_node(opts);
  try {
    const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
      users: HmacKey[];
    };
    await body({
      get running() {
        return running;
      },
      users: creds.users,
      call: (method, path, key, params) =>
        hmac_call(running.port, method, path, key, { symbol: "ETHUSDT", ...params }),
      restarts: (check) =>
        across_restarts(
          running,
          opts,
          (r) => {
            running = r;
          },
          check,
        ),
    });
  } finally {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * ETHUSDT's exchangeInfo entry, after bob sold alice 0.01 at 2000 (a last price of 2000: the order
 * list tests' prices are about it).
 */
async function traded_at_2000(node: Parameters<Parameters<typeof on_own_node>[1]>[0]): Promise<Body> {
  const [alice, bob] = node.users;
  const url = `http://127.0.0.1:${node.running.port}/api/v3/exchangeInfo?symbol=ETHUSDT`;
  const info = ((await (await fetch(url)).json()) as { symbols: Body[] }).symbols[0];
  await node.call("POST", "/api/v3/order", bob, {
    side: "SELL",
    type: "LIMIT",
    timeInForce: "GTC",
    price: "2000",
    quantity: "0.01",
  });
  await node.call("POST", "/api/v3/order", alice, { side: "BUY", type: "MARKET", quantity: "0.01" });
  return info;
}

describe("signed trading REST", () => {
  let node_handle: Awaited<ReturnType<typeof demo_node>>;
  let running: RunningNode;
  let base = "";
  let alice: Key & { account: number };
  let bob: Key & { account: number };

  const signature = (key: Key, text: string): string =>
    key.secretKey !== undefined
      ? createHmac("sha256", key.secretKey).update(text).digest("hex")
      : sign(null, Buffer.from(text), key.privateKey as import("node:crypto").KeyObject).toString("base64");

  /** style "query": all parameters in the query string (connector); "form": in the body (ccxt). */
  const call = async (
    method: string,
    path: string,
    key: Key | null,
    params: Record<string, string>,
    style: "query" | "form" = "query",
    tamper?: (text: string) => string,
  ): Promise<{ status: number; body: Body & Body[] }> => {
    const text = new URLSearchParams({
      ...params,
      timestamp: params.timestamp ?? String(Date.now()),
    }).toString();
    const signed = key === null ? text : `${text}&signature=${encodeURIComponent(signature(key, text))}`;
    const sent = tamper ? tamper(signed) : signed;
    const headers: Record<string, string> = key === null ? {} : { "X-MBX-APIKEY": key.apiKey };
    let url = `${base}${path}`;
    let body: string | undefined;
    if (style === "query") {
      url += `?${sent}`;
      if (method !== "GET") {
        headers["content-type"] = "application/json";
        body = "{}";
      }
    } else {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = sent;
    }
    const r = await fetch(url, { method, headers, body });
    return { status: r.status, body: (await r.json()) as Body & Body[] };
  };
  const admin = (path: string, body: unknown) => admin_request(running.admin_socket, "POST", path, body);

  before(async () => {
    node_handle = await demo_node("hf-trade-");
    running = node_handle.running;
    base = `http://127.0.0.1:${running.port}`;
    alice = (await admin("/v1/users", { request_id: "signup-alice" })).body as typeof alice;
    bob = (await admin("/v1/users", {})).body as typeof bob;
    assert.equal(bob.account, alice.account + 1);
    // a retried sign-up does not create a second account
    assert.equal(
      ((await admin("/v1/users", { request_id: "signup-alice" })).body as typeof alice).account,
      alice.account,
    );
    const deposited = await admin("/v1/deposit", { account: alice.account, asset: "USDT", amount: "100000" });
    assert.deepEqual(deposited.body, { seq: running.node.last_applied_seq, applied: true });
    await admin("/v1/deposit", { account: bob.account, asset: "BTC", amount: "1" });
  });
  after(async () => {
    await node_handle.remove();
  });

  it("a resting buy, a market sell that fills it, balances and fees to the unit", async () => {
    const buy = await call("POST", "/api/v3/order", alice, {
      symbol: "BTCUSDT",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.01",
      price: "50000",
      newClientOrderId: "alice-1",
    });
    assert.equal(buy.status, 200, JSON.stringify(buy.body));
    assert.equal(buy.body.status, "NEW");
    assert.equal(buy.body.clientOrderId, "alice-1");
    assert.equal(buy.body.price, "50000.00000000");
    assert.deepEqual(buy.body.fills, []);
    const open = await call("GET", "/api/v3/openOrders", alice, { symbol: "BTCUSDT" });
    assert.equal(open.body.length, 1);
    assert.equal(open.body[0].orderId, buy.body.orderId);
    assert.equal(open.body[0].origQty, "0.01000000");

    const sell = await call(
      "POST",
      "/api/v3/order",
      bob,
      { symbol: "BTCUSDT", side: "SELL", type: "MARKET", quantity: "0.004" },
      "form",
    );
    assert.equal(sell.status, 200, JSON.stringify(sell.body));
    assert.equal(sell.body.status, "FILLED");
    assert.equal(sell.body.executedQty, "0.00400000");
    assert.equal(sell.body.cummulativeQuoteQty, "200.00000000");
    // taker fee 0.1% of 200 USDT, in the asset received
    assert.deepEqual(sell.body.fills, [
      {
        price: "50000.00000000",
        qty: "0.00400000",
        commission: "0.20000000",
        commissionAsset: "USDT",
        tradeId: 1,
      },
    ]);

    const a = await call("GET", "/api/v3/account", alice, {});
    const bal = (b: Body & Body[], asset: string) =>
      (b.balances as { asset: string; free: string; locked: string }[]).find((x) => x.asset === asset);
    // 100,000 USDT − 500 locked for 0.01 BTC at 50,000; 200 of it spent; maker fee 0.1% of 0.004 BTC
    assert.deepEqual(bal(a.body, "USDT"), { asset: "USDT", free: "99500.00000000", locked: "300.00000000" });
    assert.deepEqual(bal(a.body, "BTC"), { asset: "BTC", free: "0.00399600", locked: "0.00000000" });
    const b = await call("GET", "/api/v3/account", bob, { omitZeroBalances: "true" });
    assert.deepEqual(b.body.balances, [
      { asset: "BTC", free: "0.99600000", locked: "0.00000000" },
      { asset: "USDT", free: "199.80000000", locked: "0.00000000" },
    ]);

    const cancel = await call("DELETE", "/api/v3/order", alice, {
      symbol: "BTCUSDT",
      origClientOrderId: "alice-1",
    });
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    assert.equal(cancel.body.status, "CANCELED");
    assert.equal(cancel.body.executedQty, "0.00400000");
    assert.equal((await call("GET", "/api/v3/openOrders", alice, {})).body.length, 0);
    // updateTime: when the account's balances last changed (bob's at his fill; alice's at the cancel,
    // which released her lock); an order/test changes nothing
    await call("POST", "/api/v3/order/test", alice, {
      symbol: "BTCUSDT",
      side: "SELL",
      type: "MARKET",
      quantity: "0.001",
    });
    assert.equal((await call("GET", "/api/v3/account", alice, {})).body.updateTime, cancel.body.transactTime);
    assert.equal((await call("GET", "/api/v3/account", bob, {})).body.updateTime, sell.body.transactTime);
    assert.ok((sell.body.transactTime as number) > 0);
  });

  it("refusals: Binance codes, and stateless ones never reach the journal", async () => {
    const order = {
      symbol: "BTCUSDT",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.01",
      price: "50000",
    };
    const seq = running.node.last_applied_seq;
    const cases: [string, Promise<{ status: number; body: Body }>, number, number][] = [
      ["no key", call("POST", "/api/v3/order", null, order), 401, -2014],
      [
        "unknown key",
        call("POST", "/api/v3/order", { apiKey: "x".repeat(64), secretKey: "s" }, order),
        401,
        -2015,
      ],
      [
        "bad signature",
        call("POST", "/api/v3/order", alice, order, "query", (t) =>
          t.replace("quantity=0.01", "quantity=0.02"),
        ),
        400,
        -1022,
      ],
      [
        "stale timestamp",
        call("POST", "/api/v3/order", alice, { ...order, timestamp: String(Date.now() - 60_000) }),
        400,
        -1021,
      ],
      [
        "recvWindow past 60000",
        call("POST", "/api/v3/order", alice, { ...order, recvWindow: "60000.001" }),
        400,
        -1131,
      ],
      [
        "recvWindow with four decimals",
        call("POST", "/api/v3/order", alice, { ...order, recvWindow: "5000.0001" }),
        400,
        -1100,
      ],
      [
        "future timestamp",
        call("POST", "/api/v3/order", alice, { ...order, timestamp: String(Date.now() + 5000) }),
        400,
        -1021,
      ],
      [
        "unread parameter",
        call("POST", "/api/v3/order", alice, { ...order, pegged: "PRIMARY_PEG" }),
        400,
        -1104,
      ],
      [
        "a PRIMARY_PEG LIMIT order not GTC",
        call("POST", "/api/v3/order", alice, { ...order, timeInForce: "IOC", pegPriceType: "PRIMARY_PEG" }),
        400,
        -2010,
      ],
      [
        "a peg offset without a pegPriceType",
        call("POST", "/api/v3/order", alice, { ...order, pegOffsetType: "PRICE_LEVEL", pegOffsetValue: "1" }),
        400,
        -1106,
      ],
      [
        "strategyType below 1000000",
        call("POST", "/api/v3/order", alice, { ...order, strategyType: "999999" }),
        400,
        -1134,
      ],
      [
        "strategyType past an INT",
        call("POST", "/api/v3/order", alice, { ...order, strategyType: "2147483648" }),
        400,
        -1100,
      ],
      [
        "strategyId not a number",
        call("POST", "/api/v3/order", alice, { ...order, strategyId: "1e3" }),
        400,
        -1100,
      ],
      [
        "strategyId past 2^53",
        call("POST", "/api/v3/order", alice, { ...order, strategyId: "9007199254740993" }),
        400,
        -1100,
      ],
      [
        "icebergQty not below the quantity",
        call("POST", "/api/v3/order", alice, { ...order, icebergQty: "0.01" }),
        400,
        -2010,
      ],
      [
        "an iceberg in more than ICEBERG_PARTS parts",
        call("POST", "/api/v3/order", alice, { ...order, icebergQty: "0.0009" }),
        400,
        -1013,
      ],
      [
        "trailing delta past the TRAILING_DELTA filter",
        call("POST", "/api/v3/order", alice, {
          symbol: "BTCUSDT",
          side: "SELL",
          type: "STOP_LOSS",
          quantity: "0.01",
          trailingDelta: "2001",
        }),
        400,
        -1013,
      ],
      [
        "trailing delta on a LIMIT order",
        call("POST", "/api/v3/order", alice, { ...order, trailingDelta: "100" }),
        400,
        -1106,
      ],
      [
        "a stop order with neither stopPrice nor trailingDelta",
        call("POST", "/api/v3/order", alice, {
          symbol: "BTCUSDT",
          side: "SELL",
          type: "STOP_LOSS",
          quantity: "0.01",
        }),
        400,
        -1102,
      ],
      [
        "computeCommissionRates not a boolean",
        call("POST", "/api/v3/order/test", alice, { ...order, computeCommissionRates: "yes" }),
        400,
        -1100,
      ],
      [
        "bad precision",
        call("POST", "/api/v3/order", alice, { ...order, quantity: "0.000000001" }),
        400,
        -1111,
      ],
      ["tick filter", call("POST", "/api/v3/order", alice, { ...order, price: "50000.005" }), 400, -1013],
      ["unknown symbol", call("POST", "/api/v3/order", alice, { ...order, symbol: "DOGEUSDT" }), 400, -1121],
      ["missing side", call("POST", "/api/v3/order", alice, { ...order, side: "" }), 400, -1102],
      [
        "bad client id",
        call("POST", "/api/v3/order", alice, { ...order, newClientOrderId: "ü" }),
        400,
        -1100,
      ],
      [
        "no signature",
        call("GET", "/api/v3/account", alice, {}, "query", (t) => t.replace(/&signature=.*/, "")),
        400,
        -1102,
      ],
    ];
    for (const [name, pending, status, code] of cases) {
      const r = await pending;
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, code, `${name}: ${JSON.stringify(r.body)}`);
    }
    assert.equal(running.node.last_applied_seq, seq, "nothing reached the journal");
    // recvWindow in ms with up to three decimals (µs), as Binance takes it
    const aged = (ms: number) => String(Date.now() - ms);
    const within = await call("GET", "/api/v3/account", alice, {
      recvWindow: "6000.346",
      timestamp: aged(5500),
    });
    assert.equal(within.status, 200, JSON.stringify(within.body));
    const outside = await call("GET", "/api/v3/account", alice, {
      recvWindow: "5000.5",
      timestamp: aged(5600),
    });
    assert.equal(outside.body.code, -1021, JSON.stringify(outside.body));
    const micros = await call("GET", "/api/v3/account", alice, {
      recvWindow: "60000",
      timestamp: String((Date.now() - 59_000) * 1000 + 123),
    });
    assert.equal(micros.status, 200, JSON.stringify(micros.body));

    // state-dependent: journaled, REJECTED by the engine, Binance's message
    const poor = await call("POST", "/api/v3/order", bob, { ...order, quantity: "5" });
    assert.deepEqual(poor.body, {
      code: -2010,
      msg: "Account has insufficient balance for requested action.",
    });
    const dup1 = await call("POST", "/api/v3/order", alice, { ...order, newClientOrderId: "dup" });
    assert.equal(dup1.status, 200);
    const dup2 = await call("POST", "/api/v3/order", alice, { ...order, newClientOrderId: "dup" });
    assert.deepEqual(dup2.body, { code: -2010, msg: "Duplicate order sent." });
    // another account's order cannot be cancelled (nor seen)
    const theirs = await call("DELETE", "/api/v3/order", bob, {
      symbol: "BTCUSDT",
      orderId: String(dup1.body.orderId),
    });
    assert.deepEqual(theirs.body, { code: -2011, msg: "Unknown order sent." });
    assert.equal((await call("GET", "/api/v3/openOrders", bob, {})).body.length, 0);
    assert.equal(running.node.last_applied_seq, seq + 4);
  });

  it("cancelRestrictions: ONLY_NEW and ONLY_PARTIALLY_FILLED decide at the order's state; a bad value journals nothing", async () => {
    // bob's bids on ETHBTC, one partly filled by alice (given some ETH to sell), the best of the book
    await admin("/v1/deposit", { account: alice.account, asset: "ETH", amount: "1" });
    const bid = (price: string) =>
      call("POST", "/api/v3/order", bob, {
        symbol: "ETHBTC",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "1",
        price,
      });
    const partly = (await bid("0.09")).body;
    const sold = await call("POST", "/api/v3/order", alice, {
      symbol: "ETHBTC",
      side: "SELL",
      type: "MARKET",
      quantity: "0.4",
    });
    assert.equal(sold.body.status, "FILLED", JSON.stringify(sold.body));
    const fresh = (await bid("0.08")).body;
    const cancel = (o: Body, restriction: string) =>
      call("DELETE", "/api/v3/order", bob, {
        symbol: "ETHBTC",
        orderId: String(o.orderId),
        cancelRestrictions: restriction,
      });
    const seq = running.node.last_applied_seq;
    const bad = await cancel(partly, "ONLY_FILLED");
    assert.deepEqual(
      [bad.status, bad.body],
      [400, { code: -1145, msg: "cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED." }],
    );
    assert.equal(running.node.last_applied_seq, seq, "nothing journaled");
    const restricted = { code: -2011, msg: "Order was not canceled due to cancel restrictions." };
    assert.deepEqual((await cancel(partly, "ONLY_NEW")).body, restricted);
    assert.deepEqual((await cancel(fresh, "ONLY_PARTIALLY_FILLED")).body, restricted);
    // cancel-replace: the cancel fails, so STOP_ON_FAILURE places nothing (400 -2022)
    const replaced = await call("POST", "/api/v3/order/cancelReplace", bob, {
      symbol: "ETHBTC",
      cancelReplaceMode: "STOP_ON_FAILURE",
      cancelOrderId: String(partly.orderId),
      cancelRestrictions: "ONLY_NEW",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.5",
      price: "0.07",
    });
    assert.equal(replaced.status, 400, JSON.stringify(replaced.body));
    const data = replaced.body.data as Body;
    assert.deepEqual(
      [data.cancelResult, data.newOrderResult, data.cancelResponse],
      ["FAILURE", "NOT_ATTEMPTED", restricted],
    );
    const open = (await call("GET", "/api/v3/openOrders", bob, { symbol: "ETHBTC" })).body;
    assert.deepEqual(
      open.map((o) => o.orderId),
      [partly.orderId, fresh.orderId],
    );
    assert.equal((await cancel(partly, "ONLY_PARTIALLY_FILLED")).body.status, "CANCELED");
    assert.equal((await cancel(fresh, "ONLY_NEW")).body.status, "CANCELED");
  });

  it("GET /api/v3/rateLimit/order: the key's order counts, as the order responses' headers have them", async () => {
    const usage = async () => (await call("GET", "/api/v3/rateLimit/order", bob, {})).body;
    const before = await usage();
    assert.deepEqual(
      before.map((w) => [w.rateLimitType, w.interval, w.intervalNum]),
      [
        ["ORDERS", "SECOND", 10],
        ["ORDERS", "DAY", 1],
      ],
    );
    const order = { symbol: "BTCUSDT", side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "0.0005" };
    let last_day = "";
    // (resting bids: below the asks, within PERCENT_PRICE_BY_SIDE of the last price, 50,000)
    for (const price of ["20000", "20001"]) {
      const r = await fetch(`${base}/api/v3/order`, {
        method: "POST",
        headers: { "X-MBX-APIKEY": bob.apiKey, "content-type": "application/x-www-form-urlencoded" },
        body: (() => {
          const text = new URLSearchParams({ ...order, price, timestamp: String(Date.now()) }).toString();
          return `${text}&signature=${signature(bob, text)}`;
        })(),
      });
      assert.equal(r.status, 200, await r.clone().text());
      last_day = r.headers.get("x-mbx-order-count-1d") ?? "";
    }
    const after = await usage();
    assert.equal(after[1].count, (before[1].count as number) + 2, "two orders more today");
    assert.equal(String(after[1].count), last_day, "as the last order's X-MBX-ORDER-COUNT-1D");
    assert.equal(after[1].limit, before[1].limit);
    // weight 40, as Binance's
    const w0 = Number((await fetch(`${base}/api/v3/ping`)).headers.get("x-mbx-used-weight-1m"));
    await usage();
    const w1 = Number((await fetch(`${base}/api/v3/ping`)).headers.get("x-mbx-used-weight-1m"));
    assert.equal(w1 - w0, 41);
  });

  it("each market's fees: GET /api/v3/account/commission and /sapi/v1/asset/tradeFee", async () => {
    // a market with fees of its own (the demo's are all 0.1%)
    const added = await running.node.submit({
      ...DEMO_SETUP.find((c) => c.type === "add_market" && c.symbol === "ETHBTC"),
      symbol: "BTCETH",
      base: "BTC",
      quote: "ETH",
      maker_fee_ppm: 200,
      taker_fee_ppm: 750,
    } as Command);
    assert.equal(added.events[0]?.kind, "market_added", JSON.stringify(added.events));
    const c = await call("GET", "/api/v3/account/commission", alice, { symbol: "BTCETH" });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const none = { maker: "0.00000000", taker: "0.00000000", buyer: "0.00000000", seller: "0.00000000" };
    assert.deepEqual(c.body, {
      symbol: "BTCETH",
      standardCommission: { ...none, maker: "0.00020000", taker: "0.00075000" },
      specialCommission: none,
      taxCommission: none,
      discount: {
        enabledForAccount: false,
        enabledForSymbol: false,
        discountAsset: "",
        discount: "0.00000000",
      },
    });
    const all = await call("GET", "/sapi/v1/asset/tradeFee", alice, {});
    assert.deepEqual(
      all.body.map((f) => [f.symbol, f.makerCommission, f.takerCommission]),
      [
        ["BTCUSDT", "0.00100000", "0.00100000"],
        ["ETHUSDT", "0.00100000", "0.00100000"],
        ["ETHBTC", "0.00100000", "0.00100000"],
        ["BTCETH", "0.00020000", "0.00075000"],
      ],
    );
    const one = await call("GET", "/sapi/v1/asset/tradeFee", alice, { symbol: "BTCETH" });
    assert.deepEqual(one.body, [
      { symbol: "BTCETH", makerCommission: "0.00020000", takerCommission: "0.00075000" },
    ]);
    // signed, and Binance's errors
    assert.equal(
      (await call("GET", "/api/v3/account/commission", null, { symbol: "BTCETH" })).body.code,
      -2014,
    );
    assert.equal((await call("GET", "/api/v3/account/commission", alice, {})).body.code, -1102);
    assert.equal((await call("GET", "/sapi/v1/asset/tradeFee", alice, { symbol: "NOPE" })).body.code, -1121);
  });

  it("GET /api/v3/myFilters: the exchange's and the market's filters, as exchangeInfo has them", async () => {
    const info = (await fetch(`${base}/api/v3/exchangeInfo?symbol=ETHUSDT`).then((r) => r.json())) as Body;
    const used = async () => Number((await fetch(`${base}/api/v3/ping`)).headers.get("x-mbx-used-weight-1m"));
    const w0 = await used();
    const mine = await call("GET", "/api/v3/myFilters", alice, { symbol: "ETHUSDT" });
    assert.equal((await used()) - w0, 1 + 40);
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.deepEqual(mine.body, {
      exchangeFilters: info.exchangeFilters,
      symbolFilters: (info.symbols as Body[])[0].filters,
      assetFilters: [],
    });
    assert.ok(((mine.body.symbolFilters as Body[]) ?? []).some((f) => f.filterType === "NOTIONAL"));
    assert.equal((await call("GET", "/api/v3/myFilters", alice, {})).body.code, -1102);
    assert.equal((await call("GET", "/api/v3/myFilters", alice, { symbol: "NOPE" })).body.code, -1121);
    assert.equal((await call("GET", "/api/v3/myFilters", null, { symbol: "ETHUSDT" })).body.code, -2014);
  });

  it("Binance's wallet endpoints: capital/config/getall, account/apiRestrictions, account/status", async () => {
    // every asset, with the account's balances as GET account has them (an order's lock included)
    const placed = await call("POST", "/api/v3/order", alice, {
      symbol: "BTCUSDT",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.001",
      price: "40000",
    });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    const coins = async () => {
      const r = await call("GET", "/sapi/v1/capital/config/getall", alice, {});
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return new Map(r.body.map((c) => [c.coin as string, c]));
    };
    const account = await call("GET", "/api/v3/account", alice, {});
    const all = await coins();
    assert.deepEqual(
      [...all.keys()],
      running.node.engine.assets.map((a) => a.name),
    );
    for (const b of account.body.balances as { asset: string; free: string; locked: string }[]) {
      const c = all.get(b.asset) as Body;
      assert.deepEqual([c.free, c.locked], [b.free, b.locked], b.asset);
    }
    assert.ok(Number((all.get("USDT") as Body).locked) >= 40, JSON.stringify(all.get("USDT")));
    assert.deepEqual(
      { ...(all.get("BTC") as Body), free: "", locked: "" },
      {
        coin: "BTC",
        depositAllEnable: true,
        withdrawAllEnable: true,
        name: "BTC",
        free: "",
        locked: "",
        freeze: "0.00000000",
        withdrawing: "0.00000000",
        ipoing: "0.00000000",
        ipoable: "0.00000000",
        storage: "0.00000000",
        isLegalMoney: false,
        trading: true,
        networkList: [],
      },
    );
    await call("DELETE", "/api/v3/order", alice, { symbol: "BTCUSDT", orderId: String(placed.body.orderId) });
    // the exchange's flags: deposits and withdrawals paused one at a time, then maintenance
    await admin("/v1/exchange-flags", { deposits_paused: true });
    let btc = (await coins()).get("BTC") as Body;
    assert.deepEqual([btc.depositAllEnable, btc.withdrawAllEnable, btc.trading], [false, true, true]);
    await admin("/v1/exchange-flags", { deposits_paused: false, withdrawals_paused: true });
    btc = (await coins()).get("BTC") as Body;
    assert.deepEqual([btc.depositAllEnable, btc.withdrawAllEnable, btc.trading], [true, false, true]);
    await admin("/v1/exchange-flags", { withdrawals_paused: false, maintenance: true });
    btc = (await coins()).get("BTC") as Body;
    assert.deepEqual([btc.depositAllEnable, btc.withdrawAllEnable, btc.trading], [false, false, false]);
    await admin("/v1/exchange-flags", { maintenance: false });
    // an asset trades while some market in it takes orders: every BTC market halted, USDT still trades
    const info = await fetch(`${base}/api/v3/exchangeInfo`).then((r) => r.json() as Promise<Body>);
    const btc_markets = (info.symbols as Body[])
      .filter((m) => m.baseAsset === "BTC" || m.quoteAsset === "BTC")
      .map((m) => m.symbol as string);
    assert.ok(btc_markets.length >= 2, btc_markets.join());
    for (const symbol of btc_markets) await admin("/v1/market-status", { symbol, status: "HALT" });
    const halted = await coins();
    assert.deepEqual(
      [(halted.get("BTC") as Body).trading, (halted.get("USDT") as Body).trading],
      [false, true],
    );
    for (const symbol of btc_markets) await admin("/v1/market-status", { symbol, status: "TRADING" });
    assert.equal(((await coins()).get("BTC") as Body).trading, true);

    // what the calling key may do: a read-only key bound to this address, then alice's own
    const before_ms = Date.now();
    const made = (await admin("/v1/api-keys", {
      account: alice.account,
      kind: "HMAC",
      trade: false,
      ip_allow: ["127.0.0.1"],
    })) as { body: { apiKey: string; secretKey: string } };
    const reader: Key = { apiKey: made.body.apiKey, secretKey: made.body.secretKey };
    const restrictions = await call("GET", "/sapi/v1/account/apiRestrictions", reader, {});
    assert.equal(restrictions.status, 200, JSON.stringify(restrictions.body));
    const created = restrictions.body.createTime as number;
    assert.ok(created >= before_ms - 1000 && created <= Date.now() + 1000, String(created));
    assert.deepEqual(restrictions.body, {
      ipRestrict: true,
      createTime: created,
      enableReading: true,
      enableWithdrawals: false,
      enableInternalTransfer: false,
      enableMargin: false,
      enableFutures: false,
      permitsUniversalTransfer: false,
      enableVanillaOptions: false,
      enableFixApiTrade: false,
      enableFixReadOnly: false,
      enableSpotAndMarginTrading: false,
      enablePortfolioMarginTrading: false,
    });
    const own = await call("GET", "/sapi/v1/account/apiRestrictions", alice, {});
    assert.deepEqual([own.body.ipRestrict, own.body.enableSpotAndMarginTrading], [false, true]);
    assert.deepEqual((await call("GET", "/sapi/v1/account/status", reader, {})).body, { data: "Normal" });
    // no margin trading: no margin pairs, cross or isolated
    assert.deepEqual((await call("GET", "/sapi/v1/margin/allPairs", alice, {})).body, []);
    assert.deepEqual((await call("GET", "/sapi/v1/margin/isolated/allPairs", alice, {})).body, []);
    // cross pairs are MARKET_DATA: an API key and no signature will do (@binance/connector's
    // marginAllPairs); without a key, or with a bad signature, refused
    const key_only = (key: string | null, query = "") =>
      fetch(`${base}/sapi/v1/margin/allPairs${query}`, {
        headers: key === null ? {} : { "X-MBX-APIKEY": key },
      });
    const pairs = await key_only(alice.apiKey);
    assert.deepEqual([pairs.status, await pairs.json()], [200, []]);
    assert.equal(((await (await key_only(null)).json()) as Body).code, -2014);
    assert.equal(
      ((await (await key_only(alice.apiKey, `?timestamp=${Date.now()}&signature=00`)).json()) as Body).code,
      -1022,
    );
    const isolated = await fetch(`${base}/sapi/v1/margin/isolated/allPairs`, {
      headers: { "X-MBX-APIKEY": alice.apiKey },
    });
    assert.equal(((await isolated.json()) as Body).code, -1102, "isolated pairs: USER_DATA, signed");
    // signed, weighed as Binance weighs them, and Binance's errors
    const used = async () => Number((await fetch(`${base}/api/v3/ping`)).headers.get("x-mbx-used-weight-1m"));
    const w0 = await used();
    await coins();
    assert.equal((await used()) - w0, 1 + 10);
    const forged = await fetch(`${base}/sapi/v1/capital/config/getall?timestamp=${Date.now()}&signature=00`, {
      headers: { "X-MBX-APIKEY": alice.apiKey },
    });
    assert.equal(((await forged.json()) as Body).code, -1022);
    assert.equal((await call("GET", "/sapi/v1/capital/config/getall", null, {})).body.code, -2014);
    assert.equal((await call("GET", "/sapi/v1/account/status", alice, { foo: "1" })).body.code, -1104);
  });

  it("the wallet's deposit and withdrawal history: capital/deposit/hisrec, capital/withdraw/history", async () => {
    // bob's own account: a deposit in before(), and now two withdrawals
    const first = await admin("/v1/withdraw", { account: bob.account, asset: "BTC", amount: "0.1" });
    assert.equal((first.body as { applied?: boolean }).applied, true, JSON.stringify(first.body));
    const first_seq = running.node.last_applied_seq;
    await admin("/v1/withdraw", { account: bob.account, asset: "BTC", amount: "0.02" });
    const second_seq = running.node.last_applied_seq;
    const deposits = await call("GET", "/sapi/v1/capital/deposit/hisrec", bob, {});
    assert.equal(deposits.status, 200, JSON.stringify(deposits.body));
    assert.equal(deposits.body.length, 1);
    const d = deposits.body[0];
    const id = Number(d.id);
    assert.ok(Number.isSafeInteger(id) && id < first_seq, d.id as string);
    assert.ok(Math.abs((d.insertTime as number) - Date.now()) < 60_000);
    assert.deepEqual(d, {
      id: String(id),
      amount: "1.00000000",
      coin: "BTC",
      network: "",
      status: 1,
      address: "",
      addressTag: "",
      txId: "",
      insertTime: d.insertTime,
      completeTime: d.insertTime,
      transferType: 1,
      confirmTimes: "1/1",
      unlockConfirm: 0,
      walletType: 0,
      travelRuleStatus: 0,
    });
    // newest first; ids are the commands' sequence numbers; times in UTC as Binance writes them
    const withdrawals = await call("GET", "/sapi/v1/capital/withdraw/history", bob, {});
    assert.deepEqual(
      withdrawals.body.map((w) => [w.id, w.amount, w.coin, w.status, w.transactionFee, w.transferType]),
      [
        [String(second_seq), "0.02000000", "BTC", 6, "0.00000000", 1],
        [String(first_seq), "0.10000000", "BTC", 6, "0.00000000", 1],
      ],
    );
    assert.match(withdrawals.body[0].applyTime as string, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.ok(
      Math.abs(Date.parse(`${(withdrawals.body[0].applyTime as string).replace(" ", "T")}Z`) - Date.now()) <
        60_000,
    );
    // filters: coin, status, idList, window, offset and limit; another account sees only its own
    const ids = async (path: string, params: Record<string, string>, key = bob) =>
      (await call("GET", path, key, params)).body.map((w) => w.id);
    const W = "/sapi/v1/capital/withdraw/history";
    assert.deepEqual(await ids(W, { coin: "USDT" }), []);
    assert.deepEqual(await ids(W, { coin: "NOPE" }), []);
    assert.deepEqual(await ids(W, { status: "4" }), []);
    assert.deepEqual(await ids(W, { idList: `${first_seq},999999` }), [String(first_seq)]);
    // the ids filter before the page is taken: the older one, alone on a page of one
    assert.deepEqual(await ids(W, { idList: String(first_seq), limit: "1" }), [String(first_seq)]);
    assert.deepEqual(await ids(W, { idList: "x,0,-1" }), []);
    assert.deepEqual(await ids(W, { limit: "1" }), [String(second_seq)]);
    assert.deepEqual(await ids(W, { limit: "1", offset: "1" }), [String(first_seq)]);
    assert.deepEqual(await ids(W, { startTime: String(Date.now() + 60_000) }), []);
    assert.deepEqual(await ids(W, { endTime: String(Date.now() - 3_600_000) }), []);
    assert.deepEqual(await ids(W, { withdrawOrderId: "none-has-one" }), []);
    assert.deepEqual(await ids(W, {}, alice), []);
    assert.deepEqual(await ids("/sapi/v1/capital/deposit/hisrec", { txId: "0xabc" }), []);
    const source = await call("GET", "/sapi/v1/capital/deposit/hisrec", bob, { includeSource: "true" });
    assert.equal(source.body[0].sourceAddress, "");
    // Binance's errors
    const code = async (path: string, params: Record<string, string>) =>
      (await call("GET", path, bob, params)).body.code;
    assert.equal(await code(W, { startTime: "0", endTime: String(91 * 24 * 3600 * 1000) }), -1127);
    assert.equal(await code(W, { limit: "1001" }), -1100);
    assert.equal(await code(W, { idList: Array.from({ length: 46 }, (_, i) => i + 1).join(",") }), -1100);
    assert.equal(await code("/sapi/v1/capital/deposit/hisrec", { offset: "-1" }), -1100);
    assert.equal(await code("/sapi/v1/capital/deposit/hisrec", { foo: "1" }), -1104);
  });

  it("Ed25519 keys sign too; a revoked key stops working; order/test journals nothing", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const made = await admin("/v1/api-keys", {
      account: alice.account,
      kind: "ED25519",
      public_key: publicKey.export({ type: "spki", format: "pem" }),
    });
    const ed: Key = { apiKey: (made.body as { apiKey: string }).apiKey, privateKey };
    const acct = await call("GET", "/api/v3/account", ed, {});
    assert.equal(acct.status, 200, JSON.stringify(acct.body));
    assert.equal(acct.body.uid, alice.account);
    const seq = running.node.last_applied_seq;
    const test = await call("POST", "/api/v3/order/test", ed, {
      symbol: "ETHUSDT",
      side: "SELL",
      type: "MARKET",
      quantity: "1",
    });
    assert.deepEqual(test.body, {});
    // computeCommissionRates: the rates the order would pay on this market (ppm → Binance's rate text)
    const eth =
      running.node.engine.markets[running.node.engine.market_by_symbol.get("ETHUSDT") as number].config;
    const rate = (ppm: number) => `0.${String(ppm).padStart(6, "0")}00`;
    const rates = await call("POST", "/api/v3/order/test", ed, {
      symbol: "ETHUSDT",
      side: "SELL",
      type: "MARKET",
      quantity: "1",
      computeCommissionRates: "true",
    });
    assert.deepEqual(rates.body, {
      standardCommissionForOrder: { maker: rate(eth.maker_fee_ppm), taker: rate(eth.taker_fee_ppm) },
      specialCommissionForOrder: { maker: "0.00000000", taker: "0.00000000" },
      taxCommissionForOrder: { maker: "0.00000000", taker: "0.00000000" },
      discount: {
        enabledForAccount: false,
        enabledForSymbol: false,
        discountAsset: "",
        discount: "0.00000000",
      },
    });
    assert.notEqual(eth.taker_fee_ppm, 0, "a market with a fee, so the rate is not trivially zero");
    assert.equal(running.node.last_applied_seq, seq);
    const revoked = await admin_request(
      running.admin_socket,
      "DELETE" as "POST",
      `/v1/api-keys/${ed.apiKey}?account=${alice.account}`,
    );
    assert.equal((revoked.body as { applied: boolean }).applied, true);
    const after_revoke = await call("GET", "/api/v3/account", ed, {});
    assert.equal(after_revoke.status, 401);
    assert.equal(after_revoke.body.code, -2015);
  });
});

describe("order and trade history (SQLite projection)", () => {
  it("GET order, allOrders, myTrades; the history survives a restart and is rebuilt when its file is lost", async () => {
    const { dir, opts } = own_node("hf-history-");
    let running = await start_node(opts);
    try {
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
        users: { apiKey: string; secretKey: string }[];
      };
      const [alice, bob] = creds.users;
      const call = async (
        method: string,
        path: string,
        key: { apiKey: string; secretKey: string },
        params: Record<string, string>,
      ) => {
        const text = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
        const sig = createHmac("sha256", key.secretKey).update(text).digest("hex");
        const r = await fetch(`http://127.0.0.1:${running.port}${path}?${text}&signature=${sig}`, {
          method,
          headers: { "X-MBX-APIKEY": key.apiKey },
        });
        return { status: r.status, body: (await r.json()) as Body & Body[] };
      };
      const buy = await call("POST", "/api/v3/order", alice, {
        symbol: "ETHBTC",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "2",
        price: "0.05",
        newClientOrderId: "hist-1",
      });
      assert.equal(buy.status, 200, JSON.stringify(buy.body));
      const first_sell = await call("POST", "/api/v3/order", bob, {
        symbol: "ETHBTC",
        side: "SELL",
        type: "MARKET",
        quantity: "0.5",
        selfTradePreventionMode: "EXPIRE_BOTH",
      });
      assert.equal(first_sell.body.selfTradePreventionMode, "EXPIRE_BOTH");
      // the market's default (what an order that names none gets), as exchangeInfo says it
      const info = (await (
        await fetch(`http://127.0.0.1:${running.port}/api/v3/exchangeInfo?symbol=ETHBTC`)
      ).json()) as { symbols: { defaultSelfTradePreventionMode: string }[] };
      const default_stp = info.symbols[0].defaultSelfTradePreventionMode;
      assert.notEqual(default_stp, "EXPIRE_BOTH");
      assert.equal(buy.body.selfTradePreventionMode, default_stp);
      await call("POST", "/api/v3/order", bob, {
        symbol: "ETHBTC",
        side: "SELL",
        type: "MARKET",
        quantity: "0.25",
      });
      await call("DELETE", "/api/v3/order", alice, { symbol: "ETHBTC", orderId: String(buy.body.orderId) });

      // stop orders work only once triggered (Binance: isWorking false, workingTime -1 until then)
      const [carol] = creds.users.slice(2);
      const trade_at = async (price: string) => {
        await call("POST", "/api/v3/order", carol, {
          symbol: "ETHUSDT",
          side: "SELL",
          type: "LIMIT",
          timeInForce: "GTC",
          quantity: "1",
          price,
        });
        const taken = await call("POST", "/api/v3/order", bob, {
          symbol: "ETHUSDT",
          side: "BUY",
          type: "MARKET",
          quantity: "1",
        });
        assert.equal(taken.body.status, "FILLED", JSON.stringify(taken.body));
        return taken.body.transactTime as number;
      };
      await trade_at("2100");
      const stop = async (stop_price: string, price: string) =>
        (
          await call("POST", "/api/v3/order", alice, {
            symbol: "ETHUSDT",
            side: "SELL",
            type: "STOP_LOSS_LIMIT",
            timeInForce: "GTC",
            quantity: "1",
            stopPrice: stop_price,
            price,
          })
        ).body;
      const waiting_stop = await stop("2000", "1990");
      const fired_stop = await stop("2050", "2040");
      const triggered_ms = await trade_at("2050"); // the last price reaches 2050: the second triggers
      const open_stops = await call("GET", "/api/v3/openOrders", alice, { symbol: "ETHUSDT" });
      assert.deepEqual(
        open_stops.body.map((o) => [o.orderId, o.isWorking, o.workingTime]),
        [
          [waiting_stop.orderId, false, -1],
          [fired_stop.orderId, true, triggered_ms],
        ],
      );
      // a partly filled open order was last updated at its fill (the engine keeps no such time)
      await new Promise((r) => setTimeout(r, 5)); // a fill time other than the order's own
      const part = await call("POST", "/api/v3/order", bob, {
        symbol: "ETHUSDT",
        side: "BUY",
        type: "MARKET",
        quantity: "0.5",
      });
      assert.equal(part.body.status, "FILLED", JSON.stringify(part.body));
      const after_fill = (await call("GET", "/api/v3/openOrders", alice, { symbol: "ETHUSDT" })).body;
      assert.deepEqual(
        after_fill.map((o) => [o.orderId, o.executedQty, o.updateTime, o.workingTime]),
        [
          [waiting_stop.orderId, "0.00000000", waiting_stop.transactTime, -1],
          [fired_stop.orderId, "0.50000000", part.body.transactTime, triggered_ms],
        ],
      );
      assert.notEqual(part.body.transactTime, fired_stop.transactTime);
      /** GET order agrees (from the history); a file from before working times shows the order's time. */
      const check_stops = async (working_recorded: boolean) => {
        for (const [o, working, at] of [
          [waiting_stop, false, -1],
          [fired_stop, true, triggered_ms],
        ] as const) {
          const got = (
            await call("GET", "/api/v3/order", alice, { symbol: "ETHUSDT", orderId: String(o.orderId) })
          ).body;
          assert.deepEqual(
            [got.isWorking, got.workingTime],
            working_recorded ? [working, at] : [true, got.time],
            JSON.stringify(got),
          );
        }
      };

      /**
       * modes_recorded false: a history from before orders' modes and working times were kept (all
       * show the market's default mode, and their own time as when they began working).
       */
      const check = async (modes_recorded = true) => {
        const o = await call("GET", "/api/v3/order", alice, {
          symbol: "ETHBTC",
          origClientOrderId: "hist-1",
        });
        assert.equal(o.status, 200, JSON.stringify(o.body));
        assert.equal(o.body.status, "CANCELED");
        assert.equal(o.body.executedQty, "0.75000000");
        assert.equal(o.body.cummulativeQuoteQty, "0.03750000");
        assert.equal(o.body.selfTradePreventionMode, default_stp);
        const all = await call("GET", "/api/v3/allOrders", bob, { symbol: "ETHBTC" });
        assert.deepEqual(
          all.body.map((x) => [x.status, x.selfTradePreventionMode]),
          [
            ["FILLED", modes_recorded ? "EXPIRE_BOTH" : default_stp],
            ["FILLED", default_stp],
          ],
        );
        const trades = await call("GET", "/api/v3/myTrades", alice, { symbol: "ETHBTC" });
        assert.deepEqual(
          trades.body.map((t) => [t.id, t.qty, t.isBuyer, t.isMaker, t.commission, t.commissionAsset]),
          [
            [1, "0.50000000", true, true, "0.00050000", "ETH"],
            [2, "0.25000000", true, true, "0.00025000", "ETH"],
          ],
        );
        // an order's trades, though the account traded since (limit 1: its latest trade is another order's)
        const of_order = await call("GET", "/api/v3/myTrades", bob, {
          symbol: "ETHBTC",
          orderId: String(first_sell.body.orderId),
          limit: "1",
        });
        assert.deepEqual(
          of_order.body.map((t) => [t.id, t.orderId, t.qty, t.isBuyer]),
          [[1, first_sell.body.orderId, "0.50000000", false]],
        );
        const none = await call("GET", "/api/v3/order", bob, {
          symbol: "ETHBTC",
          orderId: String(buy.body.orderId),
        });
        assert.deepEqual(none.body, { code: -2013, msg: "Order does not exist." });
        await check_stops(modes_recorded);
        // the demo's funding, in the wallet's deposit history (rebuilt with the rest)
        const deposits = await call("GET", "/sapi/v1/capital/deposit/hisrec", alice, {});
        assert.deepEqual(deposits.body.map((x) => [x.coin, x.amount]).sort(), [
          ["BTC", "10.00000000"],
          ["ETH", "100.00000000"],
          ["USDT", "1000000.00000000"],
        ]);
      };
      await across_restarts(
        running,
        opts,
        (r) => {
          running = r;
        },
        check,
      );
      // a history file from before the mode was recorded: the column is added, its rows say the default
      await running.close();
      const old = new Database(join(dir, "history.sqlite"));
      old.exec("ALTER TABLE orders DROP COLUMN stp");
      old.exec("ALTER TABLE orders DROP COLUMN working_ms");
      old.close();
      running = await start_node(opts);
      await check(false);
      // and orders placed since keep theirs
      const later = await call("POST", "/api/v3/order", alice, {
        symbol: "ETHBTC",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "1",
        price: "0.04",
        selfTradePreventionMode: "EXPIRE_TAKER",
      });
      assert.equal(later.status, 200, JSON.stringify(later.body));
      const later_row = await call("GET", "/api/v3/order", alice, {
        symbol: "ETHBTC",
        orderId: String(later.body.orderId),
      });
      assert.equal(later_row.body.selfTradePreventionMode, "EXPIRE_TAKER", JSON.stringify(later_row.body));
    } finally {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("self-trade prevention: prevented matches in order responses, GET order and myPreventedMatches, across restarts", async () => {
    const { dir, opts } = own_node("hf-prevented-");
    let running = await start_node(opts);
    try {
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
        users: HmacKey[];
      };
      const [alice, bob] = creds.users;
      const call = (method: string, path: string, key: HmacKey, params: Record<string, string>) =>
        hmac_call(running.port, method, path, key, params);
      const place = async (params: Record<string, string>) => {
        const r = await call("POST", "/api/v3/order", alice, { symbol: "ETHUSDT", ...params });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body;
      };
      const limit = { type: "LIMIT", timeInForce: "GTC" };
      const a1 = await place({ ...limit, side: "SELL", quantity: "1", price: "2000" });
      const a2 = await place({ ...limit, side: "SELL", quantity: "0.5", price: "2001" });
      // EXPIRE_MAKER: both of alice's asks expire, her bid rests; FULL lists the matches prevented
      const bid = await place({
        ...limit,
        side: "BUY",
        quantity: "2",
        price: "2001",
        selfTradePreventionMode: "EXPIRE_MAKER",
        newOrderRespType: "FULL",
      });
      assert.equal(bid.status, "NEW");
      assert.deepEqual(bid.fills, []);
      assert.deepEqual(bid.preventedMatches, [
        {
          preventedMatchId: 0,
          makerOrderId: a1.orderId,
          price: "2000.00000000",
          makerPreventedQuantity: "1.00000000",
        },
        {
          preventedMatchId: 1,
          makerOrderId: a2.orderId,
          price: "2001.00000000",
          makerPreventedQuantity: "0.50000000",
        },
      ]);
      assert.equal(bid.preventedQuantity, undefined); // the taker itself did not expire
      // EXPIRE_TAKER: the taker expires (RESULT names the match), the resting bid stays
      const ask = await place({
        ...limit,
        side: "SELL",
        quantity: "0.7",
        price: "2001",
        selfTradePreventionMode: "EXPIRE_TAKER",
        newOrderRespType: "RESULT",
      });
      assert.deepEqual(
        [ask.status, ask.preventedMatchId, ask.preventedQuantity, ask.preventedMatches],
        ["EXPIRED_IN_MATCH", 2, "0.70000000", undefined],
      );
      // EXPIRE_BOTH: a market sell and the bid both expire
      const both = await place({
        side: "SELL",
        type: "MARKET",
        quantity: "0.4",
        selfTradePreventionMode: "EXPIRE_BOTH",
      });
      assert.equal(both.status, "EXPIRED_IN_MATCH");
      assert.equal(both.preventedQuantity, "0.40000000");
      assert.deepEqual(both.preventedMatches, [
        {
          preventedMatchId: 3,
          makerOrderId: bid.orderId,
          price: "2001.00000000",
          takerPreventedQuantity: "0.40000000",
          makerPreventedQuantity: "2.00000000",
        },
      ]);
      const plain = await place({ ...limit, side: "BUY", quantity: "0.01", price: "1000" });

      const check = async (recorded = true) => {
        // GET order: the match that expired an order and what expired; nothing on the others
        const fields = async (o: Body) => {
          const got = (
            await call("GET", "/api/v3/order", alice, { symbol: "ETHUSDT", orderId: String(o.orderId) })
          ).body;
          return [got.status, got.preventedMatchId, got.preventedQuantity];
        };
        assert.deepEqual(await fields(a1), [
          "EXPIRED_IN_MATCH",
          ...(recorded ? [0, "1.00000000"] : [undefined, undefined]),
        ]);
        assert.deepEqual(await fields(a2), [
          "EXPIRED_IN_MATCH",
          ...(recorded ? [1, "0.50000000"] : [undefined, undefined]),
        ]);
        assert.deepEqual(await fields(bid), [
          "EXPIRED_IN_MATCH",
          ...(recorded ? [3, "2.00000000"] : [undefined, undefined]),
        ]);
        assert.deepEqual(await fields(ask), [
          "EXPIRED_IN_MATCH",
          ...(recorded ? [2, "0.70000000"] : [undefined, undefined]),
        ]);
        assert.deepEqual(await fields(plain), ["NEW", undefined, undefined]);
        const all = (await call("GET", "/api/v3/allOrders", alice, { symbol: "ETHUSDT" })).body;
        assert.deepEqual(
          all.map((o) => o.preventedMatchId),
          recorded
            ? [0, 1, 3, 2, 3, undefined]
            : [undefined, undefined, undefined, undefined, undefined, undefined],
        );
        const prevented = async (params: Record<string, string>, key = alice) =>
          call("GET", "/api/v3/myPreventedMatches", key, { symbol: "ETHUSDT", ...params });
        const by_id = await prevented({ preventedMatchId: "2" });
        assert.equal(by_id.status, 200, JSON.stringify(by_id.body));
        if (!recorded) {
          assert.deepEqual(by_id.body, []);
          return;
        }
        assert.deepEqual(by_id.body, [
          {
            symbol: "ETHUSDT",
            preventedMatchId: 2,
            takerOrderId: ask.orderId,
            makerSymbol: "ETHUSDT",
            makerOrderId: bid.orderId,
            tradeGroupId: -1,
            selfTradePreventionMode: "EXPIRE_TAKER",
            price: "2001.00000000",
            takerPreventedQuantity: "0.70000000",
            transactTime: ask.transactTime,
          },
        ]);
        // one order's, as taker and as maker; from an id, a page at a time
        const of_bid = await prevented({ orderId: String(bid.orderId) });
        assert.deepEqual(
          of_bid.body.map((x) => [
            x.preventedMatchId,
            x.takerOrderId,
            x.makerOrderId,
            x.selfTradePreventionMode,
          ]),
          [
            [0, bid.orderId, a1.orderId, "EXPIRE_MAKER"],
            [1, bid.orderId, a2.orderId, "EXPIRE_MAKER"],
            [2, ask.orderId, bid.orderId, "EXPIRE_TAKER"],
            [3, both.orderId, bid.orderId, "EXPIRE_BOTH"],
          ],
        );
        assert.deepEqual(of_bid.body[3].takerPreventedQuantity, "0.40000000");
        assert.deepEqual(of_bid.body[3].makerPreventedQuantity, "2.00000000");
        assert.equal(of_bid.body[0].takerPreventedQuantity, undefined);
        const page = await prevented({ orderId: String(bid.orderId), fromPreventedMatchId: "1", limit: "2" });
        assert.deepEqual(
          page.body.map((x) => x.preventedMatchId),
          [1, 2],
        );
        // another account sees none of them; another market has its own ids
        assert.deepEqual((await prevented({ preventedMatchId: "2" }, bob)).body, []);
        assert.deepEqual((await prevented({ orderId: String(bid.orderId) }, bob)).body, []);
        assert.deepEqual(
          (
            await call("GET", "/api/v3/myPreventedMatches", alice, {
              symbol: "ETHBTC",
              preventedMatchId: "0",
            })
          ).body,
          [],
        );
        // Binance's combinations only
        for (const params of [
          {} as Record<string, string>,
          { preventedMatchId: "1", orderId: String(bid.orderId) },
          { preventedMatchId: "1", limit: "5" },
          { preventedMatchId: "1", fromPreventedMatchId: "0" },
          { fromPreventedMatchId: "0" },
        ]) {
          const r = await prevented(params);
          assert.equal(r.status, 400, JSON.stringify([params, r.body]));
          assert.deepEqual(r.body, { code: -1128, msg: "Combination of optional parameters invalid." });
        }
        const bad_limit = await prevented({ orderId: String(bid.orderId), limit: "1001" });
        assert.equal(bad_limit.body.code, -1100);
      };
      await across_restarts(
        running,
        opts,
        (r) => {
          running = r;
        },
        check,
      );
      // a file from before prevented matches were kept: it gets the table and columns, its orders none
      await running.close();
      const old = new Database(join(dir, "history.sqlite"));
      old.exec("DROP TABLE prevented_matches");
      old.exec("ALTER TABLE orders DROP COLUMN prevented_match_id");
      old.exec("ALTER TABLE orders DROP COLUMN prevented_lots");
      old.close();
      running = await start_node(opts);
      await check(false);
      // and what happens since is kept: the market's next id follows on
      const again = await place({
        ...limit,
        side: "SELL",
        quantity: "0.01",
        price: "1000",
        selfTradePreventionMode: "EXPIRE_TAKER",
      });
      assert.deepEqual(
        [
          again.status,
          again.preventedQuantity,
          (again.preventedMatches as Body[]).map((x) => x.preventedMatchId),
        ],
        ["EXPIRED_IN_MATCH", "0.01000000", [4]],
      );
      const got = await call("GET", "/api/v3/myPreventedMatches", alice, {
        symbol: "ETHUSDT",
        preventedMatchId: "4",
      });
      assert.deepEqual(
        got.body.map((x) => [x.takerOrderId, x.makerOrderId, x.takerPreventedQuantity]),
        [[again.orderId, plain.orderId, "0.01000000"]],
      );
    } finally {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("strategyId and strategyType: kept with the order and shown wherever it is, across restarts and a rebuilt history", async () => {
    const { dir, opts } = own_node("hf-strategy-");
    let running = await start_node(opts);
    try {
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
        users: HmacKey[];
      };
      const [alice] = creds.users;
      const call = (method: string, path: string, params: Record<string, string>) =>
        hmac_call(running.port, method, path, alice, { symbol: "ETHUSDT", ...params });
      // executionReport's j and J, on alice's listen key
      const first_reports = await listen(running.port, alice);
      const limit = { side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "0.01", price: "1000" };
      const both = await call("POST", "/api/v3/order", {
        ...limit,
        strategyId: "9007199254740991",
        strategyType: "1000000",
        newOrderRespType: "RESULT",
      });
      assert.equal(both.status, 200, JSON.stringify(both.body));
      assert.deepEqual([both.body.strategyId, both.body.strategyType], [9007199254740991, 1000000]);
      const id_only = (await call("POST", "/api/v3/order", { ...limit, price: "1001", strategyId: "0" }))
        .body;
      assert.deepEqual([id_only.strategyId, "strategyType" in id_only], [0, false]);
      const type_only = (
        await call("POST", "/api/v3/order", { ...limit, price: "1002", strategyType: "2147483647" })
      ).body;
      assert.deepEqual(["strategyId" in type_only, type_only.strategyType], [false, 2147483647]);
      const plain = (await call("POST", "/api/v3/order", { ...limit, price: "1003" })).body;
      assert.ok(!("strategyId" in plain) && !("strategyType" in plain), JSON.stringify(plain));
      const ack = (
        await call("POST", "/api/v3/order", {
          ...limit,
          price: "1004",
          strategyId: "5",
          newOrderRespType: "ACK",
        })
      ).body;
      const labels = (o: Body) => [o.orderId, o.strategyId, o.strategyType];
      const expected = [
        [both.body.orderId, 9007199254740991, 1000000],
        [id_only.orderId, 0, undefined],
        [type_only.orderId, undefined, 2147483647],
        [plain.orderId, undefined, undefined],
        [ack.orderId, 5, undefined],
      ];
      const check = async () => {
        assert.deepEqual((await call("GET", "/api/v3/openOrders", {})).body.map(labels), expected);
        assert.deepEqual((await call("GET", "/api/v3/allOrders", {})).body.map(labels), expected);
        for (const row of expected)
          assert.deepEqual(
            labels((await call("GET", "/api/v3/order", { orderId: String(row[0]) })).body),
            row,
          );
      };
      await check();
      assert.deepEqual(
        await first_reports(),
        expected.map(([id, j, J]) => ["NEW", id, j, J]),
      );
      // the engine keeps them (openOrders) and the history does (GET order): through a restart and a
      // history rebuilt from the journal
      await across_restarts(
        running,
        opts,
        (r) => {
          running = r;
        },
        check,
      );
      // a cancel says them too, and so does its executionReport (made from the history's row now: the
      // node that saw the order placed is gone)
      const later_reports = await listen(running.port, alice);
      const cancel = (await call("DELETE", "/api/v3/order", { orderId: String(both.body.orderId) })).body;
      assert.deepEqual(labels(cancel), expected[0]);
      assert.deepEqual(await later_reports(), [["CANCELED", ...expected[0]]]);
    } finally {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("order amend keep priority: a smaller quantity in place, its queue position kept; REPLACED; amendments across restarts", async () => {
    await on_own_node("hf-amend-", async (node) => {
      const [alice, bob, carol] = node.users;
      const { call } = node;
      const bid = { side: "BUY", type: "LIMIT", timeInForce: "GTC", price: "2000" };
      const first = (
        await call("POST", "/api/v3/order", alice, { ...bid, quantity: "2", newClientOrderId: "amend-me" })
      ).body;
      await call("POST", "/api/v3/order", bob, { ...bid, quantity: "1" });
      const taken = (
        await call("POST", "/api/v3/order", alice, {
          ...bid,
          price: "1990",
          quantity: "1",
          newClientOrderId: "taken",
        })
      ).body;
      const reports = await listen(node.running.port, alice, ["x", "X", "i", "c", "C", "q", "z"]);
      const usdt_locked = async (key: HmacKey) =>
        (
          (await hmac_call(node.running.port, "GET", "/api/v3/account", key, {})).body.balances as {
            asset: string;
            locked: string;
          }[]
        ).find((b) => b.asset === "USDT")?.locked;
      assert.equal(await usdt_locked(alice), "5990.00000000");
      const seq = node.running.node.last_applied_seq;
      // refusals that need no state never reach the journal
      const amend = (key: HmacKey, params: Record<string, string>) =>
        call("PUT", "/api/v3/order/amend/keepPriority", key, params);
      for (const [params, code] of [
        [{ newQty: "1" }, -1102],
        [{ orderId: String(first.orderId) }, -1102],
        [{ orderId: String(first.orderId), newQty: "0.000000001" }, -1111],
        [{ orderId: String(first.orderId), newQty: "0.00001" }, -1013],
        [{ orderId: String(first.orderId), newQty: "0" }, -1013],
        [{ orderId: String(first.orderId), newQty: "1x" }, -1100],
        [{ orderId: String(first.orderId), newQty: "1", newClientOrderId: "ü" }, -1100],
      ] as const) {
        const r = await amend(alice, params);
        assert.equal(r.status, 400, JSON.stringify([params, r.body]));
        assert.equal(r.body.code, code, JSON.stringify([params, r.body]));
      }
      assert.equal(node.running.node.last_applied_seq, seq, "nothing journaled");
      // refusals that depend on the order: journaled, nothing changed
      for (const [key, params, body] of [
        [
          alice,
          { orderId: String(first.orderId), newQty: "3" },
          { code: -2038, msg: "Order amend (quantity increase) is not supported." },
        ],
        [
          alice,
          { orderId: String(first.orderId), newQty: "2" },
          { code: -2038, msg: "The requested action would change no state; rejecting" },
        ],
        [bob, { orderId: String(first.orderId), newQty: "1" }, { code: -2013, msg: "Order does not exist." }],
        [alice, { origClientOrderId: "nobody", newQty: "1" }, { code: -2013, msg: "Order does not exist." }],
        [
          alice,
          { orderId: String(first.orderId), newQty: "1", newClientOrderId: "taken" },
          { code: -2010, msg: "Duplicate order sent." },
        ],
      ] as const) {
        const r = await amend(key, params);
        assert.deepEqual([r.status, r.body], [400, body], JSON.stringify(params));
      }
      // the amend: 2 -> 1.5, a new client order id, half a lot of quote released
      const amended = await amend(alice, {
        origClientOrderId: "amend-me",
        newQty: "1.5",
        newClientOrderId: "amended",
      });
      assert.equal(amended.status, 200, JSON.stringify(amended.body));
      const order = amended.body.amendedOrder as Body;
      assert.deepEqual(
        [
          order.orderId,
          order.origClientOrderId,
          order.clientOrderId,
          order.qty,
          order.executedQty,
          order.status,
          order.price,
        ],
        [first.orderId, "amend-me", "amended", "1.50000000", "0.00000000", "NEW", "2000.00000000"],
      );
      assert.equal(order.workingTime, first.transactTime);
      assert.ok((amended.body.executionId as number) > 0);
      assert.equal(await usdt_locked(alice), "4990.00000000");
      // the level shows the difference; alice's order is still first in the queue at 2000
      const depth = (await (
        await fetch(`http://127.0.0.1:${node.running.port}/api/v3/depth?symbol=ETHUSDT`)
      ).json()) as {
        bids: string[][];
      };
      assert.deepEqual(depth.bids[0], ["2000.00000000", "2.50000000"]);
      const sold = (
        await call("POST", "/api/v3/order", carol, { side: "SELL", type: "MARKET", quantity: "1" })
      ).body;
      assert.equal(sold.status, "FILLED", JSON.stringify(sold));
      const open = (await call("GET", "/api/v3/openOrders", alice, {})).body;
      assert.deepEqual(
        open.map((o) => [o.orderId, o.clientOrderId, o.origQty, o.executedQty, o.status]),
        [
          [first.orderId, "amended", "1.50000000", "1.00000000", "PARTIALLY_FILLED"],
          [taken.orderId, "taken", "1.00000000", "0.00000000", "NEW"],
        ],
        "the first in the queue took the fill",
      );
      assert.equal((await call("GET", "/api/v3/openOrders", bob, {})).body[0].executedQty, "0.00000000");
      // a partly filled order: not at or below what executed; then down to 1.2
      const below = await amend(alice, { orderId: String(first.orderId), newQty: "1" });
      assert.deepEqual(below.body.code, -2038, JSON.stringify(below.body));
      const again = await amend(alice, {
        orderId: String(first.orderId),
        newQty: "1.2",
        newClientOrderId: "amended",
      });
      assert.deepEqual(
        [
          again.status,
          (again.body.amendedOrder as Body).status,
          (again.body.amendedOrder as Body).origClientOrderId,
        ],
        [200, "PARTIALLY_FILLED", "amended"],
      );
      assert.equal(await usdt_locked(alice), "2390.00000000"); // 0.2 left at 2000, and the 1990 bid
      // the user data stream: REPLACED with the new quantity and client order id (C: the one before)
      assert.deepEqual(await reports(), [
        ["REPLACED", "NEW", first.orderId, "amended", "amend-me", "1.50000000", "0.00000000"],
        ["TRADE", "PARTIALLY_FILLED", first.orderId, "amended", "", "1.50000000", "1.00000000"],
        ["REPLACED", "PARTIALLY_FILLED", first.orderId, "amended", "amended", "1.20000000", "1.00000000"],
      ]);
      const check = async () => {
        const row = (await call("GET", "/api/v3/order", alice, { origClientOrderId: "amended" })).body;
        assert.deepEqual(
          [row.orderId, row.origQty, row.executedQty, row.clientOrderId],
          [first.orderId, "1.20000000", "1.00000000", "amended"],
        );
        const list = (
          await call("GET", "/api/v3/order/amendments", alice, { orderId: String(first.orderId) })
        ).body;
        assert.deepEqual(
          list.map((x) => [x.orderId, x.origClientOrderId, x.newClientOrderId, x.origQty, x.newQty]),
          [
            [first.orderId, "amend-me", "amended", "2.00000000", "1.50000000"],
            [first.orderId, "amended", "amended", "1.50000000", "1.20000000"],
          ],
        );
        assert.equal(list[0].executionId, amended.body.executionId);
        assert.equal(list[1].time, again.body.transactTime);
        const from = (
          await call("GET", "/api/v3/order/amendments", alice, {
            orderId: String(first.orderId),
            fromExecutionId: String((amended.body.executionId as number) + 1),
          })
        ).body;
        assert.deepEqual(
          from.map((x) => x.newQty),
          ["1.20000000"],
        );
        // another account sees none
        assert.deepEqual(
          (await call("GET", "/api/v3/order/amendments", bob, { orderId: String(first.orderId) })).body,
          [],
        );
      };
      await node.restarts(check);
      // the engine kept the amended order as it is (openOrders reads the engine)
      const after = (await call("GET", "/api/v3/openOrders", alice, {})).body;
      assert.deepEqual(
        after.map((o) => [o.clientOrderId, o.origQty]),
        [
          ["amended", "1.20000000"],
          ["taken", "1.00000000"],
        ],
      );
    });
  });

  it("trailing stops: trailingDelta and trailingTime in responses, GET order, openOrders and executionReport (d, D), across restarts", async () => {
    await on_own_node("hf-trailing-", async (node) => {
      const [alice, bob, carol] = node.users;
      const { call } = node;
      /** One trade of 0.01 ETH at `price` between bob (maker) and carol; its time. */
      const trade_at = async (price: string): Promise<number> => {
        const quantity = "0.01";
        await call("POST", "/api/v3/order", bob, {
          side: "SELL",
          type: "LIMIT",
          timeInForce: "GTC",
          price,
          quantity,
        });
        const r = await call("POST", "/api/v3/order", carol, {
          side: "BUY",
          type: "LIMIT",
          timeInForce: "IOC",
          price,
          quantity,
          newOrderRespType: "FULL",
        });
        assert.equal((r.body.fills as unknown[]).length, 1, JSON.stringify(r.body));
        return r.body.transactTime as number;
      };
      const info = (
        (await (
          await fetch(`http://127.0.0.1:${node.running.port}/api/v3/exchangeInfo?symbol=ETHUSDT`)
        ).json()) as { symbols: Body[] }
      ).symbols[0] as Body & { filters: { filterType: string }[] };
      assert.equal(info.allowTrailingStop, true);
      assert.deepEqual(
        info.filters.find((f) => f.filterType === "TRAILING_DELTA"),
        {
          filterType: "TRAILING_DELTA",
          minTrailingAboveDelta: 10,
          maxTrailingAboveDelta: 2000,
          minTrailingBelowDelta: 10,
          maxTrailingBelowDelta: 2000,
        },
      );
      await trade_at("2000");
      const reports = await listen(node.running.port, alice, ["x", "X", "i", "d", "D", "w", "W"]);
      // a trailing stop-loss sell without a stop price tracks from the last price (2,000) at once
      const sell = await call("POST", "/api/v3/order", alice, {
        side: "SELL",
        type: "STOP_LOSS_LIMIT",
        timeInForce: "GTC",
        quantity: "0.01",
        price: "1800",
        trailingDelta: "500",
        newOrderRespType: "RESULT",
      });
      assert.equal(sell.status, 200, JSON.stringify(sell.body));
      const placed_ms = sell.body.transactTime as number;
      assert.deepEqual(
        [sell.body.stopPrice, sell.body.trailingDelta, sell.body.trailingTime, sell.body.workingTime],
        ["0.00000000", 500, placed_ms, -1],
      );
      // a trailing take-profit market buy waits for 1,900 before it tracks; it locks 1,900 × 1.02
      const buy = await call("POST", "/api/v3/order", alice, {
        side: "BUY",
        type: "TAKE_PROFIT",
        quantity: "0.01",
        stopPrice: "1900",
        trailingDelta: "200",
        newOrderRespType: "RESULT",
      });
      assert.deepEqual(
        [buy.body.stopPrice, buy.body.trailingDelta, buy.body.trailingTime],
        ["1900.00000000", 200, -1],
      );
      const usdt = (
        (await hmac_call(node.running.port, "GET", "/api/v3/account", alice, {})).body.balances as {
          asset: string;
          locked: string;
        }[]
      ).find((b) => b.asset === "USDT");
      assert.equal(usdt?.locked, "19.38000000");
      // a new high of 2,100; then 1,995 = 2,100 × 0.95 fires the sell, which rests at its limit
      await trade_at("2100");
      await trade_at("1995.01");
      const fired_ms = await trade_at("1995");
      const fields = (o: Body) => [o.orderId, o.status, o.trailingDelta, o.trailingTime, o.workingTime];
      const expected = [
        [sell.body.orderId, "NEW", 500, placed_ms, fired_ms],
        [buy.body.orderId, "NEW", 200, -1, -1],
      ];
      const check = async () => {
        assert.deepEqual((await call("GET", "/api/v3/openOrders", alice, {})).body.map(fields), expected);
        for (const row of expected)
          assert.deepEqual(
            fields((await call("GET", "/api/v3/order", alice, { orderId: String(row[0]) })).body),
            row,
          );
        // a plain order shows neither field
        const all = (await call("GET", "/api/v3/allOrders", alice, {})).body;
        assert.deepEqual(all.map(fields), expected);
      };
      await check();
      assert.deepEqual(await reports(), [
        ["NEW", "NEW", sell.body.orderId, 500, placed_ms, false, undefined],
        ["NEW", "NEW", buy.body.orderId, 200, undefined, false, undefined],
      ]);
      await node.restarts(check);
      // a cancel shows them too (the triggered sell, resting at 1,800)
      const later = await listen(node.running.port, alice, ["x", "X", "i", "d", "D"]);
      const cancelled = (await call("DELETE", "/api/v3/order", alice, { orderId: String(sell.body.orderId) }))
        .body;
      assert.deepEqual(
        [cancelled.status, cancelled.trailingDelta, cancelled.trailingTime],
        ["CANCELED", 500, placed_ms],
      );
      // after the restart the engine still tracks: 1,900 starts the buy (low 1,900), 1,938 fires it
      const started_ms = await trade_at("1900");
      await trade_at("1937.99");
      await call("POST", "/api/v3/order", bob, {
        side: "SELL",
        type: "LIMIT",
        timeInForce: "GTC",
        price: "1950",
        quantity: "0.01",
      });
      await trade_at("1938");
      const done = (await call("GET", "/api/v3/order", alice, { orderId: String(buy.body.orderId) })).body;
      assert.deepEqual(fields(done), [buy.body.orderId, "EXPIRED", 200, started_ms, done.workingTime]);
      assert.ok((done.workingTime as number) >= started_ms);
      // its lock (19.38) bought nothing at 1,950: it expired, its lock released
      assert.equal(done.executedQty, "0.00990000");
      const seen = await later();
      assert.deepEqual(seen[0], ["CANCELED", "CANCELED", sell.body.orderId, 500, placed_ms]);
      assert.deepEqual(seen.at(-1), ["EXPIRED", "EXPIRED", buy.body.orderId, 200, started_ms]);
    });
  });

  it("iceberg orders: the book shows one part at a time; icebergQty in responses, GET order, openOrders and executionReport (F), across restarts", async () => {
    await on_own_node("hf-iceberg-", async (node) => {
      const [alice, bob] = node.users;
      const { call } = node;
      const get = async (path: string) =>
        (await (await fetch(`http://127.0.0.1:${node.running.port}${path}`)).json()) as Body;
      const info = ((await get("/api/v3/exchangeInfo?symbol=ETHUSDT")).symbols as Body[])[0] as Body & {
        filters: Body[];
      };
      assert.equal(info.icebergAllowed, true);
      assert.deepEqual(
        info.filters.find((f) => f.filterType === "ICEBERG_PARTS"),
        { filterType: "ICEBERG_PARTS", limit: 10 },
      );
      assert.deepEqual(
        info.filters.find((f) => f.filterType === "MAX_NUM_ICEBERG_ORDERS"),
        { filterType: "MAX_NUM_ICEBERG_ORDERS", maxNumIcebergOrders: 100 },
      );
      const reports = await listen(node.running.port, alice, ["x", "X", "i", "q", "F", "l"]);
      const ice = await call("POST", "/api/v3/order", alice, {
        side: "SELL",
        type: "LIMIT",
        timeInForce: "GTC",
        price: "2100",
        quantity: "1",
        icebergQty: "0.25",
        newOrderRespType: "RESULT",
      });
      assert.equal(ice.status, 200, JSON.stringify(ice.body));
      assert.equal(ice.body.icebergQty, "0.25000000");
      const plain = (
        await call("POST", "/api/v3/order", alice, {
          side: "SELL",
          type: "LIMIT",
          timeInForce: "GTC",
          price: "2200",
          quantity: "0.5",
          newOrderRespType: "RESULT",
        })
      ).body;
      assert.ok(!("icebergQty" in plain), "a plain order's response has none");
      const asks = async () => ((await get("/api/v3/depth?symbol=ETHUSDT")).asks as string[][]).slice(0, 2);
      assert.deepEqual(await asks(), [
        ["2100.00000000", "0.25000000"],
        ["2200.00000000", "0.50000000"],
      ]);
      // bob takes the first part and some of the next
      const taken = await call("POST", "/api/v3/order", bob, {
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        price: "2100",
        quantity: "0.4",
        newOrderRespType: "FULL",
      });
      assert.deepEqual(
        (taken.body.fills as Body[]).map((f) => f.qty),
        ["0.25000000", "0.15000000"],
      );
      const check = async () => {
        assert.deepEqual(await asks(), [
          ["2100.00000000", "0.10000000"],
          ["2200.00000000", "0.50000000"],
        ]);
        const open = (await call("GET", "/api/v3/openOrders", alice, {})).body;
        assert.deepEqual(
          open.map((o) => [o.orderId, o.icebergQty, o.executedQty]),
          [
            [ice.body.orderId, "0.25000000", "0.40000000"],
            [plain.orderId, "0.00000000", "0.00000000"],
          ],
        );
        for (const [id, qty] of [
          [ice.body.orderId, "0.25000000"],
          [plain.orderId, "0.00000000"],
        ])
          assert.equal(
            (await call("GET", "/api/v3/order", alice, { orderId: String(id) })).body.icebergQty,
            qty,
          );
      };
      await check();
      assert.deepEqual(await reports(), [
        ["NEW", "NEW", ice.body.orderId, "1.00000000", "0.25000000", "0.00000000"],
        ["NEW", "NEW", plain.orderId, "0.50000000", "0.00000000", "0.00000000"],
        ["TRADE", "PARTIALLY_FILLED", ice.body.orderId, "1.00000000", "0.25000000", "0.25000000"],
        ["TRADE", "PARTIALLY_FILLED", ice.body.orderId, "1.00000000", "0.25000000", "0.15000000"],
      ]);
      await node.restarts(check);
      const cancelled = (await call("DELETE", "/api/v3/order", alice, { orderId: String(ice.body.orderId) }))
        .body;
      assert.deepEqual([cancelled.status, cancelled.icebergQty], ["CANCELED", "0.25000000"]);
      assert.deepEqual(await asks(), [["2200.00000000", "0.50000000"]]);
    });
  });

  it("pegged orders: prices taken from the book; pegPriceType, pegOffset…, peggedPrice in responses, GET order, openOrders and executionReport (gP, gOT, gOV, gp), across restarts; PERCENT_PRICE_BY_SIDE and a MARKET order's NOTIONAL against the market's prices", async () => {
    await on_own_node("hf-peg-", async (node) => {
      const [alice, bob] = node.users;
      const { call } = node;
      const get = async (path: string) =>
        (await (await fetch(`http://127.0.0.1:${node.running.port}${path}`)).json()) as Body;
      const info = ((await get("/api/v3/exchangeInfo?symbol=ETHUSDT")).symbols as Body[])[0];
      assert.equal(info.pegInstructionsAllowed, true);
      const limit = (key: HmacKey, side: string, price: string, quantity: string) =>
        call("POST", "/api/v3/order", key, { side, type: "LIMIT", timeInForce: "GTC", price, quantity });
      for (const [price, qty] of [
        ["2100", "1"],
        ["2200", "0.5"],
      ])
        assert.equal((await limit(bob, "SELL", price, qty)).status, 200);
      assert.equal((await limit(bob, "BUY", "2000", "0.5")).status, 200);
      const reports = await listen(node.running.port, alice, ["x", "X", "i", "p", "gP", "gOT", "gOV", "gp"]);
      // joins the best bid; sent without a price (Binance shows 0)
      const joined = await call("POST", "/api/v3/order", alice, {
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "0.2",
        pegPriceType: "PRIMARY_PEG",
        newOrderRespType: "RESULT",
      });
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
      assert.deepEqual(
        [joined.body.price, joined.body.pegPriceType, joined.body.peggedPrice, joined.body.status],
        ["0.00000000", "PRIMARY_PEG", "2000.00000000", "NEW"],
      );
      assert.ok(!("pegOffsetType" in joined.body), "no offset sent, none shown");
      // a limit maker one level behind the best ask, with a price of its own (shown as sent)
      const behind = await call("POST", "/api/v3/order", alice, {
        side: "SELL",
        type: "LIMIT_MAKER",
        quantity: "0.1",
        price: "2500",
        pegPriceType: "PRIMARY_PEG",
        pegOffsetType: "PRICE_LEVEL",
        pegOffsetValue: "1",
        newOrderRespType: "RESULT",
      });
      assert.equal(behind.status, 200, JSON.stringify(behind.body));
      assert.deepEqual(
        [behind.body.price, behind.body.pegOffsetType, behind.body.pegOffsetValue, behind.body.peggedPrice],
        ["2500.00000000", "PRICE_LEVEL", 1, "2200.00000000"],
      );
      const book = await get("/api/v3/depth?symbol=ETHUSDT");
      assert.deepEqual(book.bids, [["2000.00000000", "0.70000000"]]);
      assert.deepEqual(book.asks, [
        ["2100.00000000", "1.00000000"],
        ["2200.00000000", "0.60000000"],
      ]);
      // MARKET_PEG IOC: the best ask and only that price
      const taken = await call("POST", "/api/v3/order", alice, {
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        quantity: "2",
        pegPriceType: "MARKET_PEG",
        newOrderRespType: "FULL",
      });
      assert.equal(taken.status, 200, JSON.stringify(taken.body));
      assert.deepEqual(
        [
          taken.body.status,
          taken.body.peggedPrice,
          (taken.body.fills as Body[]).map((f) => [f.price, f.qty]),
        ],
        ["EXPIRED", "2100.00000000", [["2100.00000000", "1.00000000"]]],
      );
      // nothing to peg to: a second bid level (journaled: the book decides)
      const seq = node.running.node.last_applied_seq;
      const none = await call("POST", "/api/v3/order", alice, {
        side: "SELL",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "0.1",
        pegPriceType: "MARKET_PEG",
        pegOffsetType: "PRICE_LEVEL",
        pegOffsetValue: "1",
      });
      assert.deepEqual(
        [none.status, none.body],
        [400, { code: -1112, msg: "No orders on book for symbol." }],
      );
      assert.equal(node.running.node.last_applied_seq, seq + 1);
      const peg_of = (o: Body) => [
        o.orderId,
        o.price,
        o.pegPriceType,
        o.pegOffsetType,
        o.pegOffsetValue,
        o.peggedPrice,
      ];
      const check = async () => {
        const open = (await call("GET", "/api/v3/openOrders", alice, {})).body;
        assert.deepEqual(open.map(peg_of), [
          [joined.body.orderId, "0.00000000", "PRIMARY_PEG", undefined, undefined, "2000.00000000"],
          [behind.body.orderId, "2500.00000000", "PRIMARY_PEG", "PRICE_LEVEL", 1, "2200.00000000"],
        ]);
        // an order that has ended: from the history
        const ended = (await call("GET", "/api/v3/order", alice, { orderId: String(taken.body.orderId) }))
          .body;
        assert.deepEqual(peg_of(ended), [
          taken.body.orderId,
          "0.00000000",
          "MARKET_PEG",
          undefined,
          undefined,
          "2100.00000000",
        ]);
        const all = (await call("GET", "/api/v3/allOrders", alice, {})).body;
        assert.deepEqual(all.map(peg_of), [peg_of(open[0]), peg_of(open[1]), peg_of(ended)]);
      };
      await check();
      assert.deepEqual(await reports(), [
        [
          "NEW",
          "NEW",
          joined.body.orderId,
          "0.00000000",
          "PRIMARY_PEG",
          undefined,
          undefined,
          "2000.00000000",
        ],
        [
          "NEW",
          "NEW",
          behind.body.orderId,
          "2500.00000000",
          "PRIMARY_PEG",
          "PRICE_LEVEL",
          1,
          "2200.00000000",
        ],
        ["NEW", "NEW", taken.body.orderId, "0.00000000", "MARKET_PEG", undefined, undefined, "2100.00000000"],
        // (a fill's report shows where the order stood after it; its expiry comes in its own report)
        [
          "TRADE",
          "PARTIALLY_FILLED",
          taken.body.orderId,
          "0.00000000",
          "MARKET_PEG",
          undefined,
          undefined,
          "2100.00000000",
        ],
        [
          "EXPIRED",
          "EXPIRED",
          taken.body.orderId,
          "0.00000000",
          "MARKET_PEG",
          undefined,
          undefined,
          "2100.00000000",
        ],
      ]);
      await node.restarts(check);
      const cancelled = (
        await call("DELETE", "/api/v3/order", alice, { orderId: String(joined.body.orderId) })
      ).body;
      assert.deepEqual(
        peg_of(cancelled),
        peg_of((await call("GET", "/api/v3/order", alice, { orderId: String(joined.body.orderId) })).body),
      );
      assert.equal(cancelled.status, "CANCELED");
      // an OTO: a MARKET_PEG working order buys bob's 0.5 at 2200; its PRIMARY_PEG pending limit maker
      // is placed once that has filled, at the best ask then (alice's own 0.1 at 2200)
      const oto = await call("POST", "/api/v3/orderList/oto", alice, {
        workingType: "LIMIT",
        workingSide: "BUY",
        workingQuantity: "0.5",
        workingTimeInForce: "GTC",
        workingPegPriceType: "MARKET_PEG",
        pendingType: "LIMIT_MAKER",
        pendingSide: "SELL",
        pendingQuantity: "0.5",
        pendingPegPriceType: "PRIMARY_PEG",
        newOrderRespType: "RESULT",
      });
      assert.equal(oto.status, 200, JSON.stringify(oto.body));
      const [working, pending] = oto.body.orderReports as Body[];
      assert.deepEqual(
        [working.status, working.peggedPrice, pending.status, pending.pegPriceType, "peggedPrice" in pending],
        ["FILLED", "2200.00000000", "PENDING_NEW", "PRIMARY_PEG", false],
      );
      const placed = (await call("GET", "/api/v3/order", alice, { orderId: String(pending.orderId) })).body;
      assert.deepEqual(
        [placed.status, placed.price, placed.peggedPrice],
        ["NEW", "0.00000000", "2200.00000000"],
      );
      // PERCENT_PRICE_BY_SIDE: a limit price within 0.2 to 5 times the reference price (the demo
      // market's mean trade price, between 2,000 and 2,200 here), else the last price
      assert.deepEqual(
        (info.filters as Body[]).find((f) => f.filterType === "PERCENT_PRICE_BY_SIDE"),
        {
          filterType: "PERCENT_PRICE_BY_SIDE",
          bidMultiplierUp: "5",
          bidMultiplierDown: "0.2",
          askMultiplierUp: "5",
          askMultiplierDown: "0.2",
          avgPriceMins: 0,
        },
      );
      const far = await call("POST", "/api/v3/order", alice, {
        side: "SELL",
        type: "LIMIT",
        timeInForce: "GTC",
        price: "399.99",
        quantity: "0.1",
      });
      assert.deepEqual(
        [far.status, far.body],
        [400, { code: -1013, msg: "Filter failure: PERCENT_PRICE_BY_SIDE" }],
      );
      // NOTIONAL on a MARKET order by quantity (applyMinToMarket, avgPriceMins 0: at the last price,
      // 2200 here): 0.002 ETH is 4.40 USDT, below minNotional
      assert.deepEqual(
        (info.filters as Body[]).find((f) => f.filterType === "NOTIONAL"),
        {
          filterType: "NOTIONAL",
          minNotional: "5.00000000",
          applyMinToMarket: true,
          maxNotional: "9000000000.00000000",
          applyMaxToMarket: false,
          avgPriceMins: 0,
        },
      );
      const small = await call("POST", "/api/v3/order", alice, {
        side: "SELL",
        type: "MARKET",
        quantity: "0.002",
      });
      assert.deepEqual([small.status, small.body], [400, { code: -1013, msg: "Filter failure: NOTIONAL" }]);
      // a peg parameter of a list is named as the list names it
      const refused = await call("POST", "/api/v3/orderList/oto", alice, {
        workingType: "LIMIT",
        workingSide: "BUY",
        workingQuantity: "0.5",
        workingTimeInForce: "GTC",
        workingPegPriceType: "PRIMARY_PEG",
        pendingType: "LIMIT_MAKER",
        pendingSide: "SELL",
        pendingQuantity: "0.5",
        pendingPegPriceType: "BEST",
      });
      assert.deepEqual(refused.body, {
        code: -1100,
        msg: "Illegal characters found in parameter 'pendingPegPriceType'; legal range is 'PRIMARY_PEG, MARKET_PEG'.",
      });
    });
  });

  it("self-trade prevention DECREMENT and TRANSFER: the maker stays open with less; preventedQuantity everywhere, TRADE_PREVENTION reports, across restarts", async () => {
    await on_own_node("hf-decrement-", async (node) => {
      const [alice] = node.users;
      const { call } = node;
      const port = () => node.running.port;
      const info = (
        (await (await fetch(`http://127.0.0.1:${port()}/api/v3/exchangeInfo?symbol=ETHUSDT`)).json()) as {
          symbols: Body[];
        }
      ).symbols[0];
      assert.deepEqual(info.allowedSelfTradePreventionModes, [
        "NONE",
        "EXPIRE_TAKER",
        "EXPIRE_MAKER",
        "EXPIRE_BOTH",
        "DECREMENT",
        "TRANSFER",
      ]);
      const usdt_locked = async () =>
        ((await hmac_call(port(), "GET", "/api/v3/account", alice, {})).body.balances as Body[]).find(
          (b) => b.asset === "USDT",
        )?.locked;
      const locked_before = Number(await usdt_locked());
      const reports = await listen(port(), alice, ["x", "X", "i", "q", "z", "v", "A", "B", "U"]);
      // Binance's scenario G: a resting bid of 0.6, a DECREMENT sell of 0.2 at its price
      const maker = (
        await call("POST", "/api/v3/order", alice, {
          side: "BUY",
          type: "LIMIT",
          timeInForce: "GTC",
          price: "2000",
          quantity: "0.6",
          selfTradePreventionMode: "TRANSFER",
          newOrderRespType: "RESULT",
        })
      ).body;
      const taker = await call("POST", "/api/v3/order", alice, {
        side: "SELL",
        type: "LIMIT",
        timeInForce: "GTC",
        price: "2000",
        quantity: "0.2",
        selfTradePreventionMode: "DECREMENT",
        newOrderRespType: "RESULT",
      });
      assert.equal(taker.status, 200, JSON.stringify(taker.body));
      assert.deepEqual(
        [
          taker.body.status,
          taker.body.executedQty,
          taker.body.selfTradePreventionMode,
          taker.body.preventedMatchId,
          taker.body.preventedQuantity,
        ],
        ["EXPIRED_IN_MATCH", "0.00000000", "DECREMENT", 0, "0.20000000"],
      );
      // TRANSFER on both: reported as TRANSFER (one account: what DECREMENT does); FULL lists the match
      const second = (
        await call("POST", "/api/v3/order", alice, {
          side: "SELL",
          type: "MARKET",
          quantity: "0.1",
          selfTradePreventionMode: "TRANSFER",
          newOrderRespType: "FULL",
        })
      ).body;
      assert.deepEqual(
        [second.status, second.fills, second.preventedMatches, second.preventedQuantity],
        [
          "EXPIRED_IN_MATCH",
          [],
          [
            {
              preventedMatchId: 1,
              makerOrderId: maker.orderId,
              price: "2000.00000000",
              takerPreventedQuantity: "0.10000000",
              makerPreventedQuantity: "0.10000000",
            },
          ],
          "0.10000000",
        ],
      );
      const check = async () => {
        const bids = (
          (await (await fetch(`http://127.0.0.1:${port()}/api/v3/depth?symbol=ETHUSDT`)).json()) as Body
        ).bids as string[][];
        assert.deepEqual(bids[0], ["2000.00000000", "0.30000000"]);
        // the lock follows: 0.3 ETH at 2000 more than before
        assert.equal(Number(await usdt_locked()) - locked_before, 600);
        const shown = (await call("GET", "/api/v3/order", alice, { orderId: String(maker.orderId) })).body;
        assert.deepEqual(
          [shown.status, shown.origQty, shown.executedQty, shown.preventedMatchId, shown.preventedQuantity],
          ["NEW", "0.60000000", "0.00000000", 1, "0.30000000"],
        );
        const open = (await call("GET", "/api/v3/openOrders", alice, {})).body.find(
          (o) => o.orderId === maker.orderId,
        );
        assert.deepEqual(
          [open?.origQty, open?.preventedMatchId, open?.preventedQuantity],
          ["0.60000000", 1, "0.30000000"],
        );
        const matches = (
          await call("GET", "/api/v3/myPreventedMatches", alice, { orderId: String(maker.orderId) })
        ).body;
        assert.deepEqual(
          matches.map((x) => [x.selfTradePreventionMode, x.takerPreventedQuantity, x.makerPreventedQuantity]),
          [
            ["DECREMENT", "0.20000000", "0.20000000"],
            ["TRANSFER", "0.10000000", "0.10000000"],
          ],
        );
      };
      await check();
      // [x, X, i, q, z, v, A, B, U]: a new order's report has no prevention fields
      const placed = (id: unknown, q: string) => [
        "NEW",
        "NEW",
        id,
        q,
        "0.00000000",
        ...Array(4).fill(undefined),
      ];
      const prevention = (X: string, id: unknown, q: string, v: number, A: string, B: string, U: unknown) => [
        "TRADE_PREVENTION",
        X,
        id,
        q,
        "0.00000000",
        v,
        A,
        B,
        U,
      ];
      const [m, t1, t2] = [maker.orderId, taker.body.orderId, second.orderId];
      assert.deepEqual(await reports(), [
        placed(m, "0.60000000"),
        placed(t1, "0.20000000"),
        // the maker first (reduced, still NEW), then the taker's end
        prevention("NEW", m, "0.60000000", 0, "0.20000000", "0.20000000", t1),
        prevention("EXPIRED_IN_MATCH", t1, "0.20000000", 0, "0.20000000", "0.20000000", m),
        placed(t2, "0.10000000"),
        // A: all prevention took from the maker so far
        prevention("NEW", m, "0.60000000", 1, "0.30000000", "0.10000000", t2),
        prevention("EXPIRED_IN_MATCH", t2, "0.10000000", 1, "0.10000000", "0.10000000", m),
      ]);
      await node.restarts(check);
      // an amend counts from origQty: 0.5 leaves 0.2 to work with (0.3 stays prevented)
      const amended = await call("PUT", "/api/v3/order/amend/keepPriority", alice, {
        orderId: String(maker.orderId),
        newQty: "0.5",
      });
      assert.equal(amended.status, 200, JSON.stringify(amended.body));
      const bids = (
        (await (await fetch(`http://127.0.0.1:${port()}/api/v3/depth?symbol=ETHUSDT`)).json()) as Body
      ).bids as string[][];
      assert.deepEqual(bids[0], ["2000.00000000", "0.20000000"]);
      const too_small = await call("PUT", "/api/v3/order/amend/keepPriority", alice, {
        orderId: String(maker.orderId),
        newQty: "0.3",
      });
      assert.equal(too_small.status, 400, JSON.stringify(too_small.body));
    });
  });

  it("OCO order lists: POST orderList/oco, the limit maker's trade expires the stop, DELETE orderList cancels both; listStatus events; GET orderList, allOrderList, openOrderList across restarts", async () => {
    await on_own_node("hf-oco-", async (node) => {
      const [alice, bob] = node.users;
      const { call } = node;
      const port = () => node.running.port;
      const info = await traded_at_2000(node);
      assert.equal(info.ocoAllowed, true);
      const eth_locked = async () =>
        Number(
          ((await hmac_call(port(), "GET", "/api/v3/account", alice, {})).body.balances as Body[]).find(
            (b) => b.asset === "ETH",
          )?.locked,
        );
      const locked_before = await eth_locked();
      const reports = await listen(port(), alice, ["x", "X", "i", "g"], {
        listStatus: ["g", "l", "L", "C", "O"],
      });
      const oco = (over: Record<string, string> = {}) =>
        call("POST", "/api/v3/orderList/oco", alice, {
          side: "SELL",
          quantity: "0.5",
          aboveType: "LIMIT_MAKER",
          abovePrice: "2200",
          belowType: "STOP_LOSS_LIMIT",
          belowStopPrice: "1900",
          belowPrice: "1850",
          belowTimeInForce: "GTC",
          ...over,
        });
      // refusals: Binance's codes, the OCO's own parameter names; nothing placed
      for (const [over, code, msg] of [
        [
          { aboveType: "" },
          -1102,
          "Mandatory parameter 'aboveType' was not sent, was empty/null, or malformed.",
        ],
        [
          { aboveType: "MARKET" },
          -1100,
          "Illegal characters found in parameter 'aboveType'; legal range is 'STOP_LOSS_LIMIT, STOP_LOSS, LIMIT_MAKER, TAKE_PROFIT, TAKE_PROFIT_LIMIT'.",
        ],
        [
          { abovePrice: "" },
          -1102,
          "Mandatory parameter 'abovePrice' was not sent, was empty/null, or malformed.",
        ],
        [{ belowStopPrice: "2100" }, -2010, "The relationship of the prices for the orders is not correct."],
      ] as const) {
        const r = await oco(over);
        assert.deepEqual([r.status, r.body.code, r.body.msg], [400, code, msg], JSON.stringify(over));
      }
      const placed = await oco({ listClientOrderId: "my-oco", newOrderRespType: "RESULT" });
      assert.equal(placed.status, 200, JSON.stringify(placed.body));
      const list = placed.body;
      const [above, below] = list.orders as Body[];
      assert.deepEqual(
        [list.contingencyType, list.listStatusType, list.listOrderStatus, list.listClientOrderId],
        ["OCO", "EXEC_STARTED", "EXECUTING", "my-oco"],
      );
      assert.deepEqual(
        (list.orderReports as Body[]).map((r) => [r.orderId, r.orderListId, r.type, r.status]),
        [
          [above.orderId, list.orderListId, "LIMIT_MAKER", "NEW"],
          [below.orderId, list.orderListId, "STOP_LOSS_LIMIT", "NEW"],
        ],
      );
      assert.equal((await eth_locked()) - locked_before, 0.5, "the quantity locked once");
      const open = (await call("GET", "/api/v3/openOrders", alice, {})).body;
      assert.deepEqual(
        open.map((o) => o.orderListId),
        [list.orderListId, list.orderListId],
      );
      // bob buys 0.2 from the limit maker: the stop expires, the list is done
      await call("POST", "/api/v3/order", bob, {
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        price: "2200",
        quantity: "0.2",
      });
      const check = async () => {
        const shown = (
          await hmac_call(port(), "GET", "/api/v3/orderList", alice, {
            orderListId: String(list.orderListId),
          })
        ).body;
        assert.deepEqual(
          [
            shown.listStatusType,
            shown.listOrderStatus,
            shown.listClientOrderId,
            (shown.orders as Body[]).length,
          ],
          ["ALL_DONE", "ALL_DONE", "my-oco", 2],
        );
        const stop = (await call("GET", "/api/v3/order", alice, { orderId: String(below.orderId) })).body;
        assert.deepEqual([stop.status, stop.orderListId], ["EXPIRED", list.orderListId]);
        const all = (await hmac_call(port(), "GET", "/api/v3/allOrderList", alice, {})).body;
        assert.deepEqual(
          all.map((l) => [l.orderListId, l.listOrderStatus]),
          [[list.orderListId, "ALL_DONE"]],
        );
        assert.deepEqual((await hmac_call(port(), "GET", "/api/v3/openOrderList", alice, {})).body, []);
        assert.equal((await eth_locked()) - locked_before, 0.3, "the limit maker's 0.3 left");
      };
      await check();
      const L = list.orderListId;
      const O = [above, below].map((o) => ({ s: "ETHUSDT", i: o.orderId, c: o.clientOrderId }));
      assert.deepEqual(await reports(), [
        ["NEW", "NEW", above.orderId, L],
        ["NEW", "NEW", below.orderId, L],
        ["listStatus", L, "EXEC_STARTED", "EXECUTING", "my-oco", O],
        ["TRADE", "PARTIALLY_FILLED", above.orderId, L],
        ["EXPIRED", "EXPIRED", below.orderId, L],
        ["listStatus", L, "ALL_DONE", "ALL_DONE", "my-oco", O],
      ]);
      await node.restarts(check);
      // a second list, pending across a restart, then cancelled whole by its list client order id
      // (the last price is 2200 now)
      const second_placed = await oco({ listClientOrderId: "second", abovePrice: "2300" });
      assert.equal(second_placed.status, 200, JSON.stringify(second_placed.body));
      const second = second_placed.body;
      await node.restarts(async () => {
        const pending = (await hmac_call(port(), "GET", "/api/v3/openOrderList", alice, {})).body;
        assert.deepEqual(
          pending.map((l) => [l.orderListId, l.listClientOrderId, l.listOrderStatus]),
          [[second.orderListId, "second", "EXECUTING"]],
        );
      });
      const cancelled = await call("DELETE", "/api/v3/orderList", alice, { listClientOrderId: "second" });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.deepEqual(
        [cancelled.body.listOrderStatus, (cancelled.body.orderReports as Body[]).map((r) => r.status)],
        ["ALL_DONE", ["CANCELED", "CANCELED"]],
      );
      const again = await call("DELETE", "/api/v3/orderList", alice, { listClientOrderId: "second" });
      assert.deepEqual([again.status, again.body.code], [400, -2011]);
      assert.equal((await eth_locked()) - locked_before, 0.3);
      // the deprecated POST order/oco (what python-binance's create_oco_order and older bots call): a
      // LIMIT_MAKER from price and limit…, a STOP_LOSS or with stopLimitPrice a STOP_LOSS_LIMIT from stop…
      const old_oco = (over: Record<string, string> = {}) =>
        call("POST", "/api/v3/order/oco", alice, {
          side: "SELL",
          quantity: "0.1",
          price: "2400",
          stopPrice: "2000",
          ...over,
        });
      for (const [over, code, msg] of [
        [
          { stopLimitPrice: "1990" },
          -1102,
          "Mandatory parameter 'stopLimitTimeInForce' was not sent, was empty/null, or malformed.",
        ],
        [{ stopLimitTimeInForce: "GTC" }, -1106, "Parameter 'stopLimitTimeInForce' sent when not required."],
        [
          { stopPrice: "" },
          -1102,
          "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.",
        ],
        [{ limitIcebergQty: "0.0001" }, -1013, "Filter failure: ICEBERG_PARTS"],
        [
          { aboveType: "LIMIT_MAKER" },
          -1104,
          "Not all sent parameters were read; read '7' parameter(s) but was sent '8'.",
        ],
        [{ price: "2100" }, -2010, "The relationship of the prices for the orders is not correct."],
      ] as const) {
        const r = await old_oco(over);
        assert.deepEqual([r.status, r.body.code, r.body.msg], [400, code, msg], JSON.stringify(over));
      }
      const old_placed = await old_oco({
        listClientOrderId: "old",
        limitClientOrderId: "old-limit",
        stopClientOrderId: "old-stop",
        stopLimitPrice: "1990",
        stopLimitTimeInForce: "GTC",
        newOrderRespType: "RESULT",
      });
      assert.equal(old_placed.status, 200, JSON.stringify(old_placed.body));
      assert.deepEqual(
        [old_placed.body.contingencyType, old_placed.body.listClientOrderId, old_placed.body.listOrderStatus],
        ["OCO", "old", "EXECUTING"],
      );
      assert.deepEqual(
        (old_placed.body.orderReports as Body[]).map((r) => [
          r.clientOrderId,
          r.type,
          r.side,
          r.price,
          r.stopPrice,
          r.origQty,
          r.timeInForce,
        ]),
        [
          ["old-limit", "LIMIT_MAKER", "SELL", "2400.00000000", undefined, "0.10000000", "GTC"],
          ["old-stop", "STOP_LOSS_LIMIT", "SELL", "1990.00000000", "2000.00000000", "0.10000000", "GTC"],
        ],
      );
      assert.equal(
        Math.round(((await eth_locked()) - locked_before) * 1e8) / 1e8,
        0.4,
        "0.1 locked once more",
      );
      const old_cancelled = await call("DELETE", "/api/v3/orderList", alice, { listClientOrderId: "old" });
      assert.deepEqual(
        [
          old_cancelled.body.listOrderStatus,
          (old_cancelled.body.orderReports as Body[]).map((r) => r.status),
        ],
        ["ALL_DONE", ["CANCELED", "CANCELED"]],
      );
      assert.equal((await eth_locked()) - locked_before, 0.3);
      // DELETE openOrders ends lists too and answers each once, as Binance does: the orders on their
      // own first (the first list's limit maker, its list long done, and a plain order), then the list
      const plain = (
        await call("POST", "/api/v3/order", alice, {
          side: "SELL",
          type: "LIMIT",
          timeInForce: "GTC",
          price: "2500",
          quantity: "0.1",
        })
      ).body;
      const swept_list = (await old_oco({ listClientOrderId: "swept" })).body;
      const swept = (await call("DELETE", "/api/v3/openOrders", alice, {})).body as Body[];
      assert.deepEqual(
        swept.map((x) =>
          x.orderReports === undefined
            ? [x.orderId, x.orderListId, x.status]
            : [
                x.orderListId,
                x.contingencyType,
                x.listClientOrderId,
                x.listOrderStatus,
                (x.orders as Body[]).map((o) => o.orderId),
                (x.orderReports as Body[]).map((r) => [r.orderId, r.orderListId, r.status]),
              ],
        ),
        [
          [above.orderId, list.orderListId, "CANCELED"],
          [plain.orderId, -1, "CANCELED"],
          [
            swept_list.orderListId,
            "OCO",
            "swept",
            "ALL_DONE",
            (swept_list.orders as Body[]).map((o) => o.orderId),
            (swept_list.orders as Body[]).map((o) => [o.orderId, swept_list.orderListId, "CANCELED"]),
          ],
        ],
      );
      assert.equal(await eth_locked(), locked_before);
    });
  });

  it("OTO and OTOCO order lists: POST orderList/oto and otoco, pending orders PENDING_NEW until the working order fills; listStatus; GET orderList, openOrderList, DELETE orderList across restarts", async () => {
    await on_own_node("hf-oto-", async (node) => {
      const [alice, bob] = node.users;
      const { call } = node;
      const port = () => node.running.port;
      const info = await traded_at_2000(node);
      assert.deepEqual([info.ocoAllowed, info.otoAllowed], [true, true]);
      const reports = await listen(port(), alice, ["x", "X", "i", "g"], {
        listStatus: ["c", "l", "L", "C", "O"],
      });
      // buy 0.5 at 1900; once bought, sell it at 2100
      const oto = (over: Record<string, string> = {}) =>
        call("POST", "/api/v3/orderList/oto", alice, {
          workingType: "LIMIT",
          workingSide: "BUY",
          workingPrice: "1900",
          workingQuantity: "0.5",
          workingTimeInForce: "GTC",
          pendingType: "LIMIT_MAKER",
          pendingSide: "SELL",
          pendingPrice: "2100",
          pendingQuantity: "0.5",
          ...over,
        });
      for (const [over, code, msg] of [
        [
          { workingType: "MARKET" },
          -1100,
          "Illegal characters found in parameter 'workingType'; legal range is 'LIMIT, LIMIT_MAKER'.",
        ],
        [
          { pendingQuantity: "" },
          -1102,
          "Mandatory parameter 'pendingQuantity' was not sent, was empty/null, or malformed.",
        ],
        [
          { workingTimeInForce: "" },
          -1102,
          "Mandatory parameter 'workingTimeInForce' was not sent, was empty/null, or malformed.",
        ],
        [{ workingStopPrice: "1" }, -1104, null],
      ] as const) {
        const r = await oto(over);
        assert.deepEqual(
          [r.status, r.body.code, msg === null ? null : r.body.msg],
          [400, code, msg],
          JSON.stringify([over, r.body]),
        );
      }
      const placed = await oto({ listClientOrderId: "my-oto", newOrderRespType: "RESULT" });
      assert.equal(placed.status, 200, JSON.stringify(placed.body));
      const list = placed.body;
      const [working, pending] = list.orders as Body[];
      assert.deepEqual(
        [list.contingencyType, list.listStatusType, list.listOrderStatus, list.listClientOrderId],
        ["OTO", "EXEC_STARTED", "EXECUTING", "my-oto"],
      );
      assert.deepEqual(
        (list.orderReports as Body[]).map((r) => [
          r.orderId,
          r.orderListId,
          r.type,
          r.status,
          r.workingTime === -1,
        ]),
        [
          [working.orderId, list.orderListId, "LIMIT", "NEW", false],
          [pending.orderId, list.orderListId, "LIMIT_MAKER", "PENDING_NEW", true],
        ],
      );
      const open = (await call("GET", "/api/v3/openOrders", alice, {})).body;
      assert.deepEqual(
        open.map((o) => [o.orderId, o.status, o.isWorking, o.orderListId]),
        [
          [working.orderId, "NEW", true, list.orderListId],
          [pending.orderId, "PENDING_NEW", false, list.orderListId],
        ],
      );
      const shown_pending = (await call("GET", "/api/v3/order", alice, { orderId: String(pending.orderId) }))
        .body;
      assert.deepEqual(
        [shown_pending.status, shown_pending.isWorking, shown_pending.workingTime],
        ["PENDING_NEW", false, -1],
      );
      // bob sells 0.5 at 1900: the working order fills, the pending order goes on the book
      await call("POST", "/api/v3/order", bob, {
        side: "SELL",
        type: "LIMIT",
        timeInForce: "IOC",
        price: "1900",
        quantity: "0.5",
      });
      const check = async () => {
        const shown = (
          await hmac_call(port(), "GET", "/api/v3/orderList", alice, {
            orderListId: String(list.orderListId),
          })
        ).body;
        assert.deepEqual(
          [shown.contingencyType, shown.listOrderStatus, (shown.orders as Body[]).map((o) => o.orderId)],
          ["OTO", "ALL_DONE", [working.orderId, pending.orderId]],
        );
        const now = (await call("GET", "/api/v3/order", alice, { orderId: String(pending.orderId) })).body;
        assert.deepEqual([now.status, now.isWorking, now.orderListId], ["NEW", true, list.orderListId]);
        assert.ok((now.workingTime as number) > 0);
        const book = (
          (await (
            await fetch(`http://127.0.0.1:${port()}/api/v3/depth?symbol=ETHUSDT&limit=5000`)
          ).json()) as {
            asks: [string, string][];
          }
        ).asks;
        assert.ok(
          book.some(([price]) => Number(price) === 2100),
          "the pending order rests in the book",
        );
        // myTrades names the list of an order in one
        const trades = (await call("GET", "/api/v3/myTrades", alice, {})).body;
        assert.deepEqual(
          trades.filter((t) => t.orderId === working.orderId).map((t) => t.orderListId),
          [list.orderListId],
        );
        assert.ok(trades.filter((t) => t.orderId !== working.orderId).every((t) => t.orderListId === -1));
      };
      await check();
      const L = list.orderListId;
      const O = [working, pending].map((o) => ({ s: "ETHUSDT", i: o.orderId, c: o.clientOrderId }));
      assert.deepEqual(await reports(), [
        ["NEW", "NEW", working.orderId, L],
        ["NEW", "PENDING_NEW", pending.orderId, L],
        ["listStatus", "OTO", "EXEC_STARTED", "EXECUTING", "my-oto", O],
        ["TRADE", "FILLED", working.orderId, L],
        ["NEW", "NEW", pending.orderId, L],
        ["listStatus", "OTO", "ALL_DONE", "ALL_DONE", "my-oto", O],
      ]);
      await node.restarts(check);
      // an OTOCO: buy 0.2 at 1850; once bought, sell at 2100 (limit maker) or stop out at 1800. The
      // last price is 1900: the pair's prices are either side of it.
      const otoco = await call("POST", "/api/v3/orderList/otoco", alice, {
        listClientOrderId: "bracket",
        workingType: "LIMIT",
        workingSide: "BUY",
        workingPrice: "1850",
        workingQuantity: "0.2",
        workingTimeInForce: "GTC",
        pendingSide: "SELL",
        pendingQuantity: "0.2",
        pendingAboveType: "LIMIT_MAKER",
        pendingAbovePrice: "2100",
        pendingBelowType: "STOP_LOSS_LIMIT",
        pendingBelowStopPrice: "1800",
        pendingBelowPrice: "1790",
        pendingBelowTimeInForce: "GTC",
      });
      assert.equal(otoco.status, 200, JSON.stringify(otoco.body));
      assert.deepEqual(
        [otoco.body.contingencyType, (otoco.body.orderReports as Body[]).map((r) => r.status)],
        ["OTO", ["NEW", "PENDING_NEW", "PENDING_NEW"]],
      );
      const bracket_ids = (otoco.body.orders as Body[]).map((o) => o.orderId);
      await node.restarts(async () => {
        const lists = (await hmac_call(port(), "GET", "/api/v3/openOrderList", alice, {})).body;
        assert.deepEqual(
          lists.map((l) => [
            l.listClientOrderId,
            l.contingencyType,
            (l.orders as Body[]).map((o) => o.orderId),
          ]),
          [["bracket", "OTO", bracket_ids]],
        );
      });
      // amend keep priority on the pending pair's stop: both of the pair take the new quantity
      // (Binance: "amending either order affects both orders"); a new client id brings listStatus UPDATED
      const amends = await listen(port(), alice, ["x", "X", "i", "c", "q"], { listStatus: ["l", "L"] });
      const amended = await call("PUT", "/api/v3/order/amend/keepPriority", alice, {
        orderId: String(bracket_ids[2]),
        newQty: "0.1",
        newClientOrderId: "smaller-stop",
      });
      assert.equal(amended.status, 200, JSON.stringify(amended.body));
      const partner = (await call("GET", "/api/v3/order", alice, { orderId: String(bracket_ids[1]) })).body;
      assert.deepEqual([partner.status, partner.origQty], ["PENDING_NEW", "0.10000000"]);
      assert.deepEqual(
        (await amends()).map((r) => (r[0] === "listStatus" ? r : [r[0], r[1], r[2], r[4]])),
        [
          ["REPLACED", "PENDING_NEW", bracket_ids[2], "0.10000000"],
          ["listStatus", "UPDATED", "EXECUTING"],
          ["REPLACED", "PENDING_NEW", bracket_ids[1], "0.10000000"],
        ],
      );
      // both ids given: the list with that id, if its list client id is that one (Binance)
      const otoco_id = String(otoco.body.orderListId);
      const mismatched = await call("DELETE", "/api/v3/orderList", alice, {
        orderListId: otoco_id,
        listClientOrderId: "my-oto",
      });
      assert.deepEqual([mismatched.status, mismatched.body.code], [400, -2011]);
      const shown_mismatched = await hmac_call(port(), "GET", "/api/v3/orderList", alice, {
        orderListId: otoco_id,
        origClientOrderId: "my-oto",
      });
      assert.deepEqual([shown_mismatched.status, shown_mismatched.body.code], [400, -2011]);
      const cancelled = await call("DELETE", "/api/v3/orderList", alice, {
        orderListId: otoco_id,
        listClientOrderId: "bracket",
      });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.deepEqual(
        [
          cancelled.body.listOrderStatus,
          (cancelled.body.orderReports as Body[]).map((r) => [r.orderId, r.status]),
        ],
        ["ALL_DONE", bracket_ids.map((id) => [id, "CANCELED"])],
      );
      // an OPO: the working order's proceeds are the pending order's quantity (alice's free ETH pays
      // the fee, as Binance's OPO FAQ has it)
      assert.equal(info.opoAllowed, true);
      assert.equal(info.pegInstructionsAllowed, true);
      const opo_params = {
        workingType: "LIMIT",
        workingSide: "BUY",
        workingPrice: "1850",
        workingQuantity: "0.1",
        workingTimeInForce: "GTC",
        pendingType: "LIMIT_MAKER",
        pendingSide: "SELL",
        pendingPrice: "2100",
        newOrderRespType: "RESULT",
      };
      const wrong_side = await call("POST", "/api/v3/orderList/opo", alice, {
        ...opo_params,
        workingSide: "SELL",
      });
      assert.deepEqual([wrong_side.status, wrong_side.body.code], [400, -1106]);
      const opo = await call("POST", "/api/v3/orderList/opo", alice, opo_params);
      assert.equal(opo.status, 200, JSON.stringify(opo.body));
      const [opo_working, opo_pending] = opo.body.orderReports as Body[];
      assert.deepEqual(
        [opo_working.status, opo_pending.status, opo_pending.origQty],
        ["NEW", "PENDING_NEW", "0.00000000"],
      );
      await call("POST", "/api/v3/order", bob, {
        side: "SELL",
        type: "LIMIT",
        timeInForce: "IOC",
        price: "1850",
        quantity: "0.1",
      });
      const fee = (
        await call("GET", "/api/v3/myTrades", alice, { orderId: String(opo_working.orderId) })
      ).body
        .map((t) => Number(t.commission))
        .reduce((a, b) => a + b, 0);
      const sized = (await call("GET", "/api/v3/order", alice, { orderId: String(opo_pending.orderId) }))
        .body;
      assert.deepEqual([sized.status, sized.origQty], ["NEW", "0.10000000"]);
      assert.ok(fee > 0, "a fee was paid");
      // a refused pair: a sell's stop above the last price
      const bad_pair = await call("POST", "/api/v3/orderList/otoco", alice, {
        workingType: "LIMIT_MAKER",
        workingSide: "BUY",
        workingPrice: "1850",
        workingQuantity: "0.2",
        pendingSide: "SELL",
        pendingQuantity: "0.2",
        pendingAboveType: "LIMIT_MAKER",
        pendingAbovePrice: "2100",
        pendingBelowType: "STOP_LOSS",
        pendingBelowStopPrice: "1950",
      });
      assert.deepEqual(
        [bad_pair.status, bad_pair.body.code, bad_pair.body.msg],
        [400, -2010, "The relationship of the prices for the orders is not correct."],
      );
    });
  });
});

describe("Binance's Price Range Execution Rule", () => {
  it("executionRules, referencePrice (and its calculation, REST, WebSocket API, stream); a taker expires at the range with expiryReason / eR, in answers and queries, across restarts; admin price-range", async () => {
    await on_own_node("hf-range-", async (node) => {
      const [alice, bob] = node.users;
      const { call } = node;
      const get = async (path: string) => {
        const r = await fetch(`http://127.0.0.1:${node.running.port}${path}`);
        return { status: r.status, body: (await r.json()) as Body };
      };
      const rule = {
        ruleType: "PRICE_RANGE",
        bidLimitMultUp: "1.1500",
        bidLimitMultDown: "0.8500",
        askLimitMultUp: "1.1500",
        askLimitMultDown: "0.8500",
      };
      // the demo markets have the rule: 0.85-1.15 × the mean trade price over 80 buckets of 3,750 ms
      assert.deepEqual((await get("/api/v3/executionRules?symbol=ETHUSDT")).body, {
        symbolRules: [{ symbol: "ETHUSDT", rules: [rule] }],
      });
      const all = (await get("/api/v3/executionRules")).body.symbolRules as Body[];
      assert.deepEqual(
        all.map((r) => r.symbol),
        ["BTCUSDT", "ETHUSDT", "ETHBTC"],
      );
      assert.deepEqual((await get("/api/v3/referencePrice/calculation?symbol=ETHUSDT")).body, {
        symbol: "ETHUSDT",
        calculationType: "ARITHMETIC_MEAN",
        bucketCount: 80,
        bucketWidthMs: 3750,
      });
      const before_trades = (await get("/api/v3/referencePrice?symbol=ETHUSDT")).body;
      assert.equal(before_trades.referencePrice, null, "no trade yet: no reference price");
      assert.equal(typeof before_trades.timestamp, "number");

      const limit = (key: HmacKey, side: string, price: string, quantity: string, tif = "GTC") =>
        call("POST", "/api/v3/order", key, { side, type: "LIMIT", timeInForce: tif, price, quantity });
      for (const price of ["2000", "2100"]) {
        assert.equal((await limit(bob, "SELL", price, "0.01")).status, 200);
        const bought = await call("POST", "/api/v3/order", alice, {
          side: "BUY",
          type: "MARKET",
          quantity: "0.01",
        });
        assert.equal(bought.body.status, "FILLED");
      }
      assert.equal((await get("/api/v3/referencePrice?symbol=ETHUSDT")).body.referencePrice, "2050.00000000");
      // 1.15 × 2050 = 2357.5: the ask at 2400 is out of a buy's range
      for (const price of ["2300", "2400"])
        assert.equal((await limit(bob, "SELL", price, "0.1")).status, 200);
      const reports = await listen(node.running.port, alice, ["x", "X", "i", "eR"]);
      const swept = await call("POST", "/api/v3/order", alice, {
        side: "BUY",
        type: "MARKET",
        quantity: "0.2",
        newOrderRespType: "FULL",
      });
      assert.equal(swept.status, 200, JSON.stringify(swept.body));
      assert.deepEqual(
        [swept.body.status, swept.body.executedQty, swept.body.expiryReason],
        ["EXPIRED", "0.10000000", "EXECUTION_RULE_PRICE_RANGE_EXCEEDED"],
      );
      assert.deepEqual(
        (swept.body.fills as Body[]).map((f) => f.price),
        ["2300.00000000"],
      );
      const id = swept.body.orderId as number;
      assert.deepEqual((await get("/api/v3/depth?symbol=ETHUSDT")).body.asks, [
        ["2400.00000000", "0.10000000"],
      ]);
      // an IOC that finds nothing at its price: Binance's UNFILLED_IOC_QUANTITY_EXPIRED
      const ioc = await call("POST", "/api/v3/order", alice, {
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        price: "2000",
        quantity: "0.1",
        newOrderRespType: "RESULT",
      });
      assert.deepEqual(
        [ioc.body.status, ioc.body.expiryReason],
        ["EXPIRED", "UNFILLED_IOC_QUANTITY_EXPIRED"],
      );
      assert.deepEqual(await reports(), [
        ["NEW", "NEW", id, undefined],
        ["TRADE", "PARTIALLY_FILLED", id, undefined],
        ["EXPIRED", "EXPIRED", id, "EXECUTION_RULE_PRICE_RANGE_EXCEEDED"],
        ["NEW", "NEW", ioc.body.orderId, undefined],
        ["EXPIRED", "EXPIRED", ioc.body.orderId, "UNFILLED_IOC_QUANTITY_EXPIRED"],
      ]);
      // (2000 + 2100 + 2300) / 3, in ticks of 0.01 with four more decimals
      const reference = "2133.33333300";
      await node.restarts(async () => {
        const order = await call("GET", "/api/v3/order", alice, { orderId: String(id) });
        assert.deepEqual(
          [order.body.status, order.body.expiryReason],
          ["EXPIRED", "EXECUTION_RULE_PRICE_RANGE_EXCEEDED"],
        );
        const orders = (await call("GET", "/api/v3/allOrders", alice, {})).body as Body[];
        assert.deepEqual(
          orders.map((o) => o.expiryReason),
          [undefined, undefined, "EXECUTION_RULE_PRICE_RANGE_EXCEEDED", "UNFILLED_IOC_QUANTITY_EXPIRED"],
        );
        // the buckets are engine state: the same reference after a restart
        assert.equal((await get("/api/v3/referencePrice?symbol=ETHUSDT")).body.referencePrice, reference);
      });

      // the WebSocket API's methods and the stream
      const ws_api = new WebSocket(`ws://127.0.0.1:${node.running.port}/ws-api/v3`);
      const answers: Body[] = [];
      ws_api.on("message", (d) => answers.push(JSON.parse(d.toString()) as Body));
      await new Promise((resolve) => ws_api.on("open", resolve));
      for (const [n, method] of ["executionRules", "referencePrice", "referencePrice.calculation"].entries())
        ws_api.send(JSON.stringify({ id: n, method, params: { symbol: "ETHUSDT" } }));
      const stream = new WebSocket(`ws://127.0.0.1:${node.running.port}/ws/ethusdt@referencePrice`);
      const pushed: Body[] = [];
      stream.on("message", (d) => pushed.push(JSON.parse(d.toString()) as Body));
      const deadline = Date.now() + 5000;
      while ((answers.length < 3 || pushed.length === 0) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      ws_api.close();
      stream.close();
      const by_id = (n: number) => answers.find((a) => a.id === n)?.result as Body;
      assert.deepEqual(by_id(0), { symbolRules: [{ symbol: "ETHUSDT", rules: [rule] }] });
      assert.equal(by_id(1).referencePrice, reference);
      assert.equal(by_id(2).bucketWidthMs, 3750);
      assert.deepEqual([pushed[0].e, pushed[0].s, pushed[0].r], ["referencePrice", "ETHUSDT", reference]);
      assert.equal(typeof pushed[0].t, "number");

      // bad input: Binance's codes
      assert.equal((await get("/api/v3/referencePrice")).body.code, -1102);
      assert.equal((await get("/api/v3/referencePrice?symbol=NOPE")).body.code, -1121);
      assert.equal(
        (await get("/api/v3/executionRules?symbol=ETHUSDT&symbolStatus=TRADING")).body.code,
        -1128,
      );
      assert.equal(
        (await get("/api/v3/referencePrice/calculation?symbol=ETHUSDT&symbolStatus=HALT")).body.code,
        -1220,
      );
      assert.equal(
        (await get("/api/v3/referencePrice/calculation?symbol=ETHUSDT&symbolStatus=NOPE")).body.code,
        -1100,
      );
      assert.equal((await get("/api/v3/referencePrice?symbol=ETHUSDT&limit=5")).body.code, -1104);

      // the operator changes the rule, then removes it
      const admin = (body: unknown) =>
        admin_request(node.running.admin_socket, "POST", "/v1/price-range", body);
      const refused = await admin({
        symbol: "ETHUSDT",
        bucket_count: 80,
        bucket_width_ms: 3750,
        bid_up: "0.9",
      });
      assert.equal((refused.body as Body).applied, false, "an up multiplier below 1");
      assert.equal(
        (await admin({ symbol: "ETHUSDT", bucket_count: 80, bucket_width_ms: 3750, bid_up: "1.x" })).status,
        400,
      );
      const wider = await admin({
        symbol: "ETHUSDT",
        bucket_count: 80,
        bucket_width_ms: 3750,
        bid_up: "1.2",
      });
      assert.equal((wider.body as Body).applied, true);
      assert.deepEqual((await get("/api/v3/executionRules?symbol=ETHUSDT")).body, {
        symbolRules: [{ symbol: "ETHUSDT", rules: [{ ruleType: "PRICE_RANGE", bidLimitMultUp: "1.2000" }] }],
      });
      assert.equal(
        (await get("/api/v3/referencePrice?symbol=ETHUSDT")).body.referencePrice,
        reference,
        "only the multipliers changed: the reference goes on",
      );
      // 1.2 × 2133.33 = 2560: the ask at 2400 can be taken now, and one at 2450 with it; each fill's
      // report says where the order stood after it (z, Z, X), as Binance's do
      assert.equal((await limit(bob, "SELL", "2450", "0.1")).status, 200);
      const fills = await listen(node.running.port, alice, ["x", "X", "l", "z", "Z"]);
      const taken = await call("POST", "/api/v3/order", alice, {
        side: "BUY",
        type: "MARKET",
        quantity: "0.2",
      });
      assert.equal(taken.body.status, "FILLED");
      assert.deepEqual((await fills()).slice(1), [
        ["TRADE", "PARTIALLY_FILLED", "0.10000000", "0.10000000", "240.00000000"],
        ["TRADE", "FILLED", "0.10000000", "0.20000000", "485.00000000"],
      ]);
      assert.equal(
        ((await admin({ symbol: "ETHUSDT", bucket_count: 0, bucket_width_ms: 0 })).body as Body).applied,
        true,
      );
      assert.deepEqual((await get("/api/v3/executionRules?symbol=ETHUSDT")).body, {
        symbolRules: [{ symbol: "ETHUSDT", rules: [] }],
      });
      for (const path of [
        "/api/v3/referencePrice?symbol=ETHUSDT",
        "/api/v3/referencePrice/calculation?symbol=ETHUSDT",
      ])
        assert.deepEqual(await get(path), {
          status: 400,
          body: { code: -2043, msg: "This symbol doesn't have a reference price." },
        });
    });
  });
});
