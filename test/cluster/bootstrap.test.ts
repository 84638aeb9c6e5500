/**
 * A new or wiped node bootstraps from a peer over the network (src/cluster/peer.ts): the start of the
 * log is compacted away, so it fetches a peer's snapshot and history copy, then tails the log. It ends
 * at the same state hash as its peers, answers order and trade history from before it existed, and
 * trades. The peer routes refuse anyone without the cluster's key.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import { compact_log } from "../../src/cluster/compactor.js";
import { etcd_client } from "../../src/cluster/etcd_client.js";
import { PEER_AUTH_HEADER, peer_auth_header } from "../../src/cluster/peer.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { MasterKey } from "../../src/gateway/master_key.js";
import {
  CLUSTER_MASTER_KEY,
  type ClusterProcess,
  signed_query,
  start_cluster_node,
} from "../helpers/cluster.js";
import { type EtcdCluster, start_etcd } from "../helpers/etcd.js";
import { until } from "../helpers/wait.js";

interface Status {
  applied_seq: number;
  state_hash: string;
}

describe("bootstrap from a peer", () => {
  const root = mkdtempSync(join(tmpdir(), "hf-bootstrap-"));
  let etcd: EtcdCluster | null = null;
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) c.kill("SIGKILL");
    await etcd?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a new node, a wiped node and a node the log was compacted past start from a peer's snapshot and history", async (t) => {
    etcd = await start_etcd(3);
    const urls = etcd.urls;
    const start = async (id: string) => {
      const n = await start_cluster_node(join(root, id), id, urls, ["--no-market-maker"]);
      children.push(n.child);
      return n;
    };
    const nodes: Record<string, ClusterProcess> = {};
    nodes.n0 = await start("n0");
    nodes.n1 = await start("n1");
    const creds = JSON.parse(
      readFileSync(join(root, "n0", "demo-credentials.json"), "utf8"),
    ) as DemoCredentials;
    const [alice, bob] = creds.users;
    const call = async (
      id: string,
      method: string,
      path: string,
      user: typeof alice,
      p: Record<string, string>,
    ) => {
      const r = await fetch(`http://127.0.0.1:${nodes[id].port}${path}?${signed_query(p, user.secretKey)}`, {
        method,
        headers: { "X-MBX-APIKEY": user.apiKey },
      });
      return {
        status: r.status,
        body: (await r.json()) as Record<string, unknown> & Record<string, unknown>[],
      };
    };
    const order = (id: string, user: typeof alice, side: string, price: string, cid: string) =>
      call(id, "POST", "/api/v3/order", user, {
        symbol: "BTCUSDT",
        side,
        type: "LIMIT",
        timeInForce: "GTC",
        price,
        quantity: "0.01",
        newClientOrderId: cid,
      });
    // history before the bootstrap: resting orders, and one that trades
    for (let i = 0; i < 5; i++) {
      const r = await order("n0", alice, "BUY", String(40_000 + i), `early-${i}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const crossed = await order("n1", bob, "SELL", "40004", "early-sell");
    assert.equal(crossed.status, 200, JSON.stringify(crossed.body));
    assert.equal(crossed.body.status, "FILLED");

    const status = async (id: string): Promise<Status> =>
      (await admin_request(nodes[id].admin_socket, "GET", "/v1/status?hash=1")).body as Status;
    const level = async (ids: string[]) =>
      until(`${ids.join(", ")} at one position`, 20_000, async () => {
        const all = await Promise.all(ids.map(status));
        return all.every((s) => s.applied_seq === all[0].applied_seq) ? all : null;
      });
    await level(["n0", "n1"]);
    for (const id of ["n0", "n1"]) {
      const r = await admin_request(nodes[id].admin_socket, "POST", "/v1/snapshot");
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    // the start of the log goes: a node with nothing of its own can no longer replay it
    const client = etcd_client(urls);
    try {
      const compacted = await compact_log(client, "/proc", 0);
      assert.ok(compacted !== null && compacted.deleted > 0, "the log was compacted");
      t.diagnostic(`compacted at revision ${compacted.revision}: ${compacted.deleted} log entries deleted`);
    } finally {
      client.close();
    }

    // the peer routes: only a holder of the cluster's key gets a snapshot
    const key = MasterKey.parse(CLUSTER_MASTER_KEY).derive("cluster peer");
    const peer_get = (path: string, header?: string) =>
      fetch(`http://127.0.0.1:${nodes.n0.port}${path}`, {
        headers: header === undefined ? {} : { [PEER_AUTH_HEADER]: header },
      });
    const other_key = MasterKey.parse(Buffer.alloc(32, 7).toString("base64")).derive("cluster peer");
    for (const [what, header] of [
      ["no header", undefined],
      ["malformed", "n9.x.y"],
      ["another cluster's key", peer_auth_header(other_key, "n9", "GET", "/cluster/v1/snapshot", Date.now())],
      ["a minute old", peer_auth_header(key, "n9", "GET", "/cluster/v1/snapshot", Date.now() - 60_000)],
      ["signed for another path", peer_auth_header(key, "n9", "GET", "/cluster/v1/history", Date.now())],
    ] as const) {
      const r = await peer_get("/cluster/v1/snapshot", header);
      assert.equal(r.status, 401, `${what}: ${r.status}`);
      assert.match(((await r.json()) as { error: string }).error, /peer authentication failed/);
    }
    const good = await peer_get(
      "/cluster/v1/snapshot",
      peer_auth_header(key, "n9", "GET", "/cluster/v1/snapshot", Date.now()),
    );
    assert.equal(good.status, 200);
    assert.ok((await good.arrayBuffer()).byteLength > 56);

    // a new node: bootstraps from a peer, catches up, agrees
    nodes.n2 = await start("n2");
    assert.match(
      nodes.n2.logs(),
      /bootstrapped from n[01] .*snapshot at sequence \d+.*history up to sequence/,
    );
    t.diagnostic(/bootstrapped from [^\n]*/.exec(nodes.n2.logs())?.[0] ?? "");
    const [s0, , s2] = await level(["n0", "n1", "n2"]);
    assert.equal(s2.state_hash, s0.state_hash, "n2 agrees with n0");
    // it answers history from before it existed: orders (by client id and in allOrders) and trades
    const early = await call("n2", "GET", "/api/v3/order", alice, {
      symbol: "BTCUSDT",
      origClientOrderId: "early-1",
    });
    assert.equal(early.status, 200, JSON.stringify(early.body));
    assert.equal(early.body.status, "NEW");
    const all = await call("n2", "GET", "/api/v3/allOrders", alice, { symbol: "BTCUSDT" });
    const by_cid = new Map(all.body.map((o) => [o.clientOrderId, o.status]));
    for (let i = 0; i < 5; i++) assert.ok(by_cid.has(`early-${i}`), `allOrders on n2 has early-${i}`);
    assert.equal(by_cid.get("early-4"), "FILLED");
    const trades = await call("n2", "GET", "/api/v3/myTrades", bob, { symbol: "BTCUSDT" });
    assert.equal(trades.status, 200);
    assert.ok(
      trades.body.some((x) => x.price === "40004.00000000" && x.isBuyer === false),
      `bob's trade is in n2's history: ${JSON.stringify(trades.body)}`,
    );
    // and it trades; the others see it
    const fresh = await order("n2", alice, "BUY", "39000", "after-bootstrap");
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    const seen = await call("n0", "GET", "/api/v3/order", alice, {
      symbol: "BTCUSDT",
      origClientOrderId: "after-bootstrap",
    });
    assert.equal(seen.status, 200);

    // a wiped node: its directory is gone; it comes back the same way
    nodes.n1.child.kill("SIGKILL");
    await new Promise((r) => nodes.n1.child.once("exit", r));
    rmSync(join(root, "n1"), { recursive: true, force: true });
    const during = await order("n0", bob, "SELL", "45000", "while-n1-is-away");
    assert.equal(during.status, 200, JSON.stringify(during.body));
    nodes.n1 = await start("n1");
    assert.match(nodes.n1.logs(), /bootstrapped from n[02] /);
    const [a, b, c] = await level(["n0", "n1", "n2"]);
    assert.equal(b.state_hash, a.state_hash, "the wiped node agrees");
    assert.equal(c.state_hash, a.state_hash);
    const away = await call("n1", "GET", "/api/v3/order", bob, {
      symbol: "BTCUSDT",
      origClientOrderId: "while-n1-is-away",
    });
    assert.equal(away.status, 200, JSON.stringify(away.body));
    assert.equal(away.body.status, "NEW");

    // a node removed while away (its position deleted, so compaction went on past its snapshot)
    // comes back with its old directory: it sets its snapshots aside and starts from a peer's
    assert.equal((await admin_request(nodes.n2.admin_socket, "POST", "/v1/snapshot")).status, 200);
    nodes.n2.child.kill("SIGKILL");
    await new Promise((r) => nodes.n2.child.once("exit", r));
    const removal = etcd_client(urls);
    try {
      await removal.delete().key("/proc/nodes/n2/snapshot").exec();
      const gone = await order("n0", alice, "BUY", "38000", "while-n2-was-removed");
      assert.equal(gone.status, 200, JSON.stringify(gone.body));
      await level(["n0", "n1"]);
      for (const id of ["n0", "n1"])
        assert.equal((await admin_request(nodes[id].admin_socket, "POST", "/v1/snapshot")).status, 200);
      const past = await compact_log(removal, "/proc", 0);
      assert.ok(past !== null, "compacted past n2's snapshot");
    } finally {
      removal.close();
    }
    nodes.n2 = await start("n2");
    assert.match(
      nodes.n2.logs(),
      /the log was compacted past this node's snapshot .*set aside as .*snapshots\.compacted-\d+/,
    );
    assert.match(nodes.n2.logs(), /bootstrapped from n[01] /);
    const [x, , z] = await level(["n0", "n1", "n2"]);
    assert.equal(z.state_hash, x.state_hash, "the returning node agrees");
    const missed = await call("n2", "GET", "/api/v3/order", alice, {
      symbol: "BTCUSDT",
      origClientOrderId: "while-n2-was-removed",
    });
    assert.equal(missed.status, 200, JSON.stringify(missed.body));
  });
});
