/**
 * Accounts and the per-asset ledger totals. Balances are integers in the asset's smallest unit held
 * in Float64Arrays; every value stays a safe integer (asserted where it changes), so no rounding ever
 * happens. Per asset: sum(free + locked) + fees = deposits - withdrawals (DESIGN invariant 3).
 */
export class AccountRow {
  free: Float64Array;
  locked: Float64Array;
  /**
   * Ids of this account's open orders per market, appended as orders open and never removed one by
   * one: closing an order only decrements open_count, so the hot path touches no other order. Closed
   * ids are dropped when the list grows past eight times the open count (amortised O(1)). Typed
   * arrays, not JS arrays: with a million resting orders these lists held ~80 MB of numbers on the
   * JS heap, which every full collection marked and moved (a 63 ms pause measured); typed-array
   * contents live outside the heap and are never scanned.
   */
  private open_lists: (Float64Array | undefined)[] = [];
  /** Ids used in each open_lists entry. */
  private open_lengths: number[] = [];
  /** Open orders per market: resting plus untriggered stops. */
  open_count: Int32Array;
  /** Untriggered stop orders per market. */
  stop_count: Int32Array;
  open_total = 0;
  /** Client order id -> order id, for ids still inside the retention window. */
  client_ids: Map<string, number> | null = null;

  constructor(assets: number, markets: number) {
    this.free = new Float64Array(assets);
    this.locked = new Float64Array(assets);
    this.open_count = new Int32Array(markets);
    this.stop_count = new Int32Array(markets);
  }

  /**
   * Rows are sized to the assets and markets that existed when the account was made (so a million
   * accounts do not each reserve room for every possible market); they grow on first use of a newer one.
   */
  ensure(assets: number, markets: number): void {
    if (this.free.length < assets) {
      this.free = grow_f64(this.free, assets);
      this.locked = grow_f64(this.locked, assets);
    }
    if (this.open_count.length < markets) {
      this.open_count = grow_i32(this.open_count, markets);
      this.stop_count = grow_i32(this.stop_count, markets);
    }
  }

  /** Records a newly open order; `is_open` tells compaction which ids are still open. */
  add_open(market: number, order_id: number, is_open?: (order_id: number) => boolean): void {
    let list = this.open_lists[market];
    let n = list === undefined ? 0 : this.open_lengths[market];
    if (list === undefined || n === list.length) {
      const bigger = new Float64Array(Math.max(16, n * 2));
      if (list !== undefined) bigger.set(list);
      list = bigger;
      this.open_lists[market] = list;
    }
    list[n++] = order_id;
    this.open_count[market]++;
    if (is_open !== undefined && n > 8 * this.open_count[market] + 64) {
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const id = list[i];
        if (is_open(id)) list[kept++] = id;
      }
      n = kept;
    }
    this.open_lengths[market] = n;
  }

  /** Ids that may be open (closed ones included until compaction); a view, valid until the next change. */
  open_ids(market: number): Float64Array {
    const list = this.open_lists[market];
    return list === undefined ? NO_IDS : list.subarray(0, this.open_lengths[market]);
  }
}

const NO_IDS = new Float64Array(0);

function grow_f64(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
function grow_i32(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

export class AssetTotals {
  deposits_units = 0;
  withdrawals_units = 0;
  fees_units = 0;
}
