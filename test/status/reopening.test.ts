/**
 * The staged end of a maintenance window (src/status/reopening.ts) against a real node, with the
 * connection to its admin socket failing part-way through a stage (a fault injected into the call,
 * as a dropped socket would): the retry carries on with the plan it started, so a market the failed
 * attempt had already halted is reopened with the others, not left closed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { admin_call, admin_request } from "../../src/admin/client.js";
import type { AdminCall } from "../../src/admin/reopen_run.js";
import { node_status } from "../../src/admin/server.js";
import { Reopenings } from "../../src/status/reopening.js";
import { StatusStore } from "../../src/status/store.js";
import { demo_node } from "../helpers/nodes.js";

describe("a staged reopening whose admin connection fails part-way", () => {
  it("is retried with the plan it began: every market maintenance closed reopens", async () => {
    const handle = await demo_node("hf-reopening-");
    const dir = mkdtempSync(join(tmpdir(), "hf-reopening-store-"));
    const store = new StatusStore(join(dir, "status.sqlite"));
    try {
      const socket = handle.running.admin_socket;
      assert.equal(
        (await admin_request(socket, "POST", "/v1/exchange-flags", { maintenance: true })).status,
        200,
      );
      let posts = 0;
      let fail_at_post = 2; // the second command: after BTCUSDT is halted, before ETHUSDT is
      const call: AdminCall = async (method, path, body) => {
        if (method === "POST" && ++posts === fail_at_post) throw new Error("socket hang up (injected)");
        return admin_call(socket)(method, path, body);
      };
      const completed: string[] = [];
      const reopenings = new Reopenings({
        store,
        call,
        complete: (m, body, now_ms, reopen) => {
          store.set_maintenance(m.id, "completed", body, now_ms, reopen);
          completed.push(body);
        },
        durable: (write) => write(),
        log: () => {},
      });
      const now = Date.now();
      const m = store.schedule_maintenance(
        {
          name: "Upgrade",
          body: "x",
          start_ms: now - 1000,
          end_ms: now,
          components: [],
          switch_exchange: true,
          reopen_stage_s: 0,
        },
        now - 2000,
      );
      store.set_maintenance(m.id, "in_progress", "started", now - 1000);
      const markets = () =>
        node_status(handle.running.node, handle.dir, new Date())
          .markets.map((x) => `${x.symbol} ${x.status}`)
          .join(", ");

      await assert.rejects(reopenings.begin(m, "Done.", now), /injected/);
      assert.equal(markets(), "BTCUSDT HALT, ETHUSDT TRADING, ETHBTC TRADING");
      assert.equal(store.maintenance(m.id)?.status, "in_progress");

      fail_at_post = 0;
      assert.equal(await reopenings.begin(m, "Done.", Date.now()), "staged");
      assert.equal(markets(), "BTCUSDT TRADING, ETHUSDT TRADING, ETHBTC TRADING");
      const e = node_status(handle.running.node, handle.dir, new Date()).exchange;
      assert.deepEqual(e, { maintenance: false, deposits_paused: false, withdrawals_paused: false });
      assert.equal(store.maintenance(m.id)?.status, "completed");
      assert.deepEqual(completed, [
        "Done. The exchange is out of maintenance mode; its markets stay closed while it reopens in stages. The markets are cancel-only: orders that rested through the maintenance can be cancelled; no new orders yet. Trading is open again. Withdrawals are open again. The exchange is fully open again.",
      ]);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
      await handle.remove();
    }
  });
});
