/**
 * The engine's output. The engine calls an EventSink with plain numbers (no allocation on the hot
 * path); EventCollector turns those calls into event objects for everything that is not a benchmark.
 * Every event is a pure function of the command sequence.
 */
import type { Reason } from "./reasons.js";
import type {
  Contingency,
  EndReason,
  ListStatus,
  MarketStatus,
  OrderStatus,
  OrderType,
  Side,
  StpMode,
  TimeInForce,
} from "./types.js";
import type { Withdrawal } from "./withdrawals.js";

export interface EventSink {
  /** A command was refused; nothing changed. */
  rejected(reason: Reason, detail: string | null): void;
  /** An order was accepted (Binance status NEW). */
  order_new(
    order_id: number,
    account: number,
    market: number,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    price_ticks: number,
    quantity_lots: number,
    quote_units: number,
    stop_price_ticks: number,
    client_order_id: string | null,
    time_ms: number,
    /** The order's self-trade prevention mode (the market's default when it named none). */
    stp: StpMode,
    /** Its strategy labels (Binance's strategyId, strategyType); -1 when not given. */
    strategy_id: number,
    strategy_type: number,
    /** A trailing stop's delta in basis points (Binance's trailingDelta); -1 for any other order. */
    trailing_delta_bips: number,
    /** An iceberg order's part shown at a time, in lots (Binance's icebergQty); -1 for any other. */
    iceberg_lots: number,
  ): void;
  /**
   * A pegged order (after its order_new): its peg (Binance's pegPriceType PEG_PRIMARY / PEG_MARKET;
   * pegOffsetValue, -1 when not sent) and its pegged price (Binance's peggedPrice), 0 while not known
   * (a stop-limit order until triggered, an OTO's pending order until placed: the event comes again
   * then, or the order expires if it cannot be pegged).
   */
  order_pegged(
    order_id: number,
    account: number,
    market: number,
    peg_type: number,
    peg_offset_levels: number,
    pegged_price_ticks: number,
    time_ms: number,
  ): void;
  /** A stop order's condition was met: it now works as a market or limit order. */
  order_triggered(order_id: number, account: number, market: number, time_ms: number): void;
  /**
   * A trailing stop began tracking prices (Binance's trailingTime), from `extreme_ticks`: at
   * placement from the last price, or at the trade that met its stop price (or the first trade).
   */
  trailing_started(
    order_id: number,
    account: number,
    market: number,
    extreme_ticks: number,
    time_ms: number,
  ): void;
  /**
   * An open order's quantity was reduced in place, its place in the queue kept (Binance's amend keep
   * priority); it may have a new client order id. `execution_id` identifies the amendment.
   */
  order_amended(
    order_id: number,
    account: number,
    market: number,
    quantity_lots: number,
    orig_quantity_lots: number,
    client_order_id: string,
    orig_client_order_id: string | null,
    executed_lots: number,
    cumulative_quote_units: number,
    execution_id: number,
    time_ms: number,
  ): void;
  /**
   * An order list was placed (status LIST_EXECUTING; before its orders' order_new events: an OCO's
   * `above_order_id` and `below_order_id`; an OTO's `working_order_id` and its pending order,
   * `above_order_id` (`below_order_id` 0); an OTOCO's working order and its pending pair), or
   * resolved (LIST_ALL_DONE: after the updates of the order that ended it; an OTO when its pending
   * order is placed).
   */
  order_list(
    list_id: number,
    account: number,
    market: number,
    status: ListStatus,
    list_client_order_id: string,
    above_order_id: number,
    below_order_id: number,
    time_ms: number,
    contingency: Contingency,
    /** An OTO's or OTOCO's working order; 0 for an OCO. */
    working_order_id: number,
  ): void;
  /**
   * A pending order of an order list (placed PENDING_NEW) is placed on the book now that the list's
   * working order has filled: it works from now on (a stop order: waits for its trigger from now on).
   * `quantity_lots`: its quantity (an OPO's pending order gets its quantity now; others keep theirs).
   */
  order_activated(
    order_id: number,
    account: number,
    market: number,
    quantity_lots: number,
    time_ms: number,
  ): void;
  /** An order's state changed: partially filled, filled, canceled or expired. */
  order_update(
    order_id: number,
    account: number,
    market: number,
    status: OrderStatus,
    executed_lots: number,
    cumulative_quote_units: number,
    end_reason: EndReason,
  ): void;
  trade(
    market: number,
    trade_id: number,
    price_ticks: number,
    quantity_lots: number,
    quote_units: number,
    taker_order_id: number,
    maker_order_id: number,
    taker_account: number,
    maker_account: number,
    taker_side: Side,
    taker_fee_units: number,
    maker_fee_units: number,
    time_ms: number,
  ): void;
  /**
   * Self-trade prevention stopped a taker from trading with a resting order of the same account
   * (Binance's "prevented match"). Comes before the order updates that expire or reduce the order(s).
   * A quantity is -1 for the side the mode leaves alone (EXPIRE_MAKER leaves the taker, EXPIRE_TAKER
   * the maker); for an EXPIRE mode it is what that order had left, which expires; for DECREMENT (and
   * TRANSFER) both are what would have traded, taken from both orders. The totals are each order's
   * prevented quantity after this match (Binance's A; -1 for an order left alone). `stp` is the mode
   * in effect: the taker's, but TRANSFER only when the maker's is TRANSFER too (else DECREMENT).
   */
  prevented_match(
    market: number,
    prevented_match_id: number,
    taker_order_id: number,
    maker_order_id: number,
    account: number,
    price_ticks: number,
    taker_prevented_lots: number,
    maker_prevented_lots: number,
    taker_prevented_total_lots: number,
    maker_prevented_total_lots: number,
    stp: StpMode,
    time_ms: number,
  ): void;
  /** A balance after a change: absolute free and locked units. */
  balance(account: number, asset: number, free_units: number, locked_units: number): void;
  /** A price level after a change (quantity 0 = level gone); update ids are contiguous per market. */
  book(market: number, update_id: number, side: Side, price_ticks: number, quantity_lots: number): void;
  account_created(account: number): void;
  /** A request id seen within the retention window: nothing was applied; `result` is the first one's. */
  duplicate_request(request_id: string, result: number): void;
  api_key(account: number, api_key: string, added: boolean): void;
  /** A web user registered, turned two-factor login on or off, or ended every session. */
  web_user(account: number, change: WebUserChange): void;
  asset_added(asset: number, name: string): void;
  market_added(market: number, symbol: string): void;
  market_status(market: number, status: MarketStatus): void;
  exchange_flags(maintenance: boolean, deposits_paused: boolean, withdrawals_paused: boolean): void;
  /** Deposit (positive) or withdrawal (negative) applied to an account. */
  ledger(account: number, asset: number, amount_units: number): void;
  /**
   * A withdrawal asked for or moved on (src/engine/withdrawals.ts): its state after this command;
   * `note` is the payout's transaction id (completed) or why it failed ("" otherwise). A completed
   * one has left the ledger (its deposits − withdrawals); no `ledger` event repeats it.
   */
  withdrawal(w: Readonly<Withdrawal>, note: string): void;
  /**
   * A proof-of-reserves audit (the reserves_audit command): `take` copies every account's balances
   * as they are now; a sink that keeps nothing never calls it (a replay pays for no copy).
   */
  reserves_audit(take: () => ReservesFigures): void;
}

/** What a reserves audit fixes, per asset in its smallest unit (src/reserves/). */
export interface ReservesFigures {
  assets: number;
  accounts: number;
  /** Account-major: balances[account * assets + asset] = free + locked. */
  balances: Float64Array;
  /** Declared by the operator (-1: not declared). */
  reserves_units: number[];
  /** Fees collected: the exchange's own, not owed to users. */
  fees_units: number[];
  /** Deposits less withdrawals: what the ledger says the exchange holds in all. */
  custody_units: number[];
}

export type WebUserChange = "registered" | "totp_on" | "totp_off" | "sessions_ended";

export type EngineEvent =
  | { kind: "rejected"; reason: Reason; detail: string | null }
  | {
      kind: "order_new";
      order_id: number;
      account: number;
      market: number;
      side: Side;
      order_type: OrderType;
      tif: TimeInForce;
      price_ticks: number;
      quantity_lots: number;
      quote_units: number;
      stop_price_ticks: number;
      client_order_id: string | null;
      time_ms: number;
      stp: StpMode;
      strategy_id: number;
      strategy_type: number;
      trailing_delta_bips: number;
      iceberg_lots: number;
    }
  | { kind: "order_triggered"; order_id: number; account: number; market: number; time_ms: number }
  | {
      kind: "order_pegged";
      order_id: number;
      account: number;
      market: number;
      peg_type: number;
      peg_offset_levels: number;
      pegged_price_ticks: number;
      time_ms: number;
    }
  | {
      kind: "trailing_started";
      order_id: number;
      account: number;
      market: number;
      extreme_ticks: number;
      time_ms: number;
    }
  | {
      kind: "order_amended";
      order_id: number;
      account: number;
      market: number;
      quantity_lots: number;
      orig_quantity_lots: number;
      client_order_id: string;
      orig_client_order_id: string | null;
      executed_lots: number;
      cumulative_quote_units: number;
      execution_id: number;
      time_ms: number;
    }
  | {
      kind: "order_list";
      list_id: number;
      account: number;
      market: number;
      status: ListStatus;
      list_client_order_id: string;
      above_order_id: number;
      below_order_id: number;
      time_ms: number;
      contingency: Contingency;
      working_order_id: number;
    }
  | {
      kind: "order_activated";
      order_id: number;
      account: number;
      market: number;
      quantity_lots: number;
      time_ms: number;
    }
  | {
      kind: "order_update";
      order_id: number;
      account: number;
      market: number;
      status: OrderStatus;
      executed_lots: number;
      cumulative_quote_units: number;
      end_reason: EndReason;
    }
  | {
      kind: "trade";
      market: number;
      trade_id: number;
      price_ticks: number;
      quantity_lots: number;
      quote_units: number;
      taker_order_id: number;
      maker_order_id: number;
      taker_account: number;
      maker_account: number;
      taker_side: Side;
      taker_fee_units: number;
      maker_fee_units: number;
      time_ms: number;
    }
  | {
      kind: "prevented_match";
      market: number;
      prevented_match_id: number;
      taker_order_id: number;
      maker_order_id: number;
      account: number;
      price_ticks: number;
      taker_prevented_lots: number;
      maker_prevented_lots: number;
      /** What prevention has taken from each order in all so far, this included (-1: left alone). */
      taker_prevented_total_lots: number;
      maker_prevented_total_lots: number;
      stp: StpMode;
      time_ms: number;
    }
  | { kind: "balance"; account: number; asset: number; free_units: number; locked_units: number }
  | {
      kind: "book";
      market: number;
      update_id: number;
      side: Side;
      price_ticks: number;
      quantity_lots: number;
    }
  | { kind: "account_created"; account: number }
  | { kind: "duplicate_request"; request_id: string; result: number }
  | { kind: "api_key"; account: number; api_key: string; added: boolean }
  | { kind: "web_user"; account: number; change: WebUserChange }
  | { kind: "asset_added"; asset: number; name: string }
  | { kind: "market_added"; market: number; symbol: string }
  | { kind: "market_status"; market: number; status: MarketStatus }
  | { kind: "exchange_flags"; maintenance: boolean; deposits_paused: boolean; withdrawals_paused: boolean }
  | { kind: "ledger"; account: number; asset: number; amount_units: number }
  | ({ kind: "withdrawal"; note: string } & Withdrawal)
  | ({ kind: "reserves_audit" } & ReservesFigures);

/** Collects events as objects; `take()` hands over what one command produced. */
export class EventCollector implements EventSink {
  events: EngineEvent[] = [];

  take(): EngineEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }
  rejected(reason: Reason, detail: string | null): void {
    this.events.push({ kind: "rejected", reason, detail });
  }
  order_new(
    order_id: number,
    account: number,
    market: number,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    price_ticks: number,
    quantity_lots: number,
    quote_units: number,
    stop_price_ticks: number,
    client_order_id: string | null,
    time_ms: number,
    stp: StpMode,
    strategy_id: number,
    strategy_type: number,
    trailing_delta_bips: number,
    iceberg_lots: number,
  ): void {
    this.events.push({
      kind: "order_new",
      order_id,
      account,
      market,
      side,
      order_type,
      tif,
      price_ticks,
      quantity_lots,
      quote_units,
      stop_price_ticks,
      client_order_id,
      time_ms,
      stp,
      strategy_id,
      strategy_type,
      trailing_delta_bips,
      iceberg_lots,
    });
  }
  order_triggered(order_id: number, account: number, market: number, time_ms: number): void {
    this.events.push({ kind: "order_triggered", order_id, account, market, time_ms });
  }
  order_pegged(
    order_id: number,
    account: number,
    market: number,
    peg_type: number,
    peg_offset_levels: number,
    pegged_price_ticks: number,
    time_ms: number,
  ): void {
    this.events.push({
      kind: "order_pegged",
      order_id,
      account,
      market,
      peg_type,
      peg_offset_levels,
      pegged_price_ticks,
      time_ms,
    });
  }
  trailing_started(
    order_id: number,
    account: number,
    market: number,
    extreme_ticks: number,
    time_ms: number,
  ): void {
    this.events.push({ kind: "trailing_started", order_id, account, market, extreme_ticks, time_ms });
  }
  order_amended(
    order_id: number,
    account: number,
    market: number,
    quantity_lots: number,
    orig_quantity_lots: number,
    client_order_id: string,
    orig_client_order_id: string | null,
    executed_lots: number,
    cumulative_quote_units: number,
    execution_id: number,
    time_ms: number,
  ): void {
    this.events.push({
      kind: "order_amended",
      order_id,
      account,
      market,
      quantity_lots,
      orig_quantity_lots,
      client_order_id,
      orig_client_order_id,
      executed_lots,
      cumulative_quote_units,
      execution_id,
      time_ms,
    });
  }
  order_list(
    list_id: number,
    account: number,
    market: number,
    status: ListStatus,
    list_client_order_id: string,
    above_order_id: number,
    below_order_id: number,
    time_ms: number,
    contingency: Contingency,
    working_order_id: number,
  ): void {
    this.events.push({
      kind: "order_list",
      list_id,
      account,
      market,
      status,
      list_client_order_id,
      above_order_id,
      below_order_id,
      time_ms,
      contingency,
      working_order_id,
    });
  }
  order_activated(
    order_id: number,
    account: number,
    market: number,
    quantity_lots: number,
    time_ms: number,
  ): void {
    this.events.push({ kind: "order_activated", order_id, account, market, quantity_lots, time_ms });
  }
  order_update(
    order_id: number,
    account: number,
    market: number,
    status: OrderStatus,
    executed_lots: number,
    cumulative_quote_units: number,
    end_reason: EndReason,
  ): void {
    this.events.push({
      kind: "order_update",
      order_id,
      account,
      market,
      status,
      executed_lots,
      cumulative_quote_units,
      end_reason,
    });
  }
  trade(
    market: number,
    trade_id: number,
    price_ticks: number,
    quantity_lots: number,
    quote_units: number,
    taker_order_id: number,
    maker_order_id: number,
    taker_account: number,
    maker_account: number,
    taker_side: Side,
    taker_fee_units: number,
    maker_fee_units: number,
    time_ms: number,
  ): void {
    this.events.push({
      kind: "trade",
      market,
      trade_id,
      price_ticks,
      quantity_lots,
      quote_units,
      taker_order_id,
      maker_order_id,
      taker_account,
      maker_account,
      taker_side,
      taker_fee_units,
      maker_fee_units,
      time_ms,
    });
  }
  prevented_match(
    market: number,
    prevented_match_id: number,
    taker_order_id: number,
    maker_order_id: number,
    account: number,
    price_ticks: number,
    taker_prevented_lots: number,
    maker_prevented_lots: number,
    taker_prevented_total_lots: number,
    maker_prevented_total_lots: number,
    stp: StpMode,
    time_ms: number,
  ): void {
    this.events.push({
      kind: "prevented_match",
      market,
      prevented_match_id,
      taker_order_id,
      maker_order_id,
      account,
      price_ticks,
      taker_prevented_lots,
      maker_prevented_lots,
      taker_prevented_total_lots,
      maker_prevented_total_lots,
      stp,
      time_ms,
    });
  }
  balance(account: number, asset: number, free_units: number, locked_units: number): void {
    this.events.push({ kind: "balance", account, asset, free_units, locked_units });
  }
  book(market: number, update_id: number, side: Side, price_ticks: number, quantity_lots: number): void {
    this.events.push({ kind: "book", market, update_id, side, price_ticks, quantity_lots });
  }
  account_created(account: number): void {
    this.events.push({ kind: "account_created", account });
  }
  duplicate_request(request_id: string, result: number): void {
    this.events.push({ kind: "duplicate_request", request_id, result });
  }
  api_key(account: number, api_key: string, added: boolean): void {
    this.events.push({ kind: "api_key", account, api_key, added });
  }
  web_user(account: number, change: WebUserChange): void {
    this.events.push({ kind: "web_user", account, change });
  }
  asset_added(asset: number, name: string): void {
    this.events.push({ kind: "asset_added", asset, name });
  }
  market_added(market: number, symbol: string): void {
    this.events.push({ kind: "market_added", market, symbol });
  }
  market_status(market: number, status: MarketStatus): void {
    this.events.push({ kind: "market_status", market, status });
  }
  exchange_flags(maintenance: boolean, deposits_paused: boolean, withdrawals_paused: boolean): void {
    this.events.push({ kind: "exchange_flags", maintenance, deposits_paused, withdrawals_paused });
  }
  ledger(account: number, asset: number, amount_units: number): void {
    this.events.push({ kind: "ledger", account, asset, amount_units });
  }
  withdrawal(w: Readonly<Withdrawal>, note: string): void {
    this.events.push({ kind: "withdrawal", note, ...w });
  }
  reserves_audit(take: () => ReservesFigures): void {
    this.events.push({ kind: "reserves_audit", ...take() });
  }
}

/** Discards events; subclasses override what they need. */
export class NullSink implements EventSink {
  rejected(_reason: Reason, _detail: string | null): void {}
  order_new(
    _order_id: number,
    _account: number,
    _market: number,
    _side: Side,
    _order_type: OrderType,
    _tif: TimeInForce,
    _price_ticks: number,
    _quantity_lots: number,
    _quote_units: number,
    _stop_price_ticks: number,
    _client_order_id: string | null,
    _time_ms: number,
    _stp: StpMode,
    _strategy_id: number,
    _strategy_type: number,
    _trailing_delta_bips: number,
    _iceberg_lots: number,
  ): void {}
  order_triggered(_order_id: number, _account: number, _market: number, _time_ms: number): void {}
  order_pegged(
    _order_id: number,
    _account: number,
    _market: number,
    _peg_type: number,
    _peg_offset_levels: number,
    _pegged_price_ticks: number,
    _time_ms: number,
  ): void {}
  trailing_started(
    _order_id: number,
    _account: number,
    _market: number,
    _extreme_ticks: number,
    _time_ms: number,
  ): void {}
  order_amended(
    _order_id: number,
    _account: number,
    _market: number,
    _quantity_lots: number,
    _orig_quantity_lots: number,
    _client_order_id: string,
    _orig_client_order_id: string | null,
    _executed_lots: number,
    _cumulative_quote_units: number,
    _execution_id: number,
    _time_ms: number,
  ): void {}
  order_list(
    _list_id: number,
    _account: number,
    _market: number,
    _status: ListStatus,
    _list_client_order_id: string,
    _above_order_id: number,
    _below_order_id: number,
    _time_ms: number,
    _contingency: Contingency,
    _working_order_id: number,
  ): void {}
  order_activated(
    _order_id: number,
    _account: number,
    _market: number,
    _quantity_lots: number,
    _time_ms: number,
  ): void {}
  order_update(
    _order_id: number,
    _account: number,
    _market: number,
    _status: OrderStatus,
    _executed_lots: number,
    _cumulative_quote_units: number,
    _end_reason: EndReason,
  ): void {}
  trade(
    _market: number,
    _trade_id: number,
    _price_ticks: number,
    _quantity_lots: number,
    _quote_units: number,
    _taker_order_id: number,
    _maker_order_id: number,
    _taker_account: number,
    _maker_account: number,
    _taker_side: Side,
    _taker_fee_units: number,
    _maker_fee_units: number,
    _time_ms: number,
  ): void {}
  prevented_match(
    _market: number,
    _prevented_match_id: number,
    _taker_order_id: number,
    _maker_order_id: number,
    _account: number,
    _price_ticks: number,
    _taker_prevented_lots: number,
    _maker_prevented_lots: number,
    _taker_prevented_total_lots: number,
    _maker_prevented_total_lots: number,
    _stp: StpMode,
    _time_ms: number,
  ): void {}
  balance(_account: number, _asset: number, _free_units: number, _locked_units: number): void {}
  book(
    _market: number,
    _update_id: number,
    _side: Side,
    _price_ticks: number,
    _quantity_lots: number,
  ): void {}
  account_created(_account: number): void {}
  duplicate_request(_request_id: string, _result: number): void {}
  api_key(_account: number, _api_key: string, _added: boolean): void {}
  web_user(_account: number, _change: WebUserChange): void {}
  asset_added(_asset: number, _name: string): void {}
  market_added(_market: number, _symbol: string): void {}
  market_status(_market: number, _status: MarketStatus): void {}
  exchange_flags(_maintenance: boolean, _deposits_paused: boolean, _withdrawals_paused: boolean): void {}
  ledger(_account: number, _asset: number, _amount_units: number): void {}
  withdrawal(_w: Readonly<Withdrawal>, _note: string): void {}
  reserves_audit(_take: () => ReservesFigures): void {}
}
