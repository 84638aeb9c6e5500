/**
 * The stateless order validator: Binance Spot order parameters (strings, as they arrive in a query
 * string or form body) checked against a market's configuration and turned into an engine OrderSpec
 * in integer units. Anything that fails here never reaches the journal (DESIGN invariant 6) and gets
 * Binance's own {code, msg}. It uses the same MarketConfig as the engine, whose check_spec repeats the
 * range checks as a safety net.
 */
import { type OrderSpec, STRATEGY_TYPE_MAX, STRATEGY_TYPE_MIN } from "../engine/commands.js";
import type { MarketConfig } from "../engine/config.js";
import { decimal_div_exact, parse_decimal } from "../engine/decimal.js";
import { CLIENT_ORDER_ID_RE } from "../engine/engine.js";
import { ICEBERG_PARTS_MAX } from "../engine/orders.js";
import { TRAILING_DELTA_MAX_BIPS, TRAILING_DELTA_MIN_BIPS } from "../engine/trailing.js";
import {
  has_limit_price,
  is_stop_type,
  ORDER_TYPE_NAMES,
  type OrderType,
  PEG_OFFSET_MAX,
  PEG_PRIMARY,
  PEG_TYPE_NAMES,
  SIDE_BUY,
  SIDE_SELL,
  STP_NAMES,
  type StpMode,
  TIF_GTC,
  TIF_NAMES,
  type TimeInForce,
  TYPE_LIMIT,
  TYPE_LIMIT_MAKER,
  TYPE_MARKET,
} from "../engine/types.js";

export interface BinanceError {
  code: number;
  msg: string;
}

export type Validated = { ok: true; spec: OrderSpec } | { ok: false; error: BinanceError };

/** What the validator needs to know about a market besides its configuration. */
export interface MarketFacts {
  config: MarketConfig;
  base_decimals: number;
  quote_decimals: number;
}

export const DECIMAL_PATTERN = "^([0-9]{1,20})(\\.[0-9]{1,20})?$";
export const CLIENT_ORDER_ID_PATTERN = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$";

export const errors = {
  mandatory: (name: string): BinanceError => ({
    code: -1102,
    msg: `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`,
  }),
  not_required: (name: string): BinanceError => ({
    code: -1106,
    msg: `Parameter '${name}' sent when not required.`,
  }),
  illegal: (name: string, pattern: string): BinanceError => ({
    code: -1100,
    msg: `Illegal characters found in parameter '${name}'; legal range is '${pattern}'.`,
  }),
  precision: (): BinanceError => ({
    code: -1111,
    msg: "Precision is over the maximum defined for this asset.",
  }),
  filter: (name: string): BinanceError => ({ code: -1013, msg: `Filter failure: ${name}` }),
  side: (): BinanceError => ({ code: -1117, msg: "Invalid side." }),
  type: (): BinanceError => ({ code: -1116, msg: "Invalid orderType." }),
  tif: (): BinanceError => ({ code: -1115, msg: "Invalid timeInForce." }),
  stp: (): BinanceError => ({ code: -1100, msg: "Invalid selfTradePreventionMode." }),
  /** A new order the matching engine refuses, with Binance's message (-2010 NEW_ORDER_REJECTED). */
  rejected: (msg: string): BinanceError => ({ code: -2010, msg }),
};

type Params = Readonly<Record<string, string | undefined>>;

/** Parameters an order may carry; the API layer checks its own (symbol, timestamp, signature, ...). */
export const ORDER_PARAMS = new Set([
  "side",
  "type",
  "timeInForce",
  "quantity",
  "quoteOrderQty",
  "price",
  "newClientOrderId",
  "stopPrice",
  "selfTradePreventionMode",
  // an iceberg order's part shown at a time (GTC orders with a limit price)
  "icebergQty",
  // a STOP_LOSS / TAKE_PROFIT (+_LIMIT) order's trailing delta in bips: a trailing stop
  "trailingDelta",
  // labels a client gives its order; kept and shown with it (GET order, openOrders, executionReport)
  "strategyId",
  "strategyType",
  // Binance's pegged orders: a limit price taken from the book (PRIMARY_PEG / MARKET_PEG), that many
  // price levels deeper (pegOffsetType PRICE_LEVEL, pegOffsetValue)
  "pegPriceType",
  "pegOffsetValue",
  "pegOffsetType",
]);

const present = (p: Params, name: string): boolean => p[name] !== undefined && p[name] !== "";

type Num = { ok: true; value: number } | { ok: false; error: BinanceError };

/** A decimal parameter as a whole number of `step`s, or Binance's error. */
function steps(p: Params, name: string, step_text: string, decimals: number, filter: string): Num {
  const text = p[name] as string;
  const parsed = parse_decimal(text);
  if (parsed === null) return { ok: false, error: errors.illegal(name, DECIMAL_PATTERN) };
  if (parsed.scale > decimals) return { ok: false, error: errors.precision() };
  const step = parse_decimal(step_text);
  if (step === null) return { ok: false, error: errors.filter(filter) };
  const n = decimal_div_exact(parsed, step);
  if (n === null || n > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, error: errors.filter(filter) };
  return { ok: true, value: Number(n) };
}

/**
 * An amend's newQty (PUT order/amend/keepPriority) as lots: a decimal on the market's step within
 * LOT_SIZE, or Binance's error. Whether it is below the order's quantity is the engine's to say.
 */
export function validate_new_quantity(
  params: Params,
  market: MarketFacts,
): { ok: true; lots: number } | { ok: false; error: BinanceError } {
  if (!present(params, "newQty")) return { ok: false, error: errors.mandatory("newQty") };
  const cfg = market.config;
  const r = steps(params, "newQty", cfg.step_size, market.base_decimals, "LOT_SIZE");
  if (!r.ok) return r;
  if (r.value < cfg.min_qty_lots || r.value > cfg.max_qty_lots)
    return { ok: false, error: errors.filter("LOT_SIZE") };
  return { ok: true, lots: r.value };
}

export function validate_order(params: Params, market: MarketFacts): Validated {
  const fail = (error: BinanceError): Validated => ({ ok: false, error });
  const cfg = market.config;
  for (const name of ["side", "type"]) if (!present(params, name)) return fail(errors.mandatory(name));
  const side = params.side === "BUY" ? SIDE_BUY : params.side === "SELL" ? SIDE_SELL : -1;
  if (side === -1) return fail(errors.side());
  const type = (ORDER_TYPE_NAMES as readonly string[]).indexOf(params.type as string) as OrderType | -1;
  if (type === -1) return fail(errors.type());
  const limit_priced = has_limit_price(type);
  const stop = is_stop_type(type);
  const needs_tif = limit_priced && type !== TYPE_LIMIT_MAKER;
  let tif: TimeInForce = TIF_GTC;
  if (needs_tif) {
    if (!present(params, "timeInForce")) return fail(errors.mandatory("timeInForce"));
    const t = (TIF_NAMES as readonly string[]).indexOf(params.timeInForce as string);
    if (t === -1) return fail(errors.tif());
    tif = t as TimeInForce;
  } else if (present(params, "timeInForce")) {
    return fail(errors.not_required("timeInForce"));
  }

  // A trailing stop (before stopPrice: it needs none). Binance's TRAILING_DELTA filter, the same
  // bounds both ways here (exchangeInfo lists them).
  let trailing_delta_bips: number | undefined;
  if (present(params, "trailingDelta")) {
    const text = params.trailingDelta as string;
    if (!/^[0-9]{1,19}$/.test(text)) return fail(errors.illegal("trailingDelta", "^[0-9]{1,19}$"));
    if (!stop) return fail(errors.not_required("trailingDelta"));
    const bips = Number(text);
    if (bips < TRAILING_DELTA_MIN_BIPS || bips > TRAILING_DELTA_MAX_BIPS)
      return fail(errors.filter("TRAILING_DELTA"));
    trailing_delta_bips = bips;
  }

  const peg = read_peg(params, type);
  if (!peg.ok) return fail(peg.error);
  const pegged = peg.peg_type !== undefined;
  // Binance: LIMIT_MAKER only PRIMARY_PEG, a PRIMARY_PEG LIMIT only GTC (the engine's message)
  if (
    (type === TYPE_LIMIT_MAKER && pegged && peg.peg_type !== PEG_PRIMARY) ||
    (type === TYPE_LIMIT && peg.peg_type === PEG_PRIMARY && tif !== TIF_GTC)
  )
    return fail(errors.rejected("Unsupported order combination"));

  let price_ticks = 0;
  // a pegged order's price is optional: the engine takes one from the book (if sent, both must pass)
  if (limit_priced && !(pegged && !present(params, "price"))) {
    if (!present(params, "price")) return fail(errors.mandatory("price"));
    const r = steps(params, "price", cfg.tick_size, market.quote_decimals, "PRICE_FILTER");
    if (!r.ok) return fail(r.error);
    price_ticks = r.value;
    if (price_ticks < cfg.min_price_ticks || price_ticks > cfg.max_price_ticks)
      return fail(errors.filter("PRICE_FILTER"));
  } else if (present(params, "price")) {
    return fail(errors.not_required("price"));
  }

  let stop_price_ticks = 0;
  if (stop && (trailing_delta_bips === undefined || present(params, "stopPrice"))) {
    if (!present(params, "stopPrice"))
      return fail({
        code: -1102,
        msg: "Param 'stopPrice' or 'trailingDelta' must be sent, but both were empty/null!",
      });
    const r = steps(params, "stopPrice", cfg.tick_size, market.quote_decimals, "PRICE_FILTER");
    if (!r.ok) return fail(r.error);
    stop_price_ticks = r.value;
    if (stop_price_ticks < cfg.min_price_ticks || stop_price_ticks > cfg.max_price_ticks)
      return fail(errors.filter("PRICE_FILTER"));
  } else if (present(params, "stopPrice")) {
    return fail(errors.not_required("stopPrice"));
  }

  let quantity_lots = 0;
  let quote_units = 0;
  const lot_filter = type === TYPE_MARKET ? "MARKET_LOT_SIZE" : "LOT_SIZE";
  if (type === TYPE_MARKET && present(params, "quoteOrderQty")) {
    if (present(params, "quantity")) return fail(errors.not_required("quoteOrderQty"));
    const parsed = parse_decimal(params.quoteOrderQty as string);
    if (parsed === null) return fail(errors.illegal("quoteOrderQty", DECIMAL_PATTERN));
    if (parsed.scale > market.quote_decimals) return fail(errors.precision());
    const units = parsed.digits * 10n ** BigInt(market.quote_decimals - parsed.scale);
    const max = BigInt(cfg.max_price_ticks) * BigInt(cfg.max_qty_lots) * BigInt(cfg.quote_units_per_tick_lot);
    if (units === 0n || units < BigInt(cfg.min_notional_units) || units > max)
      return fail(errors.filter("NOTIONAL"));
    quote_units = Number(units);
  } else {
    if (present(params, "quoteOrderQty")) return fail(errors.not_required("quoteOrderQty"));
    if (!present(params, "quantity")) return fail(errors.mandatory("quantity"));
    const r = steps(params, "quantity", cfg.step_size, market.base_decimals, lot_filter);
    if (!r.ok) return fail(r.error);
    quantity_lots = r.value;
    if (quantity_lots < cfg.min_qty_lots || quantity_lots > cfg.max_qty_lots)
      return fail(errors.filter(lot_filter));
    if (
      limit_priced &&
      price_ticks > 0 &&
      price_ticks * quantity_lots * cfg.quote_units_per_tick_lot < cfg.min_notional_units
    )
      return fail(errors.filter("NOTIONAL"));
  }

  // An iceberg order: a GTC order with a limit price, showing icebergQty (on the LOT_SIZE step) at a
  // time, less than its quantity, in at most ICEBERG_PARTS parts. Binance's matching-engine messages.
  let iceberg_lots: number | undefined;
  if (present(params, "icebergQty")) {
    const r = steps(params, "icebergQty", cfg.step_size, market.base_decimals, "LOT_SIZE");
    if (!r.ok) return fail(r.error);
    if (!limit_priced || (needs_tif && tif !== TIF_GTC))
      return fail(errors.rejected("Unsupported order combination"));
    if (r.value < cfg.min_qty_lots) return fail(errors.filter("LOT_SIZE"));
    if (r.value >= quantity_lots) return fail(errors.rejected("IcebergQty exceeds QTY."));
    if (Math.ceil(quantity_lots / r.value) > ICEBERG_PARTS_MAX) return fail(errors.filter("ICEBERG_PARTS"));
    iceberg_lots = r.value;
  }

  let client_order_id: string | null = null;
  if (present(params, "newClientOrderId")) {
    const cid = params.newClientOrderId as string;
    if (!CLIENT_ORDER_ID_RE.test(cid))
      return fail(errors.illegal("newClientOrderId", CLIENT_ORDER_ID_PATTERN));
    client_order_id = cid;
  }

  // Binance's LONG strategyId (here within what an exact integer holds) and INT strategyType (not
  // below 1,000,000: smaller values are Binance's own, -1134)
  let strategy_id: number | undefined;
  if (present(params, "strategyId")) {
    const text = params.strategyId as string;
    const n = Number(text);
    if (!/^[0-9]{1,16}$/.test(text) || !Number.isSafeInteger(n))
      return fail(errors.illegal("strategyId", `0 - ${Number.MAX_SAFE_INTEGER}`));
    strategy_id = n;
  }
  let strategy_type: number | undefined;
  if (present(params, "strategyType")) {
    const text = params.strategyType as string;
    if (!/^-?[0-9]{1,10}$/.test(text) || Number(text) > STRATEGY_TYPE_MAX)
      return fail(errors.illegal("strategyType", `${STRATEGY_TYPE_MIN} - ${STRATEGY_TYPE_MAX}`));
    if (Number(text) < STRATEGY_TYPE_MIN)
      return fail({ code: -1134, msg: "strategyType was less than 1000000." });
    strategy_type = Number(text);
  }

  let stp: StpMode | -1 = -1;
  if (present(params, "selfTradePreventionMode")) {
    const s = (STP_NAMES as readonly string[]).indexOf(params.selfTradePreventionMode as string);
    if (s === -1) return fail(errors.stp());
    stp = s as StpMode;
  }

  return {
    ok: true,
    spec: {
      side: side as 0 | 1,
      order_type: type,
      tif,
      price_ticks,
      quantity_lots,
      quote_units,
      stop_price_ticks,
      client_order_id,
      stp,
      // only when given: an order without labels is the same command as before they existed
      ...(strategy_id === undefined ? {} : { strategy_id }),
      ...(strategy_type === undefined ? {} : { strategy_type }),
      ...(trailing_delta_bips === undefined ? {} : { trailing_delta_bips }),
      ...(iceberg_lots === undefined ? {} : { iceberg_lots }),
      ...(peg.peg_type === undefined ? {} : { peg_type: peg.peg_type }),
      ...(peg.peg_offset_levels === undefined ? {} : { peg_offset_levels: peg.peg_offset_levels }),
    },
  };
}

type Peg =
  | { ok: true; peg_type: number | undefined; peg_offset_levels: number | undefined }
  | { ok: false; error: BinanceError };

/**
 * Binance's peg parameters (rest-api.md, "Notes on using parameters for Pegged Orders"): pegPriceType
 * PRIMARY_PEG or MARKET_PEG, for LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT orders;
 * pegOffsetType (only PRICE_LEVEL) and pegOffsetValue (at most 100) together or not at all.
 */
function read_peg(params: Params, type: OrderType): Peg {
  const fail = (error: BinanceError): Peg => ({ ok: false, error });
  const has_type = present(params, "pegPriceType");
  const has_offset_type = present(params, "pegOffsetType");
  const has_offset = present(params, "pegOffsetValue");
  if (!has_type) {
    for (const name of ["pegOffsetType", "pegOffsetValue"])
      if (present(params, name)) return fail(errors.not_required(name));
    return { ok: true, peg_type: undefined, peg_offset_levels: undefined };
  }
  const peg_type = PEG_TYPE_NAMES.indexOf(params.pegPriceType as (typeof PEG_TYPE_NAMES)[number]);
  if (peg_type < PEG_PRIMARY) return fail(errors.illegal("pegPriceType", "PRIMARY_PEG, MARKET_PEG"));
  if (!has_limit_price(type)) return fail(errors.not_required("pegPriceType"));
  if (has_offset_type !== has_offset)
    return fail({
      code: -1128,
      msg: "Fields [pegOffsetType, pegOffsetValue] must be sent together or omitted entirely.",
    });
  if (!has_offset) return { ok: true, peg_type, peg_offset_levels: undefined };
  if (params.pegOffsetType !== "PRICE_LEVEL") return fail(errors.illegal("pegOffsetType", "PRICE_LEVEL"));
  const text = params.pegOffsetValue as string;
  if (!/^[0-9]{1,3}$/.test(text) || Number(text) > PEG_OFFSET_MAX)
    return fail(errors.illegal("pegOffsetValue", `0 - ${PEG_OFFSET_MAX}`));
  return { ok: true, peg_type, peg_offset_levels: Number(text) };
}
