/**
 * Deterministic agreement in cluster mode: three nodes on a three-member etcd, fed a long random
 * workload through all three at once, end at the same position with the same state hash; a node that
 * restarts replays the log to the same hash; and every command a node acknowledged is in the log once.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { ClusterNode } from "../../src/cluster/cluster_node.js";
import type { Command } from "../../src/engine/commands.js";
import { known_failure } from "../../src/gateway/params.js";
import { UnencodableCommand } from "../../src/journal/journal.js";
import { WritesRefused } from "../../src/node/exchange_node.js";
import { read_snapshot } from "../../src/node/snapshot_store.js";
import { ops, seed, setup_commands, to_commands } from "../engine/gen.js";
import { type EtcdCluster, start_etcd } from "../helpers/etcd.js";
import { until } from "../helpers/wait.js";

describe("cluster agreement", () => {
  let etcd: EtcdCluster;
  const root = mkdtempSync(join(tmpdir(), "hf-agree-"));
  const nodes: ClusterNode[] = [];
  before(async () => {
    etcd = await start_etcd(3);
  });
  after(async () => {
    for (const n of nodes) await n.close();
    await etcd?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const logs: string[] = [];
  const open = (i: number) =>
    ClusterNode.open({
      data_dir: join(root, `n${i}`),
      etcd: [etcd.urls[i], ...etcd.urls.filter((_, j) => j !== i)],
      node_id: `n${i}`,
      prefix: "/agree",
      log: (line) => logs.push(line),
    });

  it("three nodes, a random workload through all of them: same position, same state hash; a restart replays to it", async (t) => {
    for (let i = 0; i < 3; i++) nodes.push(await open(i));
    for (const c of setup_commands()) await nodes[0].submit(c);
    const [list] = fc.sample(ops(3000, 3000), { seed: seed(), numRuns: 1 });
    const commands: Command[] = to_commands(list);
    // deal the commands out to the three nodes, each submitting its share concurrently
    const acked = [0, 0, 0];
    await Promise.all(
      nodes.map(async (node, i) => {
        const mine = commands.filter((_, k) => k % 3 === i);
        for (let k = 0; k < mine.length; k += 50) {
          const chunk = mine.slice(k, k + 50);
          const applied = await Promise.all(chunk.map((c) => node.submit(c)));
          acked[i] += applied.length;
        }
      }),
    );
    const total = setup_commands().length + commands.length;
    assert.equal(acked[0] + acked[1] + acked[2], commands.length);
    await until("every node to apply every command", 20_000, () =>
      nodes.every((n) => n.last_applied_seq === total) ? true : null,
    );
    const hashes = nodes.map((n) => n.state_hash());
    assert.equal(new Set(hashes).size, 1, `state hashes ${hashes.map((h) => h.slice(0, 12)).join(" ")}`);
    const revisions = nodes.map((n) => n.last_applied_revision);
    assert.equal(new Set(revisions).size, 1);
    t.diagnostic(`${total} commands, revision ${revisions[0]}, state ${hashes[0].slice(0, 16)} on all three`);

    // a node that goes away and comes back replays the log to the same state
    await nodes[2].close();
    nodes[2] = await open(2);
    assert.equal(nodes[2].last_applied_seq, total);
    assert.equal(nodes[2].state_hash(), hashes[0]);

    // from a snapshot: it restores it and tails the log from the snapshot's revision on
    // written by the node's snapshot worker (a replica fed the same entries): the very state the node has
    const half = await nodes[1].snapshot();
    const stored = read_snapshot(join(root, "n1", "snapshots"), half);
    assert.ok(typeof stored !== "string", String(stored));
    assert.equal(stored.state_hash, hashes[0], "the worker's snapshot is the node's state");
    assert.ok(
      logs.some((l) => l.includes(`snapshot ${half}`) && l.includes("on the snapshot worker")),
      logs.join("\n"),
    );
    for (let k = 0; k < 30; k++) await nodes[k % 3].submit({ type: "create_account", ts_ms: 0 });
    await until("the accounts on every node", 10_000, () =>
      nodes.every((n) => n.last_applied_seq === total + 30) ? true : null,
    );
    await nodes[1].close();
    logs.length = 0;
    nodes[1] = await open(1);
    assert.ok(
      logs.some((l) => l.includes(`restored snapshot ${half}`)),
      logs.join("\n"),
    );
    assert.equal(nodes[1].last_applied_seq, total + 30);
    assert.equal(nodes[1].state_hash(), nodes[0].state_hash());
    assert.equal(nodes[1].last_snapshot?.seq, total);
  });

  it("past its queue bound a node refuses at once, as a busy node (429 -1003), not an unknown outcome", async () => {
    const node = await ClusterNode.open({
      data_dir: join(root, "n-busy"),
      etcd: etcd.urls,
      node_id: "n-busy",
      prefix: "/agree",
      queue_max: 10,
      log: () => {},
    });
    nodes.push(node);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, () => node.submit({ type: "create_account", ts_ms: 0 })),
    );
    const refused = outcomes
      .filter((o) => o.status === "rejected")
      .map((o) => (o as PromiseRejectedResult).reason);
    assert.equal(refused.length, 40, "10 queued (submitted in one run, before any batch leaves), 40 refused");
    for (const error of refused) {
      assert.ok(error instanceof WritesRefused && error.busy, String(error));
      assert.deepEqual(known_failure(error)?.error, { code: -1003, msg: "Too many requests queued." });
      assert.equal(known_failure(error)?.http_status, 429);
    }
    assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 50 - refused.length);
  });

  it("a command the log cannot encode is refused alone; the rest of its batch commits", async () => {
    const node = nodes[0];
    const outcomes = await Promise.allSettled([
      node.submit({ type: "create_account", ts_ms: 0 }),
      node.submit({
        type: "deposit",
        ts_ms: 0,
        account: 2 ** 40,
        asset: 0,
        amount_units: 1,
        request_id: null,
      }),
      node.submit({ type: "create_account", ts_ms: 0 }),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    const reason = (outcomes[1] as PromiseRejectedResult).reason;
    assert.ok(reason instanceof UnencodableCommand, String(reason));
    const [a, b] = [outcomes[0], outcomes[2]].map(
      (o) => (o as PromiseFulfilledResult<{ seq: number }>).value.seq,
    );
    assert.equal(b, a + 1);
    assert.equal(node.writes_refused, null);
    // the other nodes apply the same log
    await until("node 1 to catch up", 10_000, () => (nodes[1].last_applied_seq >= b ? true : null));
    assert.equal(nodes[1].state_hash(), node.state_hash());
  });
});
