/**
 * User data streams, the listenKey way (@binance/connector's): POST/PUT/DELETE /api/v3/userDataStream
 * (API key only, no signature) and /ws/<listenKey>, which receives executionReport,
 * outboundAccountPosition and balanceUpdate with Binance's field names, built from the engine's events.
 * A listen key lives 60 minutes after its last keepalive, on every node (ListenKeys).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { assert } from "../engine/assert.js";
import {
  LISTEN_KEY_CLOSE,
  LISTEN_KEY_KEEP,
  LISTEN_KEY_OPEN,
  type ListenKeyAction,
} from "../engine/commands.js";
import { units_to_decimal } from "../engine/decimal.js";
import { type Engine, LISTEN_KEY_TTL_MS_MAX } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";
import type { Market } from "../engine/market.js";
import { REASON_UNKNOWN_LISTEN_KEY } from "../engine/reasons.js";
import {
  CONTINGENCY_NAMES,
  END_STP,
  is_stop_type,
  LIST_EXECUTING,
  ORDER_STATUS_NAMES,
  ORDER_TYPE_NAMES,
  PEG_TYPE_NAMES,
  SIDE_BUY,
  STATUS_CANCELED,
  STATUS_EXPIRED,
  STATUS_EXPIRED_IN_MATCH,
  STATUS_FILLED,
  STATUS_NEW,
  STATUS_PARTIALLY_FILLED,
  STATUS_PENDING_NEW,
  STP_NAMES,
  TIF_NAMES,
} from "../engine/types.js";
import type { ExchangeNode } from "../node/exchange_node.js";
import type { History, OrderRow } from "../projections/history.js";
import { expiry_reason } from "./history_json.js";
import { pad8, price_str, qty_str } from "./market_data.js";
import type { MasterKey } from "./master_key.js";

const LISTEN_KEY_TTL_MS = 60 * 60_000;
/** What the listen keys' MAC key is derived for (master_key.ts). */
const LISTEN_KEY_PURPOSE = "listen key";
const LISTEN_KEY_RE = /^[0-9a-z]{14}[0-9a-f]{46}$/;
/** Static fields of recently seen orders, so reports need no lookup; bounded, oldest dropped first. */
const ORDER_CACHE_MAX = 200_000;

/** An order's fixed fields (the history's row, minus what changes). */
type OrderFacts = Omit<
  OrderRow,
  | "order_id"
  | "status"
  | "executed_lots"
  | "cumulative_quote_units"
  | "update_ms"
  | "client_order_id"
  | "prevented_match_id"
  | "prevented_lots"
> & {
  client_order_id: string;
};

/**
 * Listen keys whose life is journaled (engine command `listen_key`), so a key outlives its node: after
 * a restart, or on another node of a cluster, a client that reconnects to /ws/<listenKey> (as
 * @binance/connector does by itself) gets its stream back, and a keepalive of a dead key is refused
 * everywhere. The engine keeps each account's key nonce and expiry; the key is derived from account
 * and nonce: 7 base-36 digits of each, then 46 hex digits of an HMAC under a key derived from the
 * master key (every node of a cluster holds the same one), 60 characters as Binance's. Only the
 * holder of the master key can make one, and a key names its account without a lookup.
 */
export class ListenKeys {
  private readonly mac_key: Buffer;

  /**
   * Told when a key a stream listens on ends: expired (no keepalive in time, or replaced since) or
   * closed by its owner. May be told more than once for one key.
   */
  on_end: ((key: string, account: number, expired: boolean) => void) | null = null;

  constructor(
    private readonly node: Pick<ExchangeNode, "engine" | "submit">,
    master: MasterKey,
    private readonly clock_ms: () => number,
    private readonly ttl_ms: number = LISTEN_KEY_TTL_MS,
  ) {
    assert(Number.isSafeInteger(ttl_ms) && ttl_ms >= 1 && ttl_ms <= LISTEN_KEY_TTL_MS_MAX, "listen key ttl");
    this.mac_key = master.derive(LISTEN_KEY_PURPOSE);
  }

  /** The key of `account` for `nonce`. */
  key(account: number, nonce: number): string {
    const head = account.toString(36).padStart(7, "0") + nonce.toString(36).padStart(7, "0");
    return head + createHmac("sha256", this.mac_key).update(head).digest("hex").slice(0, 46);
  }

  /** The account's listen key: its live one, kept alive, or a new one (journaled either way). */
  async open(account: number): Promise<string> {
    await this.journal(account, LISTEN_KEY_OPEN, 0);
    const k = this.node.engine.listen_keys.get(account);
    assert(k !== undefined, "an applied open leaves a key");
    return this.key(account, k.nonce);
  }

  /** Keeps a live key alive for another ttl; false: not a live key of `account`. */
  async keep_alive(key: string, account: number): Promise<boolean> {
    const nonce = this.nonce(key, account);
    return nonce !== null && (await this.journal(account, LISTEN_KEY_KEEP, nonce));
  }

  /** Closes a live key; false: not a live key of `account`. */
  async close(key: string, account: number): Promise<boolean> {
    const nonce = this.nonce(key, account);
    if (nonce === null || !(await this.journal(account, LISTEN_KEY_CLOSE, nonce))) return false;
    this.on_end?.(key, account, false);
    return true;
  }

  /** Journals an action; false if the engine refused it (the key no longer live). */
  private async journal(account: number, action: ListenKeyAction, nonce: number): Promise<boolean> {
    const applied = await this.node.submit({
      type: "listen_key",
      ts_ms: 0,
      account,
      action,
      nonce,
      ttl_ms: this.ttl_ms,
    });
    const rejected = applied.events.find((e) => e.kind === "rejected");
    if (rejected === undefined) return true;
    if (rejected.kind === "rejected" && rejected.reason === REASON_UNKNOWN_LISTEN_KEY) return false;
    throw new Error(`listen key ${action} refused: ${JSON.stringify(rejected)}`);
  }

  /** The nonce a well-formed key of ours for `account` names, or null. */
  private nonce(key: string, account: number): number | null {
    const named = this.parse(key);
    return named !== null && named.account === account ? named.nonce : null;
  }

  private parse(key: string): { account: number; nonce: number } | null {
    if (typeof key !== "string" || !LISTEN_KEY_RE.test(key)) return null;
    const account = Number.parseInt(key.slice(0, 7), 36);
    const nonce = Number.parseInt(key.slice(7, 14), 36);
    const expected = Buffer.from(this.key(account, nonce));
    const given = Buffer.from(key);
    return timingSafeEqual(expected, given) ? { account, nonce } : null;
  }

  /** Whether `key` is one this exchange made (live or not): its MAC holds. */
  ours(key: string): boolean {
    return this.parse(key) !== null;
  }

  /**
   * The account a live listen key belongs to, or null. A key of ours that has ended is told to
   * on_end (its streams then end).
   */
  account(key: string): number | null {
    const named = this.parse(key);
    if (named === null) return null;
    const k = this.node.engine.listen_keys.get(named.account);
    if (k !== undefined && k.nonce === named.nonce && k.expires_ms >= this.clock_ms()) return named.account;
    const closed = k !== undefined && k.nonce === named.nonce && k.expires_ms === -1;
    this.on_end?.(key, named.account, !closed);
    return null;
  }
}

/**
 * When a trailing stop placed by events[i] began tracking if that was at once (it tracks from the
 * last price: its trailing_started event follows its order_new), else -1.
 */
function started_with(events: readonly EngineEvent[], i: number, order_id: number): number {
  let next = events[i + 1];
  if (next?.kind === "order_pegged") next = events[i + 2];
  return next?.kind === "trailing_started" && next.order_id === order_id ? next.time_ms : -1;
}

/**
 * The first order_pegged event of `order_id` after events[i] (a pegged order's comes right after its
 * order_new; one at its placement as an OTO's pending order, after its order_activated), or null.
 */
function pegged_after(
  events: readonly EngineEvent[],
  i: number,
  order_id: number,
): Extract<EngineEvent, { kind: "order_pegged" }> | null {
  for (let j = i + 1; j < events.length; j++) {
    const x = events[j];
    if (x.kind === "order_pegged" && x.order_id === order_id) return x;
  }
  return null;
}

/** Turns one command's events into each affected account's user-data events. */
export class UserEvents {
  private readonly orders = new Map<number, OrderFacts>();
  /**
   * Pending order lists: their orders and what a listStatus names (OrderFacts keeps executionReport's
   * g).
   */
  private readonly lists = new Map<
    number,
    {
      orders: { s: string; i: number; c: string }[];
      status: { client_id: string; contingency: number; time_ms: number };
    }
  >();

  constructor(
    private readonly engine: Engine,
    private readonly history: History | null,
  ) {}

  /** A pending list not in the cache (placed before a restart), from the engine. */
  private list_of(list_id: number) {
    const l = this.engine.order_lists.get(list_id);
    if (l === undefined) return undefined;
    const symbol = this.engine.markets[l.market].config.symbol;
    const orders = [l.working_id, l.above_id, l.below_id]
      .filter((i) => i !== 0)
      .map((i) => ({ s: symbol, i, c: this.facts(i, l.account, l.market)?.client_order_id ?? "" }));
    const entry = {
      orders,
      status: { client_id: l.client_id ?? "", contingency: l.contingency, time_ms: l.time_ms },
    };
    if (this.lists.size >= ORDER_CACHE_MAX) this.lists.delete(this.lists.keys().next().value as number);
    this.lists.set(list_id, entry);
    return entry;
  }

  private facts(order_id: number, account: number, market: number): OrderFacts | null {
    const known = this.orders.get(order_id);
    if (known !== undefined) return known;
    const row = this.history?.order_now(account, market, order_id) ?? null;
    if (row === null) return null;
    return { ...row, client_order_id: row.client_order_id ?? "" };
  }

  /** Calls `emit(account, event)` for every user-data event of one command, in Binance's order. */
  convert(
    time_ms: number,
    events: readonly EngineEvent[],
    emit: (account: number, event: unknown) => void,
  ): void {
    const e = this.engine;
    const balances = new Map<number, Map<number, [number, number]>>();
    /** The order lists this command placed or resolved, reported after their orders (Binance's order). */
    const list_events: (EngineEvent & { kind: "order_list" })[] = [];
    const base = (facts: OrderFacts, m: Market) => ({
      e: "executionReport",
      E: time_ms,
      s: m.config.symbol,
      c: facts.client_order_id,
      S: facts.side === SIDE_BUY ? "BUY" : "SELL",
      o: ORDER_TYPE_NAMES[facts.order_type],
      f: TIF_NAMES[facts.tif],
      q: qty_str(m, facts.quantity_lots),
      p: price_str(m, facts.price_ticks),
      P: price_str(m, facts.stop_price_ticks),
      F: qty_str(m, facts.iceberg_lots ?? 0),
      g: facts.order_list_id ?? -1,
      C: "",
      r: "NONE",
      O: facts.time_ms,
      Q: pad8(units_to_decimal(facts.quote_units, e.assets[m.config.quote].decimals)),
      I: 0,
      M: false,
      V: STP_NAMES[facts.stp ?? m.config.stp_default],
      // Binance's j and J: only for an order its client gave them
      ...(facts.strategy_id === null ? {} : { j: facts.strategy_id }),
      ...(facts.strategy_type === null ? {} : { J: facts.strategy_type }),
      // d and D: a trailing stop's delta, and once it tracks, since when
      ...(facts.trailing_delta === null ? {} : { d: facts.trailing_delta }),
      ...(facts.trailing_ms === null || facts.trailing_ms < 0 ? {} : { D: facts.trailing_ms }),
      // gP, gOT, gOV, gp: a pegged order's peg, its offset if sent, its pegged price once known
      ...(facts.peg_type === null || facts.peg_type === undefined
        ? {}
        : {
            gP: PEG_TYPE_NAMES[facts.peg_type] ?? "",
            ...(facts.peg_offset === null || facts.peg_offset === undefined
              ? {}
              : { gOT: "PRICE_LEVEL", gOV: facts.peg_offset }),
            ...(facts.pegged_price_ticks === null || facts.pegged_price_ticks === undefined
              ? {}
              : { gp: price_str(m, facts.pegged_price_ticks) }),
          }),
    });
    /** A report's fields when nothing traded: what has executed in all, nothing now. */
    const no_fill = (m: Market, executed_lots: number, cumulative_quote_units: number, at_ms: number) => ({
      l: "0.00000000",
      z: qty_str(m, executed_lots),
      L: "0.00000000",
      n: "0",
      N: null,
      T: at_ms,
      t: -1,
      m: false,
      Z: pad8(units_to_decimal(cumulative_quote_units, e.assets[m.config.quote].decimals)),
      Y: "0.00000000",
    });
    /**
     * Binance's w (is the order on the book?) and W (working time: only for an order that has been
     * working): a stop order is neither until it triggers.
     */
    const working = (facts: OrderFacts, on_book: boolean) => {
      const since = facts.working_ms ?? facts.time_ms;
      return since === -1 ? { w: false } : { w: on_book, W: since };
    };
    for (let i = 0; i < events.length; i++) {
      const ev = events[i];
      if (ev.kind === "order_triggered") {
        const known = this.orders.get(ev.order_id);
        if (known !== undefined) known.working_ms = ev.time_ms;
        continue;
      }
      if (ev.kind === "trailing_started") {
        const known = this.orders.get(ev.order_id);
        if (known !== undefined) known.trailing_ms = ev.time_ms;
        continue;
      }
      if (ev.kind === "order_pegged") {
        // (a new order's and a placed pending order's were read ahead, with their reports)
        const known = this.orders.get(ev.order_id);
        if (known !== undefined && ev.pegged_price_ticks > 0)
          known.pegged_price_ticks = ev.pegged_price_ticks;
        continue;
      }
      if (ev.kind === "order_list") {
        list_events.push(ev);
        if (ev.status === LIST_EXECUTING) {
          if (this.lists.size >= ORDER_CACHE_MAX) this.lists.delete(this.lists.keys().next().value as number);
          this.lists.set(ev.list_id, {
            orders: [],
            status: { client_id: ev.list_client_order_id, contingency: ev.contingency, time_ms: ev.time_ms },
          });
        }
        continue;
      }
      if (ev.kind === "order_activated") {
        // an OTO's pending order placed (its working order filled): NEW, working from now unless a
        // stop order (then once it triggers)
        const known = this.facts(ev.order_id, ev.account, ev.market);
        if (known === null) continue;
        const stop = is_stop_type(known.order_type);
        const peg = pegged_after(events, i, ev.order_id);
        const facts = {
          ...known,
          working_ms: stop ? -1 : ev.time_ms,
          quantity_lots: ev.quantity_lots,
          ...(peg === null || peg.pegged_price_ticks === 0
            ? {}
            : { pegged_price_ticks: peg.pegged_price_ticks }),
        };
        if (this.orders.has(ev.order_id)) this.orders.set(ev.order_id, facts);
        const m = e.markets[ev.market];
        emit(ev.account, {
          ...base(facts, m),
          x: "NEW",
          X: "NEW",
          i: ev.order_id,
          ...no_fill(m, 0, 0, time_ms),
          ...working(facts, !stop),
        });
        continue;
      }
      if (ev.kind === "order_new") {
        const list = list_events.find(
          (l) =>
            l.status === LIST_EXECUTING &&
            (l.above_order_id === ev.order_id ||
              l.below_order_id === ev.order_id ||
              l.working_order_id === ev.order_id),
        );
        const list_id = list?.list_id ?? null;
        // an OTO's pending order waits off the book (PENDING_NEW), not working
        const pending =
          list !== undefined && list.working_order_id !== 0 && list.working_order_id !== ev.order_id;
        const facts: OrderFacts = {
          market: ev.market,
          account: ev.account,
          client_order_id: ev.client_order_id ?? "",
          side: ev.side,
          order_type: ev.order_type,
          tif: ev.tif,
          price_ticks: ev.price_ticks,
          quantity_lots: ev.quantity_lots,
          quote_units: ev.quote_units,
          stop_price_ticks: ev.stop_price_ticks,
          time_ms: ev.time_ms,
          stp: ev.stp,
          strategy_id: ev.strategy_id === -1 ? null : ev.strategy_id,
          strategy_type: ev.strategy_type === -1 ? null : ev.strategy_type,
          working_ms: is_stop_type(ev.order_type) || pending ? -1 : ev.time_ms,
          trailing_delta: ev.trailing_delta_bips === -1 ? null : ev.trailing_delta_bips,
          trailing_ms: ev.trailing_delta_bips === -1 ? null : started_with(events, i, ev.order_id),
          iceberg_lots: ev.iceberg_lots === -1 ? null : ev.iceberg_lots,
          order_list_id: list_id,
        };
        const peg = events[i + 1]?.kind === "order_pegged" ? pegged_after(events, i, ev.order_id) : null;
        if (peg !== null) {
          facts.peg_type = peg.peg_type;
          facts.peg_offset = peg.peg_offset_levels < 0 ? null : peg.peg_offset_levels;
          facts.pegged_price_ticks = peg.pegged_price_ticks === 0 ? null : peg.pegged_price_ticks;
        }
        if (list_id !== null)
          this.lists.get(list_id)?.orders.push({
            s: e.markets[ev.market].config.symbol,
            i: ev.order_id,
            c: facts.client_order_id,
          });
        if (this.orders.size >= ORDER_CACHE_MAX)
          this.orders.delete(this.orders.keys().next().value as number);
        this.orders.set(ev.order_id, facts);
        const m = e.markets[ev.market];
        emit(ev.account, {
          ...base(facts, m),
          x: "NEW",
          X: pending ? "PENDING_NEW" : "NEW",
          i: ev.order_id,
          ...no_fill(m, 0, 0, time_ms),
          ...working(facts, true),
        });
      } else if (ev.kind === "order_amended") {
        // Binance: an amend (keep priority) is reported as REPLACED: the order with its new quantity
        // and client order id (C: the one it had)
        const known = this.facts(ev.order_id, ev.account, ev.market);
        if (known === null) continue;
        const facts = { ...known, quantity_lots: ev.quantity_lots, client_order_id: ev.client_order_id };
        if (this.orders.has(ev.order_id)) this.orders.set(ev.order_id, facts);
        const m = e.markets[ev.market];
        emit(ev.account, {
          ...base(facts, m),
          x: "REPLACED",
          // (an OTO's pending order is amended waiting: PENDING_NEW)
          X: ORDER_STATUS_NAMES[
            e.waiting.has(ev.order_id)
              ? STATUS_PENDING_NEW
              : ev.executed_lots > 0
                ? STATUS_PARTIALLY_FILLED
                : STATUS_NEW
          ],
          C: ev.orig_client_order_id ?? "",
          i: ev.order_id,
          ...no_fill(m, ev.executed_lots, ev.cumulative_quote_units, ev.time_ms),
          ...working(facts, true),
        });
        // Binance: an order of a list that got a new client order id also brings a listStatus UPDATED
        const list_id = facts.order_list_id ?? null;
        const list = list_id === null ? undefined : (this.lists.get(list_id) ?? this.list_of(list_id));
        if (list !== undefined && ev.client_order_id !== ev.orig_client_order_id) {
          for (const o of list.orders) if (o.i === ev.order_id) o.c = ev.client_order_id;
          emit(ev.account, {
            e: "listStatus",
            E: time_ms,
            s: m.config.symbol,
            g: list_id,
            c: CONTINGENCY_NAMES[list.status.contingency],
            l: "UPDATED",
            L: "EXECUTING",
            r: "NONE",
            C: list.status.client_id,
            T: list.status.time_ms,
            O: list.orders.map((o) => ({ ...o })),
          });
        }
      } else if (ev.kind === "trade") {
        const m = e.markets[ev.market];
        for (const [order_id, account, fee, is_maker, buys] of [
          [ev.taker_order_id, ev.taker_account, ev.taker_fee_units, false, ev.taker_side === SIDE_BUY],
          [ev.maker_order_id, ev.maker_account, ev.maker_fee_units, true, ev.taker_side !== SIDE_BUY],
        ] as const) {
          const facts = this.facts(order_id, account, ev.market);
          if (facts === null) continue;
          // The order's next update in the same command says where it stands after its trades up to
          // there: this trade's report takes off what the later ones of them traded (a taker gets one
          // update for all its fills), and says PARTIALLY_FILLED unless this trade filled it (an
          // order that expires or is cancelled after trading gets its own report for that, Binance's).
          let later_lots = 0;
          let later_quote = 0;
          let after: EngineEvent | undefined;
          for (let j = i + 1; j < events.length; j++) {
            const x = events[j];
            if (x.kind === "order_update" && x.order_id === order_id) {
              after = x;
              break;
            }
            if (x.kind === "trade" && (x.taker_order_id === order_id || x.maker_order_id === order_id)) {
              later_lots += x.quantity_lots;
              later_quote += x.quote_units;
            }
          }
          if (after === undefined || after.kind !== "order_update") continue;
          const filled = later_lots === 0 && after.status === STATUS_FILLED;
          const fee_asset = buys ? m.config.base : m.config.quote;
          const quote_dec = e.assets[m.config.quote].decimals;
          emit(account, {
            ...base(facts, m),
            x: "TRADE",
            X: filled ? "FILLED" : "PARTIALLY_FILLED",
            i: order_id,
            l: qty_str(m, ev.quantity_lots),
            z: qty_str(m, after.executed_lots - later_lots),
            L: price_str(m, ev.price_ticks),
            n: pad8(units_to_decimal(fee, e.assets[fee_asset].decimals)),
            N: e.assets[fee_asset].name,
            T: ev.time_ms,
            t: ev.trade_id,
            m: is_maker,
            Z: pad8(units_to_decimal(after.cumulative_quote_units - later_quote, quote_dec)),
            Y: pad8(units_to_decimal(ev.quote_units, quote_dec)),
            ...working(facts, after.status < 2),
          });
        }
      } else if (ev.kind === "order_update") {
        // fills were reported with their trades; here only the ends without a trade, and an order
        // self-trade prevention reduced and left open (DECREMENT: TRADE_PREVENTION, still NEW or
        // PARTIALLY_FILLED)
        const reduced = ev.end_reason === END_STP && ev.status <= STATUS_PARTIALLY_FILLED;
        // A filled order has had its last report (with its last trade): its facts are done with, and
        // kept they would crowd live orders out of the cache (a long soak found every filled order
        // held until 200,000 had filled).
        if (ev.status === STATUS_FILLED) this.orders.delete(ev.order_id);
        if (
          ev.status !== STATUS_CANCELED &&
          ev.status !== STATUS_EXPIRED &&
          ev.status !== STATUS_EXPIRED_IN_MATCH &&
          !reduced
        )
          continue;
        const facts = this.facts(ev.order_id, ev.account, ev.market);
        if (facts === null) continue;
        const m = e.markets[ev.market];
        const prevented =
          ev.status === STATUS_EXPIRED_IN_MATCH || reduced ? prevention_of(events, i, ev.order_id) : null;
        emit(ev.account, {
          ...base(facts, m),
          x: ev.status === STATUS_CANCELED ? "CANCELED" : prevented !== null ? "TRADE_PREVENTION" : "EXPIRED",
          X: ORDER_STATUS_NAMES[ev.status],
          // Binance: C is the cancelled order's own client id. (Binance's c would be the cancel
          // request's newClientOrderId; the cancel command does not journal it, so c repeats C.)
          C: ev.status === STATUS_CANCELED ? facts.client_order_id : "",
          i: ev.order_id,
          ...no_fill(m, ev.executed_lots, ev.cumulative_quote_units, time_ms),
          ...working(facts, reduced),
          // Binance's eR: why an expired order expired
          ...expiry_report(ev.status, ev.end_reason, facts.order_type, facts.tif),
          // Binance's fields of an order self-trade prevention expired or reduced: the prevented
          // match, the quantity prevention has taken from it in all (A) and by this match (B), and
          // the other order
          ...(prevented === null
            ? {}
            : {
                v: prevented.prevented_match_id,
                A: qty_str(m, prevented.total_lots),
                B: qty_str(m, prevented.lots),
                U: prevented.counter_order_id,
              }),
        });
        if (!reduced) this.orders.delete(ev.order_id);
      } else if (ev.kind === "ledger") {
        emit(ev.account, {
          e: "balanceUpdate",
          E: time_ms,
          a: e.assets[ev.asset].name,
          d:
            (ev.amount_units < 0 ? "-" : "") +
            pad8(units_to_decimal(Math.abs(ev.amount_units), e.assets[ev.asset].decimals)),
          T: time_ms,
        });
      } else if (ev.kind === "balance") {
        let per = balances.get(ev.account);
        if (per === undefined) {
          per = new Map();
          balances.set(ev.account, per);
        }
        per.set(ev.asset, [ev.free_units, ev.locked_units]);
      }
    }
    // Binance's listStatus: a list placed (EXEC_STARTED, EXECUTING) or resolved (ALL_DONE)
    for (const l of list_events) {
      const done = l.status !== LIST_EXECUTING;
      const symbol = e.markets[l.market].config.symbol;
      const known = this.lists.get(l.list_id);
      const orders =
        known?.orders ??
        [l.working_order_id, l.above_order_id, l.below_order_id]
          .filter((i) => i !== 0)
          .map((i) => ({
            s: symbol,
            i,
            c: this.facts(i, l.account, l.market)?.client_order_id ?? "",
          }));
      if (done) this.lists.delete(l.list_id);
      emit(l.account, {
        e: "listStatus",
        E: time_ms,
        s: symbol,
        g: l.list_id,
        c: CONTINGENCY_NAMES[l.contingency],
        l: done ? "ALL_DONE" : "EXEC_STARTED",
        L: done ? "ALL_DONE" : "EXECUTING",
        r: "NONE",
        C: l.list_client_order_id,
        T: l.time_ms,
        O: orders,
      });
    }
    // one outboundAccountPosition per account per command, with its latest balances
    for (const [account, per] of balances)
      emit(account, {
        e: "outboundAccountPosition",
        E: time_ms,
        u: time_ms,
        B: [...per].map(([asset, [free, locked]]) => ({
          a: e.assets[asset].name,
          f: pad8(units_to_decimal(free, e.assets[asset].decimals)),
          l: pad8(units_to_decimal(locked, e.assets[asset].decimals)),
        })),
      });
  }
}

/**
 * The prevented match (the last before `at` among one command's events) that expired or reduced
 * `order_id`, with what it took, what prevention has taken from the order in all, and the order on
 * the other side; null if none did.
 */
function prevention_of(
  events: readonly EngineEvent[],
  at: number,
  order_id: number,
): { prevented_match_id: number; lots: number; total_lots: number; counter_order_id: number } | null {
  for (let j = at - 1; j >= 0; j--) {
    const x = events[j];
    if (x.kind !== "prevented_match") continue;
    if (x.maker_order_id === order_id && x.maker_prevented_lots >= 0)
      return {
        prevented_match_id: x.prevented_match_id,
        lots: x.maker_prevented_lots,
        total_lots: x.maker_prevented_total_lots,
        counter_order_id: x.taker_order_id,
      };
    if (x.taker_order_id === order_id && x.taker_prevented_lots >= 0)
      return {
        prevented_match_id: x.prevented_match_id,
        lots: x.taker_prevented_lots,
        total_lots: x.taker_prevented_total_lots,
        counter_order_id: x.maker_order_id,
      };
  }
  return null;
}

/** executionReport's eR (Binance's expiryReason): only for an expired order. */
function expiry_report(status: number, end: number, order_type: number, tif: number): { eR?: string } {
  const reason = expiry_reason(status, end, order_type, tif);
  return reason === null ? {} : { eR: reason };
}
