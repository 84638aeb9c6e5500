/**
 * Real clients across a node crash: a `holdfast start` process is killed with SIGKILL and started
 * again on the same port and data directory, and the clients carry on as they would after a Binance
 * outage, unchanged. @binance/connector's user data stream reconnects by itself to the same
 * /ws/<listenKey> (the key's life is journaled, so the restarted node knows it) and reports the next
 * fill; its keepalive works; a key closed before the crash stays closed. ccxt.pro's watchOrderBook,
 * called again after its connection dropped, resyncs to the REST book; watchOrders resumes.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Spot, WebsocketStream } from "@binance/connector";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { pro_client } from "../helpers/ccxt.js";
import { free_port, spawn_node } from "../helpers/nodes.js";
import { until } from "../helpers/wait.js";

type Data = Record<string, unknown>;
const quiet = { info() {}, warn() {}, error() {}, debug() {}, log() {} };

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGKILL");
  await once(child, "exit");
}

describe("clients across a node crash (SIGKILL, restart on the same port)", () => {
  it("@binance/connector's listenKey stream reconnects by itself and hears the next fill; ccxt.pro's order book resyncs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-restart-"));
    const port = await free_port();
    let { child } = await spawn_node(dir, port);
    const creds = JSON.parse(readFileSync(join(dir, "demo-credentials.json"), "utf8")) as DemoCredentials;
    const [alice, bob, carol] = creds.users;
    const a = new Spot(alice.apiKey, alice.secretKey, { baseURL: creds.baseUrl });
    const b = new Spot(bob.apiKey, bob.secretKey, { baseURL: creds.baseUrl });
    const c = new Spot(carol.apiKey, carol.secretKey, { baseURL: creds.baseUrl });
    const pro = pro_client(creds, alice);
    const received: Data[] = [];
    let opens = 0;
    const stream = new WebsocketStream({
      wsURL: creds.wsUrl,
      logger: quiet,
      reconnectDelay: 200,
      callbacks: {
        open: () => opens++,
        message: (d: string) => received.push(JSON.parse(d) as Data),
      },
    });
    let watching = true;
    // A client whose connection dropped waits until the server answers again before it calls
    // again (ccxt.pro leaves a failed connect's promise unhandled, which node:test counts as a failure)
    const reachable = async (): Promise<void> => {
      while (watching) {
        const up = await fetch(`${creds.baseUrl}/api/v3/ping`).then(
          (r) => r.ok,
          () => false,
        );
        if (up) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const book_errors: string[] = [];
    const orders_seen: string[] = [];
    const watchers: Promise<void>[] = [];
    try {
      await pro.loadHttpProxyAgent();
      await pro.loadMarkets();
      const key = ((await a.createListenKey()).data as { listenKey: string }).listenKey;
      const closed = ((await c.createListenKey()).data as { listenKey: string }).listenKey;
      await c.closeListenKey(closed);
      stream.userData(key);
      await until("the user data stream open", 10_000, () => (opens === 1 ? true : null));
      // ccxt.pro watchers, called again whenever a call fails (as a client loop does)
      watchers.push(
        (async () => {
          while (watching)
            await pro.watchOrderBook("BTC/USDT").catch(async (e: unknown) => {
              book_errors.push(String(e));
              await reachable();
            });
        })(),
        (async () => {
          while (watching)
            await pro
              .watchOrders("BTC/USDT")
              .then((orders) => {
                for (const o of orders) orders_seen.push(`${o.id} ${o.status}`);
              })
              .catch(reachable);
        })(),
      );
      // Until ccxt's subscription is in place, orders placed go unseen by it: alice buys, one order a
      // second at `next()`'s prices, until ccxt sees one; its id.
      const until_ccxt_sees = (what: string, next: () => number, quantity: string) =>
        until(what, 20_000, async () => {
          const placed = await a.newOrder("BTCUSDT", "BUY", "LIMIT", {
            price: String(next()),
            quantity,
            timeInForce: "GTC",
          });
          const id = (placed.data as { orderId: number }).orderId;
          await new Promise((r) => setTimeout(r, 1000));
          return orders_seen.includes(`${id} open`) ? id : null;
        });
      // each 10 above the last, so the last is the best bid (the one a sell at its price fills)
      let price = 59_990;
      const before_id = await until_ccxt_sees(
        "ccxt's watchOrders sees an order",
        () => (price += 10),
        "0.01",
      );
      assert.ok(
        received.some((m) => m.e === "executionReport" && m.i === before_id),
        "the connector's stream reported it",
      );

      await kill(child);
      ({ child } = await spawn_node(dir, port));

      // the connector reconnected by itself (a second open) to the same key, which the node knows
      await until("the stream reconnected", 15_000, () => (opens >= 2 ? true : null));
      // ccxt subscribes again when its loop calls watchOrders again: until then what happens goes by
      // it, so probe orders (below the best bid) until it sees one
      let probe = 50_000;
      await until_ccxt_sees("ccxt's watchOrders subscribed again", () => (probe += 1), "0.001");
      const seen = received.length;
      await b.newOrder("BTCUSDT", "SELL", "LIMIT", {
        price: String(price),
        quantity: "0.004",
        timeInForce: "GTC",
      });
      const fill = await until("the fill's report after the restart", 10_000, () => {
        const m = received
          .slice(seen)
          .find((r) => r.e === "executionReport" && r.i === before_id && r.x === "TRADE");
        return m ?? null;
      });
      assert.deepEqual(
        [fill.X, fill.l, fill.z, fill.L],
        ["PARTIALLY_FILLED", "0.00400000", "0.00400000", `${price}.00000000`],
      );
      assert.ok(
        received.slice(seen).some((r) => r.e === "outboundAccountPosition"),
        "the balances' report too",
      );
      // its keepalive is taken; the key closed before the crash is still closed
      assert.equal((await a.renewListenKey(key)).status, 200);
      await assert.rejects(c.renewListenKey(closed), (e: { response: { data: unknown } }) => {
        assert.deepEqual(e.response.data, { code: -1125, msg: "This listenKey does not exist." });
        return true;
      });
      // a second POST answers the same live key, as Binance does
      assert.equal(((await a.createListenKey()).data as { listenKey: string }).listenKey, key);

      // ccxt.pro: its watchOrders resumed (the fill), its order book resynced to the REST book
      await until("ccxt's watchOrders sees the fill", 15_000, () =>
        orders_seen.includes(`${before_id} open`) &&
        orders_seen.filter((o) => o === `${before_id} open`).length >= 2
          ? true
          : null,
      );
      assert.ok(book_errors.length > 0, "the order book watch saw the connection drop");
      await b.newOrder("BTCUSDT", "SELL", "LIMIT", { price: "61000", quantity: "0.002", timeInForce: "GTC" });
      const rest = await until("ccxt's book equal to the REST book", 15_000, async () => {
        const r = (await (await fetch(`${creds.baseUrl}/api/v3/depth?symbol=BTCUSDT`)).json()) as {
          lastUpdateId: number;
          bids: [string, string][];
          asks: [string, string][];
        };
        const book = pro.orderbooks["BTC/USDT"];
        return book !== undefined && book.nonce === r.lastUpdateId ? { r, book } : null;
      });
      const levels = (l: [string, string][]) => l.map(([p, q]) => [Number(p), Number(q)]);
      assert.deepEqual(
        Array.from(rest.book.bids, ([p, q]) => [p, q]),
        levels(rest.r.bids),
      );
      assert.deepEqual(
        Array.from(rest.book.asks, ([p, q]) => [p, q]),
        levels(rest.r.asks),
      );
      assert.deepEqual(levels(rest.r.bids)[0], [price, 0.006]);
    } finally {
      watching = false;
      stream.disconnect();
      await pro.close().catch(() => undefined);
      await Promise.race([Promise.all(watchers), new Promise((r) => setTimeout(r, 2000))]);
      await kill(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
