/**
 * Order storage: one typed array per field (struct of arrays), indexed by slot. Slot 0 is the null
 * slot, so zero-filled arrays need no initialisation. Columns grow by doubling up to `capacity`
 * (limits.orders_max). Slots are reused through a free stack; slot numbers are never visible outside
 * the engine, so a restored engine may place orders in other slots and still behave identically.
 */
import { assert } from "./assert.js";
import { grown, next_capacity } from "./growable.js";

export class OrderStore {
  /** Hard maximum of live orders. */
  readonly capacity: number;
  id = new Float64Array(0);
  account = new Int32Array(0);
  market = new Int32Array(0);
  side = new Uint8Array(0);
  type = new Uint8Array(0);
  tif = new Uint8Array(0);
  stp = new Uint8Array(0);
  /** 1 once a stop order has triggered (it then works as a market or limit order). */
  triggered = new Uint8Array(0);
  /** 1 while the order is in its account's open-order list (resting or untriggered stop). */
  open = new Uint8Array(0);
  price_ticks = new Float64Array(0);
  stop_price_ticks = new Float64Array(0);
  /** Original quantity in lots (0 for a market order by quote amount). */
  quantity_lots = new Float64Array(0);
  /** Original quote amount of a market order by quote (0 otherwise). */
  quote_units = new Float64Array(0);
  executed_lots = new Float64Array(0);
  cumulative_quote_units = new Float64Array(0);
  /** Funds this order still holds, in the quote asset (buys) or base asset (sells). */
  locked_units = new Float64Array(0);
  time_ms = new Float64Array(0);
  /** Links in the price level's FIFO queue. */
  prev = new Int32Array(0);
  next = new Int32Array(0);
  level = new Int32Array(0);
  /** Links in the account's list of open orders in this market. */
  account_prev = new Int32Array(0);
  account_next = new Int32Array(0);
  readonly client_order_id: (string | null)[] = [];
  /** order id -> slot, for live orders only. */
  readonly by_id = new Map<number, number>();

  private high_water = 1;
  private free_stack = new Int32Array(0);
  private free_count = 0;
  /** Current column length (slots 0..length-1). */
  private length = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.grow(Math.min(capacity + 1, 1024));
  }

  private grow(length: number): void {
    this.id = grown(this.id, length);
    this.account = grown(this.account, length);
    this.market = grown(this.market, length);
    this.side = grown(this.side, length);
    this.type = grown(this.type, length);
    this.tif = grown(this.tif, length);
    this.stp = grown(this.stp, length);
    this.triggered = grown(this.triggered, length);
    this.open = grown(this.open, length);
    this.price_ticks = grown(this.price_ticks, length);
    this.stop_price_ticks = grown(this.stop_price_ticks, length);
    this.quantity_lots = grown(this.quantity_lots, length);
    this.quote_units = grown(this.quote_units, length);
    this.executed_lots = grown(this.executed_lots, length);
    this.cumulative_quote_units = grown(this.cumulative_quote_units, length);
    this.locked_units = grown(this.locked_units, length);
    this.time_ms = grown(this.time_ms, length);
    this.prev = grown(this.prev, length);
    this.next = grown(this.next, length);
    this.level = grown(this.level, length);
    this.account_prev = grown(this.account_prev, length);
    this.account_next = grown(this.account_next, length);
    this.free_stack = grown(this.free_stack, length);
    this.length = length;
  }

  get live(): number {
    return this.by_id.size;
  }

  has_room(): boolean {
    return this.free_count > 0 || this.high_water <= this.capacity;
  }

  /** Takes a free slot; the caller has checked has_room(). */
  allocate(order_id: number): number {
    let slot: number;
    if (this.free_count > 0) {
      slot = this.free_stack[--this.free_count];
    } else {
      slot = this.high_water++;
      if (slot >= this.length) this.grow(next_capacity(this.length, slot + 1, this.capacity + 1));
    }
    assert(slot >= 1 && slot <= this.capacity, "order slot out of range");
    this.id[slot] = order_id;
    this.by_id.set(order_id, slot);
    return slot;
  }

  release(slot: number): void {
    assert(this.by_id.get(this.id[slot]) === slot, "releasing an order slot that is not live");
    assert(this.open[slot] === 0, "releasing an order still in an account list");
    this.by_id.delete(this.id[slot]);
    this.client_order_id[slot] = null;
    this.prev[slot] = 0;
    this.next[slot] = 0;
    this.level[slot] = 0;
    this.account_prev[slot] = 0;
    this.account_next[slot] = 0;
    this.triggered[slot] = 0;
    this.free_stack[this.free_count++] = slot;
  }

  remaining_lots(slot: number): number {
    return this.quantity_lots[slot] - this.executed_lots[slot];
  }
}
