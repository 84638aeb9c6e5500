/**
 * Binance's current connector, @binance/spot 32.0.4 (pinned; it replaced @binance/connector, and
 * Binance retired the listenKey endpoints that one uses on 2026-02-20), unchanged but for its URLs,
 * against a real node in demo mode: REST signed with HMAC and with Ed25519, order amendment, the
 * WebSocket API's two user data subscriptions (a signed one on any key, and one on a session logged
 * on with Ed25519) and the market streams. Balances and fills it reports equal the engine's.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import {
  BadRequestError,
  SpotRestAPI as R,
  SpotWebsocketStreams as S,
  Spot,
  SpotWebsocketAPI as W,
} from "@binance/spot";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { units_to_decimal } from "../../src/engine/decimal.js";
import { pad8 } from "../../src/gateway/market_data.js";
import type { RunningNode } from "../../src/server/start.js";
import { demo_node } from "../helpers/nodes.js";
import { until } from "../helpers/wait.js";

// The connector logs every connection at "info" through a logger of its own that reads LOG_LEVEL
// when first used; the tests keep quiet.
process.env.LOG_LEVEL = "error";

type Data = Record<string, unknown>;
type User = DemoCredentials["users"][number];

describe("@binance/spot 32.0.4", () => {
  let node_handle: Awaited<ReturnType<typeof demo_node>>;
  let running: RunningNode;
  let creds: DemoCredentials;

  before(async () => {
    node_handle = await demo_node("hf-binance-spot-");
    running = node_handle.running;
    creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as DemoCredentials;
  });
  after(async () => {
    await node_handle.remove();
  });

  /** A client of one user: HMAC, or its Ed25519 key (REST and WebSocket API alike). */
  const client = (user: User, key: "hmac" | "ed25519"): Spot => {
    const auth =
      key === "hmac"
        ? { apiKey: user.apiKey, apiSecret: user.secretKey }
        : { apiKey: user.ed25519.apiKey, privateKey: user.ed25519.privateKeyPem };
    return new Spot({
      configurationRestAPI: { ...auth, basePath: creds.baseUrl, retries: 0 },
      configurationWebsocketAPI: { ...auth, wsURL: `${creds.wsUrl}/ws-api/v3` },
      configurationWebsocketStreams: { wsURL: creds.wsUrl },
    });
  };

  /** Every balance the account reports equals the engine's, to the unit. */
  const assert_balances = (account: number, balances: { a?: string; f?: string; l?: string }[]): void => {
    const engine = running.node.engine;
    assert.ok(balances.length > 0);
    for (const b of balances) {
      const asset = engine.assets.findIndex((x) => x.name === b.a);
      assert.ok(asset >= 0, `asset ${b.a}`);
      const dec = engine.assets[asset].decimals;
      assert.equal(b.f, pad8(units_to_decimal(engine.ledger.free(account, asset), dec)), `${b.a} free`);
      assert.equal(b.l, pad8(units_to_decimal(engine.ledger.locked(account, asset), dec)), `${b.a} locked`);
    }
  };

  it("REST: HMAC and Ed25519 signing, amend keeping priority, cancel-replace; balances equal the engine's", async () => {
    const [alice, bob] = creds.users;
    const a = client(alice, "hmac").restAPI;
    const b = client(bob, "ed25519").restAPI;
    const info = await (await a.exchangeInfo({ symbols: ["ETHUSDT"] })).data();
    assert.deepEqual(
      info.symbols?.map((s) => [s.symbol, s.status]),
      [["ETHUSDT", "TRADING"]],
    );

    const placed = await (
      await a.newOrder({
        symbol: "ETHUSDT",
        side: R.NewOrderSideEnum.BUY,
        type: R.NewOrderTypeEnum.LIMIT,
        timeInForce: R.NewOrderTimeInForceEnum.GTC,
        price: 2500.5,
        quantity: 1.2345,
        newClientOrderId: "spot-1",
      })
    ).data();
    assert.equal(placed.status, "NEW");
    const amended = await (
      await a.orderAmendKeepPriority({
        symbol: "ETHUSDT",
        orderId: placed.orderId as number,
        newQty: 1.2,
        newClientOrderId: "spot-1b",
      })
    ).data();
    assert.deepEqual(
      [amended.amendedOrder?.qty, amended.amendedOrder?.clientOrderId],
      ["1.20000000", "spot-1b"],
    );
    const amendments = await (
      await a.orderAmendments({ symbol: "ETHUSDT", orderId: placed.orderId as number })
    ).data();
    assert.deepEqual(
      amendments.map((x) => [x.origClientOrderId, x.newClientOrderId, x.origQty, x.newQty]),
      [["spot-1", "spot-1b", "1.23450000", "1.20000000"]],
    );

    const taker = await (
      await b.newOrder({
        symbol: "ETHUSDT",
        side: R.NewOrderSideEnum.SELL,
        type: R.NewOrderTypeEnum.MARKET,
        quantity: 1,
        newOrderRespType: R.NewOrderNewOrderRespTypeEnum.FULL,
      })
    ).data();
    assert.equal(taker.status, "FILLED");
    assert.equal(taker.cummulativeQuoteQty, "2500.50000000");
    assert.deepEqual(
      taker.fills?.map((f) => [f.price, f.qty, f.commission, f.commissionAsset]),
      [["2500.50000000", "1.00000000", "2.50050000", "USDT"]],
    );

    // the rest (0.2) replaced by a bid one tick higher
    const replaced = await (
      await a.orderCancelReplace({
        symbol: "ETHUSDT",
        side: R.OrderCancelReplaceSideEnum.BUY,
        type: R.OrderCancelReplaceTypeEnum.LIMIT,
        timeInForce: R.OrderCancelReplaceTimeInForceEnum.GTC,
        price: 2500.51,
        quantity: 0.2,
        cancelReplaceMode: R.OrderCancelReplaceCancelReplaceModeEnum.STOP_ON_FAILURE,
        cancelOrigClientOrderId: "spot-1b",
        newClientOrderId: "spot-2",
      })
    ).data();
    assert.deepEqual(
      [replaced.cancelResult, replaced.newOrderResult, replaced.cancelResponse?.executedQty],
      ["SUCCESS", "SUCCESS", "1.00000000"],
    );
    const open = await (await a.getOpenOrders({ symbol: "ETHUSDT" })).data();
    assert.deepEqual(
      open.map((o) => [o.clientOrderId, o.price, o.origQty]),
      [["spot-2", "2500.51000000", "0.20000000"]],
    );
    const trades = await (await b.myTrades({ symbol: "ETHUSDT" })).data();
    assert.deepEqual(
      trades.map((t) => [t.price, t.qty, t.isBuyer, t.isMaker]),
      [["2500.50000000", "1.00000000", false, false]],
    );

    for (const [rest, user] of [
      [a, alice],
      [b, bob],
    ] as const) {
      const account = await (await rest.getAccount()).data();
      assert.equal(running.node.engine.api_keys.by_key.get(user.apiKey)?.account, account.uid);
      assert_balances(
        account.uid as number,
        (account.balances ?? []).map((x) => ({ a: x.asset, f: x.free, l: x.locked })),
      );
    }

    // a refusal is the connector's own error type carrying Binance's code and message
    const wrong = new Spot({
      configurationRestAPI: {
        apiKey: alice.apiKey,
        apiSecret: "wrong-secret",
        basePath: creds.baseUrl,
        retries: 0,
      },
    });
    await assert.rejects(wrong.restAPI.getAccount(), (e: BadRequestError & { code?: number }) => {
      assert.ok(e instanceof BadRequestError);
      assert.deepEqual([e.code, e.message], [-1022, "Signature for this request is not valid."]);
      return true;
    });
  });

  it("WebSocket API: a signed user data subscription (HMAC) and one on an Ed25519 session both hear the fill", async () => {
    const [, , carol] = creds.users;
    const [alice] = creds.users;
    const maker = await client(alice, "hmac").websocketAPI.connect();
    const taker = await client(carol, "ed25519").websocketAPI.connect();
    try {
      const maker_events: Data[] = [];
      const signed = await maker.userDataStreamSubscribeSignature();
      assert.equal(typeof signed.response.data.subscriptionId, "number");
      signed.stream.on("message", (e) => {
        maker_events.push(e as unknown as Data);
      });

      const logon = await taker.sessionLogon();
      const session = Array.isArray(logon) ? logon[0] : logon;
      assert.equal(session.data.apiKey, carol.ed25519.apiKey);
      const taker_events: Data[] = [];
      const own = await taker.userDataStreamSubscribe();
      own.stream.on("message", (e) => {
        taker_events.push(e as unknown as Data);
      });
      const subscriptions = await taker.sessionSubscriptions();
      assert.equal(subscriptions.data.length, 1);

      const resting = await maker.orderPlace({
        symbol: "BTCUSDT",
        side: W.OrderPlaceSideEnum.SELL,
        type: W.OrderPlaceTypeEnum.LIMIT,
        timeInForce: W.OrderPlaceTimeInForceEnum.GTC,
        price: 62000,
        quantity: 0.25,
        newClientOrderId: "spot-ws-1",
      });
      assert.equal(resting.data.status, "NEW");
      // carol's session is logged on: the connector sends this order unsigned
      const filled = await taker.orderPlace({
        symbol: "BTCUSDT",
        side: W.OrderPlaceSideEnum.BUY,
        type: W.OrderPlaceTypeEnum.MARKET,
        quoteOrderQty: 6200,
        newOrderRespType: W.OrderPlaceNewOrderRespTypeEnum.FULL,
      });
      assert.deepEqual([filled.data.status, filled.data.executedQty], ["FILLED", "0.10000000"]);

      const trade_report = (events: Data[], client_id: string | undefined) =>
        events.find((e) => e.e === "executionReport" && e.x === "TRADE" && e.c === client_id) ?? null;
      const maker_trade = await until("the maker's trade report", 5000, () =>
        trade_report(maker_events, "spot-ws-1"),
      );
      assert.deepEqual(
        [maker_trade.X, maker_trade.l, maker_trade.L, maker_trade.z, maker_trade.m],
        ["PARTIALLY_FILLED", "0.10000000", "62000.00000000", "0.10000000", true],
      );
      const taker_trade = await until("the taker's trade report", 5000, () =>
        trade_report(taker_events, filled.data.clientOrderId),
      );
      assert.deepEqual(
        [taker_trade.X, taker_trade.l, taker_trade.L, taker_trade.n, taker_trade.N, taker_trade.m],
        ["FILLED", "0.10000000", "62000.00000000", "0.00010000", "BTC", false],
      );
      // the last position each heard is the engine's balance now
      for (const [events, user] of [
        [maker_events, alice],
        [taker_events, carol],
      ] as const) {
        const account = running.node.engine.api_keys.by_key.get(user.apiKey)?.account as number;
        const position = await until(
          "an account position",
          5000,
          () => events.filter((e) => e.e === "outboundAccountPosition").at(-1) ?? null,
        );
        assert_balances(account, position.B as { a: string; f: string; l: string }[]);
      }
      assert.deepEqual((await taker.userDataStreamUnsubscribe()).data, {});
      assert.equal((await taker.sessionSubscriptions()).data.length, 0);
    } finally {
      await maker.disconnect();
      await taker.disconnect();
    }
  });

  it("market streams: trades and depth diffs on the combined stream", async () => {
    const [alice, bob] = creds.users;
    const streams = await client(alice, "hmac").websocketStreams.connect({
      stream: ["ethbtc@trade", "ethbtc@depth@100ms"],
    });
    try {
      const trades: Data[] = [];
      const diffs: Data[] = [];
      streams.trade({ symbol: "ethbtc" }).on("message", (m) => {
        trades.push(m as unknown as Data);
      });
      streams
        .diffBookDepth({ symbol: "ethbtc", updateSpeed: S.DiffBookDepthUpdateSpeedEnum.UPDATE_SPEED_100ms })
        .on("message", (m) => {
          diffs.push(m as unknown as Data);
        });
      await new Promise((r) => setTimeout(r, 200));
      await client(alice, "hmac").restAPI.newOrder({
        symbol: "ETHBTC",
        side: R.NewOrderSideEnum.BUY,
        type: R.NewOrderTypeEnum.LIMIT,
        timeInForce: R.NewOrderTimeInForceEnum.GTC,
        price: 0.05,
        quantity: 2,
      });
      await client(bob, "ed25519").restAPI.newOrder({
        symbol: "ETHBTC",
        side: R.NewOrderSideEnum.SELL,
        type: R.NewOrderTypeEnum.MARKET,
        quantity: 0.5,
      });
      const trade = await until("the trade event", 5000, () => trades.find((t) => t.e === "trade") ?? null);
      assert.deepEqual([trade.s, trade.p, trade.q, trade.m], ["ETHBTC", "0.05000000", "0.50000000", true]);
      await until("the bid left at 0.05", 5000, () =>
        diffs.flatMap((d) => d.b as string[][]).at(-1)?.[1] === "1.50000000" ? true : null,
      );
    } finally {
      await streams.disconnect();
    }
  });
});
