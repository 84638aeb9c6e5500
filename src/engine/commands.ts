/**
 * Commands: the engine's only input. Every command carries its timestamp (`ts_ms`, assigned by the
 * sequencer); the engine never reads a clock. Amounts are integers in the units the engine works in:
 * price in ticks, quantity in lots (step sizes), quote amounts and balances in the asset's smallest unit.
 * The gateway's validator (src/validation) turns API decimals into these units before journaling.
 */
import type { PriceRangeConfig } from "./reference.js";
import type { MarketStatus, OrderType, Side, StpMode, TimeInForce } from "./types.js";

/**
 * Bumped whenever a command's shape changes; the journal keeps an upgrade path for older versions.
 * 1: first format. 2: `request_id` on create_account, deposit and withdraw (version 1 decodes as null);
 * new kinds add_api_key and revoke_api_key (new kinds need no new version: old journals lack them).
 * 3: `tier` on add_api_key. Later kinds without a version: register_user, set_user_totp, end_user_sessions.
 * 4: `strategy_id` and `strategy_type` on an order spec (older versions decode without them); a
 * cancel restriction on cancel_order and cancel_replace (older versions: none).
 * Later kinds without a version: amend_order, place_order_list.
 * 5: `trailing_delta_bips` on an order spec (a third bit of version 4's label byte; older versions
 * decode without it). 6: `iceberg_lots` (a fourth bit).
 * 7: self-trade prevention modes DECREMENT (4) and TRANSFER (5), on order specs and as a market's
 * default (an older version's 4 or 5 decodes as an invalid mode: refused then, refused on replay);
 * and rules orders journaled before keep (see OrderSpec.format and the FORMAT_ constants).
 * 8: no new shape; an OCO may have a TAKE_PROFIT(_LIMIT) order (FORMAT_OCO_TAKE_PROFIT). A new kind,
 * place_oto (OTO and OTOCO order lists), and cancel_order_list.
 * 9: no new shape; an order of a pending order list may be amended (FORMAT_AMEND_LIST_ORDERS).
 * 10: no new shape; an OPO needs only its working order's funds when placed, and its working order
 * pays its fees from free funds when it can (FORMAT_OPO_FUNDS).
 * 11: a peg (`peg_type`, `peg_offset_levels`) on an order spec (a fifth bit of version 4's label
 * byte; older versions decode without it); and Binance's PERCENT_PRICE_BY_SIDE filter
 * (FORMAT_PERCENT_PRICE).
 * 12: no new shape; Binance's NOTIONAL filter (applyMinToMarket) on a MARKET order by quantity
 * (FORMAT_MARKET_NOTIONAL).
 */
export const COMMAND_VERSION = 12;
/**
 * From this format on, a taker with nothing left to trade stops before self-trade prevention looks at
 * the next resting order of its own account (before, a filled taker could still expire one).
 */
export const FORMAT_STP_AFTER_FILL = 7;
/**
 * From this format on, plain stop orders trigger on every trade price of the command, not only on the
 * last price after it (before, a sell sweep that passed a BUY stop and ended below it left it waiting).
 */
export const FORMAT_STOPS_SEE_SWEEP = 7;
/** From this format on, an account's open iceberg orders in a market are limited (MAX_NUM_ICEBERG_ORDERS). */
export const FORMAT_ICEBERG_LIMIT = 7;
/**
 * From this format on, an OCO's take-profit order may be a TAKE_PROFIT or TAKE_PROFIT_LIMIT order
 * (before, only a LIMIT_MAKER: such a list was refused, and is refused on replay).
 */
export const FORMAT_OCO_TAKE_PROFIT = 8;
/**
 * From this format on, amend keep priority takes an order of a pending order list (Binance: an OCO
 * pair's two orders together, an OTO's working and pending orders each alone); before, refused.
 */
export const FORMAT_AMEND_LIST_ORDERS = 9;
/**
 * From this format on, Binance's OPO FAQ in two points. Placing an OPO needs only the working
 * order's funds ("the only balance requirement on order placement is that of the working order";
 * before, the pending orders' sale was checked against the free base as if locked: an account without
 * it was refused). A fill of the working order locks all it brought in for the pending orders, its fee
 * paid from the account's free funds of that asset if they hold it ("The commission is taken from the
 * available funds instead (i.e. free balances) if ... there are enough available funds"); before, and
 * when they do not, the fee came off what was locked. The first is decided by the list's orders'
 * format, the second by that of the order whose placement made the fill (Engine.rules_format).
 */
export const FORMAT_OPO_FUNDS = 10;
/**
 * From this format on, a limit price must be within the PERCENT_PRICE_BY_SIDE band around the last
 * price (EngineLimits.percent_price_*_ppm; no band before the market's first trade); before, any
 * price PRICE_FILTER allows.
 */
export const FORMAT_PERCENT_PRICE = 11;
/**
 * From this format on, a MARKET order by quantity must pass the NOTIONAL filter's minimum (exchangeInfo
 * says applyMinToMarket true, avgPriceMins 0) at the market's reference price when it has one, else
 * at its last price (Binance's filters.md: "If the avgPriceMins is 0, then the last price will be
 * used"; since 2026-05 its filters "use reference price when it exists and is non-null"); none
 * before the first trade. Before, only a quoteOrderQty was held to it.
 */
export const FORMAT_MARKET_NOTIONAL = 12;

/** Binance's strategyType: values below this are reserved (-1134); an INT. */
export const STRATEGY_TYPE_MIN = 1_000_000;
export const STRATEGY_TYPE_MAX = 2_147_483_647;

export interface AddAsset {
  type: "add_asset";
  ts_ms: number;
  /** Ticker, e.g. "BTC". */
  asset: string;
  /** Digits after the point of the smallest unit (8 for BTC). */
  decimals: number;
  /** Cap on deposits minus withdrawals, so no sum of balances can pass 2^53 - 1. */
  supply_max_units: number;
}

export interface AddMarket {
  type: "add_market";
  ts_ms: number;
  symbol: string;
  base: string;
  quote: string;
  /** Decimal strings, as in Binance's PRICE_FILTER / LOT_SIZE / NOTIONAL filters. */
  tick_size: string;
  step_size: string;
  min_price: string;
  max_price: string;
  min_qty: string;
  max_qty: string;
  min_notional: string;
  /** Fees in parts per million of the amount received (1000 = 0.1%). */
  maker_fee_ppm: number;
  taker_fee_ppm: number;
  status: MarketStatus;
  stp_default: StpMode;
}

/**
 * Operator: a market's maker and taker fees from now on (a fee is charged on each fill, so open orders
 * pay the new fees on their later fills). A new kind: older journals have none, so no format version.
 */
export interface SetMarketFees {
  type: "set_market_fees";
  ts_ms: number;
  market: number;
  maker_fee_ppm: number;
  taker_fee_ppm: number;
}

/**
 * Operator: an account's own fees in every market (a market maker's programme, a VIP tier), in place
 * of each market's; -1 for either keeps the market's. Both -1 ends the override. Each fill pays the
 * rates of its time. A new kind: older journals have none, so no format version.
 */
export interface SetAccountFees {
  type: "set_account_fees";
  ts_ms: number;
  account: number;
  maker_fee_ppm: number;
  taker_fee_ppm: number;
}

export interface SetMarketStatus {
  type: "set_market_status";
  ts_ms: number;
  market: number;
  status: MarketStatus;
}

export interface SetExchangeFlags {
  type: "set_exchange_flags";
  ts_ms: number;
  maintenance: boolean;
  deposits_paused: boolean;
  withdrawals_paused: boolean;
}

/**
 * `request_id` (optional) makes a non-order command idempotent: a second command with the same id
 * within the retention window is not applied again; its outcome is a `duplicate_request` event
 * carrying the first one's result.
 */
export interface CreateAccount {
  type: "create_account";
  ts_ms: number;
  request_id?: string | null;
}

export interface Deposit {
  type: "deposit";
  ts_ms: number;
  account: number;
  asset: number;
  amount_units: number;
  request_id?: string | null;
}

export interface Withdraw {
  type: "withdraw";
  ts_ms: number;
  account: number;
  asset: number;
  amount_units: number;
  request_id?: string | null;
}

/** Registers an API key for an account (see api_keys.ts: the engine stores it, never checks a signature). */
export interface AddApiKey {
  type: "add_api_key";
  ts_ms: number;
  account: number;
  api_key: string;
  /** KEY_HMAC, KEY_ED25519 or KEY_RSA. */
  kind: number;
  /** HMAC: the secret sealed under the master key; Ed25519/RSA: the public key (PEM). */
  material: string;
  permissions: number;
  ip_allow: string;
  /** The rate-limit tier of requests made with the key (gateway configuration names them). Since v3. */
  tier: string;
}

export interface RevokeApiKey {
  type: "revoke_api_key";
  ts_ms: number;
  account: number;
  api_key: string;
}

/** A web app user (web_users.ts): a new account with a login, in one command. */
export interface RegisterUser {
  type: "register_user";
  ts_ms: number;
  /** Lower-cased e-mail address. */
  email: string;
  /** argon2id PHC string, hashed by the gateway. */
  password_hash: string;
}

/** Turns two-factor login on (the TOTP secret sealed under the master key) or off (""). */
export interface SetUserTotp {
  type: "set_user_totp";
  ts_ms: number;
  account: number;
  totp_sealed: string;
}

/** "Log out everywhere": every session signed before this command stops being valid. */
export interface EndUserSessions {
  type: "end_user_sessions";
  ts_ms: number;
  account: number;
}

/** What a listen_key command does. */
export const LISTEN_KEY_OPEN = 0;
export const LISTEN_KEY_KEEP = 1;
export const LISTEN_KEY_CLOSE = 2;
export type ListenKeyAction = typeof LISTEN_KEY_OPEN | typeof LISTEN_KEY_KEEP | typeof LISTEN_KEY_CLOSE;

/**
 * A user data stream's listen key (Binance's POST/PUT/DELETE /api/v3/userDataStream and the WebSocket
 * API's userDataStream.start/ping/stop): open (a new key, or the live one kept alive, as Binance
 * answers a second POST), keep alive, or close. Journaled, so that which keys are live survives a
 * restart and is the same on every node of a cluster: a client whose node died reconnects to another
 * (or the restarted one) with the key it has. The engine keeps a nonce and an expiry per account; the
 * key itself is derived from the account and nonce under the master key outside the engine
 * (src/gateway/user_data.ts) and is never journaled. A new kind: older journals have none.
 */
export interface ListenKey {
  type: "listen_key";
  ts_ms: number;
  account: number;
  action: ListenKeyAction;
  /** Keep alive and close: the nonce the client's key names. Open: 0 (unused). */
  nonce: number;
  /** Open and keep alive: how long the key lives after this command without another keepalive. */
  ttl_ms: number;
}

/** The order part shared by place_order and cancel_replace. */
export interface OrderSpec {
  side: Side;
  order_type: OrderType;
  tif: TimeInForce;
  /** Limit price; 0 when the type has none. */
  price_ticks: number;
  /** Base quantity; 0 for a market order by quote amount. */
  quantity_lots: number;
  /** Market order by quote amount (quoteOrderQty); 0 otherwise. */
  quote_units: number;
  /** Trigger price for the STOP_LOSS and TAKE_PROFIT types; 0 otherwise. */
  stop_price_ticks: number;
  /** Client order id, or null for none (the API derives one from the order id). */
  client_order_id: string | null;
  /** Self-trade prevention mode; -1 = the market's default. */
  stp: StpMode | -1;
  /**
   * Binance's strategyId and strategyType: labels a client gives an order (a safe integer >= 0, and
   * STRATEGY_TYPE_MIN..STRATEGY_TYPE_MAX), kept and shown with it, otherwise unused. Absent: none.
   */
  strategy_id?: number;
  strategy_type?: number;
  /**
   * Binance's trailingDelta: a STOP_LOSS / TAKE_PROFIT (+_LIMIT) order is a trailing stop, triggered
   * by a move of this many basis points from the best price since it began tracking (trailing.ts);
   * its stop price, then optional (0), is the price at which it begins tracking. Absent: not trailing.
   */
  trailing_delta_bips?: number;
  /**
   * Binance's icebergQty, in lots: a GTC order with a limit price shows only this much of itself in
   * the book at a time (book.ts, "Iceberg orders" in docs/ENGINE.md). Absent: all of it shows.
   */
  iceberg_lots?: number;
  /**
   * Binance's pegPriceType (PEG_PRIMARY, PEG_MARKET; types.ts) and pegOffsetValue (price levels,
   * 0..PEG_OFFSET_MAX; absent: not sent): a LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT or TAKE_PROFIT_LIMIT
   * order whose limit price is taken from the book when it goes to work (placed, triggered, or an
   * OTO's pending order placed); `price_ticks` is then optional (0). Absent: not pegged. Since v11.
   */
  peg_type?: number;
  peg_offset_levels?: number;
  /**
   * Set by the engine on its own copy of a pegged order's spec, never journaled: the price the order
   * was sent with (price_ticks then holds the pegged price, or while `peg_later` the price its lock is
   * reckoned at until the pegged price is known).
   */
  peg_sent_ticks?: number;
  peg_later?: boolean;
  /**
   * The journal format an order decoded from an older journal was written in (set by the codec,
   * absent for the current one): matching rules changed since then apply as they were, so an old
   * journal replays to the state it had. The format of the command being applied decides, also for
   * stop orders it triggers.
   */
  format?: number;
}

export interface PlaceOrder extends OrderSpec {
  type: "place_order";
  ts_ms: number;
  account: number;
  market: number;
}

/**
 * Binance's OCO (one-cancels-the-other), POST /api/v3/orderList/oco: two orders of one side and
 * quantity, a take-profit order (LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT) and a stop-loss
 * order (STOP_LOSS or STOP_LOSS_LIMIT), one priced above the other. When either is activated (it
 * trades or triggers) the other expires; cancelling either cancels both. Their funds are locked once
 * (the larger of the two orders' needs).
 */
export interface PlaceOrderList {
  type: "place_order_list";
  ts_ms: number;
  account: number;
  market: number;
  /** Binance's listClientOrderId: unique among the account's open order lists; null: none given. */
  list_client_order_id: string | null;
  /** The order priced higher (a sell's limit maker, a buy's stop) and the one priced lower. */
  above: OrderSpec;
  below: OrderSpec;
}

/**
 * Binance's OTO (one-triggers-the-other), POST /api/v3/orderList/oto, and OTOCO, POST
 * /api/v3/orderList/otoco: a working order (LIMIT or LIMIT_MAKER) goes on the book; its pending
 * order (OTO), or pending OCO pair (OTOCO: `pending` above, `pending_below` below), waits off the
 * book and is placed when the working order has filled completely. Cancelling or expiring any of
 * them before then ends them all. Each order locks its funds when the list is placed (the pending
 * pair once, as an OCO does).
 */
export interface PlaceOto {
  type: "place_oto";
  ts_ms: number;
  account: number;
  market: number;
  /** Binance's listClientOrderId: unique among the account's open order lists; null: none given. */
  list_client_order_id: string | null;
  working: OrderSpec;
  /** OTO: the pending order; OTOCO: the pending pair's order priced higher. */
  pending: OrderSpec;
  /** OTOCO: the pending pair's order priced lower; null for an OTO. */
  pending_below: OrderSpec | null;
  /**
   * Binance's OPO / OPOCO (one-pays-the-other): a BUY working order whose proceeds pay its SELL
   * pending order(s). The pending orders come without a quantity (0); what each fill of the working
   * order brings in (its base; less the fee if free funds cannot pay it, FORMAT_OPO_FUNDS) is locked
   * for them as it arrives, and they are placed with as many lots as that makes (the rest released).
   * Placing one needs the working order's funds only. Absent: false.
   */
  pays?: boolean;
}

/**
 * Binance's cancelRestrictions: cancel only an order nothing of which has executed (ONLY_NEW), or only
 * one partly filled (ONLY_PARTIALLY_FILLED); absent, either.
 */
export const CANCEL_ONLY_NEW = 1;
export const CANCEL_ONLY_PARTIALLY_FILLED = 2;
export type CancelRestriction = typeof CANCEL_ONLY_NEW | typeof CANCEL_ONLY_PARTIALLY_FILLED;

export interface CancelOrder {
  type: "cancel_order";
  ts_ms: number;
  account: number;
  market: number;
  /** Engine order id, or 0 to cancel by client order id. */
  order_id: number;
  client_order_id: string | null;
  restriction?: CancelRestriction;
}

export interface CancelAll {
  type: "cancel_all";
  ts_ms: number;
  account: number;
  market: number;
}

export interface CancelReplace {
  type: "cancel_replace";
  ts_ms: number;
  account: number;
  market: number;
  cancel_order_id: number;
  cancel_client_order_id: string | null;
  /** Binance cancelReplaceMode: false = STOP_ON_FAILURE, true = ALLOW_FAILURE. */
  allow_failure: boolean;
  order: OrderSpec;
  /** Binance's cancelRestrictions, for the cancel. */
  cancel_restriction?: CancelRestriction;
}

/**
 * Reduces an open order's quantity in place, keeping its priority (Binance's order amend keep
 * priority). The order gets `new_client_order_id` (the gateway makes one when the client sent none;
 * it may be the current one).
 */
export interface AmendOrder {
  type: "amend_order";
  ts_ms: number;
  account: number;
  market: number;
  /** Engine order id, or 0 to find the order by `client_order_id`. */
  order_id: number;
  client_order_id: string | null;
  new_client_order_id: string;
  /** The order's new quantity: above what has executed, below its quantity now. */
  new_quantity_lots: number;
  /** The journal format it was written in, when older than the current one (set by the codec). */
  format?: number;
}

/**
 * Cancels a pending order list whole (Binance's DELETE /api/v3/orderList): refused if the list has
 * resolved meanwhile (an order of it traded or triggered), so an order that is no longer in a list is
 * never cancelled for one.
 */
export interface CancelOrderList {
  type: "cancel_order_list";
  ts_ms: number;
  account: number;
  market: number;
  list_id: number;
}

/** Operator: expire every order of a market (delisting, maintenance); expiry reason EXCHANGE_CANCELED. */
export interface ExpireMarketOrders {
  type: "expire_market_orders";
  ts_ms: number;
  market: number;
}

/**
 * Operator: a market's reference price calculation (Binance's ARITHMETIC_MEAN over bucket_count
 * buckets of bucket_width_ms) and PRICE_RANGE execution rule (multipliers in 1/10,000; 0: not set).
 * bucket_count 0 removes both. A new kind: older journals have none, so no format version.
 */
export interface SetPriceRange extends PriceRangeConfig {
  type: "set_price_range";
  ts_ms: number;
  market: number;
}

/**
 * The engine limits an operator may change while the exchange runs: policies checked when an order
 * comes in (how many open, stop, trailing and iceberg orders; the PERCENT_PRICE_BY_SIDE band), not
 * the sizes the engine's structures were built with. Order matters: a set_limit names one by index.
 */
export const SETTABLE_LIMITS = [
  "open_orders_per_account_market_max",
  "open_orders_per_account_max",
  "stop_orders_per_account_market_max",
  "stop_orders_per_market_max",
  "trailing_orders_per_market_max",
  "iceberg_orders_per_account_market_max",
  "percent_price_bid_up_ppm",
  "percent_price_bid_down_ppm",
  "percent_price_ask_up_ppm",
  "percent_price_ask_down_ppm",
] as const;
export type SettableLimit = (typeof SETTABLE_LIMITS)[number];

/**
 * Operator: one limit of SETTABLE_LIMITS (by index) to a new value, checked as the engine checks its
 * limits at start; later commands meet it, open orders beyond a lowered count stay. Journaled, so
 * every node and every replay has the same limits at the same sequence. A new kind: older journals
 * have none, so no format version.
 */
export interface SetLimit {
  type: "set_limit";
  ts_ms: number;
  limit: number;
  value: number;
}

/**
 * Operator: a proof-of-reserves audit (src/reserves/). The engine fixes every account's balances at
 * this command's sequence (the `reserves_audit` event) beside the reserves the operator declares per
 * asset (units; an asset not named is "not declared"). No state changes: replaying it gives the same
 * event, so every node and every rebuilt history holds the same audit. A new kind: older journals
 * have none, so no format version.
 */
export interface ReservesAudit {
  type: "reserves_audit";
  ts_ms: number;
  reserves: { asset: number; units: number }[];
}

/**
 * A user's withdrawal (POST /sapi/v1/capital/withdraw/apply; src/engine/withdrawals.ts): locks the
 * amount; waits for an operator's approval when a safeguard holds it, else is approved at once.
 * Text fields are "" when not given.
 */
export interface WithdrawRequest {
  type: "withdraw_request";
  ts_ms: number;
  account: number;
  asset: number;
  amount_units: number;
  address: string;
  address_tag: string;
  network: string;
  /** Binance's withdrawOrderId: unique per account over 24 hours. */
  client_id: string;
}

/** Operator: approve (to payout) or reject (funds back) a withdrawal awaiting approval. */
export interface WithdrawReview {
  type: "withdraw_review";
  ts_ms: number;
  id: number;
  approve: boolean;
}

/**
 * The payout's outcome for a processing withdrawal (the payout executor, or an operator paying by
 * hand): ok → completed, the funds leave the ledger; not ok → failure, funds back. `note` is the
 * transaction id, or why it failed. A second outcome for the same withdrawal is refused, so a result
 * journaled twice is harmless (DESIGN invariant 5).
 */
export interface WithdrawResult {
  type: "withdraw_result";
  ts_ms: number;
  id: number;
  ok: boolean;
  note: string;
}

/** Operator: an asset's withdrawal safeguards (units of the asset). */
export interface WithdrawPolicy {
  type: "withdraw_policy";
  ts_ms: number;
  asset: number;
  review_min_units: number;
  daily_max_units: number;
}

/**
 * A user's withdrawal address allow-list (withdrawals.ts `Allowlist`): add or remove an address
 * (`address` "" for on/off), or turn the list on or off (ALLOWLIST_* actions).
 */
export interface WithdrawAllowlist {
  type: "withdraw_allowlist";
  ts_ms: number;
  account: number;
  action: number;
  address: string;
}

export type Command =
  | AddAsset
  | AddMarket
  | SetMarketStatus
  | SetMarketFees
  | SetAccountFees
  | SetExchangeFlags
  | CreateAccount
  | Deposit
  | Withdraw
  | PlaceOrder
  | PlaceOrderList
  | PlaceOto
  | CancelOrder
  | CancelOrderList
  | CancelAll
  | CancelReplace
  | AmendOrder
  | ExpireMarketOrders
  | SetPriceRange
  | AddApiKey
  | RevokeApiKey
  | RegisterUser
  | SetUserTotp
  | EndUserSessions
  | ListenKey
  | SetLimit
  | ReservesAudit
  | WithdrawRequest
  | WithdrawReview
  | WithdrawResult
  | WithdrawPolicy
  | WithdrawAllowlist;
