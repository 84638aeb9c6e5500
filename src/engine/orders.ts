/**
 * Order storage. On this class of machine a cache miss costs 100-300 ns, so what decides throughput
 * is how many cache lines an operation touches. Each order has a 64-byte hot record (one cache line)
 * with everything a cancel or a fill needs: id, quantity, executed, locked, cumulative quote, account,
 * packed flags (side, type, market, ...), and the level links; and a 32-byte cold record (price, stop
 * price, quote amount, time) read when an order is placed, rests or is reported.
 * Slot 0 is the null slot, so zero-filled memory needs no initialisation. Storage for all `capacity`
 * slots (limits.orders_max) is reserved up front but costs memory only once used: a large zeroed
 * ArrayBuffer is mapped lazily by the OS, and slots are handed out from the bottom (a free stack, then a
 * high-water mark), so resident memory follows the high-water mark. Nothing is ever copied to grow:
 * doubling used to stall order entry for 40-80 ms at 262,144 orders (copying, and faulting in the new
 * pages at ~3 ms per MB on this VM). Slot numbers are never visible outside the engine, so a restored
 * engine may place orders in other slots and still behave identically.
 */
import { assert } from "./assert.js";
import { IdIndex } from "./id_index.js";
import type { TrailState } from "./trailing.js";

/**
 * An iceberg order (Binance's icebergQty): it shows `display_lots` at a time. `visible_lots` is what
 * its level counts now (at most what it has left); when that is filled and more is left, a new part
 * shows at the back of the level's queue.
 */
/** Binance's ICEBERG_PARTS filter: an iceberg order has at most this many parts, ceil(qty / icebergQty). */
export const ICEBERG_PARTS_MAX = 10;

export interface IcebergState {
  readonly display_lots: number;
  visible_lots: number;
}

/**
 * A pegged order (Binance's pegPriceType): `type` PEG_PRIMARY or PEG_MARKET, `offset_levels` its
 * pegOffsetValue (-1: not sent), `sent_price_ticks` the price it was sent with (0: none; Binance shows
 * it as the order's price). `pegged`: the order's price_ticks is its pegged price (Binance's
 * peggedPrice); until then (a stop-limit order not triggered, a pending order not placed) price_ticks
 * is only what its lock is reckoned at.
 */
export interface PegState {
  readonly type: number;
  readonly offset_levels: number;
  readonly sent_price_ticks: number;
  pegged: boolean;
}

/** Hot record: 8 doubles = 16 int32s = 64 bytes, viewed both ways. */
const HOT_F = 8;
const HOT_I = 16;
/** Int32 index of the packed flags: side 0, open 1, triggered 2, type 3-5, tif 6-7, has client id 10, market 11-30, has strategy labels 31. */
const META = 9;
/** Int32 index of the self-trade prevention mode (read once per match, not per fill). */
const STP = 13;
const HAS_CLIENT_ID = 1 << 10;
const HAS_STRATEGY = 1 << 31;
const COLD_F = 4;

/** Writes one element per 4 KiB page so the kernel maps it now rather than on the hot path. */
export function touch(array: Float64Array | Int32Array): void {
  const step = 4096 / array.BYTES_PER_ELEMENT;
  for (let i = 0; i < array.length; i += step) array[i] = 0;
}

/**
 * Memory a helper thread may fault in ahead of the order store's high-water mark (the shell's
 * touch-ahead worker, src/node/touch_ahead.ts). With transparent huge pages the first write to each
 * fresh 2 MB costs ~3-5 ms of zeroing on this VM; made on the node's thread while orders pile up, that
 * stalls order entry (and was ~7% of a replay). The engine only publishes how far it has got.
 */
export interface TouchPlan {
  /** [0]: the high-water slot, rounded down to TOUCH_PUBLISH_SLOTS; written by the engine only. */
  readonly progress: Int32Array;
  /** Slots below this are already mapped (written at start-up). */
  readonly mapped_slots: number;
  readonly regions: readonly { readonly buffer: SharedArrayBuffer; readonly bytes_per_slot: number }[];
}
const TOUCH_PUBLISH_SLOTS = 1024;

export class OrderStore {
  /** Hard maximum of live orders. */
  readonly capacity: number;
  private readonly hf: Float64Array;
  private readonly hi: Int32Array;
  private readonly cf: Float64Array;
  /** Client order ids of the slots that have one. */
  private readonly client_ids = new Map<number, string>();
  /** Strategy labels (Binance's strategyId, strategyType; -1: not given) of the few slots that have any. */
  private readonly strategies = new Map<number, [number, number]>();
  /** Trailing-stop state of the few slots that are trailing stops (looked up only while any is live). */
  private readonly trails = new Map<number, TrailState>();
  /** Iceberg state of the few slots that are iceberg orders (looked up only while any is live). */
  private readonly icebergs = new Map<number, IcebergState>();
  /** Peg state of the few slots that are pegged orders. */
  private readonly pegs = new Map<number, PegState>();
  /**
   * Lots self-trade prevention took from the few slots it has touched and left live (DECREMENT): what
   * Binance calls the order's prevented quantity. Their `quantity_lots` is already that much less.
   */
  private readonly prevented = new Map<number, number>();
  /** The order list (OCO) id of the few slots that are one of its orders (for the order's life). */
  private readonly lists = new Map<number, number>();
  /**
   * The maps' sizes, kept as plain fields: the fill loop asks on every fill whether any exist,
   * and a field load measured cheaper there than Map.prototype.size.
   */
  private trails_live = 0;
  private icebergs_live = 0;
  private pegs_live = 0;
  private prevented_live = 0;
  private lists_live = 0;
  /** order id -> slot (0 = not live), for live orders only. */
  readonly by_id: IdIndex;
  /** What a helper thread may map ahead of the high-water mark (see TouchPlan). */
  readonly touch_plan: TouchPlan;

  private high_water = 1;
  private readonly free_stack: Int32Array;
  private free_count = 0;

  /**
   * All `capacity` slots are reserved now; the first `preallocated` are also written once, so the pages
   * they use are mapped before the first order arrives (as TigerBeetle allocates at startup: a fresh
   * page costs a fault the first time it is written; measured: the first pass over a fresh engine ran
   * 45% slower). Pages beyond are mapped as the high-water mark reaches them, one fault per 64 slots.
   */
  constructor(capacity: number, preallocated: number) {
    this.capacity = capacity;
    const length = capacity + 1;
    // Shared (the same memory and speed as a plain ArrayBuffer here, measured) so that a helper thread
    // can map pages ahead of the high-water mark: see TouchPlan.
    const hot = new SharedArrayBuffer(length * HOT_F * 8);
    this.hf = new Float64Array(hot);
    this.hi = new Int32Array(hot);
    this.cf = new Float64Array(new SharedArrayBuffer(length * COLD_F * 8));
    this.free_stack = new Int32Array(new SharedArrayBuffer(length * 4));
    const mapped = Math.min(length, Math.max(1024, preallocated + 1));
    this.by_id = new IdIndex(mapped);
    touch(this.hf.subarray(0, mapped * HOT_F));
    touch(this.cf.subarray(0, mapped * COLD_F));
    touch(this.free_stack.subarray(0, mapped));
    this.touch_plan = {
      progress: new Int32Array(new SharedArrayBuffer(4)),
      mapped_slots: mapped,
      regions: [
        { buffer: hot, bytes_per_slot: HOT_F * 8 },
        { buffer: this.cf.buffer as SharedArrayBuffer, bytes_per_slot: COLD_F * 8 },
        { buffer: this.free_stack.buffer as SharedArrayBuffer, bytes_per_slot: 4 },
      ],
    };
  }

  get live(): number {
    return this.by_id.size;
  }

  /** Whether `n` more orders fit. */
  has_room(n = 1): boolean {
    return this.free_count + (this.capacity + 1 - this.high_water) >= n;
  }

  /** Takes a free slot for a new order, zeroed but for its id; the caller has checked has_room(). */
  allocate(order_id: number): number {
    let slot: number;
    if (this.free_count > 0) {
      slot = this.free_stack[--this.free_count];
    } else {
      slot = this.high_water++;
      if (slot % TOUCH_PUBLISH_SLOTS === 0) this.touch_plan.progress[0] = slot;
    }
    assert(slot >= 1 && slot <= this.capacity, "order slot out of range");
    // Plain stores: TypedArray.prototype.fill is a runtime call that costs more than the record.
    const hf = this.hf;
    const h = slot * HOT_F;
    hf[h] = order_id;
    for (let i = 1; i < HOT_F; i++) hf[h + i] = 0;
    const cf = this.cf;
    const c = slot * COLD_F;
    for (let i = 0; i < COLD_F; i++) cf[c + i] = 0;
    this.by_id.set(order_id, slot);
    return slot;
  }

  release(slot: number): void {
    const id = this.id(slot);
    assert(this.by_id.get(id) === slot, "releasing an order slot that is not live");
    assert(this.open(slot) === 0, "releasing an order still open for its account");
    this.by_id.delete(id);
    if ((this.hi[slot * HOT_I + META] & HAS_CLIENT_ID) !== 0) this.client_ids.delete(slot);
    if ((this.hi[slot * HOT_I + META] & HAS_STRATEGY) !== 0) this.strategies.delete(slot);
    if (this.trails_live !== 0 && this.trails.delete(slot)) this.trails_live--;
    if (this.icebergs_live !== 0 && this.icebergs.delete(slot)) this.icebergs_live--;
    if (this.pegs_live !== 0 && this.pegs.delete(slot)) this.pegs_live--;
    if (this.prevented_live !== 0 && this.prevented.delete(slot)) this.prevented_live--;
    if (this.lists_live !== 0 && this.lists.delete(slot)) this.lists_live--;
    this.free_stack[this.free_count++] = slot;
  }

  remaining_lots(slot: number): number {
    const at = slot * HOT_F;
    return this.hf[at + 1] - this.hf[at + 2];
  }

  client_order_id(slot: number): string | null {
    return (this.hi[slot * HOT_I + META] & HAS_CLIENT_ID) !== 0 ? (this.client_ids.get(slot) ?? null) : null;
  }

  set_client_order_id(slot: number, client_order_id: string | null): void {
    if (client_order_id === null) return;
    this.client_ids.set(slot, client_order_id);
    this.hi[slot * HOT_I + META] |= HAS_CLIENT_ID;
  }

  /** The order's strategy labels [strategy_id, strategy_type] (-1: not given), or null for none. */
  strategy(slot: number): readonly [number, number] | null {
    return (this.hi[slot * HOT_I + META] & HAS_STRATEGY) !== 0 ? (this.strategies.get(slot) ?? null) : null;
  }

  /** Labels an order with a strategy id and/or type (undefined: not given; both undefined: nothing). */
  set_strategy(slot: number, strategy_id: number | undefined, strategy_type: number | undefined): void {
    if (strategy_id === undefined && strategy_type === undefined) return;
    this.strategies.set(slot, [strategy_id ?? -1, strategy_type ?? -1]);
    this.hi[slot * HOT_I + META] |= HAS_STRATEGY;
  }

  /** The order's trailing-stop state, or undefined if it is not a trailing stop. */
  trail(slot: number): TrailState | undefined {
    return this.trails_live === 0 ? undefined : this.trails.get(slot);
  }

  set_trail(slot: number, state: TrailState): void {
    if (!this.trails.has(slot)) this.trails_live++;
    this.trails.set(slot, state);
  }

  /** The order's iceberg state, or undefined if it shows all of itself. */
  iceberg(slot: number): IcebergState | undefined {
    return this.icebergs_live === 0 ? undefined : this.icebergs.get(slot);
  }

  set_iceberg(slot: number, state: IcebergState): void {
    if (!this.icebergs.has(slot)) this.icebergs_live++;
    this.icebergs.set(slot, state);
  }

  /** The order's peg state, or undefined if it is not a pegged order. */
  peg(slot: number): PegState | undefined {
    return this.pegs_live === 0 ? undefined : this.pegs.get(slot);
  }

  set_peg(slot: number, state: PegState): void {
    if (!this.pegs.has(slot)) this.pegs_live++;
    this.pegs.set(slot, state);
  }

  /** Lots self-trade prevention has taken from this order so far (Binance's preventedQuantity). */
  prevented_lots(slot: number): number {
    return this.prevented_live === 0 ? 0 : (this.prevented.get(slot) ?? 0);
  }

  /**
   * Adds `lots` to the order's prevented quantity (self-trade prevention, DECREMENT). The caller takes
   * as much from its working quantity (quantity_lots), so that the two still add up to the quantity it
   * was placed (or amended) with; a market order by quote amount has none, it loses quote instead.
   */
  add_prevented(slot: number, lots: number): void {
    assert(lots > 0, "preventing no quantity");
    const before = this.prevented_lots(slot);
    if (before === 0) this.prevented_live++;
    this.prevented.set(slot, before + lots);
  }

  /** The id of the order list (OCO) this order was placed in, or 0 (pending or not: Engine.order_lists). */
  list_id(slot: number): number {
    return this.lists_live === 0 ? 0 : (this.lists.get(slot) ?? 0);
  }

  /** Puts the order in an order list (id > 0), or takes it out (0). */
  set_list_id(slot: number, list_id: number): void {
    const had = this.lists.has(slot);
    if (list_id === 0) {
      if (had) {
        this.lists.delete(slot);
        this.lists_live--;
      }
      return;
    }
    if (!had) this.lists_live++;
    this.lists.set(slot, list_id);
  }

  /** Live iceberg orders: while there are none, a level's total is everything its orders have left. */
  get iceberg_count(): number {
    return this.icebergs_live;
  }

  /** What a resting order counts in its level's total: its visible part if an iceberg, else all it has left. */
  book_lots(slot: number): number {
    if (this.icebergs_live !== 0) {
      const ice = this.icebergs.get(slot);
      if (ice !== undefined) return ice.visible_lots;
    }
    return this.remaining_lots(slot);
  }

  /** Engine order id. */

  id(slot: number): number {
    return this.hf[slot * HOT_F + 0];
  }

  set_id(slot: number, value: number): void {
    this.hf[slot * HOT_F + 0] = value;
  }

  /**
   * Quantity in lots the order may trade in all: what it was placed (or amended) with less what
   * self-trade prevention has taken (prevented_lots). 0 for a market order by quote amount.
   */

  quantity_lots(slot: number): number {
    return this.hf[slot * HOT_F + 1];
  }

  set_quantity_lots(slot: number, value: number): void {
    this.hf[slot * HOT_F + 1] = value;
  }

  executed_lots(slot: number): number {
    return this.hf[slot * HOT_F + 2];
  }

  set_executed_lots(slot: number, value: number): void {
    this.hf[slot * HOT_F + 2] = value;
  }

  /** Funds this order still holds, in the quote asset (buys) or base asset (sells). */

  locked_units(slot: number): number {
    return this.hf[slot * HOT_F + 3];
  }

  set_locked_units(slot: number, value: number): void {
    this.hf[slot * HOT_F + 3] = value;
  }

  cumulative_quote_units(slot: number): number {
    return this.hf[slot * HOT_F + 7];
  }

  set_cumulative_quote_units(slot: number, value: number): void {
    this.hf[slot * HOT_F + 7] = value;
  }

  account(slot: number): number {
    return this.hi[slot * HOT_I + 8];
  }

  set_account(slot: number, value: number): void {
    this.hi[slot * HOT_I + 8] = value;
  }

  /** Links in the price level's FIFO queue. */

  prev(slot: number): number {
    return this.hi[slot * HOT_I + 10];
  }

  set_prev(slot: number, value: number): void {
    this.hi[slot * HOT_I + 10] = value;
  }

  next(slot: number): number {
    return this.hi[slot * HOT_I + 11];
  }

  set_next(slot: number, value: number): void {
    this.hi[slot * HOT_I + 11] = value;
  }

  level(slot: number): number {
    return this.hi[slot * HOT_I + 12];
  }

  set_level(slot: number, value: number): void {
    this.hi[slot * HOT_I + 12] = value;
  }

  /** Limit price (0 for market types). */

  price_ticks(slot: number): number {
    return this.cf[slot * COLD_F + 0];
  }

  set_price_ticks(slot: number, value: number): void {
    this.cf[slot * COLD_F + 0] = value;
  }

  /** Original quote amount of a market order by quote (0 otherwise). */

  quote_units(slot: number): number {
    return this.cf[slot * COLD_F + 1];
  }

  set_quote_units(slot: number, value: number): void {
    this.cf[slot * COLD_F + 1] = value;
  }

  stop_price_ticks(slot: number): number {
    return this.cf[slot * COLD_F + 2];
  }

  set_stop_price_ticks(slot: number, value: number): void {
    this.cf[slot * COLD_F + 2] = value;
  }

  time_ms(slot: number): number {
    return this.cf[slot * COLD_F + 3];
  }

  set_time_ms(slot: number, value: number): void {
    this.cf[slot * COLD_F + 3] = value;
  }

  side(slot: number): number {
    return (this.hi[slot * HOT_I + META] >>> 0) & 0x1;
  }

  set_side(slot: number, value: number): void {
    const at = slot * HOT_I + META;
    this.hi[at] = (this.hi[at] & ~(0x1 << 0)) | ((value & 0x1) << 0);
  }

  /** 1 while the order counts as open for its account (resting or untriggered stop). */

  open(slot: number): number {
    return (this.hi[slot * HOT_I + META] >>> 1) & 0x1;
  }

  set_open(slot: number, value: number): void {
    const at = slot * HOT_I + META;
    this.hi[at] = (this.hi[at] & ~(0x1 << 1)) | ((value & 0x1) << 1);
  }

  /** 1 once a stop order has triggered (it then works as a market or limit order). */

  triggered(slot: number): number {
    return (this.hi[slot * HOT_I + META] >>> 2) & 0x1;
  }

  set_triggered(slot: number, value: number): void {
    const at = slot * HOT_I + META;
    this.hi[at] = (this.hi[at] & ~(0x1 << 2)) | ((value & 0x1) << 2);
  }

  type(slot: number): number {
    return (this.hi[slot * HOT_I + META] >>> 3) & 0x7;
  }

  set_type(slot: number, value: number): void {
    const at = slot * HOT_I + META;
    this.hi[at] = (this.hi[at] & ~(0x7 << 3)) | ((value & 0x7) << 3);
  }

  tif(slot: number): number {
    return (this.hi[slot * HOT_I + META] >>> 6) & 0x3;
  }

  set_tif(slot: number, value: number): void {
    const at = slot * HOT_I + META;
    this.hi[at] = (this.hi[at] & ~(0x3 << 6)) | ((value & 0x3) << 6);
  }

  stp(slot: number): number {
    return this.hi[slot * HOT_I + STP];
  }

  set_stp(slot: number, value: number): void {
    this.hi[slot * HOT_I + STP] = value;
  }

  market(slot: number): number {
    return (this.hi[slot * HOT_I + META] >>> 11) & 0xfffff;
  }

  set_market(slot: number, value: number): void {
    const at = slot * HOT_I + META;
    this.hi[at] = (this.hi[at] & ~(0xfffff << 11)) | ((value & 0xfffff) << 11);
  }
}
