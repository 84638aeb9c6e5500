/**
 * Why the engine refused a command. State-dependent refusals are outcomes of a journaled command
 * (DESIGN invariant 6): the command stays in the journal, its outcome is REJECTED and no funds move.
 * Messages are Binance's own where Binance has one, so clients such as ccxt map them to the same errors.
 */
export const REASON_NONE = 0;
export const REASON_INSUFFICIENT_BALANCE = 1;
export const REASON_DUPLICATE_ORDER = 2;
export const REASON_UNKNOWN_ORDER = 3;
export const REASON_MARKET_CLOSED = 4;
export const REASON_MAINTENANCE = 5;
export const REASON_WOULD_TAKE = 6;
export const REASON_WOULD_TRIGGER = 7;
export const REASON_UNSUPPORTED_ORDER = 8;
export const REASON_FILTER_PRICE = 9;
export const REASON_FILTER_LOT_SIZE = 10;
export const REASON_FILTER_NOTIONAL = 11;
export const REASON_FILTER_MAX_NUM_ORDERS = 12;
export const REASON_FILTER_MAX_NUM_ALGO_ORDERS = 13;
export const REASON_FILTER_EXCHANGE_MAX_NUM_ORDERS = 14;
export const REASON_PRICE_LEVELS_FULL = 15;
export const REASON_ORDER_CAPACITY_FULL = 16;
export const REASON_CLIENT_ID_RETENTION_FULL = 17;
export const REASON_UNKNOWN_ACCOUNT = 18;
export const REASON_UNKNOWN_SYMBOL = 19;
export const REASON_UNKNOWN_ASSET = 20;
export const REASON_DEPOSITS_PAUSED = 21;
export const REASON_WITHDRAWALS_PAUSED = 22;
export const REASON_SUPPLY_LIMIT = 23;
export const REASON_INVALID_AMOUNT = 24;
export const REASON_INVALID_CONFIG = 25;
export const REASON_ACCOUNTS_FULL = 26;
export const REASON_STOP_ORDERS_FULL = 27;
export const REASON_INVALID_PARAMETER = 28;
export const REASON_REQUEST_ID_RETENTION_FULL = 29;
export const REASON_AMEND_INCREASE = 30;
export const REASON_AMEND_NO_CHANGE = 31;
export const REASON_AMEND_NOT_ABOVE_EXECUTED = 32;
export const REASON_CANCEL_RESTRICTED = 33;
export const REASON_FILTER_TRAILING_DELTA = 34;
export const REASON_TRAILING_NO_REFERENCE = 35;
export const REASON_ICEBERG_EXCEEDS_QTY = 36;
export const REASON_FILTER_ICEBERG_PARTS = 37;
export const REASON_FILTER_MAX_NUM_ICEBERG_ORDERS = 38;
export const REASON_OCO_BAD_PRICES = 39;
export const REASON_AMEND_ORDER_LIST = 40;
export const REASON_UNKNOWN_ORDER_LIST = 41;
export const REASON_PEG_NO_PRICE = 42;
export const REASON_FILTER_PERCENT_PRICE_BY_SIDE = 43;
export const REASON_UNKNOWN_LISTEN_KEY = 44;
export const REASON_WITHDRAW_DAILY_LIMIT = 45;
export const REASON_WITHDRAWALS_LIMITED = 46;
export const REASON_DUPLICATE_WITHDRAWAL = 47;
export const REASON_UNKNOWN_WITHDRAWAL = 48;
export const REASON_ADDRESS_NOT_ALLOWED = 49;
export const REASON_ADDRESS_TOO_NEW = 50;
export type Reason = number;

interface ReasonInfo {
  /** Stable name, used in logs and the journal's human-readable dumps. */
  readonly name: string;
  /** Binance error message. */
  readonly message: string;
  /** Binance error code when this refuses a new order. */
  readonly code: number;
}

export const REASONS: readonly ReasonInfo[] = [
  { name: "NONE", message: "", code: 0 },
  {
    name: "INSUFFICIENT_BALANCE",
    message: "Account has insufficient balance for requested action.",
    code: -2010,
  },
  { name: "DUPLICATE_ORDER", message: "Duplicate order sent.", code: -2010 },
  { name: "UNKNOWN_ORDER", message: "Unknown order sent.", code: -2011 },
  { name: "MARKET_CLOSED", message: "Market is closed.", code: -2010 },
  { name: "MAINTENANCE", message: "System is under maintenance.", code: -2010 },
  { name: "WOULD_TAKE", message: "Order would immediately match and take.", code: -2010 },
  { name: "WOULD_TRIGGER", message: "Order would trigger immediately.", code: -2010 },
  { name: "UNSUPPORTED_ORDER", message: "Unsupported order combination", code: -2010 },
  { name: "FILTER_PRICE", message: "Filter failure: PRICE_FILTER", code: -1013 },
  { name: "FILTER_LOT_SIZE", message: "Filter failure: LOT_SIZE", code: -1013 },
  { name: "FILTER_NOTIONAL", message: "Filter failure: NOTIONAL", code: -1013 },
  { name: "FILTER_MAX_NUM_ORDERS", message: "Filter failure: MAX_NUM_ORDERS", code: -1013 },
  { name: "FILTER_MAX_NUM_ALGO_ORDERS", message: "Filter failure: MAX_NUM_ALGO_ORDERS", code: -1013 },
  { name: "FILTER_EXCHANGE_MAX_NUM_ORDERS", message: "Filter failure: EXCHANGE_MAX_NUM_ORDERS", code: -1013 },
  {
    name: "PRICE_LEVELS_FULL",
    message: "Too many price levels in the order book; try a price nearer the market.",
    code: -2010,
  },
  { name: "ORDER_CAPACITY_FULL", message: "Exchange order capacity reached; try again later.", code: -2010 },
  {
    name: "CLIENT_ID_RETENTION_FULL",
    message: "Too many new orders; client order id retention is full.",
    code: -1015,
  },
  { name: "UNKNOWN_ACCOUNT", message: "Unknown account.", code: -2010 },
  { name: "UNKNOWN_SYMBOL", message: "Invalid symbol.", code: -1121 },
  { name: "UNKNOWN_ASSET", message: "Invalid asset.", code: -1100 },
  { name: "DEPOSITS_PAUSED", message: "Deposits are paused.", code: -2010 },
  { name: "WITHDRAWALS_PAUSED", message: "Withdrawals are paused.", code: -2010 },
  { name: "SUPPLY_LIMIT", message: "Deposit would exceed the asset's supply limit.", code: -2010 },
  { name: "INVALID_AMOUNT", message: "Amount must be a positive whole number of units.", code: -1100 },
  { name: "INVALID_CONFIG", message: "Invalid configuration.", code: -1100 },
  { name: "ACCOUNTS_FULL", message: "Account capacity reached.", code: -2010 },
  { name: "STOP_ORDERS_FULL", message: "Too many stop orders in this market; try again later.", code: -2010 },
  { name: "INVALID_PARAMETER", message: "Invalid parameter.", code: -1100 },
  {
    name: "REQUEST_ID_RETENTION_FULL",
    message: "Too many requests; request id retention is full.",
    code: -1015,
  },
  // an amend (keep priority) only reduces what is left of an order: Binance's -2038 ORDER_AMEND_REJECTED
  { name: "AMEND_INCREASE", message: "Order amend (quantity increase) is not supported.", code: -2038 },
  { name: "AMEND_NO_CHANGE", message: "The requested action would change no state; rejecting", code: -2038 },
  {
    name: "AMEND_NOT_ABOVE_EXECUTED",
    message: "Order amend (quantity not above the executed quantity) is not supported.",
    code: -2038,
  },
  { name: "CANCEL_RESTRICTED", message: "Order was not canceled due to cancel restrictions.", code: -2011 },
  { name: "FILTER_TRAILING_DELTA", message: "Filter failure: TRAILING_DELTA", code: -1013 },
  {
    // a trailing stop-market buy locks at its trigger bound from a reference price (trailing.ts)
    name: "TRAILING_NO_REFERENCE",
    message: "A trailing stop market buy order needs a stopPrice until the symbol has traded.",
    code: -2010,
  },
  { name: "ICEBERG_EXCEEDS_QTY", message: "IcebergQty exceeds QTY.", code: -2010 },
  { name: "FILTER_ICEBERG_PARTS", message: "Filter failure: ICEBERG_PARTS", code: -1013 },
  {
    name: "FILTER_MAX_NUM_ICEBERG_ORDERS",
    message: "Filter failure: MAX_NUM_ICEBERG_ORDERS",
    code: -1013,
  },
  {
    // an OCO: a sell's limit price > last price > its stop price; a buy's limit < last < stop
    name: "OCO_BAD_PRICES",
    message: "The relationship of the prices for the orders is not correct.",
    code: -2010,
  },
  {
    // amending one order of a pending OCO would unbalance the funds the two share
    name: "AMEND_ORDER_LIST",
    message: "Order amend is not supported for an order of a pending order list.",
    code: -2038,
  },
  {
    // a list cancel for a list that is not pending (never was, or resolved meanwhile)
    name: "UNKNOWN_ORDER_LIST",
    message: "Order list does not exist.",
    code: -2011,
  },
  {
    // a pegged order whose side of the book has no price level to peg to (Binance's NO_DEPTH)
    name: "PEG_NO_PRICE",
    message: "No orders on book for symbol.",
    code: -1112,
  },
  { name: "FILTER_PERCENT_PRICE_BY_SIDE", message: "Filter failure: PERCENT_PRICE_BY_SIDE", code: -1013 },
  {
    // a keepalive or close of a listen key that is not the account's live one (expired, closed,
    // replaced, or never made)
    name: "UNKNOWN_LISTEN_KEY",
    message: "This listenKey does not exist.",
    code: -1125,
  },
  // withdrawals (src/engine/withdrawals.ts): Binance's wallet codes
  {
    name: "WITHDRAW_DAILY_LIMIT",
    message: "Within 24 hours, the withdrawal exceeds the maximum amount.",
    code: -4023,
  },
  // too many pending, or too many in 24 hours
  { name: "WITHDRAWALS_LIMITED", message: "Withdraw is limited.", code: -4015 },
  { name: "DUPLICATE_WITHDRAWAL", message: "Duplicate withdrawOrderId.", code: -4015 },
  // review or result for a withdrawal that is not pending in that stage
  { name: "UNKNOWN_WITHDRAWAL", message: "The withdrawal record does not exist.", code: -4029 },
  // the account's address allow-list is on and the address is not on it, or was added < 24 h ago
  {
    name: "ADDRESS_NOT_ALLOWED",
    message: "This address is not on the whitelist. Please join and try again.",
    code: -4035,
  },
  { name: "ADDRESS_TOO_NEW", message: "The new address needs to be withdrawn in 24 hours.", code: -4036 },
];

export function reason_name(reason: Reason): string {
  return REASONS[reason]?.name ?? `REASON_${reason}`;
}
export function reason_message(reason: Reason): string {
  return REASONS[reason]?.message ?? "Unknown error.";
}
