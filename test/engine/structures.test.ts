import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decimal_to_units, parse_decimal, units_to_decimal } from "../../src/engine/decimal.js";
import { fee_units } from "../../src/engine/engine.js";
import { IdHash, IdIndex } from "../../src/engine/id_index.js";
import { Prng } from "../../src/sim/prng.js";

describe("IdIndex", () => {
  it("agrees with a Map over a long random mix of sequential inserts and random deletes", () => {
    const index = new IdIndex();
    const model = new Map<number, number>();
    const rng = new Prng(7);
    let next_id = 1;
    const live: number[] = [];
    for (let step = 0; step < 200_000; step++) {
      if (rng.chance(0.55) || live.length === 0) {
        const id = next_id++;
        const slot = rng.between(1, 1 << 20);
        index.set(id, slot);
        model.set(id, slot);
        live.push(id);
      } else {
        // mostly recent orders die, some live long: the pattern that breaks naive hashing
        const at = rng.chance(0.8)
          ? live.length - 1 - rng.below(Math.min(live.length, 50))
          : rng.below(live.length);
        const id = live[at];
        live[at] = live[live.length - 1];
        live.pop();
        index.delete(id);
        model.delete(id);
      }
      if (step % 997 === 0) {
        for (const id of live.slice(0, 50)) assert.equal(index.get(id), model.get(id));
        assert.equal(index.get(next_id + 5), 0);
      }
    }
    assert.equal(index.size, model.size);
    for (const [id, slot] of model) assert.equal(index.get(id), slot);
  });

  it("hash: answers every live id exactly while a grown table is still being moved in", () => {
    const index = new IdHash();
    const model = new Map<number, number>();
    const rng = new Prng(11);
    let next_id = 1;
    const live: number[] = [];
    let checked_while_growing = 0;
    for (let step = 0; step < 60_000; step++) {
      if (rng.chance(0.7) || live.length === 0) {
        const id = next_id++;
        const slot = rng.between(1, 1 << 20);
        index.set(id, slot);
        model.set(id, slot);
        live.push(id);
      } else {
        const at = rng.below(live.length);
        const id = live[at];
        live[at] = live[live.length - 1];
        live.pop();
        index.delete(id);
        model.delete(id);
        index.delete(id); // a second delete changes nothing
      }
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
      const index = new IdIndex(64, 256);
      const model = new Map<number, number>();
      const rng = new Prng(seed);
      let next_id = 1;
      const live: number[] = [];
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
          const slot = rng.between(1, 1 << 20);
          index.set(id, slot);
          model.set(id, slot);
          live.push(id);
        } else {
          // Recent orders die soon; some live long (they end up in the hash).
          const at = rng.chance(0.8)
            ? live.length - 1 - rng.below(Math.min(live.length, 40))
            : rng.below(live.length);
          const id = live[at];
          live[at] = live[live.length - 1];
          live.pop();
          index.delete(id);
          model.delete(id);
          index.delete(id);
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
