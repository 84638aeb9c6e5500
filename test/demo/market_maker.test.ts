/**
 * The demo's market maker keeps the books two-sided: a side a taker empties is quoted again at once
 * (within a few hundred milliseconds), not at the next one-second tick; a market that takes no new
 * orders (CANCEL_ONLY, HALT, BREAK) is not requoted early (its quotes would be refused).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MARKET_CANCEL_ONLY, SIDE_SELL, TIF_IOC } from "../../src/engine/types.js";
import { limit_order } from "../../src/sim/fixtures.js";
import { funded_accounts } from "../gateway/load.js";
import { demo_node } from "../helpers/nodes.js";
import { until } from "../helpers/wait.js";

describe("demo market maker", () => {
  it("requotes a side a taker emptied within 700 ms; not early a market that takes no orders", async () => {
    const { running, remove } = await demo_node("hf-mm-", { market_maker: true });
    try {
      const node = running.node;
      const btcusdt = node.engine.markets[0];
      await until("the first quotes", 5000, () => (btcusdt.bids.count > 0 ? true : null));
      const [taker] = await funded_accounts(node, 1);
      for (let round = 0; round < 3; round++) {
        // an IOC sell of 8 BTC at half the best bid takes every bid (the quotes, a fraction of a BTC, are
        // within 0.25% of the mid)
        const best = btcusdt.bids.best_price();
        await node.submit(limit_order(taker, 0, SIDE_SELL, Math.floor(best / 2), 800_000, TIF_IOC));
        const emptied_ms = Date.now();
        assert.equal(btcusdt.bids.count, 0, "the sweep took every bid");
        await until("bids again", 5000, () => (btcusdt.bids.count > 0 ? true : null));
        const after_ms = Date.now() - emptied_ms;
        assert.ok(after_ms < 700, `bids again ${after_ms} ms after the side was emptied`);
      }
      // a market in CANCEL_ONLY: the next tick cancels its quotes and its new ones are refused, so its
      // sides stay empty; that is no reason to requote early (each try would be refused again)
      await node.submit({ type: "set_market_status", ts_ms: 0, market: 0, status: MARKET_CANCEL_ONLY });
      await until("the CANCEL_ONLY market's quotes gone", 5000, () =>
        btcusdt.bids.count === 0 && btcusdt.asks.count === 0 ? true : null,
      );
      const seq = node.last_applied_seq;
      await new Promise((r) => setTimeout(r, 1000));
      // one tick a second goes on (about 36 commands: three markets' cancel_all, ten quotes and a
      // taker order), not one every 250 ms
      const commands = node.last_applied_seq - seq;
      assert.ok(commands <= 80, `${commands} commands in 1 s: more than two ticks`);
    } finally {
      await remove();
    }
  });
});
