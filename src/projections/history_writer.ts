/**
 * The history's writer thread: it owns the only connection that writes history.sqlite and turns each
 * batch of packed rows (history_rows.ts) into one transaction, with the batch's last sequence in the
 * same transaction. The node's thread only packs rows and reads; a transaction of a thousand rows
 * cost it ~1-3 ms, and the row objects behind it were the largest share of its garbage under order
 * load. Progress goes through shared memory (slots in history_rows.ts), so a reader on the node's
 * thread can wait for its own writes with Atomics.wait, without an event-loop turn.
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { is_stop_type, LIST_EXECUTING, STATUS_NEW, STATUS_PENDING_NEW } from "../engine/types.js";
import { PendingWriter } from "../reserves/audit.js";
import { CANDLE_UPSERT_SQL, CandleFolder } from "./candles.js";
import {
  ERROR_TEXT_BYTES_MAX,
  ERROR_TEXT_OFFSET,
  ROW_ORDER_ACTIVATED,
  ROW_ORDER_ACTIVATED_WIDTH,
  ROW_ORDER_AMENDED,
  ROW_ORDER_AMENDED_WIDTH,
  ROW_ORDER_LIST,
  ROW_ORDER_LIST_WIDTH,
  ROW_ORDER_NEW,
  ROW_ORDER_NEW_WIDTH,
  ROW_ORDER_PEGGED,
  ROW_ORDER_PEGGED_WIDTH,
  ROW_ORDER_TRIGGERED,
  ROW_ORDER_TRIGGERED_WIDTH,
  ROW_ORDER_UPDATE,
  ROW_ORDER_UPDATE_WIDTH,
  ROW_PREVENTED_MATCH,
  ROW_PREVENTED_MATCH_WIDTH,
  ROW_TRADE,
  ROW_TRADE_WIDTH,
  ROW_TRAILING_STARTED,
  ROW_TRAILING_STARTED_WIDTH,
  ROW_TRANSFER,
  ROW_TRANSFER_WIDTH,
  type RowBatch,
  SLOT_BATCHES_WRITTEN,
  SLOT_ERROR_BYTES,
  SLOT_STATE,
  SLOT_WRITTEN_SEQ,
  STATE_CLOSED,
  STATE_FAILED,
  type WriterReply,
  type WriterRequest,
  type WriterStart,
} from "./history_rows.js";

const start = workerData as WriterStart;
const port = parentPort;
if (port === null) throw new Error("history_writer must run as a worker thread");
const words = new Int32Array(start.shared, 0, 5);
const seqs = new BigInt64Array(start.shared, 0, 2);

const db = new Database(start.file);
// NORMAL: a power loss may lose the last transactions, never corrupt the file; the node replays
// whatever last_seq says is missing. (Per connection, like the two below.)
db.pragma("synchronous = NORMAL");
db.pragma(`wal_autocheckpoint = ${start.wal_autocheckpoint_pages}`);
db.pragma("busy_timeout = 1000");
// Columns by name: a file from before some columns existed has them added at its end, in whatever
// order its upgrades added them.
const insert_order = db.prepare(`INSERT OR REPLACE INTO orders (order_id, account, market,
  client_order_id, side, order_type, tif, price_ticks, quantity_lots, quote_units, stop_price_ticks,
  status, executed_lots, cumulative_quote_units, time_ms, update_ms, stp, working_ms, strategy_id,
  strategy_type, trailing_delta, trailing_ms, iceberg_lots, order_list_id)
  VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`);
const insert_list = db.prepare(`INSERT OR REPLACE INTO order_lists (list_id, account, market,
  list_client_order_id, status, time_ms, update_ms, above_order_id, below_order_id, contingency,
  working_order_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)`);
const end_list = db.prepare("UPDATE order_lists SET status = ?, update_ms = ? WHERE list_id = ?");
const amend_order = db.prepare(
  "UPDATE orders SET quantity_lots = ?, client_order_id = ?, update_ms = ? WHERE order_id = ?",
);
const insert_amendment = db.prepare("INSERT OR REPLACE INTO amendments VALUES (?,?,?,?,?,?,?,?,?)");
const insert_prevented = db.prepare("INSERT OR REPLACE INTO prevented_matches VALUES (?,?,?,?,?,?,?,?,?,?)");
const set_prevented = db.prepare(
  "UPDATE orders SET prevented_match_id = ?, prevented_lots = ? WHERE order_id = ?",
);
const set_working = db.prepare("UPDATE orders SET working_ms = ? WHERE order_id = ?");
const set_trailing = db.prepare("UPDATE orders SET trailing_ms = ? WHERE order_id = ?");
/** A pegged order's peg: type, offset in levels (NULL: none sent), pegged price (NULL: not yet known). */
const set_peg = db.prepare(
  "UPDATE orders SET peg_type = ?, peg_offset = ?, pegged_price_ticks = ? WHERE order_id = ?",
);
const update_order = db.prepare(
  "UPDATE orders SET status = ?, executed_lots = ?, cumulative_quote_units = ?, update_ms = ?, end_reason = ? WHERE order_id = ?",
);
/** A pending order placed: NEW, working from now unless a stop order (working once it triggers). */
const activate_order = db.prepare(`UPDATE orders SET status = ?, update_ms = ?,
  working_ms = CASE WHEN order_type >= 3 THEN -1 ELSE ? END, quantity_lots = ? WHERE order_id = ?`);
const insert_trade = db.prepare("INSERT OR REPLACE INTO trades VALUES (?,?,?,?,?,?,?,?,?,?,?)");
const insert_transfer = db.prepare("INSERT OR REPLACE INTO transfers VALUES (?,?,?,?,?)");
/** A withdrawal's row: made when asked for, its status and note moved on after (a replay rewrites alike). */
const upsert_withdrawal = db.prepare(`INSERT INTO withdrawals VALUES
  (@id,@account,@asset,@amount_units,@address,@address_tag,@network,@client_id,@status,@held,@note,@requested_ms,@time_ms)
  ON CONFLICT(id) DO UPDATE SET status = excluded.status, held = excluded.held, note = excluded.note,
  update_ms = excluded.update_ms`);
const set_last = db.prepare("UPDATE meta SET value = ? WHERE key = 'last_seq'");
const upsert_candle = db.prepare(CANDLE_UPSERT_SQL);
const candles = new CandleFolder();

const audits = new PendingWriter(db);

/** The rows of one batch, in event order (an order's updates follow its insert), and its audits. */
const write = db.transaction((b: RowBatch) => {
  candles.take(); // what an attempt that failed (a lock, see write_when_unlocked) had gathered
  const a = b.numbers;
  let ids = 0;
  let i = 0;
  while (i < b.length) {
    const kind = a[i];
    if (kind === ROW_ORDER_NEW) {
      // order_id, account, market, client_order_id, side, order_type, tif, price_ticks,
      // quantity_lots, quote_units, stop_price_ticks, status, executed_lots, cumulative_quote_units,
      // time_ms, update_ms, stp, working_ms (-1 for a stop order until it triggers: Binance's
      // workingTime, when the order began working on the book), strategy_id, strategy_type (NULL:
      // not given), trailing_delta (NULL: not a trailing stop), trailing_ms (-1 until it tracks),
      // iceberg_lots (NULL: not an iceberg), order_list_id (NULL: none)
      const time_ms = a[i + 11];
      insert_order.run(
        a[i + 1],
        a[i + 2],
        a[i + 3],
        b.client_ids[ids++],
        a[i + 4],
        a[i + 5],
        a[i + 6],
        a[i + 7],
        a[i + 8],
        a[i + 9],
        a[i + 10],
        0,
        0,
        0,
        time_ms,
        time_ms,
        a[i + 12],
        is_stop_type(a[i + 5]) ? -1 : time_ms,
        a[i + 13] === -1 ? null : a[i + 13],
        a[i + 14] === -1 ? null : a[i + 14],
        a[i + 15] === -1 ? null : a[i + 15],
        a[i + 15] === -1 ? null : -1,
        a[i + 16] === -1 ? null : a[i + 16],
        a[i + 17] === -1 ? null : a[i + 17],
      );
      i += ROW_ORDER_NEW_WIDTH;
    } else if (kind === ROW_ORDER_LIST) {
      // list_id, account, market, status, above_order_id, below_order_id, time_ms, contingency,
      // working_order_id (0: an OCO); a list is placed (EXECUTING: its row) or resolved (ALL_DONE:
      // its status and time)
      const list_cid = b.client_ids[ids++];
      if (a[i + 4] === LIST_EXECUTING)
        insert_list.run(
          a[i + 1],
          a[i + 2],
          a[i + 3],
          list_cid,
          a[i + 4],
          a[i + 7],
          a[i + 7],
          a[i + 5],
          a[i + 6],
          a[i + 8],
          a[i + 9] === 0 ? null : a[i + 9],
        );
      else end_list.run(a[i + 4], a[i + 7], a[i + 1]);
      i += ROW_ORDER_LIST_WIDTH;
    } else if (kind === ROW_ORDER_PEGGED) {
      set_peg.run(a[i + 2], a[i + 3] < 0 ? null : a[i + 3], a[i + 4] === 0 ? null : a[i + 4], a[i + 1]);
      i += ROW_ORDER_PEGGED_WIDTH;
    } else if (kind === ROW_TRAILING_STARTED) {
      set_trailing.run(a[i + 2], a[i + 1]);
      i += ROW_TRAILING_STARTED_WIDTH;
    } else if (kind === ROW_ORDER_ACTIVATED) {
      // (an OPO's pending order gets its quantity now)
      activate_order.run(STATUS_NEW, a[i + 2], a[i + 2], a[i + 3], a[i + 1]);
      i += ROW_ORDER_ACTIVATED_WIDTH;
    } else if (kind === ROW_ORDER_TRIGGERED) {
      set_working.run(a[i + 2], a[i + 1]);
      i += ROW_ORDER_TRIGGERED_WIDTH;
    } else if (kind === ROW_ORDER_UPDATE) {
      update_order.run(a[i + 2], a[i + 3], a[i + 4], a[i + 5], a[i + 6], a[i + 1]);
      // a pending order (an OTO's) is not working until it is placed
      if (a[i + 2] === STATUS_PENDING_NEW) set_working.run(-1, a[i + 1]);
      i += ROW_ORDER_UPDATE_WIDTH;
    } else if (kind === ROW_ORDER_AMENDED) {
      // order_id, market, account, execution_id, quantity_lots, orig_quantity_lots, time_ms; the new
      // client order id and the old follow in client_ids
      const new_id = b.client_ids[ids++];
      const old_id = b.client_ids[ids++];
      amend_order.run(a[i + 5], new_id, a[i + 7], a[i + 1]);
      // market, order_id, account, execution_id, orig_client_order_id, new_client_order_id,
      // orig_quantity_lots, new_quantity_lots, time_ms
      insert_amendment.run(
        a[i + 2],
        a[i + 1],
        a[i + 3],
        a[i + 4],
        old_id,
        new_id,
        a[i + 6],
        a[i + 5],
        a[i + 7],
      );
      i += ROW_ORDER_AMENDED_WIDTH;
    } else if (kind === ROW_PREVENTED_MATCH) {
      // market, prevented_match_id, taker_order_id, maker_order_id, account, price_ticks,
      // taker_lots, maker_lots (-1: that order was left alone), stp, time_ms, and each order's total;
      // and on each order it expired or reduced, the match and its total so far (Binance's
      // preventedMatchId and preventedQuantity)
      const id = a[i + 2];
      const taker_lots = a[i + 7];
      const maker_lots = a[i + 8];
      insert_prevented.run(
        a[i + 1],
        id,
        a[i + 5],
        a[i + 3],
        a[i + 4],
        a[i + 6],
        taker_lots,
        maker_lots,
        a[i + 9],
        a[i + 10],
      );
      if (taker_lots >= 0) set_prevented.run(id, a[i + 11], a[i + 3]);
      if (maker_lots >= 0) set_prevented.run(id, a[i + 12], a[i + 4]);
      i += ROW_PREVENTED_MATCH_WIDTH;
    } else if (kind === ROW_TRADE) {
      const market = a[i + 1];
      const trade_id = a[i + 2];
      const price = a[i + 3];
      const lots = a[i + 4];
      const quote = a[i + 5];
      const time_ms = a[i + 6];
      const taker_buys = a[i + 7] === 0 ? 1 : 0;
      // market, trade_id, order_id, account, price_ticks, quantity_lots, quote_units, fee_units,
      // is_buyer, is_maker, time_ms: the taker's row, then the maker's
      insert_trade.run(
        market,
        trade_id,
        a[i + 8],
        a[i + 9],
        price,
        lots,
        quote,
        a[i + 10],
        taker_buys,
        0,
        time_ms,
      );
      insert_trade.run(
        market,
        trade_id,
        a[i + 11],
        a[i + 12],
        price,
        lots,
        quote,
        a[i + 13],
        1 - taker_buys,
        1,
        time_ms,
      );
      candles.add(market, trade_id, price, lots, quote, time_ms, taker_buys === 1);
      i += ROW_TRADE_WIDTH;
    } else if (kind === ROW_TRANSFER) {
      // seq, account, asset, amount_units (< 0: a withdrawal), time_ms
      insert_transfer.run(a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5]);
      i += ROW_TRANSFER_WIDTH;
    } else throw new Error(`history rows: unknown kind ${kind} at ${i}`);
  }
  for (const g of candles.take()) upsert_candle.run(g);
  // an audit's balances, pending: the builder thread makes its tree (src/reserves/audit.ts)
  for (const audit of b.audits) audits.insert(audit);
  for (const w of b.withdrawals) upsert_withdrawal.run(w);
  set_last.run(b.seq);
});

/** Pause between attempts while another connection holds the database's write lock. */
const LOCKED_RETRY_MS = 50;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes the batch, waiting out a write lock another connection holds (an operator's sqlite3 shell,
 * a backup tool) for as long as it is held: the lock is not a failure of the history, and failing
 * here would stop it until a restart. Meanwhile the node's reads answer "busy" after a short wait
 * (History.settle) and its thread waits only once BATCHES_BEHIND_MAX batches are queued.
 */
function write_when_unlocked(b: RowBatch): void {
  for (;;) {
    try {
      write(b);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "SQLITE_BUSY" && code !== "SQLITE_LOCKED") throw error;
      Atomics.wait(pause, 0, 0, LOCKED_RETRY_MS);
    }
  }
}

port.on("message", (m: WriterRequest) => {
  if (m.type === "rows") {
    // After a failed batch nothing more is written: later rows without the lost ones would leave a
    // gap that last_seq could not describe. The node replays from the last written sequence.
    if (Atomics.load(words, SLOT_STATE) === STATE_FAILED) return;
    try {
      write_when_unlocked(m);
      Atomics.store(seqs, SLOT_WRITTEN_SEQ, BigInt(m.seq));
      Atomics.add(words, SLOT_BATCHES_WRITTEN, 1);
    } catch (error) {
      const text = new TextEncoder().encode(String(error)).subarray(0, ERROR_TEXT_BYTES_MAX);
      new Uint8Array(start.shared, ERROR_TEXT_OFFSET, text.length).set(text);
      Atomics.store(words, SLOT_ERROR_BYTES, text.length);
      Atomics.store(words, SLOT_STATE, STATE_FAILED);
    }
    Atomics.notify(words, SLOT_BATCHES_WRITTEN);
  } else if (m.type === "backup") {
    // On this connection, so that writes made during the copy go into it too (SQLite restarts a
    // backup whose source another connection changes, which under steady writes never ends).
    const seq = Number(Atomics.load(seqs, SLOT_WRITTEN_SEQ));
    db.backup(m.file).then(
      () => port.postMessage({ type: "backup", id: m.id, seq, error: null } satisfies WriterReply),
      (error: unknown) =>
        port.postMessage({ type: "backup", id: m.id, seq, error: String(error) } satisfies WriterReply),
    );
  } else if (m.type === "stop") {
    db.close();
    Atomics.store(words, SLOT_STATE, STATE_CLOSED);
    Atomics.notify(words, SLOT_BATCHES_WRITTEN);
    port.close();
  }
});
