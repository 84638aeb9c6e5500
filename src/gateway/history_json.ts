/**
 * Binance's shapes of the public history (trades, aggTrades, klines) from a market's formats alone:
 * pure, so that the history's reader thread makes an answer's JSON text (history_reader.ts) and the
 * node's thread only sends it. Made there, a page of 1,000 rows no longer costs the node's thread
 * the rows' copy between threads, their formatting and their serialization (~3-5 ms a page).
 * Each trade is its own aggregate (Holdfast does not merge fills). Prices and sums are exact:
 * integers scaled by the market's tick and step.
 */
import { type MarketConfig, price_text, quantity_text, scaled_text } from "../engine/config.js";
import type { Engine } from "../engine/engine.js";
import type { Market } from "../engine/market.js";
import type { Buckets, Candle } from "../projections/candles.js";
import type { TradeRow } from "../projections/history_queries.js";
import { pad8 } from "./market_data.js";

/** What formatting a market's rows needs: plain data, to cross to the reader thread. */
export interface MarketFormat {
  config: MarketConfig;
  quote_decimals: number;
}

export const market_format = (e: Engine, m: Market): MarketFormat => ({
  config: m.config,
  quote_decimals: e.assets[m.config.quote].decimals,
});

/** An answer already in JSON text (REST sends it as is; the WebSocket API puts it in its envelope). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** The public history shapes the reader thread makes. */
export type PublicShape = "trades" | "agg_trades";

const price = (f: MarketFormat, ticks: number): string => pad8(price_text(f.config, ticks));
const qty = (f: MarketFormat, lots: number | bigint): string => pad8(quantity_text(f.config, lots));
const quote = (f: MarketFormat, units: number | bigint): string =>
  pad8(scaled_text(BigInt(units), f.quote_decimals));

export function trades_json(f: MarketFormat, rows: readonly TradeRow[]) {
  return rows.map((t) => ({
    id: t.trade_id,
    price: price(f, t.price_ticks),
    qty: qty(f, t.quantity_lots),
    quoteQty: quote(f, t.quote_units),
    time: t.time_ms,
    isBuyerMaker: t.is_buyer === 0,
    isBestMatch: true,
  }));
}

export function agg_trades_json(f: MarketFormat, rows: readonly TradeRow[]) {
  return rows.map((t) => ({
    a: t.trade_id,
    p: price(f, t.price_ticks),
    q: qty(f, t.quantity_lots),
    f: t.trade_id,
    l: t.trade_id,
    T: t.time_ms,
    m: t.is_buyer === 0,
    M: true,
  }));
}

/** One kline in Binance's array shape. */
export function kline_row(f: MarketFormat, b: Buckets, c: Candle) {
  return [
    c.open_ms,
    price(f, c.open),
    price(f, c.high),
    price(f, c.low),
    price(f, c.close),
    qty(f, c.volume_lots),
    b.next(c.open_ms) - 1,
    quote(f, c.quote_units),
    c.count,
    qty(f, c.taker_buy_lots),
    quote(f, c.taker_buy_quote_units),
    "0",
  ] as const;
}
