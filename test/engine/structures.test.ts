import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decimal_to_units, parse_decimal, units_to_decimal } from "../../src/engine/decimal.js";
import { fee_units } from "../../src/engine/engine.js";
import { IdHash, IdIndex } from "../../src/engine/id_index.js";
import { Prng } from "../../src/sim/prng.js";

/** An id index under test next to a Map model, with the ids still live. */
class Mix {
  readonly model = new Map<number, number>();
  readonly live: number[] = [];
  constructor(
    readonly index: IdIndex | IdHash,
    readonly rng: Prng,
  ) {}
  add(id: number): void {
    const slot = this.rng.between(1, 1 << 20);
    this.index.set(id, slot);
    this.model.set(id, slot);
    this.live.push(id);
  }
  /** Deletes a live id: 80% of the time one of the newest `recent` (orders die young), else any. */
  remove(recent: number): void {
    const live = this.live;
    const at =
      recent > 0 && this.rng.chance(0.8)
        ? live.length - 1 - this.rng.below(Math.min(live.length, recent))
        : this.rng.below(live.length);
    const id = live[at];
    live[at] = live[live.length - 1];
    live.pop();
    this.index.delete(id);
    this.model.delete(id);
    this.index.delete(id); // a second delete changes nothing
  }
}

describe("IdIndex", () => {
  it("agrees with a Map over a long random mix of sequential inserts and random deletes", () => {
    const mix = new Mix(new IdIndex(), new Prng(7));
    const { index, model, live, rng } = mix;
    let next_id = 1;
    for (let step = 0; step < 200_000; step++) {
      // mostly recent orders die, some live long: the pattern that breaks naive hashing
      if (rng.chance(0.55) || live.length === 0) mix.add(next_id++);
      else mix.remove(50);
      if (step % 997 === 0) {
        for (const id of live.slice(0, 50)) assert.equal(index.get(id), model.get(id));
        assert.equal(index.get(next_id + 5), 0);
      }
    }
    assert.equal(index.size, model.size);
    for (const [id, slot] of model) assert.equal(index.get(id), slot);
  });

  it("hash: answers every live id exactly while a grown table is still being moved in", () => {
    const mix = new Mix(new IdHash(), new Prng(11));
    const index = mix.index as IdHash;
    const { model, live, rng } = mix;
    let next_id = 1;
    let checked_while_growing = 0;
    for (let step = 0; step < 60_000; step++) {
      if (rng.chance(0.7) || live.length === 0) mix.add(next_id++);
      else mix.remove(0);
      if (index.growing && step % 7 === 0) {
        checked_while_growing++;
        for (const [id, slot] of model) assert.equal(index.get(id), slot);
        assert.equal(index.get(next_id), 0);
      }
      assert.equal(index.size, model.size);
    }
    assert.ok(checked_while_growing > 100, `checked ${checked_while_growing} times while growing`);
    for (const [id, slot] of model) assert.equal(index.get(id), slot);
    for (let id = 1; id < next_id; id++) if (!model.has(id)) assert.equal(index.get(id), 0);
  });

  it("agrees with a Map when orders outlive a small window, arrive out of order or jump ahead", () => {
    for (const seed of [1, 2, 3]) {
      const mix = new Mix(new IdIndex(64, 256), new Prng(seed));
      const index = mix.index as IdIndex;
      const { model, live, rng } = mix;
      let next_id = 1;
      const used = new Set<number>();
      let most_long_lived = 0;
      const check = (): void => {
        assert.equal(index.size, model.size);
        for (const [id, slot] of model) assert.equal(index.get(id), slot, `id ${id}`);
      };
      for (let step = 0; step < 40_000; step++) {
        const r = rng.below(100);
        if (r < 55 || live.length === 0) {
          // Mostly the next id; sometimes a jump past the window; sometimes an older id not yet used
          // (as a restore inserts orders in slot order, not id order).
          let id = next_id++;
          if (r < 2) {
            next_id += rng.between(256, 2000);
            id = next_id++;
          } else if (r < 5 && next_id > 600) {
            const older = next_id - rng.between(1, 600);
            if (!model.has(older) && !used.has(older)) id = older;
          }
          used.add(id);
          mix.add(id);
        } else {
          // Recent orders die soon; some live long (they end up in the hash).
          mix.remove(40);
        }
        assert.equal(index.get(next_id + 3), 0);
        if (step % 101 === 0) check();
        most_long_lived = Math.max(most_long_lived, index.long_lived);
      }
      assert.ok(most_long_lived > 100, `${most_long_lived} orders outlived the window`);
      check();
      for (let id = 1; id < next_id; id++) if (!model.has(id)) assert.equal(index.get(id), 0);
    }
  });

  it("moves dense left-behind blocks into pages and sparse ones into the hash, exactly", () => {
    // A window of 256 ids in blocks of 64: a block leaving the ring with >= 8 live orders gets a page,
    // and a page with < 4 left hands them to the hash. Phases: a book that keeps growing (most orders
    // live: pages), then one that drains (pages demoted), then sets of ids below the ring in any order
    // (as a restore makes them).
    for (const seed of [4, 5, 6]) {
      const mix = new Mix(new IdIndex(64, 256), new Prng(seed));
      const index = mix.index as IdIndex;
      const { model, live, rng } = mix;
      const check = (): void => {
        assert.equal(index.size, model.size);
        for (const [id, slot] of model) assert.equal(index.get(id), slot, `id ${id}`);
      };
      let next_id = 1;
      let most_pages = 0;
      for (let step = 0; step < 20_000; step++) {
        if (rng.chance(0.8) || live.length === 0) mix.add(next_id++);
        else mix.remove(10);
        most_pages = Math.max(most_pages, index.pages_used);
        if (step % 499 === 0) check();
      }
      assert.ok(most_pages > 50, `${most_pages} pages`);
      check();
      const paged_before = index.pages_used;
      // Drain: any live order may go; pages thin out and are dropped into the hash.
      while (live.length > 300) {
        mix.remove(0);
        if (live.length % 97 === 0) check();
      }
      assert.ok(index.pages_used < paged_before / 4, `${index.pages_used} of ${paged_before} pages left`);
      check();
      // Ids below the ring that were never used, set in random order (some land in pages, some in the hash).
      const unused: number[] = [];
      for (let id = 1; id < next_id - 512; id++) if (!model.has(id) && rng.chance(0.1)) unused.push(id);
      for (let i = unused.length - 1; i > 0; i--) {
        const j = rng.below(i + 1);
        [unused[i], unused[j]] = [unused[j], unused[i]];
      }
      for (const id of unused) mix.add(id);
      check();
      for (let id = 1; id < next_id + 300; id++) if (!model.has(id)) assert.equal(index.get(id), 0);
      while (live.length > 0) mix.remove(0);
      assert.equal(index.size, 0);
      assert.equal(index.long_lived, 0);
      assert.equal(index.pages_used, 0);
    }
  });

  it("handles ids above 2^32", () => {
    const index = new IdIndex();
    const base = 2 ** 40;
    for (let i = 0; i < 5000; i++) index.set(base + i, i + 1);
    for (let i = 0; i < 5000; i += 2) index.delete(base + i);
    for (let i = 0; i < 5000; i++) assert.equal(index.get(base + i), i % 2 === 0 ? 0 : i + 1);
  });
});

describe("decimal", () => {
  it("parses exactly and refuses extra precision", () => {
    assert.deepEqual(decimal_to_units("1.5", 8), { ok: true, units: 150_000_000 });
    assert.deepEqual(decimal_to_units("0.00000001", 8), { ok: true, units: 1 });
    assert.deepEqual(decimal_to_units("1.000000000", 8), { ok: true, units: 100_000_000 });
    assert.deepEqual(decimal_to_units("0.000000001", 8), { ok: false, error: "precision" });
    assert.deepEqual(decimal_to_units("-1", 8), { ok: false, error: "format" });
    assert.deepEqual(decimal_to_units("1e5", 8), { ok: false, error: "format" });
    assert.deepEqual(decimal_to_units("99999999999999999999", 8), { ok: false, error: "range" });
    assert.equal(parse_decimal("0.10")?.scale, 1);
    assert.equal(units_to_decimal(150_000_000, 8), "1.50000000");
    assert.equal(units_to_decimal(5, 0), "5");
  });
});

describe("fees", () => {
  it("round down exactly for amounts up to 2^53 - 1", () => {
    assert.equal(fee_units(999, 1000), 0);
    assert.equal(fee_units(1000, 1000), 1);
    const max = Number.MAX_SAFE_INTEGER;
    const exact = (BigInt(max) * 100_000n) / 1_000_000n;
    assert.equal(BigInt(fee_units(max, 100_000)), exact);
    const rng = new Prng(3);
    for (let i = 0; i < 10_000; i++) {
      const amount = rng.below(2 ** 21) * 2 ** 32 + rng.u32();
      const rate = rng.below(100_001);
      assert.equal(
        BigInt(fee_units(amount, rate)),
        (BigInt(amount) * BigInt(rate)) / 1_000_000n,
        `${amount} ${rate}`,
      );
    }
  });
});
