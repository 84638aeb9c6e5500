/**
 * The history's reads (SQLite, better-sqlite3), synchronous, on a connection of their own: what the
 * reader thread (history_reader.ts) runs for History's asynchronous reads, and what the history
 * benchmark times directly. GET order, allOrders and myTrades, public trades, klines and statistics.
 */
import type Database from "better-sqlite3";
import type { Withdrawal } from "../engine/withdrawals.js";
import { type Agg, type Buckets, type Candle, CandleReader } from "./candles.js";

export interface OrderRow {
  order_id: number;
  account: number;
  market: number;
  client_order_id: string | null;
  side: number;
  order_type: number;
  tif: number;
  price_ticks: number;
  quantity_lots: number;
  quote_units: number;
  stop_price_ticks: number;
  status: number;
  executed_lots: number;
  cumulative_quote_units: number;
  time_ms: number;
  update_ms: number;
  /** Self-trade prevention mode (StpMode); null in rows written before it was recorded. */
  stp: number | null;
  /** When it began working on the book: -1 for a stop order not yet triggered; null in older rows. */
  working_ms: number | null;
  /**
   * The last prevented self-trade that expired or reduced it, and all self-trade prevention has taken
   * from it (Binance's preventedMatchId and preventedQuantity); null if none.
   */
  prevented_match_id: number | null;
  prevented_lots: number | null;
  /** Binance's strategyId and strategyType, as its client gave them; null: not given. */
  strategy_id: number | null;
  strategy_type: number | null;
  /** A trailing stop's delta (bips) and when it began tracking (-1: not yet); null: not trailing. */
  trailing_delta: number | null;
  trailing_ms: number | null;
  /** An iceberg order's part shown at a time (Binance's icebergQty); null: not an iceberg. */
  iceberg_lots: number | null;
  /** The order list (OCO) it was placed in; null: none (or not recorded). */
  order_list_id?: number | null;
  /**
   * A pegged order's peg (PEG_PRIMARY, PEG_MARKET), offset in price levels (null: none sent) and
   * pegged price (null: not known yet); peg_type null (or absent in older files): not pegged.
   */
  peg_type?: number | null;
  peg_offset?: number | null;
  pegged_price_ticks?: number | null;
  /** Why it ended (engine EndReason), from its last update; null: open, or written before it was kept. */
  end_reason?: number | null;
}

/** An order list (OCO) and its two orders' client order ids. */
export interface OrderListRow {
  list_id: number;
  account: number;
  market: number;
  list_client_order_id: string | null;
  /** LIST_EXECUTING or LIST_ALL_DONE. */
  status: number;
  time_ms: number;
  update_ms: number;
  /** An OCO's order priced higher; an OTO's pending order; an OTOCO's pending order priced higher. */
  above_order_id: number;
  /** 0 for an OTO. */
  below_order_id: number;
  above_client_order_id: string | null;
  below_client_order_id: string | null;
  /** CONTINGENCY_OCO or CONTINGENCY_OTO; null: an OCO (written before the column). */
  contingency: number | null;
  /** An OTO's or OTOCO's working order; null for an OCO. */
  working_order_id: number | null;
  working_client_order_id: string | null;
}

/** allOrderList's range: from a list id, or within a time window (the latest `limit`), oldest first. */
export interface ListRange {
  from_id?: number;
  start_ms?: number;
  end_ms?: number;
  limit: number;
}

/** A self-trade that prevention stopped (Binance's prevented match); lots -1 for an order left alone. */
export interface PreventedMatchRow {
  market: number;
  prevented_match_id: number;
  account: number;
  taker_order_id: number;
  maker_order_id: number;
  price_ticks: number;
  taker_lots: number;
  maker_lots: number;
  stp: number;
  time_ms: number;
}

/** An amendment of an order (Binance's order amend keep priority). */
export interface AmendmentRow {
  market: number;
  order_id: number;
  account: number;
  execution_id: number;
  orig_client_order_id: string | null;
  new_client_order_id: string;
  orig_quantity_lots: number;
  new_quantity_lots: number;
  time_ms: number;
}

/** A deposit (amount > 0) or a withdrawal (amount < 0); `seq` is the command's, and its id. */
export interface TransferRow {
  seq: number;
  account: number;
  asset: number;
  amount_units: number;
  time_ms: number;
}

/** A user's withdrawal as the history keeps it (src/engine/withdrawals.ts; `note`: txid or why it failed). */
export interface WithdrawalHistoryRow extends Withdrawal {
  note: string;
  update_ms: number;
}

/** The users' withdrawals of an account: as TransferQuery, and by withdrawOrderId or status. */
export interface WithdrawalQuery extends Omit<TransferQuery, "withdrawals"> {
  client_id: string | null;
  /** -1: any. */
  status: number;
}

/** The wallet's deposit or withdrawal history: newest first, in a time window, paged by offset. */
export interface TransferQuery {
  withdrawals: boolean;
  /** null: every asset. */
  asset: number | null;
  /** null: any; else only these ids (sequence numbers), before offset and limit apply. */
  ids: number[] | null;
  start_ms: number;
  end_ms: number;
  offset: number;
  limit: number;
}

/** myPreventedMatches' lookups: one by id, or one order's from an id on (at most `limit`). */
export type PreventedQuery =
  | { prevented_match_id: number }
  | { order_id: number; from_id: number; limit: number };

export interface TradeRow {
  market: number;
  trade_id: number;
  order_id: number;
  account: number;
  price_ticks: number;
  quantity_lots: number;
  quote_units: number;
  fee_units: number;
  is_buyer: number;
  is_maker: number;
  time_ms: number;
}

export interface Range {
  from_id?: number;
  start_ms?: number;
  end_ms?: number;
  limit: number;
}

interface MarketStatements {
  from: Database.Statement;
  recent: Database.Statement;
}

/** An order list's row with its orders' client order ids. */
const LIST_SELECT = `SELECT l.*, a.client_order_id AS above_client_order_id,
  b.client_order_id AS below_client_order_id, w.client_order_id AS working_client_order_id
  FROM order_lists l LEFT JOIN orders a ON a.order_id = l.above_order_id
  LEFT JOIN orders b ON b.order_id = l.below_order_id LEFT JOIN orders w ON w.order_id = l.working_order_id`;

/** The read statements on one connection; every method reads what is committed when it runs. */
export class HistoryQueries {
  private readonly stmt: Record<string, Database.Statement>;
  private readonly candle_reader: CandleReader;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      by_id: db.prepare("SELECT * FROM orders WHERE order_id = ? AND account = ? AND market = ?"),
      by_client_id: db.prepare(
        "SELECT * FROM orders WHERE account = ? AND client_order_id = ? AND market = ? ORDER BY order_id DESC LIMIT 1",
      ),
      // Ranges are by id: ids grow with time (an order's or trade's time is its command's, and
      // command times never go backwards), so a time window is first turned into the ids it spans
      // (id_bounds) and the rows read by index from there. Filtering on time instead scanned every
      // row of the account or market outside the window (0.2-0.8 s for a day of 2,000,000 trades).
      all_orders: db.prepare(`SELECT * FROM orders WHERE account = ? AND market = ? AND order_id >= ?
        AND order_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY order_id LIMIT ?`),
      all_orders_recent: db.prepare(`SELECT * FROM (SELECT * FROM orders WHERE account = ? AND market = ?
        AND order_id >= ? AND order_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY order_id DESC LIMIT ?)
        ORDER BY order_id`),
      trades: db.prepare(`SELECT * FROM trades WHERE account = ? AND market = ? AND trade_id >= ?
        AND trade_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id LIMIT ?`),
      trades_recent: db.prepare(`SELECT * FROM (SELECT * FROM trades WHERE account = ? AND market = ?
        AND trade_id >= ? AND trade_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id DESC LIMIT ?)
        ORDER BY trade_id`),
      order_trades: db.prepare(`SELECT * FROM trades WHERE account = ? AND market = ? AND trade_id >= ?
        AND trade_id <= ? AND order_id = ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id LIMIT ?`),
      first_trade_at: db.prepare(`SELECT trade_id FROM trades WHERE market = ? AND is_maker = 0
        AND time_ms >= ? ORDER BY time_ms, trade_id LIMIT 1`),
      last_trade_at: db.prepare(`SELECT trade_id FROM trades WHERE market = ? AND is_maker = 0
        AND time_ms <= ? ORDER BY time_ms DESC, trade_id DESC LIMIT 1`),
      order_from: db.prepare(
        "SELECT order_id, time_ms FROM orders WHERE order_id >= ? ORDER BY order_id LIMIT 1",
      ),
      last_order: db.prepare("SELECT MAX(order_id) AS order_id FROM orders"),
      amendments: db.prepare(`SELECT * FROM amendments WHERE order_id = ? AND account = ? AND market = ?
        AND execution_id >= ? ORDER BY execution_id LIMIT ?`),
      list_by_id: db.prepare(`${LIST_SELECT} WHERE l.list_id = ? AND l.account = ?`),
      has_lists: db.prepare("SELECT 1 FROM order_lists WHERE account = ? LIMIT 1"),
      list_of_order: db.prepare("SELECT order_list_id FROM orders WHERE order_id = ?"),
      list_by_client_id: db.prepare(
        `${LIST_SELECT} WHERE l.account = ? AND l.list_client_order_id = ? ORDER BY l.list_id DESC LIMIT 1`,
      ),
      lists_from: db.prepare(
        `${LIST_SELECT} WHERE l.account = ? AND l.list_id >= ? ORDER BY l.list_id LIMIT ?`,
      ),
      lists_recent: db.prepare(`SELECT * FROM (${LIST_SELECT} WHERE l.account = ? AND l.time_ms >= ?
        AND l.time_ms <= ? ORDER BY l.list_id DESC LIMIT ?) ORDER BY list_id`),
      prevented_by_id: db.prepare(
        "SELECT * FROM prevented_matches WHERE market = ? AND prevented_match_id = ? AND account = ?",
      ),
      prevented_by_order: db.prepare(`SELECT * FROM prevented_matches WHERE account = ? AND market = ?
        AND (taker_order_id = ? OR maker_order_id = ?) AND prevented_match_id >= ?
        ORDER BY prevented_match_id LIMIT ?`),
      transfers: db.prepare(`SELECT * FROM transfers WHERE account = ? AND time_ms >= ? AND time_ms <= ?
        AND (amount_units < 0) = ? AND (? < 0 OR asset = ?)
        AND (? IS NULL OR seq IN (SELECT value FROM json_each(?)))
        ORDER BY time_ms DESC, seq DESC LIMIT ? OFFSET ?`),
      withdrawals: db.prepare(`SELECT * FROM withdrawals WHERE account = ? AND requested_ms >= ?
        AND requested_ms <= ? AND (? < 0 OR asset = ?) AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))
        AND (? IS NULL OR client_id = ?) AND (? < 0 OR status = ?)
        ORDER BY requested_ms DESC, id DESC LIMIT ? OFFSET ?`),
    };
    this.candle_reader = new CandleReader(db);
  }

  order(
    account: number,
    market: number,
    order_id: number | null,
    client_order_id: string | null,
  ): OrderRow | null {
    const row =
      order_id !== null
        ? this.stmt.by_id.get(order_id, account, market)
        : this.stmt.by_client_id.get(account, client_order_id, market);
    return (row as OrderRow | undefined) ?? null;
  }

  all_orders(account: number, market: number, q: Range): OrderRow[] {
    const rows = this.ranged(
      this.stmt.all_orders,
      this.stmt.all_orders_recent,
      [account, market],
      q,
      (a, b) => this.order_ids(a, b),
    );
    return rows as OrderRow[];
  }

  trades(account: number, market: number, q: Range): TradeRow[] {
    const rows = this.ranged(this.stmt.trades, this.stmt.trades_recent, [account, market], q, (a, b) =>
      this.trade_ids(market, a, b),
    );
    return rows as TradeRow[];
  }

  /** One of the account's orders' amendments (GET order/amendments), oldest first, from an execution id. */
  amendments(
    account: number,
    market: number,
    order_id: number,
    q: { from_id: number; limit: number },
  ): AmendmentRow[] {
    return this.stmt.amendments.all(order_id, account, market, q.from_id, q.limit) as AmendmentRow[];
  }

  /**
   * The order list each of these orders of the account was placed in (myTrades' orderListId), for
   * those in one: nothing to look up for an account that never placed a list (almost every one).
   */
  order_list_ids(account: number, order_ids: Iterable<number>): Map<number, number> {
    const out = new Map<number, number>();
    if (this.stmt.has_lists.get(account) === undefined) return out;
    for (const id of order_ids) {
      if (out.has(id)) continue;
      const row = this.stmt.list_of_order.get(id) as { order_list_id: number | null } | undefined;
      out.set(id, row?.order_list_id ?? -1);
    }
    return out;
  }

  /** One of the account's order lists, by id or by list client order id (the latest with it). */
  order_list(account: number, list_id: number | null, client_id: string | null): OrderListRow | null {
    const row =
      list_id !== null
        ? this.stmt.list_by_id.get(list_id, account)
        : this.stmt.list_by_client_id.get(account, client_id);
    return (row as OrderListRow | undefined) ?? null;
  }

  /** The account's order lists (allOrderList), oldest first. */
  order_lists(account: number, q: ListRange): OrderListRow[] {
    if (q.from_id !== undefined)
      return this.stmt.lists_from.all(account, q.from_id, q.limit) as OrderListRow[];
    return this.stmt.lists_recent.all(
      account,
      q.start_ms ?? 0,
      q.end_ms ?? Number.MAX_SAFE_INTEGER,
      q.limit,
    ) as OrderListRow[];
  }

  /** The account's own withdrawals, newest first. */
  withdrawals(account: number, q: WithdrawalQuery): WithdrawalHistoryRow[] {
    const asset = q.asset ?? -1;
    const ids = q.ids === null ? null : JSON.stringify(q.ids);
    return this.stmt.withdrawals.all(
      account,
      q.start_ms,
      q.end_ms,
      asset,
      asset,
      ids,
      ids,
      q.client_id,
      q.client_id,
      q.status,
      q.status,
      q.limit,
      q.offset,
    ) as WithdrawalHistoryRow[];
  }

  /** The account's deposits or withdrawals (the wallet's histories), newest first. */
  transfers(account: number, q: TransferQuery): TransferRow[] {
    const asset = q.asset ?? -1;
    const ids = q.ids === null ? null : JSON.stringify(q.ids);
    return this.stmt.transfers.all(
      account,
      q.start_ms,
      q.end_ms,
      q.withdrawals ? 1 : 0,
      asset,
      asset,
      ids,
      ids,
      q.limit,
      q.offset,
    ) as TransferRow[];
  }

  /** The account's prevented self-trades on a market (myPreventedMatches), oldest first. */
  prevented_matches(account: number, market: number, q: PreventedQuery): PreventedMatchRow[] {
    if ("prevented_match_id" in q) {
      const row = this.stmt.prevented_by_id.get(market, q.prevented_match_id, account);
      return row === undefined ? [] : [row as PreventedMatchRow];
    }
    return this.stmt.prevented_by_order.all(
      account,
      market,
      q.order_id,
      q.order_id,
      q.from_id,
      q.limit,
    ) as PreventedMatchRow[];
  }

  /** The price of the market's last trade before `time_ms`, or null if it had none. */
  last_price_before(market: number, time_ms: number): number | null {
    return this.candle_reader.last_price_before(market, time_ms);
  }

  /**
   * The trades of one of the account's orders (myTrades?orderId), oldest first: read between the
   * trade ids of the order's life (placed to last updated), among the account's trades (an index
   * on order ids would slow every trade's write on the writer thread, measured ~10%: docs/BENCHMARKS.md).
   */
  order_trades(account: number, market: number, order_id: number, q: Range): TradeRow[] {
    const order = this.stmt.by_id.get(order_id, account, market) as OrderRow | undefined;
    if (order === undefined) return [];
    const ids = this.trade_ids(market, order.time_ms, order.update_ms);
    if (ids === null) return [];
    const rows = this.stmt.order_trades.all(
      account,
      market,
      Math.max(q.from_id ?? 0, ids[0]),
      ids[1],
      order_id,
      q.start_ms ?? 0,
      q.end_ms ?? Number.MAX_SAFE_INTEGER,
      q.limit,
    );
    return rows as TradeRow[];
  }

  /** Public trades of a market (the taker's row of each). */
  market_trades(market: number, q: Range): TradeRow[] {
    const rows = this.ranged(this.market_stmt.from, this.market_stmt.recent, [market], q, (a, b) =>
      this.trade_ids(market, a, b),
    );
    return rows as TradeRow[];
  }

  /**
   * Binance's paging: from an id onwards (`from`), or else the most recent `limit` (`recent`), both
   * within [start_ms, end_ms] and oldest first. A window is read between the ids it spans.
   */
  private ranged(
    from: Database.Statement,
    recent: Database.Statement,
    keys: number[],
    q: Range,
    id_bounds: (start_ms: number, end_ms: number) => [number, number] | null,
  ): unknown[] {
    const start = q.start_ms ?? 0;
    const end = q.end_ms ?? Number.MAX_SAFE_INTEGER;
    let [lo, hi] = [q.from_id ?? 0, Number.MAX_SAFE_INTEGER];
    if (q.start_ms !== undefined || q.end_ms !== undefined) {
      const ids = id_bounds(start, end);
      if (ids === null) return [];
      lo = Math.max(lo, ids[0]);
      hi = ids[1];
    }
    return q.from_id !== undefined
      ? from.all(...keys, lo, hi, start, end, q.limit)
      : recent.all(...keys, lo, hi, start, end, q.limit);
  }

  /** The first and last trade ids of a market in [start_ms, end_ms], or null if it had none then. */
  private trade_ids(market: number, start_ms: number, end_ms: number): [number, number] | null {
    const first = this.stmt.first_trade_at.get(market, start_ms) as { trade_id: number } | undefined;
    const last = this.stmt.last_trade_at.get(market, end_ms) as { trade_id: number } | undefined;
    if (first === undefined || last === undefined || first.trade_id > last.trade_id) return null;
    return [first.trade_id, last.trade_id];
  }

  /**
   * The order ids created in [start_ms, end_ms] lie in the returned range (orders have no time index:
   * a binary search over the ids, ~25 lookups, finds where the window starts and ends).
   */
  private order_ids(start_ms: number, end_ms: number): [number, number] | null {
    const last = (this.stmt.last_order.get() as { order_id: number | null }).order_id;
    if (last === null) return null;
    /** The first order id whose order was created at or after `t` (last + 1 if none). */
    const first_at = (t: number): number => {
      let lo = 0;
      let hi = last + 1;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const row = this.stmt.order_from.get(mid) as { order_id: number; time_ms: number } | undefined;
        if (row === undefined || row.time_ms >= t) hi = mid;
        else lo = row.order_id + 1;
      }
      return lo;
    };
    const lo = first_at(start_ms);
    const hi = end_ms >= Number.MAX_SAFE_INTEGER ? last : first_at(end_ms + 1) - 1;
    return lo > hi ? null : [lo, hi];
  }

  /** Binance's klines of a market: whole buckets, quiet ones filled (CandleReader.klines). */
  klines(
    market: number,
    buckets: Buckets,
    q: { start_ms?: number; end_ms: number; limit: number },
  ): Candle[] {
    return this.candle_reader.klines(market, buckets, q);
  }

  /** Trade statistics of a market over [start_ms, end_ms] (both included), or null without trades. */
  stats(market: number, start_ms: number, end_ms: number): Agg | null {
    return this.candle_reader.range(market, start_ms, end_ms + 1);
  }

  private _market_stmt: MarketStatements | null = null;
  private get market_stmt(): MarketStatements {
    if (this._market_stmt !== null) return this._market_stmt;
    const db = this.db;
    this._market_stmt = {
      from: db.prepare(`SELECT * FROM trades WHERE market = ? AND is_maker = 0 AND trade_id >= ?
        AND trade_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id LIMIT ?`),
      recent: db.prepare(`SELECT * FROM (SELECT * FROM trades WHERE market = ? AND is_maker = 0
        AND trade_id >= ? AND trade_id <= ? AND time_ms >= ? AND time_ms <= ? ORDER BY trade_id DESC LIMIT ?)
        ORDER BY trade_id`),
    };
    return this._market_stmt;
  }
}
