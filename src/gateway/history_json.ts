/**
 * Binance's shapes of the history (trades, aggTrades, klines; an account's orders and trades) from a
 * market's formats alone:
 * pure, so that the history's reader thread makes an answer's JSON text (history_reader.ts) and the
 * node's thread only sends it. Made there, a page of 1,000 rows no longer costs the node's thread
 * the rows' copy between threads, their formatting and their serialization (~3-5 ms a page).
 * Each trade is its own aggregate (Holdfast does not merge fills). Prices and sums are exact:
 * integers scaled by the market's tick and step.
 */
import { type MarketConfig, price_text, quantity_text, scaled_text } from "../engine/config.js";
import type { Engine } from "../engine/engine.js";
import type { Market } from "../engine/market.js";
import {
  END_EXCHANGE,
  END_LIST,
  END_LIST_WORKING,
  END_NO_LIQUIDITY,
  END_NONE,
  END_PRICE_RANGE,
  has_limit_price,
  ORDER_STATUS_NAMES,
  ORDER_TYPE_NAMES,
  PEG_TYPE_NAMES,
  SIDE_BUY,
  STATUS_EXPIRED,
  STATUS_NEW,
  STATUS_PARTIALLY_FILLED,
  STP_NAMES,
  TIF_FOK,
  TIF_NAMES,
} from "../engine/types.js";
import type { Buckets, Candle } from "../projections/candles.js";
import type { AmendmentRow, OrderRow, PreventedMatchRow, TradeRow } from "../projections/history_queries.js";
import { pad8 } from "./market_data.js";

/** What formatting a market's rows needs: plain data, to cross to the reader thread. */
export interface MarketFormat {
  config: MarketConfig;
  quote_decimals: number;
  base_decimals: number;
  /** Asset names, for myTrades' commissionAsset. */
  base_name: string;
  quote_name: string;
}

export const market_format = (e: Engine, m: Market): MarketFormat => ({
  config: m.config,
  quote_decimals: e.assets[m.config.quote].decimals,
  base_decimals: e.assets[m.config.base].decimals,
  base_name: e.assets[m.config.base].name,
  quote_name: e.assets[m.config.quote].name,
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

/** No strategy labels: [strategy_id, strategy_type] as events and the engine keep them (-1: not given). */
export const NO_STRATEGY = [-1, -1] as const;

/** Binance's conditional strategyId / strategyType of an order, each only if its client gave it. */
export function strategy_fields(
  strategy_id: number | null,
  strategy_type: number | null,
): { strategyId?: number; strategyType?: number } {
  if ((strategy_id ?? -1) === -1 && (strategy_type ?? -1) === -1) return {};
  return {
    ...(strategy_id === null || strategy_id === -1 ? {} : { strategyId: strategy_id }),
    ...(strategy_type === null || strategy_type === -1 ? {} : { strategyType: strategy_type }),
  };
}

/**
 * Binance's conditional trailingDelta / trailingTime of a trailing stop (trailingTime -1 until it
 * tracks); nothing for any other order (delta null or -1).
 */
export function trailing_fields(
  delta_bips: number | null | undefined,
  time_ms: number | null | undefined,
): { trailingDelta?: number; trailingTime?: number } {
  if (delta_bips === null || delta_bips === undefined || delta_bips === -1) return {};
  return { trailingDelta: delta_bips, trailingTime: time_ms ?? -1 };
}

/**
 * Binance's conditional peg fields (rest-api.md, "Conditional fields in Order Responses"):
 * pegPriceType for a pegged order (`peg_type` PEG_PRIMARY or PEG_MARKET; null, undefined or 0: not
 * pegged), pegOffsetType and pegOffsetValue if it sent an offset (null, undefined or -1: none),
 * peggedPrice once known (`pegged_price` null: not yet).
 */
export function peg_fields(
  peg_type: number | null | undefined,
  offset_levels: number | null | undefined,
  pegged_price: string | null,
): { pegPriceType?: string; pegOffsetType?: string; pegOffsetValue?: number; peggedPrice?: string } {
  if (peg_type === null || peg_type === undefined || !(peg_type > 0)) return {};
  return {
    pegPriceType: PEG_TYPE_NAMES[peg_type] ?? "",
    ...(offset_levels === null || offset_levels === undefined || offset_levels < 0
      ? {}
      : { pegOffsetType: "PRICE_LEVEL", pegOffsetValue: offset_levels }),
    ...(pegged_price === null ? {} : { peggedPrice: pegged_price }),
  };
}

/**
 * Binance's expiryReason (enums.md "Expiry Reasons") of an EXPIRED order, from why the engine ended
 * it (EndReason); null for any other status, or an end not recorded (history rows written before).
 */
export function expiry_reason(
  status: number,
  end: number | null | undefined,
  order_type: number,
  tif: number,
): string | null {
  if (status !== STATUS_EXPIRED || end === null || end === undefined) return null;
  switch (end) {
    case END_PRICE_RANGE:
      return "EXECUTION_RULE_PRICE_RANGE_EXCEEDED";
    case END_EXCHANGE:
      return "EXCHANGE_CANCELED";
    case END_LIST:
      return "OCO_TRIGGER";
    case END_LIST_WORKING:
      return "OTO_PHASE_ONE_EXPIRED";
    case END_NO_LIQUIDITY:
      if (!has_limit_price(order_type)) return "INSUFFICIENT_LIQUIDITY";
      return tif === TIF_FOK ? "UNFILLED_FOK_ORDER_EXPIRED" : "UNFILLED_IOC_QUANTITY_EXPIRED";
    case END_NONE:
      // checked again when it went to work (a trigger, an OTO's pending order placed) and refused
      return "REJECTED";
    default:
      return "NONE";
  }
}

/** One order as GET order and allOrders show it (Binance's query-order shape). */
export function order_json(f: MarketFormat, r: OrderRow) {
  const open = r.status === STATUS_NEW || r.status === STATUS_PARTIALLY_FILLED;
  return {
    symbol: f.config.symbol,
    orderId: r.order_id,
    orderListId: r.order_list_id ?? -1,
    clientOrderId: r.client_order_id ?? "",
    price: price(f, r.price_ticks),
    origQty: qty(f, r.quantity_lots),
    executedQty: qty(f, r.executed_lots),
    cummulativeQuoteQty: quote(f, r.cumulative_quote_units),
    status: ORDER_STATUS_NAMES[r.status],
    timeInForce: TIF_NAMES[r.tif],
    type: ORDER_TYPE_NAMES[r.order_type],
    side: r.side === SIDE_BUY ? "BUY" : "SELL",
    stopPrice: price(f, r.stop_price_ticks),
    ...trailing_fields(r.trailing_delta, r.trailing_ms),
    icebergQty: qty(f, r.iceberg_lots ?? 0),
    ...peg_fields(
      r.peg_type,
      r.peg_offset,
      (r.pegged_price_ticks ?? 0) > 0 ? price(f, r.pegged_price_ticks ?? 0) : null,
    ),
    time: r.time_ms,
    updateTime: r.update_ms,
    // a stop order is not working until it triggers (workingTime -1 meanwhile, as Binance's)
    isWorking: open && r.working_ms !== -1,
    workingTime: r.working_ms ?? r.time_ms,
    origQuoteOrderQty: quote(f, r.quote_units),
    // rows written before the mode was recorded hold null: the market's default, which such an
    // order had unless its client named another
    selfTradePreventionMode: STP_NAMES[r.stp ?? f.config.stp_default],
    ...strategy_fields(r.strategy_id ?? null, r.strategy_type ?? null),
    // Binance's conditional fields: only for an order that self-trade prevention expired
    ...(r.prevented_match_id === null || r.prevented_match_id === undefined
      ? {}
      : { preventedMatchId: r.prevented_match_id, preventedQuantity: qty(f, r.prevented_lots ?? 0) }),
    ...expiry_field(expiry_reason(r.status, r.end_reason, r.order_type, r.tif)),
  };
}

/** Binance's conditional expiryReason field: only for an expired order. */
export function expiry_field(reason: string | null): { expiryReason?: string } {
  return reason === null ? {} : { expiryReason: reason };
}

/**
 * The account's prevented self-trades as myPreventedMatches shows them. Holdfast has no trade
 * groups (tradeGroupId -1: a self-trade is within one account); a quantity is shown only for an
 * order the mode expired, as Binance's.
 */
export function prevented_matches_json(f: MarketFormat, rows: readonly PreventedMatchRow[]) {
  return rows.map((r) => ({
    symbol: f.config.symbol,
    preventedMatchId: r.prevented_match_id,
    takerOrderId: r.taker_order_id,
    makerSymbol: f.config.symbol,
    makerOrderId: r.maker_order_id,
    tradeGroupId: -1,
    selfTradePreventionMode: STP_NAMES[r.stp],
    price: price(f, r.price_ticks),
    ...(r.taker_lots >= 0 ? { takerPreventedQuantity: qty(f, r.taker_lots) } : {}),
    ...(r.maker_lots >= 0 ? { makerPreventedQuantity: qty(f, r.maker_lots) } : {}),
    transactTime: r.time_ms,
  }));
}

/**
 * The account's own trades as myTrades shows them (a fee is in the asset received); `lists`: the
 * order list of each order in one (order_list_ids).
 */
export function my_trades_json(
  f: MarketFormat,
  rows: readonly TradeRow[],
  lists: ReadonlyMap<number, number> = new Map(),
) {
  return rows.map((t) => {
    const buyer = t.is_buyer === 1;
    return {
      symbol: f.config.symbol,
      id: t.trade_id,
      orderId: t.order_id,
      orderListId: lists.get(t.order_id) ?? -1,
      price: price(f, t.price_ticks),
      qty: qty(f, t.quantity_lots),
      quoteQty: quote(f, t.quote_units),
      commission: pad8(scaled_text(BigInt(t.fee_units), buyer ? f.base_decimals : f.quote_decimals)),
      commissionAsset: buyer ? f.base_name : f.quote_name,
      time: t.time_ms,
      isBuyer: buyer,
      isMaker: t.is_maker === 1,
      isBestMatch: true,
    };
  });
}

/** One order's amendments as GET order/amendments shows them. */
export function amendments_json(f: MarketFormat, rows: readonly AmendmentRow[]) {
  return rows.map((r) => ({
    symbol: f.config.symbol,
    orderId: r.order_id,
    executionId: r.execution_id,
    origClientOrderId: r.orig_client_order_id ?? "",
    newClientOrderId: r.new_client_order_id,
    origQty: qty(f, r.orig_quantity_lots),
    newQty: qty(f, r.new_quantity_lots),
    time: r.time_ms,
  }));
}
