/**
 * A full disk does not take the exchange down: on a real, small file system (a tmpfs mounted for the
 * test), order entry pauses before the disk is full and resumes by itself once there is room; and
 * when the disk fills faster than the guard (guard off), the history and then the journal stop while
 * the node stays up for reads, refuses new orders with a clear error, and after a restart holds every
 * acknowledged command.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Command } from "../../src/engine/commands.js";
import { write_atomic } from "../../src/node/snapshot_store.js";
import { type RunningNode, start_node } from "../../src/server/start.js";
import { probe_round } from "../../src/status/probe.js";
import { fill, mount_tmpfs } from "../helpers/tmpfs.js";
import { until } from "../helpers/wait.js";

const MB = 1024 * 1024;

async function start(data_dir: string, disk_free_min_bytes: number): Promise<RunningNode> {
  const lines: string[] = [];
  const running = await start_node({
    data_dir,
    host: "127.0.0.1",
    port: 0,
    admin_socket: null,
    demo: true,
    market_maker: false,
    disk_free_min_bytes,
    log: (line) => lines.push(line),
  });
  (running as RunningNode & { lines: string[] }).lines = lines;
  return running;
}
const log_of = (running: RunningNode): string[] => (running as RunningNode & { lines: string[] }).lines;

function client(running: RunningNode) {
  const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as {
    users: { apiKey: string; secretKey: string }[];
  };
  const key = creds.users[0];
  const base = `http://127.0.0.1:${running.port}`;
  const signed = async (method: string, path: string, params: Record<string, string>) => {
    const text = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
    const sig = createHmac("sha256", key.secretKey).update(text).digest("hex");
    const r = await fetch(`${base}${path}?${text}&signature=${sig}`, {
      method,
      headers: { "X-MBX-APIKEY": key.apiKey },
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const order = () =>
    signed("POST", "/api/v3/order", {
      symbol: "BTCUSDT",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.001",
      price: "10000",
    });
  const account = running.node.engine.api_keys.by_key.get(key.apiKey)?.account as number;
  return { base, signed, order, account };
}

const PAUSED = {
  code: -1008,
  msg: "Order entry is paused: this node cannot store new orders durably right now. Nothing was placed; please try again in a few minutes.",
};

describe("a full disk", () => {
  it("pauses order entry before the disk is full (503 -1008, nothing journaled, reads go on) and resumes by itself", async (t) => {
    const mount = mount_tmpfs(96, "hf-diskfull-");
    if (typeof mount === "string") return t.skip(mount);
    let running: RunningNode | null = null;
    try {
      const data_dir = join(mount.dir, "node");
      mkdirSync(data_dir);
      running = await start(data_dir, 24 * MB);
      const c = client(running);
      const resting = await c.order();
      assert.equal(resting.status, 200);
      const resting_2 = await c.order();

      fill(join(mount.dir, "filler"), 8 * MB);
      await until(
        "the pause",
        5000,
        () => log_of(running as RunningNode).some((l) => l.includes("ORDER ENTRY PAUSED")) || null,
      );
      const seq = running.node.last_applied_seq;
      const refused = await c.order();
      assert.equal(refused.status, 503);
      assert.deepEqual(refused.body, PAUSED);
      assert.equal(running.node.last_applied_seq, seq, "nothing reached the journal");
      // a cancel still goes through: it is how a trader gets out of the market
      const cancel = await c.signed("DELETE", "/api/v3/order", {
        symbol: "BTCUSDT",
        orderId: String(resting.body.orderId),
      });
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      assert.equal(cancel.body.status, "CANCELED");
      // below a quarter of the minimum, not even that
      fill(join(mount.dir, "filler-2"), 2 * MB);
      await new Promise((r) => setTimeout(r, 1200));
      const hard = await c.signed("DELETE", "/api/v3/order", {
        symbol: "BTCUSDT",
        orderId: String(resting_2.body.orderId),
      });
      assert.equal(hard.status, 503);
      rmSync(join(mount.dir, "filler-2"));
      // reads and market data go on
      assert.equal((await c.signed("GET", "/api/v3/account", {})).status, 200);
      assert.equal((await c.signed("GET", "/api/v3/allOrders", { symbol: "BTCUSDT" })).status, 200);
      assert.equal((await fetch(`${c.base}/api/v3/depth?symbol=BTCUSDT`)).status, 200);
      // the node says so, and the status service's probe reports order entry down
      const modes = (await (await fetch(`${c.base}/holdfast/v1/modes`)).json()) as { order_entry: string };
      assert.equal(modes.order_entry, "paused");
      const seen = (await probe_round([c.base], ["BTCUSDT"])).seen;
      assert.deepEqual(
        { status: seen.get("order-entry")?.status, detail: seen.get("order-entry")?.detail },
        { status: "major_outage", detail: "order entry paused: the node cannot store new orders durably" },
      );
      assert.equal(seen.get("rest-api")?.status, "operational");

      // room again (the filler removed): order entry resumes, no restart
      rmSync(join(mount.dir, "filler"));
      await until(
        "the resumption",
        5000,
        () => log_of(running as RunningNode).some((l) => l.includes("order entry resumed")) || null,
      );
      const placed = await c.order();
      assert.equal(placed.status, 200, JSON.stringify(placed.body));
      const open = (await (await fetch(`${c.base}/holdfast/v1/modes`)).json()) as { order_entry: string };
      assert.equal(open.order_entry, "open");
      assert.equal((await probe_round([c.base], ["BTCUSDT"])).seen.get("order-entry")?.status, "operational");
    } finally {
      await running?.close().catch(() => {});
      mount.unmount();
    }
  });

  it("filled faster than the guard: history then journal stop, the node stays up for reads, and a restart holds every acknowledged command", async (t) => {
    const mount = mount_tmpfs(64, "hf-diskfull-");
    if (typeof mount === "string") return t.skip(mount);
    let running: RunningNode | null = null;
    try {
      const data_dir = join(mount.dir, "node");
      mkdirSync(data_dir);
      running = await start(data_dir, 0); // no guard: the writes themselves meet the full disk
      const c = client(running);
      assert.equal((await c.order()).status, 200);
      const usdt_before = running.node.engine.ledger.free(c.account, 0);

      fill(join(mount.dir, "filler"), 0);
      // The history's next write fails: its reads answer 503 -1001; trading goes on on the journal.
      await c.order();
      await until(
        "the history to stop",
        5000,
        () => log_of(running as RunningNode).some((l) => l.includes("HISTORY STOPPED")) || null,
      );
      const history = await c.signed("GET", "/api/v3/allOrders", { symbol: "BTCUSDT" });
      assert.equal(history.status, 503);
      assert.deepEqual(history.body, {
        code: -1001,
        msg: "Order and trade history is unavailable on this node; please try again later.",
      });

      // Deposits through the journal until its zero-filled space runs out and a write fails.
      let acknowledged = 0;
      let unknown = 0;
      for (let round = 0; round < 200; round++) {
        const batch: Command[] = Array.from({ length: 1000 }, () => ({
          type: "deposit",
          ts_ms: 0,
          account: c.account,
          asset: 0,
          amount_units: 1,
        }));
        try {
          await running.node.submit_batch(batch);
          acknowledged += batch.length;
        } catch (error) {
          assert.match(String(error), /ENOSPC/, "the write met the full disk");
          unknown = batch.length;
          break;
        }
      }
      assert.ok(unknown > 0, `the journal's write failed after ${acknowledged} acknowledged deposits`);
      assert.ok(log_of(running).some((l) => l.includes("ORDER ENTRY STOPPED")));
      const seq = running.node.last_applied_seq;
      const refused = await c.order();
      assert.equal(refused.status, 503);
      assert.deepEqual(refused.body, PAUSED);
      assert.equal(running.node.last_applied_seq, seq);
      assert.equal((await c.signed("GET", "/api/v3/account", {})).status, 200, "reads go on");
      assert.equal((await fetch(`${c.base}/api/v3/depth?symbol=BTCUSDT`)).status, 200);

      // The operator frees space and restarts: every acknowledged deposit is there, the history is
      // rebuilt from the journal, and orders are taken again.
      await running.close();
      running = null;
      // a restart while the disk is still full says so plainly (not SQLite's "disk I/O error")
      await assert.rejects(
        start(data_dir, 0),
        /MB free; a node needs 16 MB to start .*free space and start again/,
      );
      rmSync(join(mount.dir, "filler"));
      running = await start(data_dir, 0);
      const after = running.node.engine.ledger.free(c.account, 0) - usdt_before;
      assert.ok(
        after >= acknowledged && after <= acknowledged + unknown,
        `${after} deposits after the restart; ${acknowledged} acknowledged, ${unknown} of unknown outcome`,
      );
      const c2 = client(running);
      assert.equal((await c2.signed("GET", "/api/v3/allOrders", { symbol: "BTCUSDT" })).status, 200);
      assert.equal((await c2.order()).status, 200);
    } finally {
      await running?.close().catch(() => {});
      mount.unmount();
    }
  });

  it("a snapshot that does not fit fails and leaves no half-written file behind", async (t) => {
    const mount = mount_tmpfs(16, "hf-diskfull-");
    if (typeof mount === "string") return t.skip(mount);
    try {
      fill(join(mount.dir, "filler"), 4 * MB);
      assert.throws(() => write_atomic(mount.dir, "snapshot-1.hfs", [Buffer.alloc(8 * MB, 1)]), /ENOSPC/);
      assert.deepEqual(readdirSync(mount.dir).sort(), ["filler"]);
    } finally {
      mount.unmount();
    }
  });
});
