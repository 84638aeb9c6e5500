/** Public REST market data over real HTTP, from a real node: shapes, values and Binance errors. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import type { Command } from "../../src/engine/commands.js";
import type { RunningNode } from "../../src/server/start.js";
import { limit_order } from "../../src/sim/fixtures.js";
import { demo_node } from "../helpers/nodes.js";

const place = (account: number, side: 0 | 1, price_ticks: number, quantity_lots: number): Command =>
  limit_order(account, 0, side, price_ticks, quantity_lots);

describe("public REST market data", () => {
  let node_handle: Awaited<ReturnType<typeof demo_node>>;
  let running: RunningNode;
  let base = "";
  /** Two funded accounts: a has the bids, b the ask and the trade's sell. */
  const accounts: number[] = [];
  const get = async (path: string) => {
    const r = await fetch(base + path);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> & unknown[] };
  };

  before(async () => {
    // a short request timeout, so that the test of it is quick
    node_handle = await demo_node("hf-public-", { request_timeout_ms: 1500 });
    running = node_handle.running;
    base = `http://127.0.0.1:${running.port}`;
    const node = running.node;
    for (let i = 0; i < 2; i++) {
      const made = await node.submit({ type: "create_account", ts_ms: 0 });
      const a = (made.events[0] as { account: number }).account;
      accounts.push(a);
      await node.submit({ type: "deposit", ts_ms: 0, account: a, asset: 0, amount_units: 10 ** 9 });
      await node.submit({ type: "deposit", ts_ms: 0, account: a, asset: 2, amount_units: 10 ** 14 });
    }
    // BTCUSDT: tick 0.01, step 0.00001. Bids 50,000.00 x 0.002 (two orders) and 49,999.99 x 0.001;
    // ask 50,001.00 x 0.003; then a trade at 50,000.00 for 0.001.
    const [a, b] = accounts;
    await node.submit(place(a, 0, 5_000_000, 100));
    await node.submit(place(a, 0, 5_000_000, 100));
    await node.submit(place(a, 0, 4_999_999, 100));
    await node.submit(place(b, 1, 5_000_100, 300));
    await node.submit(place(b, 1, 5_000_000, 100));
  });
  after(async () => {
    await node_handle.remove();
  });

  it("ping, time, system status", async () => {
    assert.deepEqual((await get("/api/v3/ping")).body, {});
    const t = (await get("/api/v3/time")).body as unknown as { serverTime: number };
    assert.ok(Math.abs(t.serverTime - Date.now()) < 5000);
    assert.deepEqual((await get("/sapi/v1/system/status")).body, { status: 0, msg: "normal" });
  });

  it("exchangeInfo describes every market with Binance's filters", async () => {
    const info = (await get("/api/v3/exchangeInfo")).body as unknown as {
      symbols: { symbol: string; status: string; filters: { filterType: string }[]; orderTypes: string[] }[];
    };
    assert.deepEqual(
      info.symbols.map((s) => s.symbol),
      ["BTCUSDT", "ETHUSDT", "ETHBTC"],
    );
    const btc = info.symbols[0];
    assert.equal(btc.status, "TRADING");
    assert.ok(btc.orderTypes.includes("STOP_LOSS_LIMIT"));
    const price = btc.filters.find((f) => f.filterType === "PRICE_FILTER");
    assert.deepEqual(price, {
      filterType: "PRICE_FILTER",
      minPrice: "0.01000000",
      maxPrice: "1000000.00000000",
      tickSize: "0.01000000",
    });
    const one = (await get("/api/v3/exchangeInfo?symbol=ETHUSDT")).body as unknown as { symbols: unknown[] };
    assert.equal(one.symbols.length, 1);
    const two = await get(`/api/v3/exchangeInfo?symbols=${encodeURIComponent('["ETHUSDT","BTCUSDT"]')}`);
    assert.equal((two.body as unknown as { symbols: unknown[] }).symbols.length, 2);
    const halted = await get("/api/v3/exchangeInfo?symbolStatus=HALT");
    assert.equal((halted.body as unknown as { symbols: unknown[] }).symbols.length, 0);
  });

  it("depth: best first, exact strings, lastUpdateId from the book's update ids", async () => {
    const d = (await get("/api/v3/depth?symbol=BTCUSDT&limit=5")).body;
    assert.deepEqual(d, {
      lastUpdateId: running.node.engine.markets[0].book_update_id,
      bids: [
        ["50000.00000000", "0.00100000"],
        ["49999.99000000", "0.00100000"],
      ],
      asks: [["50001.00000000", "0.00300000"]],
    });
    const top = (await get("/api/v3/depth?symbol=BTCUSDT&limit=1")).body as unknown as { bids: unknown[] };
    assert.equal(top.bids.length, 1);
  });

  it("tickers", async () => {
    assert.deepEqual((await get("/api/v3/ticker/price?symbol=BTCUSDT")).body, {
      symbol: "BTCUSDT",
      price: "50000.00000000",
    });
    assert.deepEqual((await get("/api/v3/ticker/bookTicker?symbol=BTCUSDT")).body, {
      symbol: "BTCUSDT",
      bidPrice: "50000.00000000",
      bidQty: "0.00100000",
      askPrice: "50001.00000000",
      askQty: "0.00300000",
    });
    assert.equal((await get("/api/v3/ticker/price")).body.length, 3);
  });

  it("trades, aggTrades, klines and the 24-hour ticker come from the history projection", async () => {
    const trades = (await get("/api/v3/trades?symbol=BTCUSDT")).body as unknown as Record<string, unknown>[];
    assert.equal(trades.length, 1);
    assert.deepEqual(
      { ...trades[0], time: 0 },
      {
        id: 1,
        price: "50000.00000000",
        qty: "0.00100000",
        quoteQty: "50.00000000",
        time: 0,
        isBuyerMaker: true,
        isBestMatch: true,
      },
    );
    const agg = (await get("/api/v3/aggTrades?symbol=BTCUSDT")).body as unknown as Record<string, unknown>[];
    assert.deepEqual(
      { ...agg[0], T: 0 },
      { a: 1, p: "50000.00000000", q: "0.00100000", f: 1, l: 1, T: 0, m: true, M: true },
    );
    for (const interval of ["1s", "1m", "1h", "1d", "1w", "1M"]) {
      const all = (await get(`/api/v3/klines?symbol=BTCUSDT&interval=${interval}`))
        .body as unknown as unknown[][];
      // the trade's kline first (nothing traded before it), then quiet ones up to now (seconds; a
      // minute, hour… when one began since the trade)
      const k = all.slice(0, 1);
      assert.ok(
        all.length === 1 || interval === "1s" || all.length === 2,
        `${interval}: ${all.length} klines`,
      );
      for (const quiet of all.slice(1)) {
        assert.deepEqual(
          [...quiet.slice(1, 6), ...quiet.slice(7, 12)],
          [
            ...Array(4).fill("50000.00000000"),
            "0.00000000",
            "0.00000000",
            0,
            "0.00000000",
            "0.00000000",
            "0",
          ],
        );
        if (interval === "1s") assert.equal(quiet[6], (quiet[0] as number) + 999);
      }
      assert.deepEqual(k[0].slice(1, 6), [
        "50000.00000000",
        "50000.00000000",
        "50000.00000000",
        "50000.00000000",
        "0.00100000",
      ]);
      assert.ok(
        (k[0][0] as number) <= (trades[0].time as number) &&
          (trades[0].time as number) <= (k[0][6] as number),
      );
      assert.deepEqual(k[0].slice(7), ["50.00000000", 1, "0.00000000", "0.00000000", "0"]);
    }
    const week = (await get("/api/v3/klines?symbol=BTCUSDT&interval=1w")).body as unknown as number[][];
    assert.equal(new Date(week[0][0]).getUTCDay(), 1, "weeks start on Monday");
    // timeZone: intervals cut in local time, open times in UTC; Binance's forms and range
    const time = trades[0].time as number;
    const HOUR = 3_600_000;
    for (const [zone, zone_ms] of [
      ["0", 0],
      ["8", 8 * HOUR],
      ["+08:00", 8 * HOUR],
      ["-1:00", -HOUR],
      ["05:45", 5.75 * HOUR],
      ["-12:00", -12 * HOUR],
      ["14", 14 * HOUR],
    ] as const)
      for (const interval of ["1d", "1w", "1M", "4h"]) {
        const [k] = (
          await get(`/api/v3/klines?symbol=BTCUSDT&interval=${interval}&timeZone=${encodeURIComponent(zone)}`)
        ).body as unknown as number[][];
        const local_open = new Date(k[0] + zone_ms);
        const where = `${interval} in ${zone}`;
        assert.ok(k[0] <= time && time <= k[6], where);
        assert.equal(local_open.getUTCHours() % (interval === "4h" ? 4 : 24), 0, where);
        assert.equal(local_open.getUTCMinutes(), 0, where);
        if (interval === "1w") assert.equal(local_open.getUTCDay(), 1, where);
        if (interval === "1M") assert.equal(local_open.getUTCDate(), 1, where);
      }
    for (const zone of ["15", "-13", "14:01", "-12:30", "5:60", "8h", "UTC", "", "1:2"]) {
      const r = await get(`/api/v3/klines?symbol=BTCUSDT&interval=1d&timeZone=${encodeURIComponent(zone)}`);
      assert.equal(r.body.code, -1100, `timeZone ${JSON.stringify(zone)}: ${JSON.stringify(r.body)}`);
    }
    // a kline is chosen by its open time, and whole: a start inside the trade's minute skips it
    const minute = (await get("/api/v3/klines?symbol=BTCUSDT&interval=1m")).body as unknown as number[][];
    const from = async (start: number) =>
      (await get(`/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${start}`))
        .body as unknown as number[][];
    assert.deepEqual((await from(minute[0][0]))[0], minute[0]);
    assert.ok((await from(minute[0][0] + 1)).every((k) => k[0] > time));
    const until = (await get(`/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime=${minute[0][0]}`))
      .body as unknown as number[][];
    assert.deepEqual(until, [minute[0]], "the kline opening at endTime, whole");
    const t = (await get("/api/v3/ticker/24hr?symbol=BTCUSDT")).body;
    assert.equal(t.lastPrice, "50000.00000000");
    assert.equal(t.volume, "0.00100000");
    assert.equal(t.quoteVolume, "50.00000000");
    assert.equal(t.weightedAvgPrice, "50000.00000000");
    assert.equal(t.priceChangePercent, "0.000");
    assert.equal(t.count, 1);
    assert.equal(t.bidPrice, "50000.00000000");
    assert.equal(t.prevClosePrice, "0.00000000", "no trade before the window");
    const mini = (await get("/api/v3/ticker/24hr?symbol=BTCUSDT&type=MINI")).body;
    const mini_keys = [
      "symbol",
      "openPrice",
      "highPrice",
      "lowPrice",
      "lastPrice",
      "volume",
      "quoteVolume",
      "openTime",
      "closeTime",
      "firstId",
      "lastId",
      "count",
    ];
    assert.deepEqual(Object.keys(mini), mini_keys);
    assert.equal(mini.volume, "0.00100000");

    // GET /api/v3/ticker: a rolling window that opens on the minute and closes now
    for (const size of ["1m", "59m", "1h", "23h", "1d", "7d"]) {
      const before_ms = Date.now();
      const r = (await get(`/api/v3/ticker?symbol=BTCUSDT&windowSize=${size}`)).body;
      const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[size.slice(-1)] as number;
      const window_ms = Number(size.slice(0, -1)) * unit;
      // FULL: the change and average price after the symbol, then MINI's fields
      assert.deepEqual(Object.keys(r), [
        "symbol",
        "priceChange",
        "priceChangePercent",
        "weightedAvgPrice",
        ...mini_keys.slice(1),
      ]);
      const open = r.openTime as number;
      const close = r.closeTime as number;
      assert.equal(open % 60_000, 0, "opens on the minute");
      assert.ok(close >= before_ms && close - open >= window_ms && close - open < window_ms + 60_000, size);
      // the trade was made within the last minute or so: in every window of an hour or more
      if (unit > 60_000)
        assert.deepEqual([r.count, r.volume, r.lastPrice], [1, "0.00100000", "50000.00000000"]);
    }
    // GET /api/v3/ticker/tradingDay: today so far, the day in the zone asked; openTime and closeTime
    // span the whole day
    for (const [zone, zone_ms] of [
      [undefined, 0],
      ["8", 8 * 3_600_000],
      ["-5:30", -5.5 * 3_600_000],
      ["14", 14 * 3_600_000],
    ] as const) {
      const q = zone === undefined ? "" : `&timeZone=${encodeURIComponent(zone)}`;
      const d = (await get(`/api/v3/ticker/tradingDay?symbol=BTCUSDT${q}`)).body;
      const open = d.openTime as number;
      assert.equal((open + zone_ms) % 86_400_000, 0, `${zone}: the day starts at local midnight`);
      assert.equal(d.closeTime, open + 86_400_000 - 1);
      assert.ok(open <= Date.now() && Date.now() <= (d.closeTime as number));
      const traded_today = (trades[0].time as number) >= open;
      assert.deepEqual(
        [d.count, d.volume, d.lastPrice],
        traded_today ? [1, "0.00100000", "50000.00000000"] : [0, "0.00000000", "50000.00000000"],
      );
      assert.deepEqual(Object.keys(d), [
        "symbol",
        "priceChange",
        "priceChangePercent",
        "weightedAvgPrice",
        ...mini_keys.slice(1),
      ]);
    }
    const days = (await get('/api/v3/ticker/tradingDay?symbols=["BTCUSDT","ETHBTC"]&type=MINI'))
      .body as unknown as Record<string, unknown>[];
    assert.deepEqual(
      days.map((x) => Object.keys(x)),
      [mini_keys, mini_keys],
    );
    for (const [query, code] of [
      ["", -1102],
      ["symbol=BTCUSDT&timeZone=15", -1100],
      ["symbol=BTCUSDT&type=mini", -1100],
      ["symbol=NOPE", -1121],
    ] as const) {
      const r = await get(`/api/v3/ticker/tradingDay?${query}`);
      assert.equal(r.body.code, code, `tradingDay ${query}: ${JSON.stringify(r.body)}`);
    }

    const two = (await get('/api/v3/ticker?symbols=["BTCUSDT","ETHUSDT"]&type=MINI')).body as unknown as {
      symbol: string;
      count: number;
      priceChange?: string;
    }[];
    assert.deepEqual(
      two.map((x) => [x.symbol, x.count, x.priceChange]),
      [
        ["BTCUSDT", 1, undefined],
        ["ETHUSDT", 0, undefined],
      ],
    );
    for (const [query, code] of [
      ["", -1102],
      ["symbol=BTCUSDT&windowSize=60m", -1100],
      ["symbol=BTCUSDT&windowSize=24h", -1100],
      ["symbol=BTCUSDT&windowSize=8d", -1100],
      ["symbol=BTCUSDT&windowSize=0m", -1100],
      ["symbol=BTCUSDT&windowSize=1w", -1100],
      ["symbol=BTCUSDT&type=FUL", -1100],
      ["symbol=NOPE", -1121],
    ] as const) {
      const r = await get(`/api/v3/ticker?${query}`);
      assert.equal(r.status, 400, query);
      assert.equal(r.body.code, code, `${query}: ${JSON.stringify(r.body)}`);
    }
    const weight = await fetch(`${base}/api/v3/ticker?symbols=["BTCUSDT","ETHUSDT","ETHBTC"]`);
    const used = Number(weight.headers.get("x-mbx-used-weight-1m"));
    const weight2 = await fetch(`${base}/api/v3/ticker?symbol=BTCUSDT`);
    assert.equal(Number(weight2.headers.get("x-mbx-used-weight-1m")) - used, 4, "4 a symbol");
    const weight3 = await fetch(`${base}/api/v3/ticker/tradingDay?symbol=BTCUSDT`);
    const used3 = Number(weight3.headers.get("x-mbx-used-weight-1m"));
    assert.equal(used3 - Number(weight2.headers.get("x-mbx-used-weight-1m")), 4, "tradingDay: 4 a symbol");
    const bad_interval = await get("/api/v3/klines?symbol=BTCUSDT&interval=7m");
    assert.deepEqual(bad_interval.body, { code: -1120, msg: "Invalid interval." });

    // Statistics just read are reused for a second, but never past a trade of their market.
    const ask = (await get("/api/v3/ticker/24hr?symbol=BTCUSDT")).body.askPrice;
    await running.node.submit(place(accounts[1], 1, 5_000_000, 100)); // takes the other bid at 50,000
    const after_trade = (await get("/api/v3/ticker/24hr?symbol=BTCUSDT")).body;
    assert.deepEqual([after_trade.count, after_trade.volume, after_trade.askPrice], [2, "0.00200000", ask]);
    const rolled = (await get("/api/v3/ticker?symbol=BTCUSDT&windowSize=1h&type=MINI")).body;
    assert.equal(rolled.count, 2);
  });

  it("bad input gets Binance's error codes with HTTP 400", async () => {
    const cases: [string, number][] = [
      ["/api/v3/depth", -1102],
      ["/api/v3/depth?symbol=NOPE", -1121],
      ["/api/v3/depth?symbol=BTCUSDT&limit=abc", -1100],
      ["/api/v3/depth?symbol=BTCUSDT&limit=0", -1100],
      ["/api/v3/depth?symbol=BTCUSDT&symbol=ETHUSDT", -1101],
      ["/api/v3/depth?symbol=BTCUSDT&bogus=1", -1104],
      ["/api/v3/exchangeInfo?symbol=BTCUSDT&symbols=%5B%5D", -1128],
      ["/api/v3/exchangeInfo?symbols=notjson", -1100],
      [`/api/v3/depth?symbol=${"X".repeat(5000)}`, -1100],
    ];
    for (const [path, code] of cases) {
      const r = await get(path);
      assert.equal(r.status, 400, path);
      assert.equal(r.body.code, code, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.msg, "string");
    }
    const missing = await get("/api/v3/nothing");
    assert.equal(missing.status, 404);

    // HTTP Node's parser refuses still gets Binance's shape, and a HEAD request no body
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(running.port, "127.0.0.1", () => socket.end(text));
        let got = "";
        socket.on("data", (d) => {
          got += d.toString("latin1");
        });
        socket.on("close", () => resolve(got));
        socket.on("error", reject);
      });
    const malformed = await raw("GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n");
    assert.match(malformed, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(malformed.endsWith('\r\n\r\n{"code":-1100,"msg":"Malformed request."}'), malformed);
    const head = await raw("HEAD /api/v3/ping HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n");
    assert.match(head, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(head.endsWith("\r\n\r\n"), head);

    // a request whose body trickles in (3 of 100 bytes) is cut off, not left holding a connection
    const started = Date.now();
    const slow = await new Promise<string>((resolve, reject) => {
      const socket = connect(running.port, "127.0.0.1", () =>
        socket.write(
          "POST /api/v3/order HTTP/1.1\r\nHost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nsym",
        ),
      );
      let got = "";
      socket.on("data", (d) => {
        got += d.toString("latin1");
      });
      socket.on("close", () => resolve(got));
      socket.on("error", reject);
    });
    assert.match(slow, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(slow.endsWith('{"code":-1100,"msg":"Request not received in full within 1500 ms."}'), slow);
    assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
  });

  it("time unit: milliseconds, Binance's default, only; MICROSECOND is refused, never answered in milliseconds", async () => {
    const unit = async (value: string) =>
      fetch(`${base}/api/v3/time`, { headers: { "X-MBX-TIME-UNIT": value } }).then(async (r) => [
        r.status,
        await r.json(),
      ]);
    const refusal = (name: string) => ({
      code: -1100,
      msg: `Illegal characters found in parameter '${name}'; legal range is 'MILLISECOND, millisecond'.`,
    });
    for (const ok of ["MILLISECOND", "millisecond"]) assert.equal((await unit(ok))[0], 200);
    for (const no of ["MICROSECOND", "microsecond", "seconds"])
      assert.deepEqual(await unit(no), [400, refusal("X-MBX-TIME-UNIT")]);
    // streams and the WebSocket API take it in their URL
    const ws_base = base.replace("http", "ws");
    const open = (path: string) =>
      new Promise<number | "open">((resolve) => {
        const ws = new WebSocket(`${ws_base}${path}`);
        ws.on("open", () => {
          ws.close();
          resolve("open");
        });
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.on("error", () => undefined);
      });
    assert.equal(await open("/ws/btcusdt@trade?timeUnit=millisecond"), "open");
    assert.equal(await open("/stream?streams=btcusdt@trade&timeUnit=MILLISECOND"), "open");
    assert.equal(await open("/ws/btcusdt@trade?timeUnit=MICROSECOND"), 400);
    assert.equal(await open("/stream?streams=btcusdt@trade&timeUnit=microsecond"), 400);
    assert.equal(await open("/ws-api/v3?timeUnit=MICROSECOND"), 400);
    assert.equal(await open("/ws-api/v3?timeUnit=MILLISECOND"), "open");
  });
});
