/**
 * Seeded operation streams for the engine benchmark, identical for Holdfast and the peer. Streams are
 * generated before timing; cancels target orders that are live at that point, found by a pre-pass
 * through the (deterministic) engine, so both engines do the same work.
 */
import type { CancelOrder, Command, PlaceOrder } from "../../src/engine/commands.js";
import { Engine } from "../../src/engine/engine.js";
import { NullSink } from "../../src/engine/events.js";
import { SIDE_BUY, SIDE_SELL, STATUS_NEW, STATUS_PARTIALLY_FILLED } from "../../src/engine/types.js";
import { btc_asset, btcusdt, usdt_asset } from "../../src/sim/fixtures.js";
import { Prng } from "../../src/sim/prng.js";

export const MID_TICKS = 1_000_000; // 10,000.00 quote per base
export const ACCOUNTS = 1000;
export const OP_LIMIT = 0;
export const OP_CANCEL = 1;

export const BENCH_LIMITS = {
  open_orders_per_account_market_max: 100_000,
  open_orders_per_account_max: 100_000,
  orders_max: 4_000_000,
};

export function setup_commands(): Command[] {
  const cmds: Command[] = [btc_asset(), usdt_asset(), btcusdt()];
  for (let a = 0; a < ACCOUNTS; a++) {
    cmds.push({ type: "create_account", ts_ms: 0 });
    cmds.push({ type: "deposit", ts_ms: 0, account: a, asset: 0, amount_units: 10_000_000_000 });
    cmds.push({ type: "deposit", ts_ms: 0, account: a, asset: 1, amount_units: 5_000_000_000_000 });
  }
  return cmds;
}

/** A stream of operations as parallel arrays (no per-operation objects until they are run). */
export class Stream {
  readonly kind: Uint8Array;
  readonly side: Uint8Array;
  readonly price_ticks: Float64Array;
  readonly quantity_lots: Float64Array;
  readonly account: Int32Array;
  /** For limits: the order id the engine will assign; for cancels: the id to cancel. */
  readonly order_id: Float64Array;
  /** The same ids as strings, for the peer (made before timing). */
  readonly peer_id: string[];
  length = 0;

  constructor(readonly capacity: number) {
    this.kind = new Uint8Array(capacity);
    this.side = new Uint8Array(capacity);
    this.price_ticks = new Float64Array(capacity);
    this.quantity_lots = new Float64Array(capacity);
    this.account = new Int32Array(capacity);
    this.order_id = new Float64Array(capacity);
    this.peer_id = new Array<string>(capacity);
  }

  /**
   * Operation i as an engine command, written into reused command objects: the way a journal
   * decoder hands commands to the engine (a preallocated entry per command kind, as in LMAX's ring).
   * The engine keeps no reference to a command after execute() returns.
   */
  command_into(i: number): Command {
    if (this.kind[i] === OP_CANCEL) {
      const c = scratch_cancel;
      c.account = this.account[i];
      c.order_id = this.order_id[i];
      return c;
    }
    const p = scratch_place;
    p.account = this.account[i];
    p.side = this.side[i] as 0 | 1;
    p.price_ticks = this.price_ticks[i];
    p.quantity_lots = this.quantity_lots[i];
    return p;
  }

  /** The engine command for operation i, as a new object. */
  command(i: number): Command {
    if (this.kind[i] === OP_CANCEL)
      return {
        type: "cancel_order",
        ts_ms: 1,
        account: this.account[i],
        market: 0,
        order_id: this.order_id[i],
        client_order_id: null,
      };
    return {
      type: "place_order",
      ts_ms: 1,
      account: this.account[i],
      market: 0,
      side: this.side[i] as 0 | 1,
      order_type: 0,
      tif: 0,
      price_ticks: this.price_ticks[i],
      quantity_lots: this.quantity_lots[i],
      quote_units: 0,
      stop_price_ticks: 0,
      client_order_id: null,
      stp: 0,
    };
  }
}

const scratch_cancel: CancelOrder = {
  type: "cancel_order",
  ts_ms: 1,
  account: 0,
  market: 0,
  order_id: 0,
  client_order_id: null,
};
const scratch_place: PlaceOrder = {
  type: "place_order",
  ts_ms: 1,
  account: 0,
  market: 0,
  side: 0,
  order_type: 0,
  tif: 0,
  price_ticks: 0,
  quantity_lots: 0,
  quote_units: 0,
  stop_price_ticks: 0,
  client_order_id: null,
  stp: 0,
};

/** Tracks live order ids in the pre-pass, with O(1) random pick and removal. */
class LiveTracker extends NullSink {
  readonly ids: number[] = [];
  readonly index = new Map<number, number>();
  /** Owner of each live order: a cancel must come from the order's account. */
  readonly owner = new Map<number, number>();
  override order_new(order_id: number, account: number): void {
    this.index.set(order_id, this.ids.length);
    this.ids.push(order_id);
    this.owner.set(order_id, account);
  }
  override order_update(order_id: number, _a: number, _m: number, status: number): void {
    if (status !== STATUS_NEW && status !== STATUS_PARTIALLY_FILLED) this.remove(order_id);
  }
  remove(order_id: number): void {
    const i = this.index.get(order_id);
    if (i === undefined) return;
    const last = this.ids.pop() as number;
    if (last !== order_id) {
      this.ids[i] = last;
      this.index.set(last, i);
    }
    this.index.delete(order_id);
    this.owner.delete(order_id);
  }
}

export interface Workload {
  name: string;
  preload: Stream;
  ops: Stream;
}

type Pick = (rng: Prng, live: LiveTracker) => void;

function build(name: string, seed: number, preload_count: number, op_count: number, next: Pick): Workload {
  const rng = new Prng(seed);
  const tracker = new LiveTracker();
  const engine = new Engine(BENCH_LIMITS, tracker);
  for (const c of setup_commands()) engine.execute(c);
  const fill = (stream: Stream, count: number, pick: Pick): void => {
    for (let i = 0; i < count; i++) {
      pick(rng, tracker);
      const at = stream.length++;
      const p = pending;
      stream.kind[at] = p.kind;
      stream.side[at] = p.side;
      stream.price_ticks[at] = p.price_ticks;
      stream.quantity_lots[at] = p.quantity_lots;
      stream.account[at] = p.account;
      if (p.kind === OP_LIMIT) p.order_id = engine.next_order_id;
      stream.order_id[at] = p.order_id;
      stream.peer_id[at] = String(p.order_id);
      engine.execute(stream.command(at));
    }
  };
  const preload = new Stream(preload_count);
  const ops = new Stream(op_count);
  fill(preload, preload_count, resting_pick);
  fill(ops, op_count, next);
  return { name, preload, ops };
}

/** Scratch for the operation being generated. */
const pending = { kind: 0, side: 0, price_ticks: 0, quantity_lots: 0, account: 0, order_id: 0 };

function limit_at(rng: Prng, side: number, price_ticks: number): void {
  pending.kind = OP_LIMIT;
  pending.side = side;
  pending.price_ticks = price_ticks;
  pending.quantity_lots = rng.between(1, 100);
  pending.account = rng.below(ACCOUNTS);
}

/** A non-crossing limit within 100 ticks of the mid. */
const resting_pick: Pick = (rng) => {
  const side = rng.chance(0.5) ? SIDE_BUY : SIDE_SELL;
  const offset = rng.between(1, 100);
  limit_at(rng, side, side === SIDE_BUY ? MID_TICKS - offset : MID_TICKS + offset);
};

/** mixed: 70% limits (one in five aggressive, 1-10 ticks through the mid), 30% cancels of live orders. */
const mixed_pick: Pick = (rng, live) => {
  if (rng.chance(0.3) && live.ids.length > 0) {
    const id = live.ids[rng.below(live.ids.length)];
    pending.kind = OP_CANCEL;
    pending.order_id = id;
    pending.account = live.owner.get(id) ?? -1;
    live.remove(id);
    return;
  }
  if (rng.chance(0.2)) {
    const side = rng.chance(0.5) ? SIDE_BUY : SIDE_SELL;
    const through = rng.between(1, 10);
    limit_at(rng, side, side === SIDE_BUY ? MID_TICKS + through : MID_TICKS - through);
  } else {
    resting_pick(rng, live);
  }
};

/** insert: limits only, within 10 ticks of the mid on either side, so about half of them match. */
const insert_pick: Pick = (rng) => {
  const side = rng.chance(0.5) ? SIDE_BUY : SIDE_SELL;
  limit_at(rng, side, MID_TICKS + rng.between(-10, 10));
};

export function mixed(seed: number, preload: number, ops: number): Workload {
  return build("mixed", seed, preload, ops, mixed_pick);
}

export function insert(seed: number, preload: number, ops: number): Workload {
  return build("insert", seed, preload, ops, insert_pick);
}
