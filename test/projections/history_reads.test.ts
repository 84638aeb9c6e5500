/**
 * The history's reads of a busy market, each bounded now, against an oracle: the queries that read
 * every trade or order of the window (exact, and slow). Candles and trade statistics
 * (src/projections/candles.ts), paged windows of trades, myTrades and allOrders, an order's trades.
 * Random trades over days, in clusters and alone, some big enough that a day's sums pass 2^53; random
 * windows, and klines of every Binance interval in random time zones (:30 and :45 ones too), with and
 * without start and end, at random limits, against a plain computation of Binance's klines (whole
 * buckets by open time, quiet ones at the previous close). Also: a history from before candles gets them when opened, and folding a batch twice
 * changes nothing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { EngineEvent } from "../../src/engine/events.js";
import { SIDE_BUY, SIDE_SELL } from "../../src/engine/types.js";
import { INTERVALS, interval_buckets } from "../../src/gateway/history_data.js";
import { CANDLE_UPSERT_SQL, CANDLES_SCHEMA, CandleFolder } from "../../src/projections/candles.js";
import { type Agg, type Candle, History } from "../../src/projections/history.js";
import { Prng } from "../../src/sim/prng.js";
import { seed } from "../engine/gen.js";
import { trade_queries as oracle } from "../helpers/trade_queries.js";

const DAY_MS = 86_400_000;
const MONDAY_OFFSET_MS = 4 * DAY_MS;
const T0 = Date.UTC(2026, 10, 20, 17, 3, 41, 517); // not aligned to anything
const SPAN_MS = 4 * DAY_MS;

/** A candle as the oracle has it (no ids or last trade). */
function candle_fields(c: Candle) {
  return {
    open_ms: c.open_ms,
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    volume_lots: c.volume_lots,
    quote_units: c.quote_units,
    count: c.count,
    taker_buy_lots: c.taker_buy_lots,
    taker_buy_quote_units: c.taker_buy_quote_units,
  };
}

/** Writes `n` random trades in two markets through History.apply (the writer thread folds candles). */
function write_trades(history: History, rng: Prng, n: number): number[] {
  const times: number[] = [];
  let time_ms = T0;
  const next_id = [1, 1];
  /** Per market, the makers placed so far (some are hit again much later: orders with long lives). */
  const makers: { order_id: number; account: number }[][] = [[], []];
  for (let seq = 1; seq <= n; seq++) {
    // clusters of trades a few ms apart, pauses of seconds to hours between them
    const r = rng.below(100);
    time_ms +=
      r < 60
        ? rng.below(5)
        : r < 85
          ? rng.below(4000)
          : r < 97
            ? rng.below(600_000)
            : rng.below(6 * 3_600_000);
    time_ms = Math.min(time_ms, T0 + SPAN_MS);
    const market = rng.below(2);
    const taker = { order_id: 2 * seq, account: rng.below(3) };
    const old = makers[market];
    const reuse = old.length > 0 && rng.below(2) === 0;
    const maker = reuse ? old[rng.below(old.length)] : { order_id: 2 * seq + 1, account: rng.below(3) };
    if (!reuse) old.push(maker);
    const placed = (o: { order_id: number; account: number }): EngineEvent => ({
      kind: "order_new",
      order_id: o.order_id,
      account: o.account,
      market,
      side: SIDE_BUY,
      order_type: 0,
      tif: 0,
      price_ticks: 1,
      quantity_lots: 1,
      quote_units: 0,
      stop_price_ticks: 0,
      client_order_id: null,
      time_ms,
      stp: 0,
      strategy_id: -1,
      strategy_type: -1,
      trailing_delta_bips: -1,
      iceberg_lots: -1,
    });
    const updated = (o: { order_id: number; account: number }): EngineEvent => ({
      kind: "order_update",
      order_id: o.order_id,
      account: o.account,
      market,
      status: 1,
      executed_lots: 1,
      cumulative_quote_units: 1,
      end_reason: 0,
    });
    const events: EngineEvent[] = [placed(taker)];
    if (!reuse) events.push(placed(maker));
    const trades = rng.below(4); // none at times: an order placed, nothing traded
    for (let k = 0; k < trades; k++) {
      const price_ticks = 1 + rng.below(1_000_000);
      const quantity_lots = 1 + rng.below(1_000);
      // market 1 carries huge notionals: a few hundred of them pass 2^53 in a candle
      const quote_units = market === 1 ? 2 ** 45 + rng.below(2 ** 30) : price_ticks * quantity_lots;
      events.push({
        kind: "trade",
        market,
        trade_id: next_id[market]++,
        price_ticks,
        quantity_lots,
        quote_units,
        taker_order_id: taker.order_id,
        maker_order_id: maker.order_id,
        taker_account: taker.account,
        maker_account: maker.account,
        taker_side: rng.below(2) === 0 ? SIDE_BUY : SIDE_SELL,
        taker_fee_units: 0,
        maker_fee_units: 0,
        time_ms,
      });
    }
    if (trades > 0) events.push(updated(taker), updated(maker));
    history.apply(seq, time_ms, events);
    times.push(time_ms);
  }
  return times;
}

/** A window of random length; its ends often exactly at a command's time (an edge case for each read). */
function random_window(rng: Prng, times: number[]): [number, number] {
  const len = [0, 1, 999, 1000, 60_000, 3_600_000, DAY_MS, 3 * DAY_MS][rng.below(8)] + rng.below(3) - 1;
  const on_time = rng.below(3);
  if (on_time === 1) {
    const start = times[rng.below(times.length)];
    return [start, start + Math.max(0, len)];
  }
  if (on_time === 2) {
    const end = times[rng.below(times.length)];
    return [end - Math.max(0, len), end];
  }
  const start = T0 - 10_000 + rng.below(SPAN_MS + 20_000);
  return [start, start + Math.max(0, len)];
}

const shape_of = (rng: Prng) => rng.below(2);

/** Binance's zones: UTC, whole hours either way, the ends of its range, and zones of :30 and :45. */
const ZONES_MS = [0, 0, 8, -5, 14, -12, 5.75, -3.5, 9.5].map((h) => h * 3_600_000);

/** A market's taker trades, in id (and time) order, for the klines oracle. */
interface OracleTrades {
  time_ms: number[];
  rows: { price_ticks: number; quantity_lots: number; quote_units: number; is_buyer: number }[];
}

function oracle_trades(db: Database.Database, market: number): OracleTrades {
  const rows = db
    .prepare(`SELECT time_ms, price_ticks, quantity_lots, quote_units, is_buyer FROM trades
      WHERE market = ? AND is_maker = 0 ORDER BY trade_id`)
    .all(market) as ({ time_ms: number } & OracleTrades["rows"][number])[];
  return { time_ms: rows.map((r) => r.time_ms), rows };
}

/** The first index whose time is at least t. */
function lower_bound(times: number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Klines as Binance documents them, computed the plain way: buckets numbered from the epoch in the
 * zone's local time (months by calendar), the ones opening in [start, end] from the first trade's
 * on, each summed over its trades; a bucket without trades at the close before it, volume 0.
 */
function oracle_klines(
  t: OracleTrades,
  interval: string,
  zone_ms: number,
  q: { start_ms?: number; end_ms: number; limit: number },
) {
  if (t.time_ms.length === 0) return [];
  // bucket k ↔ its open time (UTC)
  let index_of: (time_ms: number) => number;
  let open_of: (k: number) => number;
  if (interval === "1M") {
    index_of = (time_ms) => {
      const d = new Date(time_ms + zone_ms);
      return d.getUTCFullYear() * 12 + d.getUTCMonth();
    };
    open_of = (k) => Date.UTC(Math.floor(k / 12), k % 12, 1) - zone_ms;
  } else {
    const ms = INTERVALS[interval];
    const base = interval === "1w" ? MONDAY_OFFSET_MS : 0;
    index_of = (time_ms) => Math.floor((time_ms + zone_ms - base) / ms);
    open_of = (k) => k * ms + base - zone_ms;
  }
  let lo = index_of(t.time_ms[0]);
  if (q.start_ms !== undefined) {
    const k = index_of(q.start_ms);
    lo = Math.max(lo, open_of(k) < q.start_ms ? k + 1 : k);
  }
  const hi = index_of(q.end_ms);
  if (lo > hi) return [];
  const [from, to] =
    q.start_ms !== undefined ? [lo, Math.min(hi, lo + q.limit - 1)] : [Math.max(lo, hi - q.limit + 1), hi];
  const out: ReturnType<typeof candle_fields>[] = [];
  for (let k = from; k <= to; k++) {
    const a = lower_bound(t.time_ms, open_of(k));
    const b = lower_bound(t.time_ms, open_of(k + 1));
    const before = t.rows[a - 1]?.price_ticks; // the close before the bucket
    const c = {
      open_ms: open_of(k),
      open: a < b ? t.rows[a].price_ticks : before,
      high: before,
      low: before,
      close: t.rows[b - 1]?.price_ticks,
      volume_lots: 0n,
      quote_units: 0n,
      count: b - a,
      taker_buy_lots: 0n,
      taker_buy_quote_units: 0n,
    };
    if (a < b) {
      c.high = Math.max(...t.rows.slice(a, b).map((r) => r.price_ticks));
      c.low = Math.min(...t.rows.slice(a, b).map((r) => r.price_ticks));
    }
    for (let i = a; i < b; i++) {
      const r = t.rows[i];
      c.volume_lots += BigInt(r.quantity_lots);
      c.quote_units += BigInt(r.quote_units);
      if (r.is_buyer === 1) {
        c.taker_buy_lots += BigInt(r.quantity_lots);
        c.taker_buy_quote_units += BigInt(r.quote_units);
      }
    }
    out.push(c);
  }
  return out;
}

async function check(
  history: History,
  db: Database.Database,
  rng: Prng,
  times: number[],
  queries: number,
): Promise<void> {
  const o = oracle(db);
  const interval_names = Object.keys(INTERVALS);
  const trades_by_market = new Map<number, OracleTrades>();
  const trades_of = (market: number): OracleTrades => {
    let t = trades_by_market.get(market);
    if (t === undefined) {
      t = oracle_trades(db, market);
      trades_by_market.set(market, t);
    }
    return t;
  };
  let orders_with_trades = 0;
  let quiet_klines = 0;
  for (let q = 0; q < queries; q++) {
    const market = rng.below(2);
    const [start, end] = random_window(rng, times);
    const got: Agg | null = await history.stats(market, start, end);
    assert.deepEqual(got === null ? null : { ...got }, o.stats(market, start, end), `stats ${start}..${end}`);

    // the paged reads of a window (trades, aggTrades, myTrades, allOrders) as a filter on time
    const account = rng.below(3);
    const page = { limit: [1, 10, 500][rng.below(3)], start_ms: start, end_ms: end };
    const from_id = rng.below(40_000);
    const ids = (rows: { trade_id?: number; order_id?: number }[]) =>
      rows.map((r) => r.trade_id ?? r.order_id);
    assert.deepEqual(
      ids(await history.market_trades(market, page)),
      ids(o.market_trades_recent(market, start, end, page.limit)),
    );
    assert.deepEqual(
      ids(await history.market_trades(market, { ...page, from_id })),
      ids(o.market_trades_from(market, from_id, start, end, page.limit)),
    );
    assert.deepEqual(
      ids(await history.trades(account, market, { ...page, from_id })),
      ids(o.account_trades_from(account, market, from_id, start, end, page.limit)),
    );
    const before = db
      .prepare(`SELECT price_ticks FROM trades WHERE market = ? AND is_maker = 0 AND time_ms < ?
        ORDER BY trade_id DESC LIMIT 1`)
      .get(market, start) as { price_ticks: number } | undefined;
    assert.equal(await history.last_price_before(market, start), before?.price_ticks ?? null);
    // an order's trades: a taker or maker order (makers live long), of this account and market or not
    const order_id = 2 * (1 + rng.below(times.length)) + rng.below(2);
    const of_order = ids(
      await history.order_trades(account, market, order_id, { from_id: from_id % 3, limit: page.limit }),
    );
    assert.deepEqual(of_order, ids(o.order_trades(account, market, order_id, from_id % 3, page.limit)));
    if (of_order.length > 1) orders_with_trades++;
    const orders_page: { limit: number; start_ms?: number; end_ms: number } =
      shape_of(rng) === 0 ? { limit: page.limit, end_ms: end } : page;
    assert.deepEqual(
      ids(await history.all_orders(account, market, orders_page)),
      ids(o.orders_recent(account, market, orders_page.start_ms ?? 0, end, page.limit)),
    );

    const name = interval_names[rng.below(interval_names.length)];
    const zone_ms = ZONES_MS[rng.below(ZONES_MS.length)];
    const limit = [1, 2, 7, 500, 1000][rng.below(5)];
    const shape = rng.below(4); // up to now; from a start; from a start to an end; up to an end
    const now_ms = T0 + SPAN_MS + rng.below(3) * DAY_MS;
    // a start on a bucket's open opens at it (and one inside a bucket at the next)
    const align_ms = [1, 1, 1000, 60_000, 3_600_000, DAY_MS][rng.below(6)];
    const kq = {
      start_ms: shape === 1 || shape === 2 ? Math.floor(start / align_ms) * align_ms : undefined,
      end_ms: shape >= 2 ? end : now_ms,
      limit,
    };
    const want = oracle_klines(trades_of(market), name, zone_ms, kq);
    const have = (await history.klines(market, interval_buckets(name, zone_ms), kq)).map(candle_fields);
    assert.deepEqual(have, want, `${name} zone ${zone_ms} klines ${JSON.stringify(kq)}`);
    if (want.some((c) => c.count === 0)) quiet_klines++;
  }
  assert.ok(quiet_klines > queries / 20, `${quiet_klines} klines answers had buckets without trades`);
  assert.ok(orders_with_trades > queries / 50, `${orders_with_trades} orders read had several trades`);
}

describe("history reads", () => {
  it("match the trades they are folded from: statistics of any window and klines of every interval", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-candles-"));
    const file = join(dir, "history.sqlite");
    const rng = new Prng(seed());
    const open: { close(): void }[] = []; // closed however the test ends (a worker left open hangs it)
    const track = <T extends { close(): void }>(x: T): T => {
      open.push(x);
      return x;
    };
    try {
      const history = track(new History(file));
      const times = write_trades(history, rng, 20_000);
      const db = track(new Database(file, { readonly: true }));
      await history.stats(0, 0, 1); // waits for the writer
      const trades = (
        db.prepare("SELECT COUNT(*) AS n FROM trades WHERE is_maker = 0").get() as { n: number }
      ).n;
      assert.ok(trades > 30_000, `${trades} trades`);
      // the big-notional market's day candles pass 2^53 (read exactly as BigInt)
      const max_quote = db
        .prepare("SELECT MAX(quote_units) AS q FROM candles WHERE market = 1")
        .safeIntegers(true)
        .get() as { q: bigint };
      assert.ok(max_quote.q > BigInt(Number.MAX_SAFE_INTEGER), `largest candle quote ${max_quote.q}`);
      await check(history, db, rng, times, 350);

      // A history written before candles: its candles are built from its trades when it is opened.
      for (const x of open.splice(0)) x.close();
      const raw = new Database(file);
      raw.exec("DROP TABLE candles; DELETE FROM meta WHERE key = 'candles';");
      raw.close();
      const logs: string[] = [];
      const reopened = track(new History(file, (l) => logs.push(l)));
      assert.match(logs.join("\n"), new RegExp(`candles built from ${trades} trades`));
      const db2 = track(new Database(file, { readonly: true }));
      await check(reopened, db2, rng, times, 120);

      // A history folded before the 15-minute level (candles version 1): the level is built when it
      // is opened, the others left as they are.
      for (const x of open.splice(0)) x.close();
      const v1 = new Database(file);
      const fifteen = v1.prepare("DELETE FROM candles WHERE interval_ms = 900000").run().changes;
      v1.exec("UPDATE meta SET value = 1 WHERE key = 'candles'");
      v1.close();
      assert.ok(fifteen > 100, `${fifteen} 15-minute candles removed`);
      const upgraded = track(new History(file, (l) => logs.push(l)));
      const db3 = track(new Database(file, { readonly: true }));
      assert.equal(
        (db3.prepare("SELECT COUNT(*) AS n FROM candles WHERE interval_ms = 900000").get() as { n: number })
          .n,
        fifteen,
        "the 15-minute level built again, row for row",
      );
      await check(upgraded, db3, rng, times, 60);
    } finally {
      for (const x of open) x.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("folding the same trades twice changes nothing (a batch written again after a crash)", () => {
    const db = new Database(":memory:");
    db.exec(CANDLES_SCHEMA);
    const upsert = db.prepare(CANDLE_UPSERT_SQL);
    const fold = (from: number, to: number) => {
      const f = new CandleFolder();
      for (let id = from; id <= to; id++)
        f.add(0, id, 100 + id, 2, 200 + 2 * id, T0 + id * 700, id % 2 === 0);
      for (const g of f.take()) upsert.run(g);
    };
    const dump = () => db.prepare("SELECT * FROM candles ORDER BY interval_ms, open_ms").all();
    fold(1, 50);
    fold(51, 100);
    const once = dump();
    fold(51, 100);
    fold(1, 100);
    assert.deepEqual(dump(), once);
    const day = once.filter((r) => (r as { interval_ms: number }).interval_ms === DAY_MS);
    assert.equal(day.length, 1);
    assert.equal((day[0] as { count: number }).count, 100);
  });
});
