/**
 * Order id -> slot for live orders: a Robin Hood hash table in typed arrays (linear probing with
 * backward-shift deletion, so probe runs stay short). Ids are mixed by a multiplicative (Fibonacci)
 * hash: the low bits of sequential ids would pile long-lived and new orders into ever longer runs
 * (measured: 35x slower on the insert benchmark). A JS Map of a million entries costs several times
 * more per operation and pauses to rehash.
 */
function home_of(id: number, shift: number): number {
  const lo = id >>> 0;
  const hi = (id - lo) / 4294967296;
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> shift;
}
export class IdIndex {
  private keys = new Float64Array(1024);
  private values = new Int32Array(1024);
  private mask = 1023;
  /** 32 - log2(length): home_of() keeps the top bits of the product. */
  private shift = 22;
  size = 0;

  /** Slot of a live order, 0 if none. */
  get(id: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let i = home_of(id, this.shift);
    let distance = 0;
    for (;;) {
      const k = keys[i];
      if (k === id) return this.values[i];
      if (k === 0 || ((i - home_of(k, this.shift)) & mask) < distance) return 0;
      i = (i + 1) & mask;
      distance++;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== 0;
  }

  /** Adds id -> slot (id > 0, slot > 0, id not present). */
  set(id: number, slot: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let key = id;
    let value = slot;
    let i = home_of(key, this.shift);
    let distance = 0;
    for (;;) {
      const k = keys[i];
      if (k === 0) {
        keys[i] = key;
        values[i] = value;
        this.size++;
        return;
      }
      const k_distance = (i - home_of(k, this.shift)) & mask;
      if (k_distance < distance) {
        // Robin Hood: the poorer entry takes the cell; carry on placing the richer one.
        const v = values[i];
        keys[i] = key;
        values[i] = value;
        key = k;
        value = v;
        distance = k_distance;
      }
      i = (i + 1) & mask;
      distance++;
    }
  }

  delete(id: number): void {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = home_of(id, this.shift);
    let distance = 0;
    for (;;) {
      const k = keys[i];
      if (k === id) break;
      if (k === 0 || ((i - home_of(k, this.shift)) & mask) < distance) return;
      i = (i + 1) & mask;
      distance++;
    }
    // Backward shift: pull following displaced entries one cell closer to home.
    let j = (i + 1) & mask;
    for (;;) {
      const k = keys[j];
      if (k === 0 || ((j - home_of(k, this.shift)) & mask) === 0) break;
      keys[i] = k;
      values[i] = values[j];
      i = j;
      j = (j + 1) & mask;
    }
    keys[i] = 0;
    values[i] = 0;
    this.size--;
  }

  private grow(): void {
    const old_keys = this.keys;
    const old_values = this.values;
    const length = old_keys.length * 2;
    this.keys = new Float64Array(length);
    this.values = new Int32Array(length);
    this.mask = length - 1;
    this.shift--;
    this.size = 0;
    for (let i = 0; i < old_keys.length; i++) if (old_keys[i] !== 0) this.set(old_keys[i], old_values[i]);
  }
}
