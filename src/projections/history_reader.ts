/**
 * The history's reader thread: every read of history.sqlite (GET order, allOrders, myTrades, trades,
 * aggTrades, klines, tickers, the once-a-second ticker and kline streams) runs here, on a connection
 * of its own, one at a time. On the node's thread a page of 1,000 rows cost 5-15 ms; 50 such reads a
 * second (a few chart pages and bots) took most of that thread and order acks went from a p99 of
 * 15 ms to a p50 of 0.9 s (`npm run bench:api -- --quick --only-reads`, docs/BENCHMARKS.md). Here
 * they cost the node's thread a message each way, and this thread runs at a lower priority, so
 * order entry comes first when the cores are busy. The pages (trades, aggTrades, klines, allOrders,
 * myTrades) are made into Binance's JSON here too (gateway/history_json.ts): the node's thread only
 * sends the text.
 *
 * A read first waits until the writer has written every batch handed to it before the read was asked
 * (`batches`: the client reads its own writes), for at most READ_WAIT_MS_MAX; then it answers busy.
 */

import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import {
  agg_trades_json,
  amendments_json,
  kline_row,
  type MarketFormat,
  my_trades_json,
  order_json,
  type PublicShape,
  prevented_matches_json,
  trades_json,
} from "../gateway/history_json.js";
import { run_in_background } from "../node/background.js";
import { AuditQueries } from "../reserves/audit.js";
import { type BucketsSpec, buckets_of } from "./candles.js";
import { HistoryQueries } from "./history_queries.js";
import { SLOT_BATCHES_WRITTEN, SLOT_STATE, STATE_CLOSED, STATE_FAILED } from "./history_rows.js";

export interface ReaderStart {
  file: string;
  /** The writer's progress (history_rows.ts slots). */
  shared: SharedArrayBuffer;
  /** Int32 [0]: set to 1 once this thread's connection is closed. */
  closed: SharedArrayBuffer;
  wait_ms_max: number;
  /** The nice value this thread runs at (Linux). */
  nice: number;
}

/** HistoryQueries' read methods, as named in a request (klines' buckets travel as their spec). */
export type ReadOp =
  | "order"
  | "all_orders"
  | "trades"
  | "order_trades"
  | "market_trades"
  | "klines"
  | "stats"
  | "last_price_before"
  | "market_trades_text"
  | "klines_text"
  | "all_orders_text"
  | "my_trades_text"
  | "orders_by_id"
  | "prevented_matches_text"
  | "amendments_text"
  | "order_list"
  | "order_lists"
  | "transfers"
  | "withdrawals"
  | "reserves_find"
  | "reserves_audits"
  | "reserves_proof";

export type ReaderRequest =
  | { type: "read"; id: number; batches: number; op: ReadOp; args: unknown[] }
  | { type: "stop" };

/** `busy`: the writer had not caught up in time; `writer_down`: it failed or closed meanwhile. */
export type ReaderReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string; busy: boolean; writer_down: boolean };

const start = workerData as ReaderStart;
const port = parentPort;
if (port === null) throw new Error("history_reader must run as a worker thread");
run_in_background(start.nice);
const words = new Int32Array(start.shared, 0, 5);

const db = new Database(start.file, { fileMustExist: true });
db.pragma("query_only = 1");
db.pragma("busy_timeout = 1000");
const queries = new HistoryQueries(db);
const audits = new AuditQueries(db);

/** Why the read cannot run yet or at all, once the writer has written `batches` (null: it can). */
function wait_for_writer(batches: number): { error: string; busy: boolean } | null {
  const deadline_ms = Date.now() + start.wait_ms_max;
  for (;;) {
    const seen = Atomics.load(words, SLOT_BATCHES_WRITTEN);
    if (seen >= batches) return null;
    const state = Atomics.load(words, SLOT_STATE);
    if (state === STATE_FAILED || state === STATE_CLOSED)
      return { error: state === STATE_FAILED ? "the writer failed" : "the writer closed", busy: false };
    const left_ms = deadline_ms - Date.now();
    if (left_ms <= 0)
      return {
        error: `busy: the writer has not caught up within ${start.wait_ms_max} ms (${batches - seen} batches waiting)`,
        busy: true,
      };
    Atomics.wait(words, SLOT_BATCHES_WRITTEN, seen, Math.min(left_ms, 100));
  }
}

function run(op: ReadOp, a: unknown[]): unknown {
  const n = (i: number) => a[i] as number;
  switch (op) {
    case "order":
      return queries.order(n(0), n(1), a[2] as number | null, a[3] as string | null);
    case "all_orders":
      return queries.all_orders(n(0), n(1), a[2] as Parameters<HistoryQueries["all_orders"]>[2]);
    case "trades":
      return queries.trades(n(0), n(1), a[2] as Parameters<HistoryQueries["trades"]>[2]);
    case "order_trades":
      return queries.order_trades(n(0), n(1), n(2), a[3] as Parameters<HistoryQueries["order_trades"]>[3]);
    case "market_trades":
      return queries.market_trades(n(0), a[1] as Parameters<HistoryQueries["market_trades"]>[1]);
    case "klines":
      return queries.klines(
        n(0),
        buckets_of(a[1] as BucketsSpec),
        a[2] as Parameters<HistoryQueries["klines"]>[2],
      );
    case "stats":
      return queries.stats(n(0), n(1), n(2));
    case "last_price_before":
      return queries.last_price_before(n(0), n(1));
    case "market_trades_text": {
      const rows = queries.market_trades(n(0), a[1] as Parameters<HistoryQueries["market_trades"]>[1]);
      const format = a[3] as MarketFormat;
      return JSON.stringify(
        (a[2] as PublicShape) === "trades" ? trades_json(format, rows) : agg_trades_json(format, rows),
      );
    }
    case "order_list":
      return queries.order_list(n(0), a[1] as number | null, a[2] as string | null);
    case "order_lists":
      return queries.order_lists(n(0), a[1] as Parameters<HistoryQueries["order_lists"]>[1]);
    case "transfers":
      return queries.transfers(n(0), a[1] as Parameters<HistoryQueries["transfers"]>[1]);
    case "withdrawals":
      return queries.withdrawals(n(0), a[1] as Parameters<HistoryQueries["withdrawals"]>[1]);
    case "reserves_find":
      return audits.find(a[0] as number | null);
    case "reserves_audits":
      return audits.list(n(0));
    case "reserves_proof":
      return audits.proof(n(0), a[1] as number | null);
    case "orders_by_id":
      return (a[1] as [number, number][]).map(([market, order_id]) =>
        queries.order(n(0), market, order_id, null),
      );
    case "all_orders_text": {
      const rows = queries.all_orders(n(0), n(1), a[2] as Parameters<HistoryQueries["all_orders"]>[2]);
      const format = a[3] as MarketFormat;
      return JSON.stringify(rows.map((r) => order_json(format, r)));
    }
    case "my_trades_text": {
      const q = a[3] as Parameters<HistoryQueries["trades"]>[2];
      const order_id = a[2] as number | null;
      const rows =
        order_id === null ? queries.trades(n(0), n(1), q) : queries.order_trades(n(0), n(1), order_id, q);
      const lists = queries.order_list_ids(
        n(0),
        rows.map((r) => r.order_id),
      );
      return JSON.stringify(my_trades_json(a[4] as MarketFormat, rows, lists));
    }
    case "amendments_text": {
      const rows = queries.amendments(n(0), n(1), n(2), a[3] as Parameters<HistoryQueries["amendments"]>[3]);
      return JSON.stringify(amendments_json(a[4] as MarketFormat, rows));
    }
    case "prevented_matches_text": {
      const rows = queries.prevented_matches(
        n(0),
        n(1),
        a[2] as Parameters<HistoryQueries["prevented_matches"]>[2],
      );
      return JSON.stringify(prevented_matches_json(a[3] as MarketFormat, rows));
    }
    case "klines_text": {
      const buckets = buckets_of(a[1] as BucketsSpec);
      const candles = queries.klines(n(0), buckets, a[2] as Parameters<HistoryQueries["klines"]>[2]);
      const format = a[3] as MarketFormat;
      return JSON.stringify(candles.map((c) => kline_row(format, buckets, c)));
    }
  }
}

port.on("message", (m: ReaderRequest) => {
  if (m.type === "stop") {
    db.close();
    // History.close() waits for this: its caller may remove the directory next.
    const closed = new Int32Array(start.closed);
    Atomics.store(closed, 0, 1);
    Atomics.notify(closed, 0);
    port.close();
    return;
  }
  const waited = wait_for_writer(m.batches);
  if (waited !== null) {
    port.postMessage({
      id: m.id,
      ok: false,
      error: waited.error,
      busy: waited.busy,
      writer_down: !waited.busy,
    } satisfies ReaderReply);
    return;
  }
  try {
    port.postMessage({ id: m.id, ok: true, value: run(m.op, m.args) } satisfies ReaderReply);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    port.postMessage({
      id: m.id,
      ok: false,
      error: text,
      busy: false,
      writer_down: false,
    } satisfies ReaderReply);
  }
});
