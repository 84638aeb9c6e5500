/**
 * The history projection and the node: it is fed every applied command, catches up after a restart,
 * bounds journal retention, and when its file is lost after retention dropped old segments, the node
 * says which history is gone instead of pretending.
 */
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { EngineEvent } from "../../src/engine/events.js";
import { SIDE_BUY, SIDE_SELL, TIF_GTC } from "../../src/engine/types.js";
import type { ExchangeNode } from "../../src/node/exchange_node.js";
import { EngineNode } from "../../src/node/runtime.js";
import { History, HistoryUnavailable, open_history } from "../../src/projections/history.js";
import { limit, market_commands } from "../engine/helpers.js";

/** The markets and two accounts with both assets. */
async function fund(node: ExchangeNode): Promise<void> {
  for (const c of market_commands()) await node.submit(c);
  for (let a = 0; a < 2; a++) {
    await node.submit({ type: "create_account", ts_ms: 0 });
    for (const asset of [0, 1])
      await node.submit({ type: "deposit", ts_ms: 0, account: a, asset, amount_units: 10 ** 12 });
  }
}

async function trade_pairs(node: ExchangeNode, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await node.submit({ ...limit(0, SIDE_BUY, 100_000, 1, TIF_GTC), ts_ms: 0 });
    await node.submit({ ...limit(1, SIDE_SELL, 100_000, 1, TIF_GTC), ts_ms: 0 });
  }
}

describe("history projection", () => {
  it("follows the node, catches up after a restart, and names history lost to retention", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-proj-"));
    const file = join(dir, "history.sqlite");
    const logs: string[] = [];
    const opts = (history: History) => ({
      data_dir: dir,
      snapshot_every_commands: 40,
      journal: { segment_bytes_max: 4096 },
      projection: history,
      log: (l: string) => logs.push(l),
    });
    // closed in `finally` too: a failed assertion with the node still open kept this file's process
    // (and CI) from ever finishing
    let history = new History(file);
    let node: EngineNode | null = null;
    try {
      node = await EngineNode.open(opts(history));
      await fund(node);
      await trade_pairs(node, 60);
      assert.equal((await history.trades(0, 0, { limit: 1000 })).length, 60);
      assert.equal(history.last_seq, node.last_applied_seq);
      await node.close();
      history.close();

      // a restart: the projection is already complete, nothing to replay into it
      history = new History(file);
      node = await EngineNode.open(opts(history));
      await trade_pairs(node, 5);
      assert.equal((await history.trades(1, 0, { limit: 1000 })).length, 65);
      // a snapshot at the journal's very end: below, the lost file's rebuild has nothing after it
      await node.snapshot();
      await node.close();
      history.close();
      const segments = readdirSync(join(dir, "journal"));
      assert.ok(!segments.includes("segment-00000000000000000001.hfj"), "retention dropped old segments");

      // the file is lost: the node rebuilds what the journal still holds and says what is gone
      rmSync(file);
      rmSync(`${file}-wal`, { force: true });
      rmSync(`${file}-shm`, { force: true });
      history = new History(file);
      node = await EngineNode.open(opts(history));
      assert.match(logs.join("\n"), /history from 1 to \d+ is not available/);
      // How much comes back depends on where the background snapshots fell: both kept snapshots can
      // sit at the very end (a snapshot is of the state "after last_applied_seq or a little later"),
      // leaving no trades after them. What must hold: never the lost part, and caught up to the end.
      const kept = (await history.trades(0, 0, { limit: 1000 })).length;
      assert.ok(kept < 65, `history rebuilt from the snapshot on (${kept} trades)`);
      // caught up even when that snapshot is the journal's end (nothing after it to feed: it used to
      // stay at 0 then), and the gap is said once: a later start does not report it again
      assert.equal(history.last_seq, node.last_applied_seq);
      await node.close();
      history.close();
      logs.length = 0;
      history = new History(file);
      node = await EngineNode.open(opts(history));
      assert.doesNotMatch(logs.join("\n"), /is not available/);
      assert.equal(history.last_seq, node.last_applied_seq);
      await node.close();
      node = null;
      history.close();
    } finally {
      await node?.close().catch(() => undefined);
      history.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes on its own thread, yet every read sees every command fed before it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-proj-"));
    const file = join(dir, "history.sqlite");
    try {
      let history = new History(file);
      const node = await EngineNode.open({ data_dir: dir, projection: history, log: () => {} });
      await fund(node);
      // 1,500 pairs in flight at once: many frames, several batches of rows on their way to the writer
      const orders: Promise<unknown>[] = [];
      for (let i = 0; i < 1500; i++) {
        orders.push(node.submit({ ...limit(0, SIDE_BUY, 100_000 + (i % 7), 2, TIF_GTC), ts_ms: 0 }));
        orders.push(node.submit({ ...limit(1, SIDE_SELL, 100_000, 2, TIF_GTC), ts_ms: 0 }));
      }
      await Promise.all(orders);
      assert.ok(history.written_seq < node.last_applied_seq || history.written_seq === node.last_applied_seq);
      // the read waits for the writer: all 1,500 trades of account 0, each buyer's row
      const trades = await history.trades(0, 0, { from_id: 0, limit: 1000 });
      const more = await history.trades(0, 0, { from_id: trades[999].trade_id + 1, limit: 1000 });
      assert.equal(trades.length + more.length, 1500);
      assert.ok([...trades, ...more].every((t) => t.is_buyer === 1 && t.quantity_lots === 2));
      assert.equal(history.written_seq, node.last_applied_seq);
      const last = [...trades, ...more].at(-1);
      const row = await history.order(0, 0, last?.order_id ?? -1, null);
      assert.equal(row?.status, 2, "the last buy order is FILLED");
      assert.equal(row?.executed_lots, 2);
      await node.close();
      history.close();
      history = new History(file);
      assert.equal(history.last_seq, node.last_applied_seq, "the written sequence survives a reopen");
      assert.equal(history.written_seq, node.last_applied_seq);
      history.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("after a failed write, says so on every read and writes nothing more", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-proj-"));
    const file = join(dir, "history.sqlite");
    const order_new = (order_id: number, time_ms: number): EngineEvent => ({
      kind: "order_new",
      order_id,
      account: 3,
      market: 0,
      side: SIDE_BUY,
      order_type: 0,
      tif: TIF_GTC,
      price_ticks: 5,
      quantity_lots: 7,
      quote_units: 0,
      stop_price_ticks: 0,
      client_order_id: `c${order_id}`,
      time_ms,
      stp: 0,
      strategy_id: -1,
      strategy_type: -1,
      trailing_delta_bips: -1,
      iceberg_lots: -1,
    });
    try {
      let history = new History(file);
      history.apply(1, 1000, [order_new(1, 1000)]);
      assert.equal((await history.order(3, 0, 1, null))?.client_order_id, "c1");
      // another connection breaks the schema under the writer
      const other = new Database(file);
      other.exec("DROP TABLE orders");
      other.close();
      history.apply(2, 2000, [order_new(2, 2000)]);
      await assert.rejects(history.order(3, 0, 2, null), /history: the writer failed.*no such table: orders/);
      assert.match(history.failure ?? "", /the writer failed.*no such table: orders/);
      // the node goes on without its history: feeding and flushing it never throw, and nothing is kept
      history.apply(3, 3000, [order_new(3, 3000)]);
      history.flush();
      assert.equal(history.written_seq, 1);
      await assert.rejects(history.order(3, 0, 3, null), HistoryUnavailable);
      history.close();
      history = new History(file);
      assert.equal(history.last_seq, 1, "what failed is replayed after a restart");
      history.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a damaged file is moved aside and the history filled again from the journal; the node starts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-proj-"));
    const file = join(dir, "history.sqlite");
    try {
      let history = open_history(file, () => {});
      let node = await EngineNode.open({ data_dir: dir, projection: history, log: () => {} });
      await fund(node);
      await trade_pairs(node, 5);
      await node.close();
      history.close();
      // a damaged header: SQLite no longer reads it as a database
      const fd = openSync(file, "r+");
      writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
      closeSync(fd);
      assert.throws(() => new History(file), /not a database/);

      const logs: string[] = [];
      history = open_history(file, (l) => logs.push(l));
      assert.match(logs.join("\n"), /history\.sqlite is damaged .*moved to .*history\.sqlite\.damaged-\d+/);
      assert.equal(readdirSync(dir).filter((n) => n.startsWith("history.sqlite.damaged-")).length, 1);
      node = await EngineNode.open({ data_dir: dir, projection: history, log: () => {} });
      assert.equal(
        (await history.trades(0, 0, { from_id: 0, limit: 1000 })).length,
        5,
        "filled again from the journal",
      );
      await node.close();
      history.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("another connection holding the write lock: reads answer busy within a second without holding up the node, refused at once past the queue's bound, and the history catches up once it is released", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-proj-"));
    const file = join(dir, "history.sqlite");
    let other: Database.Database | null = null;
    let opened: History | null = null;
    let running: EngineNode | null = null;
    try {
      const history = new History(file);
      opened = history;
      const node = await EngineNode.open({ data_dir: dir, projection: history, log: () => {} });
      running = node;
      await fund(node);
      await trade_pairs(node, 2);
      assert.equal((await history.trades(0, 0, { from_id: 0, limit: 1000 })).length, 2);

      other = new Database(file);
      other.exec("BEGIN IMMEDIATE"); // an operator's shell, say, in a write transaction
      await trade_pairs(node, 3);
      const started = performance.now();
      const settled: string[] = [];
      const read = history.trades(0, 0, { from_id: 0, limit: 1000 }).finally(() => settled.push("read"));
      // The read waits on the reader thread; the node's thread goes on meanwhile (it used to wait
      // there itself, a second in which no order was acknowledged): a timer fires on time, and
      // orders sent after the read are acknowledged before it answers.
      const timer_late_ms = await new Promise<number>((resolve) => {
        const t0 = performance.now();
        setTimeout(() => resolve(performance.now() - t0 - 20), 20);
      });
      await trade_pairs(node, 1).finally(() => settled.push("orders"));
      await assert.rejects(
        read,
        (e: unknown) => e instanceof HistoryUnavailable && !e.stopped && /busy/.test(e.message),
      );
      const waited_ms = performance.now() - started;
      assert.deepEqual(settled, ["orders", "read"], "orders sent after the read were answered first");
      assert.ok(timer_late_ms < 500, `a 20 ms timer fired ${timer_late_ms} ms late while the read waited`);
      assert.ok(waited_ms >= 900 && waited_ms < 2000, `the read waited ${waited_ms} ms`);
      assert.equal(history.failure, null, "a lock is not a failure");

      // Reads queue behind one another on the reader thread (each waits its second here); once the
      // oldest has waited READ_QUEUE_MS_MAX (3 s), more are refused at once rather than queued.
      const queued = Array.from({ length: 5 }, () =>
        history.trades(0, 0, { from_id: 0, limit: 1000 }).then(
          () => "answered",
          (e: unknown) => e,
        ),
      );
      await new Promise((r) => setTimeout(r, 3300));
      const asked = performance.now();
      await assert.rejects(history.trades(0, 0, { from_id: 0, limit: 1000 }), (e: unknown) => {
        assert.ok(e instanceof HistoryUnavailable && !e.stopped, String(e));
        assert.match(e.message, /busy: \d+ reads wait for the reader thread, the oldest for 3\d{3} ms/);
        return true;
      });
      assert.ok(performance.now() - asked < 200, "refused at once");
      for (const outcome of await Promise.all(queued))
        assert.ok(outcome instanceof HistoryUnavailable && /busy/.test(outcome.message), String(outcome));

      other.exec("ROLLBACK");
      other.close();
      other = null;
      await trade_pairs(node, 1);
      assert.equal(
        (await history.trades(0, 0, { from_id: 0, limit: 1000 })).length,
        7,
        "caught up, nothing lost",
      );
      assert.equal(history.written_seq, node.last_applied_seq);
      running = null;
      await node.close();
      opened = null;
      history.close();
    } finally {
      // a failed assertion must not leave the lock held and reads waiting (the test would never end)
      other?.close();
      await running?.close();
      opened?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
