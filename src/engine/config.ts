/**
 * Engine limits, assets and market configuration. A market is accepted only if no arithmetic on a
 * valid order can overflow or lose precision: every notional is price_ticks * quantity_lots *
 * quote_units_per_tick_lot, an exact integer no larger than 2^53 - 1.
 */
import { UNITS_MAX } from "./assert.js";
import type { AddAsset, AddMarket } from "./commands.js";
import { decimal_div_exact, type ParsedDecimal, parse_decimal } from "./decimal.js";
import { MARKET_STATUS_NAMES, type MarketStatus, STP_NAMES, type StpMode } from "./types.js";

export interface EngineLimits {
  /** Live orders (resting and stop) engine-wide; order storage is reserved for this many. */
  orders_max: number;
  /** Order slots reserved at start (capped at orders_max); beyond that storage doubles on demand. */
  orders_preallocated: number;
  accounts_max: number;
  assets_max: number;
  markets_max: number;
  /** Price levels per side of one book. */
  levels_per_side_max: number;
  /** Binance MAX_NUM_ORDERS: open orders per account in one market. */
  open_orders_per_account_market_max: number;
  /** Binance EXCHANGE_MAX_NUM_ORDERS: open orders per account in all markets. */
  open_orders_per_account_max: number;
  /** Binance MAX_NUM_ALGO_ORDERS: untriggered stop orders per account in one market. */
  stop_orders_per_account_market_max: number;
  stop_orders_per_market_max: number;
  /**
   * Untriggered trailing stops per market (they count among the stop orders too). A trade that
   * moves any of them costs a pass over all of them (trailing.ts), so this bounds that pass.
   */
  trailing_orders_per_market_max: number;
  /**
   * Binance MAX_NUM_ICEBERG_ORDERS: open iceberg orders (resting, or stop-limit icebergs not yet
   * triggered) per account in one market. Counted by a pass over the account's open orders there
   * when an iceberg is placed (bounded by open_orders_per_account_market_max).
   */
  iceberg_orders_per_account_market_max: number;
  /**
   * Binance's PERCENT_PRICE_BY_SIDE filter (against the market's reference price, else its last
   * price: avgPriceMins 0), in parts per million: a buy's limit price within [p × bid_down, p ×
   * bid_up], a sell's within [p × ask_down, p × ask_up]. Stops a mistyped price from sweeping the book.
   */
  percent_price_bid_up_ppm: number;
  percent_price_bid_down_ppm: number;
  percent_price_ask_up_ppm: number;
  percent_price_ask_down_ppm: number;
  /** Client order ids remembered engine-wide and per account (finished orders included). */
  client_ids_retained_max: number;
  client_ids_per_account_max: number;
  /** How long (command time) a client order id stays reserved; at least 24 hours. */
  client_id_retention_ms: number;
  /** Request ids (create_account, deposit, withdraw) remembered; they share the client id window. */
  request_ids_retained_max: number;
  /** Longest client order id, request id and asset/symbol names accepted (command size limits). */
  client_order_id_length_max: number;
  request_id_length_max: number;
  name_length_max: number;
  /** API keys engine-wide and per account (Binance allows 30 per account). */
  api_keys_max: number;
  api_keys_per_account_max: number;
}

export const DAY_MS = 86_400_000;
/** Parts per million in one (the percent price multipliers' unit). */
export const PPM = 1_000_000;

export const DEFAULT_LIMITS: Readonly<EngineLimits> = {
  orders_max: 2_000_000,
  orders_preallocated: 65_536,
  accounts_max: 1_000_000,
  assets_max: 256,
  markets_max: 1024,
  levels_per_side_max: 10_000,
  open_orders_per_account_market_max: 200,
  open_orders_per_account_max: 1000,
  stop_orders_per_account_market_max: 5,
  stop_orders_per_market_max: 100_000,
  trailing_orders_per_market_max: 10_000,
  iceberg_orders_per_account_market_max: 100,
  // Binance's BTCUSDT: 5 and 0.2 both ways
  percent_price_bid_up_ppm: 5_000_000,
  percent_price_bid_down_ppm: 200_000,
  percent_price_ask_up_ppm: 5_000_000,
  percent_price_ask_down_ppm: 200_000,
  client_ids_retained_max: 4_000_000,
  client_ids_per_account_max: 200_000,
  client_id_retention_ms: DAY_MS,
  request_ids_retained_max: 1_000_000,
  client_order_id_length_max: 36,
  request_id_length_max: 100,
  api_keys_max: 1_000_000,
  api_keys_per_account_max: 30,
  name_length_max: 20,
};

export function validate_limits(limits: EngineLimits): string | null {
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) return `limit ${key} must be a positive integer`;
  }
  if (limits.client_id_retention_ms < DAY_MS) return "client_id_retention_ms must be at least 24 hours";
  if (limits.orders_max > 2 ** 30) return "orders_max must be at most 2^30";
  if (limits.levels_per_side_max > 2 ** 24) return "levels_per_side_max must be at most 2^24";
  for (const side of ["bid", "ask"] as const) {
    const up = limits[`percent_price_${side}_up_ppm`];
    const down = limits[`percent_price_${side}_down_ppm`];
    if (!(up >= PPM && up <= 1_000 * PPM)) return `percent_price_${side}_up_ppm must be 1,000,000 to 10^9`;
    if (!(down <= PPM)) return `percent_price_${side}_down_ppm must be at most 1,000,000`;
  }
  return null;
}

export interface Asset {
  readonly id: number;
  readonly name: string;
  readonly decimals: number;
  readonly supply_max_units: number;
}

/** Market configuration in engine units, derived once from the decimal filters. */
export interface MarketConfig {
  readonly symbol: string;
  readonly base: number;
  readonly quote: number;
  readonly tick_size: string;
  readonly step_size: string;
  readonly min_price_ticks: number;
  readonly max_price_ticks: number;
  readonly min_qty_lots: number;
  readonly max_qty_lots: number;
  readonly min_notional_units: number;
  /** Base units in one lot (step_size * 10^base_decimals). */
  readonly lot_units: number;
  /** Quote units of one lot at a price of one tick (tick_size * step_size * 10^quote_decimals). */
  readonly quote_units_per_tick_lot: number;
  readonly maker_fee_ppm: number;
  readonly taker_fee_ppm: number;
  readonly stp_default: StpMode;
  readonly add_market: AddMarket;
}

export const NAME_RE = /^[A-Z0-9]{1,20}$/;
export const FEE_PPM_MAX = 100_000; // 10%: a fee above that is a configuration mistake.
/** Binance's usual fee, 0.1%: what a listing gets when the operator names none (admin add-market). */
export const FEE_PPM_DEFAULT = 1000;

export function validate_asset(cmd: AddAsset, limits: EngineLimits): string | null {
  if (typeof cmd.asset !== "string" || !NAME_RE.test(cmd.asset) || cmd.asset.length > limits.name_length_max)
    return "asset name must be 1-20 characters A-Z 0-9";
  if (!Number.isInteger(cmd.decimals) || cmd.decimals < 0 || cmd.decimals > 18)
    return "decimals must be an integer 0..18";
  if (!Number.isSafeInteger(cmd.supply_max_units) || cmd.supply_max_units < 1)
    return "supply_max_units must be a positive integer at most 2^53-1";
  return null;
}

type Built = { ok: true; config: MarketConfig } | { ok: false; error: string };

/** Validates an add_market command against its assets and derives the integer configuration. */
export function build_market(cmd: AddMarket, base: Asset | undefined, quote: Asset | undefined): Built {
  const fail = (error: string): Built => ({ ok: false, error });
  if (typeof cmd.symbol !== "string" || !NAME_RE.test(cmd.symbol))
    return fail("symbol must be 1-20 characters A-Z 0-9");
  if (base === undefined) return fail(`unknown base asset ${cmd.base}`);
  if (quote === undefined) return fail(`unknown quote asset ${cmd.quote}`);
  if (base.id === quote.id) return fail("base and quote must differ");
  const tick = parse_decimal(String(cmd.tick_size));
  const step = parse_decimal(String(cmd.step_size));
  if (tick === null || tick.digits === 0n) return fail("tick_size must be a positive decimal");
  if (step === null || step.digits === 0n) return fail("step_size must be a positive decimal");
  const lot_units = step.digits * 10n ** BigInt(base.decimals);
  const lot_scale = 10n ** BigInt(step.scale);
  if (lot_units % lot_scale !== 0n) return fail("step_size is finer than the base asset's precision");
  // notional of one lot at one tick, in quote units: tick * step * 10^quote_decimals
  const k_top = tick.digits * step.digits * 10n ** BigInt(quote.decimals);
  const k_bottom = 10n ** BigInt(tick.scale + step.scale);
  if (k_top % k_bottom !== 0n)
    return fail(
      "tick_size * step_size is finer than the quote asset's precision (notional would not be exact)",
    );
  const k = k_top / k_bottom;
  const ticks = (text: string, what: string): bigint | string => {
    const parsed = parse_decimal(String(text));
    if (parsed === null) return `${what} must be a decimal`;
    const n = decimal_div_exact(parsed, tick);
    return n === null ? `${what} must be a multiple of tick_size` : n;
  };
  const lots = (text: string, what: string): bigint | string => {
    const parsed = parse_decimal(String(text));
    if (parsed === null) return `${what} must be a decimal`;
    const n = decimal_div_exact(parsed, step);
    return n === null ? `${what} must be a multiple of step_size` : n;
  };
  const min_price = ticks(cmd.min_price, "min_price");
  const max_price = ticks(cmd.max_price, "max_price");
  const min_qty = lots(cmd.min_qty, "min_qty");
  const max_qty = lots(cmd.max_qty, "max_qty");
  for (const v of [min_price, max_price, min_qty, max_qty]) if (typeof v === "string") return fail(v);
  const [p0, p1, q0, q1] = [min_price, max_price, min_qty, max_qty] as bigint[];
  // Binance's 0 disables a bound; Holdfast needs bounds for its overflow proof, so 0 means "one step".
  if (p0 < 1n || q0 < 1n) return fail("min_price and min_qty must be at least one tick / one step");
  if (p1 < p0 || q1 < q0) return fail("max must not be below min");
  const notional_max = p1 * q1 * k;
  if (notional_max > BigInt(UNITS_MAX))
    return fail("max_price * max_qty overflows 2^53-1 quote units; lower max_price or max_qty");
  if (q1 * (lot_units / lot_scale) > BigInt(UNITS_MAX)) return fail("max_qty overflows 2^53-1 base units");
  if (notional_max > BigInt(quote.supply_max_units) * 1000n)
    return fail("max notional is far beyond the quote asset's supply limit");
  const notional = parse_decimal(String(cmd.min_notional));
  if (notional === null) return fail("min_notional must be a decimal");
  if (notional.scale > quote.decimals) return fail("min_notional is finer than the quote asset's precision");
  const min_notional_units = notional.digits * 10n ** BigInt(quote.decimals - notional.scale);
  if (min_notional_units > notional_max) return fail("min_notional is above the largest possible order");
  for (const [name, fee] of [
    ["maker_fee_ppm", cmd.maker_fee_ppm],
    ["taker_fee_ppm", cmd.taker_fee_ppm],
  ] as const) {
    if (!Number.isInteger(fee) || fee < 0 || fee > FEE_PPM_MAX)
      return fail(`${name} must be an integer 0..${FEE_PPM_MAX}`);
  }
  if (!Number.isInteger(cmd.status) || MARKET_STATUS_NAMES[cmd.status] === undefined)
    return fail("unknown status");
  if (!Number.isInteger(cmd.stp_default) || STP_NAMES[cmd.stp_default] === undefined)
    return fail("unknown stp_default");
  return {
    ok: true,
    config: {
      symbol: cmd.symbol,
      base: base.id,
      quote: quote.id,
      tick_size: String(cmd.tick_size),
      step_size: String(cmd.step_size),
      min_price_ticks: Number(p0),
      max_price_ticks: Number(p1),
      min_qty_lots: Number(q0),
      max_qty_lots: Number(q1),
      min_notional_units: Number(min_notional_units),
      lot_units: Number(lot_units / lot_scale),
      quote_units_per_tick_lot: Number(k),
      maker_fee_ppm: cmd.maker_fee_ppm,
      taker_fee_ppm: cmd.taker_fee_ppm,
      stp_default: cmd.stp_default as StpMode,
      add_market: cmd,
    },
  };
}

export function market_status_valid(status: number): status is MarketStatus {
  return Number.isInteger(status) && MARKET_STATUS_NAMES[status] !== undefined;
}

/**
 * Tick and step sizes parsed, by their text: every price and quantity an answer or a stream prints
 * went through parse_decimal again (a third of the ~650 ns a price and a quantity took). Bounded:
 * sizes beyond PARSED_SIZES_MAX distinct texts are parsed each time.
 */
const parsed_sizes = new Map<string, { parsed: ParsedDecimal; digits: number } | null>();
const PARSED_SIZES_MAX = 4096;

/** A size's digits as a number too: most products of a count and a size are safe integers. */
function parsed_size(text: string): { parsed: ParsedDecimal; digits: number } | null {
  let size = parsed_sizes.get(text);
  if (size === undefined) {
    const parsed = parse_decimal(text);
    size = parsed === null ? null : { parsed, digits: Number(parsed.digits) };
    if (parsed_sizes.size < PARSED_SIZES_MAX) parsed_sizes.set(text, size);
  }
  return size;
}

/** `count` × a size, as text: in exact float64 integers when the product is safe, else BigInt. */
function sized_text(count: number | bigint, size: { parsed: ParsedDecimal; digits: number }): string {
  if (typeof count === "number") {
    const product = count * size.digits;
    if (Number.isSafeInteger(product) && product >= 0)
      return scaled_digits(String(product), size.parsed.scale);
  }
  return scaled_text(BigInt(count) * size.parsed.digits, size.parsed.scale);
}

/** Price in ticks as Binance prints it (the tick size's number of decimals). */
export function price_text(cfg: MarketConfig, price_ticks: number): string {
  const tick = parsed_size(cfg.tick_size);
  if (tick === null) return String(price_ticks);
  return sized_text(price_ticks, tick);
}

/**
 * A price in ticks with four more decimals (a reference price: reference.ts) as a decimal, cut (not
 * rounded) to `places` decimals at most.
 */
export function price_e4_text(cfg: MarketConfig, price_e4: number, places: number): string {
  const tick = parsed_size(cfg.tick_size);
  if (tick === null) return String(price_e4);
  const scale = tick.parsed.scale + 4;
  let digits = BigInt(price_e4) * tick.parsed.digits;
  let shown = scale;
  if (scale > places) {
    digits /= 10n ** BigInt(scale - places);
    shown = places;
  }
  return scaled_text(digits, shown);
}

/** Quantity in lots as Binance prints it (the step size's number of decimals). */
export function quantity_text(cfg: MarketConfig, quantity_lots: number | bigint): string {
  const step = parsed_size(cfg.step_size);
  if (step === null) return String(quantity_lots);
  return sized_text(quantity_lots, step);
}

export function scaled_text(value: bigint, scale: number): string {
  return scaled_digits(value.toString(), scale);
}

/** Non-negative integer digits with a point `scale` digits from the right. */
function scaled_digits(digits: string, scale: number): string {
  if (scale === 0) return digits;
  const padded = digits.padStart(scale + 1, "0");
  return `${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`;
}
