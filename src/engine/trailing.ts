/**
 * Trailing stop orders of one market (Binance's trailingDelta, docs/ENGINE.md "Trailing stops").
 *
 * A trailing stop is a STOP_LOSS / TAKE_PROFIT (+_LIMIT) order whose trigger follows the market: a
 * buy tracks the lowest trade price since it began tracking and triggers on a rise of `delta_bips`
 * basis points from it; a sell tracks the highest and triggers on a fall. With a stop price it begins
 * tracking only at the first trade that meets the stop condition (that trade's price is its first
 * extreme); without one it tracks from placement, from the last trade price (or from the next trade
 * when the market has none yet).
 *
 * Unlike plain stops, which trigger on the last price after each order has matched, a trailing stop
 * sees every trade price, because the extreme it tracks may be passed inside one sweep. The engine
 * calls on_trade from its fill loop; an order that fires there cannot run until the taker has
 * finished, so it waits in `fired` and the engine runs it next (run_triggers). Between commands
 * `fired` is empty.
 *
 * Every trade would otherwise scan every trailing order. Instead the book keeps the range of prices
 * that can change nothing: a trade strictly between `quiet_above_ticks` and `quiet_below_ticks` leaves
 * every order as it was and costs two comparisons. A scan recomputes the range exactly; adding an
 * order only narrows it. Both bounds are conservative, so a scan that changes nothing is possible but
 * a needed one is never skipped, and the outcome never depends on them: they are not state.
 */
import { assert } from "./assert.js";
import type { EventSink } from "./events.js";
import type { OrderStore } from "./orders.js";
import { StopBook } from "./stops.js";
import { SIDE_BUY } from "./types.js";

/** Binance's TRAILING_DELTA filter as BTCUSDT has it, for both directions (basis points). */
export const TRAILING_DELTA_MIN_BIPS = 10;
export const TRAILING_DELTA_MAX_BIPS = 2000;
const BIPS_PER_ONE = 10_000;

/** A trailing stop's own state, kept for the order's life (responses show delta and time). */
export interface TrailState {
  readonly delta_bips: number;
  /** When the order began tracking prices (Binance's trailingTime); -1 before. */
  time_ms: number;
  /** Lowest (buy) or highest (sell) trade price since it began tracking; 0 before. */
  extreme_ticks: number;
  /**
   * The price a stop-market buy locked its funds at (see lock_price_ticks below); 0 for others. An
   * amend releases lots at this price.
   */
  readonly lock_price_ticks: number;
}

/** ceil(price × bips / 10,000), exactly, with no intermediate product beyond what a double holds. */
export function bips_of(price_ticks: number, bips: number): number {
  const whole = Math.floor(price_ticks / BIPS_PER_ONE);
  const rest = price_ticks - whole * BIPS_PER_ONE;
  return whole * bips + Math.ceil((rest * bips) / BIPS_PER_ONE);
}

/** Lowest price at which a buy tracking `low_ticks` triggers: low × (1 + delta). */
export function buy_trigger_ticks(low_ticks: number, delta_bips: number): number {
  return low_ticks + bips_of(low_ticks, delta_bips);
}

/** Highest price at which a sell tracking `high_ticks` triggers: high × (1 - delta). */
export function sell_trigger_ticks(high_ticks: number, delta_bips: number): number {
  return high_ticks - bips_of(high_ticks, delta_bips);
}

/**
 * What a trailing stop-market buy locks per lot, in ticks: it cannot know its fill price, so like a
 * plain stop-market buy it locks at the price it would trigger at if the market moved straight
 * against it from its reference (the stop price, else the last price), capped at the market's
 * maximum price. 0 when there is no reference (no stop price and no trade yet): such an order is
 * refused, as there is nothing to lock at.
 */
export function lock_price_ticks(
  stop_price_ticks: number,
  last_price_ticks: number,
  delta_bips: number,
  max_price_ticks: number,
): number {
  const reference = stop_price_ticks > 0 ? stop_price_ticks : last_price_ticks;
  if (reference === 0) return 0;
  return Math.min(max_price_ticks, buy_trigger_ticks(reference, delta_bips));
}

export class TrailingBook {
  /** Untriggered trailing stops, by order id (arrival) order; bounded with the plain stops. */
  readonly slots: number[] = [];
  /** Fired during the command being applied, to run in firing order; empty between commands. */
  readonly fired: number[] = [];
  /** A trade at a price p with quiet_above < p < quiet_below changes no order (see the header). */
  private quiet_above_ticks = Number.NEGATIVE_INFINITY;
  private quiet_below_ticks = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.slots.length;
  }

  add(orders: OrderStore, slot: number): void {
    const n = this.slots.length;
    assert(n === 0 || orders.id(this.slots[n - 1]) < orders.id(slot), "trailing stops out of id order");
    this.slots.push(slot);
    this.narrow(orders, slot);
  }

  remove(orders: OrderStore, slot: number): void {
    // one that fired and waits to run can still end first (the other order of its OCO was activated)
    const waiting = this.fired.indexOf(slot);
    if (waiting !== -1) {
      this.fired.splice(waiting, 1);
      return;
    }
    const slots = this.slots;
    const id = orders.id(slot);
    let lo = 0;
    let hi = slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (orders.id(slots[mid]) < id) lo = mid + 1;
      else hi = mid;
    }
    assert(slots[lo] === slot, "trailing stop not found in its list");
    slots.splice(lo, 1);
  }

  /** The next fired order to run, or 0. */
  take_fired(): number {
    return this.fired.length === 0 ? 0 : (this.fired.shift() as number);
  }

  /**
   * A trade at `price_ticks` at `now_ms`: orders begin tracking, move their extreme, or fire. An
   * order that begins tracking is reported to `sink` (Binance's trailingTime).
   */
  on_trade(orders: OrderStore, price_ticks: number, now_ms: number, sink: EventSink, market: number): void {
    if (price_ticks > this.quiet_above_ticks && price_ticks < this.quiet_below_ticks) return;
    const slots = this.slots;
    this.quiet_above_ticks = Number.NEGATIVE_INFINITY;
    this.quiet_below_ticks = Number.POSITIVE_INFINITY;
    let kept = 0;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      const trail = orders.trail(slot) as TrailState;
      if (trail.time_ms === -1) {
        const stop = orders.stop_price_ticks(slot);
        if (stop === 0 || StopBook.condition_met(orders, slot, price_ticks)) {
          // The trade that meets the condition is the first extreme (Binance's scenarios A-D).
          trail.time_ms = now_ms;
          trail.extreme_ticks = price_ticks;
          sink.trailing_started(orders.id(slot), orders.account(slot), market, price_ticks, now_ms);
        }
      } else if (orders.side(slot) === SIDE_BUY) {
        if (price_ticks < trail.extreme_ticks) trail.extreme_ticks = price_ticks;
        else if (price_ticks >= buy_trigger_ticks(trail.extreme_ticks, trail.delta_bips)) {
          this.fired.push(slot);
          continue;
        }
      } else if (price_ticks > trail.extreme_ticks) trail.extreme_ticks = price_ticks;
      else if (price_ticks <= sell_trigger_ticks(trail.extreme_ticks, trail.delta_bips)) {
        this.fired.push(slot);
        continue;
      }
      slots[kept++] = slot;
      this.narrow(orders, slot);
    }
    slots.length = kept;
  }

  /** Narrows the quiet range to what leaves `slot` unchanged. */
  private narrow(orders: OrderStore, slot: number): void {
    const trail = orders.trail(slot) as TrailState;
    // `above`: a price at or below it changes the order; `below`: one at or above it does.
    let above = Number.NEGATIVE_INFINITY;
    let below = Number.POSITIVE_INFINITY;
    if (trail.time_ms === -1) {
      const stop = orders.stop_price_ticks(slot);
      if (stop === 0)
        above = Number.POSITIVE_INFINITY; // tracking begins at the next trade, any price
      else if (StopBook.is_rising(orders, slot)) below = stop;
      else above = stop;
    } else if (orders.side(slot) === SIDE_BUY) {
      above = trail.extreme_ticks - 1;
      below = buy_trigger_ticks(trail.extreme_ticks, trail.delta_bips);
    } else {
      above = sell_trigger_ticks(trail.extreme_ticks, trail.delta_bips);
      below = trail.extreme_ticks + 1;
    }
    if (above > this.quiet_above_ticks) this.quiet_above_ticks = above;
    if (below < this.quiet_below_ticks) this.quiet_below_ticks = below;
  }
}
