/**
 * Accounts and the per-asset ledger totals. Per asset: sum(free + locked) + fees = deposits -
 * withdrawals (DESIGN invariant 3).
 */
/**
 * Every account's balances and order counts, one fixed-size record per account in one Float64Array:
 * `[open_total, (free, locked) per asset, (open_count, stop_count, open_length) per market,
 * updated_ms]` (updated_ms: the command time of its last balance change, Binance's updateTime), padded to
 * whole 64-byte cache lines. Placing or cancelling an order reads and writes its account's free and
 * locked balance and its counts; as separate small typed arrays per account (free, locked,
 * open_count, stop_count, and a JS array of list lengths) that was ~15 cache lines in different places
 * of the heap, each a likely miss once the order records have pushed them out of L2. With two assets
 * and one market the record is exactly one line. Balances are integers in the asset's smallest unit;
 * every value stays a safe integer (asserted where it changes), so no rounding ever happens.
 */
export class Ledger {
  cells: Float64Array;
  /** Doubles per account record (a multiple of 8: whole cache lines). */
  stride = 0;
  /** Asset and market columns the records have room for (powers of two; more means a re-layout). */
  private asset_room = 0;
  private market_room = 0;
  /** Accounts the array has room for. */
  private account_room: number;
  accounts = 0;

  constructor(account_room = 64) {
    this.account_room = Math.max(1, account_room);
    this.layout(1, 1);
    this.cells = new Float64Array(this.account_room * this.stride);
  }

  private layout(assets: number, markets: number): void {
    this.asset_room = room_for(assets);
    this.market_room = room_for(markets);
    this.stride = Math.ceil((2 + 2 * this.asset_room + 3 * this.market_room) / 8) * 8;
  }

  /** Makes room for `assets` and `markets` columns, moving every record if the layout changes. */
  ensure(assets: number, markets: number): void {
    if (assets <= this.asset_room && markets <= this.market_room) return;
    const old = {
      cells: this.cells,
      stride: this.stride,
      assets: this.asset_room,
      markets: this.market_room,
    };
    this.layout(Math.max(assets, old.assets), Math.max(markets, old.markets));
    this.cells = new Float64Array(this.account_room * this.stride);
    for (let a = 0; a < this.accounts; a++) {
      const from = a * old.stride;
      const to = a * this.stride;
      this.cells[to] = old.cells[from];
      for (let i = 0; i < 2 * old.assets; i++) this.cells[to + 1 + i] = old.cells[from + 1 + i];
      for (let i = 0; i < 3 * old.markets; i++)
        this.cells[to + 1 + 2 * this.asset_room + i] = old.cells[from + 1 + 2 * old.assets + i];
      this.cells[to + 1 + 2 * this.asset_room + 3 * this.market_room] =
        old.cells[from + 1 + 2 * old.assets + 3 * old.markets];
    }
  }

  /**
   * A new account, all zeros; returns its id. Doubles the array when full: one copy of every record at
   * each power of two (32 MB of one-line records at 524,288 accounts, tens of milliseconds once),
   * where reserving `accounts_max` records up front could ask for tens of GB of address space once
   * records widen to hundreds of assets and markets.
   */
  add_account(): number {
    if (this.accounts === this.account_room) {
      this.account_room *= 2;
      const bigger = new Float64Array(this.account_room * this.stride);
      bigger.set(this.cells);
      this.cells = bigger;
    }
    return this.accounts++;
  }

  /** Index of an account's free balance of an asset; its locked balance is the next cell. */
  free_at(account: number, asset: number): number {
    return account * this.stride + 1 + 2 * asset;
  }
  /** Index of an account's open-order count in a market; its stop count and open-list length follow. */
  counts_at(account: number, market: number): number {
    return account * this.stride + 1 + 2 * this.asset_room + 3 * market;
  }
  /** Index of an account's open orders in all markets. */
  total_at(account: number): number {
    return account * this.stride;
  }
  /** Index of the command time of an account's last balance change (0: none yet). */
  updated_at(account: number): number {
    return account * this.stride + 1 + 2 * this.asset_room + 3 * this.market_room;
  }
  updated_ms(account: number): number {
    return this.cells[this.updated_at(account)];
  }

  free(account: number, asset: number): number {
    return this.cells[this.free_at(account, asset)];
  }
  locked(account: number, asset: number): number {
    return this.cells[this.free_at(account, asset) + 1];
  }
  /** Open orders (resting and untriggered stops) of an account in a market. */
  open_count(account: number, market: number): number {
    return this.cells[this.counts_at(account, market) + COUNT_OPEN];
  }
  /** Untriggered stop orders of an account in a market. */
  stop_count(account: number, market: number): number {
    return this.cells[this.counts_at(account, market) + COUNT_STOPS];
  }
  open_total(account: number): number {
    return this.cells[this.total_at(account)];
  }

  /** @internal Restoring a snapshot. */
  set_updated_ms(account: number, time_ms: number): void {
    this.cells[this.updated_at(account)] = time_ms;
  }

  /** @internal Restoring a snapshot. */
  set_balance(account: number, asset: number, free: number, locked: number): void {
    const at = this.free_at(account, asset);
    this.cells[at] = free;
    this.cells[at + 1] = locked;
  }
}

/** Offsets from Ledger.counts_at: an account's open orders, untriggered stops and open-list length in a market. */
export const COUNT_OPEN = 0;
export const COUNT_STOPS = 1;
const COUNT_LIST_LENGTH = 2;

function room_for(n: number): number {
  let room = 1;
  while (room < n) room *= 2;
  return room;
}

/** What an account has besides its ledger record: its open-order id lists and client order ids. */
export class AccountRow {
  /**
   * Ids of this account's open orders per market, appended as orders open and never removed one by
   * one: closing an order only decrements the open count, so the hot path touches no other order.
   * Closed ids are dropped when the list grows past eight times the open count (amortised O(1)); the
   * list's length is in the ledger record. Typed arrays, not JS arrays: with a million resting
   * orders these lists held ~80 MB of numbers on the JS heap, which every full collection marked and
   * moved (a 63 ms pause measured); typed-array contents live outside the heap and are never scanned.
   */
  private open_lists: (Float64Array | undefined)[] | null = null; // made on the first order
  /** Client order id -> order id, for ids still inside the retention window. */
  client_ids: Map<string, number> | null = null;

  /**
   * Records a newly open order of `account` (this row's id) in `market`: appends its id and counts it
   * open; `is_open` tells compaction which ids are still open.
   */
  add_open(
    ledger: Ledger,
    account: number,
    market: number,
    order_id: number,
    is_open?: (order_id: number) => boolean,
  ): void {
    const cells = ledger.cells;
    const at = ledger.counts_at(account, market);
    this.open_lists ??= [];
    let list = this.open_lists[market];
    let n = cells[at + COUNT_LIST_LENGTH];
    if (list === undefined || n === list.length) {
      const bigger = new Float64Array(Math.max(16, n * 2));
      if (list !== undefined) bigger.set(list);
      list = bigger;
      this.open_lists[market] = list;
    }
    list[n++] = order_id;
    const open = ++cells[at + COUNT_OPEN];
    cells[ledger.total_at(account)]++;
    if (is_open !== undefined && n > 8 * open + 64) {
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const id = list[i];
        if (is_open(id)) list[kept++] = id;
      }
      n = kept;
    }
    cells[at + COUNT_LIST_LENGTH] = n;
  }

  /**
   * Ids of `account`'s (this row's) orders in `market` that may be open (closed ones included until
   * compaction); a view, valid until the next change.
   */
  open_ids(ledger: Ledger, account: number, market: number): Float64Array {
    const list = this.open_lists?.[market];
    return list === undefined
      ? NO_IDS
      : list.subarray(0, ledger.cells[ledger.counts_at(account, market) + COUNT_LIST_LENGTH]);
  }
}

const NO_IDS = new Float64Array(0);

export class AssetTotals {
  deposits_units = 0;
  withdrawals_units = 0;
  fees_units = 0;
}
