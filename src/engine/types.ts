/**
 * Enumerations of the engine, as small integers so that they fit in typed arrays.
 * Names follow Binance's Spot API spelling; NAMES arrays map the integers back to those spellings.
 */
export const SIDE_BUY = 0;
export const SIDE_SELL = 1;
export type Side = 0 | 1;
export const SIDE_NAMES = ["BUY", "SELL"] as const;

export const TYPE_LIMIT = 0;
export const TYPE_MARKET = 1;
export const TYPE_LIMIT_MAKER = 2;
export const TYPE_STOP_LOSS = 3;
export const TYPE_STOP_LOSS_LIMIT = 4;
export const TYPE_TAKE_PROFIT = 5;
export const TYPE_TAKE_PROFIT_LIMIT = 6;
export type OrderType = 0 | 1 | 2 | 3 | 4 | 5 | 6;
export const ORDER_TYPE_NAMES = [
  "LIMIT",
  "MARKET",
  "LIMIT_MAKER",
  "STOP_LOSS",
  "STOP_LOSS_LIMIT",
  "TAKE_PROFIT",
  "TAKE_PROFIT_LIMIT",
] as const;

export function is_stop_type(type: number): boolean {
  return type >= TYPE_STOP_LOSS;
}
/** Types that carry a limit price (and so may rest in the book). */
export function has_limit_price(type: number): boolean {
  return (
    type === TYPE_LIMIT ||
    type === TYPE_LIMIT_MAKER ||
    type === TYPE_STOP_LOSS_LIMIT ||
    type === TYPE_TAKE_PROFIT_LIMIT
  );
}

/**
 * Binance's pegPriceType: a pegged order's limit price is taken from the book (Binance's pegged
 * orders FAQ): PRIMARY_PEG the best price on its own side, MARKET_PEG the best on the other side;
 * pegOffsetValue (pegOffsetType PRICE_LEVEL) that many price levels deeper.
 */
export const PEG_PRIMARY = 1;
export const PEG_MARKET = 2;
export const PEG_TYPE_NAMES = ["", "PRIMARY_PEG", "MARKET_PEG"] as const;
/** Binance: pegOffsetValue at most 100 price levels. */
export const PEG_OFFSET_MAX = 100;

export const TIF_GTC = 0;
export const TIF_IOC = 1;
export const TIF_FOK = 2;
export type TimeInForce = 0 | 1 | 2;
export const TIF_NAMES = ["GTC", "IOC", "FOK"] as const;

export const STP_NONE = 0;
export const STP_EXPIRE_TAKER = 1;
export const STP_EXPIRE_MAKER = 2;
export const STP_EXPIRE_BOTH = 3;
/**
 * Both orders' prevented quantity grows by what would have traded; the smaller order expires (both if
 * equal), the other goes on with what it has left (Binance's STP FAQ, scenario G).
 */
export const STP_DECREMENT = 4;
/**
 * Binance's TRANSFER: DECREMENT, plus a transfer of the prevented quantity between two accounts of one
 * trade group. Holdfast has no trade groups (a self-trade is within one account), where Binance's
 * TRANSFER is DECREMENT; a prevented match is reported as TRANSFER when both orders named it.
 */
export const STP_TRANSFER = 5;
export type StpMode = 0 | 1 | 2 | 3 | 4 | 5;
export const STP_NAMES = [
  "NONE",
  "EXPIRE_TAKER",
  "EXPIRE_MAKER",
  "EXPIRE_BOTH",
  "DECREMENT",
  "TRANSFER",
] as const;

export const STATUS_NEW = 0;
export const STATUS_PARTIALLY_FILLED = 1;
export const STATUS_FILLED = 2;
export const STATUS_CANCELED = 3;
export const STATUS_EXPIRED = 4;
export const STATUS_EXPIRED_IN_MATCH = 5;
export const STATUS_REJECTED = 6;
/**
 * A pending order of an order list (OTO, OTOCO): it waits, off the book, for the list's working
 * order to fill, and is placed then (Binance's PENDING_NEW).
 */
export const STATUS_PENDING_NEW = 7;
export type OrderStatus = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;
export const ORDER_STATUS_NAMES = [
  "NEW",
  "PARTIALLY_FILLED",
  "FILLED",
  "CANCELED",
  "EXPIRED",
  "EXPIRED_IN_MATCH",
  "REJECTED",
  "PENDING_NEW",
] as const;

/** Why an order left the book without filling; carried on order updates. */
export const END_NONE = 0;
/** The owner cancelled it. */
export const END_USER = 1;
/** IOC/FOK/market remainder, or a market order that found no liquidity. */
export const END_NO_LIQUIDITY = 2;
/** Self-trade prevention. */
export const END_STP = 3;
/** The exchange removed it (maintenance, delisting): Binance's expiryReason EXCHANGE_CANCELED. */
export const END_EXCHANGE = 4;
/** A market buy ran out of the funds it had locked (stop-market buys; see docs/ENGINE.md). */
export const END_FUNDS = 5;
/** The other order of its order list (OCO) was activated (traded or triggered) or ended. */
export const END_LIST = 6;
/**
 * A taker reached a price outside its market's PRICE_RANGE execution rule (reference.ts): Binance's
 * expiryReason EXECUTION_RULE_PRICE_RANGE_EXCEEDED.
 */
export const END_PRICE_RANGE = 7;
/** A pending order of an OTO whose working order ended without filling: OTO_PHASE_ONE_EXPIRED. */
export const END_LIST_WORKING = 8;
export type EndReason = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
export const END_REASON_NAMES = [
  "NONE",
  "USER",
  "NO_LIQUIDITY",
  "STP",
  "EXCHANGE_CANCELED",
  "FUNDS",
  "ORDER_LIST",
  "PRICE_RANGE",
  "LIST_WORKING",
] as const;

/**
 * An order list's state (Binance's listOrderStatus): EXECUTING while its contingency is pending,
 * ALL_DONE once it has resolved (one order activated, the other ended) or both orders ended.
 */
export const LIST_EXECUTING = 0;
export const LIST_ALL_DONE = 1;
export type ListStatus = 0 | 1;

/**
 * An order list's kind (Binance's contingencyType): OCO, two orders one of which cancels the other;
 * OTO, a working order whose fill places one pending order (OTO) or a pending OCO pair (OTOCO, which
 * Binance also calls "OTO").
 */
export const CONTINGENCY_OCO = 0;
export const CONTINGENCY_OTO = 1;
export type Contingency = 0 | 1;
export const CONTINGENCY_NAMES = ["OCO", "OTO"] as const;

export const MARKET_TRADING = 0;
export const MARKET_POST_ONLY = 1;
export const MARKET_CANCEL_ONLY = 2;
export const MARKET_HALT = 3;
export const MARKET_BREAK = 4;
export type MarketStatus = 0 | 1 | 2 | 3 | 4;
export const MARKET_STATUS_NAMES = ["TRADING", "POST_ONLY", "CANCEL_ONLY", "HALT", "BREAK"] as const;
