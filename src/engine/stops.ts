/**
 * Untriggered stop orders of one market, in trigger order. `rising` holds orders that trigger when
 * a trade price rises to their stop price (BUY STOP_LOSS*, SELL TAKE_PROFIT*), sorted by stop price
 * ascending; `falling` holds those that trigger when one falls to it, sorted descending. Ties keep
 * order-id (arrival) order. Both lists are bounded by stop_orders_per_market_max.
 */
import { assert } from "./assert.js";
import type { OrderStore } from "./orders.js";
import { SIDE_BUY, TYPE_STOP_LOSS, TYPE_STOP_LOSS_LIMIT } from "./types.js";

export class StopBook {
  readonly rising: number[] = [];
  readonly falling: number[] = [];

  get size(): number {
    return this.rising.length + this.falling.length;
  }

  static is_rising(orders: OrderStore, slot: number): boolean {
    const stop_loss = orders.type(slot) === TYPE_STOP_LOSS || orders.type(slot) === TYPE_STOP_LOSS_LIMIT;
    return stop_loss === (orders.side(slot) === SIDE_BUY);
  }

  /** Whether the order's condition holds at this last price. */
  static condition_met(orders: OrderStore, slot: number, last_price_ticks: number): boolean {
    const stop = orders.stop_price_ticks(slot);
    return StopBook.is_rising(orders, slot) ? last_price_ticks >= stop : last_price_ticks <= stop;
  }

  /** Position before which `slot` sorts in `list` (after every order it ties with). */
  private position(orders: OrderStore, list: number[], rising: boolean, slot: number): number {
    const stop = orders.stop_price_ticks(slot);
    const id = orders.id(slot);
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = list[mid];
      const other_stop = orders.stop_price_ticks(other);
      const before = rising ? other_stop < stop : other_stop > stop;
      if (before || (other_stop === stop && orders.id(other) < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(orders: OrderStore, slot: number): void {
    const rising = StopBook.is_rising(orders, slot);
    const list = rising ? this.rising : this.falling;
    list.splice(this.position(orders, list, rising, slot), 0, slot);
  }

  remove(orders: OrderStore, slot: number): void {
    const rising = StopBook.is_rising(orders, slot);
    const list = rising ? this.rising : this.falling;
    const i = this.position(orders, list, rising, slot);
    assert(list[i] === slot, "stop order not found in its list");
    list.splice(i, 1);
  }

  /**
   * The next order whose condition holds, or 0: a rising one whose stop price `rise_at` has reached,
   * a falling one whose stop price `fall_at` has reached (the highest and lowest trade prices that
   * count, engine.ts run_triggers). When both lists have one, the older order (lower id) goes first,
   * so the choice is deterministic.
   */
  take_triggered(orders: OrderStore, rise_at_ticks: number, fall_at_ticks: number): number {
    const r =
      this.rising.length > 0 && orders.stop_price_ticks(this.rising[0]) <= rise_at_ticks ? this.rising[0] : 0;
    const f =
      this.falling.length > 0 && orders.stop_price_ticks(this.falling[0]) >= fall_at_ticks
        ? this.falling[0]
        : 0;
    if (r === 0 && f === 0) return 0;
    if (f === 0 || (r !== 0 && orders.id(r) < orders.id(f))) {
      this.rising.shift();
      return r;
    }
    this.falling.shift();
    return f;
  }
}
