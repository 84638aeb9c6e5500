/**
 * The etcd log against real etcd 3.4 members: batches appended by several clients at once reach
 * every tail in one revision order, each exactly once; an append retried after a lost answer is not
 * written twice; tails keep going, without gaps or repeats, through the kill of a member and of the
 * leader.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Etcd3 } from "etcd3";
import { etcd_client } from "../../src/cluster/etcd_client.js";
import { EtcdLog, type LogEntry, type Tail } from "../../src/cluster/etcd_log.js";
import { type EtcdCluster, leader_index, start_etcd } from "../helpers/etcd.js";
import { until } from "../helpers/wait.js";

describe("etcd log", () => {
  let etcd: EtcdCluster;
  const clients: Etcd3[] = [];
  before(async () => {
    etcd = await start_etcd(3);
  });
  after(async () => {
    for (const c of clients) c.close();
    await etcd?.close();
  });
  const client = (hosts: string[]) => {
    const c = etcd_client(hosts);
    clients.push(c);
    return c;
  };

  /** A tail that records what it gets and checks order as it goes. */
  async function recorder(log: EtcdLog): Promise<{ got: LogEntry[]; tail: Tail; errors: Error[] }> {
    const got: LogEntry[] = [];
    const errors: Error[] = [];
    const tail = await log.tail(
      0,
      (e) => {
        const prev = got.at(-1);
        if (prev !== undefined && e.revision <= prev.revision)
          errors.push(new Error(`revision ${e.revision} after ${prev.revision}`));
        got.push(e);
      },
      (e) => errors.push(e),
    );
    return { got, tail, errors };
  }

  it("several writers, one order: every tail sees every batch once, in revision order", async () => {
    const prefix = "/t1";
    const logs = etcd.urls.map(
      (url, i) => new EtcdLog(client([url, ...etcd.urls.filter((_, j) => j !== i)]), prefix),
    );
    const tails = await Promise.all(logs.map((l) => recorder(l)));
    const appended = new Map<string, number>();
    await Promise.all(
      logs.map(async (log, w) => {
        for (let i = 0; i < 40; i++) {
          const id = `w${w}.${i}`;
          appended.set(id, await log.append(id, Buffer.from(`batch ${id}`)));
        }
      }),
    );
    for (const t of tails)
      await until("every batch on every tail", 10_000, () => (t.got.length >= 120 ? true : null));
    const order = tails[0].got.map((e) => e.id);
    for (const t of tails) {
      assert.deepEqual(t.errors, []);
      assert.deepEqual(
        t.got.map((e) => e.id),
        order,
        "one order on every tail",
      );
      for (const e of t.got) {
        assert.equal(e.revision, appended.get(e.id), "delivered at the revision the append reported");
        assert.equal(e.value.toString(), `batch ${e.id}`);
      }
    }
    assert.equal(new Set(order).size, 120);
    for (const t of tails) await t.tail.stop();
  });

  it("an append retried after a lost answer is written once", async () => {
    const log = new EtcdLog(client(etcd.urls), "/t2");
    const t = await recorder(log);
    const first = await log.append("same", Buffer.from("one"));
    const again = await log.append("same", Buffer.from("two"));
    assert.equal(again, first);
    await log.append("next", Buffer.from("three"));
    await until("two entries", 5000, () => (t.got.length >= 2 ? true : null));
    assert.deepEqual(
      t.got.map((e) => [e.id, e.value.toString()]),
      [
        ["same", "one"],
        ["next", "three"],
      ],
    );
    await t.tail.stop();
  });

  it("tails go on through a member kill and a leader kill, with no gap and no repeat", async (t) => {
    const prefix = "/t3";
    const tails = await Promise.all(etcd.urls.map(() => recorder(new EtcdLog(client(etcd.urls), prefix))));
    const writer = new EtcdLog(client(etcd.urls), prefix);
    const acked: string[] = [];
    let stop = false;
    const writing = (async () => {
      for (let i = 0; !stop; i++) {
        const id = `b${i}`;
        try {
          await writer.append(id, Buffer.from(id));
          acked.push(id);
        } catch {
          // no quorum for a moment: the next id goes on (this one may or may not have committed)
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    // a follower or the leader, then whoever leads now
    await etcd.kill(0);
    await new Promise((r) => setTimeout(r, 1500));
    await etcd.restart(0);
    const li = await leader_index(etcd);
    await etcd.kill(li);
    await new Promise((r) => setTimeout(r, 2000));
    await etcd.restart(li);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await writing;
    assert.ok(acked.length > 50, `${acked.length} batches acknowledged`);
    t.diagnostic(`${acked.length} batches acknowledged across a member kill and a leader kill`);
    for (const r of tails) {
      await until("the tail to hold every acknowledged batch", 15_000, () => {
        const ids = new Set(r.got.map((e) => e.id));
        return acked.every((id) => ids.has(id)) ? true : null;
      });
      assert.deepEqual(r.errors, []);
      const ids = r.got.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, "no batch delivered twice");
    }
    const order = tails[0].got.map((e) => e.id);
    for (const r of tails)
      assert.deepEqual(r.got.map((e) => e.id).slice(0, order.length), order.slice(0, r.got.length));
    for (const r of tails) await r.tail.stop();
  });

  it("a tail catching up on a long history loses nothing when its member dies mid-way", async () => {
    // etcd sends a catching-up watch its history in pieces, each stamped with the store's current
    // revision; a client that resumed from that stamp after a reconnect would skip the rest
    const prefix = "/t4";
    const writer = new EtcdLog(client(etcd.urls), prefix);
    const payload = Buffer.alloc(20_000, 7);
    const ids: string[] = [];
    for (let i = 0; i < 2000; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const id = `h${String(i + j).padStart(5, "0")}`;
          await writer.append(id, payload);
          ids.push(id);
        }),
      );
    const target = 1; // the tail's client talks to member 1 first
    const reader = new EtcdLog(
      client([etcd.urls[target], ...etcd.urls.filter((_, j) => j !== target)]),
      prefix,
    );
    const got: LogEntry[] = [];
    const errors: Error[] = [];
    let killed = false;
    const tail = await reader.tail(
      0,
      (e) => {
        got.push(e);
        if (!killed && got.length === 100) {
          killed = true;
          void etcd.kill(target);
        }
      },
      (e) => errors.push(e),
    );
    await until("the whole history on the tail", 20_000, () =>
      got.length >= ids.length ? true : null,
    ).catch(() => null);
    await etcd.restart(target);
    const seen = new Set(got.map((e) => e.id));
    const missing = ids.filter((id) => !seen.has(id));
    assert.deepEqual(errors, []);
    assert.equal(missing.length, 0, `${missing.length} batches never delivered (first ${missing[0]})`);
    assert.equal(seen.size, got.length, "none twice");
    await tail.stop();
  });
});
