/**
 * Order storage, one record per slot: sixteen numbers in a Float64Array (two cache lines) and eight
 * links in an Int32Array (half a line). Records, not a column per field: touching an order (a cancel,
 * a fill) then costs two or three cache misses instead of one per field, which decides throughput
 * once the book outgrows the CPU caches. Slot 0 is the null slot, so zero-filled memory needs no
 * initialisation. Storage grows by doubling up to `capacity` (limits.orders_max). Slots are reused
 * through a free stack; slot numbers are never visible outside the engine, so a restored engine may
 * place orders in other slots and still behave identically.
 */
import { assert } from "./assert.js";
import { grown, next_capacity } from "./growable.js";
import { IdIndex } from "./id_index.js";

const F_STRIDE = 16;
const L_STRIDE = 8;
const L_HAS_CLIENT_ID = 6;

export class OrderStore {
  /** Hard maximum of live orders. */
  readonly capacity: number;
  private f = new Float64Array(0);
  private l = new Int32Array(0);
  /** Client order ids of the slots that have one. */
  private readonly client_ids = new Map<number, string>();
  /** order id -> slot (0 = not live), for live orders only. */
  readonly by_id = new IdIndex();

  private high_water = 1;
  private free_stack = new Int32Array(0);
  private free_count = 0;
  /** Current number of slots (0..length-1). */
  private length = 0;

  /** `preallocated` slots are reserved up front; beyond that storage doubles as needed. */
  constructor(capacity: number, preallocated: number) {
    this.capacity = capacity;
    this.grow(Math.min(capacity + 1, Math.max(1024, preallocated + 1)));
  }

  private grow(length: number): void {
    this.f = grown(this.f, length * F_STRIDE);
    this.l = grown(this.l, length * L_STRIDE);
    this.free_stack = grown(this.free_stack, length);
    this.length = length;
  }

  get live(): number {
    return this.by_id.size;
  }

  has_room(): boolean {
    return this.free_count > 0 || this.high_water <= this.capacity;
  }

  /** Takes a free slot for a new order; the caller has checked has_room(). */
  allocate(order_id: number): number {
    let slot: number;
    if (this.free_count > 0) {
      slot = this.free_stack[--this.free_count];
    } else {
      slot = this.high_water++;
      if (slot >= this.length) this.grow(next_capacity(this.length, slot + 1, this.capacity + 1));
    }
    assert(slot >= 1 && slot <= this.capacity, "order slot out of range");
    // Plain stores: TypedArray.prototype.fill is a runtime call that costs more than the record.
    const f = this.f;
    const at = slot * F_STRIDE;
    f[at] = order_id;
    for (let i = 1; i < F_STRIDE; i++) f[at + i] = 0;
    this.by_id.set(order_id, slot);
    return slot;
  }

  release(slot: number): void {
    assert(this.by_id.get(this.id(slot)) === slot, "releasing an order slot that is not live");
    assert(this.open(slot) === 0, "releasing an order still in an account list");
    this.by_id.delete(this.id(slot));
    if (this.l[slot * L_STRIDE + L_HAS_CLIENT_ID] === 1) this.client_ids.delete(slot);
    const l = this.l;
    const at = slot * L_STRIDE;
    for (let i = 0; i < L_STRIDE; i++) l[at + i] = 0;
    this.free_stack[this.free_count++] = slot;
  }

  remaining_lots(slot: number): number {
    const at = slot * F_STRIDE;
    return this.f[at + 2] - this.f[at + 3];
  }

  client_order_id(slot: number): string | null {
    return this.l[slot * L_STRIDE + L_HAS_CLIENT_ID] === 1 ? (this.client_ids.get(slot) ?? null) : null;
  }

  set_client_order_id(slot: number, client_order_id: string | null): void {
    if (client_order_id === null) return;
    this.client_ids.set(slot, client_order_id);
    this.l[slot * L_STRIDE + L_HAS_CLIENT_ID] = 1;
  }

  /** Engine order id. */

  id(slot: number): number {
    return this.f[slot * F_STRIDE + 0];
  }

  set_id(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 0] = value;
  }

  /** Limit price (0 for market types). */

  price_ticks(slot: number): number {
    return this.f[slot * F_STRIDE + 1];
  }

  set_price_ticks(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 1] = value;
  }

  /** Original quantity in lots (0 for a market order by quote amount). */

  quantity_lots(slot: number): number {
    return this.f[slot * F_STRIDE + 2];
  }

  set_quantity_lots(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 2] = value;
  }

  executed_lots(slot: number): number {
    return this.f[slot * F_STRIDE + 3];
  }

  set_executed_lots(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 3] = value;
  }

  cumulative_quote_units(slot: number): number {
    return this.f[slot * F_STRIDE + 4];
  }

  set_cumulative_quote_units(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 4] = value;
  }

  /** Funds this order still holds, in the quote asset (buys) or base asset (sells). */

  locked_units(slot: number): number {
    return this.f[slot * F_STRIDE + 5];
  }

  set_locked_units(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 5] = value;
  }

  /** Original quote amount of a market order by quote (0 otherwise). */

  quote_units(slot: number): number {
    return this.f[slot * F_STRIDE + 6];
  }

  set_quote_units(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 6] = value;
  }

  stop_price_ticks(slot: number): number {
    return this.f[slot * F_STRIDE + 7];
  }

  set_stop_price_ticks(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 7] = value;
  }

  time_ms(slot: number): number {
    return this.f[slot * F_STRIDE + 8];
  }

  set_time_ms(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 8] = value;
  }

  account(slot: number): number {
    return this.f[slot * F_STRIDE + 9];
  }

  set_account(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 9] = value;
  }

  side(slot: number): number {
    return this.f[slot * F_STRIDE + 10];
  }

  set_side(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 10] = value;
  }

  type(slot: number): number {
    return this.f[slot * F_STRIDE + 11];
  }

  set_type(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 11] = value;
  }

  tif(slot: number): number {
    return this.f[slot * F_STRIDE + 12];
  }

  set_tif(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 12] = value;
  }

  stp(slot: number): number {
    return this.f[slot * F_STRIDE + 13];
  }

  set_stp(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 13] = value;
  }

  /** 1 once a stop order has triggered (it then works as a market or limit order). */

  triggered(slot: number): number {
    return this.f[slot * F_STRIDE + 14];
  }

  set_triggered(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 14] = value;
  }

  market(slot: number): number {
    return this.f[slot * F_STRIDE + 15];
  }

  set_market(slot: number, value: number): void {
    this.f[slot * F_STRIDE + 15] = value;
  }

  /** Links in the price level's FIFO queue. */

  prev(slot: number): number {
    return this.l[slot * L_STRIDE + 0];
  }

  set_prev(slot: number, value: number): void {
    this.l[slot * L_STRIDE + 0] = value;
  }

  next(slot: number): number {
    return this.l[slot * L_STRIDE + 1];
  }

  set_next(slot: number, value: number): void {
    this.l[slot * L_STRIDE + 1] = value;
  }

  level(slot: number): number {
    return this.l[slot * L_STRIDE + 2];
  }

  set_level(slot: number, value: number): void {
    this.l[slot * L_STRIDE + 2] = value;
  }

  /** Links in the account's list of open orders in this market. */

  account_prev(slot: number): number {
    return this.l[slot * L_STRIDE + 3];
  }

  set_account_prev(slot: number, value: number): void {
    this.l[slot * L_STRIDE + 3] = value;
  }

  account_next(slot: number): number {
    return this.l[slot * L_STRIDE + 4];
  }

  set_account_next(slot: number, value: number): void {
    this.l[slot * L_STRIDE + 4] = value;
  }

  /** 1 while the order is in its account's open-order list (resting or untriggered stop). */

  open(slot: number): number {
    return this.l[slot * L_STRIDE + 5];
  }

  set_open(slot: number, value: number): void {
    this.l[slot * L_STRIDE + 5] = value;
  }
}
