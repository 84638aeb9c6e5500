/**
 * Public market data in Binance's shapes, read from the engine's state (the node's own replica):
 * exchangeInfo, depth, ticker/price and ticker/bookTicker. Numbers are strings as Binance sends them,
 * padded to at least 8 decimals ("0.01000000"); they come from integer ticks and lots, never floats.
 */
import { price_e4_text, price_text, quantity_text } from "../engine/config.js";
import { units_to_decimal } from "../engine/decimal.js";
import type { Engine } from "../engine/engine.js";
import type { Market } from "../engine/market.js";
import { ICEBERG_PARTS_MAX } from "../engine/orders.js";
import { E4 } from "../engine/reference.js";
import { TRAILING_DELTA_MAX_BIPS, TRAILING_DELTA_MIN_BIPS } from "../engine/trailing.js";
import {
  MARKET_BREAK,
  MARKET_CANCEL_ONLY,
  MARKET_HALT,
  MARKET_POST_ONLY,
  ORDER_TYPE_NAMES,
  STP_NAMES,
} from "../engine/types.js";

/** Binance writes decimals with at least 8 places. */
export function pad8(text: string): string {
  const dot = text.indexOf(".");
  const places = dot < 0 ? 0 : text.length - dot - 1;
  if (places >= 8) return text;
  return (dot < 0 ? `${text}.` : text) + "0".repeat(8 - places);
}

export const price_str = (m: Market, ticks: number): string => pad8(price_text(m.config, ticks));
export const qty_str = (m: Market, lots: number | bigint): string => pad8(quantity_text(m.config, lots));

/** Binance's symbol status for a market mode (POST_ONLY has none: it shows TRADING, LIMIT_MAKER only). */
export function symbol_status(m: Market): string {
  switch (m.status) {
    case MARKET_HALT:
      return "HALT";
    case MARKET_BREAK:
      return "BREAK";
    case MARKET_CANCEL_ONLY:
      return "CANCEL_ONLY";
    default:
      return "TRADING";
  }
}

export function order_types(m: Market): string[] {
  if (m.status === MARKET_POST_ONLY) return ["LIMIT_MAKER"];
  // Binance lists them in this order.
  const all = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
  ];
  return all.filter((t) => (ORDER_TYPE_NAMES as readonly string[]).includes(t));
}

function symbol_info(e: Engine, m: Market) {
  const cfg = m.config;
  const base = e.assets[cfg.base];
  const quote = e.assets[cfg.quote];
  const add = cfg.add_market;
  return {
    symbol: cfg.symbol,
    status: symbol_status(m),
    baseAsset: base.name,
    baseAssetPrecision: base.decimals,
    quoteAsset: quote.name,
    quotePrecision: quote.decimals,
    quoteAssetPrecision: quote.decimals,
    baseCommissionPrecision: base.decimals,
    quoteCommissionPrecision: quote.decimals,
    orderTypes: order_types(m),
    icebergAllowed: true,
    ocoAllowed: true,
    otoAllowed: true,
    opoAllowed: true,
    // pegged orders: a limit price taken from the book (pegPriceType, pegOffsetType, pegOffsetValue)
    pegInstructionsAllowed: true,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    amendAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: "PRICE_FILTER",
        minPrice: price_str(m, cfg.min_price_ticks),
        maxPrice: price_str(m, cfg.max_price_ticks),
        tickSize: pad8(add.tick_size),
      },
      {
        // against the reference price where the market has one, else the last price (avgPriceMins
        // 0); no band before the first trade
        filterType: "PERCENT_PRICE_BY_SIDE",
        bidMultiplierUp: multiplier(e.limits.percent_price_bid_up_ppm),
        bidMultiplierDown: multiplier(e.limits.percent_price_bid_down_ppm),
        askMultiplierUp: multiplier(e.limits.percent_price_ask_up_ppm),
        askMultiplierDown: multiplier(e.limits.percent_price_ask_down_ppm),
        avgPriceMins: 0,
      },
      {
        filterType: "LOT_SIZE",
        minQty: qty_str(m, cfg.min_qty_lots),
        maxQty: qty_str(m, cfg.max_qty_lots),
        stepSize: pad8(add.step_size),
      },
      {
        filterType: "MARKET_LOT_SIZE",
        minQty: qty_str(m, cfg.min_qty_lots),
        maxQty: qty_str(m, cfg.max_qty_lots),
        stepSize: pad8(add.step_size),
      },
      {
        // a MARKET order by quantity at the reference price, else the last price (avgPriceMins 0;
        // Engine.market_notional_ok)
        filterType: "NOTIONAL",
        minNotional: pad8(add.min_notional),
        applyMinToMarket: true,
        maxNotional: "9000000000.00000000",
        applyMaxToMarket: false,
        avgPriceMins: 0,
      },
      { filterType: "MAX_NUM_ORDERS", maxNumOrders: e.limits.open_orders_per_account_market_max },
      { filterType: "ICEBERG_PARTS", limit: ICEBERG_PARTS_MAX },
      { filterType: "MAX_NUM_ALGO_ORDERS", maxNumAlgoOrders: e.limits.stop_orders_per_account_market_max },
      {
        filterType: "MAX_NUM_ICEBERG_ORDERS",
        maxNumIcebergOrders: e.limits.iceberg_orders_per_account_market_max,
      },
      {
        filterType: "TRAILING_DELTA",
        minTrailingAboveDelta: TRAILING_DELTA_MIN_BIPS,
        maxTrailingAboveDelta: TRAILING_DELTA_MAX_BIPS,
        minTrailingBelowDelta: TRAILING_DELTA_MIN_BIPS,
        maxTrailingBelowDelta: TRAILING_DELTA_MAX_BIPS,
      },
    ],
    permissions: [],
    permissionSets: [["SPOT"]],
    defaultSelfTradePreventionMode: STP_NAMES[cfg.stp_default],
    allowedSelfTradePreventionModes: [...STP_NAMES],
  };
}

/** A multiplier in parts per million as Binance prints one ("5", "0.2"). */
function multiplier(ppm: number): string {
  const text = units_to_decimal(ppm, 6);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

const exchange_filters = (e: Engine) => [
  { filterType: "EXCHANGE_MAX_NUM_ORDERS", maxNumOrders: e.limits.open_orders_per_account_max },
];

export function exchange_info(e: Engine, markets: Market[], server_time_ms: number) {
  return {
    timezone: "UTC",
    serverTime: server_time_ms,
    // Request limits are listed once the gateway enforces them.
    rateLimits: [],
    exchangeFilters: exchange_filters(e),
    symbols: markets.map((m) => symbol_info(e, m)),
  };
}

/**
 * GET /api/v3/myFilters: the filters an account's orders on a market meet. Every account meets the
 * same ones here (exchangeInfo's); no account has asset limits (Binance's MAX_ASSET).
 */
export function my_filters(e: Engine, m: Market) {
  return { exchangeFilters: exchange_filters(e), symbolFilters: symbol_info(e, m).filters, assetFilters: [] };
}

/** The best `limit` levels of each side, best first, and the book update id they reflect. */
export function depth(e: Engine, m: Market, limit: number) {
  const pool = e.levels;
  const side = (book: Market["bids"]): [string, string][] => {
    const out: [string, string][] = [];
    for (let i = book.count - 1; i >= 0 && out.length < limit; i--) {
      const level = book.levels[i];
      out.push([price_str(m, pool.price_ticks[level]), qty_str(m, pool.quantity_lots[level])]);
    }
    return out;
  };
  return { lastUpdateId: m.book_update_id, bids: side(m.bids), asks: side(m.asks) };
}

export function ticker_price(m: Market) {
  return { symbol: m.config.symbol, price: price_str(m, m.last_price_ticks) };
}

export function book_ticker(e: Engine, m: Market) {
  const top = (book: Market["bids"]): [string, string] => {
    const level = book.best_level();
    return level === 0
      ? ["0.00000000", "0.00000000"]
      : [price_str(m, e.levels.price_ticks[level]), qty_str(m, e.levels.quantity_lots[level])];
  };
  const [bidPrice, bidQty] = top(m.bids);
  const [askPrice, askQty] = top(m.asks);
  return { symbol: m.config.symbol, bidPrice, bidQty, askPrice, askQty };
}

/** A multiplier in 1/10,000 as Binance shows it ("1.1500"). */
function multiplier_text(e4: number): string {
  return `${Math.floor(e4 / E4)}.${String(e4 % E4).padStart(4, "0")}`;
}

/**
 * GET /api/v3/executionRules: each market's PRICE_RANGE rule (Binance's Price Range Execution Rule
 * FAQ); a multiplier not set is left out, a market without a rule has none.
 */
export function execution_rules(markets: Market[]) {
  return {
    symbolRules: markets.map((m) => {
      const c = m.price_range?.config;
      const set = c !== undefined && (c.bid_up_e4 | c.bid_down_e4 | c.ask_up_e4 | c.ask_down_e4) !== 0;
      if (!set) return { symbol: m.config.symbol, rules: [] };
      const rule: Record<string, string> = { ruleType: "PRICE_RANGE" };
      if (c.bid_up_e4 !== 0) rule.bidLimitMultUp = multiplier_text(c.bid_up_e4);
      if (c.bid_down_e4 !== 0) rule.bidLimitMultDown = multiplier_text(c.bid_down_e4);
      if (c.ask_up_e4 !== 0) rule.askLimitMultUp = multiplier_text(c.ask_up_e4);
      if (c.ask_down_e4 !== 0) rule.askLimitMultDown = multiplier_text(c.ask_down_e4);
      return { symbol: m.config.symbol, rules: [rule] };
    }),
  };
}

/** Binance's -2043: the market has no reference price calculation. */
export const NO_REFERENCE = { code: -2043, msg: "This symbol doesn't have a reference price." };

/**
 * GET /api/v3/referencePrice: the reference price at `now_ms` (never before the engine's latest
 * command time), null when the window holds no trade; undefined when the market has no calculation.
 */
export function reference_price(engine: Engine, m: Market, clock_ms: number) {
  const range = m.price_range;
  if (range === null) return undefined;
  const now_ms = Math.max(clock_ms, engine.now_ms);
  const e4 = range.reference_e4(now_ms);
  return {
    symbol: m.config.symbol,
    referencePrice: e4 === 0 ? null : pad8(price_e4_text(m.config, e4, 8)),
    timestamp: now_ms,
  };
}

/** GET /api/v3/referencePrice/calculation; undefined when the market has no calculation. */
export function reference_calculation(m: Market) {
  const range = m.price_range;
  if (range === null) return undefined;
  return {
    symbol: m.config.symbol,
    calculationType: "ARITHMETIC_MEAN",
    bucketCount: range.config.bucket_count,
    bucketWidthMs: range.config.bucket_width_ms,
  };
}
