/**
 * Binance's own client, @binance/connector 3.6.1 (pinned), unchanged but for its base URL, against a
 * real node in demo mode: public REST, HMAC- and Ed25519-signed trading, and balances that match the
 * engine to the unit. (Its market streams, user data and WebSocket API come with those servers.)
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Spot, WebsocketAPI, WebsocketStream } from "@binance/connector";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { units_to_decimal } from "../../src/engine/decimal.js";
import { pad8 } from "../../src/gateway/market_data.js";
import type { RunningNode } from "../../src/server/start.js";
import { demo_node } from "../helpers/nodes.js";

type Data = Record<string, unknown>;
const data = async (p: Promise<{ data: unknown }>): Promise<Data & Data[]> => (await p).data as Data & Data[];

describe("@binance/connector 3.6.1", () => {
  let node_handle: Awaited<ReturnType<typeof demo_node>>;
  let running: RunningNode;
  let creds: DemoCredentials;

  before(async () => {
    node_handle = await demo_node("hf-connector-");
    running = node_handle.running;
    creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as DemoCredentials;
  });
  after(async () => {
    await node_handle.remove();
  });

  it("public REST: time, exchangeInfo, depth, tickers", async () => {
    const client = new Spot("", "", { baseURL: creds.baseUrl });
    assert.ok(Math.abs(((await data(client.time())).serverTime as number) - Date.now()) < 5000);
    const info = await data(client.exchangeInfo({ symbols: ["BTCUSDT", "ETHBTC"] }));
    assert.deepEqual(
      (info.symbols as { symbol: string }[]).map((s) => s.symbol),
      ["BTCUSDT", "ETHBTC"],
    );
    const depth = await data(client.depth("BTCUSDT", { limit: 5 }));
    assert.deepEqual(depth, { lastUpdateId: 0, bids: [], asks: [] });
    assert.deepEqual(await data(client.tickerPrice("ETHUSDT")), { symbol: "ETHUSDT", price: "0.00000000" });
  });

  it("HMAC and Ed25519 signed trading; balances equal the engine's to the unit", async () => {
    const [alice, bob] = creds.users;
    const a = new Spot(alice.apiKey, alice.secretKey, { baseURL: creds.baseUrl });
    const b = new Spot(bob.ed25519.apiKey, "", {
      baseURL: creds.baseUrl,
      privateKey: bob.ed25519.privateKeyPem,
      privateKeyAlgo: "Ed25519",
    });
    const resting = await data(
      a.newOrder("ETHUSDT", "BUY", "LIMIT", {
        price: "2500.5",
        quantity: "1.2345",
        timeInForce: "GTC",
        newClientOrderId: "c-1",
      }),
    );
    assert.equal(resting.status, "NEW");
    const open = await data(a.openOrders({ symbol: "ETHUSDT" }));
    assert.equal(open.length, 1);
    const taker = await data(b.newOrder("ETHUSDT", "SELL", "MARKET", { quantity: "1" }));
    assert.equal(taker.status, "FILLED");
    assert.equal(taker.cummulativeQuoteQty, "2500.50000000");
    const cancelled = await data(a.cancelOrder("ETHUSDT", { origClientOrderId: "c-1" }));
    assert.equal(cancelled.status, "CANCELED");
    assert.equal(cancelled.executedQty, "1.00000000");

    const engine = running.node.engine;
    for (const [client, account_of] of [
      [a, alice],
      [b, bob],
    ] as const) {
      const acct = await data(client.account());
      const account = acct.uid as number;
      assert.ok(engine.api_keys.by_key.get(account_of.apiKey)?.account === account);
      for (const bal of acct.balances as { asset: string; free: string; locked: string }[]) {
        const asset = engine.assets.findIndex((x) => x.name === bal.asset);
        const dec = engine.assets[asset].decimals;
        assert.equal(bal.free, pad8(units_to_decimal(engine.ledger.free(account, asset), dec)));
        assert.equal(bal.locked, pad8(units_to_decimal(engine.ledger.locked(account, asset), dec)));
      }
    }
    // alice placed one order in this test, and it traded: Binance's unfilled order count takes an
    // order off at its first fill, so none counts (in whichever windows are current now)
    const counts = (await data(a.orderCount())) as unknown as Data[];
    assert.deepEqual(
      counts.map((c) => [c.rateLimitType, c.interval, c.intervalNum, typeof c.limit]),
      [
        ["ORDERS", "SECOND", 10, "number"],
        ["ORDERS", "DAY", 1, "number"],
      ],
    );
    assert.deepEqual(
      counts.map((c) => c.count),
      [0, 0],
    );
    // bob sold 1 ETH at 2,500.50 and paid the 0.1% taker fee in USDT
    const bob_usdt = ((await data(b.account())).balances as { asset: string; free: string }[]).find(
      (x) => x.asset === "USDT",
    );
    assert.equal(bob_usdt?.free, "1002497.99950000");
    // the wallet's coin list, the key's permissions and the account's status
    const coins = (await data(a.coinInfo())) as unknown as Data[];
    const usdt = coins.find((c) => c.coin === "USDT");
    const alice_usdt = ((await data(a.account())).balances as { asset: string; free: string }[]).find(
      (x) => x.asset === "USDT",
    );
    assert.deepEqual([usdt?.free, usdt?.trading], [alice_usdt?.free, true]);
    const permissions = await data(b.apiPermissions());
    assert.deepEqual(
      [permissions.enableReading, permissions.enableSpotAndMarginTrading, permissions.ipRestrict],
      [true, true, false],
    );
    assert.deepEqual(await data(a.accountStatus()), { data: "Normal" });
  });

  it("errors come back as Binance's {code,msg}", async () => {
    const [alice] = creds.users;
    const a = new Spot(alice.apiKey, "wrong-secret", { baseURL: creds.baseUrl });
    await assert.rejects(a.account(), (e: { response: { status: number; data: Data } }) => {
      assert.equal(e.response.status, 400);
      assert.deepEqual(e.response.data, { code: -1022, msg: "Signature for this request is not valid." });
      return true;
    });
  });
});

/** The connector logs every frame to the console by default; the tests keep quiet. */
const quiet = { info() {}, warn() {}, error() {}, debug() {}, log() {} };

describe("@binance/connector 3.6.1 WebSocket clients", () => {
  let node_handle: Awaited<ReturnType<typeof demo_node>>;
  let creds: DemoCredentials;

  before(async () => {
    node_handle = await demo_node("hf-connector-ws-");
    creds = JSON.parse(
      readFileSync(node_handle.running.credentials_file as string, "utf8"),
    ) as DemoCredentials;
  });
  after(async () => {
    await node_handle.remove();
  });

  it("WebsocketStream: /ws/<stream> on first call, SUBSCRIBE for the next; trades and depth arrive", async () => {
    const [alice, bob] = creds.users;
    const received: Data[] = [];
    let opened!: () => void;
    const open = new Promise<void>((r) => {
      opened = r;
    });
    const stream = new WebsocketStream({
      wsURL: creds.wsUrl,
      logger: quiet,
      callbacks: { open: () => opened(), message: (d) => received.push(JSON.parse(d) as Data) },
    });
    stream.trade("BTCUSDT"); // connects to /ws/btcusdt@trade
    await open;
    stream.diffBookDepth("BTCUSDT", "100ms"); // sent as a SUBSCRIBE on the open connection
    stream.kline("BTCUSDT", "1m");
    await until(() => received.filter((m) => m.result === null).length === 2);

    const a = new Spot(alice.apiKey, alice.secretKey, { baseURL: creds.baseUrl });
    const b = new Spot(bob.apiKey, bob.secretKey, { baseURL: creds.baseUrl });
    await a.newOrder("BTCUSDT", "BUY", "LIMIT", { price: "61000", quantity: "0.5", timeInForce: "GTC" });
    await b.newOrder("BTCUSDT", "SELL", "MARKET", { quantity: "0.2" });
    await until(
      () =>
        received.some((m) => m.e === "trade") &&
        received.some((m) => m.e === "depthUpdate") &&
        received.some((m) => m.e === "kline"),
    );
    const trade = received.find((m) => m.e === "trade") as Data;
    assert.equal(trade.s, "BTCUSDT");
    assert.equal(trade.p, "61000.00000000");
    assert.equal(trade.q, "0.20000000");
    assert.equal(trade.m, true, "the buyer was the maker");
    // the depth diffs, in order, leave 0.3 bid at 61,000
    const diffs = received.filter((m) => m.e === "depthUpdate");
    const last_bid = diffs.flatMap((d) => d.b as string[][]).at(-1);
    assert.deepEqual(last_bid, ["61000.00000000", "0.30000000"]);
    // the trade's minute (if a new minute began meanwhile, it follows quiet, at the trade's price)
    const klines = received.filter((m) => m.e === "kline").map((m) => (m as { k: Data }).k);
    const kline = klines.filter((k) => (k.n as number) > 0).at(-1) as Data;
    assert.equal(kline.c, "61000.00000000");
    assert.equal(kline.v, "0.20000000");
    for (const later of klines.filter((k) => (k.t as number) > (kline.t as number)))
      assert.deepEqual([later.c, later.v, later.n], ["61000.00000000", "0.00000000", 0]);
    stream.disconnect();
  });

  it("WebsocketAPI: HMAC-signed order.place, order.status, openOrders, order.cancel, account, a listenKey stream", async () => {
    const [alice] = creds.users;
    const pending = new Map<string, (m: Data) => void>();
    const all: Data[] = [];
    let opened!: () => void;
    const open = new Promise<void>((r) => {
      opened = r;
    });
    const api = new WebsocketAPI(alice.apiKey, alice.secretKey, {
      wsURL: `${creds.wsUrl}/ws-api/v3`,
      logger: quiet,
      callbacks: {
        open: () => opened(),
        message: (d) => {
          const m = JSON.parse(d) as Data;
          all.push(m);
          pending.get(m.id as string)?.(m);
        },
      },
    });
    await open;
    let n = 0;
    /** Each connector call carries an id; its answer comes back on the socket with that id. */
    const call = (send: (id: string) => void): Promise<Data> =>
      new Promise((resolve) => {
        const id = `t${n++}`;
        pending.set(id, resolve);
        send(id);
      });

    const time = await call((id) => api.time({ id }));
    assert.equal(time.status, 200);
    // market data over the WebSocket API: the stream test's one trade, 0.2 at 61,000
    api.avgPrice("BTCUSDT"); // takes no id: its answer is found by its content
    await until(() => all.some((m) => (m.result as Data | null)?.mins !== undefined));
    const avg = (all.find((m) => (m.result as Data | null)?.mins !== undefined) as Data).result as Data;
    assert.equal(avg.mins, 5);
    assert.equal(avg.price, "61000.00000000");
    // the trade's minute first (the market's first trade), then any quiet minutes since, at its price
    const candles = (await call((id) => api.uiKlines("BTCUSDT", "1m", { id }))).result as string[][];
    assert.ok(candles.length >= 1 && candles.length <= 3, `${candles.length} klines`);
    assert.equal(candles[0][4], "61000.00000000");
    assert.equal(candles[0][5], "0.20000000");
    for (const quiet of candles.slice(1))
      assert.deepEqual([quiet[4], quiet[5]], ["61000.00000000", "0.00000000"]);
    const placed = await call((id) =>
      api.newOrder("ETHUSDT", "BUY", "LIMIT", {
        id,
        price: 2400,
        quantity: 0.5,
        timeInForce: "GTC",
        newClientOrderId: "ws-api-1",
      }),
    );
    assert.equal(placed.status, 200, JSON.stringify(placed));
    const order = placed.result as Data;
    assert.equal(order.status, "NEW");
    assert.equal(order.clientOrderId, "ws-api-1");
    const status = await call((id) => api.getOrder("ETHUSDT", { id, orderId: order.orderId }));
    assert.equal((status.result as Data).origQty, "0.50000000");
    const open_orders = await call((id) => api.openOrders("ETHUSDT", { id }));
    assert.deepEqual(
      (open_orders.result as Data[]).map((o) => o.clientOrderId),
      ["ws-api-1"],
    );
    const account = (await call((id) => api.account({ id }))).result as Data;
    const usdt = (account.balances as Data[]).find((x) => x.asset === "USDT") as Data;
    // 0.5 × 2,400 for this order, plus 0.3 × 61,000 still resting from the stream test
    assert.equal(usdt.locked, "19500.00000000");

    // userDataStream.start takes no id from the caller: find its answer by its content
    api.startUserDataStream();
    await until(() => all.some((m) => typeof (m.result as Data | null)?.listenKey === "string"));
    const started = all.find((m) => typeof (m.result as Data | null)?.listenKey === "string") as Data;
    const listen_key = (started.result as Data).listenKey as string;
    const reports: Data[] = [];
    let user_open!: () => void;
    const user_opened = new Promise<void>((r) => {
      user_open = r;
    });
    const user = new WebsocketStream({
      wsURL: creds.wsUrl,
      logger: quiet,
      callbacks: { open: () => user_open(), message: (d) => reports.push(JSON.parse(d) as Data) },
    });
    user.userData(listen_key);
    await user_opened;
    api.pingUserDataStream(listen_key);

    const cancelled = await call((id) => api.cancelOrder("ETHUSDT", { id, origClientOrderId: "ws-api-1" }));
    assert.equal((cancelled.result as Data).status, "CANCELED");
    await until(() => reports.some((m) => m.e === "executionReport"));
    const report = reports.find((m) => m.e === "executionReport") as Data;
    assert.equal(report.x, "CANCELED");
    assert.equal(report.C, "ws-api-1", "a cancel report names the original client order id");
    api.stopUserDataStream(listen_key);
    await until(() => !user.isConnected() || all.filter((m) => m.status === 200).length >= 9);
    user.disconnect();
    assert.deepEqual(
      all.filter((m) => m.status !== 200 && m.id !== undefined && !String(m.id).startsWith("t")),
      [],
      "userDataStream.start/ping/stop all answered 200",
    );

    const refused = await call((id) =>
      api.newOrder("ETHUSDT", "BUY", "LIMIT", { id, price: 1, quantity: 1 }),
    );
    assert.equal(refused.status, 400);
    assert.deepEqual((refused.error as Data).code, -1102);
    api.disconnect();
  });
});

async function until(done: () => boolean, timeout_ms = 5000): Promise<void> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > timeout_ms) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}
