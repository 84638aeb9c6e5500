/**
 * Snapshot and state hash. A snapshot is a canonical binary encoding of the engine's logical state:
 * limits, assets, markets with their books in priority order (levels best first, orders in queue
 * order), stop lists, accounts, ledger totals and the client-order-id and request-id retention
 * windows, API keys and web users. Older versions (1: before request ids and keys; 2: before key tiers;
 * 3: before web users; 4: before prevented-match ids, which then start from 0, accounts' update
 * times, then 0 until their next change, and orders' strategy labels; 5: before trailing stops; 6:
 * before iceberg orders; 7: before prevented quantities, the iceberg limit and order lists; 8:
 * before OTO order lists and their waiting pending orders; 9: before pegged orders and the percent
 * price limits; 10: before markets' price ranges, reference.ts; 11: before accounts' own fees;
 * 12: before listen keys) still restore. Slot numbers
 * are not recorded, so two engines in the same logical state encode to the same bytes; the state
 * hash is SHA-256 of those bytes. restore(snapshot(e)) behaves exactly as e on every later command.
 */
import { createHash } from "node:crypto";
import { type KeyKind, TIER_DEFAULT } from "./api_keys.js";
import { assert } from "./assert.js";
import type { BookSide } from "./book.js";
import { ByteReader as Reader, ByteWriter as Writer } from "./bytes.js";
import type { AddMarket } from "./commands.js";
import type { EngineLimits } from "./config.js";
import {
  Engine,
  type RestoredOrder,
  WHERE_BOOK,
  WHERE_STOPS,
  WHERE_TRAILING,
  WHERE_WAITING,
} from "./engine.js";
import type { EventSink } from "./events.js";
import { PRICE_RANGE_KEYS, PriceRange, read_price_range } from "./reference.js";
import {
  CONTINGENCY_OCO,
  CONTINGENCY_OTO,
  type Contingency,
  type OrderType,
  type Side,
  type StpMode,
  type TimeInForce,
} from "./types.js";

const MAGIC = 0x48465331; // "HFS1"
export const SNAPSHOT_VERSION = 15;

const LIMIT_KEYS: (keyof EngineLimits)[] = [
  "orders_max",
  "orders_preallocated",
  "accounts_max",
  "assets_max",
  "markets_max",
  "levels_per_side_max",
  "open_orders_per_account_market_max",
  "open_orders_per_account_max",
  "stop_orders_per_account_market_max",
  "stop_orders_per_market_max",
  "client_ids_retained_max",
  "client_ids_per_account_max",
  "client_id_retention_ms",
  "client_order_id_length_max",
  "name_length_max",
];
/** Limits added by version 6; an older snapshot gets their defaults. */
const LIMIT_KEYS_V6: (keyof EngineLimits)[] = ["trailing_orders_per_market_max"];
/** Limits added by version 8; an older snapshot gets their defaults. */
const LIMIT_KEYS_V8: (keyof EngineLimits)[] = ["iceberg_orders_per_account_market_max"];
/** Limits added by version 10; an older snapshot gets their defaults. */
const LIMIT_KEYS_V10: (keyof EngineLimits)[] = [
  "percent_price_bid_up_ppm",
  "percent_price_bid_down_ppm",
  "percent_price_ask_up_ppm",
  "percent_price_ask_down_ppm",
];
/** Limits added by version 2; a version 1 snapshot gets their defaults. */
const LIMIT_KEYS_V2: (keyof EngineLimits)[] = [
  "request_ids_retained_max",
  "request_id_length_max",
  "api_keys_max",
  "api_keys_per_account_max",
];

function write_order(w: Writer, e: Engine, slot: number, where: number): void {
  const o = e.orders;
  w.f64(o.id(slot));
  w.u32(o.account(slot));
  w.u32(o.market(slot));
  w.u8(o.side(slot));
  w.u8(o.type(slot));
  w.u8(o.tif(slot));
  w.u8(o.stp(slot));
  w.u8(o.triggered(slot));
  w.u8(where);
  w.f64(o.price_ticks(slot));
  w.f64(o.stop_price_ticks(slot));
  w.f64(o.quantity_lots(slot));
  w.f64(o.quote_units(slot));
  w.f64(o.executed_lots(slot));
  w.f64(o.cumulative_quote_units(slot));
  w.f64(o.locked_units(slot));
  w.f64(o.time_ms(slot));
  w.str(o.client_order_id(slot));
  // version 5: the order's strategy labels, flagged (-1 inside: one of the two not given)
  const labels = o.strategy(slot);
  w.u8(labels === null ? 0 : 1);
  if (labels !== null) {
    w.f64(labels[0]);
    w.f64(labels[1]);
  }
  // version 6: a trailing stop's state, flagged
  const trail = o.trail(slot);
  w.u8(trail === undefined ? 0 : 1);
  if (trail !== undefined) {
    w.u32(trail.delta_bips);
    w.f64(trail.time_ms);
    w.f64(trail.extreme_ticks);
    w.f64(trail.lock_price_ticks);
  }
  // version 7: an iceberg order's state, flagged
  const ice = o.iceberg(slot);
  w.u8(ice === undefined ? 0 : 1);
  if (ice !== undefined) {
    w.f64(ice.display_lots);
    w.f64(ice.visible_lots);
  }
  // version 8: the quantity self-trade prevention (DECREMENT) has taken, flagged (almost every order: none)
  const prevented = o.prevented_lots(slot);
  w.u8(prevented === 0 ? 0 : 1);
  if (prevented !== 0) w.f64(prevented);
  // and the order list it is in, flagged
  const list_id = o.list_id(slot);
  w.u8(list_id === 0 ? 0 : 1);
  if (list_id !== 0) w.f64(list_id);
  // version 10: a pegged order's peg, flagged
  const peg = o.peg(slot);
  w.u8(peg === undefined ? 0 : 1);
  if (peg !== undefined) {
    w.u8(peg.type);
    w.u8(peg.offset_levels === -1 ? 255 : peg.offset_levels);
    w.f64(peg.sent_price_ticks);
    w.u8(peg.pegged ? 1 : 0);
  }
}

function read_order(r: Reader, version: number): RestoredOrder {
  const o: RestoredOrder = {
    id: r.f64(),
    account: r.u32(),
    market: r.u32(),
    side: r.u8() as Side,
    type: r.u8() as OrderType,
    tif: r.u8() as TimeInForce,
    stp: r.u8() as StpMode,
    triggered: r.u8() === 1,
    where: r.u8(),
    price_ticks: r.f64(),
    stop_price_ticks: r.f64(),
    quantity_lots: r.f64(),
    quote_units: r.f64(),
    executed_lots: r.f64(),
    cumulative_quote_units: r.f64(),
    locked_units: r.f64(),
    time_ms: r.f64(),
    client_order_id: r.str(),
  };
  if (version >= 5 && r.u8() === 1) {
    const id = r.f64();
    const type = r.f64();
    if (id !== -1) o.strategy_id = id;
    if (type !== -1) o.strategy_type = type;
  }
  if (version >= 6 && r.u8() === 1) {
    o.trail = { delta_bips: r.u32(), time_ms: r.f64(), extreme_ticks: r.f64(), lock_price_ticks: r.f64() };
  }
  if (version >= 7 && r.u8() === 1) o.iceberg = { display_lots: r.f64(), visible_lots: r.f64() };
  if (version >= 8 && r.u8() === 1) o.prevented_lots = r.f64();
  if (version >= 8 && r.u8() === 1) o.list_id = r.f64();
  if (version >= 10 && r.u8() === 1) {
    const type = r.u8();
    const offset = r.u8();
    o.peg = {
      type,
      offset_levels: offset === 255 ? -1 : offset,
      sent_price_ticks: r.f64(),
      pegged: r.u8() === 1,
    };
  }
  const where_max = version >= 9 ? WHERE_WAITING : version >= 6 ? WHERE_TRAILING : WHERE_STOPS;
  if (o.where > where_max) throw new Error(`bad order place ${o.where}`);
  // (a waiting pending order may be a trailing stop not filed yet)
  if (o.where !== WHERE_WAITING && (o.where === WHERE_TRAILING) !== (o.trail !== undefined && !o.triggered))
    throw new Error(`order ${o.id}: trailing state and list disagree`);
  return o;
}

function book_orders(e: Engine, book: BookSide): number[] {
  const out: number[] = [];
  for (let i = book.count - 1; i >= 0; i--) {
    for (let s = e.levels.head[book.levels[i]]; s !== 0; s = e.orders.next(s)) out.push(s);
  }
  return out;
}

/** Encodes the engine's whole logical state. */
export function snapshot(e: Engine): Uint8Array {
  const w = new Writer();
  w.u32(MAGIC);
  w.u32(SNAPSHOT_VERSION);
  for (const key of LIMIT_KEYS) w.f64(e.limits[key]);
  for (const key of LIMIT_KEYS_V2) w.f64(e.limits[key]);
  for (const key of LIMIT_KEYS_V6) w.f64(e.limits[key]);
  for (const key of LIMIT_KEYS_V8) w.f64(e.limits[key]);
  for (const key of LIMIT_KEYS_V10) w.f64(e.limits[key]);
  w.f64(e.now_ms);
  w.f64(e.next_order_id);
  w.f64(e.commands_applied);
  w.u8((e.maintenance ? 1 : 0) | (e.deposits_paused ? 2 : 0) | (e.withdrawals_paused ? 4 : 0));
  w.u32(e.assets.length);
  e.assets.forEach((a, i) => {
    w.str(a.name);
    w.u32(a.decimals);
    w.f64(a.supply_max_units);
    const t = e.asset_totals[i];
    w.f64(t.deposits_units);
    w.f64(t.withdrawals_units);
    w.f64(t.fees_units);
  });
  w.u32(e.accounts.length);
  for (let i = 0; i < e.accounts.length; i++) {
    for (let a = 0; a < e.assets.length; a++) {
      w.f64(e.ledger.free(i, a));
      w.f64(e.ledger.locked(i, a));
    }
    w.f64(e.ledger.updated_ms(i));
  }
  w.u32(e.markets.length);
  for (const m of e.markets) {
    w.str(JSON.stringify(m.config.add_market));
    w.u8(m.status);
    w.f64(m.last_price_ticks);
    w.f64(m.next_trade_id);
    w.f64(m.book_update_id);
    w.f64(m.next_prevented_match_id);
    for (const list of [book_orders(e, m.bids), book_orders(e, m.asks)]) {
      w.u32(list.length);
      for (const s of list) write_order(w, e, s, WHERE_BOOK);
    }
    for (const list of [m.stops.rising, m.stops.falling]) {
      w.u32(list.length);
      for (const s of list) write_order(w, e, s, WHERE_STOPS);
    }
    assert(m.trailing.fired.length === 0, "a snapshot between commands has no fired trailing stop");
    w.u32(m.trailing.slots.length);
    for (const s of m.trailing.slots) write_order(w, e, s, WHERE_TRAILING);
    // version 9: the market's pending orders waiting for their OTO's working order, oldest first
    const waiting = [...e.waiting]
      .map((id) => e.orders.by_id.get(id))
      .filter((s) => e.orders.market(s) === m.id)
      .sort((a, b) => e.orders.id(a) - e.orders.id(b));
    w.u32(waiting.length);
    for (const s of waiting) write_order(w, e, s, WHERE_WAITING);
    // version 11: the reference price calculation, its rule and its buckets (slot order: the ring's)
    const range = m.price_range;
    w.u8(range === null ? 0 : 1);
    if (range !== null) {
      for (const key of PRICE_RANGE_KEYS) w.f64(range.config[key]);
      for (let i = 0; i < range.open_ms.length; i++) {
        w.f64(range.open_ms[i]);
        w.f64(range.trades[i]);
        w.f64(range.sum_ticks[i]);
      }
    }
  }
  w.u32(e.client_ids.size);
  for (const c of e.client_ids.entries()) {
    w.u32(c.account);
    w.str(c.client_id);
    w.f64(c.order_id);
    w.f64(c.time_ms);
  }
  w.u32(e.request_ids.size);
  for (const q of e.request_ids.entries()) {
    w.str(q.request_id);
    w.f64(q.result);
    w.f64(q.time_ms);
  }
  w.u32(e.api_keys.by_key.size);
  for (const k of e.api_keys.entries()) {
    w.str(k.api_key);
    w.u32(k.account);
    w.u8(k.kind);
    w.str(k.material);
    w.u8(k.permissions);
    w.str(k.ip_allow);
    w.str(k.tier);
    w.f64(k.created_ms);
  }
  w.u32(e.web_users.size);
  for (const u of e.web_users.entries()) {
    w.str(u.email);
    w.u32(u.account);
    w.str(u.password_hash);
    w.str(u.totp_sealed);
    w.f64(u.session_epoch);
    w.f64(u.created_ms);
  }
  // version 8: order lists: the next id, and the pending ones, oldest first (version 9: with their
  // kind, working order and whether they wait for it)
  w.f64(e.next_order_list_id);
  const lists = [...e.order_lists.values()].sort((a, b) => a.id - b.id);
  w.u32(lists.length);
  for (const l of lists) {
    w.f64(l.id);
    w.u32(l.account);
    w.u32(l.market);
    w.str(l.client_id);
    w.f64(l.above_id);
    w.f64(l.below_id);
    w.f64(l.time_ms);
    w.u8(l.contingency);
    w.f64(l.working_id);
    w.u8((l.waiting ? 1 : 0) | (l.pays ? 2 : 0));
  }
  // version 12: accounts' own fees, by account (not the map's order: a restored engine's differs)
  const own_fees = [...e.account_fees].sort((a, b) => a[0] - b[0]);
  w.u32(own_fees.length);
  for (const [account, f] of own_fees) {
    w.u32(account);
    w.f64(f.maker_fee_ppm);
    w.f64(f.taker_fee_ppm);
  }
  // version 13: accounts' listen keys (nonce, expiry), by account
  const listen_keys = [...e.listen_keys].sort((a, b) => a[0] - b[0]);
  w.u32(listen_keys.length);
  for (const [account, k] of listen_keys) {
    w.u32(account);
    w.f64(k.nonce);
    w.f64(k.expires_ms);
  }
  // version 14: users' withdrawals: the next id, policies by asset, pending ones oldest first, and
  // each account's last 24 hours (for the daily limit), by account
  const wd = e.withdrawals;
  w.f64(wd.next_id);
  const policies = [...wd.policies].sort((a, b) => a[0] - b[0]);
  w.u32(policies.length);
  for (const [asset, p] of policies) {
    w.u32(asset);
    w.f64(p.review_min_units);
    w.f64(p.daily_max_units);
  }
  w.u32(wd.pending.size);
  for (const p of wd.pending.values()) {
    w.f64(p.id);
    w.u32(p.account);
    w.u32(p.asset);
    w.f64(p.amount_units);
    w.str(p.address);
    w.str(p.address_tag);
    w.str(p.network);
    w.str(p.client_id);
    w.f64(p.requested_ms);
    w.u8(p.status);
    w.u8(p.held);
  }
  const recent = [...wd.recent].sort((a, b) => a[0] - b[0]);
  w.u32(recent.length);
  for (const [account, list] of recent) {
    w.u32(account);
    w.u32(list.length);
    for (const r of list) {
      w.f64(r.id);
      w.u32(r.asset);
      w.f64(r.amount_units);
      w.f64(r.requested_ms);
      w.str(r.client_id);
    }
  }
  // version 15: accounts' address allow-lists, by account, addresses in code-unit order
  const allowlists = [...wd.allowlists].sort((a, b) => a[0] - b[0]);
  w.u32(allowlists.length);
  for (const [account, list] of allowlists) {
    w.u32(account);
    w.u8(list.on ? 1 : 0);
    w.f64(list.off_ms);
    const addresses = [...list.addresses].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    w.u32(addresses.length);
    for (const [address, added_ms] of addresses) {
      w.str(address);
      w.f64(added_ms);
    }
  }
  return w.bytes().slice();
}

/** SHA-256 of the snapshot encoding, hex. */
export function state_hash(e: Engine): string {
  return createHash("sha256").update(snapshot(e)).digest("hex");
}

/** Rebuilds an engine from a snapshot; `sink` receives the events of later commands. */
export function restore(bytes: Uint8Array, sink?: EventSink): Engine {
  const r = new Reader(bytes);
  if (r.u32() !== MAGIC) throw new Error("not a Holdfast engine snapshot");
  const version = r.u32();
  if (version < 1 || version > SNAPSHOT_VERSION) throw new Error(`unsupported snapshot version ${version}`);
  const limits: Partial<EngineLimits> = {};
  for (const key of LIMIT_KEYS) limits[key] = r.f64();
  if (version >= 2) for (const key of LIMIT_KEYS_V2) limits[key] = r.f64();
  if (version >= 6) for (const key of LIMIT_KEYS_V6) limits[key] = r.f64();
  if (version >= 8) for (const key of LIMIT_KEYS_V8) limits[key] = r.f64();
  if (version >= 10) for (const key of LIMIT_KEYS_V10) limits[key] = r.f64();
  // Building the configuration replays add_asset/add_market; their events are not wanted.
  const e = new Engine(limits);
  const now_ms = r.f64();
  const next_order_id = r.f64();
  const commands_applied = r.f64();
  const flags = r.u8();
  const asset_count = r.u32();
  for (let i = 0; i < asset_count; i++) {
    const name = r.str() ?? "";
    const decimals = r.u32();
    const supply_max_units = r.f64();
    e.apply({ type: "add_asset", ts_ms: 0, asset: name, decimals, supply_max_units });
    assert(e.assets.length === i + 1, `snapshot asset ${name} does not rebuild`);
    const t = e.asset_totals[i];
    t.deposits_units = r.f64();
    t.withdrawals_units = r.f64();
    t.fees_units = r.f64();
  }
  const account_count = r.u32();
  for (let i = 0; i < account_count; i++) {
    e.apply({ type: "create_account", ts_ms: 0 });
    for (let a = 0; a < asset_count; a++) {
      const free = r.f64();
      e.ledger.set_balance(i, a, free, r.f64());
    }
    if (version >= 5) e.ledger.set_updated_ms(i, r.f64());
  }
  const market_count = r.u32();
  for (let i = 0; i < market_count; i++) {
    const add = JSON.parse(r.str() ?? "null") as AddMarket;
    e.apply(add);
    assert(e.markets.length === i + 1, `snapshot market ${add.symbol} does not rebuild`);
    const m = e.markets[i];
    m.status = r.u8() as AddMarket["status"];
    m.last_price_ticks = r.f64();
    m.next_trade_id = r.f64();
    m.book_update_id = r.f64();
    if (version >= 5) m.next_prevented_match_id = r.f64();
    for (let list = 0; list < (version >= 9 ? 6 : version >= 6 ? 5 : 4); list++) {
      const n = r.u32();
      for (let j = 0; j < n; j++) e.restore_order(read_order(r, version));
    }
    if (version >= 11 && r.u8() === 1) {
      const range = new PriceRange(read_price_range(() => r.f64()));
      for (let b = 0; b < range.open_ms.length; b++) range.set_bucket(b, r.f64(), r.f64(), r.f64());
      m.price_range = range;
    }
  }
  const cids = r.u32();
  for (let i = 0; i < cids; i++) {
    const account = r.u32();
    const client_id = r.str() ?? "";
    const order_id = r.f64();
    const time_ms = r.f64();
    e.restore_client_id(account, client_id, order_id, time_ms);
  }
  const rids = version >= 2 ? r.u32() : 0;
  for (let i = 0; i < rids; i++) {
    const request_id = r.str() ?? "";
    const result = r.f64();
    e.request_ids.add(request_id, result, r.f64());
  }
  const keys = version >= 2 ? r.u32() : 0;
  for (let i = 0; i < keys; i++) {
    e.restore_api_key({
      api_key: r.str() ?? "",
      account: r.u32(),
      kind: r.u8() as KeyKind,
      material: r.str() ?? "",
      permissions: r.u8(),
      ip_allow: r.str() ?? "",
      tier: version >= 3 ? (r.str() ?? TIER_DEFAULT) : TIER_DEFAULT,
      created_ms: r.f64(),
    });
  }
  const users = version >= 4 ? r.u32() : 0;
  for (let i = 0; i < users; i++) {
    e.restore_web_user({
      email: r.str() ?? "",
      account: r.u32(),
      password_hash: r.str() ?? "",
      totp_sealed: r.str() ?? "",
      session_epoch: r.f64(),
      created_ms: r.f64(),
    });
  }
  if (version >= 8) {
    e.next_order_list_id = r.f64();
    const lists = r.u32();
    for (let i = 0; i < lists; i++) {
      const list = {
        id: r.f64(),
        account: r.u32(),
        market: r.u32(),
        client_id: r.str(),
        above_id: r.f64(),
        below_id: r.f64(),
        time_ms: r.f64(),
        contingency: CONTINGENCY_OCO as Contingency,
        working_id: 0,
        waiting: false,
        pays: false,
      };
      if (version >= 9) {
        const contingency = r.u8();
        if (contingency !== CONTINGENCY_OCO && contingency !== CONTINGENCY_OTO)
          throw new Error(`order list ${list.id}: bad kind ${contingency}`);
        list.contingency = contingency;
        list.working_id = r.f64();
        const flags = r.u8();
        if (flags > 3) throw new Error(`order list ${list.id}: bad flags ${flags}`);
        list.waiting = (flags & 1) === 1;
        list.pays = (flags & 2) === 2;
      }
      e.restore_order_list(list);
    }
  }
  const own_fees = version >= 12 ? r.u32() : 0;
  for (let i = 0; i < own_fees; i++)
    e.account_fees.set(r.u32(), { maker_fee_ppm: r.f64(), taker_fee_ppm: r.f64() });
  const listen_keys = version >= 13 ? r.u32() : 0;
  for (let i = 0; i < listen_keys; i++) e.listen_keys.set(r.u32(), { nonce: r.f64(), expires_ms: r.f64() });
  if (version >= 14) {
    const wd = e.withdrawals;
    wd.next_id = r.f64();
    const policies = r.u32();
    for (let i = 0; i < policies; i++)
      wd.policies.set(r.u32(), { review_min_units: r.f64(), daily_max_units: r.f64() });
    const pending = r.u32();
    for (let i = 0; i < pending; i++)
      wd.restore_pending({
        id: r.f64(),
        account: r.u32(),
        asset: r.u32(),
        amount_units: r.f64(),
        address: r.str() ?? "",
        address_tag: r.str() ?? "",
        network: r.str() ?? "",
        client_id: r.str() ?? "",
        requested_ms: r.f64(),
        status: r.u8(),
        held: r.u8(),
      });
    const accounts = r.u32();
    for (let i = 0; i < accounts; i++) {
      const account = r.u32();
      const n = r.u32();
      const list = [];
      for (let j = 0; j < n; j++)
        list.push({
          id: r.f64(),
          asset: r.u32(),
          amount_units: r.f64(),
          requested_ms: r.f64(),
          client_id: r.str() ?? "",
        });
      wd.recent.set(account, list);
    }
  }
  const allowlists = version >= 15 ? r.u32() : 0;
  for (let i = 0; i < allowlists; i++) {
    const list = e.withdrawals.allowlist(r.u32());
    list.on = r.u8() === 1;
    list.off_ms = r.f64();
    const n = r.u32();
    for (let j = 0; j < n; j++) list.addresses.set(r.str() ?? "", r.f64());
  }
  if (!r.done()) throw new Error("snapshot has trailing bytes");
  e.now_ms = now_ms;
  e.next_order_id = next_order_id;
  e.commands_applied = commands_applied;
  e.maintenance = (flags & 1) !== 0;
  e.deposits_paused = (flags & 2) !== 0;
  e.withdrawals_paused = (flags & 4) !== 0;
  if (sink !== undefined) e.set_sink(sink);
  return e;
}
