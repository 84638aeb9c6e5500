/**
 * WebSocket market streams against a real node under heavy trading: a client that follows Binance's
 * local order book procedure (buffer diffs, REST snapshot, drop u <= lastUpdateId, first U <=
 * lastUpdateId+1 <= u, then each U = previous u + 1) ends with exactly the REST book; combined streams,
 * the subscription protocol, its errors, and serverShutdown on a graceful stop.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { Prng } from "../../src/sim/prng.js";
import { demo_node } from "../helpers/nodes.js";
import { activity, funded_accounts } from "./load.js";

type Msg = Record<string, unknown>;

function open(
  url: string,
): Promise<{ ws: WebSocket; messages: Msg[]; next: (pred: (m: Msg) => boolean) => Promise<Msg> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: Msg[] = [];
    const waiters: { pred: (m: Msg) => boolean; done: (m: Msg) => void }[] = [];
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      messages.push(m);
      for (const w of [...waiters])
        if (w.pred(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.done(m);
        }
    });
    ws.on("open", () =>
      resolve({
        ws,
        messages,
        next: (pred) =>
          new Promise((done, fail) => {
            const found = messages.find(pred);
            if (found !== undefined) return done(found);
            waiters.push({ pred, done });
            setTimeout(() => fail(new Error("no such message within 5 s")), 5000).unref();
          }),
      }),
    );
    ws.on("error", reject);
  });
}

describe("WebSocket market streams", () => {
  it("a diff-stream client syncs with the REST snapshot through heavy trading and ends with the REST book", async () => {
    const handle = await demo_node("hf-streams-");
    const running = handle.running;
    const base = `127.0.0.1:${running.port}`;
    try {
      const node = running.node;
      const accounts = await funded_accounts(node, 4);
      const rng = new Prng(7);
      await activity(node, accounts, 0.5, rng); // a book exists before the client arrives

      // ccxt's way in: a socket on /ws/0, then SUBSCRIBE
      const diff = await open(`ws://${base}/ws/0`);
      diff.ws.send(JSON.stringify({ method: "SUBSCRIBE", params: ["btcusdt@depth@100ms"], id: 1 }));
      assert.deepEqual(await diff.next((m) => m.id === 1), { result: null, id: 1 });
      const combined = await open(`ws://${base}/stream?streams=btcusdt@trade/btcusdt@bookTicker`);

      const load = activity(node, accounts, 2, rng);
      await new Promise((r) => setTimeout(r, 300));
      const snapshot = (await (
        await fetch(`http://${base}/api/v3/depth?symbol=BTCUSDT&limit=5000`)
      ).json()) as {
        lastUpdateId: number;
        bids: [string, string][];
        asks: [string, string][];
      };
      await load;
      await new Promise((r) => setTimeout(r, 400)); // the last 100 ms window goes out

      const book = { bids: new Map(snapshot.bids), asks: new Map(snapshot.asks) };
      let previous_u = -1;
      let applied = 0;
      for (const m of diff.messages) {
        if (m.e !== "depthUpdate") continue;
        const U = m.U as number;
        const u = m.u as number;
        if (u <= snapshot.lastUpdateId) continue;
        if (previous_u < 0)
          assert.ok(
            U <= snapshot.lastUpdateId + 1 && snapshot.lastUpdateId + 1 <= u,
            "first diff straddles the snapshot",
          );
        else assert.equal(U, previous_u + 1, "diffs are contiguous");
        previous_u = u;
        for (const [side, key] of [
          [book.bids, "b"],
          [book.asks, "a"],
        ] as const)
          for (const [p, q] of m[key] as [string, string][]) {
            if (Number(q) === 0) side.delete(p);
            else side.set(p, q);
          }
        applied++;
      }
      assert.ok(applied > 5, `${applied} diffs applied`);
      const rest = (await (
        await fetch(`http://${base}/api/v3/depth?symbol=BTCUSDT&limit=5000`)
      ).json()) as typeof snapshot;
      assert.equal(previous_u, rest.lastUpdateId, "the client is at the book's latest update");
      const sorted = (m: Map<string, string>, desc: boolean) =>
        [...m].sort((x, y) => (desc ? Number(y[0]) - Number(x[0]) : Number(x[0]) - Number(y[0])));
      assert.deepEqual(sorted(book.bids, true), rest.bids);
      assert.deepEqual(sorted(book.asks, false), rest.asks);

      // combined stream: {stream, data}
      const trade = (await combined.next((m) => m.stream === "btcusdt@trade")).data as Msg;
      assert.equal(trade.e, "trade");
      assert.equal(trade.s, "BTCUSDT");
      const ticker = (await combined.next((m) => m.stream === "btcusdt@bookTicker")).data as Msg;
      assert.equal(typeof ticker.u, "number");

      // the subscription protocol and its errors
      diff.ws.send(
        JSON.stringify({ method: "SUBSCRIBE", params: ["ethusdt@trade", "btcusdt@depth5"], id: 2 }),
      );
      await diff.next((m) => m.id === 2);
      diff.ws.send(JSON.stringify({ method: "UNSUBSCRIBE", params: ["btcusdt@depth@100ms"], id: 3 }));
      await diff.next((m) => m.id === 3);
      diff.ws.send(JSON.stringify({ method: "LIST_SUBSCRIPTIONS", id: 4 }));
      assert.deepEqual(await diff.next((m) => m.id === 4), {
        result: ["ethusdt@trade", "btcusdt@depth5"],
        id: 4,
      });
      diff.ws.send(JSON.stringify({ method: "SUBSCRIBE", params: ["dogeusdt@trade"], id: 5 }));
      assert.equal(((await diff.next((m) => m.id === 5)).error as Msg).code, 2);
      const partial = await diff.next((m) => Array.isArray(m.bids) && "lastUpdateId" in m);
      assert.ok((partial.bids as unknown[]).length <= 5);

      // a graceful stop tells clients first
      const closed = diff.next((m) => m.e === "serverShutdown");
      await running.close();
      assert.equal(typeof (await closed).E, "number");
      combined.ws.terminate();
    } finally {
      await handle.remove();
    }
  });

  it("rolling-window tickers: <symbol>@ticker_1h/4h/1d and !ticker_<size>@arr, as GET /api/v3/ticker computes them", async () => {
    const handle = await demo_node("hf-rolling-");
    const base = `127.0.0.1:${handle.running.port}`;
    try {
      const node = handle.running.node;
      await activity(node, await funded_accounts(node, 4), 0.3, new Prng(5));
      const s = await open(`ws://${base}/stream?streams=btcusdt@ticker_1h/btcusdt@ticker_1d/!ticker_4h@arr`);
      const hour = (await s.next((m) => m.stream === "btcusdt@ticker_1h")).data as Msg;
      const day = (await s.next((m) => m.stream === "btcusdt@ticker_1d")).data as Msg;
      const all = (await s.next((m) => m.stream === "!ticker_4h@arr")).data as Msg[];
      assert.deepEqual(Object.keys(hour), [
        "e",
        "E",
        "s",
        "p",
        "P",
        "o",
        "h",
        "l",
        "c",
        "w",
        "v",
        "q",
        "O",
        "C",
        "F",
        "L",
        "n",
      ]);
      assert.deepEqual([hour.e, day.e, all[0].e], ["1hTicker", "1dTicker", "4hTicker"]);
      assert.deepEqual(
        all.map((t) => t.s),
        ["BTCUSDT"],
        "the array holds the markets that traded",
      );
      const rest = (await (
        await fetch(`http://${base}/api/v3/ticker?symbol=BTCUSDT&windowSize=1h`)
      ).json()) as Msg;
      assert.ok((rest.count as number) > 0);
      assert.deepEqual(
        [hour.n, hour.v, hour.q, hour.c, hour.o, hour.F, hour.L],
        [
          rest.count,
          rest.volume,
          rest.quoteVolume,
          rest.lastPrice,
          rest.openPrice,
          rest.firstId,
          rest.lastId,
        ],
      );
      assert.equal((hour.O as number) % 60_000, 0, "the window opens on the minute");
      s.ws.send(JSON.stringify({ method: "SUBSCRIBE", params: ["btcusdt@ticker_2h"], id: 9 }));
      assert.equal(((await s.next((m) => m.id === 9)).error as Msg).code, 2, "no such window");
      s.ws.close();
    } finally {
      await handle.remove();
    }
  });

  it("kline streams: the current kline each second, a quiet one at the last close, the one that ended once more closed; @+08:00; @avgPrice", async () => {
    const handle = await demo_node("hf-klines-");
    const base = `127.0.0.1:${handle.running.port}`;
    try {
      const node = handle.running.node;
      const accounts = await funded_accounts(node, 4);
      const s = await open(
        `ws://${base}/stream?streams=btcusdt@kline_1s/btcusdt@kline_1d@+08:00/btcusdt@avgPrice`,
      );
      await activity(node, accounts, 1.5, new Prng(11));
      const k = (m: Msg) => (m.data as { k: Msg }).k;
      const second = (m: Msg) => m.stream === "btcusdt@kline_1s";
      // trading has stopped: within a few seconds a second without trades opens
      const quiet = k(await s.next((m) => second(m) && k(m).n === 0));
      const last = (
        (await (await fetch(`http://${base}/api/v3/trades?symbol=BTCUSDT&limit=1`)).json()) as Msg[]
      )[0];
      assert.deepEqual(
        [quiet.o, quiet.h, quiet.l, quiet.c, quiet.v, quiet.q, quiet.f, quiet.L, quiet.x],
        [last.price, last.price, last.price, last.price, "0.00000000", "0.00000000", -1, -1, false],
      );
      assert.equal(quiet.T, (quiet.t as number) + 999);
      // every kline that went out open went out once more, closed, before the next one
      await s.next((m) => second(m) && (k(m).t as number) > (quiet.t as number));
      const seconds = s.messages.filter(second).map(k);
      for (let i = 1; i < seconds.length; i++)
        if (seconds[i].t !== seconds[i - 1].t) {
          assert.equal(seconds[i - 1].t, seconds[i - 2]?.t ?? seconds[i - 1].t);
          assert.equal(seconds[i - 1].x, true, `kline ${seconds[i - 1].t} closed before the next`);
        }
      // a kline with trades: the same as REST's, with its first and last trade ids
      const traded = seconds.find((x) => (x.n as number) > 0 && x.x === true);
      assert.ok(traded !== undefined, "a kline with trades went out closed");
      {
        const t = traded.t as number;
        const [rest] = (await (
          await fetch(`http://${base}/api/v3/klines?symbol=BTCUSDT&interval=1s&startTime=${t}&limit=1`)
        ).json()) as unknown[][];
        assert.deepEqual(
          [traded.o, traded.h, traded.l, traded.c, traded.v, traded.n, traded.q],
          [rest[1], rest[2], rest[3], rest[4], rest[5], rest[8], rest[7]],
        );
        const ids = (
          (await (
            await fetch(`http://${base}/api/v3/aggTrades?symbol=BTCUSDT&startTime=${t}&endTime=${t + 999}`)
          ).json()) as Msg[]
        ).map((a) => a.a);
        assert.deepEqual([traded.f, traded.L], [ids[0], ids.at(-1)]);
      }
      // btcusdt@avgPrice: GET /api/v3/avgPrice once a second (nothing trades meanwhile)
      const avg = (
        await s.next(
          (m) => m.stream === "btcusdt@avgPrice" && ((m.data as Msg).E as number) > (quiet.t as number),
        )
      ).data as Msg;
      const rest_avg = (await (await fetch(`http://${base}/api/v3/avgPrice?symbol=BTCUSDT`)).json()) as Msg;
      assert.deepEqual(avg, {
        e: "avgPrice",
        E: avg.E,
        s: "BTCUSDT",
        i: "5m",
        w: rest_avg.price,
        T: rest_avg.closeTime,
      });
      assert.ok((avg.T as number) > 0 && (avg.T as number) <= (avg.E as number));
      // the UTC+8 stream: days from 16:00 UTC
      const day = k(await s.next((m) => m.stream === "btcusdt@kline_1d@+08:00"));
      assert.equal(((day.t as number) + 8 * 3_600_000) % 86_400_000, 0);
      assert.equal(day.T, (day.t as number) + 86_400_000 - 1);
      s.ws.close();
    } finally {
      await handle.remove();
    }
  });

  it("a client that does not answer pings is dropped, on the streams and the WebSocket API; one that does stays", async () => {
    const handle = await demo_node("hf-pings-", { ping_interval_ms: 200 });
    const port = handle.running.port;
    const open = (path: string, answers: boolean) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { autoPong: answers });
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    const sockets: WebSocket[] = [];
    try {
      for (const path of ["/ws/btcusdt@trade", "/ws-api/v3"]) {
        const live = await open(path, true);
        const silent = await open(path, false);
        sockets.push(live, silent);
        const closed = await new Promise<number | "still open">((resolve) => {
          silent.once("close", resolve);
          setTimeout(() => resolve("still open"), 5000);
        });
        assert.equal(closed, 1006, `${path}: the silent client's connection was cut`);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(live.readyState, WebSocket.OPEN, `${path}: a client that answers stays`);
      }
    } finally {
      for (const ws of sockets) ws.terminate();
      await handle.remove();
    }
  });

  it("a connection lives at most its lifetime (Binance's 24 hours; here 1.5 s): closed 1000 on the streams and the WebSocket API", async () => {
    // (pings 2 a second: each pong counts toward Binance's 5 incoming messages a second)
    const handle = await demo_node("hf-lifetime-", { ping_interval_ms: 500, connection_lifetime_ms: 1500 });
    const port = handle.running.port;
    const sockets: WebSocket[] = [];
    try {
      for (const path of ["/ws/btcusdt@trade", "/ws-api/v3"]) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
        sockets.push(ws);
        const opened_ms = Date.now();
        await new Promise((resolve, reject) => {
          ws.once("open", resolve);
          ws.once("error", reject);
        });
        const code = await new Promise<number | "still open">((resolve) => {
          ws.once("close", resolve);
          setTimeout(() => resolve("still open"), 5000);
        });
        const lived_ms = Date.now() - opened_ms;
        assert.equal(code, 1000, `${path}: closed normally`);
        // answered every ping meanwhile (ws does by itself), and lived its time, give or take a ping round
        assert.ok(lived_ms >= 1400 && lived_ms < 3000, `${path}: lived ${lived_ms} ms`);
      }
    } finally {
      for (const ws of sockets) ws.terminate();
      await handle.remove();
    }
  });

  it("more than 5 incoming messages a second (requests, pings or pongs, as Binance counts them) close the connection with 1008", async () => {
    const handle = await demo_node("hf-rate-");
    const url = `ws://127.0.0.1:${handle.running.port}/ws/btcusdt@trade`;
    const open = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    const closed_with = (ws: WebSocket) =>
      new Promise<number | "still open">((resolve) => {
        ws.once("close", (code) => resolve(code));
        setTimeout(() => resolve("still open"), 1500);
      });
    try {
      const requests = await open();
      for (let i = 0; i < 6; i++) requests.send(JSON.stringify({ method: "LIST_SUBSCRIPTIONS", id: i }));
      assert.equal(await closed_with(requests), 1008, "six requests in a second");
      const pings = await open();
      for (let i = 0; i < 6; i++) pings.ping();
      assert.equal(await closed_with(pings), 1008, "six pings in a second");
      const calm = await open();
      for (let i = 0; i < 4; i++) calm.ping();
      assert.equal(await closed_with(calm), "still open", "four pings in a second are fine");
      calm.close();
    } finally {
      await handle.remove();
    }
  });
});
