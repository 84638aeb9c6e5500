/**
 * The queries the history answered klines, tickers and the average price with before it kept candles
 * (src/projections/candles.ts): every trade of the window aggregated by SQLite. Exact, and slow on a
 * busy market: the oracle of test/projections/history_reads.test.ts (statistics and paged reads; its
 * klines oracle is its own, Binance's whole and filled buckets) and the baseline of `npm run
 * bench:history` (`candles`: only the buckets with trades, cut at start and end, as klines were before
 * session 15). Sums are read as BigInt, as the candles are.
 */
import type Database from "better-sqlite3";

export function trade_queries(db: Database.Database) {
  const candle_sql = (order: string) => `
    WITH b AS (
      SELECT (CAST(time_ms AS INTEGER) - CAST(@off AS INTEGER)) / CAST(@ms AS INTEGER) AS k, MIN(trade_id) AS f, MAX(trade_id) AS l,
        MAX(price_ticks) AS high, MIN(price_ticks) AS low, SUM(quantity_lots) AS volume_lots,
        SUM(quote_units) AS quote_units, COUNT(*) AS count,
        SUM(CASE WHEN is_buyer = 1 THEN quantity_lots ELSE 0 END) AS taker_buy_lots,
        SUM(CASE WHEN is_buyer = 1 THEN quote_units ELSE 0 END) AS taker_buy_quote_units
      FROM trades WHERE market = @market AND is_maker = 0 AND time_ms >= @start AND time_ms <= @end
      GROUP BY k ORDER BY k ${order} LIMIT @limit)
    SELECT b.k * @ms + @off AS open_ms, o.price_ticks AS open, b.high, b.low, c.price_ticks AS close,
      b.volume_lots, b.quote_units, b.count, b.taker_buy_lots, b.taker_buy_quote_units
    FROM b JOIN trades o ON o.market = @market AND o.trade_id = b.f AND o.is_maker = 0
           JOIN trades c ON c.market = @market AND c.trade_id = b.l AND c.is_maker = 0
    ORDER BY b.k ${order}`;
  const asc = db.prepare(candle_sql("ASC")).safeIntegers(true);
  const desc = db.prepare(candle_sql("DESC")).safeIntegers(true);
  const stats = db
    .prepare(`
      WITH w AS (SELECT * FROM trades WHERE market = @market AND is_maker = 0 AND time_ms >= @start AND time_ms <= @end)
      SELECT COUNT(*) AS count, MIN(trade_id) AS first_id, MAX(trade_id) AS last_id, MAX(time_ms) AS close_ms,
        MAX(price_ticks) AS high, MIN(price_ticks) AS low, SUM(quantity_lots) AS volume_lots,
        SUM(quote_units) AS quote_units,
        SUM(CASE WHEN is_buyer = 1 THEN quantity_lots ELSE 0 END) AS taker_buy_lots,
        SUM(CASE WHEN is_buyer = 1 THEN quote_units ELSE 0 END) AS taker_buy_quote_units,
        (SELECT price_ticks FROM w ORDER BY trade_id LIMIT 1) AS open,
        (SELECT price_ticks FROM w ORDER BY trade_id DESC LIMIT 1) AS close,
        (SELECT quantity_lots FROM w ORDER BY trade_id DESC LIMIT 1) AS close_lots
      FROM w`)
    .safeIntegers(true);
  const small = ["count", "first_id", "last_id", "close_ms", "high", "low", "open", "close", "close_lots"];
  const norm = (row: Record<string, bigint>) => {
    const out: Record<string, number | bigint> = { ...row };
    for (const k of [...small, "open_ms"]) if (k in out) out[k] = Number(out[k]);
    return out;
  };
  const window = "time_ms >= ? AND time_ms <= ?";
  const market_recent = db.prepare(`SELECT * FROM (SELECT * FROM trades WHERE market = ? AND is_maker = 0
    AND ${window} ORDER BY trade_id DESC LIMIT ?) ORDER BY trade_id`);
  const market_from = db.prepare(`SELECT * FROM trades WHERE market = ? AND is_maker = 0 AND trade_id >= ?
    AND ${window} ORDER BY trade_id LIMIT ?`);
  const account_from = db.prepare(`SELECT * FROM trades WHERE account = ? AND market = ? AND trade_id >= ?
    AND ${window} ORDER BY trade_id LIMIT ?`);
  const orders_recent = db.prepare(`SELECT * FROM (SELECT * FROM orders WHERE account = ? AND market = ?
    AND ${window} ORDER BY order_id DESC LIMIT ?) ORDER BY order_id`);
  const of_order = db.prepare(`SELECT * FROM trades WHERE account = ? AND market = ? AND trade_id >= ?
    AND order_id = ? ORDER BY trade_id LIMIT ?`);
  type Row = { trade_id: number } & { order_id: number };
  return {
    /** Paged reads of a window, filtering every row of the market or account on its time. */
    market_trades_recent: (market: number, start: number, end: number, limit: number) =>
      market_recent.all(market, start, end, limit) as Row[],
    market_trades_from: (market: number, from_id: number, start: number, end: number, limit: number) =>
      market_from.all(market, from_id, start, end, limit) as Row[],
    account_trades_from: (
      account: number,
      market: number,
      from_id: number,
      start: number,
      end: number,
      limit: number,
    ) => account_from.all(account, market, from_id, start, end, limit) as Row[],
    /** An order's trades: every trade of the account from `from_id` on, kept if it is the order's. */
    order_trades: (account: number, market: number, order_id: number, from_id: number, limit: number) =>
      of_order.all(account, market, from_id, order_id, limit) as Row[],
    orders_recent: (account: number, market: number, start: number, end: number, limit: number) =>
      orders_recent.all(account, market, start, end, limit) as Row[],
    stats(market: number, start: number, end: number) {
      const row = stats.get({ market, start, end }) as Record<string, bigint>;
      return row.count === 0n ? null : norm(row);
    },
    candles(market: number, q: { ms: number; off: number; start?: number; end?: number; limit: number }) {
      const recent = q.start === undefined;
      const rows = (recent ? desc : asc).all({
        market,
        ms: q.ms,
        off: q.off,
        start: q.start ?? 0,
        end: q.end ?? Number.MAX_SAFE_INTEGER,
        limit: q.limit,
      }) as Record<string, bigint>[];
      return (recent ? rows.reverse() : rows).map(norm);
    },
  };
}
