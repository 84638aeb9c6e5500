/**
 * `npm run bench:cluster [-- --quick]`: cluster mode's failover and throughput, on this machine's
 * loopback (three etcd members and three `holdfast start --journal etcd` processes sharing 2 cores and
 * one disk), against a single node (file journal) measured in the same run with the same load.
 *  1. throughput: W closed-loop clients placing signed IOC orders for T s, on one single node, then
 *     spread over the three cluster nodes: orders/s, ack p50/p99;
 *  2. node kills: clients keep placing orders; a node is killed with SIGKILL (each in turn) and
 *     restarted; failover = for each client connected to it, from the kill to its first acknowledged
 *     order on a surviving node (it retries the same order there);
 *  3. etcd leader kills: the same with the etcd leader; failover = from the kill to each client's first
 *     acknowledgement of an order sent after the kill;
 *  4. every acknowledged order is looked up on every node: lost (missing anywhere) and doubled.
 * Progress on stderr; the last stdout line is one JSON object.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hdr from "hdr-histogram-js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { type ClusterProcess, client_order_ids, start_cluster_node } from "../../test/helpers/cluster.js";
import { type EtcdCluster, leader_index, start_etcd } from "../../test/helpers/etcd.js";
import { BIN, free_port } from "../../test/helpers/nodes.js";
import { dispatcher, place, type User, wait_for_agreement } from "./orders.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const NODE_KILLS = quick ? 4 : 20;
const LEADER_KILLS = quick ? 3 : 20;
const THROUGHPUT_S = quick ? 4 : 10;
const WORKERS = Number(process.env.HOLDFAST_BENCH_WORKERS ?? 96);
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Worker {
  index: number;
  user: User;
  home: number;
  /** The node it uses now (moves on failure). */
  at: number;
}

/** Runs the workers until `stop()`; every acknowledged order id is recorded. */
function run_load(
  ports: () => (number | null)[],
  workers: Worker[],
  acked: Map<string, number>,
  on_ack: (w: Worker, sent_ms: number, done_ms: number) => void,
  tag: string,
) {
  let running = true;
  const loops = workers.map(async (w) => {
    for (let k = 0; running; k++) {
      const cid = `${tag}${w.index}-${k}`;
      let tries = 0;
      for (;;) {
        const port = ports()[w.at];
        const sent = Date.now();
        const r = port === null ? "failed" : await place(port, w.user, cid);
        if (r === "ok" || (r === "duplicate" && tries > 0)) {
          acked.set(cid, (acked.get(cid) ?? 0) + 1);
          on_ack(w, sent, Date.now());
          break;
        }
        tries++;
        w.at = (w.at + 1) % ports().length; // the same order, on the next node
        if (port === null || r === "failed") await sleep(20);
        if (!running && tries > 100) break;
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const histogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });

async function throughput(ports: number[], users: User[], tag: string) {
  const acked = new Map<string, number>();
  const h = histogram();
  const workers: Worker[] = Array.from({ length: WORKERS }, (_, i) => ({
    index: i,
    user: users[i % users.length],
    home: i % ports.length,
    at: i % ports.length,
  }));
  let counting = false;
  let count = 0;
  const load = run_load(
    () => ports,
    workers,
    acked,
    (_w, sent, done) => {
      if (!counting) return;
      count++;
      h.recordValue(Math.max(1, done - sent));
    },
    tag,
  );
  await sleep(1000); // warm-up
  counting = true;
  const started = Date.now();
  await sleep(THROUGHPUT_S * 1000);
  counting = false;
  const seconds = (Date.now() - started) / 1000;
  await load.stop();
  return {
    orders_per_s: Math.round(count / seconds),
    p50_ms: h.getValueAtPercentile(50),
    p99_ms: h.getValueAtPercentile(99),
  };
}

function start_single(dir: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [BIN, "start", "--data-dir", dir, "--port", "0", "--demo", "--no-market-maker"],
      {
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /node ready at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null) resolve({ child, port: Number(m[1]) });
    });
    child.on("exit", (code) => reject(new Error(`single node exited with ${code}`)));
  });
}

/** etcd's own count of leader changes this member has seen since it started (its /metrics). */
async function leader_changes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^etcd_server_leader_changes_seen_total (\d+)/m.exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

const pct = (xs: number[], p: number) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const root = mkdtempSync(join(tmpdir(), "hf-bench-cluster-"));
let etcd: EtcdCluster | null = null;
const nodes: (ClusterProcess | null)[] = [null, null, null];
try {
  // 1a. the single node
  log("single node (file journal): starting");
  const single = await start_single(join(root, "single"));
  const single_users = (
    JSON.parse(readFileSync(join(root, "single", "demo-credentials.json"), "utf8")) as DemoCredentials
  ).users;
  const single_result = await throughput([single.port], single_users, "s");
  single.child.kill("SIGTERM");
  log(
    `single node: ${single_result.orders_per_s} orders/s, p50 ${single_result.p50_ms} ms, p99 ${single_result.p99_ms} ms`,
  );

  // 1b. the cluster
  etcd = await start_etcd(3);
  const urls = etcd.urls;
  const ports = [await free_port(), await free_port(), await free_port()];
  const start = async (i: number) => {
    nodes[i] = await start_cluster_node(
      join(root, `n${i}`),
      `n${i}`,
      [urls[i], ...urls.filter((_, j) => j !== i)],
      ["--no-market-maker"],
      ports[i],
    );
  };
  for (let i = 0; i < 3; i++) await start(i);
  const users = (
    JSON.parse(readFileSync(join(root, "n0", "demo-credentials.json"), "utf8")) as DemoCredentials
  ).users;
  log("cluster: 3 etcd members, 3 nodes up; throughput");
  const cluster_result = await throughput(ports, users, "t");
  log(
    `cluster: ${cluster_result.orders_per_s} orders/s (${(cluster_result.orders_per_s / single_result.orders_per_s).toFixed(2)}× single), p50 ${cluster_result.p50_ms} ms, p99 ${cluster_result.p99_ms} ms`,
  );

  // 2, 3. failover under load
  const acked = new Map<string, number>();
  const workers: Worker[] = Array.from({ length: WORKERS }, (_, i) => ({
    index: i,
    user: users[i % users.length],
    home: i % 3,
    at: i % 3,
  }));
  const live_ports = () => nodes.map((n, i) => (n === null ? null : ports[i]));
  let kill_ms = 0;
  let waiting = new Set<number>();
  let samples: number[] = [];
  const node_failovers: number[] = [];
  const leader_failovers: number[] = [];
  let leader_phase = false;
  const load = run_load(
    live_ports,
    workers,
    acked,
    (w, sent, done) => {
      if (kill_ms === 0 || !waiting.has(w.index)) return;
      if (leader_phase && sent < kill_ms) return; // a request sent before the kill says nothing of failover
      waiting.delete(w.index);
      samples.push(done - kill_ms);
    },
    "f",
  );
  await sleep(1000);
  for (let k = 0; k < NODE_KILLS; k++) {
    const i = k % 3;
    // everyone back on its own node (a worker mid-retry may have moved on again: wait for it)
    const homed = workers.filter((w) => w.home === i);
    const t_home = Date.now();
    do {
      for (const w of workers) w.at = w.home;
      await sleep(300);
    } while (homed.some((w) => w.at !== i) && Date.now() - t_home < 10_000);
    waiting = new Set(homed.filter((w) => w.at === i).map((w) => w.index));
    samples = [];
    kill_ms = Date.now();
    nodes[i]?.child.kill("SIGKILL");
    nodes[i] = null;
    const t0 = Date.now();
    while (waiting.size > 0 && Date.now() - t0 < 15_000) await sleep(20);
    node_failovers.push(...samples);
    kill_ms = 0;
    log(
      `node kill ${k + 1}/${NODE_KILLS} (n${i}): its ${samples.length} clients resumed in ${Math.min(...samples)}–${Math.max(...samples)} ms`,
    );
    await start(i);
  }
  // etcd elections nobody caused: every member's count of leader changes since it started, through
  // the throughput and node-kill phases (no member was killed yet); 1 each is the first election
  const spurious_leader_changes = Math.max(...(await Promise.all(urls.map(leader_changes)))) - 1;
  log(`etcd leader changes not caused by a kill so far: ${spurious_leader_changes}`);
  leader_phase = true;
  for (let k = 0; k < LEADER_KILLS; k++) {
    await sleep(500);
    const leader = await leader_index(etcd);
    waiting = new Set(workers.map((w) => w.index));
    samples = [];
    kill_ms = Date.now();
    await etcd.kill(leader);
    const t0 = Date.now();
    while (waiting.size > 0 && Date.now() - t0 < 15_000) await sleep(20);
    leader_failovers.push(...samples);
    kill_ms = 0;
    log(
      `etcd leader kill ${k + 1}/${LEADER_KILLS} (m${leader}): clients resumed in ${Math.min(...samples)}–${Math.max(...samples)} ms`,
    );
    await etcd.restart(leader);
  }
  await load.stop();

  // 4. the nodes agree (same sequence, same state hash), then every acknowledged order on every node, once
  const agreement = await wait_for_agreement(nodes);
  const { agreed, statuses } = agreement;
  log(
    agreed
      ? `nodes agree: sequence ${statuses[0].applied_seq}, state ${statuses[0].state_hash.slice(0, 16)} (${agreement.ms} ms after the load stopped)`
      : `NODES DISAGREE: ${statuses.map((x) => `${x.applied_seq}/${x.state_hash.slice(0, 12)}`).join(" ")}`,
  );
  log(`checking ${acked.size} acknowledged orders on every node`);
  let lost = 0;
  let doubled = [...acked.values()].filter((n) => n > 1).length;
  for (let i = 0; i < 3; i++) {
    const seen = await client_order_ids(ports[i], users);
    for (const cid of acked.keys()) {
      const n = seen.get(cid) ?? 0;
      if (n === 0) lost++;
      if (n > 1) doubled++;
    }
  }
  const result = {
    bench: "cluster",
    date: new Date().toISOString(),
    quick,
    failover_node_p50_ms: pct(node_failovers, 50),
    failover_node_max_ms: Math.max(...node_failovers),
    failover_etcd_leader_max_ms: Math.max(...leader_failovers),
    kills: NODE_KILLS + LEADER_KILLS,
    node_kills: NODE_KILLS,
    etcd_leader_kills: LEADER_KILLS,
    spurious_leader_changes,
    lost,
    doubled,
    nodes_agree: agreed,
    acknowledged: acked.size,
    orders_per_s: cluster_result.orders_per_s,
    single_node_orders_per_s: single_result.orders_per_s,
    cluster_to_single: Number((cluster_result.orders_per_s / single_result.orders_per_s).toFixed(3)),
    ack_p50_ms: cluster_result.p50_ms,
    ack_p99_ms: cluster_result.p99_ms,
    single_ack_p50_ms: single_result.p50_ms,
    single_ack_p99_ms: single_result.p99_ms,
  };
  console.log(
    `node-kill failover: p50 ${result.failover_node_p50_ms} ms, max ${result.failover_node_max_ms} ms over ${NODE_KILLS} kills (${node_failovers.length} client samples)`,
  );
  console.log(
    `etcd-leader-kill failover: max ${result.failover_etcd_leader_max_ms} ms over ${LEADER_KILLS} kills`,
  );
  console.log(
    `acknowledged ${acked.size}: lost ${lost}, doubled ${doubled}; nodes ${agreed ? "agree" : "DISAGREE"} on the state hash`,
  );
  console.log(
    `throughput: cluster ${result.orders_per_s} orders/s vs single node ${result.single_node_orders_per_s} (${result.cluster_to_single}×); cluster ack p50 ${result.ack_p50_ms} ms, p99 ${result.ack_p99_ms} ms`,
  );
  console.log(JSON.stringify(result));
} finally {
  for (const n of nodes) n?.child.kill("SIGKILL");
  await etcd?.close();
  await dispatcher.close();
  rmSync(root, { recursive: true, force: true });
}
