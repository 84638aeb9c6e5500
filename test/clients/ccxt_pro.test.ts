/**
 * ccxt.pro 4.5.84 (pinned) against a real node: watchOrderBook stays in sync through heavy trading
 * (ccxt checks every diff's U/u itself and throws on a gap), then equals the REST book; watchTrades,
 * watchTicker and watchOHLCV deliver what the engine did.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { Prng } from "../../src/sim/prng.js";
import { activity, funded_accounts } from "../gateway/load.js";
import { pro_client } from "../helpers/ccxt.js";
import { demo_node } from "../helpers/nodes.js";

/** A watch that never delivers fails the test (with its name) instead of hanging the run. */
function within<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe("ccxt.pro 4.5.84 (WebSocket market streams)", () => {
  it("watchOrderBook through heavy trading ends equal to the REST book; watchTrades, watchTicker, watchOHLCV", async () => {
    const handle = await demo_node("hf-pro-");
    const running = handle.running;
    const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as DemoCredentials;
    const H = creds.baseUrl;
    const ex = pro_client(creds, creds.users[0]);
    try {
      await ex.loadHttpProxyAgent(); // ccxt refuses plain ws:// in Node until this is loaded
      await ex.loadMarkets();
      const node = running.node;
      const accounts = await funded_accounts(node, 4);
      const rng = new Prng(11);
      await activity(node, accounts, 0.3, rng);
      await ex.watchOrderBook("BTC/USDT");
      let updates = 0;
      const load = activity(node, accounts, 2, rng);
      let done = false;
      void load.then(() => {
        done = true;
      });
      // Raced with the load: the last update can arrive just before the load's promise settles, and
      // a watch begun after it would wait for ever (it did once, in a full run on a loaded machine).
      while (!done) {
        const updated = await Promise.race([
          ex.watchOrderBook("BTC/USDT").then(() => true),
          load.then(() => false),
        ]);
        if (updated) updates++;
      }
      // let the last window arrive, then compare
      await new Promise((r) => setTimeout(r, 400));
      const book = await Promise.race([
        ex.watchOrderBook("BTC/USDT"),
        new Promise<Awaited<ReturnType<typeof ex.watchOrderBook>>>((r) =>
          setTimeout(() => r(ex.orderbooks["BTC/USDT"]), 1500),
        ),
      ]);
      const rest = (await (await fetch(`${H}/api/v3/depth?symbol=BTCUSDT&limit=1000`)).json()) as {
        lastUpdateId: number;
        bids: [string, string][];
        asks: [string, string][];
      };
      assert.ok(updates > 5, `${updates} order book updates`);
      assert.equal(book.nonce, rest.lastUpdateId);
      assert.ok(rest.bids.length < 1000 && rest.asks.length < 1000, "the REST book is complete");
      assert.equal(book.bids.length, rest.bids.length);
      assert.equal(book.asks.length, rest.asks.length);
      const as_numbers = (levels: [string, string][]) => levels.map(([p, q]) => [Number(p), Number(q)]);
      assert.deepEqual(
        Array.from(book.bids.slice(0, rest.bids.length), ([p, q]) => [p, q]),
        as_numbers(rest.bids),
      );
      assert.deepEqual(
        Array.from(book.asks.slice(0, rest.asks.length), ([p, q]) => [p, q]),
        as_numbers(rest.asks),
      );

      // trades, ticker, candles while trading goes on
      const more = activity(node, accounts, 3, rng);
      const trades = await within(ex.watchTrades("BTC/USDT"), "watchTrades");
      assert.ok(trades.length > 0 && trades.every((t) => t.symbol === "BTC/USDT" && (t.amount ?? 0) > 0));
      const ticker = await within(ex.watchTicker("BTC/USDT"), "watchTicker");
      assert.ok((ticker.last ?? 0) > 0);
      // a rolling-window ticker stream (btcusdt@ticker_1h, event 1hTicker)
      const hour = await within(ex.watchTicker("BTC/USDT", { name: "ticker_1h" }), "watchTicker 1h");
      assert.ok((hour.last ?? 0) > 0 && (hour.baseVolume ?? 0) > 0, JSON.stringify(hour));
      const candles = await within(ex.watchOHLCV("BTC/USDT", "1m"), "watchOHLCV");
      // (the newest may be a minute just begun, quiet so far: Binance's klines fill those)
      assert.ok(
        candles.every((c) => (c[2] as number) >= (c[3] as number)),
        "high >= low",
      );
      assert.ok(
        candles.some((c) => (c[5] as number) > 0),
        "some volume",
      );
      await more;
    } finally {
      await ex.close();
      await handle.remove();
    }
  });
});
