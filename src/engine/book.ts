/**
 * One side of an order book. Price levels are kept in a sorted array of keys with the best level
 * last, so the common operations (match at the best price, add near the top) touch the end of the
 * array. Keys are price_ticks for bids and -price_ticks for asks, so both sides sort ascending.
 * Each level is a FIFO queue of orders linked through OrderStore.prev/next: adding, cancelling and
 * filling an order cost the same whatever the number of orders resting at that price.
 */
import { assert } from "./assert.js";
import { grown, next_capacity } from "./growable.js";
import type { OrderStore } from "./orders.js";
import { SIDE_BUY, type Side } from "./types.js";

/** Level storage shared by all books. Index 0 is the null level. Grows by doubling up to `capacity`. */
export class LevelPool {
  head = new Int32Array(0);
  tail = new Int32Array(0);
  quantity_lots = new Float64Array(0);
  order_count = new Int32Array(0);
  price_ticks = new Float64Array(0);
  private high_water = 1;
  private free_stack = new Int32Array(0);
  private free_count = 0;
  private length = 0;

  constructor(readonly capacity: number) {
    this.grow(Math.min(capacity + 1, 1024));
  }

  private grow(length: number): void {
    this.head = grown(this.head, length);
    this.tail = grown(this.tail, length);
    this.quantity_lots = grown(this.quantity_lots, length);
    this.order_count = grown(this.order_count, length);
    this.price_ticks = grown(this.price_ticks, length);
    this.free_stack = grown(this.free_stack, length);
    this.length = length;
  }

  allocate(price_ticks: number): number {
    let level: number;
    if (this.free_count > 0) {
      level = this.free_stack[--this.free_count];
    } else {
      level = this.high_water++;
      if (level >= this.length) this.grow(next_capacity(this.length, level + 1, this.capacity + 1));
    }
    assert(level >= 1 && level <= this.capacity, "level pool exhausted");
    this.head[level] = 0;
    this.tail[level] = 0;
    this.quantity_lots[level] = 0;
    this.order_count[level] = 0;
    this.price_ticks[level] = price_ticks;
    return level;
  }

  release(level: number): void {
    this.free_stack[this.free_count++] = level;
  }
}

export class BookSide {
  /** Sorted ascending; best level at index count - 1. */
  keys = new Float64Array(64);
  levels = new Int32Array(64);
  count = 0;

  constructor(
    readonly side: Side,
    readonly capacity: number,
    private readonly pool: LevelPool,
  ) {}

  key_of(price_ticks: number): number {
    return this.side === SIDE_BUY ? price_ticks : -price_ticks;
  }

  /** Best level, or 0 if the side is empty. */
  best_level(): number {
    return this.count === 0 ? 0 : this.levels[this.count - 1];
  }

  best_price(): number {
    return this.count === 0 ? 0 : this.pool.price_ticks[this.levels[this.count - 1]];
  }

  /** Index of the first key >= key (binary search; levels near the top are found in few steps). */
  private lower_bound(key: number): number {
    let lo = 0;
    let hi = this.count;
    const keys = this.keys;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The price `depth` levels behind the best (0: the best), or 0 if the side has fewer levels. */
  price_at_depth(depth: number): number {
    return depth < this.count ? this.pool.price_ticks[this.levels[this.count - 1 - depth]] : 0;
  }

  find_level(price_ticks: number): number {
    const key = this.key_of(price_ticks);
    const i = this.lower_bound(key);
    return i < this.count && this.keys[i] === key ? this.levels[i] : 0;
  }

  /** Whether adding an order at this price would need a new level that does not fit. */
  is_full_for(price_ticks: number): boolean {
    return this.count >= this.capacity && this.find_level(price_ticks) === 0;
  }

  /** Appends an order at the back of its price level's queue, creating the level if needed. */
  append(orders: OrderStore, slot: number, price_ticks: number, quantity_lots: number): number {
    const key = this.key_of(price_ticks);
    const i = this.lower_bound(key);
    let level: number;
    if (i < this.count && this.keys[i] === key) {
      level = this.levels[i];
    } else {
      assert(this.count < this.capacity, "book side full");
      if (this.count === this.keys.length) {
        const length = next_capacity(this.keys.length, this.count + 1, this.capacity);
        this.keys = grown(this.keys, length);
        this.levels = grown(this.levels, length);
      }
      level = this.pool.allocate(price_ticks);
      // Shift the better levels up by one; near the top this moves few entries.
      this.keys.copyWithin(i + 1, i, this.count);
      this.levels.copyWithin(i + 1, i, this.count);
      this.keys[i] = key;
      this.levels[i] = level;
      this.count++;
    }
    const pool = this.pool;
    const tail = pool.tail[level];
    orders.set_prev(slot, tail);
    orders.set_next(slot, 0);
    orders.set_level(slot, level);
    if (tail === 0) pool.head[level] = slot;
    else orders.set_next(tail, slot);
    pool.tail[level] = slot;
    pool.quantity_lots[level] += quantity_lots;
    pool.order_count[level]++;
    return level;
  }

  /**
   * Moves an order to the back of its level's queue, the level's totals unchanged: an iceberg order
   * showing its next part loses its time priority, as on Binance.
   */
  requeue(orders: OrderStore, slot: number): void {
    const pool = this.pool;
    const level = orders.level(slot);
    assert(level !== 0, "requeueing an order that is not in a book");
    const tail = pool.tail[level];
    if (tail === slot) return;
    const prev = orders.prev(slot);
    const next = orders.next(slot);
    if (prev === 0) pool.head[level] = next;
    else orders.set_next(prev, next);
    orders.set_prev(next, prev); // not the tail, so next !== 0
    orders.set_next(tail, slot);
    orders.set_prev(slot, tail);
    orders.set_next(slot, 0);
    pool.tail[level] = slot;
  }

  /**
   * Unlinks an order from its level; `quantity_lots` is what it still counted in the level total.
   * Returns true if the level became empty and was removed.
   */
  unlink(orders: OrderStore, slot: number, quantity_lots: number): boolean {
    const pool = this.pool;
    const level = orders.level(slot);
    assert(level !== 0, "unlinking an order that is not in a book");
    const prev = orders.prev(slot);
    const next = orders.next(slot);
    if (prev === 0) pool.head[level] = next;
    else orders.set_next(prev, next);
    if (next === 0) pool.tail[level] = prev;
    else orders.set_prev(next, prev);
    orders.set_level(slot, 0);
    orders.set_prev(slot, 0);
    orders.set_next(slot, 0);
    pool.quantity_lots[level] -= quantity_lots;
    pool.order_count[level]--;
    if (pool.order_count[level] > 0) return false;
    assert(pool.quantity_lots[level] === 0, "empty level with quantity");
    this.remove_level(level);
    return true;
  }

  private remove_level(level: number): void {
    const n = this.count;
    if (this.levels[n - 1] === level) {
      this.count = n - 1; // the best level: the common case when matching
    } else {
      const i = this.lower_bound(this.key_of(this.pool.price_ticks[level]));
      assert(this.levels[i] === level, "level not found in its side");
      this.keys.copyWithin(i, i + 1, n);
      this.levels.copyWithin(i, i + 1, n);
      this.count = n - 1;
    }
    this.pool.release(level);
  }
}
