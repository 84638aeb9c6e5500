/**
 * `npm run bench:history [-- --quick] [--trades N]`: what the history's reads cost the node's thread
 * on a busy market. The history (src/projections/history.ts) is filled through its writer thread
 * with N trades (2,000,000; --quick 300,000) over the last 24 hours in one market, an order for each
 * command, and then every read a client can make of it is timed: the 24-hour ticker (which the
 * @ticker streams also read once a second), avgPrice, klines of several intervals, and paged windows
 * of trades, myTrades and allOrders. Each is compared, on the same file in the same run, with the
 * query the history answered it with before it kept candles and read windows by id
 * (test/helpers/trade_queries.ts). These reads run on the node's thread, which also matches orders:
 * each millisecond here is a millisecond no order is matched. Last line: one JSON object.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine/engine.js";
import type { EngineEvent } from "../../src/engine/events.js";
import { SIDE_BUY, SIDE_SELL } from "../../src/engine/types.js";
import { interval_buckets } from "../../src/gateway/history_data.js";
import { market_format, my_trades_json, order_json } from "../../src/gateway/history_json.js";
import { fixed_buckets, History } from "../../src/projections/history.js";
import { HistoryQueries } from "../../src/projections/history_queries.js";
import { Prng } from "../../src/sim/prng.js";
import { market_commands } from "../../test/engine/helpers.js";
import { trade_queries } from "../../test/helpers/trade_queries.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const TRADES = Number(arg("--trades") ?? (quick ? 300_000 : 2_000_000));
const REPEATS = quick ? 5 : 9;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const ACCOUNTS = 8;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");

/** `trades` trades at an even pace over the `span_ms` before `now_ms`, through the writer thread. */
async function fill(history: History, now_ms: number, trades = TRADES, span_ms = DAY_MS): Promise<number> {
  const rng = new Prng(20261127);
  const started_ms = Date.now();
  let shown_ms = started_ms;
  const first_ms = now_ms - span_ms + 1;
  for (let seq = 1; seq <= trades; seq++) {
    const time_ms = first_ms + Math.floor(((seq - 1) / trades) * (span_ms - 2));
    const price_ticks = 50_000 + rng.below(1_000);
    const quantity_lots = 1 + rng.below(100);
    const taker = seq % ACCOUNTS;
    const events: EngineEvent[] = [
      {
        kind: "order_new",
        order_id: seq,
        account: taker,
        market: 0,
        side: SIDE_BUY,
        order_type: 0,
        tif: 0,
        price_ticks,
        quantity_lots,
        quote_units: 0,
        stop_price_ticks: 0,
        client_order_id: null,
        time_ms,
        stp: 0,
        strategy_id: -1,
        strategy_type: -1,
        trailing_delta_bips: -1,
        iceberg_lots: -1,
      },
      {
        kind: "trade",
        market: 0,
        trade_id: seq,
        price_ticks,
        quantity_lots,
        quote_units: price_ticks * quantity_lots,
        taker_order_id: seq,
        maker_order_id: seq - 1,
        taker_account: taker,
        maker_account: (taker + 1) % ACCOUNTS,
        taker_side: rng.below(2) === 0 ? SIDE_BUY : SIDE_SELL,
        taker_fee_units: 0,
        maker_fee_units: 0,
        time_ms,
      },
    ];
    history.apply(seq, time_ms, events);
    if (Date.now() - shown_ms >= 5000) {
      shown_ms = Date.now();
      log(`  ${fmt(seq)} of ${fmt(trades)} trades written`);
    }
  }
  await history.stats(0, 0, 1); // waits until the writer has written everything
  return trades / ((Date.now() - started_ms) / 1000);
}

/** Median wall time of `f` over REPEATS calls, in ms. */
function median_ms(f: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "hf-bench-history-"));
  const now_ms = Date.now();
  try {
    log(`history: ${fmt(TRADES)} trades in one market over 24 hours (${quick ? "quick" : "full"} run)`);
    const history = new History(join(dir, "history.sqlite"), log);
    const write_per_s = await fill(history, now_ms);
    log(
      `  written: ${fmt(write_per_s)} trades/s (with an order each), candles folded in on the writer thread`,
    );
    const before = trade_queries(new Database(join(dir, "history.sqlite"), { readonly: true }));
    // timed as the reader thread runs them (history_reader.ts), synchronously on a connection of their own
    const reader_db = new Database(join(dir, "history.sqlite"), { readonly: true });
    const q = new HistoryQueries(reader_db);
    const window_23h = { start: now_ms - 23 * HOUR_MS, end: now_ms - 22 * HOUR_MS };
    const reads: [string, () => unknown, () => unknown][] = [
      [
        "ticker_24h",
        () => q.stats(0, now_ms - DAY_MS, now_ms),
        () => before.stats(0, now_ms - DAY_MS, now_ms),
      ],
      [
        "avg_price_5m",
        () => q.stats(0, now_ms - 300_000, now_ms),
        () => before.stats(0, now_ms - 300_000, now_ms),
      ],
      ...(
        [
          ["1s", 1000, 1000],
          ["1m", 60_000, 500],
          ["1h", HOUR_MS, 500],
          ["1d", DAY_MS, 500],
        ] as const
      ).map(([name, ms, limit]): [string, () => unknown, () => unknown] => [
        `klines_${name}_recent_${limit}`,
        () => q.klines(0, fixed_buckets(ms, 0), { end_ms: now_ms, limit }),
        () => before.candles(0, { ms, off: 0, limit }),
      ]),
      // intervals that are several level rows (summed by SQLite per kline), and a day in a zone of
      // :45 (whole hours and the minutes at its ends); "before" ignored the zone (it had no timeZone)
      ...(
        [
          ["15m", 15 * 60_000, 0],
          ["4h", 4 * HOUR_MS, 0],
          ["1h_zone_0545", HOUR_MS, -5.75 * HOUR_MS],
          ["1d_zone_0545", DAY_MS, -5.75 * HOUR_MS],
        ] as const
      ).map(([name, ms, off]): [string, () => unknown, () => unknown] => [
        `klines_${name}_day`,
        () =>
          q.klines(0, fixed_buckets(ms, off), {
            start_ms: now_ms - DAY_MS,
            end_ms: now_ms,
            limit: 1000,
          }),
        () => before.candles(0, { ms, off: 0, start: now_ms - DAY_MS, limit: 1000 }),
      ]),
      [
        "trades_window_23h_ago",
        () => q.market_trades(0, { start_ms: window_23h.start, end_ms: window_23h.end, limit: 500 }),
        () => before.market_trades_recent(0, window_23h.start, window_23h.end, 500),
      ],
      [
        "agg_trades_from_id_1_last_hour",
        () => q.market_trades(0, { from_id: 1, start_ms: now_ms - HOUR_MS, end_ms: now_ms, limit: 500 }),
        () => before.market_trades_from(0, 1, now_ms - HOUR_MS, now_ms, 500),
      ],
      [
        "my_trades_from_id_1_last_hour",
        () => q.trades(3, 0, { from_id: 1, start_ms: now_ms - HOUR_MS, end_ms: now_ms, limit: 500 }),
        () => before.account_trades_from(3, 0, 1, now_ms - HOUR_MS, now_ms, 500),
      ],
      [
        "all_orders_window_23h_ago",
        () => q.all_orders(3, 0, { start_ms: window_23h.start, end_ms: window_23h.end, limit: 500 }),
        () => before.orders_recent(3, 0, window_23h.start, window_23h.end, 500),
      ],
    ];
    const result: Record<string, number | boolean> = {
      trades: TRADES,
      write_trades_per_s: Math.round(write_per_s),
    };
    log(`  read (median of ${REPEATS})                    now ms    before ms   before / now`);
    for (const [name, now, then] of reads) {
      const now_read_ms = median_ms(now);
      const before_ms = median_ms(then);
      log(
        `  ${name.padEnd(34)} ${now_read_ms.toFixed(2).padStart(9)} ${before_ms.toFixed(1).padStart(12)} ${(before_ms / now_read_ms).toFixed(0).padStart(13)}×`,
      );
      result[`${name}_ms`] = Number(now_read_ms.toFixed(3));
      result[`${name}_before_ms`] = Number(before_ms.toFixed(1));
    }
    reader_db.close();

    // What a page costs the node's thread itself (event-loop utilization while it waits for nothing
    // else): 1,000 rows coming back and formatted there (up to session 16) against the JSON text made
    // on the reader thread (history_json.ts), for allOrders and myTrades.
    const engine = new Engine();
    for (const c of market_commands()) engine.apply(c);
    const format = market_format(engine, engine.markets[0]);
    const page = { limit: 1000 };
    const pages: [string, () => Promise<string>][] = [
      [
        "all_orders_rows",
        async () => JSON.stringify((await history.all_orders(3, 0, page)).map((r) => order_json(format, r))),
      ],
      ["all_orders_text", () => history.all_orders_text(3, 0, page, format)],
      [
        "my_trades_rows",
        async () => JSON.stringify(my_trades_json(format, await history.trades(3, 0, page))),
      ],
      ["my_trades_text", () => history.my_trades_text(3, 0, null, page, format)],
    ];
    if ((await pages[0][1]()) !== (await pages[1][1]()) || (await pages[2][1]()) !== (await pages[3][1]()))
      throw new Error("a page made on the reader thread differs from the rows formatted here");
    log("  the node's thread per 1,000-row page (event-loop utilization, 100 pages)");
    for (const [name, read] of pages) {
      for (let i = 0; i < 20; i++) await read();
      const start = performance.eventLoopUtilization();
      for (let i = 0; i < 100; i++) await read();
      const busy_ms = performance.eventLoopUtilization(start).active / 100;
      log(`  ${name.padEnd(34)} ${busy_ms.toFixed(2).padStart(9)} ms`);
      result[`node_thread_${name}_page_ms`] = Number(busy_ms.toFixed(3));
    }
    history.close();

    // The worst klines requests: 1,000 klines over a long history (a trade a minute), in intervals
    // made of many candle rows and in zones that cut the candle levels (no "before": it had no zones).
    const long_days = quick ? 100 : 400;
    log(`long history: a trade a minute for ${long_days} days; 1,000 klines a request`);
    const long = new History(join(dir, "long.sqlite"), log);
    await fill(long, now_ms, long_days * 1440, long_days * DAY_MS);
    const long_db = new Database(join(dir, "long.sqlite"), { readonly: true });
    const lq = new HistoryQueries(long_db);
    const zones: [string, string, number][] = [
      ["1d", "1d", 0],
      ["1d_utc+8", "1d", 8],
      ["1d_utc+5:45", "1d", 5.75],
      ["1h_utc+5:45", "1h", 5.75],
      ["15m", "15m", 0],
      ["4h", "4h", 0],
      ["1w_utc+8", "1w", 8],
      ["1M_utc+8", "1M", 8],
    ];
    for (const [name, interval, zone_h] of zones) {
      const buckets = interval_buckets(interval, zone_h * HOUR_MS);
      const ms = median_ms(() => lq.klines(0, buckets, { end_ms: now_ms, limit: 1000 }));
      const n = lq.klines(0, buckets, { end_ms: now_ms, limit: 1000 }).length;
      log(`  klines ${name.padEnd(12)} ${fmt(n).padStart(5)} klines ${ms.toFixed(2).padStart(8)} ms`);
      result[`long_klines_${name.replace(/[+:]/g, "")}_ms`] = Number(ms.toFixed(3));
    }
    long_db.close();
    long.close();
    result.quick = quick;
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  log(`bench:history: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
