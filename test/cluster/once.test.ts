/**
 * Once-only work in a cluster: of two nodes campaigning, one runs the work; when it goes away the
 * other takes over within the election lease; and a deposed holder's writes are refused by etcd (its
 * fence no longer holds), so nothing it tries reaches the log.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ClusterNode } from "../../src/cluster/cluster_node.js";
import { FencedError } from "../../src/cluster/etcd_log.js";
import { type FencedNode, OnceRunner } from "../../src/cluster/once.js";
import type { Command } from "../../src/engine/commands.js";
import { type EtcdCluster, start_etcd } from "../helpers/etcd.js";
import { until } from "../helpers/wait.js";

const SETUP: Command[] = [
  { type: "add_asset", ts_ms: 0, asset: "USDT", decimals: 8, supply_max_units: 9_000_000_000_000_000 },
  { type: "create_account", ts_ms: 0 },
];
const deposit = (): Command => ({ type: "deposit", ts_ms: 0, account: 0, asset: 0, amount_units: 1 });

describe("once-only work", () => {
  let etcd: EtcdCluster;
  const root = mkdtempSync(join(tmpdir(), "hf-once-"));
  const closers: (() => Promise<unknown>)[] = [];
  before(async () => {
    etcd = await start_etcd(3);
  });
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await etcd?.close();
    rmSync(root, { recursive: true, force: true });
  });
  const open = async (id: string, prefix: string) => {
    const node = await ClusterNode.open({
      data_dir: join(root, `${prefix}-${id}`),
      etcd: etcd.urls,
      node_id: id,
      prefix,
      log: () => {},
    });
    closers.push(() => node.close());
    return node;
  };

  it("one holder at a time; the other takes over when it goes", async (t) => {
    const a = await open("a", "/once1");
    const b = await open("b", "/once1");
    for (const c of SETUP) await a.submit(c);
    const ticks = { a: 0, b: 0 };
    const work = (who: "a" | "b") => (node: FencedNode) => {
      let stopped = false;
      const loop = (async () => {
        while (!stopped) {
          await node.submit(deposit()).then(
            () => void ticks[who]++,
            () => undefined,
          );
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      return {
        stop: async () => {
          stopped = true;
          await loop;
        },
      };
    };
    const ra = new OnceRunner(a.etcd, a, "work", work("a"), () => {});
    const rb = new OnceRunner(b.etcd, b, "work", work("b"), () => {});
    closers.push(
      () => ra.close(),
      () => rb.close(),
    );
    await until("someone elected", 10_000, () => (ra.running || rb.running ? true : null));
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(ra.running !== rb.running, "exactly one holder");
    const [holder, other] = ra.running ? [ra, rb] : [rb, ra];
    const started = Date.now();
    await holder.close();
    await until("the other to take over", 10_000, () => (other.running ? true : null));
    t.diagnostic(`takeover after ${Date.now() - started} ms; work done: a ${ticks.a}, b ${ticks.b}`);
    assert.ok(ticks.a + ticks.b > 0);
  });

  it("a deposed holder's writes are refused and reach no node", async () => {
    const a = await open("a", "/once2");
    const b = await open("b", "/once2");
    for (const c of SETUP) await a.submit(c);
    const campaign = a.etcd.namespace("/once2/").election("work", 2).campaign("a");
    await campaign.wait();
    const key = await campaign.getCampaignKey();
    const fence = { key, create_revision: Number((await a.etcd.get(key).exec()).kvs[0].create_revision) };
    await a.submit_fenced([deposit()], fence); // while it holds, its writes go through
    const seq = a.last_applied_seq;
    // the holder's lease runs out (it was paused, or cut off): its key is gone, someone else may win
    await a.etcd.delete().key(key).exec();
    await assert.rejects(a.submit_fenced([deposit()], fence), FencedError);
    await b.submit(deposit()); // the log goes on; the refused write is not in it
    await until("b's deposit on both nodes", 5000, () =>
      a.last_applied_seq === seq + 1 && b.last_applied_seq === seq + 1 ? true : null,
    );
    assert.equal(a.state_hash(), b.state_hash());
    assert.equal(a.engine.ledger.free(0, 0), 2, "two deposits: the fenced one before, b's after");
    await campaign.resign().catch(() => undefined);
  });
});
