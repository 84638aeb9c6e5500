import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BENCH_LIMITS, mixed, setup_commands } from "../../bench/engine/workload.js";
import { Engine } from "../../src/engine/engine.js";
import { state_hash } from "../../src/engine/snapshot.js";
import { TouchAhead } from "../../src/node/touch_ahead.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("touch-ahead worker", () => {
  it("maps the order store's pages ahead of its high-water mark and changes no order", async () => {
    const limits = { ...BENCH_LIMITS, orders_preallocated: 1024 };
    const work = mixed(3, 20_000, 200_000);
    const run = async (with_worker: boolean): Promise<{ hash: string; mapped_ahead_mb: number }> => {
      const engine = new Engine(limits);
      for (const c of setup_commands()) engine.execute(c);
      const rss_before = process.memoryUsage().rss;
      const toucher = with_worker ? new TouchAhead(engine.orders.touch_plan, () => {}) : null;
      await sleep(300);
      const mapped_ahead_mb = (process.memoryUsage().rss - rss_before) / 2 ** 20;
      // Commands in slices with pauses between them, so the worker runs while orders pile up.
      for (let i = 0; i < work.preload.length; i++) engine.execute(work.preload.command(i));
      for (let i = 0; i < work.ops.length; i++) {
        engine.execute(work.ops.command(i));
        if (i % 20_000 === 0) await sleep(5);
      }
      await toucher?.stop();
      return { hash: state_hash(engine), mapped_ahead_mb };
    };
    const plain = await run(false);
    const touched = await run(true);
    assert.equal(touched.hash, plain.hash);
    // 131,072 slots ahead of a fresh store: 8 MB of hot records, 4 MB cold, 0.5 MB of free stack.
    assert.ok(touched.mapped_ahead_mb >= 10, `${touched.mapped_ahead_mb.toFixed(1)} MB mapped ahead`);
    assert.ok(plain.mapped_ahead_mb < 4, `${plain.mapped_ahead_mb.toFixed(1)} MB mapped without the worker`);
  });
});
