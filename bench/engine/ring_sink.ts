/**
 * The benchmark's event sink: encodes every event into a preallocated ring of numbers, as the node's
 * output stage would before fan-out. The engine thus does all of its work, events included, without
 * the benchmark measuring object allocation it would never do in production.
 */
import type { EventSink, ReservesFigures, WebUserChange } from "../../src/engine/events.js";
import type { Reason } from "../../src/engine/reasons.js";
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
} from "../../src/engine/types.js";
import type { Withdrawal } from "../../src/engine/withdrawals.js";

const RING = 1 << 16;

export class RingSink implements EventSink {
  readonly ring = new Float64Array(RING);
  at = 0;
  events = 0;
  trades = 0;
  rejects = 0;

  /** Index where a record of n numbers starts; records never straddle the end of the ring. */
  private reserve(n: number): number {
    let at = this.at;
    if (at + n > RING) at = 0;
    this.at = at + n;
    return at;
  }
  rejected(reason: Reason, _detail: string | null): void {
    this.events++;
    this.rejects++;
    const r = this.ring;
    const at = this.reserve(2);
    r[at] = 1;
    r[at + 1] = reason;
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
    _client_order_id: string | null,
    time_ms: number,
    stp: StpMode,
  ): void {
    this.events++;
    const r = this.ring;
    const at = this.reserve(10);
    r[at] = 2;
    r[at + 1] = order_id;
    r[at + 2] = account;
    r[at + 3] = market;
    r[at + 4] = side | (order_type << 1) | (tif << 4) | (stp << 6);
    r[at + 5] = price_ticks;
    r[at + 6] = quantity_lots;
    r[at + 7] = quote_units;
    r[at + 8] = stop_price_ticks;
    r[at + 9] = time_ms;
  }
  order_triggered(order_id: number, account: number, market: number, time_ms: number): void {
    this.events++;
    const r = this.ring;
    const at = this.reserve(5);
    r[at] = 3;
    r[at + 1] = order_id;
    r[at + 2] = account;
    r[at + 3] = market;
    r[at + 4] = time_ms;
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
    this.events++;
    const r = this.ring;
    const at = this.reserve(8);
    r[at] = 20;
    r[at + 1] = order_id;
    r[at + 2] = account;
    r[at + 3] = market;
    r[at + 4] = peg_type;
    r[at + 5] = peg_offset_levels;
    r[at + 6] = pegged_price_ticks;
    r[at + 7] = time_ms;
  }
  trailing_started(
    order_id: number,
    account: number,
    market: number,
    extreme_ticks: number,
    time_ms: number,
  ): void {
    this.events++;
    const r = this.ring;
    const at = this.reserve(6);
    r[at] = 16;
    r[at + 1] = order_id;
    r[at + 2] = account;
    r[at + 3] = market;
    r[at + 4] = extreme_ticks;
    r[at + 5] = time_ms;
  }
  order_list(
    list_id: number,
    account: number,
    market: number,
    status: ListStatus,
    _list_client_order_id: string,
    above_order_id: number,
    below_order_id: number,
    time_ms: number,
    contingency: Contingency,
    working_order_id: number,
  ): void {
    this.events++;
    const r = this.ring;
    const at = this.reserve(10);
    r[at] = 17;
    r[at + 1] = list_id;
    r[at + 2] = account;
    r[at + 3] = market;
    r[at + 4] = status;
    r[at + 5] = above_order_id;
    r[at + 6] = below_order_id;
    r[at + 7] = time_ms;
    r[at + 8] = contingency;
    r[at + 9] = working_order_id;
  }
  order_activated(
    order_id: number,
    account: number,
    market: number,
    quantity_lots: number,
    time_ms: number,
  ): void {
    this.events++;
    const r = this.ring;
    const at = this.reserve(6);
    r[at] = 18;
    r[at + 1] = order_id;
    r[at + 2] = account;
    r[at + 3] = market;
    r[at + 4] = quantity_lots;
    r[at + 5] = time_ms;
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
    this.events++;
    const r = this.ring;
    const at = this.reserve(7);
    r[at] = 4;
    r[at + 1] = order_id;
    r[at + 2] = account;
    r[at + 3] = market;
    r[at + 4] = status | (end_reason << 3);
    r[at + 5] = executed_lots;
    r[at + 6] = cumulative_quote_units;
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
    this.events++;
    this.trades++;
    const r = this.ring;
    const at = this.reserve(14);
    r[at] = 5;
    r[at + 1] = market;
    r[at + 2] = trade_id;
    r[at + 3] = price_ticks;
    r[at + 4] = quantity_lots;
    r[at + 5] = quote_units;
    r[at + 6] = taker_order_id;
    r[at + 7] = maker_order_id;
    r[at + 8] = taker_account;
    r[at + 9] = maker_account;
    r[at + 10] = taker_side;
    r[at + 11] = taker_fee_units;
    r[at + 12] = maker_fee_units;
    r[at + 13] = time_ms;
  }
  balance(account: number, asset: number, free_units: number, locked_units: number): void {
    this.events++;
    const r = this.ring;
    const at = this.reserve(5);
    r[at] = 6;
    r[at + 1] = account;
    r[at + 2] = asset;
    r[at + 3] = free_units;
    r[at + 4] = locked_units;
  }
  book(market: number, update_id: number, side: Side, price_ticks: number, quantity_lots: number): void {
    this.events++;
    const r = this.ring;
    const at = this.reserve(6);
    r[at] = 7;
    r[at + 1] = market;
    r[at + 2] = update_id;
    r[at + 3] = side;
    r[at + 4] = price_ticks;
    r[at + 5] = quantity_lots;
  }
  duplicate_request(_request_id: string, _result: number): void {}
  api_key(_account: number, _api_key: string, _added: boolean): void {}
  web_user(_account: number, _change: WebUserChange): void {}
  account_created(account: number): void {
    const r = this.ring;
    const at = this.reserve(2);
    r[at] = 8;
    r[at + 1] = account;
  }
  asset_added(asset: number, _name: string): void {
    const r = this.ring;
    const at = this.reserve(2);
    r[at] = 9;
    r[at + 1] = asset;
  }
  market_added(market: number, _symbol: string): void {
    const r = this.ring;
    const at = this.reserve(2);
    r[at] = 10;
    r[at + 1] = market;
  }
  market_status(market: number, status: MarketStatus): void {
    const r = this.ring;
    const at = this.reserve(3);
    r[at] = 11;
    r[at + 1] = market;
    r[at + 2] = status;
  }
  exchange_flags(maintenance: boolean, deposits_paused: boolean, withdrawals_paused: boolean): void {
    const r = this.ring;
    const at = this.reserve(2);
    r[at] = 12;
    r[at + 1] = (maintenance ? 1 : 0) | (deposits_paused ? 2 : 0) | (withdrawals_paused ? 4 : 0);
  }
  order_amended(
    order_id: number,
    account: number,
    market: number,
    quantity_lots: number,
    orig_quantity_lots: number,
    _client_order_id: string,
    _orig_client_order_id: string | null,
    executed_lots: number,
    cumulative_quote_units: number,
    execution_id: number,
    time_ms: number,
  ): void {
    this.events++;
    const r = this.ring;
    const at = this.reserve(10);
    r[at] = 15;
    r[at + 1] = order_id;
    r[at + 2] = account;
    r[at + 3] = market;
    r[at + 4] = quantity_lots;
    r[at + 5] = orig_quantity_lots;
    r[at + 6] = executed_lots;
    r[at + 7] = cumulative_quote_units;
    r[at + 8] = execution_id;
    r[at + 9] = time_ms;
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
    this.events++;
    const r = this.ring;
    const at = this.reserve(13);
    r[at] = 14;
    r[at + 1] = market;
    r[at + 2] = prevented_match_id;
    r[at + 3] = taker_order_id;
    r[at + 4] = maker_order_id;
    r[at + 5] = account;
    r[at + 6] = price_ticks;
    r[at + 7] = taker_prevented_lots;
    r[at + 8] = maker_prevented_lots;
    r[at + 9] = taker_prevented_total_lots;
    r[at + 10] = maker_prevented_total_lots;
    r[at + 11] = stp;
    r[at + 12] = time_ms;
  }
  ledger(account: number, asset: number, amount_units: number): void {
    const r = this.ring;
    const at = this.reserve(4);
    r[at] = 13;
    r[at + 1] = account;
    r[at + 2] = asset;
    r[at + 3] = amount_units;
  }
  /** Not in any workload (an operator's audit): nothing to encode. */
  reserves_audit(_take: () => ReservesFigures): void {}
  withdrawal(_w: Readonly<Withdrawal>, _note: string): void {}
}
