/**
 * Failover under load: three etcd members and three `holdfast start --journal etcd` processes; clients
 * spread over the nodes place orders without pause, each with its own client order id, and record
 * every acknowledgement. Meanwhile nodes are killed with SIGKILL at random moments and restarted, and
 * then the etcd leader is, repeatedly. A client whose node fails retries the same order on the next
 * node. At the end every node holds every acknowledged order exactly once, the nodes agree on the
 * state hash at the same sequence, and the clients kept going (their failover times are reported).
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { Prng } from "../../src/sim/prng.js";
import { start_status } from "../../src/status/service.js";
import { type ClusterProcess, client_order_ids, start_cluster_node } from "../helpers/cluster.js";
import { type EtcdCluster, leader_index, start_etcd } from "../helpers/etcd.js";
import { free_port } from "../helpers/nodes.js";
import { TEST_STATUS_DEFAULTS } from "../helpers/status.js";
import { until } from "../helpers/wait.js";

const NODE_KILLS = 4;
const LEADER_KILLS = 2;
const CLIENTS = 6;
const REQUEST_TIMEOUT_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("failover under load", () => {
  const root = mkdtempSync(join(tmpdir(), "hf-failover-"));
  let etcd: EtcdCluster | null = null;
  const nodes: (ClusterProcess | null)[] = [null, null, null];
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of closers) await c().catch(() => undefined);
    for (const n of nodes) n?.child.kill("SIGKILL");
    await etcd?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("kill -9 nodes and the etcd leader at random: every acknowledged order once on every node; nodes agree", async (t) => {
    const rng = new Prng(Number(process.env.HOLDFAST_SEED ?? 7));
    etcd = await start_etcd(3);
    const urls = etcd.urls;
    const node_etcd = (i: number) => [urls[i], ...urls.filter((_, j) => j !== i)];
    // fixed ports: a restarted node comes back at its address, where clients and the status service look
    const ports = [await free_port(), await free_port(), await free_port()];
    const start = async (i: number) => {
      nodes[i] = await start_cluster_node(
        join(root, `n${i}`),
        `n${i}`,
        node_etcd(i),
        ["--no-market-maker"],
        ports[i],
      );
    };
    for (let i = 0; i < 3; i++) await start(i);
    // the status service watches all three nodes from outside
    const status = await start_status({
      ...TEST_STATUS_DEFAULTS,
      data_dir: join(root, "status"),
      watch: ports.map((p) => `http://127.0.0.1:${p}`),
      quiet_ms: 2000,
    });
    closers.push(() => status.close());
    const summary = async () =>
      (await (await fetch(`http://127.0.0.1:${status.port}/api/v2/summary.json`)).json()) as {
        status: { indicator: string };
        incidents: { name: string; status: string }[];
        components: { name: string; status: string }[];
      };
    await until("the status page to see three healthy nodes", 15_000, async () =>
      (await summary()).status.indicator === "none" ? true : null,
    );
    const creds = JSON.parse(
      readFileSync(join(root, "n0", "demo-credentials.json"), "utf8"),
    ) as DemoCredentials;

    /** One order attempt on node i: "ok", "duplicate" (an earlier try got in), or a failure. */
    const place = async (i: number, user: DemoCredentials["users"][number], cid: string, price: string) => {
      const n = nodes[i];
      if (n === null) return "down";
      const q = new URLSearchParams({
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "IOC",
        price,
        quantity: "0.01",
        newClientOrderId: cid,
        newOrderRespType: "ACK",
        timestamp: String(Date.now()),
      }).toString();
      const sig = createHmac("sha256", user.secretKey).update(q).digest("hex");
      try {
        const r = await fetch(`http://127.0.0.1:${n.port}/api/v3/order?${q}&signature=${sig}`, {
          method: "POST",
          headers: { "X-MBX-APIKEY": user.apiKey },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const body = (await r.json()) as { msg?: string };
        if (r.status === 200) return "ok";
        if (body.msg === "Duplicate order sent.") return "duplicate";
        return `refused ${r.status} ${body.msg}`;
      } catch (error) {
        return `error ${String(error).slice(0, 60)}`;
      }
    };

    const acked = new Map<string, string>(); // client order id → user
    const failovers_ms: number[] = [];
    const refusals: string[] = [];
    let running = true;
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      const user = creds.users[c % creds.users.length];
      let home = c % 3;
      for (let k = 0; running; k++) {
        const cid = `c${c}-${k}`;
        const price = String(1000 + (k % 500));
        let tries = 0;
        let failed_at = 0;
        for (;;) {
          const r = await place(home, user, cid, price);
          if (r === "ok" || (r === "duplicate" && tries > 0)) {
            acked.set(cid, user.name);
            if (failed_at > 0) failovers_ms.push(Date.now() - failed_at);
            break;
          }
          if (r.startsWith("refused") && !r.includes(" 5") && !r.includes("429")) {
            refusals.push(`${cid}: ${r}`);
            break;
          }
          // no answer, or the node is busy or down: the same order, on the next node
          tries++;
          if (failed_at === 0) failed_at = Date.now();
          home = (home + 1) % 3;
          await sleep(50);
          if (!running && tries > 40) break;
        }
      }
    });

    // chaos: node kills at random moments, then etcd leader kills
    const kill_log: string[] = [];
    const first = rng.below(3);
    let incident_seen = "";
    for (let k = 0; k < NODE_KILLS; k++) {
      await sleep(800 + rng.below(1500));
      const i = (first + k) % 3; // every node dies at least once
      nodes[i]?.child.kill("SIGKILL");
      nodes[i] = null;
      kill_log.push(`node n${i}`);
      if (k === 0) {
        // the first time, the node stays down until the status service has opened an incident for it
        const s = await until("an incident for the dead node", 10_000, async () => {
          const x = await summary();
          return x.incidents.length > 0 ? x : null;
        });
        incident_seen = `${s.incidents[0].name} (${s.status.indicator}; ${s.components
          .filter((c) => c.status !== "operational")
          .map((c) => `${c.name}: ${c.status}`)
          .join(", ")})`;
      } else await sleep(500 + rng.below(1000));
      await start(i);
    }
    for (let k = 0; k < LEADER_KILLS; k++) {
      await sleep(800 + rng.below(1500));
      const leader = await leader_index(etcd);
      await etcd.kill(leader);
      kill_log.push(`etcd leader m${leader}`);
      await sleep(1000 + rng.below(1000));
      await etcd.restart(leader);
    }
    await sleep(1000);
    running = false;
    await Promise.all(clients);

    assert.deepEqual(refusals, [], "no order refused for a reason other than the outage");
    assert.ok(acked.size > 100, `${acked.size} orders acknowledged`);
    // every node catches up to the same sequence and state
    const statuses = await until("the nodes to agree", 30_000, async () => {
      const s = await Promise.all(
        nodes.map(async (n) => {
          const r = await admin_request((n as ClusterProcess).admin_socket, "GET", "/v1/status?hash=1");
          return r.body as { applied_seq: number; state_hash: string };
        }),
      );
      return s.every((x) => x.applied_seq === s[0].applied_seq && x.state_hash === s[0].state_hash)
        ? s
        : null;
    });
    // every acknowledged order is on every node, once
    for (let i = 0; i < 3; i++) {
      const seen = await client_order_ids((nodes[i] as ClusterProcess).port, creds.users);
      for (const cid of acked.keys()) assert.equal(seen.get(cid), 1, `node ${i}: order ${cid}`);
    }
    // and the status service saw it all end: every component operational, the incident resolved
    const settled = await until("the incident to resolve", 20_000, async () => {
      const x = await summary();
      return x.status.indicator === "none" && x.incidents.length === 0 ? x : null;
    });
    assert.ok(incident_seen !== "" && settled.components.every((c) => c.status === "operational"));
    failovers_ms.sort((a, b) => a - b);
    t.diagnostic(
      `status: ${incident_seen}, then resolved; kills: ${kill_log.join(", ")}; ${acked.size} orders acknowledged, all on all 3 nodes once; sequence ${statuses[0].applied_seq}, state ${statuses[0].state_hash.slice(0, 16)}; client failovers: ${failovers_ms.length}, p50 ${failovers_ms[Math.floor(failovers_ms.length / 2)] ?? 0} ms, max ${failovers_ms.at(-1) ?? 0} ms`,
    );
  });
});
