/**
 * Order id -> slot for live orders, in three tiers. Order ids are handed out in sequence, and most
 * orders are cancelled or filled soon after they arrive, so the newest ids (a window of 2^20 by
 * default) map directly into a ring of slots (id mod window): placing an order writes the next cell
 * along, sequentially, and a lookup is one read from 4 MB instead of a random probe into a hash table
 * of up to 64 MB (a cache miss and a TLB miss each, ~100-300 ns on this class of machine).
 *
 * The ring moves up a block of ids (4,096) at a time. The orders still live in the block it leaves
 * behind move out together: if they are many (at least an eighth of the block, as when a book keeps
 * growing), the block's cells are copied into a page of their own (one sequential copy of 16 KB,
 * looked up by block number); if few, each goes into the hash table (IdHash). Moving every long-lived
 * order into the hash one by one was a random write each (~470 ns; 12% of a replay of the journal
 * benchmark, whose book grows to 1.9 M resting orders). A page whose live orders fall below a
 * sixteenth of the block hands them to the hash and is recycled, so a page never costs more than
 * 64 bytes per live order (the hash costs 32-64).
 *
 * Ids below the ring that are set later (a snapshot restores orders in slot order, not id order) go
 * to their block's page if it has one, else to the hash: a block's live ids are always all in its page
 * or all in the hash.
 */
const RECENT_IDS = 1 << 20;
const BLOCK_IDS_MAX = 4096;
/** Pages kept for reuse (a fresh page costs page faults; 64 x 16 KB = 1 MB at most). */
const SPARE_PAGES_MAX = 64;

interface Page {
  /** Slot of id `block_start + i` at i; 0 if not live. */
  readonly cells: Int32Array;
  live: number;
}

export class IdIndex {
  /** Slot of id `i` at cell i mod window, for i in [base, base + window); 0 if not live. */
  private readonly recent: Int32Array;
  private readonly window: number;
  private readonly mask: number;
  /** Lowest id the ring holds, a multiple of `block`. */
  private base = 0;
  private readonly block: number;
  private readonly block_mask: number;
  /** Live orders a left-behind block needs to get a page; a page with fewer than `demote` is dropped. */
  private readonly promote: number;
  private readonly demote: number;
  /** Block number (id / block) -> page, for blocks below the ring with many live orders. */
  private readonly pages = new Map<number, Page>();
  private readonly spare: Int32Array[] = [];
  private paged = 0;
  private readonly old: IdHash;
  size = 0;

  /** `expected`: live orders the node is sized for; `window`: a power of two >= 16 (smaller in tests). */
  constructor(expected = 512, window = RECENT_IDS) {
    if (!Number.isInteger(Math.log2(window)) || window < 16 || window > 2 ** 30)
      throw new RangeError("window must be a power of two >= 16");
    this.window = window;
    this.mask = window - 1;
    this.block = Math.min(BLOCK_IDS_MAX, window >> 2);
    this.block_mask = this.block - 1;
    this.promote = this.block >> 3;
    this.demote = this.block >> 4;
    this.recent = new Int32Array(window);
    // Only orders that outlive the window in sparse blocks reach the hash: an eighth of the expected
    // count to start with (it grows without stalling).
    this.old = new IdHash(Math.max(512, Math.min(expected, window) >> 3));
  }

  /** Live orders below the ring (in pages or the hash). */
  get long_lived(): number {
    return this.old.size + this.paged;
  }

  /** Pages in use (tests). */
  get pages_used(): number {
    return this.pages.size;
  }

  /** Slot of a live order, 0 if none. */
  get(id: number): number {
    if (id >= this.base) return id < this.base + this.window ? this.recent[(id >>> 0) & this.mask] : 0;
    const page = this.pages.get(Math.floor(id / this.block));
    if (page !== undefined) return page.cells[(id >>> 0) & this.block_mask];
    return this.old.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== 0;
  }

  /** Adds id -> slot (id a positive integer, slot > 0, id not present). */
  set(id: number, slot: number): void {
    this.size++;
    if (id >= this.base) {
      if (id >= this.base + this.window) this.advance(id);
      this.recent[(id >>> 0) & this.mask] = slot;
      return;
    }
    const page = this.pages.get(Math.floor(id / this.block));
    if (page === undefined) {
      this.old.set(id, slot);
      return;
    }
    page.cells[(id >>> 0) & this.block_mask] = slot;
    page.live++;
    this.paged++;
  }

  delete(id: number): void {
    if (id >= this.base) {
      if (id >= this.base + this.window) return;
      const cell = (id >>> 0) & this.mask;
      if (this.recent[cell] === 0) return;
      this.recent[cell] = 0;
      this.size--;
      return;
    }
    const block_no = Math.floor(id / this.block);
    const page = this.pages.get(block_no);
    if (page === undefined) {
      const before = this.old.size;
      this.old.delete(id);
      this.size -= before - this.old.size;
      return;
    }
    const at = (id >>> 0) & this.block_mask;
    if (page.cells[at] === 0) return;
    page.cells[at] = 0;
    page.live--;
    this.paged--;
    this.size--;
    if (page.live < this.demote) this.drop_page(block_no, page);
  }

  /**
   * Moves the ring up so that it holds `id`: each block it leaves behind moves out (leave_block). A
   * step of one id (the engine's case) moves one block once every `block` ids; a jump past the whole
   * window (restoring, or ids far apart) empties every block once.
   */
  private advance(id: number): void {
    const target = id - ((id >>> 0) & this.block_mask) + this.block - this.window;
    if (target - this.base >= this.window) {
      for (let start = this.base; start < this.base + this.window; start += this.block)
        this.leave_block(start);
    } else {
      for (let start = this.base; start < target; start += this.block) this.leave_block(start);
    }
    this.base = target;
  }

  /** Moves the live orders of ids [start, start + block) out of the ring: to a page if many, else the hash. */
  private leave_block(start: number): void {
    const from = (start >>> 0) & this.mask;
    const end = from + this.block;
    const recent = this.recent;
    let live = 0;
    for (let i = from; i < end; i++) if (recent[i] !== 0) live++;
    if (live === 0) return;
    if (live >= this.promote) {
      const cells = this.spare.pop() ?? new Int32Array(this.block);
      cells.set(recent.subarray(from, end));
      this.pages.set(Math.floor(start / this.block), { cells, live });
      this.paged += live;
    } else {
      for (let i = from; i < end; i++) if (recent[i] !== 0) this.old.set(start + (i - from), recent[i]);
    }
    recent.fill(0, from, end);
  }

  /** A page with few live orders left: they move to the hash, and the page is kept for reuse. */
  private drop_page(block_no: number, page: Page): void {
    const start = block_no * this.block;
    const cells = page.cells;
    for (let i = 0; i < this.block; i++) if (cells[i] !== 0) this.old.set(start + i, cells[i]);
    this.paged -= page.live;
    this.pages.delete(block_no);
    if (this.spare.length < SPARE_PAGES_MAX) {
      cells.fill(0);
      this.spare.push(cells);
    }
  }
}

/**
 * Order id -> slot for live orders: a Robin Hood hash table in typed arrays (linear probing with
 * backward-shift deletion, so probe runs stay short). Ids are mixed by a multiplicative (Fibonacci)
 * hash: the low bits of sequential ids would pile long-lived and new orders into ever longer runs
 * (measured: 35x slower on the insert benchmark). A JS Map of a million entries costs several times
 * more per operation and pauses to rehash.
 */
function home_of(id: number, shift: number): number {
  const lo = id >>> 0;
  const hi = (id - lo) * 2.3283064365386963e-10; // exact: a power of two, and cheaper than a division
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> shift;
}
/** Cell index of `id` in a table, or -1. Robin Hood lets a miss stop as soon as it passes richer entries. */
function find_in(cells: Float64Array, mask: number, shift: number, id: number): number {
  let i = home_of(id, shift);
  let distance = 0;
  for (;;) {
    const k = cells[2 * i];
    if (k === id) return i;
    if (k === 0 || ((i - home_of(k, shift)) & mask) < distance) return -1;
    i = (i + 1) & mask;
    distance++;
  }
}

/** Puts id -> slot (not present) into a table with room. */
function place(cells: Float64Array, mask: number, shift: number, id: number, slot: number): void {
  let key = id;
  let value = slot;
  let i = home_of(key, shift);
  let distance = 0;
  for (;;) {
    const k = cells[2 * i];
    if (k === 0) {
      cells[2 * i] = key;
      cells[2 * i + 1] = value;
      return;
    }
    const k_distance = (i - home_of(k, shift)) & mask;
    if (k_distance < distance) {
      // Robin Hood: the poorer entry takes the cell; carry on placing the richer one.
      const v = cells[2 * i + 1];
      cells[2 * i] = key;
      cells[2 * i + 1] = value;
      key = k;
      value = v;
      distance = k_distance;
    }
    i = (i + 1) & mask;
    distance++;
  }
}

/**
 * Old cells moved per set or delete while growing. The new table is twice the old, and growing starts
 * at a quarter of the new table's size, so finishing needs 2 cells per insert at worst: 16 finishes
 * well before the new table could itself fill, while keeping each operation's extra work to a few
 * sequential reads.
 */
const MIGRATE_CELLS = 16;
const PREPARE_EVERY_SETS = 8;

export class IdHash {
  /** Cells of [id, slot] pairs side by side, so a lookup touches one cache line, not two. */
  private cells: Float64Array;
  private mask: number;
  /** 32 - log2(length): home_of() keeps the top bits of the product. */
  private shift: number;
  /**
   * While growing, the previous table, moved into `cells` a few cells per operation rather than all at
   * once (rehashing 2^19 cells at once stalled order entry for ~35 ms). Its cells below `old_pos` are
   * moved (their live copy is in `cells`); above, an entry deleted before its move keeps its key (so
   * probe runs stay intact) with slot 0. The old table is otherwise never changed.
   */
  private old: Float64Array | null = null;
  private old_mask = 0;
  private old_shift = 0;
  private old_pos = 0;
  /**
   * The next, twice larger table, allocated once the load passes 3/8 and written one 4 KiB page every
   * PREPARE_EVERY_SETS inserts, so its pages are mapped before it is used. Zeroed memory is mapped lazily:
   * a fresh table faulted in by the random writes just after growing stalled order entry (~3 ms per MB
   * on this VM, all within the next few thousand inserts).
   */
  private next: Float64Array | null = null;
  private next_touched = 0;
  private sets = 0;
  size = 0;

  /** Sized for `expected` entries at a load of at most one half; grows by doubling beyond. */
  constructor(expected = 512) {
    let length = 1024;
    let shift = 22;
    while (length < expected * 2 && length < 2 ** 30) {
      length *= 2;
      shift--;
    }
    this.cells = new Float64Array(length * 2);
    this.mask = length - 1;
    this.shift = shift;
    for (let i = 0; i < this.cells.length; i += 512) this.cells[i] = 0; // map the pages now
  }

  /** Slot of a live order, 0 if none. */
  get(id: number): number {
    const i = find_in(this.cells, this.mask, this.shift, id);
    if (i >= 0) return this.cells[2 * i + 1];
    const old = this.old;
    if (old === null) return 0;
    const j = find_in(old, this.old_mask, this.old_shift, id);
    // Below old_pos an entry was moved; missing from the new table means deleted since.
    return j < this.old_pos ? 0 : old[2 * j + 1];
  }

  has(id: number): boolean {
    return this.get(id) !== 0;
  }

  /** True while a previous table is still being moved (tests). */
  get growing(): boolean {
    return this.old !== null;
  }

  /** Adds id -> slot (id > 0, slot > 0, id not present). */
  set(id: number, slot: number): void {
    if (this.old !== null) this.migrate();
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    else if (this.size * 8 > (this.mask + 1) * 3) this.prepare();
    place(this.cells, this.mask, this.shift, id, slot);
    this.size++;
  }

  delete(id: number): void {
    if (this.old !== null) this.migrate();
    const cells = this.cells;
    const mask = this.mask;
    const shift = this.shift;
    let i = find_in(cells, mask, shift, id);
    if (i < 0) {
      const old = this.old;
      if (old === null) return;
      const j = find_in(old, this.old_mask, this.old_shift, id);
      if (j < this.old_pos || old[2 * j + 1] === 0) return;
      old[2 * j + 1] = 0;
      this.size--;
      return;
    }
    // Backward shift: pull following displaced entries one cell closer to home.
    let j = (i + 1) & mask;
    for (;;) {
      const k = cells[2 * j];
      if (k === 0 || ((j - home_of(k, shift)) & mask) === 0) break;
      cells[2 * i] = k;
      cells[2 * i + 1] = cells[2 * j + 1];
      i = j;
      j = (j + 1) & mask;
    }
    cells[2 * i] = 0;
    cells[2 * i + 1] = 0;
    this.size--;
  }

  /** Moves the next MIGRATE_CELLS cells of the old table; drops it once all are moved. */
  private migrate(): void {
    const old = this.old as Float64Array;
    const cells_total = old.length / 2;
    const end = Math.min(cells_total, this.old_pos + MIGRATE_CELLS);
    for (let i = this.old_pos; i < end; i++) {
      const slot = old[2 * i + 1];
      if (slot !== 0) place(this.cells, this.mask, this.shift, old[2 * i], slot);
    }
    this.old_pos = end;
    if (end === cells_total) this.old = null;
  }

  /**
   * From load 3/8 to 1/2 there are (cells / 8) inserts; the next table has cells / 128 pages, so one page
   * every 8 inserts is done by load 7/16, before it is needed even if no order is deleted meanwhile.
   */
  private prepare(): void {
    if (this.next === null) {
      this.next = new Float64Array((this.mask + 1) * 4);
      this.next_touched = 0;
    }
    if (this.sets++ % PREPARE_EVERY_SETS !== 0 || this.next_touched >= this.next.length) return;
    this.next[this.next_touched] = 0;
    this.next_touched += 512;
  }

  private grow(): void {
    // By the arithmetic at MIGRATE_CELLS the previous move is always finished here; if not, finish it.
    while (this.old !== null) this.migrate();
    this.old = this.cells;
    this.old_mask = this.mask;
    this.old_shift = this.shift;
    this.old_pos = 0;
    const length = (this.mask + 1) * 2;
    this.cells = this.next ?? new Float64Array(length * 2);
    this.next = null;
    this.mask = length - 1;
    this.shift--;
  }
}
