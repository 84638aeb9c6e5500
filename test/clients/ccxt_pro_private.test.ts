/**
 * ccxt.pro 4.5.84 against the WebSocket API (/ws-api/v3): watchOrders, watchMyTrades and watchBalance
 * (userDataStream.subscribe.signature) see a fill as it happens; createOrderWs, fetchOpenOrdersWs,
 * cancelOrderWs and fetchBalanceWs run the REST handlers over the socket.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { pro_client } from "../helpers/ccxt.js";
import { demo_node } from "../helpers/nodes.js";

describe("ccxt.pro 4.5.84 (WebSocket API and user data)", () => {
  it("watchOrders, watchMyTrades, watchBalance; createOrderWs, fetchOpenOrdersWs, cancelOrderWs, fetchBalanceWs", async () => {
    const handle = await demo_node("hf-wsapi-");
    const creds = JSON.parse(
      readFileSync(handle.running.credentials_file as string, "utf8"),
    ) as DemoCredentials;
    const alice = pro_client(creds, creds.users[0]);
    const bob = pro_client(creds, creds.users[1]);
    try {
      for (const ex of [alice, bob]) {
        await ex.loadHttpProxyAgent();
        await ex.loadMarkets();
      }
      const resting = await alice.createOrderWs("BTC/USDT", "limit", "buy", 0.01, 60000);
      assert.equal(resting.status, "open");
      assert.deepEqual(
        (await alice.fetchOpenOrdersWs("BTC/USDT")).map((o) => o.id),
        [resting.id],
      );
      const orders = alice.watchOrders("BTC/USDT");
      const trades = alice.watchMyTrades("BTC/USDT");
      const balance = alice.watchBalance();
      await new Promise((r) => setTimeout(r, 300)); // the subscription is in place
      await bob.createOrder("BTC/USDT", "market", "sell", 0.004);
      const seen = await orders;
      assert.equal(seen.at(-1)?.id, resting.id);
      assert.equal(seen.at(-1)?.filled, 0.004);
      assert.equal(seen.at(-1)?.status, "open");
      const mine = await trades;
      assert.deepEqual(
        mine.map((t) => [t.price, t.amount, t.takerOrMaker]),
        [[60000, 0.004, "maker"]],
      );
      const b = await balance;
      assert.equal(b.BTC?.free, 10.003996);
      const cancelled = await alice.cancelOrderWs(resting.id as string, "BTC/USDT");
      assert.equal(cancelled.status, "canceled");
      // ccxt 4.5.84 parses account.status with its futures parser (no spot balances come out of it),
      // so the check reads the answer ccxt received
      const after = (await alice.fetchBalanceWs()).info as {
        balances: { asset: string; free: string; locked: string }[];
      };
      assert.deepEqual(
        after.balances.find((x) => x.asset === "USDT"),
        { asset: "USDT", free: "999760.00000000", locked: "0.00000000" },
      );
    } finally {
      await alice.close();
      await bob.close();
      await handle.remove();
    }
  });
});
