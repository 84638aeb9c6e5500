/**
 * ccxt 4.5.84 (pinned), unchanged but for its URLs and the options docs/reference/binance-spot-api.md
 * lists, against a real node in demo mode: every REST call the issue names that the server has today.
 * Balances and fills ccxt reports must match the engine exactly. (ccxt.pro's watch* methods come with
 * the WebSocket server; editOrder with cancelReplace.)
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import ccxt from "ccxt";
import { admin_request } from "../../src/admin/client.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import type { RunningNode } from "../../src/server/start.js";
import { demo_node } from "../helpers/nodes.js";

describe("ccxt 4.5.84 (REST)", () => {
  let node_handle: Awaited<ReturnType<typeof demo_node>>;
  let running: RunningNode;
  let alice: InstanceType<typeof ccxt.binance>;
  let bob: InstanceType<typeof ccxt.binance>;

  before(async () => {
    node_handle = await demo_node("hf-ccxt-");
    running = node_handle.running;
    const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as DemoCredentials;
    const H = creds.baseUrl;
    const make = (u: DemoCredentials["users"][number]) =>
      new ccxt.binance({
        apiKey: u.apiKey,
        secret: u.secretKey,
        urls: { api: { public: `${H}/api/v3`, private: `${H}/api/v3`, sapi: `${H}/sapi/v1` } },
        options: {
          fetchMarkets: { types: ["spot"] },
          // fetchCurrencies left on (ccxt's default): loadMarkets reads /sapi/v1/capital/config/getall
          // fetchMargins left on too: the margin pairs are none
          fetchOpenOrders: { warnWithoutSymbol: false },
        },
      });
    alice = make(creds.users[0]);
    bob = make(creds.users[1]);
    await alice.loadMarkets();
    await bob.loadMarkets();
  });
  after(async () => {
    await node_handle.remove();
  });

  it("loadMarkets, fetchTime, fetchStatus: markets with Binance's precision and limits", async () => {
    assert.deepEqual(Object.keys(alice.markets ?? {}).sort(), ["BTC/USDT", "ETH/BTC", "ETH/USDT"]);
    const m = alice.market("BTC/USDT");
    assert.equal(m.active, true);
    assert.equal(m.precision.price, 0.01);
    assert.equal(m.precision.amount, 0.00001);
    assert.equal(m.limits.cost?.min, 5);
    // the currencies, from the wallet's coin list (ccxt adds its own BNFCR): every asset, tradable,
    // no blockchain networks
    for (const code of ["BTC", "ETH", "USDT"]) {
      const c = alice.currency(code);
      assert.deepEqual(
        [c.id, c.active, c.type, c.networks, (c.info as { coin?: string }).coin],
        [code, true, "crypto", {}, code],
      );
    }
    assert.ok(Math.abs(((await alice.fetchTime()) as number) - Date.now()) < 5000);
    assert.equal((await alice.fetchStatus()).status, "ok");
    // the fees each market charges (Binance's /sapi/v1/asset/tradeFee)
    const fee = await alice.fetchTradingFee("BTC/USDT");
    assert.deepEqual([fee.symbol, fee.maker, fee.taker], ["BTC/USDT", 0.001, 0.001]);
    const fees = await alice.fetchTradingFees();
    assert.deepEqual(Object.keys(fees).sort(), ["BTC/USDT", "ETH/BTC", "ETH/USDT"]);
  });

  it("orders of every type, order book, fills, balances, history", async () => {
    const buy = await alice.createOrder("BTC/USDT", "limit", "buy", 0.01, 60000);
    assert.equal(buy.status, "open");
    const maker_only = await alice.createOrder("BTC/USDT", "limit", "buy", 0.002, 59000, { postOnly: true });
    assert.equal(maker_only.status, "open");
    const book = await alice.fetchOrderBook("BTC/USDT", 5);
    assert.deepEqual(book.bids, [
      [60000, 0.01],
      [59000, 0.002],
    ]);
    assert.equal((await alice.fetchOpenOrders("BTC/USDT")).length, 2);

    const sell = await bob.createOrder("BTC/USDT", "market", "sell", 0.004);
    assert.equal(sell.status, "closed");
    assert.equal(sell.filled, 0.004);
    assert.equal(sell.cost, 240);
    assert.deepEqual(
      sell.trades.map((t) => [t.price, t.amount, t.fee?.cost, t.fee?.currency]),
      [[60000, 0.004, 0.24, "USDT"]],
    );
    const fetched = await alice.fetchOrder(buy.id as string, "BTC/USDT");
    assert.equal(fetched.filled, 0.004);
    assert.equal(fetched.remaining, 0.006);

    const stop = await bob.createOrder("BTC/USDT", "STOP_LOSS_LIMIT", "sell", 0.001, 50000, {
      stopPrice: 50001,
    });
    assert.equal(stop.status, "open");
    // a trailing stop as ccxt makes one: trailingPercent 2 -> STOP_LOSS_LIMIT with trailingDelta 200
    const trailing = await bob.createOrder("BTC/USDT", "limit", "sell", 0.001, 50000, {
      trailingPercent: 2,
      stopLossOrTakeProfit: "stopLoss",
    });
    assert.equal(trailing.status, "open");
    assert.deepEqual(
      [trailing.info.type, trailing.info.trailingDelta, trailing.info.trailingTime === -1],
      ["STOP_LOSS_LIMIT", 200, false],
    );
    const by_cost = await bob.createOrder(
      "BTC/USDT",
      "market",
      "buy",
      undefined as unknown as number,
      undefined,
      {
        quoteOrderQty: 30,
      },
    );
    assert.equal(by_cost.status, "expired", "no asks: a market buy by amount expires unfilled");

    const cancelled = await alice.cancelOrder(maker_only.id as string, "BTC/USDT");
    assert.equal(cancelled.status, "canceled");
    const all = await alice.cancelAllOrders("BTC/USDT");
    assert.equal(all.length, 1);
    assert.equal((await alice.fetchOpenOrders()).length, 0);

    const orders = await alice.fetchOrders("BTC/USDT");
    assert.deepEqual(
      orders.map((o) => o.status),
      ["canceled", "canceled"],
    );
    const mine = await alice.fetchMyTrades("BTC/USDT");
    assert.deepEqual(
      mine.map((t) => [t.side, t.price, t.amount, t.takerOrMaker, t.fee?.cost, t.fee?.currency]),
      [["buy", 60000, 0.004, "maker", 0.000004, "BTC"]],
    );

    // balances as ccxt reports them equal the engine's, unit for unit
    const e = running.node.engine;
    const uid = (await alice.fetchBalance()).info.uid as number;
    const bal = (await alice.fetchBalance()) as unknown as Record<
      "free" | "used" | "total",
      Record<string, number>
    >;
    for (const asset of e.assets) {
      assert.equal(bal.free[asset.name], e.ledger.free(uid, asset.id) / 10 ** asset.decimals, asset.name);
      assert.equal(bal.used[asset.name], e.ledger.locked(uid, asset.id) / 10 ** asset.decimals, asset.name);
    }
    assert.equal(bal.total.BTC, 10.003996);
    assert.equal(bal.total.USDT, 999760);
  });

  it("fetchTicker, fetchTrades, fetchOHLCV", async () => {
    const t = await alice.fetchTicker("BTC/USDT");
    assert.equal(t.last, 60000);
    assert.equal(t.baseVolume, 0.004);
    // ccxt's rolling-window ticker (GET /api/v3/ticker), one and several markets
    const rolling = await alice.fetchTicker("BTC/USDT", { rolling: true, windowSize: "4h" });
    assert.deepEqual([rolling.last, rolling.baseVolume, rolling.quoteVolume], [60000, 0.004, 240]);
    const tickers = await alice.fetchTickers(["BTC/USDT", "ETH/USDT"], { rolling: true });
    assert.deepEqual(Object.keys(tickers).sort(), ["BTC/USDT", "ETH/USDT"]);
    assert.equal(tickers["BTC/USDT"].last, 60000);
    const trades = await alice.fetchTrades("BTC/USDT");
    assert.deepEqual(
      trades.map((x) => [x.price, x.amount, x.side]),
      [[60000, 0.004, "sell"]],
    );
    // the trade's minute (the market's first), then any quiet minute since, at its price (Binance's)
    const candles = await alice.fetchOHLCV("BTC/USDT", "1m");
    assert.ok(candles.length >= 1 && candles.length <= 3, `${candles.length} candles`);
    assert.deepEqual(candles[0].slice(1), [60000, 60000, 60000, 60000, 0.004]);
    for (const quiet of candles.slice(1)) assert.deepEqual(quiet.slice(1), [60000, 60000, 60000, 60000, 0]);
  });

  it("editOrder (cancelReplace): the old order is cancelled and the new one placed in one command", async () => {
    const first = await alice.createOrder("ETH/USDT", "limit", "buy", 1, 2000);
    const edited = await alice.editOrder(first.id as string, "ETH/USDT", "limit", "buy", 2, 1990);
    assert.equal(edited.status, "open");
    assert.equal(edited.price, 1990);
    assert.equal(edited.amount, 2);
    const old = await alice.fetchOrder(first.id as string, "ETH/USDT");
    assert.equal(old.status, "canceled");
    const open = await alice.fetchOpenOrders("ETH/USDT");
    assert.deepEqual(
      open.map((o) => o.id),
      [edited.id],
    );
    // the order to replace is gone: STOP_ON_FAILURE places nothing; Binance's -2022 with the details
    await assert.rejects(
      alice.editOrder(first.id as string, "ETH/USDT", "limit", "buy", 1, 1980),
      (e: Error) => {
        assert.ok(e instanceof ccxt.ExchangeError);
        assert.match(e.message, /"code":-2022.*"cancelResult":"FAILURE","newOrderResult":"NOT_ATTEMPTED"/);
        return true;
      },
    );
    assert.equal((await alice.fetchOpenOrders("ETH/USDT")).length, 1);
    await alice.cancelAllOrders("ETH/USDT");
  });

  it("order lists through ccxt's implicit API (orderList/oco, the deprecated order/oco, orderList/otoco); cancelAllOrders ends them", async () => {
    // a last price for the OCO's price rule: bob sells 0.01 ETH to alice at 2000
    await bob.createOrder("ETH/USDT", "limit", "sell", 0.01, 2000);
    await alice.createOrder("ETH/USDT", "market", "buy", 0.01);
    const oco = (await alice.privatePostOrderListOco({
      symbol: "ETHUSDT",
      side: "SELL",
      quantity: "0.1",
      aboveType: "LIMIT_MAKER",
      abovePrice: "2500",
      belowType: "STOP_LOSS",
      belowStopPrice: "1500",
    })) as { orderListId: number; contingencyType: string; orderReports: { type: string }[] };
    assert.deepEqual(
      [oco.contingencyType, oco.orderReports.map((r) => r.type)],
      ["OCO", ["LIMIT_MAKER", "STOP_LOSS"]],
    );
    const old = (await alice.privatePostOrderOco({
      symbol: "ETHUSDT",
      side: "BUY",
      quantity: "0.1",
      price: "1800",
      stopPrice: "2200",
      stopLimitPrice: "2210",
      stopLimitTimeInForce: "GTC",
    })) as { orderListId: number; orderReports: { type: string }[] };
    assert.deepEqual(
      old.orderReports.map((r) => r.type),
      ["STOP_LOSS_LIMIT", "LIMIT_MAKER"],
    );
    const otoco = (await alice.privatePostOrderListOtoco({
      symbol: "ETHUSDT",
      workingType: "LIMIT",
      workingSide: "BUY",
      workingPrice: "1900",
      workingQuantity: "0.1",
      workingTimeInForce: "GTC",
      pendingSide: "SELL",
      pendingQuantity: "0.1",
      pendingAboveType: "LIMIT_MAKER",
      pendingAbovePrice: "2400",
      pendingBelowType: "STOP_LOSS",
      pendingBelowStopPrice: "1700",
    })) as { orderListId: number; orderReports: { status: string }[] };
    assert.deepEqual(
      otoco.orderReports.map((r) => r.status),
      ["NEW", "PENDING_NEW", "PENDING_NEW"],
    );
    const open = await alice.fetchOpenOrders("ETH/USDT");
    assert.equal(open.length, 7, JSON.stringify(open.map((o) => [o.id, o.type, o.status])));
    // Binance's answer to DELETE openOrders has one entry per list (with its orderReports); ccxt
    // returns each entry as an order, the answer in its info
    const ended = (await alice.cancelAllOrders("ETH/USDT")).map(
      (o) => o.info as { orderListId: number; orderReports?: unknown[] },
    );
    assert.deepEqual(
      ended.map((x) => [x.orderListId, x.orderReports?.length]),
      [
        [oco.orderListId, 2],
        [old.orderListId, 2],
        [otoco.orderListId, 3],
      ],
    );
    assert.deepEqual(await alice.fetchOpenOrders("ETH/USDT"), []);
  });

  it("fetchDeposits, fetchWithdrawals: the wallet's histories", async () => {
    // the demo funded each user with one deposit of each asset; none has withdrawn
    const deposits = await alice.fetchDeposits();
    assert.deepEqual(deposits.map((d) => [d.currency, d.amount, d.type, d.status, d.internal]).sort(), [
      ["BTC", 10, "deposit", "ok", true],
      ["ETH", 100, "deposit", "ok", true],
      ["USDT", 1000000, "deposit", "ok", true],
    ]);
    assert.ok(
      deposits.every(
        (d) => typeof d.id === "string" && Math.abs((d.timestamp as number) - Date.now()) < 3_600_000,
      ),
    );
    assert.deepEqual(
      (await alice.fetchDeposits("BTC")).map((d) => d.amount),
      [10],
    );
    assert.deepEqual(await alice.fetchWithdrawals(), []);
    const uid = (await alice.privateGetAccount()).uid as number;
    const done = await admin_request(running.admin_socket, "POST", "/v1/withdraw", {
      account: uid,
      asset: "ETH",
      amount: "1.5",
    });
    assert.equal((done.body as { applied?: boolean }).applied, true, JSON.stringify(done.body));
    const withdrawals = await alice.fetchWithdrawals("ETH");
    assert.deepEqual(
      withdrawals.map((w) => [w.currency, w.amount, w.type, w.status, w.fee?.cost, w.internal]),
      [["ETH", 1.5, "withdrawal", "ok", 0, true]],
    );
    assert.ok(Math.abs((withdrawals[0].timestamp as number) - Date.now()) < 60_000);
  });

  it("errors map to ccxt's exception classes", async () => {
    await assert.rejects(alice.createOrder("ETH/BTC", "limit", "buy", 1000, 0.05), ccxt.InsufficientFunds);
    await assert.rejects(alice.fetchOrder("999999", "BTC/USDT"), ccxt.OrderNotFound);
    await assert.rejects(alice.cancelOrder("999999", "BTC/USDT"), ccxt.OrderNotFound);
  });
});
