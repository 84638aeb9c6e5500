/**
 * Binary encoding of engine commands for the journal. Each command starts with the format version
 * and a kind byte; decoding an older version upgrades it (version 1 had no request ids: they decode
 * as null). test/fixtures/journal-v1 is a journal written by version 1 that every build must replay.
 * Decoding is strict: unknown versions or kinds, truncation and trailing bytes are errors, so a
 * corrupted record is refused rather than misread.
 */
import { TIER_DEFAULT } from "../engine/api_keys.js";
import { ByteReader, type ByteWriter } from "../engine/bytes.js";
import {
  CANCEL_ONLY_NEW,
  CANCEL_ONLY_PARTIALLY_FILLED,
  type CancelOrder,
  type CancelReplace,
  type CancelRestriction,
  COMMAND_VERSION,
  type Command,
  LISTEN_KEY_CLOSE,
  type ListenKeyAction,
  type OrderSpec,
  type PlaceOrder,
} from "../engine/commands.js";
import { PRICE_RANGE_KEYS, read_price_range } from "../engine/reference.js";
import {
  type MarketStatus,
  type OrderType,
  PEG_MARKET,
  PEG_OFFSET_MAX,
  PEG_PRIMARY,
  type Side,
  type StpMode,
  type TimeInForce,
} from "../engine/types.js";

const KINDS = [
  "add_asset",
  "add_market",
  "set_market_status",
  "set_exchange_flags",
  "create_account",
  "deposit",
  "withdraw",
  "place_order",
  "cancel_order",
  "cancel_all",
  "cancel_replace",
  "expire_market_orders",
  "add_api_key",
  "revoke_api_key",
  "register_user",
  "set_user_totp",
  "end_user_sessions",
  "amend_order",
  "place_order_list",
  "place_oto",
  "cancel_order_list",
  "set_price_range",
  "set_market_fees",
  "set_account_fees",
  "listen_key",
  "set_limit",
  "reserves_audit",
  "withdraw_request",
  "withdraw_review",
  "withdraw_result",
  "withdraw_policy",
  "withdraw_allowlist",
] as const;
/** A reserves audit names at most this many assets (one byte counts them). */
export const RESERVES_MAX = 255;
const KIND_CODE = new Map<string, number>(KINDS.map((k, i) => [k, i]));

export class CodecError extends Error {
  override name = "CodecError";
}

/** -1 (the market's default STP mode) is stored as 255. */
const stp_byte = (stp: number): number => (stp === -1 ? 255 : stp);
/** An STP mode from a record of `version`: before 7, modes 4 and 5 did not exist (refused then, and now). */
const stp_value = (b: number, version: number): StpMode | -1 =>
  b === 255 ? -1 : ((b > 3 && version < 7 ? STP_NOT_YET : b) as StpMode);
/** An invalid mode the engine refuses, as it refused 4 and 5 before format 7. */
const STP_NOT_YET = 254;
/** A peg type or offset the engine refuses (check_peg): what an out-of-range one is journaled as. */
const PEG_INVALID = 254;

function write_spec(w: ByteWriter, s: OrderSpec): void {
  w.u8(s.side);
  w.u8(s.order_type);
  w.u8(s.tif);
  w.u8(stp_byte(s.stp));
  w.f64(s.price_ticks);
  w.f64(s.quantity_lots);
  w.f64(s.quote_units);
  w.f64(s.stop_price_ticks);
  w.str(s.client_order_id);
  // version 4: which strategy labels follow (one byte for the usual order that has none); version 5:
  // bit 2, a trailing delta follows; version 6: bit 3, an iceberg quantity; version 11: bit 4, a peg
  // (its type, and its offset in price levels or 255 for none)
  const id = s.strategy_id;
  const type = s.strategy_type;
  const delta = s.trailing_delta_bips;
  const iceberg = s.iceberg_lots;
  const peg = s.peg_type;
  w.u8(
    (id === undefined ? 0 : 1) |
      (type === undefined ? 0 : 2) |
      (delta === undefined ? 0 : 4) |
      (iceberg === undefined ? 0 : 8) |
      (peg === undefined ? 0 : 16),
  );
  if (id !== undefined) w.f64(id);
  if (type !== undefined) w.u32(type);
  if (delta !== undefined) w.u32(delta);
  if (iceberg !== undefined) w.f64(iceberg);
  if (peg !== undefined) {
    // one byte each (255: no offset). A value the engine refuses (the validator sends none) is written
    // as one it refuses too (PEG_INVALID), so that a replay decides as the command was decided.
    const offset = s.peg_offset_levels;
    w.u8(peg === PEG_PRIMARY || peg === PEG_MARKET ? peg : PEG_INVALID);
    w.u8(
      offset === undefined
        ? 255
        : Number.isInteger(offset) && offset >= 0 && offset <= PEG_OFFSET_MAX
          ? offset
          : PEG_INVALID,
    );
  }
}

/** Reads an order spec onto `head` (no intermediate object to spread: replay decodes millions). */
function read_spec<T extends object>(
  r: ByteReader,
  head: T,
  version: number,
  reused: boolean,
): T & OrderSpec {
  const o = head as T & OrderSpec;
  o.side = r.u8() as Side;
  o.order_type = r.u8() as OrderType;
  o.tif = r.u8() as TimeInForce;
  o.stp = stp_value(r.u8(), version);
  o.price_ticks = r.f64();
  o.quantity_lots = r.f64();
  o.quote_units = r.f64();
  o.stop_price_ticks = r.f64();
  o.client_order_id = r.str();
  return read_labels(r, o, version, reused);
}

/** A cancel restriction byte: 0 (none) or a CancelRestriction. */
function read_restriction(value: number): CancelRestriction | 0 {
  if (value === 0 || value === CANCEL_ONLY_NEW || value === CANCEL_ONLY_PARTIALLY_FILLED) return value;
  throw new CodecError(`bad cancel restriction ${value}`);
}

/**
 * A spec's strategy labels (version 4 on), trailing delta (5 on), iceberg quantity (6 on) and peg (11
 * on), and the
 * format of a record older than the current one. `always`: set all five, undefined when not given (a reused scratch object must lose the last command's); otherwise only
 * those given, so that a command without them decodes to exactly what was encoded.
 */
function read_labels<T extends OrderSpec>(r: ByteReader, o: T, version: number, always = true): T {
  const labels = version >= 4 ? r.u8() : 0;
  if (labels > (version >= 11 ? 31 : version >= 6 ? 15 : version >= 5 ? 7 : 3))
    throw new CodecError(`bad order spec flags ${labels}`);
  if (always || (labels & 1) !== 0) o.strategy_id = (labels & 1) !== 0 ? r.f64() : undefined;
  if (always || (labels & 2) !== 0) o.strategy_type = (labels & 2) !== 0 ? r.u32() : undefined;
  if (always || (labels & 4) !== 0) o.trailing_delta_bips = (labels & 4) !== 0 ? r.u32() : undefined;
  if (always || (labels & 8) !== 0) o.iceberg_lots = (labels & 8) !== 0 ? r.f64() : undefined;
  if ((labels & 16) !== 0) {
    o.peg_type = r.u8();
    const offset = r.u8();
    if (offset !== 255) o.peg_offset_levels = offset;
    else if (always) o.peg_offset_levels = undefined;
  } else if (always) {
    o.peg_type = undefined;
    o.peg_offset_levels = undefined;
  }
  // an older format's matching rules apply to it (commands.ts, OrderSpec.format)
  if (version < COMMAND_VERSION) o.format = version;
  else if (always) o.format = undefined;
  return o;
}

/** Appends one command's encoding to `w`. */
export function encode_command(w: ByteWriter, c: Command): void {
  const kind = KIND_CODE.get(c.type);
  if (kind === undefined)
    throw new CodecError(`cannot encode command type ${String((c as { type: unknown }).type)}`);
  w.u8(COMMAND_VERSION);
  w.u8(kind);
  w.f64(c.ts_ms);
  switch (c.type) {
    case "add_asset":
      w.str(c.asset);
      w.u32(c.decimals);
      w.f64(c.supply_max_units);
      return;
    case "add_market":
      for (const s of [
        c.symbol,
        c.base,
        c.quote,
        c.tick_size,
        c.step_size,
        c.min_price,
        c.max_price,
        c.min_qty,
        c.max_qty,
        c.min_notional,
      ])
        w.str(s);
      w.u32(c.maker_fee_ppm);
      w.u32(c.taker_fee_ppm);
      w.u8(c.status);
      w.u8(c.stp_default);
      return;
    case "set_market_status":
      w.u32(c.market);
      w.u8(c.status);
      return;
    case "set_exchange_flags":
      w.u8((c.maintenance ? 1 : 0) | (c.deposits_paused ? 2 : 0) | (c.withdrawals_paused ? 4 : 0));
      return;
    case "create_account":
      w.str(c.request_id ?? null);
      return;
    case "deposit":
    case "withdraw":
      w.u32(c.account);
      w.u32(c.asset);
      w.f64(c.amount_units);
      w.str(c.request_id ?? null);
      return;
    case "place_order":
      w.u32(c.account);
      w.u32(c.market);
      write_spec(w, c);
      return;
    case "cancel_order":
      w.u32(c.account);
      w.u32(c.market);
      w.f64(c.order_id);
      w.str(c.client_order_id);
      w.u8(c.restriction ?? 0); // version 4
      return;
    case "cancel_all":
      w.u32(c.account);
      w.u32(c.market);
      return;
    case "amend_order":
      w.u32(c.account);
      w.u32(c.market);
      w.f64(c.order_id);
      w.str(c.client_order_id);
      w.str(c.new_client_order_id);
      w.f64(c.new_quantity_lots);
      return;
    case "cancel_replace":
      w.u32(c.account);
      w.u32(c.market);
      w.f64(c.cancel_order_id);
      w.str(c.cancel_client_order_id);
      // bit 0: allow failure; version 4: bits 1-2, the cancel restriction
      w.u8((c.allow_failure ? 1 : 0) | ((c.cancel_restriction ?? 0) << 1));
      write_spec(w, c.order);
      return;
    case "expire_market_orders":
      w.u32(c.market);
      return;
    case "set_price_range":
      w.u32(c.market);
      for (const key of PRICE_RANGE_KEYS) w.u32(c[key]);
      return;
    case "set_market_fees":
      w.u32(c.market);
      w.u32(c.maker_fee_ppm);
      w.u32(c.taker_fee_ppm);
      return;
    case "set_account_fees":
      // -1 (the market's) is stored as 0: each rate as rate + 1
      w.u32(c.account);
      w.u32(c.maker_fee_ppm + 1);
      w.u32(c.taker_fee_ppm + 1);
      return;
    case "place_order_list":
      w.u32(c.account);
      w.u32(c.market);
      w.str(c.list_client_order_id);
      write_spec(w, c.above);
      write_spec(w, c.below);
      return;
    case "cancel_order_list":
      w.u32(c.account);
      w.u32(c.market);
      w.f64(c.list_id);
      return;
    case "place_oto":
      w.u32(c.account);
      w.u32(c.market);
      w.str(c.list_client_order_id);
      write_spec(w, c.working);
      write_spec(w, c.pending);
      // bit 0: an OTOCO's second pending order follows; bit 1: OPO (the working order pays)
      w.u8((c.pending_below === null ? 0 : 1) | (c.pays === true ? 2 : 0));
      if (c.pending_below !== null) write_spec(w, c.pending_below);
      return;
    case "add_api_key":
      w.u32(c.account);
      w.str(c.api_key);
      w.u8(c.kind);
      w.str(c.material);
      w.u8(c.permissions);
      w.str(c.ip_allow);
      w.str(c.tier);
      return;
    case "revoke_api_key":
      w.u32(c.account);
      w.str(c.api_key);
      return;
    case "register_user":
      w.str(c.email);
      w.str(c.password_hash);
      return;
    case "set_user_totp":
      w.u32(c.account);
      w.str(c.totp_sealed);
      return;
    case "end_user_sessions":
      w.u32(c.account);
      return;
    case "listen_key":
      w.u32(c.account);
      w.u8(c.action);
      w.u32(c.nonce);
      w.u32(c.ttl_ms);
      return;
    case "set_limit":
      w.u8(c.limit);
      w.f64(c.value);
      return;
    case "withdraw_request":
      w.u32(c.account);
      w.u32(c.asset);
      w.f64(c.amount_units);
      w.str(c.address);
      w.str(c.address_tag);
      w.str(c.network);
      w.str(c.client_id);
      return;
    case "withdraw_review":
      w.f64(c.id);
      w.u8(c.approve ? 1 : 0);
      return;
    case "withdraw_result":
      w.f64(c.id);
      w.u8(c.ok ? 1 : 0);
      w.str(c.note);
      return;
    case "withdraw_allowlist":
      w.u32(c.account);
      w.u8(c.action);
      w.str(c.address);
      return;
    case "withdraw_policy":
      w.u32(c.asset);
      w.f64(c.review_min_units);
      w.f64(c.daily_max_units);
      return;
    case "reserves_audit":
      if (c.reserves.length > RESERVES_MAX) throw new CodecError(`more than ${RESERVES_MAX} reserves`);
      w.u8(c.reserves.length);
      for (const r of c.reserves) {
        w.u32(r.asset);
        w.f64(r.units);
      }
      return;
  }
}

/** Decodes exactly one command from `bytes`. */
export function decode_command(bytes: Uint8Array): Command {
  return decode_record(new ByteReader(bytes));
}

/** Decodes exactly one command: all of what `r` has left (see ByteReader.window). */
export function decode_record(r: ByteReader): Command {
  return decode_into(r, null);
}

/**
 * One place_order and one cancel_order object that replay decodes every such command into, instead of
 * a new object per command (10 M commands made ~1.2 GB of garbage). Only for a consumer that is done
 * with each command before the next is decoded and keeps no reference to it: the engine's replay,
 * which reads a command's fields and never stores the object.
 */
export class DecodeScratch {
  readonly place: PlaceOrder = {
    type: "place_order",
    ts_ms: 0,
    account: 0,
    market: 0,
    side: 0,
    order_type: 0,
    tif: 0,
    stp: 0,
    price_ticks: 0,
    quantity_lots: 0,
    quote_units: 0,
    stop_price_ticks: 0,
    client_order_id: null,
    strategy_id: undefined,
    strategy_type: undefined,
    trailing_delta_bips: undefined,
    iceberg_lots: undefined,
    peg_type: undefined,
    peg_offset_levels: undefined,
    format: undefined,
  };
  readonly cancel: CancelOrder = {
    type: "cancel_order",
    ts_ms: 0,
    account: 0,
    market: 0,
    order_id: 0,
    client_order_id: null,
    restriction: undefined,
  };
}

/** As decode_record, but place and cancel orders come back as `scratch`'s objects, overwritten. */
export function decode_record_reusing(r: ByteReader, scratch: DecodeScratch): Command {
  return decode_into(r, scratch);
}

function decode_into(r: ByteReader, scratch: DecodeScratch | null): Command {
  try {
    const version = r.u8();
    if (version < 1 || version > COMMAND_VERSION)
      throw new CodecError(`unknown command format version ${version}`);
    const kind = KINDS[r.u8()];
    if (kind === undefined) throw new CodecError("unknown command kind");
    const ts_ms = r.f64();
    let c: Command;
    if (scratch !== null && kind === "place_order")
      c = read_spec(r, read_head(r, scratch.place, ts_ms), version, true);
    else if (scratch !== null && kind === "cancel_order") {
      const o = read_head(r, scratch.cancel, ts_ms);
      o.order_id = r.f64();
      o.client_order_id = r.str();
      const restriction = version >= 4 ? read_restriction(r.u8()) : 0;
      o.restriction = restriction === 0 ? undefined : restriction;
      c = o;
    } else c = read_body(r, kind, ts_ms, version);
    if (!r.done()) throw new CodecError(`trailing bytes after ${kind}`);
    return c;
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(error instanceof Error ? error.message : String(error));
  }
}

/** The fields place and cancel orders start with, in encoding order. */
function read_head<T extends { ts_ms: number; account: number; market: number }>(
  r: ByteReader,
  o: T,
  ts_ms: number,
): T {
  o.ts_ms = ts_ms;
  o.account = r.u32();
  o.market = r.u32();
  return o;
}

function read_str(r: ByteReader, kind: string): string {
  const s = r.str();
  if (s === null) throw new CodecError(`missing string in ${kind}`);
  return s;
}

function read_body(r: ByteReader, kind: (typeof KINDS)[number], ts_ms: number, version: number): Command {
  // Replay spends its time on place_order and cancel_order: they are read first (no closures).
  // One literal in encoding order (properties are initialised left to right): the object gets its
  // final shape at once instead of growing it field by field.
  if (kind === "place_order")
    return read_labels(
      r,
      {
        type: kind,
        ts_ms,
        account: r.u32(),
        market: r.u32(),
        side: r.u8() as Side,
        order_type: r.u8() as OrderType,
        tif: r.u8() as TimeInForce,
        stp: stp_value(r.u8(), version),
        price_ticks: r.f64(),
        quantity_lots: r.f64(),
        quote_units: r.f64(),
        stop_price_ticks: r.f64(),
        client_order_id: r.str(),
      },
      version,
      false,
    );
  if (kind === "cancel_order") {
    const c: CancelOrder = {
      type: kind,
      ts_ms,
      account: r.u32(),
      market: r.u32(),
      order_id: r.f64(),
      client_order_id: r.str(),
    };
    const restriction = version >= 4 ? read_restriction(r.u8()) : 0;
    if (restriction !== 0) c.restriction = restriction;
    return c;
  }
  const request_id = (): string | null => (version >= 2 ? r.str() : null);
  const str = (): string => read_str(r, kind);
  switch (kind) {
    case "add_asset":
      return { type: kind, ts_ms, asset: str(), decimals: r.u32(), supply_max_units: r.f64() };
    case "add_market": {
      const [
        symbol,
        base,
        quote,
        tick_size,
        step_size,
        min_price,
        max_price,
        min_qty,
        max_qty,
        min_notional,
      ] = Array.from({ length: 10 }, str);
      return {
        type: kind,
        ts_ms,
        symbol,
        base,
        quote,
        tick_size,
        step_size,
        min_price,
        max_price,
        min_qty,
        max_qty,
        min_notional,
        maker_fee_ppm: r.u32(),
        taker_fee_ppm: r.u32(),
        status: r.u8() as MarketStatus,
        stp_default: stp_value(r.u8(), version) as StpMode,
      };
    }
    case "set_market_status":
      return { type: kind, ts_ms, market: r.u32(), status: r.u8() as MarketStatus };
    case "set_exchange_flags": {
      const f = r.u8();
      return {
        type: kind,
        ts_ms,
        maintenance: (f & 1) !== 0,
        deposits_paused: (f & 2) !== 0,
        withdrawals_paused: (f & 4) !== 0,
      };
    }
    case "create_account":
      return { type: kind, ts_ms, request_id: request_id() };
    case "deposit":
    case "withdraw":
      return {
        type: kind,
        ts_ms,
        account: r.u32(),
        asset: r.u32(),
        amount_units: r.f64(),
        request_id: request_id(),
      };
    case "cancel_all":
      return { type: kind, ts_ms, account: r.u32(), market: r.u32() };
    case "amend_order":
      return {
        type: kind,
        ts_ms,
        account: r.u32(),
        market: r.u32(),
        order_id: r.f64(),
        client_order_id: r.str(),
        new_client_order_id: str(),
        new_quantity_lots: r.f64(),
        // an older format's rules for amends apply to it (commands.ts, AmendOrder.format)
        ...(version < COMMAND_VERSION ? { format: version } : {}),
      };
    case "cancel_replace": {
      const head = {
        type: kind,
        ts_ms,
        account: r.u32(),
        market: r.u32(),
        cancel_order_id: r.f64(),
        cancel_client_order_id: r.str(),
      };
      const flags = r.u8();
      if (flags > (version >= 4 ? 7 : 1)) throw new CodecError(`bad cancel-replace flags ${flags}`);
      const restriction = read_restriction(flags >> 1);
      const c: CancelReplace = {
        ...head,
        allow_failure: (flags & 1) === 1,
        order: read_spec(r, {}, version, false),
      };
      if (restriction !== 0) c.cancel_restriction = restriction;
      return c;
    }
    case "expire_market_orders":
      return { type: kind, ts_ms, market: r.u32() };
    case "set_price_range": {
      const market = r.u32();
      return { type: kind, ts_ms, market, ...read_price_range(() => r.u32()) };
    }
    case "set_market_fees":
      return { type: kind, ts_ms, market: r.u32(), maker_fee_ppm: r.u32(), taker_fee_ppm: r.u32() };
    case "set_account_fees":
      return { type: kind, ts_ms, account: r.u32(), maker_fee_ppm: r.u32() - 1, taker_fee_ppm: r.u32() - 1 };
    case "place_order_list":
      return {
        type: kind,
        ts_ms,
        account: r.u32(),
        market: r.u32(),
        list_client_order_id: r.str(),
        above: read_spec(r, {}, version, false),
        below: read_spec(r, {}, version, false),
      };
    case "cancel_order_list":
      return { type: kind, ts_ms, account: r.u32(), market: r.u32(), list_id: r.f64() };
    case "place_oto": {
      const head = { type: kind, ts_ms, account: r.u32(), market: r.u32(), list_client_order_id: r.str() };
      const working = read_spec(r, {}, version, false);
      const pending = read_spec(r, {}, version, false);
      const flags = r.u8();
      if (flags > 3) throw new CodecError(`bad OTO flags ${flags}`);
      const pending_below = (flags & 1) === 1 ? read_spec(r, {}, version, false) : null;
      return { ...head, working, pending, pending_below, ...((flags & 2) === 2 ? { pays: true } : {}) };
    }
    case "add_api_key":
      return {
        type: kind,
        ts_ms,
        account: r.u32(),
        api_key: str(),
        kind: r.u8(),
        material: str(),
        permissions: r.u8(),
        ip_allow: r.str() ?? "",
        tier: version >= 3 ? str() : TIER_DEFAULT,
      };
    case "revoke_api_key":
      return { type: kind, ts_ms, account: r.u32(), api_key: str() };
    case "register_user":
      return { type: kind, ts_ms, email: str(), password_hash: str() };
    case "set_user_totp":
      return { type: kind, ts_ms, account: r.u32(), totp_sealed: r.str() ?? "" };
    case "end_user_sessions":
      return { type: kind, ts_ms, account: r.u32() };
    case "listen_key": {
      const account = r.u32();
      const action = r.u8();
      if (action > LISTEN_KEY_CLOSE) throw new CodecError(`bad listen key action ${action}`);
      return {
        type: kind,
        ts_ms,
        account,
        action: action as ListenKeyAction,
        nonce: r.u32(),
        ttl_ms: r.u32(),
      };
    }
    case "set_limit":
      return { type: kind, ts_ms, limit: r.u8(), value: r.f64() };
    case "withdraw_request":
      return {
        type: kind,
        ts_ms,
        account: r.u32(),
        asset: r.u32(),
        amount_units: r.f64(),
        address: str(),
        address_tag: str(),
        network: str(),
        client_id: str(),
      };
    case "withdraw_review":
      return { type: kind, ts_ms, id: r.f64(), approve: r.u8() === 1 };
    case "withdraw_result":
      return { type: kind, ts_ms, id: r.f64(), ok: r.u8() === 1, note: str() };
    case "withdraw_allowlist":
      return { type: kind, ts_ms, account: r.u32(), action: r.u8(), address: str() };
    case "withdraw_policy":
      return {
        type: kind,
        ts_ms,
        asset: r.u32(),
        review_min_units: r.f64(),
        daily_max_units: r.f64(),
      };
    case "reserves_audit": {
      const n = r.u8();
      const reserves: { asset: number; units: number }[] = [];
      for (let i = 0; i < n; i++) reserves.push({ asset: r.u32(), units: r.f64() });
      return { type: kind, ts_ms, reserves };
    }
  }
}
