/** Demo assets and markets, shared by the engine demo and (later) the demo server. */
import type { Command } from "../engine/commands.js";
import { DEMO_PRICE_RANGE } from "../engine/reference.js";
import { MARKET_TRADING, STP_EXPIRE_MAKER } from "../engine/types.js";

export const DEMO_SETUP: Command[] = [
  { type: "add_asset", ts_ms: 0, asset: "BTC", decimals: 8, supply_max_units: 2_100_000_000_000_000 },
  { type: "add_asset", ts_ms: 0, asset: "ETH", decimals: 8, supply_max_units: 9_000_000_000_000_000 },
  { type: "add_asset", ts_ms: 0, asset: "USDT", decimals: 8, supply_max_units: 9_000_000_000_000_000 },
  {
    type: "add_market",
    ts_ms: 0,
    symbol: "BTCUSDT",
    base: "BTC",
    quote: "USDT",
    tick_size: "0.01",
    step_size: "0.00001",
    min_price: "0.01",
    max_price: "1000000",
    min_qty: "0.00001",
    max_qty: "9",
    min_notional: "5",
    maker_fee_ppm: 1000,
    taker_fee_ppm: 1000,
    status: MARKET_TRADING,
    stp_default: STP_EXPIRE_MAKER,
  },
  {
    type: "add_market",
    ts_ms: 0,
    symbol: "ETHUSDT",
    base: "ETH",
    quote: "USDT",
    tick_size: "0.01",
    step_size: "0.0001",
    min_price: "0.01",
    max_price: "100000",
    min_qty: "0.0001",
    max_qty: "500",
    min_notional: "5",
    maker_fee_ppm: 1000,
    taker_fee_ppm: 1000,
    status: MARKET_TRADING,
    stp_default: STP_EXPIRE_MAKER,
  },
  {
    type: "add_market",
    ts_ms: 0,
    symbol: "ETHBTC",
    base: "ETH",
    quote: "BTC",
    tick_size: "0.00001",
    step_size: "0.001",
    min_price: "0.00001",
    max_price: "100",
    min_qty: "0.001",
    max_qty: "1000",
    min_notional: "0.0001",
    maker_fee_ppm: 1000,
    taker_fee_ppm: 1000,
    status: MARKET_TRADING,
    stp_default: STP_EXPIRE_MAKER,
  },
  // Binance's Price Range Execution Rule on every market (engine/reference.ts): takers trade only
  // within 0.85-1.15 × the mean trade price of the last five minutes (80 buckets of 3,750 ms), the
  // values Binance Cloud venues show; a fat-fingered market order cannot sweep a thin book
  ...[0, 1, 2].map(
    (market): Command => ({
      type: "set_price_range",
      ts_ms: 0,
      market,
      ...DEMO_PRICE_RANGE,
    }),
  ),
];

/** Where the demo market maker starts each market's mid (in ticks) on a fresh data directory. */
export const DEMO_MIDS_TICKS: Record<string, number> = {
  BTCUSDT: 6_500_000,
  ETHUSDT: 250_000,
  ETHBTC: 3_850,
};
