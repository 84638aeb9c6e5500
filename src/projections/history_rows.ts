/**
 * The history's rows on their way from the node's thread to the writer thread (history_writer.ts),
 * and the two threads' protocol. Rows are numbers packed into one Float64Array (transferred, not
 * copied) with the client order ids beside it. Packing costs the node's thread a few stores per row where building row objects for SQLite cost
 * ~2.7 KB of garbage per order (sampled under `npm run bench:api`), and the writer replays them in
 * event order. Every number here is a safe integer, which a float64 holds exactly.
 */
import type { EngineEvent, ReservesFigures } from "../engine/events.js";
import { LIST_EXECUTING } from "../engine/types.js";
import type { Withdrawal } from "../engine/withdrawals.js";

export const ROW_ORDER_NEW = 1;
export const ROW_ORDER_UPDATE = 2;
export const ROW_TRADE = 3;
export const ROW_ORDER_TRIGGERED = 4;
export const ROW_PREVENTED_MATCH = 5;
export const ROW_ORDER_AMENDED = 6;
export const ROW_TRAILING_STARTED = 7;
export const ROW_ORDER_LIST = 8;
export const ROW_ORDER_ACTIVATED = 9;
export const ROW_ORDER_PEGGED = 10;
/** A deposit or a withdrawal (the ledger event): the wallet's deposit and withdrawal history. */
export const ROW_TRANSFER = 11;

/** Numbers per row kind, the kind included. */
export const ROW_ORDER_NEW_WIDTH = 18;
export const ROW_ORDER_UPDATE_WIDTH = 7;
export const ROW_TRADE_WIDTH = 14;
export const ROW_ORDER_TRIGGERED_WIDTH = 3;
export const ROW_PREVENTED_MATCH_WIDTH = 13;
export const ROW_ORDER_AMENDED_WIDTH = 8;
export const ROW_TRAILING_STARTED_WIDTH = 3;
export const ROW_ORDER_LIST_WIDTH = 10;
export const ROW_ORDER_ACTIVATED_WIDTH = 4;
export const ROW_ORDER_PEGGED_WIDTH = 5;
export const ROW_TRANSFER_WIDTH = 6;

/** What the node's thread sends the writer: the rows of commands up to and including `seq`. */
export interface RowBatch {
  type: "rows";
  seq: number;
  /** `length` numbers of packed rows (the rest of the buffer is unused). */
  numbers: Float64Array;
  length: number;
  /**
   * The client order id of each ROW_ORDER_NEW row, the new and the old of each ROW_ORDER_AMENDED row,
   * and the list client order id of each ROW_ORDER_LIST row, in order.
   */
  client_ids: (string | null)[];
  rows: number;
  /** Proof-of-reserves audits of this batch's commands (rare; their balances are transferred too). */
  audits: AuditRows[];
  /** Users' withdrawals asked for or moved on in this batch (rare), in order. */
  withdrawals: WithdrawalRow[];
}

/** A withdrawal's state after a command (the `withdrawal` event) at that command's time. */
export interface WithdrawalRow extends Withdrawal {
  note: string;
  time_ms: number;
}

/** A reserves audit on its way to the writer, which builds its tree (src/reserves/). */
export interface AuditRows extends ReservesFigures {
  seq: number;
  time_ms: number;
}

/** What the writer thread starts with. */
export interface WriterStart {
  file: string;
  shared: SharedArrayBuffer;
  wal_autocheckpoint_pages: number;
}

/** Int32 slots of the shared memory. */
export const SLOT_BATCHES_WRITTEN = 0;
export const SLOT_STATE = 1;
/** BigInt64 slot: the last sequence written. */
export const SLOT_WRITTEN_SEQ = 1;
export const STATE_RUNNING = 0;
export const STATE_FAILED = 1;
export const STATE_CLOSED = 2;
/**
 * The writer's error, readable while the node's thread is blocked waiting (a message would need an
 * event-loop turn): its UTF-8 length in Int32 slot SLOT_ERROR_BYTES (bytes 16-19), the text after.
 */
export const SLOT_ERROR_BYTES = 4;
export const ERROR_TEXT_OFFSET = 20;
export const ERROR_TEXT_BYTES_MAX = 1024;
export const SHARED_BYTES = ERROR_TEXT_OFFSET + ERROR_TEXT_BYTES_MAX;

export type WriterRequest = RowBatch | { type: "backup"; id: number; file: string } | { type: "stop" };
export type WriterReply = { type: "backup"; id: number; seq: number; error: string | null };

const INITIAL_NUMBERS = 16_384;

/** Rows gathered on the node's thread until they are handed to the writer. */
export class RowPacker {
  numbers = new Float64Array(INITIAL_NUMBERS);
  length = 0;
  rows = 0;
  client_ids: (string | null)[] = [];
  audits: AuditRows[] = [];
  withdrawals: WithdrawalRow[] = [];

  private room(n: number): void {
    if (this.length + n <= this.numbers.length) return;
    const grown = new Float64Array(Math.max(this.numbers.length * 2, this.length + n));
    grown.set(this.numbers.subarray(0, this.length));
    this.numbers = grown;
  }

  /**
   * Packs the rows of command `seq`'s events (orders created and changed, trades, prevented
   * self-trades, deposits and withdrawals).
   */
  add(seq: number, time_ms: number, events: readonly EngineEvent[]): void {
    /** The order list a new order of this command is in (its list is reported first). */
    let list: { id: number; working: number; above: number; below: number } | null = null;
    for (const e of events) {
      if (e.kind === "order_list") {
        if (e.status === LIST_EXECUTING)
          list = {
            id: e.list_id,
            working: e.working_order_id,
            above: e.above_order_id,
            below: e.below_order_id,
          };
        this.room(ROW_ORDER_LIST_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_ORDER_LIST;
        a[i++] = e.list_id;
        a[i++] = e.account;
        a[i++] = e.market;
        a[i++] = e.status;
        a[i++] = e.above_order_id;
        a[i++] = e.below_order_id;
        a[i++] = e.time_ms;
        a[i++] = e.contingency;
        a[i++] = e.working_order_id;
        this.length = i;
        this.client_ids.push(e.list_client_order_id);
        this.rows++;
      } else if (e.kind === "reserves_audit") {
        const { kind: _, ...figures } = e;
        this.audits.push({ seq, time_ms, ...figures });
      } else if (e.kind === "order_new") {
        this.room(ROW_ORDER_NEW_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_ORDER_NEW;
        a[i++] = e.order_id;
        a[i++] = e.account;
        a[i++] = e.market;
        a[i++] = e.side;
        a[i++] = e.order_type;
        a[i++] = e.tif;
        a[i++] = e.price_ticks;
        a[i++] = e.quantity_lots;
        a[i++] = e.quote_units;
        a[i++] = e.stop_price_ticks;
        a[i++] = e.time_ms;
        a[i++] = e.stp;
        a[i++] = e.strategy_id;
        a[i++] = e.strategy_type;
        a[i++] = e.trailing_delta_bips;
        a[i++] = e.iceberg_lots;
        a[i++] =
          list !== null &&
          (e.order_id === list.above || e.order_id === list.below || e.order_id === list.working)
            ? list.id
            : -1;
        this.length = i;
        this.client_ids.push(e.client_order_id);
        this.rows++;
      } else if (e.kind === "order_activated") {
        // a pending order placed: NEW, working from now (a stop order: once it triggers)
        this.room(ROW_ORDER_ACTIVATED_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_ORDER_ACTIVATED;
        a[i++] = e.order_id;
        a[i++] = e.time_ms;
        a[i++] = e.quantity_lots;
        this.length = i;
        this.rows++;
      } else if (e.kind === "order_pegged") {
        // a pegged order's peg, and its pegged price once known (0: not yet)
        this.room(ROW_ORDER_PEGGED_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_ORDER_PEGGED;
        a[i++] = e.order_id;
        a[i++] = e.peg_type;
        a[i++] = e.peg_offset_levels;
        a[i++] = e.pegged_price_ticks;
        this.length = i;
        this.rows++;
      } else if (e.kind === "order_triggered") {
        this.room(ROW_ORDER_TRIGGERED_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_ORDER_TRIGGERED;
        a[i++] = e.order_id;
        a[i++] = e.time_ms;
        this.length = i;
        this.rows++;
      } else if (e.kind === "trailing_started") {
        this.room(ROW_TRAILING_STARTED_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_TRAILING_STARTED;
        a[i++] = e.order_id;
        a[i++] = e.time_ms;
        this.length = i;
        this.rows++;
      } else if (e.kind === "order_update") {
        this.room(ROW_ORDER_UPDATE_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_ORDER_UPDATE;
        a[i++] = e.order_id;
        a[i++] = e.status;
        a[i++] = e.executed_lots;
        a[i++] = e.cumulative_quote_units;
        a[i++] = time_ms;
        a[i++] = e.end_reason;
        this.length = i;
        this.rows++;
      } else if (e.kind === "order_amended") {
        this.room(ROW_ORDER_AMENDED_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_ORDER_AMENDED;
        a[i++] = e.order_id;
        a[i++] = e.market;
        a[i++] = e.account;
        a[i++] = e.execution_id;
        a[i++] = e.quantity_lots;
        a[i++] = e.orig_quantity_lots;
        a[i++] = e.time_ms;
        this.length = i;
        this.client_ids.push(e.client_order_id, e.orig_client_order_id);
        this.rows++;
      } else if (e.kind === "prevented_match") {
        this.room(ROW_PREVENTED_MATCH_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_PREVENTED_MATCH;
        a[i++] = e.market;
        a[i++] = e.prevented_match_id;
        a[i++] = e.taker_order_id;
        a[i++] = e.maker_order_id;
        a[i++] = e.account;
        a[i++] = e.price_ticks;
        a[i++] = e.taker_prevented_lots;
        a[i++] = e.maker_prevented_lots;
        a[i++] = e.stp;
        a[i++] = e.time_ms;
        a[i++] = e.taker_prevented_total_lots;
        a[i++] = e.maker_prevented_total_lots;
        this.length = i;
        this.rows++;
      } else if (e.kind === "trade") {
        this.room(ROW_TRADE_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_TRADE;
        a[i++] = e.market;
        a[i++] = e.trade_id;
        a[i++] = e.price_ticks;
        a[i++] = e.quantity_lots;
        a[i++] = e.quote_units;
        a[i++] = e.time_ms;
        a[i++] = e.taker_side;
        a[i++] = e.taker_order_id;
        a[i++] = e.taker_account;
        a[i++] = e.taker_fee_units;
        a[i++] = e.maker_order_id;
        a[i++] = e.maker_account;
        a[i++] = e.maker_fee_units;
        this.length = i;
        this.rows += 2; // the taker's row and the maker's
      } else if (e.kind === "ledger") {
        // the command's sequence number is the transfer's id (one ledger event per command)
        this.room(ROW_TRANSFER_WIDTH);
        const a = this.numbers;
        let i = this.length;
        a[i++] = ROW_TRANSFER;
        a[i++] = seq;
        a[i++] = e.account;
        a[i++] = e.asset;
        a[i++] = e.amount_units;
        a[i++] = time_ms;
        this.length = i;
        this.rows++;
      } else if (e.kind === "withdrawal") {
        // rare: last in the chain, so order events never test for it
        const { kind: _, ...row } = e;
        this.withdrawals.push({ ...row, time_ms });
        this.rows++;
      }
    }
  }

  /** The rows gathered so far, as a batch up to `seq`; the packer starts empty again. */
  take(seq: number): RowBatch {
    const batch: RowBatch = {
      type: "rows",
      seq,
      numbers: this.numbers,
      length: this.length,
      client_ids: this.client_ids,
      rows: this.rows,
      audits: this.audits,
      withdrawals: this.withdrawals,
    };
    this.audits = [];
    this.withdrawals = [];
    this.numbers = new Float64Array(INITIAL_NUMBERS);
    this.length = 0;
    this.rows = 0;
    this.client_ids = [];
    return batch;
  }
}
