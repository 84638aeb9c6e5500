/**
 * Binance's own client, @binance/connector 3.6.1 (pinned), unchanged but for its base URL, against a
 * real node in demo mode: public REST, HMAC- and Ed25519-signed trading, and balances that match the
 * engine to the unit. (Its market streams, user data and WebSocket API come with those servers.)
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Spot } from "@binance/connector";
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
        const row = engine.accounts[account];
        const dec = engine.assets[asset].decimals;
        assert.equal(bal.free, pad8(units_to_decimal(row.free[asset], dec)));
        assert.equal(bal.locked, pad8(units_to_decimal(row.locked[asset], dec)));
      }
    }
    // bob sold 1 ETH at 2,500.50 and paid the 0.1% taker fee in USDT
    const bob_usdt = ((await data(b.account())).balances as { asset: string; free: string }[]).find(
      (x) => x.asset === "USDT",
    );
    assert.equal(bob_usdt?.free, "1002497.99950000");
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
