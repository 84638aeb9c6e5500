/**
 * Pauses (SIGSTOP) instead of deaths: a frozen process keeps its connections open and simply stops
 * answering, the hardest failure to notice. Three etcd members and three nodes (demo mode, so the
 * market maker runs on one elected node):
 *  - freeze the market maker's node longer than its election lease: another node is elected while
 *    the others keep acknowledging orders; the frozen node answers nobody; when it wakes, its old
 *    lease is gone, whatever it still tries to write under it is refused, and it catches up;
 *  - freeze the etcd leader: a new leader is elected and orders keep being acknowledged;
 *  - freeze two of three etcd members: the remaining one is a minority and nothing is acknowledged;
 *    wake them and the order that waited is placed exactly once.
 * Every acknowledged order is then on every node once, and the nodes agree.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import { etcd_client } from "../../src/cluster/etcd_client.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { type ClusterProcess, start_cluster_node } from "../helpers/cluster.js";
import { type EtcdCluster, leader_index, start_etcd } from "../helpers/etcd.js";
import { until } from "../helpers/wait.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("pauses and a lost quorum", () => {
  const root = mkdtempSync(join(tmpdir(), "hf-pause-"));
  let etcd: EtcdCluster | null = null;
  const nodes: ClusterProcess[] = [];
  after(async () => {
    for (const n of nodes) {
      n.child.kill("SIGCONT");
      n.child.kill("SIGKILL");
    }
    await etcd?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a frozen lease holder is replaced and fenced; a frozen etcd leader is replaced; a minority acknowledges nothing", async (t) => {
    etcd = await start_etcd(3);
    const cluster = etcd;
    const urls = cluster.urls;
    for (let i = 0; i < 3; i++)
      nodes.push(
        await start_cluster_node(join(root, `n${i}`), `n${i}`, [urls[i], ...urls.filter((_, j) => j !== i)]),
      );
    const creds = JSON.parse(
      readFileSync(join(root, "n0", "demo-credentials.json"), "utf8"),
    ) as DemoCredentials;
    const user = creds.users[0];
    const acked: string[] = [];
    const order = async (i: number, cid: string, timeout_ms = 4000): Promise<string> => {
      const q = new URLSearchParams({
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        // below the market maker's asks (its mid starts at 65,000) but within PERCENT_PRICE_BY_SIDE
        price: "30000",
        quantity: "0.01",
        newClientOrderId: cid,
        timestamp: String(Date.now()),
        recvWindow: "60000",
      }).toString();
      const sig = createHmac("sha256", user.secretKey).update(q).digest("hex");
      try {
        const r = await fetch(`http://127.0.0.1:${nodes[i].port}/api/v3/order?${q}&signature=${sig}`, {
          method: "POST",
          headers: { "X-MBX-APIKEY": user.apiKey },
          signal: AbortSignal.timeout(timeout_ms),
        });
        const body = (await r.json()) as { msg?: string };
        if (r.status === 200) acked.push(cid);
        return r.status === 200 ? "ok" : (body.msg ?? String(r.status));
      } catch {
        return "no answer";
      }
    };
    const client = etcd_client(urls);
    const holder = async () => client.namespace("/proc/").election("market-maker").leader();
    const first = await until("a market maker elected", 15_000, async () => (await holder()) ?? null);
    const h = Number(first.slice(1));
    const others = [0, 1, 2].filter((i) => i !== h);

    // 1. freeze the market maker's node past its lease
    nodes[h].child.kill("SIGSTOP");
    const frozen_at = Date.now();
    const next = await until("another node elected", 10_000, async () => {
      const now = await holder();
      return now !== undefined && now !== first ? now : null;
    });
    const takeover_ms = Date.now() - frozen_at;
    assert.equal(await order(others[0], "while-frozen-1"), "ok");
    assert.equal(await order(others[1], "while-frozen-2"), "ok");
    assert.equal(await order(h, "to-the-frozen-node", 1500), "no answer", "a frozen node answers nobody");
    nodes[h].child.kill("SIGCONT");
    // it wakes with its old lease gone: it must not act as the holder, and it catches up
    await sleep(3000);
    assert.notEqual(await holder(), first, "the woken node did not take the election back by itself");
    await until("the woken node to learn it lost the election", 10_000, () =>
      nodes[h].logs().includes("lost the election for market-maker") ? true : null,
    );
    // anything its market maker tried under the old lease was refused by etcd, never applied
    const refused = nodes[h].logs().match(/no longer the holder of/g)?.length ?? 0;
    assert.equal(await order(h, "after-waking"), "ok");

    // 2. freeze the etcd leader: a new leader, and orders keep being acknowledged
    const leader = await leader_index(cluster);
    cluster.pause(leader);
    const paused_at = Date.now();
    const during = await order(others[0], "etcd-leader-frozen", 8000);
    const etcd_failover_ms = Date.now() - paused_at;
    assert.equal(during, "ok");
    cluster.resume(leader);

    // 3. freeze two of three members: no quorum, nothing acknowledged; wake them: placed once
    await sleep(1000);
    cluster.pause(0);
    cluster.pause(1);
    assert.notEqual(await order(2, "no-quorum", 2500), "ok", "a minority does not acknowledge");
    cluster.resume(0);
    cluster.resume(1);
    // the client retries the same order: either the waiting batch committed (duplicate) or it goes in now
    const retried = await until("the retry to get an answer", 20_000, async () => {
      const r = await order(2, "no-quorum");
      return r === "no answer" ? null : r;
    });
    assert.ok(retried === "ok" || retried === "Duplicate order sent.", retried);
    if (retried !== "ok") acked.push("no-quorum");

    // every acknowledged order on every node, once; the nodes agree
    const agreed = await until("the nodes to agree", 30_000, async () => {
      const s = await Promise.all(
        nodes.map(
          async (n) =>
            (await admin_request(n.admin_socket, "GET", "/v1/status?hash=1")).body as {
              applied_seq: number;
              state_hash: string;
            },
        ),
      );
      return s.every((x) => x.applied_seq === s[0].applied_seq && x.state_hash === s[0].state_hash)
        ? s[0]
        : null;
    });
    for (const n of nodes)
      for (const cid of acked) {
        const q = new URLSearchParams({
          symbol: "BTCUSDT",
          origClientOrderId: cid,
          timestamp: String(Date.now()),
        }).toString();
        const sig = createHmac("sha256", user.secretKey).update(q).digest("hex");
        const r = await fetch(`http://127.0.0.1:${n.port}/api/v3/order?${q}&signature=${sig}`, {
          headers: { "X-MBX-APIKEY": user.apiKey },
        });
        assert.equal(r.status, 200, `${cid} on port ${n.port}`);
      }
    client.close();
    t.diagnostic(
      `market maker n${h} frozen: n${Number(next.slice(1))} elected after ${takeover_ms} ms; on waking it learnt it lost, ${refused} write(s) under the old lease refused; etcd leader frozen: an order acknowledged ${etcd_failover_ms} ms later; ${acked.length} orders, all on every node; sequence ${agreed.applied_seq}`,
    );
  });
});
