/**
 * Compaction keeps etcd's keyspace bounded: log entries at or below the oldest published snapshot
 * position are deleted and etcd's history compacted there; nothing a node needs is lost (a node
 * restarting from its snapshot catches up on what follows), and a steady workload with snapshots and
 * compaction keeps the number of log keys bounded instead of growing with the commands.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ClusterNode } from "../../src/cluster/cluster_node.js";
import {
  alive_nodes,
  compact_log,
  needed_revision,
  published_positions,
  start_compactor,
} from "../../src/cluster/compactor.js";
import type { Command } from "../../src/engine/commands.js";
import { type EtcdCluster, start_etcd } from "../helpers/etcd.js";
import { until } from "../helpers/wait.js";

const SETUP: Command[] = [
  { type: "add_asset", ts_ms: 0, asset: "USDT", decimals: 8, supply_max_units: 9_000_000_000_000_000 },
  { type: "create_account", ts_ms: 0 },
];
const deposit = (): Command => ({ type: "deposit", ts_ms: 0, account: 0, asset: 0, amount_units: 1 });

describe("log compaction", () => {
  let etcd: EtcdCluster;
  const root = mkdtempSync(join(tmpdir(), "hf-compact-"));
  const nodes: ClusterNode[] = [];
  before(async () => {
    etcd = await start_etcd(3);
  });
  after(async () => {
    for (const n of nodes) await n.close().catch(() => undefined);
    await etcd?.close();
    rmSync(root, { recursive: true, force: true });
  });
  const open = (id: string) =>
    ClusterNode.open({
      data_dir: join(root, id),
      etcd: etcd.urls,
      node_id: id,
      prefix: "/cmp",
      log: () => {},
    });
  const log_keys = async () => nodes[0].etcd.getAll().prefix("/cmp/log/").count();

  it("deletes only what every node's snapshot covers; keys stay bounded; a restart from a snapshot catches up", async (t) => {
    nodes.push(await open("a"), await open("b"));
    const [a, b] = nodes;
    for (const c of SETUP) await a.submit(c);
    assert.equal(await needed_revision(a.etcd, "/cmp"), 0, "no snapshots yet: the whole log is needed");
    assert.equal(await compact_log(a.etcd, "/cmp", 0), null);

    const sizes: number[] = [];
    let after_rev = 0;
    for (let round = 0; round < 5; round++) {
      // 40 batches per round, from both nodes
      for (let k = 0; k < 20; k++) await Promise.all([a.submit(deposit()), b.submit(deposit())]);
      await until("both nodes level", 5000, () => (a.last_applied_seq === b.last_applied_seq ? true : null));
      await a.snapshot();
      await b.snapshot();
      const done = await compact_log(a.etcd, "/cmp", after_rev);
      assert.ok(done !== null && done.deleted > 0, `round ${round}: something compacted`);
      after_rev = done.revision;
      sizes.push(await log_keys());
    }
    t.diagnostic(`log keys after each round of 40 batches + snapshots + compaction: ${sizes.join(", ")}`);
    assert.ok(Math.max(...sizes) <= 5, `keys stay bounded: ${sizes.join(", ")}`);
    assert.equal(a.engine.ledger.free(0, 0), 200);

    // b goes away, the log moves on and is compacted up to a's position only (b needs more)
    const b_needs = (await needed_revision(a.etcd, "/cmp")) as number;
    await b.close();
    nodes.splice(1, 1);
    for (let k = 0; k < 30; k++) await a.submit(deposit());
    await a.snapshot();
    const partial = await compact_log(a.etcd, "/cmp", after_rev);
    assert.equal(partial, null, "b's published position holds compaction back");
    assert.equal(await needed_revision(a.etcd, "/cmp"), b_needs);
    // b comes back from its snapshot and catches up on what it missed
    const b2 = await open("b");
    nodes.push(b2);
    assert.equal(b2.last_applied_seq, a.last_applied_seq);
    assert.equal(b2.state_hash(), a.state_hash());
    assert.equal(b2.engine.ledger.free(0, 0), 230);
    // a tail from before the compacted revision is told that history is gone (a node would stop and
    // say so rather than serve a state with a hole in it)
    const errors: Error[] = [];
    const got: number[] = [];
    const tail = await b2.log
      .tail(
        1,
        (e) => got.push(e.revision),
        (e) => errors.push(e),
      )
      .catch((e: Error) => {
        errors.push(e);
        return null;
      });
    await until("the compaction error", 5000, () => (errors.length > 0 ? true : null));
    assert.match(String(errors[0]), /compact/i);
    assert.deepEqual(got, []);
    await tail?.stop().catch(() => undefined);
    // a new node with no snapshot cannot start on a log whose beginning is gone: it says so at once
    const started = Date.now();
    await assert.rejects(open("c"), /compacted/);
    assert.ok(Date.now() - started < 10_000, "fails fast, not after the catch-up timeout");
  });

  it("a node away past the grace no longer holds compaction back; one away less long does, a running one always", async () => {
    // an etcd of its own: compaction is etcd-wide, and the first test compacted the shared one
    const own = await start_etcd(1);
    const mine: ClusterNode[] = [];
    try {
      const P = "/away";
      const open_p = (id: string) =>
        ClusterNode.open({
          data_dir: join(root, `away-${id}`),
          etcd: own.urls,
          node_id: id,
          prefix: P,
          log: () => {},
        });
      const a = await open_p("a");
      mine.push(a);
      const b = await open_p("b");
      for (const c of SETUP) await a.submit(c);
      for (let k = 0; k < 10; k++) await Promise.all([a.submit(deposit()), b.submit(deposit())]);
      await until("both nodes level", 5000, () => (a.last_applied_seq === b.last_applied_seq ? true : null));
      await a.snapshot();
      await b.snapshot();
      assert.deepEqual(
        [...(await alive_nodes(a.etcd, P))].sort(),
        ["a", "b"],
        "running nodes hold alive keys",
      );
      const b_needs = (await published_positions(a.etcd, P)).get("b") as number;
      /** Whether etcd still has the log history right after b's snapshot (not compacted past it). */
      const history_after_b = () =>
        a.etcd
          .getAll()
          .prefix(`${P}/log/`)
          .revision(b_needs + 1)
          .limit(1)
          .keys()
          .then(
            () => true,
            (error: unknown) => {
              assert.match(String(error), /compacted/);
              return false;
            },
          );

      // b stops: its alive key goes; a trades on and snapshots
      await b.close();
      assert.deepEqual([...(await alive_nodes(a.etcd, P))], ["a"]);
      for (let k = 0; k < 20; k++) await a.submit(deposit());
      await a.snapshot();
      const a_needs = (await published_positions(a.etcd, P)).get("a") as number;
      assert.ok(a_needs > b_needs);

      // within the grace: compaction waits for b
      const lines: string[] = [];
      const patient = start_compactor(a.etcd, P, own.urls, (l) => lines.push(l), 100, 60_000);
      await new Promise((r) => setTimeout(r, 800));
      await patient.stop();
      assert.equal(await history_after_b(), true, `b is waited for: ${lines.join(" | ")}`);
      assert.ok(!lines.some((l) => /away/.test(l)), lines.join(" | "));

      // past the grace: compaction goes on to a's snapshot (a runs: it is never passed)
      const brief = start_compactor(a.etcd, P, own.urls, (l) => lines.push(l), 100, 300);
      try {
        await until("compaction past b", 10_000, async () => ((await history_after_b()) ? null : true));
        await until("the compaction's log line", 5000, () =>
          lines.some((l) => l.includes(`compacted the log at revision ${a_needs} `)) ? true : null,
        );
      } finally {
        await brief.stop();
      }
      assert.ok(
        lines.some((l) =>
          new RegExp(
            `node b has been away \\d+ s: compacting past its snapshot \\(revision ${b_needs}\\)`,
          ).test(l),
        ),
        lines.join(" | "),
      );
      // b comes back: its snapshot was compacted past; ClusterNode.open says so (a full node, start.ts,
      // then bootstraps from a peer: test/cluster/bootstrap.test.ts)
      await assert.rejects(open_p("b"), /compacted/);
      // a new node without a snapshot cannot start on the compacted log: refused at once
      await assert.rejects(open_p("b2"), /compacted/);
      // and a running node is waited for however short the grace: its position holds
      const a_last = (await published_positions(a.etcd, P)).get("a") as number;
      for (let k = 0; k < 5; k++) await a.submit(deposit());
      const live = start_compactor(a.etcd, P, own.urls, (l) => lines.push(l), 100, 1);
      await new Promise((r) => setTimeout(r, 600));
      await live.stop();
      assert.equal(await needed_revision(a.etcd, P, new Set(["b"])), a_last, "a runs: its position holds");
    } finally {
      for (const n of mine) await n.close().catch(() => undefined);
      await own.close();
    }
  });
});
