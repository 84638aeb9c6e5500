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
export class IdIndex {
  /** Cells of [id, slot] pairs side by side, so a lookup touches one cache line, not two. */
  private cells: Float64Array;
  private mask: number;
  /** 32 - log2(length): home_of() keeps the top bits of the product. */
  private shift: number;
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

  /** Cell index holding `id`, or -1. Robin Hood lets a miss stop as soon as it passes richer entries. */
  private find(id: number): number {
    const cells = this.cells;
    const mask = this.mask;
    let i = home_of(id, this.shift);
    let distance = 0;
    for (;;) {
      const k = cells[2 * i];
      if (k === id) return i;
      if (k === 0 || ((i - home_of(k, this.shift)) & mask) < distance) return -1;
      i = (i + 1) & mask;
      distance++;
    }
  }

  /** Slot of a live order, 0 if none. */
  get(id: number): number {
    const i = this.find(id);
    return i < 0 ? 0 : this.cells[2 * i + 1];
  }

  has(id: number): boolean {
    return this.get(id) !== 0;
  }

  /** Adds id -> slot (id > 0, slot > 0, id not present). */
  set(id: number, slot: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const cells = this.cells;
    const mask = this.mask;
    let key = id;
    let value = slot;
    let i = home_of(key, this.shift);
    let distance = 0;
    for (;;) {
      const k = cells[2 * i];
      if (k === 0) {
        cells[2 * i] = key;
        cells[2 * i + 1] = value;
        this.size++;
        return;
      }
      const k_distance = (i - home_of(k, this.shift)) & mask;
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

  delete(id: number): void {
    const cells = this.cells;
    const mask = this.mask;
    let i = this.find(id);
    if (i < 0) return;
    // Backward shift: pull following displaced entries one cell closer to home.
    let j = (i + 1) & mask;
    for (;;) {
      const k = cells[2 * j];
      if (k === 0 || ((j - home_of(k, this.shift)) & mask) === 0) break;
      cells[2 * i] = k;
      cells[2 * i + 1] = cells[2 * j + 1];
      i = j;
      j = (j + 1) & mask;
    }
    cells[2 * i] = 0;
    cells[2 * i + 1] = 0;
    this.size--;
  }

  private grow(): void {
    const old = this.cells;
    const length = (this.mask + 1) * 2;
    this.cells = new Float64Array(length * 2);
    this.mask = length - 1;
    this.shift--;
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0) this.set(old[i], old[i + 1]);
  }
}
