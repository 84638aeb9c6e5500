/**
 * The BTC/USDT setup shared by tests, simulations and benchmarks (the demo has its own, in src/demo):
 * tick 0.01 USDT, step 0.00001 BTC, so one lot at one tick is 10 USDT units of 8 decimals.
 */
import type { AddAsset, AddMarket, PlaceOrder } from "../engine/commands.js";
import {
  MARKET_TRADING,
  type Side,
  STP_NONE,
  type StpMode,
  TIF_GTC,
  type TimeInForce,
  TYPE_LIMIT,
} from "../engine/types.js";

// Functions, not constants: a node takes ownership of the commands it is given (it sets ts_ms).
export function btc_asset(): AddAsset {
  return { type: "add_asset", ts_ms: 0, asset: "BTC", decimals: 8, supply_max_units: 2_100_000_000_000_000 };
}

export function usdt_asset(): AddAsset {
  return { type: "add_asset", ts_ms: 0, asset: "USDT", decimals: 8, supply_max_units: 9_000_000_000_000_000 };
}

export function btcusdt(over: Partial<AddMarket> = {}): AddMarket {
  return {
    type: "add_market",
    ts_ms: 0,
    symbol: "BTCUSDT",
    base: "BTC",
    quote: "USDT",
    tick_size: "0.01",
    step_size: "0.00001",
    min_price: "0.01",
    max_price: "100000",
    min_qty: "0.00001",
    max_qty: "100",
    min_notional: "0.0001",
    maker_fee_ppm: 1000,
    taker_fee_ppm: 2000,
    status: MARKET_TRADING,
    stp_default: STP_NONE,
    ...over,
  };
}

/** A plain LIMIT order command in engine units (no client order id; the market's STP mode unless given). */
export function limit_order(
  account: number,
  market: number,
  side: Side,
  price_ticks: number,
  quantity_lots: number,
  tif: TimeInForce = TIF_GTC,
  stp: StpMode | -1 = -1,
): PlaceOrder {
  return {
    type: "place_order",
    ts_ms: 0,
    account,
    market,
    side,
    order_type: TYPE_LIMIT,
    tif,
    price_ticks,
    quantity_lots,
    quote_units: 0,
    stop_price_ticks: 0,
    client_order_id: null,
    stp,
  };
}
