/**
 * No input may crash the engine or break an invariant: random values in every field of every
 * command kind, and arbitrary values as whole commands.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Command } from "../../src/engine/commands.js";
import { Engine } from "../../src/engine/engine.js";
import { check_invariants } from "../../src/engine/invariants.js";
import { ops, seed, setup_commands, to_commands } from "./gen.js";

const weird = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    -1,
    0,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 53,
    -(2 ** 31),
    "",
    "1",
    "BTCUSDT",
    true,
    [],
    {},
  ),
  fc.anything(),
);

describe("engine robustness", () => {
  it("survives any value in any field of valid commands, keeping every invariant", () => {
    fc.assert(
      fc.property(
        ops(20, 120),
        fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 30 }), weird), { maxLength: 40 }),
        (list, mutations) => {
          const commands = to_commands(list) as unknown as Record<string, unknown>[];
          for (const [at, key, value] of mutations) {
            if (commands.length === 0) break;
            const target = commands[at % commands.length];
            const keys = Object.keys(target);
            const field = key.length % 3 === 0 ? key : keys[key.length % keys.length];
            // an order spec inside a cancel-replace or an order list (OCO, OTO) gets its own fields mutated
            const inner = ["order", "above", "below", "working", "pending", "pending_below"].find(
              (k) => k === field || (key.length % 3 === 1 && k in target),
            );
            if (inner !== undefined && typeof target[inner] === "object" && target[inner] !== null) {
              const spec = target[inner] as Record<string, unknown>;
              const spec_keys = Object.keys(spec);
              spec[key.length % 2 === 0 ? key : spec_keys[key.length % spec_keys.length]] = value;
            } else target[field] = value;
          }
          const e = new Engine({ levels_per_side_max: 30 });
          for (const c of setup_commands()) e.apply(c);
          for (const c of commands) {
            e.apply(c as unknown as Command);
            const problems = check_invariants(e);
            assert.deepEqual(problems, [], `after ${JSON.stringify(c)}`);
          }
        },
      ),
      { seed: seed(), numRuns: 150 },
    );
  });

  it("refuses arbitrary values as commands without throwing", () => {
    const e = new Engine();
    for (const c of setup_commands()) e.apply(c);
    fc.assert(
      fc.property(weird, (value) => {
        const events = e.apply(value as Command);
        assert.equal(events.length, 1);
        assert.equal(events[0].kind, "rejected");
      }),
      { seed: seed(), numRuns: 500 },
    );
  });
});
