/**
 * `holdfast start --journal etcd` as real processes: three nodes on a three-member etcd, each with the
 * demo's markets and users. An order placed on one node is visible on the others (book and order
 * lookup by client order id); kill -9 that node and its client carries on against another node, where
 * the order is found by its client order id and new orders are acknowledged.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import WebSocket from "ws";
import { admin_request } from "../../src/admin/client.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { histogram_of, type MetricJson, sum_of, value_of } from "../../src/metrics/summary.js";
import { start_cluster_node } from "../helpers/cluster.js";
import { Custody, payout_args } from "../helpers/custody.js";
import { type EtcdCluster, start_etcd } from "../helpers/etcd.js";
import { until } from "../helpers/wait.js";

describe("cluster nodes as processes", () => {
  const root = mkdtempSync(join(tmpdir(), "hf-cluster-"));
  let etcd: EtcdCluster | null = null;
  const children: ChildProcess[] = [];
  const custody = new Custody();
  after(async () => {
    custody.server.close();
    for (const c of children) c.kill("SIGKILL");
    await etcd?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("an order on one node is seen on all; after kill -9 of that node the client goes on elsewhere", async () => {
    etcd = await start_etcd(3);
    const urls = etcd.urls;
    // every node may pay withdrawals; only the holder of the `payouts` election does
    const payout = payout_args(await custody.listen(), join(root, "payout-secret"));
    const nodes: Awaited<ReturnType<typeof start_cluster_node>>[] = [];
    for (let i = 0; i < 3; i++) {
      const n = await start_cluster_node(
        join(root, `n${i}`),
        `n${i}`,
        [urls[i], ...urls.filter((_, j) => j !== i)],
        payout,
      );
      children.push(n.child);
      nodes.push(n);
    }
    const base = (i: number) => `http://127.0.0.1:${nodes[i].port}`;
    const creds = JSON.parse(
      readFileSync(join(root, "n0", "demo-credentials.json"), "utf8"),
    ) as DemoCredentials;
    const alice = creds.users[0];
    const signed = (i: number, method: string, path: string, params: Record<string, string>) => {
      const q = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
      const sig = createHmac("sha256", alice.secretKey).update(q).digest("hex");
      return fetch(`${base(i)}${path}?${q}&signature=${sig}`, {
        method,
        headers: { "X-MBX-APIKEY": alice.apiKey },
      });
    };
    const placed = await signed(0, "POST", "/api/v3/order", {
      symbol: "BTCUSDT",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      price: "41000",
      quantity: "0.01",
      newClientOrderId: "across-the-cluster",
    });
    assert.equal(placed.status, 200, await placed.clone().text());
    // every node's book has it (each node applies the log itself)
    for (let i = 0; i < 3; i++)
      await until(`node ${i}'s book`, 5000, async () => {
        const d = (await (await fetch(`${base(i)}/api/v3/depth?symbol=BTCUSDT`)).json()) as {
          bids: [string, string][];
        };
        return d.bids.some(([p]) => p === "41000.00000000") ? true : null;
      });

    // alice's user data stream key, made on node 0: its life is in the log, so every node knows it
    const made = await fetch(`${base(0)}/api/v3/userDataStream`, {
      method: "POST",
      headers: { "X-MBX-APIKEY": alice.apiKey },
    });
    const { listenKey } = (await made.json()) as { listenKey: string };

    nodes[0].child.kill("SIGKILL");
    // the client of node 0 reconnects its user data stream to node 1, with the key it has
    const reports: { e: string; c?: string; X?: string }[] = [];
    const stream = new WebSocket(`ws://127.0.0.1:${nodes[1].port}/ws/${listenKey}`);
    stream.on("message", (d) => reports.push(JSON.parse(d.toString()) as { e: string }));
    await once(stream, "open");
    // the client of node 0 moves to node 1: its order is there, found by client order id; trading goes on
    const lookup = await signed(1, "GET", "/api/v3/order", {
      symbol: "BTCUSDT",
      origClientOrderId: "across-the-cluster",
    });
    assert.equal(lookup.status, 200, await lookup.clone().text());
    assert.equal(((await lookup.json()) as { status: string }).status, "NEW");
    const started = Date.now();
    const next = await signed(1, "POST", "/api/v3/order", {
      symbol: "BTCUSDT",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      price: "41001",
      quantity: "0.01",
      newClientOrderId: "after-the-kill",
    });
    assert.equal(next.status, 200, await next.clone().text());
    const failover_ms = Date.now() - started;
    await until("the order's report on the stream node 1 serves", 5000, () =>
      reports.some((r) => r.e === "executionReport" && r.c === "after-the-kill" && r.X === "NEW")
        ? true
        : null,
    );
    stream.close();
    // node 2 keeps the same key alive; a key none made is refused
    const keepalive = (key: string) =>
      fetch(`${base(2)}/api/v3/userDataStream?listenKey=${key}`, {
        method: "PUT",
        headers: { "X-MBX-APIKEY": alice.apiKey },
      });
    const kept = await keepalive(listenKey);
    assert.deepEqual([kept.status, await kept.json()], [200, {}]);
    const forged = await keepalive(`${listenKey.slice(0, 59)}${listenKey.endsWith("0") ? "1" : "0"}`);
    assert.deepEqual(await forged.json(), { code: -1125, msg: "This listenKey does not exist." });
    // the same retry on the third node is refused as a duplicate: placed once, across nodes
    const retry = await signed(2, "POST", "/api/v3/order", {
      symbol: "BTCUSDT",
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      price: "41001",
      quantity: "0.01",
      newClientOrderId: "after-the-kill",
    });
    assert.equal(retry.status, 400);
    assert.equal(((await retry.json()) as { msg: string }).msg, "Duplicate order sent.");
    assert.ok(
      failover_ms < 2000,
      `first order on a surviving node acknowledged ${failover_ms} ms after the kill`,
    );
    // each node's metrics count the commands it submitted itself (the others reach it through the
    // log) with their wait from submission to applied
    for (const i of [1, 2]) {
      const metrics = (await admin_request(nodes[i].admin_socket, "GET", "/v1/metrics?format=json"))
        .body as MetricJson[];
      const own = sum_of(metrics, "holdfast_commands_applied_total");
      assert.ok((value_of(metrics, "holdfast_commands_applied_total", { type: "place_order" }) ?? 0) >= 1);
      assert.equal(histogram_of(metrics, "holdfast_command_ack_seconds").count, own);
      assert.ok(
        (value_of(metrics, "holdfast_applied_sequence") ?? 0) > own,
        "the log brings the others' too",
      );
      assert.ok((value_of(metrics, "holdfast_cluster_applied_revision") ?? 0) > 0);
    }
    // a listing made through one node's admin socket goes through the log: the other node has it
    const listing = [
      ["/v1/assets", { asset: "SOL", decimals: 8 }],
      [
        "/v1/markets",
        { symbol: "SOLBTC", base: "SOL", quote: "BTC", tick_size: "0.000001", step_size: "0.01" },
      ],
    ] as const;
    for (const [path, body] of listing) {
      const r = await admin_request(nodes[1].admin_socket, "POST", path, {
        ...body,
        ...(path === "/v1/markets" ? { max_price: "10", max_qty: "100000", status: "TRADING" } : {}),
      });
      assert.deepEqual(r.body, { seq: (r.body as { seq: number }).seq, applied: true });
    }
    await until("node 2 to list SOLBTC", 5000, async () => {
      const info = (await (await fetch(`${base(2)}/api/v3/exchangeInfo?symbol=SOLBTC`)).json()) as {
        symbols?: { status: string }[];
      };
      return info.symbols?.[0]?.status === "TRADING" ? true : null;
    });

    // a proof-of-reserves audit taken through one node is built by every node's history from the log:
    // the same accounts, the same balances, the same nonces (one master key), so the same root
    const audit = await admin_request(nodes[1].admin_socket, "POST", "/v1/reserves", {
      reserves: { BTC: "100000", SOL: "0" },
    });
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    const taken = audit.body as { audit: number; root: string; accounts: number };
    assert.match(taken.root, /^[0-9a-f]{64}$/);
    const elsewhere = await until("node 2 to hold the audit", 5000, async () => {
      const r = await fetch(`${base(2)}/holdfast/v1/reserves?audit=${taken.audit}`);
      return r.status === 200 ? ((await r.json()) as typeof taken) : null;
    });
    assert.deepEqual(
      elsewhere,
      (await (await fetch(`${base(1)}/holdfast/v1/reserves`)).json()) as typeof taken,
    );
    assert.equal(elsewhere.root, taken.root);

    // a user's withdrawal asked on node 2, approved through node 1: paid once, by the one node
    // elected for payouts (node 0, killed above, may have held it: its lease lapses, another takes
    // over), and completed on every node
    const uid = ((await (await signed(1, "GET", "/api/v3/account", {})).json()) as { uid: number }).uid;
    const key = (
      await admin_request(nodes[1].admin_socket, "POST", "/v1/api-keys", {
        account: uid,
        kind: "HMAC",
        withdraw: true,
        ip_allow: ["127.0.0.1"],
      })
    ).body as { apiKey: string; secretKey: string };
    const q = new URLSearchParams({
      coin: "BTC",
      address: "bc1qcluster",
      amount: "0.25",
      timestamp: String(Date.now()),
    });
    const sig = createHmac("sha256", key.secretKey).update(q.toString()).digest("hex");
    const applied = await fetch(`${base(2)}/sapi/v1/capital/withdraw/apply?${q}&signature=${sig}`, {
      method: "POST",
      headers: { "X-MBX-APIKEY": key.apiKey },
    });
    const { id } = (await applied.json()) as { id: string };
    assert.match(id, /^w\d+$/);
    const approved = await admin_request(nodes[1].admin_socket, "POST", "/v1/withdrawals/review", {
      id,
      approve: true,
    });
    assert.equal((approved.body as { applied: boolean }).applied, true);
    await until("the payout", 15_000, () => (custody.paid.has(`withdrawal-${id}`) ? true : null));
    for (const i of [1, 2])
      await until(`node ${i} to complete ${id}`, 5000, async () => {
        const listed = (await admin_request(nodes[i].admin_socket, "GET", "/v1/withdrawals")).body as {
          pending: { id: string }[];
        };
        return listed.pending.some((w) => w.id === id) ? null : true;
      });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(custody.asked.get(`withdrawal-${id}`), 1, "one node asked, once");
  });
});
