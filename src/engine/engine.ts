/**
 * The exchange core: a deterministic, single-threaded state machine. `execute(command)` applies one
 * command and reports what happened to an EventSink; `apply(command)` returns the events as objects.
 * No clock, randomness or I/O: time arrives in the command and is clamped so it never goes backwards.
 * Every id (order, trade, book update) comes from engine state, so every replica assigns the same.
 *
 * Where to look: place() validates against state and locks funds, execute_taker() matches, fill()
 * moves the money of one trade, finish_taker()/rest() decide what becomes of the remainder.
 */
import { AccountRow, AssetTotals, COUNT_OPEN, COUNT_STOPS, Ledger } from "./accounts.js";
import { ApiKeys, type KeyKind, PERMISSION_WITHDRAW } from "./api_keys.js";
import { assert, UNITS_MAX } from "./assert.js";
import { LevelPool } from "./book.js";
import { ClientIdRetention } from "./client_ids.js";
import type {
  AddApiKey,
  AddAsset,
  AddMarket,
  AmendOrder,
  CancelAll,
  CancelOrder,
  CancelOrderList,
  CancelReplace,
  Command,
  CreateAccount,
  Deposit,
  EndUserSessions,
  ListenKey,
  OrderSpec,
  PlaceOrderList,
  PlaceOto,
  RegisterUser,
  ReservesAudit,
  RevokeApiKey,
  SetAccountFees,
  SetExchangeFlags,
  SetLimit,
  SetMarketFees,
  SetMarketStatus,
  SetPriceRange,
  SetUserTotp,
  Withdraw,
  WithdrawAllowlist,
  WithdrawPolicy,
  WithdrawRequest,
  WithdrawResult,
  WithdrawReview,
} from "./commands.js";
import {
  CANCEL_ONLY_NEW,
  CANCEL_ONLY_PARTIALLY_FILLED,
  type CancelRestriction,
  COMMAND_VERSION,
  FORMAT_AMEND_LIST_ORDERS,
  FORMAT_ICEBERG_LIMIT,
  FORMAT_MARKET_NOTIONAL,
  FORMAT_OCO_TAKE_PROFIT,
  FORMAT_OPO_FUNDS,
  FORMAT_PERCENT_PRICE,
  FORMAT_STOPS_SEE_SWEEP,
  FORMAT_STP_AFTER_FILL,
  LISTEN_KEY_CLOSE,
  LISTEN_KEY_KEEP,
  LISTEN_KEY_OPEN,
  SETTABLE_LIMITS,
  STRATEGY_TYPE_MAX,
  STRATEGY_TYPE_MIN,
} from "./commands.js";
import {
  type Asset,
  build_market,
  DEFAULT_LIMITS,
  type EngineLimits,
  FEE_PPM_MAX,
  market_status_valid,
  PPM,
  validate_asset,
  validate_limits,
} from "./config.js";
import { type EngineEvent, EventCollector, type EventSink, NullSink } from "./events.js";
import { Market } from "./market.js";
import { ICEBERG_PARTS_MAX, type IcebergState, OrderStore, type PegState } from "./orders.js";
import * as R from "./reasons.js";
import { E4, mul_div_floor, PriceRange, validate_price_range } from "./reference.js";
import { RequestIdRetention } from "./request_ids.js";
import {
  lock_price_ticks,
  TRAILING_DELTA_MAX_BIPS,
  TRAILING_DELTA_MIN_BIPS,
  type TrailState,
} from "./trailing.js";
import {
  CONTINGENCY_OCO,
  CONTINGENCY_OTO,
  type Contingency,
  END_EXCHANGE,
  END_FUNDS,
  END_LIST,
  END_LIST_WORKING,
  END_NO_LIQUIDITY,
  END_NONE,
  END_PRICE_RANGE,
  END_STP,
  END_USER,
  type EndReason,
  has_limit_price,
  is_stop_type,
  LIST_ALL_DONE,
  LIST_EXECUTING,
  type ListStatus,
  MARKET_CANCEL_ONLY,
  MARKET_POST_ONLY,
  MARKET_TRADING,
  type OrderStatus,
  type OrderType,
  PEG_MARKET,
  PEG_OFFSET_MAX,
  PEG_PRIMARY,
  SIDE_BUY,
  SIDE_SELL,
  type Side,
  STATUS_CANCELED,
  STATUS_EXPIRED,
  STATUS_EXPIRED_IN_MATCH,
  STATUS_FILLED,
  STATUS_NEW,
  STATUS_PARTIALLY_FILLED,
  STATUS_PENDING_NEW,
  STP_DECREMENT,
  STP_EXPIRE_BOTH,
  STP_EXPIRE_MAKER,
  STP_EXPIRE_TAKER,
  STP_NONE,
  STP_TRANSFER,
  type StpMode,
  TIF_FOK,
  TIF_GTC,
  type TimeInForce,
  TYPE_LIMIT,
  TYPE_LIMIT_MAKER,
  TYPE_MARKET,
  TYPE_STOP_LOSS,
  TYPE_STOP_LOSS_LIMIT,
  TYPE_TAKE_PROFIT,
  TYPE_TAKE_PROFIT_LIMIT,
} from "./types.js";
import { TOTP_SEALED_LENGTH_MAX, type WebUser, WebUsers } from "./web_users.js";
import {
  ADDRESS_LENGTH_MAX,
  ADDRESS_TAG_LENGTH_MAX,
  ALLOWLIST_ADD,
  ALLOWLIST_ADDRESSES_MAX,
  ALLOWLIST_OFF,
  ALLOWLIST_ON,
  ALLOWLIST_REMOVE,
  HELD_ALLOWLIST_OFF,
  HELD_AMOUNT,
  HELD_NEW_KEY,
  NETWORK_LENGTH_MAX,
  text_ok,
  WITHDRAW_AWAITING_APPROVAL,
  WITHDRAW_CLIENT_ID_LENGTH_MAX,
  WITHDRAW_COMPLETED,
  WITHDRAW_FAILURE,
  WITHDRAW_NOTE_LENGTH_MAX,
  WITHDRAW_PROCESSING,
  WITHDRAW_REJECTED,
  WITHDRAW_WINDOW_MS,
  WITHDRAWALS_PENDING_MAX,
  WITHDRAWALS_PENDING_PER_ACCOUNT_MAX,
  WITHDRAWALS_PER_DAY_MAX,
  type Withdrawal,
  Withdrawals,
} from "./withdrawals.js";

/** The longest a listen key may live between keepalives (Binance's is 60 minutes). */
export const LISTEN_KEY_TTL_MS_MAX = 24 * 60 * 60_000;
/** Listen keys an account can make over its life (the journal stores the nonce as a u32). */
export const LISTEN_KEY_NONCE_MAX = 0xffff_ffff;

const QUIET = new NullSink();

/** Binance's pattern for client order ids. */
export const CLIENT_ORDER_ID_RE = /^[.A-Z:/a-z0-9_-]{1,36}$/;

/** Fee of `amount_units` at `rate_ppm`, rounded down, exact for any amount up to 2^53 - 1. */
export function fee_units(amount_units: number, rate_ppm: number): number {
  if (rate_ppm === 0) return 0;
  // Fast path: the product stays below 2^53, so one multiplication and division are exact.
  if (amount_units <= 9_000_000_000) return Math.floor((amount_units * rate_ppm) / PPM);
  let whole = Math.floor(amount_units / PPM);
  if (whole * PPM > amount_units) whole--; // the division may round up near 2^53
  const rest = amount_units - whole * PPM;
  return whole * rate_ppm + Math.floor((rest * rate_ppm) / PPM);
}

/** Whether `value` is an integer in [0, length) (length < 2^31); false for NaN and non-numbers. */
function is_index(value: number, length: number): boolean {
  return value >= 0 && value < length && (value | 0) === value;
}

/** How a taker's matching stopped, which decides the remainder's fate. */
const STOP_NONE = 0;
const STOP_STP = 1;
const STOP_FUNDS = 2;
/** DECREMENT took all the taker had left: it expires (EXPIRED_IN_MATCH) even with nothing left. */
const STOP_PREVENTED = 3;
/** The next level is outside the market's PRICE_RANGE execution rule: the remainder expires. */
const STOP_PRICE_RANGE = 4;

export class Engine {
  readonly limits: EngineLimits;
  readonly orders: OrderStore;
  readonly levels: LevelPool;
  readonly assets: Asset[] = [];
  readonly asset_totals: AssetTotals[] = [];
  readonly markets: Market[] = [];
  readonly accounts: AccountRow[] = [];
  /** Every account's balances and order counts (accounts.ts). */
  readonly ledger = new Ledger();
  readonly client_ids: ClientIdRetention;
  readonly request_ids: RequestIdRetention;
  readonly api_keys: ApiKeys;
  readonly web_users: WebUsers;
  /** Users' withdrawals while pending, their policies and daily counts (withdrawals.ts). */
  readonly withdrawals = new Withdrawals();
  readonly asset_by_name = new Map<string, number>();
  readonly market_by_symbol = new Map<string, number>();
  /**
   * Accounts with fees of their own (set_account_fees), in place of each market's; -1: the market's.
   * Few accounts have one: a fill looks here only when the map is not empty.
   */
  readonly account_fees = new Map<number, { maker_fee_ppm: number; taker_fee_ppm: number }>();
  /**
   * Each account's user data stream key (listen_key): its nonce (the key is derived from account and
   * nonce outside the engine) and when it expires unless kept alive; -1 once closed. At most one
   * live key per account, as on Binance; an entry stays when its key ends, so the next key's nonce
   * differs (bounded by the number of accounts).
   */
  readonly listen_keys = new Map<number, { nonce: number; expires_ms: number }>();
  next_order_id = 1;
  /** Binance's orderListId: engine-wide, from 1. */
  next_order_list_id = 1;
  /** Pending order lists (OCO, OTO, OTOCO) by id; an entry goes when its list resolves (settle_list). */
  readonly order_lists = new Map<number, OrderList>();
  /**
   * Ids of the pending orders of OTO/OTOCO lists that wait, off the book, for their working order to
   * fill (Binance's PENDING_NEW): live, open and holding their funds, in no book or stop list.
   */
  readonly waiting = new Set<number>();
  /**
   * Scratch: ids of pending orders whose working order filled during this command, to be placed once
   * the order being matched is done (run_triggers), in the order their working orders filled.
   */
  private readonly activations: number[] = [];
  /** "<account> <listClientOrderId>" → id of the pending list that has it (unique among open lists). */
  private readonly list_client_ids = new Map<string, number>();
  /** Time of the latest command, never decreasing. */
  now_ms = 0;
  maintenance = false;
  deposits_paused = false;
  withdrawals_paused = false;
  commands_applied = 0;
  private sink: EventSink;
  private collector: EventCollector | null;
  /** For compacting account open-order lists: whether an order id is still open. */
  private readonly is_open_id = (order_id: number): boolean => {
    const slot = this.orders.by_id.get(order_id);
    return slot !== 0 && this.orders.open(slot) === 1;
  };
  /** Scratch for matching: whether the last fill made an iceberg maker show its next part. */
  private shown_again = false;
  /** Scratch for matching: why the last execute_taker stopped early. */
  private match_stop = STOP_NONE;
  /** Scratch: fok_fillable stopped at a level outside the PRICE_RANGE rule. */
  private fok_banded = false;
  /** The command format whose matching rules apply to the order being placed (OrderSpec.format). */
  private rules_format = COMMAND_VERSION;
  /** Scratch: what admit() found an order must lock, and a trailing stop-market buy's lock price. */
  private admitted_lock = 0;
  private admitted_trail_lock_ticks = 0;

  constructor(limits: Partial<EngineLimits> = {}, sink?: EventSink) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    const problem = validate_limits(this.limits);
    if (problem !== null) throw new Error(`invalid engine limits: ${problem}`);
    this.orders = new OrderStore(this.limits.orders_max, this.limits.orders_preallocated);
    // Levels cannot outnumber resting orders, so the pool needs no more slots than orders.
    this.levels = new LevelPool(this.limits.orders_max);
    this.client_ids = new ClientIdRetention(
      this.limits.client_ids_retained_max,
      this.limits.client_ids_per_account_max,
      this.limits.client_id_retention_ms,
    );
    this.request_ids = new RequestIdRetention(
      this.limits.request_ids_retained_max,
      this.limits.client_id_retention_ms,
    );
    this.api_keys = new ApiKeys(this.limits.api_keys_max, this.limits.api_keys_per_account_max);
    this.web_users = new WebUsers(this.limits.accounts_max);
    this.collector = sink === undefined ? new EventCollector() : null;
    this.sink = sink ?? (this.collector as EventCollector);
  }

  /** Sends later events to `sink` instead of the built-in collector. */
  set_sink(sink: EventSink): void {
    this.sink = sink;
    this.collector = null;
  }

  /** Runs `fn` with events discarded (replay rebuilding state only), then restores the sink. */
  quietly(fn: () => void): void {
    const sink = this.sink;
    const collector = this.collector;
    this.sink = QUIET;
    try {
      fn();
    } finally {
      this.sink = sink;
      this.collector = collector;
    }
  }

  /** Applies one command and returns its events (engines built without a custom sink). */
  apply(command: Command): EngineEvent[] {
    assert(this.collector !== null, "apply() needs the default event collector; use execute()");
    this.execute(command);
    return this.collector.take();
  }

  /**
   * Applies one command; events go to the sink. Keeps no reference to `command` or its fields' objects
   * once it returns: replay decodes every place and cancel order into the same object
   * (journal/codec.ts, DecodeScratch).
   */
  execute(command: Command): void {
    // The validator keeps malformed input out of the journal; this guard keeps a bug there from
    // crashing every replica that replays it.
    if (typeof command !== "object" || command === null) {
      this.sink.rejected(R.REASON_INVALID_PARAMETER, "command is not an object");
      return;
    }
    const ts = command.ts_ms;
    if (Number.isSafeInteger(ts) && ts > this.now_ms) this.now_ms = ts;
    if (this.client_ids.size > 0) this.client_ids.expire(this.accounts, this.now_ms);
    if (this.request_ids.size > 0) this.request_ids.expire(this.now_ms);
    this.commands_applied++;
    switch (command.type) {
      case "place_order":
        this.place(command.account, command.market, command);
        return;
      case "cancel_order":
        this.cancel_order(command);
        return;
      case "cancel_all":
        this.cancel_all(command);
        return;
      case "cancel_order_list":
        this.cancel_order_list(command);
        return;
      case "cancel_replace":
        this.cancel_replace(command);
        return;
      case "place_order_list":
        this.place_order_list(command);
        return;
      case "place_oto":
        this.place_oto(command);
        return;
      case "amend_order":
        this.amend_order(command);
        return;
      case "deposit":
      case "withdraw":
      case "create_account":
        this.idempotent(command);
        return;
      case "add_api_key":
        this.add_api_key(command);
        return;
      case "revoke_api_key":
        this.revoke_api_key(command);
        return;
      case "register_user":
        this.register_user(command);
        return;
      case "set_user_totp":
        this.set_user_totp(command);
        return;
      case "end_user_sessions":
        this.end_user_sessions(command);
        return;
      case "add_asset":
        this.add_asset(command);
        return;
      case "add_market":
        this.add_market(command);
        return;
      case "set_market_status":
        this.set_market_status(command);
        return;
      case "set_exchange_flags":
        this.set_exchange_flags(command);
        return;
      case "expire_market_orders":
        this.expire_market_orders(command.market);
        return;
      case "set_price_range":
        this.set_price_range(command);
        return;
      case "set_market_fees":
        this.set_market_fees(command);
        return;
      case "set_account_fees":
        this.set_account_fees(command);
        return;
      case "listen_key":
        this.listen_key(command);
        return;
      case "set_limit":
        this.set_limit(command);
        return;
      case "reserves_audit":
        this.reserves_audit(command);
        return;
      case "withdraw_request":
        this.withdraw_request(command);
        return;
      case "withdraw_review":
        this.withdraw_review(command);
        return;
      case "withdraw_result":
        this.withdraw_result(command);
        return;
      case "withdraw_policy":
        this.withdraw_policy(command);
        return;
      case "withdraw_allowlist":
        this.withdraw_allowlist(command);
        return;
      default:
        this.sink.rejected(R.REASON_INVALID_PARAMETER, "unknown command type");
    }
  }

  // ---------------------------------------------------------------- lookups

  /** An account's row: its open-order lists and client order ids (balances and counts: `ledger`). */
  row(account: number): AccountRow {
    return this.accounts[account];
  }

  /** Widens the ledger's records to the current number of assets and markets (rare: configuration). */
  private grow_rows(): void {
    this.ledger.ensure(this.assets.length, this.markets.length);
  }

  account_valid(account: number): boolean {
    return is_index(account, this.accounts.length);
  }
  market_valid(market: number): boolean {
    return is_index(market, this.markets.length);
  }
  asset_valid(asset: number): boolean {
    return is_index(asset, this.assets.length);
  }

  /** Slot of a live order of this account and market, by order id or client order id; 0 if none. */
  find_order(account: number, market: number, order_id: number, client_order_id: string | null): number {
    let id = order_id;
    if (!(Number.isSafeInteger(id) && id > 0)) {
      if (typeof client_order_id !== "string") return 0;
      const known = this.accounts[account].client_ids?.get(client_order_id);
      if (known === undefined) return 0;
      id = known;
    }
    const slot = this.orders.by_id.get(id);
    if (slot === 0) return 0;
    if (this.orders.account(slot) !== account || this.orders.market(slot) !== market) return 0;
    return slot;
  }

  // ---------------------------------------------------------------- placing orders

  /** Checks an order against state, locks its funds, and runs it. Returns the slot, or 0 if rejected. */
  private place(account: number, market_id: number, sent: OrderSpec): number {
    let spec = sent;
    if (sent.peg_type !== undefined) {
      if (!this.market_valid(market_id)) return this.reject(R.REASON_UNKNOWN_SYMBOL);
      const pegged = this.peg_spec(this.markets[market_id], sent, true);
      if (typeof pegged === "number") return this.reject(pegged);
      spec = pegged;
    }
    const problem = this.admit(account, market_id, spec, 1, true);
    if (problem !== R.REASON_NONE) return this.reject(problem);
    const market = this.markets[market_id];
    const slot = this.create(
      market,
      account,
      spec,
      this.admitted_lock,
      this.admitted_trail_lock_ticks,
      0,
      false,
    );
    if (is_stop_type(spec.order_type)) return slot;
    this.execute_taker(market, slot);
    this.run_triggers(market);
    return slot;
  }

  /**
   * An OCO (PlaceOrderList): a take-profit order and a stop-loss order (check_pair), each passing
   * every check it would pass alone, with room for both. Funds are locked once: the take-profit order
   * locks what it needs (as any resting order), the stop-loss order only what it needs beyond that;
   * whichever triggers takes the other's lock over (run_triggers). Reported: the list (EXECUTING),
   * then both orders.
   */
  private place_order_list(cmd: PlaceOrderList): void {
    const { account } = cmd;
    const market_id = cmd.market;
    if (!is_spec(cmd.above) || !is_spec(cmd.below))
      return void this.reject(R.REASON_INVALID_PARAMETER, "order list");
    const list_cid = cmd.list_client_order_id;
    if (list_cid !== null && (typeof list_cid !== "string" || !CLIENT_ORDER_ID_RE.test(list_cid)))
      return void this.reject(R.REASON_INVALID_PARAMETER);
    if (!this.market_valid(market_id)) return void this.reject(R.REASON_UNKNOWN_SYMBOL);
    const market = this.markets[market_id];
    // a pegged limit maker takes its price from the book now, a pegged stop-limit order when triggered
    const above = this.peg_spec(market, cmd.above, true);
    if (typeof above === "number") return void this.reject(above);
    const below = this.peg_spec(market, cmd.below, true);
    if (typeof below === "number") return void this.reject(below);
    let problem = this.check_pair(market, above, below);
    if (problem !== R.REASON_NONE)
      return void this.reject(problem, problem === R.REASON_INVALID_PARAMETER ? "order list" : null);
    const locks = this.admit_pair(account, market_id, above, below, 2, true);
    if (locks === null) return;
    problem = this.list_ids_free(account, list_cid, [above, below]);
    if (problem !== R.REASON_NONE) return void this.reject(problem);

    const list = this.open_list(account, market_id, list_cid, CONTINGENCY_OCO, 0, true);
    const slots = this.create_pair(market, account, above, below, locks, list.id, false);
    // a LIMIT_MAKER was admitted as not crossing: it rests (a take-profit stop waits, as the other)
    for (const slot of slots)
      if (this.orders.type(slot) === TYPE_LIMIT_MAKER) {
        this.execute_taker(market, slot);
        assert(this.orders.level(slot) !== 0, "an OCO's limit maker did not rest");
      }
  }

  /**
   * An OTO or OTOCO (PlaceOto): the working order (LIMIT or LIMIT_MAKER) and its pending order, or
   * pending OCO pair (check_pair), each passing every check it would pass alone (the pending orders
   * those that do not depend on the book and last price now: they are placed later), with room for
   * all. Each locks its funds now (the pair once, as an OCO); the pending orders wait off the book
   * (PENDING_NEW) until the working order has filled completely (settle_list), and are placed then.
   * Reported: the list (EXECUTING), then its orders; then the working order runs.
   */
  private place_oto(cmd: PlaceOto): void {
    const { account } = cmd;
    const market_id = cmd.market;
    if (
      !is_spec(cmd.working) ||
      !is_spec(cmd.pending) ||
      !(cmd.pending_below === null || is_spec(cmd.pending_below))
    )
      return void this.reject(R.REASON_INVALID_PARAMETER, "order list");
    const list_cid = cmd.list_client_order_id;
    if (list_cid !== null && (typeof list_cid !== "string" || !CLIENT_ORDER_ID_RE.test(list_cid)))
      return void this.reject(R.REASON_INVALID_PARAMETER);
    if (!this.market_valid(market_id)) return void this.reject(R.REASON_UNKNOWN_SYMBOL);
    // a pegged working order takes its price from the book now, a pegged pending order when placed
    const pegged = [
      this.peg_spec(this.markets[market_id], cmd.working, true),
      this.peg_spec(this.markets[market_id], cmd.pending, false),
      cmd.pending_below === null ? null : this.peg_spec(this.markets[market_id], cmd.pending_below, false),
    ];
    for (const x of pegged) if (typeof x === "number") return void this.reject(x);
    const [working, pending, below] = pegged as [OrderSpec, OrderSpec, OrderSpec | null];
    // the working order rests or trades as a limit order; a pending MARKET order has a quantity
    if (
      (working.order_type !== TYPE_LIMIT && working.order_type !== TYPE_LIMIT_MAKER) ||
      pending.quote_units !== 0
    )
      return void this.reject(R.REASON_INVALID_PARAMETER, "order list");
    // an OPO: a BUY working order, SELL pending orders without a quantity (Binance's rules)
    const pays = cmd.pays === true;
    if (
      pays &&
      (working.side !== SIDE_BUY ||
        [pending, below].some((p) => p !== null && (p.side !== SIDE_SELL || p.quantity_lots !== 0)))
    )
      return void this.reject(R.REASON_INVALID_PARAMETER, "order list");
    // the pending orders as checked: an OPO's with the most the working order can bring in
    const sized = (spec: OrderSpec): OrderSpec =>
      pays ? { ...spec, quantity_lots: working.quantity_lots } : spec;
    const market = this.markets[market_id];
    const needed = below === null ? 2 : 3;
    let problem = below === null ? R.REASON_NONE : this.check_pair(market, sized(pending), sized(below));
    if (problem !== R.REASON_NONE)
      return void this.reject(problem, problem === R.REASON_INVALID_PARAMETER ? "order list" : null);
    problem = this.admit(account, market_id, working, needed, true);
    if (problem !== R.REASON_NONE) return void this.reject(problem);
    const working_lock = this.admitted_lock;
    let pending_locks: PairLocks | null;
    // an OPO's pending orders are paid for by the working order: its funds are all it needs now
    const funds = !pays || (working.format ?? COMMAND_VERSION) < FORMAT_OPO_FUNDS;
    if (below === null) {
      problem = this.admit(account, market_id, sized(pending), needed, false, funds);
      if (problem !== R.REASON_NONE) return void this.reject(problem);
      pending_locks = [this.admitted_lock, 0, this.admitted_trail_lock_ticks, 0];
    } else {
      pending_locks = this.admit_pair(account, market_id, sized(pending), sized(below), needed, false, funds);
      if (pending_locks === null) return;
    }
    // an OPO's pending orders lock nothing now: the working order's proceeds, as they come (pay_pending)
    if (pays) pending_locks = [0, 0, 0, 0];
    // the working order and the pending orders lock from the same free balance when of one side
    const lock_asset = (spec: OrderSpec) =>
      spec.side === SIDE_BUY ? market.config.quote : market.config.base;
    if (lock_asset(working) === lock_asset(pending)) {
      const pending_lock = pending_locks[0] + pending_locks[1];
      if (this.ledger.free(account, lock_asset(working)) < working_lock + pending_lock)
        return void this.reject(R.REASON_INSUFFICIENT_BALANCE);
    }
    problem = this.list_ids_free(
      account,
      list_cid,
      below === null ? [working, pending] : [working, pending, below],
    );
    if (problem !== R.REASON_NONE) return void this.reject(problem);

    const list = this.open_list(
      account,
      market_id,
      list_cid,
      CONTINGENCY_OTO,
      this.next_order_id,
      below !== null,
    );
    list.pays = pays;
    const working_slot = this.create(market, account, working, working_lock, 0, list.id, false);
    if (below === null)
      this.create(market, account, pending, pending_locks[0], pending_locks[2], list.id, true);
    else this.create_pair(market, account, pending, below, pending_locks, list.id, true);
    this.execute_taker(market, working_slot);
    this.run_triggers(market);
  }

  /**
   * An OCO pair's shape and prices (an OCO's, or an OTOCO's pending pair): a take-profit order
   * (LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT) and a stop-loss order (STOP_LOSS or
   * STOP_LOSS_LIMIT) of one side and quantity; a sell's take-profit order above and its stop-loss
   * below, a buy's the other way round; and the last price between their prices (a LIMIT_MAKER's
   * price, a stop's stop price; a trailing stop without a stop price has none to compare).
   */
  private check_pair(market: Market, above: OrderSpec, below: OrderSpec): R.Reason {
    const profit_above = is_take_profit_type(above.order_type);
    const profit = profit_above ? above : below;
    const loss = profit_above ? below : above;
    if (
      !is_take_profit_type(profit.order_type) ||
      (loss.order_type !== TYPE_STOP_LOSS && loss.order_type !== TYPE_STOP_LOSS_LIMIT) ||
      above.side !== below.side ||
      above.quantity_lots !== below.quantity_lots ||
      above.quote_units !== 0 ||
      below.quote_units !== 0
    )
      return R.REASON_INVALID_PARAMETER;
    // before format 8 only a LIMIT_MAKER could be an OCO's take-profit order
    if (profit.order_type !== TYPE_LIMIT_MAKER && (above.format ?? COMMAND_VERSION) < FORMAT_OCO_TAKE_PROFIT)
      return R.REASON_INVALID_PARAMETER;
    const last = market.last_price_ticks;
    const high = pair_price_ticks(above);
    const low = pair_price_ticks(below);
    if (
      profit_above !== (profit.side === SIDE_SELL) ||
      (high > 0 && low > 0 && !(high > low)) ||
      (last > 0 && ((high > 0 && !(high > last)) || (low > 0 && !(last > low))))
    )
      return R.REASON_OCO_BAD_PRICES;
    return R.REASON_NONE;
  }

  /**
   * Admits both orders of a pair (`now`: as placed now, `funds`: checked against the free balance;
   * see admit) and returns what each locks (the
   * take-profit order all it needs, the stop-loss order only what it needs beyond) and each one's
   * trailing lock price (a trailing stop-market buy's); null if either is refused (reported).
   */
  private admit_pair(
    account: number,
    market_id: number,
    above: OrderSpec,
    below: OrderSpec,
    needed: number,
    now: boolean,
    funds = true,
  ): PairLocks | null {
    const profit_above = is_take_profit_type(above.order_type);
    let problem = this.admit(account, market_id, profit_above ? above : below, needed, now, funds);
    if (problem !== R.REASON_NONE) {
      this.reject(problem);
      return null;
    }
    const profit_lock = this.admitted_lock;
    const profit_trail = this.admitted_trail_lock_ticks;
    problem = this.admit(account, market_id, profit_above ? below : above, needed, now, funds);
    if (problem !== R.REASON_NONE) {
      this.reject(problem);
      return null;
    }
    const loss_extra = Math.max(0, this.admitted_lock - profit_lock);
    const loss_trail = this.admitted_trail_lock_ticks;
    return profit_above
      ? [profit_lock, loss_extra, profit_trail, loss_trail]
      : [loss_extra, profit_lock, loss_trail, profit_trail];
  }

  /** Creates a pair's two orders (above first) with what admit_pair found; returns their slots. */
  private create_pair(
    market: Market,
    account: number,
    above: OrderSpec,
    below: OrderSpec,
    locks: PairLocks,
    list_id: number,
    waiting: boolean,
  ): [number, number] {
    return [
      this.create(market, account, above, locks[0], locks[2], list_id, waiting),
      this.create(market, account, below, locks[1], locks[3], list_id, waiting),
    ];
  }

  /** Whether a new list's client ids are free: each order's among themselves, and the list's. */
  private list_ids_free(account: number, list_cid: string | null, specs: OrderSpec[]): R.Reason {
    const ids = specs.map((x) => x.client_order_id).filter((x) => x !== null);
    if (new Set(ids).size !== ids.length) return R.REASON_DUPLICATE_ORDER;
    if (list_cid !== null && this.list_client_ids.has(`${account} ${list_cid}`))
      return R.REASON_DUPLICATE_ORDER;
    return R.REASON_NONE;
  }

  /**
   * Opens a list whose orders are created next, in order: an OCO's above and below; an OTO's
   * working order and pending order; an OTOCO's working order and pending pair. Reports it.
   */
  private open_list(
    account: number,
    market_id: number,
    list_cid: string | null,
    contingency: Contingency,
    working_id: number,
    pair: boolean,
  ): OrderList {
    const first = this.next_order_id + (working_id === 0 ? 0 : 1);
    const list: OrderList = {
      id: this.next_order_list_id++,
      account,
      market: market_id,
      client_id: list_cid,
      contingency,
      working_id,
      above_id: first,
      below_id: pair ? first + 1 : 0,
      waiting: working_id !== 0,
      pays: false,
      time_ms: this.now_ms,
    };
    this.order_lists.set(list.id, list);
    if (list_cid !== null) this.list_client_ids.set(`${account} ${list_cid}`, list.id);
    this.report_list(list, LIST_EXECUTING);
    return list;
  }

  private report_list(list: OrderList, status: ListStatus): void {
    this.sink.order_list(
      list.id,
      list.account,
      list.market,
      status,
      list.client_id ?? "",
      list.above_id,
      list.below_id,
      this.now_ms,
      list.contingency,
      list.working_id,
    );
  }

  /**
   * Every check a new order must pass against state (for an order list, `orders_needed` = its
   * orders: room for all in the open-order limits); sets admitted_lock (what it must lock) and
   * admitted_trail_lock_ticks. `now`: it is placed now; an OTO's pending order (placed later) skips
   * the checks against the book and last price as they are now (would it take, would it trigger).
   * `funds`: checked against the free balance (not for an OPO's pending orders). Changes nothing else.
   */
  private admit(
    account: number,
    market_id: number,
    spec: OrderSpec,
    orders_needed: number,
    now: boolean,
    funds = true,
  ): R.Reason {
    if (!this.account_valid(account)) return R.REASON_UNKNOWN_ACCOUNT;
    if (!this.market_valid(market_id)) return R.REASON_UNKNOWN_SYMBOL;
    if (this.maintenance) return R.REASON_MAINTENANCE;
    const market = this.markets[market_id];
    const type = spec.order_type;
    if (market.status !== MARKET_TRADING) {
      if (market.status !== MARKET_POST_ONLY) return R.REASON_MARKET_CLOSED;
      if (type !== TYPE_LIMIT_MAKER) return R.REASON_UNSUPPORTED_ORDER;
    }
    const shape = this.check_spec(market, spec);
    if (shape !== R.REASON_NONE) return shape;
    // the matching rules of the format this order was journaled in (commands.ts, OrderSpec.format)
    this.rules_format = spec.format ?? COMMAND_VERSION;
    market.sweep_high_ticks = 0;
    market.sweep_low_ticks = 0;
    // Binance's PERCENT_PRICE_BY_SIDE (a pegged order's, at the price it pegs at when it goes to work)
    if (
      has_limit_price(type) &&
      this.rules_format >= FORMAT_PERCENT_PRICE &&
      !(spec.peg_later === true && spec.peg_sent_ticks === 0) &&
      !this.price_in_band(market, spec.side, spec.price_ticks)
    )
      return R.REASON_FILTER_PERCENT_PRICE_BY_SIDE;
    if (
      now &&
      type === TYPE_MARKET &&
      spec.quote_units === 0 &&
      this.rules_format >= FORMAT_MARKET_NOTIONAL &&
      !this.market_notional_ok(market, spec.quantity_lots)
    )
      return R.REASON_FILTER_NOTIONAL;

    const row = this.row(account);
    const ledger = this.ledger;
    const cells = ledger.cells;
    const counts = ledger.counts_at(account, market_id);
    const limits = this.limits;
    const cid = spec.client_order_id;
    if (cid !== null) {
      if (row.client_ids?.has(cid) === true) return R.REASON_DUPLICATE_ORDER;
      if (!this.client_ids.has_room(account, orders_needed)) return R.REASON_CLIENT_ID_RETENTION_FULL;
    }
    if (!this.orders.has_room(orders_needed)) return R.REASON_ORDER_CAPACITY_FULL;

    const side = spec.side;
    const stop = is_stop_type(type);
    const may_rest = stop || (has_limit_price(type) && spec.tif === TIF_GTC);
    if (may_rest) {
      if (cells[counts + COUNT_OPEN] + orders_needed > limits.open_orders_per_account_market_max)
        return R.REASON_FILTER_MAX_NUM_ORDERS;
      if (cells[ledger.total_at(account)] + orders_needed > limits.open_orders_per_account_max)
        return R.REASON_FILTER_EXCHANGE_MAX_NUM_ORDERS;
      if (
        has_limit_price(type) &&
        (side === SIDE_BUY ? market.bids : market.asks).is_full_for(spec.price_ticks)
      )
        return R.REASON_PRICE_LEVELS_FULL;
    }
    if (
      spec.iceberg_lots !== undefined &&
      this.rules_format >= FORMAT_ICEBERG_LIMIT &&
      this.open_icebergs(account, market_id) >= limits.iceberg_orders_per_account_market_max
    )
      return R.REASON_FILTER_MAX_NUM_ICEBERG_ORDERS;
    if (stop) {
      if (cells[counts + COUNT_STOPS] >= limits.stop_orders_per_account_market_max)
        return R.REASON_FILTER_MAX_NUM_ALGO_ORDERS;
      if (market.stops.size + market.trailing.size >= limits.stop_orders_per_market_max)
        return R.REASON_STOP_ORDERS_FULL;
      if (
        spec.trailing_delta_bips !== undefined &&
        market.trailing.size >= limits.trailing_orders_per_market_max
      )
        return R.REASON_STOP_ORDERS_FULL;
      // (a trailing stop without a stop price has no condition to meet: it tracks from now)
      if (now && market.last_price_ticks > 0 && spec.stop_price_ticks > 0) {
        const rising = (type === TYPE_STOP_LOSS || type === TYPE_STOP_LOSS_LIMIT) === (side === SIDE_BUY);
        const met = rising
          ? market.last_price_ticks >= spec.stop_price_ticks
          : market.last_price_ticks <= spec.stop_price_ticks;
        if (met) return R.REASON_WOULD_TRIGGER;
      }
    } else if (now && type === TYPE_LIMIT_MAKER) {
      const best = side === SIDE_BUY ? market.asks.best_price() : market.bids.best_price();
      if (best !== 0 && (side === SIDE_BUY ? spec.price_ticks >= best : spec.price_ticks <= best))
        return R.REASON_WOULD_TAKE;
    }

    const cfg = market.config;
    const delta = spec.trailing_delta_bips;
    let trail_lock_ticks = 0;
    if (delta !== undefined && side === SIDE_BUY && !has_limit_price(type)) {
      trail_lock_ticks = lock_price_ticks(
        spec.stop_price_ticks,
        market.last_price_ticks,
        delta,
        cfg.max_price_ticks,
      );
      if (trail_lock_ticks === 0) return R.REASON_TRAILING_NO_REFERENCE;
    }
    const lock_asset = side === SIDE_BUY ? cfg.quote : cfg.base;
    const lock =
      trail_lock_ticks > 0
        ? trail_lock_ticks * spec.quantity_lots * cfg.quote_units_per_tick_lot
        : this.lock_needed(market, spec);
    if (funds && cells[ledger.free_at(account, lock_asset)] < lock) return R.REASON_INSUFFICIENT_BALANCE;
    this.admitted_lock = lock;
    this.admitted_trail_lock_ticks = trail_lock_ticks;
    return R.REASON_NONE;
  }

  /**
   * Creates an admitted order: locks `lock`, reports it, and files it if it is a stop order (the
   * caller runs any other: execute_taker). `list_id`: the order list it is in, or 0. `waiting`: an
   * OTO's pending order, which waits off the book (PENDING_NEW) until place_pending.
   */
  private create(
    market: Market,
    account: number,
    spec: OrderSpec,
    lock: number,
    trail_lock_ticks: number,
    list_id: number,
    waiting: boolean,
  ): number {
    const sink = this.sink;
    const market_id = market.id;
    const type = spec.order_type;
    const side = spec.side;
    const stop = is_stop_type(type);
    const delta = spec.trailing_delta_bips;
    const cid = spec.client_order_id;
    const cfg = market.config;
    const row = this.row(account);
    const ledger = this.ledger;
    const cells = ledger.cells;
    const lock_asset = side === SIDE_BUY ? cfg.quote : cfg.base;
    const balance = ledger.free_at(account, lock_asset);

    // Accepted: from here on the order exists and every exit reports its final state.
    const orders = this.orders;
    const order_id = this.next_order_id++;
    const slot = orders.allocate(order_id);
    orders.set_account(slot, account);
    orders.set_market(slot, market_id);
    orders.set_side(slot, side);
    orders.set_type(slot, type);
    orders.set_tif(slot, type === TYPE_LIMIT_MAKER ? TIF_GTC : spec.tif);
    orders.set_stp(slot, spec.stp === -1 ? cfg.stp_default : spec.stp);
    orders.set_triggered(slot, 0);
    orders.set_price_ticks(slot, has_limit_price(type) ? spec.price_ticks : 0);
    orders.set_stop_price_ticks(slot, stop ? spec.stop_price_ticks : 0);
    orders.set_strategy(slot, spec.strategy_id, spec.strategy_type);
    if (spec.iceberg_lots !== undefined)
      orders.set_iceberg(slot, { display_lots: spec.iceberg_lots, visible_lots: 0 });
    const peg_type = spec.peg_type;
    if (peg_type !== undefined)
      orders.set_peg(slot, {
        type: peg_type,
        offset_levels: spec.peg_offset_levels ?? -1,
        sent_price_ticks: spec.peg_sent_ticks ?? 0,
        pegged: spec.peg_later !== true,
      });
    orders.set_quantity_lots(slot, spec.quantity_lots);
    orders.set_quote_units(slot, spec.quote_units);
    orders.set_executed_lots(slot, 0);
    orders.set_cumulative_quote_units(slot, 0);
    orders.set_locked_units(slot, lock);
    orders.set_time_ms(slot, this.now_ms);
    orders.set_client_order_id(slot, cid);
    if (cid !== null) this.client_ids.add(row, account, cid, order_id, this.now_ms);
    if (lock > 0) {
      cells[balance] -= lock;
      cells[balance + 1] += lock;
      cells[this.ledger.updated_at(account)] = this.now_ms;
      sink.balance(account, lock_asset, cells[balance], cells[balance + 1]);
    }
    sink.order_new(
      order_id,
      account,
      market_id,
      side,
      type,
      orders.tif(slot) as TimeInForce,
      // a pegged order's price is the one it was sent with (Binance), its pegged price follows
      peg_type === undefined ? orders.price_ticks(slot) : (spec.peg_sent_ticks ?? 0),
      spec.quantity_lots,
      spec.quote_units,
      orders.stop_price_ticks(slot),
      cid,
      this.now_ms,
      orders.stp(slot) as StpMode,
      spec.strategy_id ?? -1,
      spec.strategy_type ?? -1,
      delta ?? -1,
      spec.iceberg_lots ?? -1,
    );
    if (peg_type !== undefined)
      sink.order_pegged(
        order_id,
        account,
        market_id,
        peg_type,
        spec.peg_offset_levels ?? -1,
        spec.peg_later === true ? 0 : orders.price_ticks(slot),
        this.now_ms,
      );
    if (list_id !== 0) orders.set_list_id(slot, list_id);
    if (delta !== undefined)
      orders.set_trail(slot, {
        delta_bips: delta,
        time_ms: -1,
        extreme_ticks: 0,
        lock_price_ticks: trail_lock_ticks,
      });
    if (waiting) {
      this.waiting.add(order_id);
      this.link_open(slot);
      sink.order_update(order_id, account, market_id, STATUS_PENDING_NEW, 0, 0, END_NONE);
    } else if (stop) {
      this.file_stop(market, slot);
      this.link_open(slot);
    }
    return slot;
  }

  /** Files an untriggered stop order in its market's stop or trailing list. */
  private file_stop(market: Market, slot: number): void {
    const orders = this.orders;
    if (orders.trail(slot) !== undefined) this.start_trailing(market, slot);
    else market.stops.add(orders, slot);
    this.ledger.cells[this.ledger.counts_at(orders.account(slot), market.id) + COUNT_STOPS]++;
  }

  /**
   * Files a trailing stop (its TrailState set, not tracking). Without a stop price it tracks from
   * now, from the last price (Binance's scenario E), or from the next trade if the market has none;
   * with one, from the first trade that meets it.
   */
  private start_trailing(market: Market, slot: number): void {
    const orders = this.orders;
    const trail = orders.trail(slot) as TrailState;
    const last = market.last_price_ticks;
    if (orders.stop_price_ticks(slot) === 0 && last > 0) {
      trail.time_ms = this.now_ms;
      trail.extreme_ticks = last;
      this.sink.trailing_started(orders.id(slot), orders.account(slot), market.id, last, this.now_ms);
    }
    market.trailing.add(orders, slot);
  }

  /**
   * A pegged order's spec as the engine works with it (a copy: the command's own is never changed,
   * replay reuses it). Going to work now (`now`, not a stop order): price_ticks is its pegged price,
   * which the checks that follow (admit) check as any price. Going to work later (a stop-limit order
   * when triggered, an OTO's pending order when placed; peg_later): price_ticks is what its lock is
   * reckoned at until then, the price it was sent with, or a stop's stop price, or what the peg
   * gives now, or the last price. A spec without a peg comes back as it is.
   */
  private peg_spec(market: Market, spec: OrderSpec, now: boolean): OrderSpec | R.Reason {
    if (spec.peg_type === undefined) return spec;
    const problem = check_peg(spec);
    if (problem !== R.REASON_NONE) return problem;
    const pegged = this.peg_price(market, spec.side, spec.peg_type, spec.peg_offset_levels ?? 0);
    if (now && !is_stop_type(spec.order_type)) {
      if (pegged === 0) return R.REASON_PEG_NO_PRICE;
      return { ...spec, price_ticks: pegged, peg_sent_ticks: spec.price_ticks };
    }
    const reckoned = spec.price_ticks || spec.stop_price_ticks || pegged || market.last_price_ticks;
    if (reckoned === 0) return R.REASON_PEG_NO_PRICE;
    return { ...spec, price_ticks: reckoned, peg_sent_ticks: spec.price_ticks, peg_later: true };
  }

  /**
   * Binance's PERCENT_PRICE_BY_SIDE: a buy's limit price within [p × bid_down, p × bid_up], a
   * sell's within the ask band (EngineLimits, parts per million), p the market's reference price
   * when it has one (reference.ts), else its last price (avgPriceMins 0); any price before the
   * market's first trade.
   */
  private price_in_band(market: Market, side: number, price_ticks: number): boolean {
    const l = this.limits;
    const buy = side === SIDE_BUY;
    const up = buy ? l.percent_price_bid_up_ppm : l.percent_price_ask_up_ppm;
    const down = buy ? l.percent_price_bid_down_ppm : l.percent_price_ask_down_ppm;
    // Binance (2026-05): against the reference price when there is one, else as before
    if (market.price_range !== null) {
      const within = market.price_range.in_percent_band(side, price_ticks, up, down, this.now_ms);
      if (within !== null) return within;
    }
    const last = market.last_price_ticks;
    if (last === 0) return true;
    return times_at_most(price_ticks, PPM, last, up) && times_at_most(last, down, price_ticks, PPM);
  }

  /**
   * Binance's NOTIONAL minimum for a MARKET order by quantity (exchangeInfo: applyMinToMarket true,
   * avgPriceMins 0), at the market's reference price when it has one (Binance since 2026-05: the
   * filters "use reference price when it exists and is non-null"), else at its last price; any
   * quantity before the market's first trade.
   */
  private market_notional_ok(market: Market, quantity_lots: number): boolean {
    const cfg = market.config;
    const units_per_tick = quantity_lots * cfg.quote_units_per_tick_lot;
    if (market.price_range !== null) {
      const reference_e4 = market.price_range.reference_e4(this.now_ms);
      // floor(x / 10^4) >= min exactly when x >= min × 10^4: the reference's fraction cannot round it up
      if (reference_e4 !== 0)
        return mul_div_floor(reference_e4, units_per_tick, E4) >= cfg.min_notional_units;
    }
    const last = market.last_price_ticks;
    return last === 0 || last * units_per_tick >= cfg.min_notional_units;
  }

  /** The price a peg gives now: PRIMARY the order's own side of the book, MARKET the other; 0: none. */
  private peg_price(market: Market, side: number, peg_type: number, offset_levels: number): number {
    const own = (peg_type === PEG_PRIMARY) === (side === SIDE_BUY);
    return (own ? market.bids : market.asks).price_at_depth(offset_levels);
  }

  /**
   * A pegged order goes to work later than placed (a stop-limit order triggered, an OTO's pending
   * order placed): its price is taken from the book now and its lock made what that price needs,
   * more from the free balance or the excess released (an OCO's stop-limit order so takes over the
   * lock of the other, released just before). It expires instead if its side of the book has no
   * such level, the price fails the NOTIONAL filter, or the free balance cannot pay the difference
   * (Binance: such orders "are (re)validated at the trigger time and may be rejected later").
   */
  private peg_now(market: Market, slot: number, peg: PegState): boolean {
    const orders = this.orders;
    const cfg = market.config;
    const side = orders.side(slot);
    const lots = orders.remaining_lots(slot);
    const price = this.peg_price(market, side, peg.type, Math.max(0, peg.offset_levels));
    if (
      price === 0 ||
      price * lots * cfg.quote_units_per_tick_lot < cfg.min_notional_units ||
      (this.rules_format >= FORMAT_PERCENT_PRICE && !this.price_in_band(market, side, price))
    ) {
      this.finish_taker(market, slot, STATUS_EXPIRED, END_NONE);
      return false;
    }
    const account = orders.account(slot);
    const before = orders.price_ticks(slot);
    orders.set_price_ticks(slot, price);
    const need = lots * this.lot_lock(market, slot) - orders.locked_units(slot);
    if (need > 0) {
      const asset = side === SIDE_BUY ? cfg.quote : cfg.base;
      const cells = this.ledger.cells;
      const at = this.ledger.free_at(account, asset);
      if (cells[at] < need) {
        orders.set_price_ticks(slot, before);
        this.finish_taker(market, slot, STATUS_EXPIRED, END_NONE);
        return false;
      }
      cells[at] -= need;
      cells[at + 1] += need;
      orders.set_locked_units(slot, orders.locked_units(slot) + need);
      cells[this.ledger.updated_at(account)] = this.now_ms;
      this.sink.balance(account, asset, cells[at], cells[at + 1]);
    } else if (need < 0) this.release_part(market, slot, -need);
    peg.pegged = true;
    this.sink.order_pegged(
      orders.id(slot),
      account,
      market.id,
      peg.type,
      peg.offset_levels,
      price,
      this.now_ms,
    );
    return true;
  }

  private reject(reason: R.Reason, detail: string | null = null): 0 {
    this.sink.rejected(reason, detail);
    return 0;
  }

  /**
   * Stateless shape checks, repeated here so that no journaled command can break an invariant even if
   * the gateway's validator has a bug. They are comparisons only: cheap on the hot path.
   */
  private check_spec(market: Market, spec: OrderSpec): R.Reason {
    const cfg = market.config;
    const type = spec.order_type;
    if (!(spec.side === SIDE_BUY || spec.side === SIDE_SELL)) return R.REASON_INVALID_PARAMETER;
    if (!(Number.isInteger(type) && type >= 0 && type <= TYPE_TAKE_PROFIT_LIMIT))
      return R.REASON_INVALID_PARAMETER;
    if (!(Number.isInteger(spec.tif) && spec.tif >= 0 && spec.tif <= TIF_FOK))
      return R.REASON_INVALID_PARAMETER;
    if (!(Number.isInteger(spec.stp) && spec.stp >= -1 && spec.stp <= STP_TRANSFER))
      return R.REASON_INVALID_PARAMETER;
    const cid = spec.client_order_id;
    if (cid !== null && (typeof cid !== "string" || !CLIENT_ORDER_ID_RE.test(cid)))
      return R.REASON_INVALID_PARAMETER;
    const sid = spec.strategy_id;
    if (sid !== undefined && !(Number.isSafeInteger(sid) && sid >= 0)) return R.REASON_INVALID_PARAMETER;
    const stype = spec.strategy_type;
    if (
      stype !== undefined &&
      !(Number.isInteger(stype) && stype >= STRATEGY_TYPE_MIN && stype <= STRATEGY_TYPE_MAX)
    )
      return R.REASON_INVALID_PARAMETER;
    if (has_limit_price(type)) {
      const p = spec.price_ticks;
      if (!(Number.isSafeInteger(p) && p >= cfg.min_price_ticks && p <= cfg.max_price_ticks))
        return R.REASON_FILTER_PRICE;
    }
    if (spec.peg_type !== undefined) {
      const peg = check_peg(spec);
      if (peg !== R.REASON_NONE) return peg;
    }
    const iceberg = spec.iceberg_lots;
    if (iceberg !== undefined) {
      // Binance: "Unsupported order combination" unless a limit-priced GTC order
      if (!has_limit_price(type) || (type !== TYPE_LIMIT_MAKER && spec.tif !== TIF_GTC))
        return R.REASON_UNSUPPORTED_ORDER;
      if (!(Number.isSafeInteger(iceberg) && iceberg >= cfg.min_qty_lots)) return R.REASON_FILTER_LOT_SIZE;
      if (!(iceberg < spec.quantity_lots)) return R.REASON_ICEBERG_EXCEEDS_QTY;
      if (Math.ceil(spec.quantity_lots / iceberg) > ICEBERG_PARTS_MAX) return R.REASON_FILTER_ICEBERG_PARTS;
    }
    const delta = spec.trailing_delta_bips;
    if (delta !== undefined) {
      if (!is_stop_type(type)) return R.REASON_INVALID_PARAMETER;
      if (!(Number.isInteger(delta) && delta >= TRAILING_DELTA_MIN_BIPS && delta <= TRAILING_DELTA_MAX_BIPS))
        return R.REASON_FILTER_TRAILING_DELTA;
    }
    if (is_stop_type(type)) {
      const s = spec.stop_price_ticks;
      // a trailing stop's stop price is optional: 0, none
      const none = delta !== undefined && s === 0;
      if (!none && !(Number.isSafeInteger(s) && s >= cfg.min_price_ticks && s <= cfg.max_price_ticks))
        return R.REASON_FILTER_PRICE;
    }
    if (type === TYPE_MARKET && spec.quote_units !== 0) {
      const q = spec.quote_units;
      if (spec.quantity_lots !== 0) return R.REASON_INVALID_PARAMETER;
      if (!(Number.isSafeInteger(q) && q > 0)) return R.REASON_INVALID_PARAMETER;
      if (q < cfg.min_notional_units) return R.REASON_FILTER_NOTIONAL;
      if (q > cfg.max_price_ticks * cfg.max_qty_lots * cfg.quote_units_per_tick_lot)
        return R.REASON_FILTER_NOTIONAL;
      return R.REASON_NONE;
    }
    if (spec.quote_units !== 0) return R.REASON_INVALID_PARAMETER;
    const n = spec.quantity_lots;
    if (!(Number.isSafeInteger(n) && n >= cfg.min_qty_lots && n <= cfg.max_qty_lots))
      return R.REASON_FILTER_LOT_SIZE;
    if (has_limit_price(type) && spec.price_ticks * n * cfg.quote_units_per_tick_lot < cfg.min_notional_units)
      return R.REASON_FILTER_NOTIONAL;
    return R.REASON_NONE;
  }

  /** What an order must lock up front: everything it could spend (see docs/ENGINE.md, "Funds"). */
  private lock_needed(market: Market, spec: OrderSpec): number {
    const cfg = market.config;
    const k = cfg.quote_units_per_tick_lot;
    const type = spec.order_type;
    if (spec.side === SIDE_SELL) {
      if (type === TYPE_MARKET && spec.quote_units > 0)
        return this.lots_for_quote(market.bids, spec.quote_units, k) * cfg.lot_units;
      return spec.quantity_lots * cfg.lot_units;
    }
    if (has_limit_price(type)) return spec.price_ticks * spec.quantity_lots * k;
    if (type === TYPE_MARKET) {
      if (spec.quote_units > 0) return spec.quote_units;
      return this.cost_of_lots(market, spec.quantity_lots);
    }
    // A stop-market buy cannot know its fill price; it locks the cost at its stop price and, once
    // triggered, never spends more than that lock (the remainder expires).
    return spec.stop_price_ticks * spec.quantity_lots * k;
  }

  /**
   * What a level can trade: its total, or while any iceberg order is live, everything its orders
   * have left (a taker goes on taking an iceberg's parts as they show).
   */
  private level_depth(level: number): number {
    const pool = this.levels;
    const orders = this.orders;
    if (orders.iceberg_count === 0) return pool.quantity_lots[level];
    let lots = 0;
    for (let o = pool.head[level]; o !== 0; o = orders.next(o)) lots += orders.remaining_lots(o);
    return lots;
  }

  /** Quote cost of buying `lots` from the asks now (what the book holds, if less). */
  private cost_of_lots(market: Market, lots: number): number {
    const asks = market.asks;
    const pool = this.levels;
    const k = market.config.quote_units_per_tick_lot;
    let need = lots;
    let cost = 0;
    for (let i = asks.count - 1; i >= 0 && need > 0; i--) {
      const level = asks.levels[i];
      const take = Math.min(need, this.level_depth(level));
      cost += take * pool.price_ticks[level] * k;
      need -= take;
    }
    return cost;
  }

  /** Lots a quote amount buys or sells walking `side` from its best level, taking whole lots only. */
  private lots_for_quote(side: Market["bids"], quote_units: number, k: number): number {
    const pool = this.levels;
    let left = quote_units;
    let lots = 0;
    for (let i = side.count - 1; i >= 0; i--) {
      const level = side.levels[i];
      const lot_cost = pool.price_ticks[level] * k;
      const affordable = Math.floor(left / lot_cost);
      const depth = this.level_depth(level);
      const take = Math.min(affordable, depth);
      lots += take;
      left -= take * lot_cost;
      if (take < depth) break;
    }
    return lots;
  }

  // ---------------------------------------------------------------- matching

  /** Matches an accepted (or just triggered) order, then rests, fills or expires its remainder. */
  private execute_taker(market: Market, slot: number): void {
    const orders = this.orders;
    if (orders.tif(slot) === TIF_FOK && !this.fok_fillable(market, slot)) {
      this.finish_taker(market, slot, STATUS_EXPIRED, this.fok_banded ? END_PRICE_RANGE : END_NO_LIQUIDITY);
      return;
    }
    this.match_stop = STOP_NONE;
    this.match(market, slot);
    const stop = this.match_stop;
    const type = orders.type(slot);
    const by_quote = orders.quote_units(slot) > 0;
    if (stop === STOP_PREVENTED) {
      this.finish_taker(market, slot, STATUS_EXPIRED_IN_MATCH, END_STP);
    } else if (!by_quote && orders.remaining_lots(slot) === 0) {
      this.finish_taker(market, slot, STATUS_FILLED, END_NONE);
    } else if (stop === STOP_STP) {
      this.finish_taker(market, slot, STATUS_EXPIRED_IN_MATCH, END_STP);
    } else if (stop === STOP_PRICE_RANGE) {
      // Binance: a taker that attempts to trade outside the range expires, even a GTC limit order
      this.finish_taker(market, slot, STATUS_EXPIRED, END_PRICE_RANGE);
    } else if (has_limit_price(type) && orders.tif(slot) === TIF_GTC) {
      this.rest(market, slot);
    } else if (by_quote && orders.executed_lots(slot) > 0 && stop === STOP_FUNDS) {
      // The quote amount is spent down to less than one lot at the next price: done.
      this.finish_taker(market, slot, STATUS_FILLED, END_NONE);
    } else {
      this.finish_taker(market, slot, STATUS_EXPIRED, stop === STOP_FUNDS ? END_FUNDS : END_NO_LIQUIDITY);
    }
  }

  /** Whether a FOK order could fill completely now, taking self-trade prevention into account. */
  private fok_fillable(market: Market, slot: number): boolean {
    const orders = this.orders;
    const pool = this.levels;
    const side = orders.side(slot);
    const book = side === SIDE_BUY ? market.asks : market.bids;
    const limit = orders.price_ticks(slot);
    const account = orders.account(slot);
    const stp = orders.stp(slot);
    // the PRICE_RANGE bounds, as match() takes them
    let lo = 0;
    let hi = Number.MAX_SAFE_INTEGER;
    const range = market.price_range;
    if (range !== null) {
      range.execution_bounds(side === SIDE_BUY, this.now_ms);
      lo = range.lo_ticks;
      hi = range.hi_ticks;
    }
    this.fok_banded = false;
    let need = orders.remaining_lots(slot);
    for (let i = book.count - 1; i >= 0 && need > 0; i--) {
      const level = book.levels[i];
      const price = pool.price_ticks[level];
      if (side === SIDE_BUY ? price > limit : price < limit) break;
      if (price < lo || price > hi) {
        this.fok_banded = true;
        break;
      }
      if (stp === STP_NONE) {
        need -= this.level_depth(level);
        continue;
      }
      for (let o = pool.head[level]; o !== 0 && need > 0; o = orders.next(o)) {
        if (orders.account(o) === account) {
          if (stp === STP_EXPIRE_MAKER) continue;
          // EXPIRE_TAKER / EXPIRE_BOTH would stop the order here; DECREMENT would take some of it
          return false;
        }
        need -= orders.remaining_lots(o);
      }
    }
    return need <= 0;
  }

  private match(market: Market, slot: number): void {
    const orders = this.orders;
    const pool = this.levels;
    const sink = this.sink;
    const cfg = market.config;
    const k = cfg.quote_units_per_tick_lot;
    const side = orders.side(slot);
    const book = side === SIDE_BUY ? market.asks : market.bids;
    const limited = has_limit_price(orders.type(slot));
    const limit = orders.price_ticks(slot);
    const account = orders.account(slot);
    const stp = orders.stp(slot);
    const by_quote = orders.quote_units(slot) > 0;
    // A market buy by quantity spends only what it locked; a limit order's lock always suffices.
    const capped_buy = side === SIDE_BUY && !limited;
    const book_side: Side = side === SIDE_BUY ? SIDE_SELL : SIDE_BUY;
    // the PRICE_RANGE bounds, from the reference price as the taker phase begins (at its first level)
    let lo = 0;
    let hi = Number.MAX_SAFE_INTEGER;
    let bounds_due = market.price_range !== null;
    while (book.count > 0) {
      const level = book.levels[book.count - 1];
      const price = pool.price_ticks[level];
      if (limited && (side === SIDE_BUY ? price > limit : price < limit)) break;
      if (bounds_due) {
        bounds_due = false;
        const range = market.price_range as PriceRange;
        range.execution_bounds(side === SIDE_BUY, this.now_ms);
        lo = range.lo_ticks;
        hi = range.hi_ticks;
      }
      if (price < lo || price > hi) {
        this.match_stop = STOP_PRICE_RANGE;
        break;
      }
      const lot_cost = price * k;
      let level_gone = false;
      let maker = pool.head[level];
      while (maker !== 0) {
        const next = orders.next(maker);
        // what the taker has left to trade here: its quantity, or the whole lots its quote amount buys
        let lots = by_quote
          ? this.taker_lots_left(slot, lot_cost, cfg.lot_units)
          : orders.remaining_lots(slot);
        if (lots === 0 && this.rules_format >= FORMAT_STP_AFTER_FILL) {
          if (by_quote) this.match_stop = STOP_FUNDS;
          break;
        }
        if (stp !== STP_NONE && orders.account(maker) === account) {
          level_gone = this.prevent_self_trade(market, slot, maker, level, price, lots, lot_cost);
          if (this.match_stop !== STOP_NONE) break;
          // an iceberg DECREMENT reduced that showed its next part and was last: it is next again
          maker = next === 0 && this.shown_again ? maker : next;
          continue;
        }
        // an iceberg maker trades what it shows; the rest shows next, at the back of the queue
        const shown = orders.book_lots(maker);
        if (shown < lots) lots = shown;
        if (lots === 0) {
          // only before FORMAT_STP_AFTER_FILL: a taker with nothing left got this far
          if (by_quote) this.match_stop = STOP_FUNDS;
          break;
        }
        if (capped_buy) {
          const affordable = Math.floor(orders.locked_units(slot) / lot_cost);
          if (affordable < lots) lots = affordable;
          if (lots === 0) {
            this.match_stop = STOP_FUNDS;
            break;
          }
        }
        this.shown_again = false;
        level_gone = this.fill(market, slot, maker, level, price, lots);
        // an iceberg that was last in the queue and showed its next part is last again: it is next
        maker = next === 0 && this.shown_again ? maker : next;
      }
      // Leaving a level that still has orders, with no STP stop, means the taker could not pay for
      // more (quote amount or lock spent), unless it is simply complete.
      if (!level_gone && this.match_stop === STOP_NONE && (by_quote || orders.remaining_lots(slot) > 0))
        this.match_stop = STOP_FUNDS;
      // the command's highest and lowest trade prices, for plain stops (run_triggers); a taker's
      // prices only move one way, so once per level is enough
      if (market.last_price_ticks === price) {
        if (price > market.sweep_high_ticks) market.sweep_high_ticks = price;
        if (market.sweep_low_ticks === 0 || price < market.sweep_low_ticks) market.sweep_low_ticks = price;
      }
      market.book_update_id++;
      sink.book(
        market.id,
        market.book_update_id,
        book_side,
        price,
        level_gone ? 0 : pool.quantity_lots[level],
      );
      if (!level_gone || this.match_stop !== STOP_NONE) break;
      if (!by_quote && orders.remaining_lots(slot) === 0) break;
    }
  }

  /**
   * Self-trade prevention between a taker and a resting order of its own account, by the taker's mode
   * (not NONE): records the prevented match, then expires the maker (EXPIRE_MAKER/BOTH), stops the
   * taker (EXPIRE_TAKER/BOTH: match_stop STOP_STP) or takes from both (DECREMENT, TRANSFER).
   * `taker_left`: what the taker has left to trade at this price. Returns true if the level emptied.
   */
  private prevent_self_trade(
    market: Market,
    taker: number,
    maker: number,
    level: number,
    price: number,
    taker_left: number,
    lot_cost: number,
  ): boolean {
    const orders = this.orders;
    const stp = orders.stp(taker);
    this.shown_again = false;
    if (stp >= STP_DECREMENT) return this.decrement(market, taker, maker, level, price, taker_left, lot_cost);
    const expire_maker = stp === STP_EXPIRE_MAKER || stp === STP_EXPIRE_BOTH;
    const expire_taker = stp === STP_EXPIRE_TAKER || stp === STP_EXPIRE_BOTH;
    // Recorded before the orders expire, so that their updates can name it.
    const maker_lots = expire_maker ? orders.remaining_lots(maker) : -1;
    this.sink.prevented_match(
      market.id,
      market.next_prevented_match_id++,
      orders.id(taker),
      orders.id(maker),
      orders.account(taker),
      price,
      expire_taker ? taker_left : -1,
      maker_lots,
      expire_taker ? orders.prevented_lots(taker) + taker_left : -1,
      expire_maker ? orders.prevented_lots(maker) + maker_lots : -1,
      stp as StpMode,
      this.now_ms,
    );
    const gone = expire_maker && this.close_resting(market, maker, STATUS_EXPIRED_IN_MATCH, END_STP);
    if (expire_taker) this.match_stop = STOP_STP;
    return gone;
  }

  /**
   * DECREMENT (and TRANSFER, the same within one account): the taker and its own resting order each
   * lose what would have traded, the smaller of what the taker has left here (`taker_left`) and what
   * the maker shows. The one with nothing left expires (both if equal); the other goes on with the
   * rest, reported as reduced by prevention: a maker keeps its place in the queue (an iceberg whose
   * part is used up shows the next at the back), a taker goes on matching. What either order had
   * locked for the prevented quantity is released at once. Sets match_stop to STOP_PREVENTED if the
   * taker has nothing left; returns true if the maker's level emptied.
   */
  private decrement(
    market: Market,
    taker: number,
    maker: number,
    level: number,
    price: number,
    taker_left: number,
    lot_cost: number,
  ): boolean {
    const orders = this.orders;
    const cfg = market.config;
    const maker_left = orders.remaining_lots(maker);
    const lots = Math.min(taker_left, orders.book_lots(maker));
    assert(lots > 0, "a prevented match of nothing");
    const mode =
      orders.stp(taker) === STP_TRANSFER && orders.stp(maker) === STP_TRANSFER ? STP_TRANSFER : STP_DECREMENT;
    this.sink.prevented_match(
      market.id,
      market.next_prevented_match_id++,
      orders.id(taker),
      orders.id(maker),
      orders.account(taker),
      price,
      lots,
      lots,
      orders.prevented_lots(taker) + lots,
      orders.prevented_lots(maker) + lots,
      mode,
      this.now_ms,
    );

    // the taker: a quantity shrinks (with its lock, but for a market buy's, which only caps what it
    // spends); a quote amount loses what those lots would have cost here
    orders.add_prevented(taker, lots);
    if (orders.quote_units(taker) > 0) {
      orders.set_quote_units(taker, orders.quote_units(taker) - lots * lot_cost);
    } else {
      orders.set_quantity_lots(taker, orders.quantity_lots(taker) - lots);
      if (orders.side(taker) === SIDE_SELL) this.release_part(market, taker, lots * cfg.lot_units);
      else if (has_limit_price(orders.type(taker)))
        this.release_part(market, taker, lots * orders.price_ticks(taker) * cfg.quote_units_per_tick_lot);
    }
    const taker_done = lots === taker_left;
    if (!taker_done) this.report_prevented(market, taker);

    let gone = false;
    if (lots === maker_left) {
      gone = this.close_resting(market, maker, STATUS_EXPIRED_IN_MATCH, END_STP);
    } else {
      orders.add_prevented(maker, lots);
      orders.set_quantity_lots(maker, orders.quantity_lots(maker) - lots);
      this.release_part(market, maker, lots * this.lot_lock(market, maker));
      this.levels.quantity_lots[level] -= lots;
      const ice = orders.iceberg(maker);
      if (ice !== undefined) {
        ice.visible_lots -= lots;
        if (ice.visible_lots === 0) {
          ice.visible_lots = Math.min(ice.display_lots, maker_left - lots);
          this.levels.quantity_lots[level] += ice.visible_lots;
          (orders.side(maker) === SIDE_BUY ? market.bids : market.asks).requeue(orders, maker);
          this.shown_again = true;
        }
      }
      this.report_prevented(market, maker);
      // an OCO's limit maker prevention took from: the contingency resolves, as on a trade
      if (orders.list_id(maker) !== 0) this.settle_list(market, maker, STATUS_PARTIALLY_FILLED);
    }
    if (taker_done) this.match_stop = STOP_PREVENTED;
    return gone;
  }

  /** An order self-trade prevention reduced and left open: its state now, ended by STP. */
  private report_prevented(market: Market, slot: number): void {
    const orders = this.orders;
    const executed = orders.executed_lots(slot);
    this.sink.order_update(
      orders.id(slot),
      orders.account(slot),
      market.id,
      executed > 0 ? STATUS_PARTIALLY_FILLED : STATUS_NEW,
      executed,
      orders.cumulative_quote_units(slot),
      END_STP,
    );
  }

  /**
   * What a taker has left to trade, in lots, at a price whose lot costs `lot_cost` quote units: its
   * remaining quantity, or for an order by quote amount the whole lots that amount still buys there
   * (a sell also no more than it locked). What a self-trade prevention that expires it prevents.
   */
  private taker_lots_left(slot: number, lot_cost: number, lot_units: number): number {
    const orders = this.orders;
    if (orders.quote_units(slot) === 0) return orders.remaining_lots(slot);
    const quote_left = orders.quote_units(slot) - orders.cumulative_quote_units(slot);
    let lots = Math.floor(quote_left / lot_cost);
    if (orders.side(slot) === SIDE_SELL)
      lots = Math.min(lots, Math.floor(orders.locked_units(slot) / lot_units));
    return lots;
  }

  /**
   * One trade between a taker and a resting maker at the maker's price: moves the money, charges
   * fees in the asset each side receives, and retires the maker if it is filled. Returns true if
   * the maker's level emptied and was removed.
   */
  private fill(
    market: Market,
    taker: number,
    maker: number,
    level: number,
    price: number,
    lots: number,
  ): boolean {
    const orders = this.orders;
    const sink = this.sink;
    const cfg = market.config;
    const base = cfg.base;
    const quote = cfg.quote;
    const quote_units = price * lots * cfg.quote_units_per_tick_lot;
    const base_units = lots * cfg.lot_units;
    const taker_account = orders.account(taker);
    const maker_account = orders.account(maker);
    const ledger = this.ledger;
    const cells = ledger.cells;
    // Each account's base and quote cells (free; locked is the next one).
    const t_base = ledger.free_at(taker_account, base);
    const t_quote = ledger.free_at(taker_account, quote);
    const m_base = ledger.free_at(maker_account, base);
    const m_quote = ledger.free_at(maker_account, quote);
    const taker_side = orders.side(taker) as Side;
    let taker_fee_ppm = cfg.taker_fee_ppm;
    let maker_fee_ppm = cfg.maker_fee_ppm;
    if (this.account_fees.size > 0) {
      const t = this.account_fees.get(taker_account);
      if (t !== undefined && t.taker_fee_ppm >= 0) taker_fee_ppm = t.taker_fee_ppm;
      const m = this.account_fees.get(maker_account);
      if (m !== undefined && m.maker_fee_ppm >= 0) maker_fee_ppm = m.maker_fee_ppm;
    }
    let taker_fee: number;
    let maker_fee: number;
    if (taker_side === SIDE_BUY) {
      // The buyer locked at its limit price (or a market lock); it pays the maker's price and gets
      // the difference back at once.
      const release = has_limit_price(orders.type(taker))
        ? orders.price_ticks(taker) * lots * cfg.quote_units_per_tick_lot
        : quote_units;
      orders.set_locked_units(taker, orders.locked_units(taker) - release);
      cells[t_quote + 1] -= release;
      cells[t_quote] += release - quote_units;
      taker_fee = fee_units(base_units, taker_fee_ppm);
      cells[t_base] += base_units - taker_fee;
      this.asset_totals[base].fees_units += taker_fee;
      if (orders.list_id(taker) !== 0) this.pay_pending(market, taker, base_units, taker_fee);
      orders.set_locked_units(maker, orders.locked_units(maker) - base_units);
      cells[m_base + 1] -= base_units;
      maker_fee = fee_units(quote_units, maker_fee_ppm);
      cells[m_quote] += quote_units - maker_fee;
      this.asset_totals[quote].fees_units += maker_fee;
    } else {
      orders.set_locked_units(taker, orders.locked_units(taker) - base_units);
      cells[t_base + 1] -= base_units;
      taker_fee = fee_units(quote_units, taker_fee_ppm);
      cells[t_quote] += quote_units - taker_fee;
      this.asset_totals[quote].fees_units += taker_fee;
      orders.set_locked_units(maker, orders.locked_units(maker) - quote_units);
      cells[m_quote + 1] -= quote_units;
      maker_fee = fee_units(base_units, maker_fee_ppm);
      cells[m_base] += base_units - maker_fee;
      this.asset_totals[base].fees_units += maker_fee;
      if (orders.list_id(maker) !== 0) this.pay_pending(market, maker, base_units, maker_fee);
    }
    assert(orders.locked_units(taker) >= 0 && orders.locked_units(maker) >= 0, "order lock went negative");
    assert(cells[t_quote + 1] >= 0 && cells[t_base + 1] >= 0, "taker locked balance went negative");
    assert(cells[m_quote + 1] >= 0 && cells[m_base + 1] >= 0, "maker locked balance went negative");
    orders.set_executed_lots(taker, orders.executed_lots(taker) + lots);
    orders.set_cumulative_quote_units(taker, orders.cumulative_quote_units(taker) + quote_units);
    orders.set_executed_lots(maker, orders.executed_lots(maker) + lots);
    orders.set_cumulative_quote_units(maker, orders.cumulative_quote_units(maker) + quote_units);
    market.last_price_ticks = price;
    if (market.price_range !== null) market.price_range.record(price, this.now_ms);
    const now = this.now_ms;
    sink.trade(
      market.id,
      market.next_trade_id++,
      price,
      lots,
      quote_units,
      orders.id(taker),
      orders.id(maker),
      taker_account,
      maker_account,
      taker_side,
      taker_fee,
      maker_fee,
      now,
    );
    cells[ledger.updated_at(taker_account)] = now;
    cells[ledger.updated_at(maker_account)] = now;
    sink.balance(taker_account, base, cells[t_base], cells[t_base + 1]);
    sink.balance(taker_account, quote, cells[t_quote], cells[t_quote + 1]);
    sink.balance(maker_account, base, cells[m_base], cells[m_base + 1]);
    sink.balance(maker_account, quote, cells[m_quote], cells[m_quote + 1]);
    // Trailing stops see every trade price; those that fire run once this taker is done.
    if (market.trailing.slots.length !== 0) market.trailing.on_trade(orders, price, now, sink, market.id);

    const maker_left = orders.remaining_lots(maker);
    if (maker_left > 0) {
      this.levels.quantity_lots[level] -= lots;
      const ice = orders.iceberg(maker);
      if (ice !== undefined) {
        ice.visible_lots -= lots;
        if (ice.visible_lots === 0) {
          // its part is filled: the next one shows, at the back of the queue
          ice.visible_lots = Math.min(ice.display_lots, maker_left);
          this.levels.quantity_lots[level] += ice.visible_lots;
          (orders.side(maker) === SIDE_BUY ? market.bids : market.asks).requeue(orders, maker);
          this.shown_again = true;
        }
      }
      sink.order_update(
        orders.id(maker),
        maker_account,
        market.id,
        STATUS_PARTIALLY_FILLED,
        orders.executed_lots(maker),
        orders.cumulative_quote_units(maker),
        END_NONE,
      );
      // an OCO's limit maker that trades: its stop expires
      if (orders.list_id(maker) !== 0) this.settle_list(market, maker, STATUS_PARTIALLY_FILLED);
      return false;
    }
    assert(orders.locked_units(maker) === 0, "a filled maker still holds funds");
    sink.order_update(
      orders.id(maker),
      maker_account,
      market.id,
      STATUS_FILLED,
      orders.executed_lots(maker),
      orders.cumulative_quote_units(maker),
      END_NONE,
    );
    // an OCO's limit maker: its stop expires; an OTO's working order: its pending orders are placed
    if (orders.list_id(maker) !== 0) this.settle_list(market, maker, STATUS_FILLED);
    const book = orders.side(maker) === SIDE_BUY ? market.bids : market.asks;
    const gone = book.unlink(orders, maker, lots);
    this.unlink_open(maker);
    orders.release(maker);
    return gone;
  }

  /** Puts a taker's remainder in the book (GTC limit types). */
  private rest(market: Market, slot: number): void {
    const orders = this.orders;
    const side = orders.side(slot) as Side;
    const book = side === SIDE_BUY ? market.bids : market.asks;
    const price = orders.price_ticks(slot);
    // Placement checked for room, but a stop-limit order triggers later, when the book may be full.
    if (book.is_full_for(price)) {
      this.finish_taker(market, slot, STATUS_EXPIRED, END_EXCHANGE);
      return;
    }
    const left = orders.remaining_lots(slot);
    const ice = orders.iceberg(slot);
    if (ice !== undefined) ice.visible_lots = Math.min(ice.display_lots, left);
    const level = book.append(orders, slot, price, ice === undefined ? left : ice.visible_lots);
    if (orders.open(slot) === 0) this.link_open(slot);
    market.book_update_id++;
    this.sink.book(market.id, market.book_update_id, side, price, this.levels.quantity_lots[level]);
    if (orders.executed_lots(slot) > 0) {
      this.sink.order_update(
        orders.id(slot),
        orders.account(slot),
        market.id,
        STATUS_PARTIALLY_FILLED,
        orders.executed_lots(slot),
        orders.cumulative_quote_units(slot),
        END_NONE,
      );
    }
  }

  /** Ends a taker that is not resting: releases what it still locks and frees its slot. */
  private finish_taker(market: Market, slot: number, status: OrderStatus, end: EndReason): void {
    this.release_lock(market, slot);
    this.unlink_open(slot);
    this.report_final(market, slot, status, end);
    if (this.orders.list_id(slot) !== 0) this.settle_list(market, slot, status);
    this.orders.release(slot);
  }

  /** Removes a resting order from its book; returns true if its level emptied. */
  private close_resting(market: Market, slot: number, status: OrderStatus, end: EndReason): boolean {
    const orders = this.orders;
    const side = orders.side(slot) as Side;
    const book = side === SIDE_BUY ? market.bids : market.asks;
    const level = orders.level(slot);
    const price = this.levels.price_ticks[level]; // the level's copy: the order's cold record stays untouched
    const gone = book.unlink(orders, slot, orders.book_lots(slot));
    market.book_update_id++;
    this.sink.book(
      market.id,
      market.book_update_id,
      side,
      price,
      gone ? 0 : this.levels.quantity_lots[level],
    );
    this.release_lock(market, slot);
    this.unlink_open(slot);
    this.report_final(market, slot, status, end);
    if (orders.list_id(slot) !== 0) this.settle_list(market, slot, status);
    orders.release(slot);
    return gone;
  }

  /** Removes an untriggered stop order. */
  private close_stop(market: Market, slot: number, status: OrderStatus, end: EndReason): void {
    const orders = this.orders;
    if (orders.trail(slot) !== undefined) market.trailing.remove(orders, slot);
    else market.stops.remove(orders, slot);
    this.ledger.cells[this.ledger.counts_at(orders.account(slot), market.id) + COUNT_STOPS]--;
    this.release_lock(market, slot);
    this.unlink_open(slot);
    this.report_final(market, slot, status, end);
    if (orders.list_id(slot) !== 0) this.settle_list(market, slot, status);
    orders.release(slot);
  }

  private release_lock(market: Market, slot: number): void {
    this.release_part(market, slot, this.orders.locked_units(slot));
  }

  /** Releases `amount` of what an order locks back to its account's free balance. */
  private release_part(market: Market, slot: number, amount: number): void {
    const orders = this.orders;
    if (amount === 0) return;
    assert(amount > 0 && amount <= orders.locked_units(slot), "releasing more than an order locks");
    const account = orders.account(slot);
    const asset = orders.side(slot) === SIDE_BUY ? market.config.quote : market.config.base;
    const cells = this.ledger.cells;
    const at = this.ledger.free_at(account, asset);
    cells[at + 1] -= amount;
    cells[at] += amount;
    orders.set_locked_units(slot, orders.locked_units(slot) - amount);
    cells[this.ledger.updated_at(account)] = this.now_ms;
    assert(cells[at + 1] >= 0, "locked balance went negative on release");
    this.sink.balance(account, asset, cells[at], cells[at + 1]);
  }

  /**
   * What became of an order of a pending list (`why`: its new status, or LIST_TRIGGERED), and so of
   * the list. Waiting (an OTO/OTOCO whose working order has not filled): the working order's fill
   * places the pending orders (activate_list), a partial fill nothing; any of its orders ending
   * otherwise ends the others (CANCELED when it was cancelled, else EXPIRED). An OCO (or an OTOCO's
   * placed pair): one order's trade or trigger expires the other, its cancel cancels it, its end
   * expires it. A list that resolved is reported ALL_DONE; its orders keep its id (Binance's
   * orderListId) for as long as they live, so calls for a list already gone do nothing.
   */
  private settle_list(market: Market, slot: number, why: OrderStatus | typeof LIST_TRIGGERED): void {
    const orders = this.orders;
    const list_id = orders.list_id(slot);
    const list = this.order_lists.get(list_id);
    if (list === undefined) return; // none, or resolved already (an order keeps its list's id)
    const id = orders.id(slot);
    if (list.waiting && id === list.working_id) {
      if (why === STATUS_PARTIALLY_FILLED) return;
      if (why === STATUS_FILLED) return void this.activate_list(market, list);
    }
    // gone first: the others' endings come back here and find nothing to do
    this.order_lists.delete(list_id);
    if (list.client_id !== null) this.list_client_ids.delete(`${list.account} ${list.client_id}`);
    const status = why === STATUS_CANCELED ? STATUS_CANCELED : STATUS_EXPIRED;
    // an OTO's working order ended unfilled: its pending orders end with it (OTO_PHASE_ONE_EXPIRED)
    const end = list.waiting && id === list.working_id ? END_LIST_WORKING : END_LIST;
    for (const other_id of [list.working_id, list.above_id, list.below_id]) {
      if (other_id === 0 || other_id === id) continue;
      const other = orders.by_id.get(other_id);
      if (other !== 0) this.close_open(market, other, status, end);
    }
    this.report_list(list, LIST_ALL_DONE);
  }

  /**
   * An OTO's working order filled: its pending orders are placed once the order being matched is done
   * (run_triggers, place_pending). An OTO is resolved then (ALL_DONE); an OTOCO's pair goes on as an
   * OCO.
   */
  private activate_list(market: Market, list: OrderList): void {
    list.waiting = false;
    if (list.pays) {
      // an OPO: as many whole lots as the working order brought in, the rest released
      const orders = this.orders;
      const holder = orders.by_id.get(list.above_id);
      const lot_units = market.config.lot_units;
      const lots = Math.floor(orders.locked_units(holder) / lot_units);
      this.release_part(market, holder, orders.locked_units(holder) - lots * lot_units);
      orders.set_quantity_lots(holder, lots);
      if (list.below_id !== 0) orders.set_quantity_lots(orders.by_id.get(list.below_id), lots);
    }
    this.activations.push(list.above_id);
    if (list.below_id !== 0) {
      this.activations.push(list.below_id);
      return;
    }
    this.order_lists.delete(list.id);
    if (list.client_id !== null) this.list_client_ids.delete(`${list.account} ${list.client_id}`);
    this.report_list(list, LIST_ALL_DONE);
  }

  /**
   * Places a pending order whose working order filled: a stop order is filed (run_triggers triggers
   * it if the last price already meets it); any other runs as a taker. What the market allowed when
   * it was admitted it may no longer allow: a LIMIT_MAKER that would take now, or a stop order past
   * the stop limits, expires.
   */
  private place_pending(market: Market, slot: number): void {
    const orders = this.orders;
    const account = orders.account(slot);
    this.waiting.delete(orders.id(slot));
    this.sink.order_activated(orders.id(slot), account, market.id, orders.quantity_lots(slot), this.now_ms);
    const type = orders.type(slot);
    const side = orders.side(slot);
    // an OPO's order got its quantity now: what the filters ask of a quantity, checked now
    if (!this.quantity_allowed(market, slot))
      return void this.finish_taker(market, slot, STATUS_EXPIRED, END_NONE);
    if (is_stop_type(type)) {
      const limits = this.limits;
      if (
        this.ledger.cells[this.ledger.counts_at(account, market.id) + COUNT_STOPS] >=
          limits.stop_orders_per_account_market_max ||
        market.stops.size + market.trailing.size >= limits.stop_orders_per_market_max ||
        (orders.trail(slot) !== undefined && market.trailing.size >= limits.trailing_orders_per_market_max)
      )
        return void this.finish_taker(market, slot, STATUS_EXPIRED, END_EXCHANGE);
      return void this.file_stop(market, slot);
    }
    // a pegged order takes its price from the book now (a pegged stop-limit order when triggered)
    const peg = orders.peg(slot);
    if (peg !== undefined && !peg.pegged && !this.peg_now(market, slot, peg)) return;
    if (type === TYPE_LIMIT_MAKER) {
      const best = side === SIDE_BUY ? market.asks.best_price() : market.bids.best_price();
      const price = orders.price_ticks(slot);
      if (best !== 0 && (side === SIDE_BUY ? price >= best : price <= best))
        return void this.finish_taker(market, slot, STATUS_EXPIRED, END_NONE);
    }
    this.execute_taker(market, slot);
  }

  /**
   * A fill of an OPO's working order brought in `base_units` of base, `fee_units` of it its fee (free
   * already holds the difference): locked for its pending orders, on the one that holds their lock
   * (list.above_id).
   */
  private pay_pending(market: Market, slot: number, base_units: number, fee_units: number): void {
    const orders = this.orders;
    const list = this.order_lists.get(orders.list_id(slot));
    if (list === undefined || !list.pays || !list.waiting || list.working_id !== orders.id(slot)) return;
    const holder = orders.by_id.get(list.above_id);
    const account = orders.account(slot);
    const cells = this.ledger.cells;
    const at = this.ledger.free_at(account, market.config.base);
    // free now holds what the fill brought in less its fee; if what was free before covers the fee,
    // the fee is the free funds' and the whole amount is locked (FORMAT_OPO_FUNDS)
    const units =
      this.rules_format >= FORMAT_OPO_FUNDS && cells[at] >= base_units ? base_units : base_units - fee_units;
    assert(cells[at] >= units, "an OPO's proceeds are not in its account");
    cells[at] -= units;
    cells[at + 1] += units;
    orders.set_locked_units(holder, orders.locked_units(holder) + units);
  }

  /**
   * Whether a pending order's quantity passes the filters now (LOT_SIZE, a limit price's NOTIONAL, an
   * iceberg's parts): an OPO's got its quantity when placed; any other's passed when admitted.
   */
  private quantity_allowed(market: Market, slot: number): boolean {
    const orders = this.orders;
    const cfg = market.config;
    const lots = orders.quantity_lots(slot);
    if (lots < cfg.min_qty_lots || lots > cfg.max_qty_lots) return false;
    const type = orders.type(slot);
    if (
      has_limit_price(type) &&
      orders.price_ticks(slot) * lots * cfg.quote_units_per_tick_lot < cfg.min_notional_units
    )
      return false;
    const ice = orders.iceberg(slot);
    return (
      ice === undefined ||
      (ice.display_lots < lots && Math.ceil(lots / ice.display_lots) <= ICEBERG_PARTS_MAX)
    );
  }

  /** Ends an open order wherever it is: in the book, waiting as a pending order, or a waiting stop. */
  private close_open(market: Market, slot: number, status: OrderStatus, end: EndReason): void {
    if (this.orders.level(slot) !== 0) this.close_resting(market, slot, status, end);
    else if (this.waiting.has(this.orders.id(slot))) {
      this.waiting.delete(this.orders.id(slot));
      this.finish_taker(market, slot, status, end);
    } else this.close_stop(market, slot, status, end);
  }

  /**
   * A triggered stop that was an OCO's locks what it needs from now on: it held its need, or (the
   * stop-loss order) only what it needed beyond the take-profit order's lock, which settle_list has
   * just released with that order.
   */
  private take_over_lock(market: Market, slot: number): void {
    const orders = this.orders;
    const need = orders.remaining_lots(slot) * this.lot_lock(market, slot) - orders.locked_units(slot);
    if (need <= 0) return;
    const account = orders.account(slot);
    const asset = orders.side(slot) === SIDE_BUY ? market.config.quote : market.config.base;
    const cells = this.ledger.cells;
    const at = this.ledger.free_at(account, asset);
    assert(cells[at] >= need, "an OCO's stop cannot take over its limit maker's lock");
    cells[at] -= need;
    cells[at + 1] += need;
    orders.set_locked_units(slot, orders.locked_units(slot) + need);
    this.sink.balance(account, asset, cells[at], cells[at + 1]);
  }

  /**
   * What one lot of an open order locks (lock_needed's terms): base for a sell; for a buy the quote
   * at its limit price, or for a stop-market order not yet triggered at its stop price (a trailing
   * stop's: its lock price).
   */
  private lot_lock(market: Market, slot: number): number {
    const orders = this.orders;
    const cfg = market.config;
    if (orders.side(slot) === SIDE_SELL) return cfg.lot_units;
    const ticks = has_limit_price(orders.type(slot))
      ? orders.price_ticks(slot)
      : (orders.trail(slot)?.lock_price_ticks ?? orders.stop_price_ticks(slot));
    return ticks * cfg.quote_units_per_tick_lot;
  }

  private report_final(market: Market, slot: number, status: OrderStatus, end: EndReason): void {
    const orders = this.orders;
    this.sink.order_update(
      orders.id(slot),
      orders.account(slot),
      market.id,
      status,
      orders.executed_lots(slot),
      orders.cumulative_quote_units(slot),
      end,
    );
  }

  /**
   * Places and triggers what the matching just done set off, until nothing is left: pending orders
   * whose working order filled (in fill order), trailing stops that fired (in firing order), then
   * plain stops whose condition the last price now meets.
   */
  private run_triggers(market: Market): void {
    const stops = market.stops;
    const trailing = market.trailing;
    const activations = this.activations;
    if (
      activations.length === 0 &&
      trailing.fired.length === 0 &&
      (stops.size === 0 || market.last_price_ticks === 0)
    )
      return;
    const orders = this.orders;
    for (;;) {
      if (activations.length !== 0) {
        const id = activations.shift() as number;
        // (an OTOCO's pair: one may have ended the other before its turn)
        if (this.waiting.has(id)) this.place_pending(market, orders.by_id.get(id));
        continue;
      }
      let slot = trailing.take_fired();
      if (slot === 0 && stops.size !== 0 && market.last_price_ticks !== 0) {
        // a rising stop triggers if any trade of this command reached its price, a falling one
        // likewise (a sweep may pass a stop and end on its other side); before format 7, only the
        // last price counted
        const last = market.last_price_ticks;
        const sweep = this.rules_format >= FORMAT_STOPS_SEE_SWEEP;
        const rise_at = sweep && market.sweep_high_ticks > last ? market.sweep_high_ticks : last;
        const fall_at =
          sweep && market.sweep_low_ticks !== 0 && market.sweep_low_ticks < last
            ? market.sweep_low_ticks
            : last;
        slot = stops.take_triggered(orders, rise_at, fall_at);
      }
      if (slot === 0) return;
      const account = orders.account(slot);
      this.ledger.cells[this.ledger.counts_at(account, market.id) + COUNT_STOPS]--;
      orders.set_triggered(slot, 1);
      this.sink.order_triggered(orders.id(slot), account, market.id, this.now_ms);
      // an OCO's order: the other expires, and this one takes that order's lock over
      const in_list = this.order_lists.has(orders.list_id(slot));
      if (in_list) this.settle_list(market, slot, LIST_TRIGGERED);
      // a pegged stop-limit order takes its price from the book now (and its lock with it)
      const peg = orders.peg(slot);
      if (peg !== undefined && !peg.pegged) {
        if (!this.peg_now(market, slot, peg)) continue;
      } else if (in_list) this.take_over_lock(market, slot);
      this.execute_taker(market, slot);
    }
  }

  // ---------------------------------------------------------------- account open-order lists

  private link_open(slot: number): void {
    const orders = this.orders;
    const account = orders.account(slot);
    orders.set_open(slot, 1);
    this.accounts[account].add_open(
      this.ledger,
      account,
      orders.market(slot),
      orders.id(slot),
      this.is_open_id,
    );
  }

  private unlink_open(slot: number): void {
    const orders = this.orders;
    if (orders.open(slot) === 0) return;
    orders.set_open(slot, 0);
    // The id stays in the account's list until compaction; readers skip ids that are no longer open.
    const account = orders.account(slot);
    const ledger = this.ledger;
    ledger.cells[ledger.counts_at(account, orders.market(slot)) + COUNT_OPEN]--;
    ledger.cells[ledger.total_at(account)]--;
  }

  /**
   * The account's open iceberg orders in a market (resting, or untriggered stop-limit icebergs): a
   * pass over its open orders there, made only when it places an iceberg.
   */
  private open_icebergs(account: number, market: number): number {
    const orders = this.orders;
    if (orders.iceberg_count === 0) return 0;
    let n = 0;
    for (const id of this.accounts[account].open_ids(this.ledger, account, market)) {
      const slot = orders.by_id.get(id);
      if (slot !== 0 && orders.open(slot) === 1 && orders.iceberg(slot) !== undefined) n++;
    }
    return n;
  }

  /** Open orders (resting and stop) of an account in a market, oldest first. */
  open_orders(account: number, market: number): number[] {
    const orders = this.orders;
    const out: number[] = [];
    for (const id of this.accounts[account].open_ids(this.ledger, account, market)) {
      const slot = orders.by_id.get(id);
      if (slot !== 0 && orders.open(slot) === 1) out.push(slot);
    }
    return out.sort((a, b) => orders.id(a) - orders.id(b));
  }

  // ---------------------------------------------------------------- cancels

  private cancel_checks(account: number, market_id: number): R.Reason {
    if (!this.account_valid(account)) return R.REASON_UNKNOWN_ACCOUNT;
    if (!this.market_valid(market_id)) return R.REASON_UNKNOWN_SYMBOL;
    this.row(account);
    if (this.maintenance) return R.REASON_MAINTENANCE;
    const status = this.markets[market_id].status;
    if (status !== MARKET_TRADING && status !== MARKET_POST_ONLY && status !== MARKET_CANCEL_ONLY)
      return R.REASON_MARKET_CLOSED;
    return R.REASON_NONE;
  }

  private cancel_order(cmd: CancelOrder): void {
    const problem = this.cancel_checks(cmd.account, cmd.market);
    if (problem !== R.REASON_NONE) {
      this.reject(problem);
      return;
    }
    const slot = this.find_order(cmd.account, cmd.market, cmd.order_id, cmd.client_order_id);
    if (slot === 0) {
      this.reject(R.REASON_UNKNOWN_ORDER);
      return;
    }
    const restricted = this.cancel_restricted(slot, cmd.restriction);
    if (restricted !== R.REASON_NONE) {
      this.reject(restricted);
      return;
    }
    this.close_open(this.markets[cmd.market], slot, STATUS_CANCELED, END_USER);
  }

  /**
   * Whether a cancel restriction (Binance's cancelRestrictions) keeps this order from being cancelled
   * now: ONLY_NEW cancels only an order nothing of which has executed, ONLY_PARTIALLY_FILLED only one
   * partly filled. Decided here, at the order's state when the cancel is applied.
   */
  private cancel_restricted(slot: number, restriction: CancelRestriction | undefined): R.Reason {
    if (restriction === undefined) return R.REASON_NONE;
    if (restriction !== CANCEL_ONLY_NEW && restriction !== CANCEL_ONLY_PARTIALLY_FILLED)
      return R.REASON_INVALID_PARAMETER;
    const partly_filled = this.orders.executed_lots(slot) > 0;
    return partly_filled === (restriction === CANCEL_ONLY_NEW) ? R.REASON_CANCEL_RESTRICTED : R.REASON_NONE;
  }

  /**
   * Reduces an open order's quantity where it stands (Binance's amend keep priority): its level loses
   * the difference, the lock it no longer needs is released, its queue position stays. A resting
   * order or an untriggered stop; the new quantity is below the old and above what has executed. An
   * order of a pending list (format 9 on; Binance): an OCO pair's two orders (an OCO's, an OTOCO's
   * pending pair) both take the new quantity, their shared lock recomputed; an OTO's working order and
   * single pending order each alone; not an OPO's pending orders (no quantity yet) nor a pending
   * MARKET order (its lock is what its quantity cost when placed, not so many lots' worth).
   */
  private amend_order(cmd: AmendOrder): void {
    const problem = this.cancel_checks(cmd.account, cmd.market);
    if (problem !== R.REASON_NONE) return void this.reject(problem);
    const slot = this.find_order(cmd.account, cmd.market, cmd.order_id, cmd.client_order_id);
    if (slot === 0) return void this.reject(R.REASON_UNKNOWN_ORDER);
    const orders = this.orders;
    const market = this.markets[cmd.market];
    const cfg = market.config;
    const n = cmd.new_quantity_lots;
    const cid = cmd.new_client_order_id;
    if (!Number.isSafeInteger(n) || typeof cid !== "string" || !CLIENT_ORDER_ID_RE.test(cid))
      return void this.reject(R.REASON_INVALID_PARAMETER);
    if (n < cfg.min_qty_lots) return void this.reject(R.REASON_FILTER_LOT_SIZE);
    const list = this.order_lists.get(orders.list_id(slot));
    /** The other order of an OCO pair, amended with it; 0 if none. */
    let partner = 0;
    if (list !== undefined) {
      if ((cmd.format ?? COMMAND_VERSION) < FORMAT_AMEND_LIST_ORDERS)
        return void this.reject(R.REASON_AMEND_ORDER_LIST);
      const id = orders.id(slot);
      const pending = list.waiting && id !== list.working_id;
      if (pending && (list.pays || orders.type(slot) === TYPE_MARKET))
        return void this.reject(R.REASON_AMEND_ORDER_LIST);
      if (list.below_id !== 0 && id !== list.working_id)
        partner = orders.by_id.get(id === list.above_id ? list.below_id : list.above_id);
    }
    // Binance's origQty: what it works with plus what self-trade prevention took (which stays taken)
    const prevented = orders.prevented_lots(slot);
    const quantity = orders.quantity_lots(slot) + prevented;
    const executed = orders.executed_lots(slot);
    if (n > quantity) return void this.reject(R.REASON_AMEND_INCREASE);
    if (n === quantity) return void this.reject(R.REASON_AMEND_NO_CHANGE);
    if (n <= executed + prevented) return void this.reject(R.REASON_AMEND_NOT_ABOVE_EXECUTED);
    const account = cmd.account;
    const row = this.row(account);
    if (cid !== orders.client_order_id(slot)) {
      if (row.client_ids?.has(cid) === true) return void this.reject(R.REASON_DUPLICATE_ORDER);
      if (!this.client_ids.has_room(account)) return void this.reject(R.REASON_CLIENT_ID_RETENTION_FULL);
    }

    if (partner === 0) {
      const lot_lock = this.lot_lock(market, slot);
      const release = (quantity - n) * lot_lock;
      assert(
        orders.locked_units(slot) - release === (n - prevented - executed) * lot_lock,
        "an amended order's lock is not what it holds",
      );
      return void this.reduce_order(market, slot, n, release, cid);
    }
    // an OCO pair, untouched while pending (a trade or a prevention resolves it): the take-profit
    // order locks its need, the stop-loss order what it needs beyond (admit_pair)
    assert(
      executed + prevented === 0 && orders.quantity_lots(partner) === quantity,
      "a pending pair was touched",
    );
    const profit = is_take_profit_type(orders.type(slot)) ? slot : partner;
    const loss = profit === slot ? partner : slot;
    const profit_need = n * this.lot_lock(market, profit);
    const loss_extra = Math.max(0, n * this.lot_lock(market, loss) - profit_need);
    const release_profit = orders.locked_units(profit) - profit_need;
    const release_loss = orders.locked_units(loss) - loss_extra;
    assert(release_profit >= 0 && release_loss >= 0, "an amended pair would lock more");
    this.reduce_order(market, slot, n, slot === profit ? release_profit : release_loss, cid);
    const partner_cid = orders.client_order_id(partner) as string;
    this.reduce_order(market, partner, n, partner === profit ? release_profit : release_loss, partner_cid);
  }

  /**
   * An admitted amend of one order: its quantity (Binance's origQty) becomes `n`, `release` of its
   * lock goes back to free, its level (if it rests) shows less, it gets client order id `cid`.
   */
  private reduce_order(market: Market, slot: number, n: number, release: number, cid: string): void {
    const orders = this.orders;
    const account = orders.account(slot);
    const side = orders.side(slot) as Side;
    const prevented = orders.prevented_lots(slot);
    const quantity = orders.quantity_lots(slot) + prevented;
    const executed = orders.executed_lots(slot);
    const current = orders.client_order_id(slot);
    orders.set_quantity_lots(slot, n - prevented);
    this.release_part(market, slot, release);
    this.ledger.cells[this.ledger.updated_at(account)] = this.now_ms;
    const level = orders.level(slot);
    // what it counts in its level: all of the reduction, or an iceberg's part beyond what is left
    const ice = orders.iceberg(slot);
    let shown_less = quantity - n;
    if (ice !== undefined) {
      const visible = Math.min(ice.visible_lots, n - prevented - executed);
      shown_less = level === 0 ? 0 : ice.visible_lots - visible;
      if (level !== 0) ice.visible_lots = visible;
    }
    if (level !== 0 && shown_less > 0) {
      this.levels.quantity_lots[level] -= shown_less;
      market.book_update_id++;
      this.sink.book(
        market.id,
        market.book_update_id,
        side,
        this.levels.price_ticks[level],
        this.levels.quantity_lots[level],
      );
    }
    if (cid !== current) {
      orders.set_client_order_id(slot, cid);
      this.client_ids.add(this.row(account), account, cid, orders.id(slot), this.now_ms);
    }
    this.sink.order_amended(
      orders.id(slot),
      account,
      market.id,
      n,
      quantity,
      cid,
      current,
      executed,
      orders.cumulative_quote_units(slot),
      this.commands_applied,
      this.now_ms,
    );
  }

  /** Cancels a pending order list whole: its first live order, whose cancel ends the others. */
  private cancel_order_list(cmd: CancelOrderList): void {
    const problem = this.cancel_checks(cmd.account, cmd.market);
    if (problem !== R.REASON_NONE) return void this.reject(problem);
    const list = Number.isSafeInteger(cmd.list_id) ? this.order_lists.get(cmd.list_id) : undefined;
    if (list === undefined || list.account !== cmd.account || list.market !== cmd.market)
      return void this.reject(R.REASON_UNKNOWN_ORDER_LIST);
    const orders = this.orders;
    const first = [list.working_id, list.above_id, list.below_id]
      .map((id) => (id === 0 ? 0 : orders.by_id.get(id)))
      .find((slot) => slot !== 0);
    assert(first !== undefined, "a pending order list without a live order");
    this.close_open(this.markets[cmd.market], first, STATUS_CANCELED, END_USER);
  }

  private cancel_all(cmd: CancelAll): void {
    const problem = this.cancel_checks(cmd.account, cmd.market);
    if (problem !== R.REASON_NONE) {
      this.reject(problem);
      return;
    }
    const open = this.open_orders(cmd.account, cmd.market);
    if (open.length === 0) {
      this.reject(R.REASON_UNKNOWN_ORDER);
      return;
    }
    const market = this.markets[cmd.market];
    // (cancelling an order of an OCO cancels the other too: it may be gone by its turn)
    for (const slot of open)
      if (this.orders.open(slot) === 1) this.close_open(market, slot, STATUS_CANCELED, END_USER);
  }

  private cancel_replace(cmd: CancelReplace): void {
    if (typeof cmd.order !== "object" || cmd.order === null) {
      this.reject(R.REASON_INVALID_PARAMETER, "new_order");
      return;
    }
    const problem = this.cancel_checks(cmd.account, cmd.market);
    if (problem !== R.REASON_NONE) {
      this.reject(problem, "cancel");
      return;
    }
    const slot = this.find_order(cmd.account, cmd.market, cmd.cancel_order_id, cmd.cancel_client_order_id);
    const refused =
      slot === 0 ? R.REASON_UNKNOWN_ORDER : this.cancel_restricted(slot, cmd.cancel_restriction);
    if (refused !== R.REASON_NONE) {
      this.reject(refused, "cancel");
      if (!cmd.allow_failure) return;
    } else {
      this.close_open(this.markets[cmd.market], slot, STATUS_CANCELED, END_USER);
    }
    this.place(cmd.account, cmd.market, cmd.order);
  }

  /** Operator: every order of the market ends EXPIRED with reason EXCHANGE_CANCELED. */
  private expire_market_orders(market_id: number): void {
    if (!this.market_valid(market_id)) {
      this.reject(R.REASON_UNKNOWN_SYMBOL);
      return;
    }
    const market = this.markets[market_id];
    const pool = this.levels;
    for (const book of [market.bids, market.asks]) {
      while (book.count > 0) {
        const level = book.levels[book.count - 1];
        this.close_resting(market, pool.head[level], STATUS_EXPIRED, END_EXCHANGE);
      }
    }
    for (const list of [market.stops.rising, market.stops.falling, market.trailing.slots]) {
      while (list.length > 0) this.close_stop(market, list[0], STATUS_EXPIRED, END_EXCHANGE);
    }
    // (pending orders ended with their working orders, which rest in the book: none is left)
    for (const id of [...this.waiting]) {
      const slot = this.orders.by_id.get(id);
      if (this.orders.market(slot) === market_id) this.close_open(market, slot, STATUS_EXPIRED, END_EXCHANGE);
    }
  }

  // ---------------------------------------------------------------- accounts and funds

  /**
   * create_account, deposit and withdraw, applied at most once per request id within the retention
   * window. Only an applied command reserves its id: a refused one changed nothing, so retrying it
   * (say, once deposits resume) must still be possible.
   */
  private idempotent(cmd: CreateAccount | Deposit | Withdraw): void {
    const id = cmd.request_id ?? null;
    if (id !== null) {
      if (typeof id !== "string" || id.length === 0 || id.length > this.limits.request_id_length_max)
        return void this.reject(R.REASON_INVALID_PARAMETER, "request id");
      const first = this.request_ids.get(id);
      if (first !== undefined) return void this.sink.duplicate_request(id, first);
      if (!this.request_ids.has_room()) return void this.reject(R.REASON_REQUEST_ID_RETENTION_FULL);
    }
    const result =
      cmd.type === "create_account"
        ? this.create_account()
        : cmd.type === "deposit"
          ? this.deposit(cmd)
          : this.withdraw(cmd);
    if (id !== null && result >= 0) this.request_ids.add(id, result, this.now_ms);
  }

  /** Returns the new account's id, or -1 when refused. */
  private create_account(): number {
    if (this.accounts.length >= this.limits.accounts_max) {
      this.reject(R.REASON_ACCOUNTS_FULL);
      return -1;
    }
    const id = this.ledger.add_account();
    assert(id === this.accounts.length, "ledger and account rows disagree");
    this.accounts.push(new AccountRow());
    this.sink.account_created(id);
    return id;
  }

  /** Returns the account credited, or -1 when refused. */
  private deposit(cmd: Deposit): number {
    if (!this.account_valid(cmd.account)) return this.refuse(R.REASON_UNKNOWN_ACCOUNT);
    if (!this.asset_valid(cmd.asset)) return this.refuse(R.REASON_UNKNOWN_ASSET);
    if (!(Number.isSafeInteger(cmd.amount_units) && cmd.amount_units > 0))
      return this.refuse(R.REASON_INVALID_AMOUNT);
    if (this.deposits_paused || this.maintenance) return this.refuse(R.REASON_DEPOSITS_PAUSED);
    const totals = this.asset_totals[cmd.asset];
    const outstanding = totals.deposits_units - totals.withdrawals_units;
    if (outstanding + cmd.amount_units > this.assets[cmd.asset].supply_max_units)
      return this.refuse(R.REASON_SUPPLY_LIMIT);
    // Totals only grow; cap them too so they stay exact.
    if (totals.deposits_units + cmd.amount_units > UNITS_MAX) return this.refuse(R.REASON_SUPPLY_LIMIT);
    const cells = this.ledger.cells;
    const at = this.ledger.free_at(cmd.account, cmd.asset);
    cells[at] += cmd.amount_units;
    cells[this.ledger.updated_at(cmd.account)] = this.now_ms;
    totals.deposits_units += cmd.amount_units;
    this.sink.ledger(cmd.account, cmd.asset, cmd.amount_units);
    this.sink.balance(cmd.account, cmd.asset, cells[at], cells[at + 1]);
    return cmd.account;
  }

  /** Returns the account debited, or -1 when refused. */
  private withdraw(cmd: Withdraw): number {
    if (!this.account_valid(cmd.account)) return this.refuse(R.REASON_UNKNOWN_ACCOUNT);
    if (!this.asset_valid(cmd.asset)) return this.refuse(R.REASON_UNKNOWN_ASSET);
    if (!(Number.isSafeInteger(cmd.amount_units) && cmd.amount_units > 0))
      return this.refuse(R.REASON_INVALID_AMOUNT);
    if (this.withdrawals_paused || this.maintenance) return this.refuse(R.REASON_WITHDRAWALS_PAUSED);
    const cells = this.ledger.cells;
    const at = this.ledger.free_at(cmd.account, cmd.asset);
    if (cells[at] < cmd.amount_units) return this.refuse(R.REASON_INSUFFICIENT_BALANCE);
    cells[at] -= cmd.amount_units;
    cells[this.ledger.updated_at(cmd.account)] = this.now_ms;
    this.asset_totals[cmd.asset].withdrawals_units += cmd.amount_units;
    this.sink.ledger(cmd.account, cmd.asset, -cmd.amount_units);
    this.sink.balance(cmd.account, cmd.asset, cells[at], cells[at + 1]);
    return cmd.account;
  }

  // ---------------------------------------------------------------- users' withdrawals

  /** A user asks for a withdrawal: checked against the safeguards, its amount locked (withdrawals.ts). */
  private withdraw_request(cmd: WithdrawRequest): void {
    const { account, asset, amount_units } = cmd;
    if (!this.account_valid(account)) return void this.reject(R.REASON_UNKNOWN_ACCOUNT);
    if (!this.asset_valid(asset)) return void this.reject(R.REASON_UNKNOWN_ASSET);
    if (!(Number.isSafeInteger(amount_units) && amount_units > 0))
      return void this.reject(R.REASON_INVALID_AMOUNT);
    if (
      !text_ok(cmd.address, ADDRESS_LENGTH_MAX, true) ||
      !text_ok(cmd.address_tag, ADDRESS_TAG_LENGTH_MAX, false) ||
      !text_ok(cmd.network, NETWORK_LENGTH_MAX, false) ||
      !text_ok(cmd.client_id, WITHDRAW_CLIENT_ID_LENGTH_MAX, false)
    )
      return void this.reject(R.REASON_INVALID_PARAMETER, "withdrawal text field");
    if (this.withdrawals_paused || this.maintenance) return void this.reject(R.REASON_WITHDRAWALS_PAUSED);
    const w = this.withdrawals;
    const allowlist = w.allowlists.get(account);
    if (allowlist?.on === true) {
      const added_ms = allowlist.addresses.get(cmd.address);
      if (added_ms === undefined) return void this.reject(R.REASON_ADDRESS_NOT_ALLOWED);
      if (added_ms > this.now_ms - WITHDRAW_WINDOW_MS) return void this.reject(R.REASON_ADDRESS_TOO_NEW);
    }
    const recent = w.window(account, this.now_ms);
    if (cmd.client_id !== "") {
      // pending ones older than the window still hold their id
      if (recent.some((r) => r.client_id === cmd.client_id) || w.client_id_pending(account, cmd.client_id))
        return void this.reject(R.REASON_DUPLICATE_WITHDRAWAL);
    }
    if (
      w.pending_count(account) >= WITHDRAWALS_PENDING_PER_ACCOUNT_MAX ||
      w.pending.size >= WITHDRAWALS_PENDING_MAX ||
      recent.length >= WITHDRAWALS_PER_DAY_MAX
    )
      return void this.reject(R.REASON_WITHDRAWALS_LIMITED);
    const policy = w.policy(asset);
    let today_units = amount_units;
    for (const r of recent) if (r.asset === asset) today_units += r.amount_units;
    if (today_units > policy.daily_max_units) return void this.reject(R.REASON_WITHDRAW_DAILY_LIMIT);
    const cells = this.ledger.cells;
    const at = this.ledger.free_at(account, asset);
    if (cells[at] < amount_units) return void this.reject(R.REASON_INSUFFICIENT_BALANCE);
    let held = amount_units >= policy.review_min_units ? HELD_AMOUNT : 0;
    for (const key of this.api_keys.of_account(account))
      if ((key.permissions & PERMISSION_WITHDRAW) !== 0 && key.created_ms > this.now_ms - WITHDRAW_WINDOW_MS)
        held |= HELD_NEW_KEY;
    if (
      allowlist !== undefined &&
      allowlist.off_ms >= 0 &&
      allowlist.off_ms > this.now_ms - WITHDRAW_WINDOW_MS
    )
      held |= HELD_ALLOWLIST_OFF;
    cells[at] -= amount_units;
    cells[at + 1] += amount_units;
    cells[this.ledger.updated_at(account)] = this.now_ms;
    const withdrawal: Withdrawal = {
      id: w.next_id++,
      account,
      asset,
      amount_units,
      address: cmd.address,
      address_tag: cmd.address_tag,
      network: cmd.network,
      client_id: cmd.client_id,
      requested_ms: this.now_ms,
      status: held === 0 ? WITHDRAW_PROCESSING : WITHDRAW_AWAITING_APPROVAL,
      held,
    };
    w.add(withdrawal);
    this.sink.withdrawal(withdrawal, "");
    this.sink.balance(account, asset, cells[at], cells[at + 1]);
  }

  /** A withdrawal of this id in this status, or undefined (refused as unknown). */
  private pending_withdrawal(id: number, status: number): Withdrawal | undefined {
    const w = Number.isSafeInteger(id) ? this.withdrawals.pending.get(id) : undefined;
    if (w?.status === status) return w;
    this.reject(R.REASON_UNKNOWN_WITHDRAWAL);
    return undefined;
  }

  /** Operator: approve a held withdrawal for payout, or reject it (its funds back). */
  private withdraw_review(cmd: WithdrawReview): void {
    const w = this.pending_withdrawal(cmd.id, WITHDRAW_AWAITING_APPROVAL);
    if (w === undefined) return;
    if (cmd.approve) {
      w.status = WITHDRAW_PROCESSING;
      this.sink.withdrawal(w, "");
    } else this.give_back(w, WITHDRAW_REJECTED, "");
  }

  /** The payout's outcome: completed (the funds leave) or failed (funds back). */
  private withdraw_result(cmd: WithdrawResult): void {
    if (!text_ok(cmd.note, WITHDRAW_NOTE_LENGTH_MAX, false))
      return void this.reject(R.REASON_INVALID_PARAMETER, "withdrawal note");
    const w = this.pending_withdrawal(cmd.id, WITHDRAW_PROCESSING);
    if (w === undefined) return;
    if (!cmd.ok) return void this.give_back(w, WITHDRAW_FAILURE, cmd.note);
    const cells = this.ledger.cells;
    const at = this.ledger.free_at(w.account, w.asset);
    assert(cells[at + 1] >= w.amount_units, "a pending withdrawal's amount is not locked");
    cells[at + 1] -= w.amount_units;
    cells[this.ledger.updated_at(w.account)] = this.now_ms;
    this.asset_totals[w.asset].withdrawals_units += w.amount_units;
    this.withdrawals.finish(w, false);
    w.status = WITHDRAW_COMPLETED;
    this.sink.withdrawal(w, cmd.note);
    this.sink.balance(w.account, w.asset, cells[at], cells[at + 1]);
  }

  private give_back(w: Withdrawal, status: number, note: string): void {
    const cells = this.ledger.cells;
    const at = this.ledger.free_at(w.account, w.asset);
    assert(cells[at + 1] >= w.amount_units, "a pending withdrawal's amount is not locked");
    cells[at + 1] -= w.amount_units;
    cells[at] += w.amount_units;
    cells[this.ledger.updated_at(w.account)] = this.now_ms;
    this.withdrawals.finish(w, true);
    w.status = status;
    this.sink.withdrawal(w, note);
    this.sink.balance(w.account, w.asset, cells[at], cells[at + 1]);
  }

  /** A user's address allow-list: add or remove an address, turn the list on or off. */
  private withdraw_allowlist(cmd: WithdrawAllowlist): void {
    if (!this.account_valid(cmd.account)) return void this.reject(R.REASON_UNKNOWN_ACCOUNT);
    const action = cmd.action;
    if (action === ALLOWLIST_ADD || action === ALLOWLIST_REMOVE) {
      if (!text_ok(cmd.address, ADDRESS_LENGTH_MAX, true))
        return void this.reject(R.REASON_INVALID_PARAMETER, "address");
      const known = this.withdrawals.allowlists.get(cmd.account)?.addresses;
      if (action === ALLOWLIST_REMOVE) {
        if (known?.has(cmd.address) !== true)
          return void this.reject(R.REASON_INVALID_PARAMETER, "not listed");
        known.delete(cmd.address);
        return;
      }
      if (known?.has(cmd.address) === true)
        return void this.reject(R.REASON_INVALID_PARAMETER, "already listed");
      if ((known?.size ?? 0) >= ALLOWLIST_ADDRESSES_MAX)
        return void this.reject(R.REASON_INVALID_PARAMETER, "allow-list full");
      this.withdrawals.allowlist(cmd.account).addresses.set(cmd.address, this.now_ms);
      return;
    }
    if (action !== ALLOWLIST_ON && action !== ALLOWLIST_OFF)
      return void this.reject(R.REASON_INVALID_PARAMETER, "allow-list action");
    const list = this.withdrawals.allowlist(cmd.account);
    if (action === ALLOWLIST_ON) list.on = true;
    else if (list.on) {
      list.on = false;
      list.off_ms = this.now_ms;
    }
  }

  /** Operator: an asset's review threshold and per-account daily maximum (units). */
  private withdraw_policy(cmd: WithdrawPolicy): void {
    if (!this.asset_valid(cmd.asset)) return void this.reject(R.REASON_UNKNOWN_ASSET);
    const units_ok = (u: number) => Number.isSafeInteger(u) && u >= 0;
    if (!units_ok(cmd.review_min_units) || !units_ok(cmd.daily_max_units))
      return void this.reject(R.REASON_INVALID_AMOUNT);
    this.withdrawals.policies.set(cmd.asset, {
      review_min_units: cmd.review_min_units,
      daily_max_units: cmd.daily_max_units,
    });
  }

  private refuse(reason: R.Reason): number {
    this.reject(reason);
    return -1;
  }

  // ---------------------------------------------------------------- api keys

  private add_api_key(cmd: AddApiKey): void {
    if (!this.account_valid(cmd.account)) return void this.reject(R.REASON_UNKNOWN_ACCOUNT);
    const record = {
      api_key: cmd.api_key,
      account: cmd.account,
      kind: cmd.kind as KeyKind,
      material: cmd.material,
      permissions: cmd.permissions,
      ip_allow: cmd.ip_allow,
      tier: cmd.tier,
      created_ms: this.now_ms,
    };
    const problem = this.api_keys.check(record);
    if (problem !== null) return void this.reject(R.REASON_INVALID_PARAMETER, problem);
    this.api_keys.add(record);
    this.sink.api_key(cmd.account, cmd.api_key, true);
  }

  private revoke_api_key(cmd: RevokeApiKey): void {
    const record = typeof cmd.api_key === "string" ? this.api_keys.by_key.get(cmd.api_key) : undefined;
    // Another account's key is as unknown as a key that does not exist.
    if (record === undefined || record.account !== cmd.account)
      return void this.reject(R.REASON_INVALID_PARAMETER, "unknown api key");
    this.api_keys.remove(cmd.api_key);
    this.sink.api_key(cmd.account, cmd.api_key, false);
  }

  // ---------------------------------------------------------------- web users

  private register_user(cmd: RegisterUser): void {
    const problem = this.web_users.check_new(cmd.email, cmd.password_hash);
    if (problem !== null) return void this.reject(R.REASON_INVALID_PARAMETER, problem);
    const account = this.create_account();
    if (account < 0) return;
    this.web_users.add({
      email: cmd.email,
      account,
      password_hash: cmd.password_hash,
      totp_sealed: "",
      session_epoch: 0,
      created_ms: this.now_ms,
    });
    this.sink.web_user(account, "registered");
  }

  private set_user_totp(cmd: SetUserTotp): void {
    const user = this.web_users.by_account.get(cmd.account);
    if (user === undefined) return void this.reject(R.REASON_UNKNOWN_ACCOUNT);
    if (typeof cmd.totp_sealed !== "string" || cmd.totp_sealed.length > TOTP_SEALED_LENGTH_MAX)
      return void this.reject(R.REASON_INVALID_PARAMETER, "sealed totp secret too long");
    user.totp_sealed = cmd.totp_sealed;
    this.sink.web_user(cmd.account, cmd.totp_sealed === "" ? "totp_off" : "totp_on");
  }

  private end_user_sessions(cmd: EndUserSessions): void {
    const user = this.web_users.by_account.get(cmd.account);
    if (user === undefined) return void this.reject(R.REASON_UNKNOWN_ACCOUNT);
    user.session_epoch++;
    this.sink.web_user(cmd.account, "sessions_ended");
  }

  /**
   * Opens, keeps alive or closes an account's listen key. A key is live while its expiry is not
   * before the command's time. Open keeps a live key alive (the same nonce: Binance answers a second
   * POST with the same key) or starts the next nonce; keep alive and close refuse any key but the
   * live one.
   */
  private listen_key(cmd: ListenKey): void {
    if (!this.account_valid(cmd.account)) return void this.reject(R.REASON_UNKNOWN_ACCOUNT);
    // open and keep alive give the key a life of at least a millisecond; close needs none
    const ttl_min = cmd.action === LISTEN_KEY_CLOSE ? 0 : 1;
    if (!(Number.isSafeInteger(cmd.ttl_ms) && cmd.ttl_ms >= ttl_min && cmd.ttl_ms <= LISTEN_KEY_TTL_MS_MAX))
      return void this.reject(R.REASON_INVALID_PARAMETER, "listen key lifetime out of range");
    const key = this.listen_keys.get(cmd.account);
    const live = key !== undefined && key.expires_ms >= this.now_ms;
    if (cmd.action === LISTEN_KEY_OPEN) {
      if (live) key.expires_ms = this.now_ms + cmd.ttl_ms;
      else {
        const nonce = (key?.nonce ?? 0) + 1;
        if (nonce > LISTEN_KEY_NONCE_MAX)
          return void this.reject(R.REASON_INVALID_PARAMETER, "listen keys used up");
        this.listen_keys.set(cmd.account, { nonce, expires_ms: this.now_ms + cmd.ttl_ms });
      }
      return;
    }
    if (!live || key.nonce !== cmd.nonce) return void this.reject(R.REASON_UNKNOWN_LISTEN_KEY);
    if (cmd.action === LISTEN_KEY_KEEP) key.expires_ms = this.now_ms + cmd.ttl_ms;
    else if (cmd.action === LISTEN_KEY_CLOSE) key.expires_ms = -1;
    else this.reject(R.REASON_INVALID_PARAMETER, "unknown listen key action");
  }

  /** Restores a web user from a snapshot (its account already restored). */
  restore_web_user(user: WebUser): void {
    this.web_users.add(user);
  }

  /** Restores a key from a snapshot. */
  restore_api_key(record: import("./api_keys.js").ApiKeyRecord): void {
    this.api_keys.add(record);
  }

  // ---------------------------------------------------------------- configuration

  private add_asset(cmd: AddAsset): void {
    const problem = validate_asset(cmd, this.limits);
    if (problem !== null) return void this.reject(R.REASON_INVALID_CONFIG, problem);
    if (this.asset_by_name.has(cmd.asset)) return void this.reject(R.REASON_INVALID_CONFIG, "asset exists");
    if (this.assets.length >= this.limits.assets_max)
      return void this.reject(R.REASON_INVALID_CONFIG, "assets_max reached");
    const id = this.assets.length;
    this.assets.push({ id, name: cmd.asset, decimals: cmd.decimals, supply_max_units: cmd.supply_max_units });
    this.asset_totals.push(new AssetTotals());
    this.asset_by_name.set(cmd.asset, id);
    this.grow_rows();
    this.sink.asset_added(id, cmd.asset);
  }

  private add_market(cmd: AddMarket): void {
    if (this.markets.length >= this.limits.markets_max)
      return void this.reject(R.REASON_INVALID_CONFIG, "markets_max reached");
    const base = this.asset_by_name.get(cmd.base);
    const quote = this.asset_by_name.get(cmd.quote);
    const built = build_market(
      cmd,
      base === undefined ? undefined : this.assets[base],
      quote === undefined ? undefined : this.assets[quote],
    );
    if (!built.ok) return void this.reject(R.REASON_INVALID_CONFIG, built.error);
    if (this.market_by_symbol.has(cmd.symbol))
      return void this.reject(R.REASON_INVALID_CONFIG, "symbol exists");
    const id = this.markets.length;
    this.markets.push(new Market(id, built.config, this.limits.levels_per_side_max, this.levels));
    this.market_by_symbol.set(cmd.symbol, id);
    this.grow_rows();
    this.sink.market_added(id, cmd.symbol);
  }

  /**
   * New fees for a market's later fills. The listing's command is rewritten with them, so a snapshot
   * (which stores that command) restores them and its hash covers them.
   */
  private set_market_fees(cmd: SetMarketFees): void {
    if (!this.market_valid(cmd.market)) return void this.reject(R.REASON_UNKNOWN_SYMBOL);
    for (const fee of [cmd.maker_fee_ppm, cmd.taker_fee_ppm])
      if (!Number.isInteger(fee) || fee < 0 || fee > FEE_PPM_MAX)
        return void this.reject(R.REASON_INVALID_CONFIG, `fees must be integers 0..${FEE_PPM_MAX} ppm`);
    const market = this.markets[cmd.market];
    const fees = { maker_fee_ppm: cmd.maker_fee_ppm, taker_fee_ppm: cmd.taker_fee_ppm };
    market.config = { ...market.config, ...fees, add_market: { ...market.config.add_market, ...fees } };
  }

  private set_account_fees(cmd: SetAccountFees): void {
    if (!this.account_valid(cmd.account)) return void this.reject(R.REASON_UNKNOWN_ACCOUNT);
    for (const fee of [cmd.maker_fee_ppm, cmd.taker_fee_ppm])
      if (fee !== -1 && (!Number.isInteger(fee) || fee < 0 || fee > FEE_PPM_MAX))
        return void this.reject(R.REASON_INVALID_CONFIG, `fees must be -1 or integers 0..${FEE_PPM_MAX} ppm`);
    if (cmd.maker_fee_ppm === -1 && cmd.taker_fee_ppm === -1) this.account_fees.delete(cmd.account);
    else
      this.account_fees.set(cmd.account, {
        maker_fee_ppm: cmd.maker_fee_ppm,
        taker_fee_ppm: cmd.taker_fee_ppm,
      });
  }

  /** The maker and taker fees `account` pays in `market` now: its own where it has them, else the market's. */
  fee_rates(account: number, market: number): { maker_fee_ppm: number; taker_fee_ppm: number } {
    const cfg = this.markets[market].config;
    const own = this.account_fees.size === 0 ? undefined : this.account_fees.get(account);
    return {
      maker_fee_ppm: own === undefined || own.maker_fee_ppm < 0 ? cfg.maker_fee_ppm : own.maker_fee_ppm,
      taker_fee_ppm: own === undefined || own.taker_fee_ppm < 0 ? cfg.taker_fee_ppm : own.taker_fee_ppm,
    };
  }

  private set_market_status(cmd: SetMarketStatus): void {
    if (!this.market_valid(cmd.market)) return void this.reject(R.REASON_UNKNOWN_SYMBOL);
    if (!market_status_valid(cmd.status))
      return void this.reject(R.REASON_INVALID_PARAMETER, "unknown status");
    this.markets[cmd.market].status = cmd.status;
    this.sink.market_status(cmd.market, cmd.status);
  }

  /**
   * A market's reference price calculation and PRICE_RANGE rule. Changing only the multipliers keeps
   * the buckets (the reference goes on); a new calculation starts empty (no reference until a trade).
   */
  private set_price_range(cmd: SetPriceRange): void {
    if (!this.market_valid(cmd.market)) return void this.reject(R.REASON_UNKNOWN_SYMBOL);
    const market = this.markets[cmd.market];
    if (cmd.bucket_count === 0) {
      market.price_range = null;
      return;
    }
    const problem = validate_price_range(cmd);
    if (problem !== null) return void this.reject(R.REASON_INVALID_CONFIG, problem);
    // the reference (ticks × 10^4) is never above the market's highest price: it must stay exact
    if (market.config.max_price_ticks * E4 > Number.MAX_SAFE_INTEGER)
      return void this.reject(
        R.REASON_INVALID_CONFIG,
        "the market's max_price is too high for a reference price",
      );
    const next = new PriceRange(cmd);
    const before = market.price_range;
    if (before?.same_calculation(cmd)) next.keep_buckets(before);
    market.price_range = next;
  }

  private set_limit(cmd: SetLimit): void {
    const name = Number.isSafeInteger(cmd.limit) ? SETTABLE_LIMITS[cmd.limit] : undefined;
    if (name === undefined) return void this.reject(R.REASON_INVALID_PARAMETER, "unknown limit");
    const next = { ...this.limits, [name]: cmd.value };
    const problem = validate_limits(next);
    if (problem !== null) return void this.reject(R.REASON_INVALID_PARAMETER, problem);
    // a count above what the engine's structures hold could never be reached
    if (!name.startsWith("percent_price") && cmd.value > this.limits.orders_max)
      return void this.reject(R.REASON_INVALID_PARAMETER, `${name} must be at most orders_max`);
    this.limits[name] = cmd.value;
  }

  /**
   * A proof-of-reserves audit: every account's balances as they stand, beside the operator's declared
   * reserves. Changes nothing; refused (and journaled as refused) for an unknown asset, an amount that
   * is not a non-negative safe integer, or an asset named twice.
   */
  private reserves_audit(cmd: ReservesAudit): void {
    const n = this.assets.length;
    if (n === 0) return void this.reject(R.REASON_INVALID_PARAMETER, "no assets to audit");
    if (!Array.isArray(cmd.reserves) || cmd.reserves.length > n)
      return void this.reject(R.REASON_INVALID_PARAMETER, "more reserves than assets");
    const reserves_units = new Array<number>(n).fill(-1);
    for (const r of cmd.reserves) {
      if (!this.asset_valid(r.asset)) return void this.reject(R.REASON_UNKNOWN_ASSET);
      if (!(Number.isSafeInteger(r.units) && r.units >= 0))
        return void this.reject(R.REASON_INVALID_AMOUNT, "reserves must be a non-negative integer");
      if (reserves_units[r.asset] !== -1)
        return void this.reject(R.REASON_INVALID_PARAMETER, "an asset's reserves named twice");
      reserves_units[r.asset] = r.units;
    }
    this.sink.reserves_audit(() => {
      const accounts = this.accounts.length;
      const ledger = this.ledger;
      const balances = new Float64Array(accounts * n);
      for (let a = 0; a < accounts; a++)
        for (let asset = 0; asset < n; asset++)
          balances[a * n + asset] = ledger.free(a, asset) + ledger.locked(a, asset);
      return {
        assets: n,
        accounts,
        balances,
        reserves_units,
        fees_units: this.asset_totals.map((t) => t.fees_units),
        custody_units: this.asset_totals.map((t) => t.deposits_units - t.withdrawals_units),
      };
    });
  }

  private set_exchange_flags(cmd: SetExchangeFlags): void {
    this.maintenance = cmd.maintenance === true;
    this.deposits_paused = cmd.deposits_paused === true;
    this.withdrawals_paused = cmd.withdrawals_paused === true;
    this.sink.exchange_flags(this.maintenance, this.deposits_paused, this.withdrawals_paused);
  }

  // ---------------------------------------------------------------- for restore (snapshot.ts)

  /** @internal Re-creates an order exactly as a snapshot recorded it. */
  restore_order(fields: RestoredOrder): void {
    const orders = this.orders;
    const slot = orders.allocate(fields.id);
    orders.set_account(slot, fields.account);
    orders.set_market(slot, fields.market);
    orders.set_side(slot, fields.side);
    orders.set_type(slot, fields.type);
    orders.set_tif(slot, fields.tif);
    orders.set_stp(slot, fields.stp);
    orders.set_triggered(slot, fields.triggered ? 1 : 0);
    orders.set_price_ticks(slot, fields.price_ticks);
    orders.set_stop_price_ticks(slot, fields.stop_price_ticks);
    orders.set_quantity_lots(slot, fields.quantity_lots);
    orders.set_quote_units(slot, fields.quote_units);
    orders.set_executed_lots(slot, fields.executed_lots);
    orders.set_cumulative_quote_units(slot, fields.cumulative_quote_units);
    orders.set_locked_units(slot, fields.locked_units);
    orders.set_time_ms(slot, fields.time_ms);
    orders.set_client_order_id(slot, fields.client_order_id);
    orders.set_strategy(slot, fields.strategy_id, fields.strategy_type);
    if (fields.trail !== undefined) orders.set_trail(slot, { ...fields.trail });
    if (fields.iceberg !== undefined) orders.set_iceberg(slot, { ...fields.iceberg });
    if (fields.peg !== undefined) orders.set_peg(slot, { ...fields.peg });
    if (fields.prevented_lots !== undefined && fields.prevented_lots > 0)
      orders.add_prevented(slot, fields.prevented_lots);
    if (fields.list_id !== undefined) orders.set_list_id(slot, fields.list_id);
    const market = this.markets[fields.market];
    this.row(fields.account);
    if (fields.where === WHERE_WAITING) {
      this.waiting.add(fields.id);
    } else if (fields.where !== WHERE_BOOK) {
      (fields.where === WHERE_TRAILING ? market.trailing : market.stops).add(orders, slot);
      this.ledger.cells[this.ledger.counts_at(fields.account, fields.market) + COUNT_STOPS]++;
    } else {
      const book = fields.side === SIDE_BUY ? market.bids : market.asks;
      book.append(orders, slot, fields.price_ticks, orders.book_lots(slot));
    }
    this.link_open(slot);
  }

  /**
   * An account's pending order list in a market, by id or by list client order id; null if none.
   * Both given (Binance): the list with that id, if its list client order id is that one.
   */
  find_order_list(
    account: number,
    market: number,
    list_id: number | null,
    client_id: string | null,
  ): OrderList | null {
    const id = list_id ?? this.list_client_ids.get(`${account} ${client_id}`) ?? 0;
    const list = this.order_lists.get(id);
    if (list === undefined || list.account !== account || list.market !== market) return null;
    return list_id !== null && client_id !== null && list.client_id !== client_id ? null : list;
  }

  /** @internal Re-creates a pending order list (its orders carry its id). */
  restore_order_list(list: OrderList): void {
    this.order_lists.set(list.id, { ...list });
    if (list.client_id !== null) this.list_client_ids.set(`${list.account} ${list.client_id}`, list.id);
  }

  /** @internal */
  restore_client_id(account: number, client_id: string, order_id: number, time_ms: number): void {
    this.client_ids.add(this.accounts[account], account, client_id, order_id, time_ms);
  }
}

export interface RestoredOrder {
  id: number;
  account: number;
  market: number;
  side: Side;
  type: OrderType;
  tif: TimeInForce;
  stp: StpMode;
  triggered: boolean;
  price_ticks: number;
  stop_price_ticks: number;
  quantity_lots: number;
  quote_units: number;
  executed_lots: number;
  cumulative_quote_units: number;
  locked_units: number;
  time_ms: number;
  client_order_id: string | null;
  /** WHERE_BOOK, WHERE_STOPS, WHERE_TRAILING or WHERE_WAITING. */
  where: number;
  /** Strategy labels; undefined: not given. */
  strategy_id?: number;
  strategy_type?: number;
  /** A trailing stop's state (untriggered or not). */
  trail?: TrailState;
  /** An iceberg order's state. */
  iceberg?: IcebergState;
  /** A pegged order's state. */
  peg?: PegState;
  /** What self-trade prevention has taken from it (quantity_lots is what is left to work with). */
  prevented_lots?: number;
  /** The order list it is in. */
  list_id?: number;
}

/** Where a restored order lives: resting in the book, in the stop lists, in the trailing list. */
export const WHERE_BOOK = 0;
export const WHERE_STOPS = 1;
export const WHERE_TRAILING = 2;
/** An OTO's pending order, waiting off the book for its working order (Engine.waiting). */
export const WHERE_WAITING = 3;

/**
 * A pending order list: an OCO's two orders, or an OTO's working order and its pending order, or an
 * OTOCO's working order and pending pair.
 */
export interface OrderList {
  id: number;
  account: number;
  market: number;
  /** Binance's listClientOrderId; null: none given. */
  client_id: string | null;
  contingency: Contingency;
  /** An OTO's or OTOCO's working order; 0 for an OCO. */
  working_id: number;
  /** An OCO's order priced higher; an OTO's pending order; an OTOCO's pending order priced higher. */
  above_id: number;
  /** An OCO's or OTOCO's order priced lower; 0 for an OTO. */
  below_id: number;
  /**
   * An OTO/OTOCO whose working order has not filled yet: its pending orders wait (Engine.waiting).
   * False for an OCO, and for an OTOCO whose pending pair is placed (an OCO from then on).
   */
  waiting: boolean;
  /**
   * An OPO/OPOCO: the working order's proceeds pay the pending orders, locked on the pending order
   * above (the pair's take-profit order) as they come; the pending orders' quantity is set from them.
   */
  pays: boolean;
  /** When it was placed (command time). */
  time_ms: number;
}

/** What each order of a pair locks (above, below) and each one's trailing lock price (admit_pair). */
type PairLocks = [number, number, number, number];

/** An OCO's take-profit order types (the other order is a STOP_LOSS or STOP_LOSS_LIMIT). */
function is_take_profit_type(type: number): boolean {
  return type === TYPE_LIMIT_MAKER || type === TYPE_TAKE_PROFIT || type === TYPE_TAKE_PROFIT_LIMIT;
}

/**
 * The price an OCO order is compared at: a LIMIT_MAKER's price, a stop's stop price (0: none, as for
 * a pegged limit maker placed later: its price is not known yet).
 */
function pair_price_ticks(spec: OrderSpec): number {
  if (spec.order_type !== TYPE_LIMIT_MAKER) return spec.stop_price_ticks;
  return spec.peg_later === true ? 0 : spec.price_ticks;
}

/** a × b <= c × d, exactly (BigInt only when a product passes 2^53). */
function times_at_most(a: number, b: number, c: number, d: number): boolean {
  const left = a * b;
  const right = c * d;
  if (left <= Number.MAX_SAFE_INTEGER && right <= Number.MAX_SAFE_INTEGER) return left <= right;
  return BigInt(a) * BigInt(b) <= BigInt(c) * BigInt(d);
}

function is_spec(x: unknown): x is OrderSpec {
  return typeof x === "object" && x !== null;
}

/**
 * A peg's shape (Binance's pegged orders FAQ): PRIMARY_PEG or MARKET_PEG, on an order with a limit
 * price; a LIMIT_MAKER only PRIMARY_PEG; a PRIMARY_PEG LIMIT only GTC; an offset of 0..100 levels.
 */
function check_peg(spec: OrderSpec): R.Reason {
  const peg = spec.peg_type;
  const type = spec.order_type;
  if (!(peg === PEG_PRIMARY || peg === PEG_MARKET) || !has_limit_price(type))
    return R.REASON_INVALID_PARAMETER;
  const offset = spec.peg_offset_levels;
  if (offset !== undefined && !(Number.isInteger(offset) && offset >= 0 && offset <= PEG_OFFSET_MAX))
    return R.REASON_INVALID_PARAMETER;
  if (type === TYPE_LIMIT_MAKER && peg !== PEG_PRIMARY) return R.REASON_UNSUPPORTED_ORDER;
  if (type === TYPE_LIMIT && peg === PEG_PRIMARY && spec.tif !== TIF_GTC) return R.REASON_UNSUPPORTED_ORDER;
  return R.REASON_NONE;
}

/** settle_list's `why` for an order of a list that triggered. */
const LIST_TRIGGERED = -1;
