/**
 * `npm run soak:cluster [-- --minutes N]`: does etcd's keyspace stay bounded while a cluster trades
 * for a long time? Three etcd members and three `holdfast start --journal etcd` nodes on loopback,
 * with frequent snapshots (--snapshot-every) and compaction (--compact-every) so a short soak goes
 * through many compaction and defragmentation passes. Closed-loop clients place signed IOC orders
 * spread over the nodes the whole time, each on an account of its own (--accounts: made and funded
 * through the admin socket; an account's client-order-id window holds 200,000 ids a day). Half-way, one node is killed, its data directory wiped, and
 * it is started again: it bootstraps from a peer (the start of the log is long gone) and the soak
 * goes on.
 *
 * Every SAMPLE_S seconds: orders so far, log keys in etcd, each member's database size (on disk
 * and in use). At the end: the nodes agree (same sequence and state hash); the figure that matters
 * is the largest database size in the second half against the first half (bounded: about 1, not
 * growing with the orders) and against what the log would weigh uncompacted (every batch written).
 * Progress on stderr; the last stdout line is one JSON object.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { admin_request } from "../../src/admin/client.js";
import { decode_batch } from "../../src/cluster/batch_codec.js";
import { etcd_client } from "../../src/cluster/etcd_client.js";
import { type ClusterProcess, start_cluster_node } from "../../test/helpers/cluster.js";
import { type EtcdCluster, start_etcd } from "../../test/helpers/etcd.js";
import { free_port } from "../../test/helpers/nodes.js";
import { log, positive_arg, sleep } from "../soak_args.js";
import { dispatcher, place, type User, wait_for_agreement } from "./orders.js";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => positive_arg(args, name, fallback);
const MINUTES = arg("--minutes", 10);
const SNAPSHOT_EVERY = arg("--snapshot-every", 20_000);
const COMPACT_EVERY_S = arg("--compact-every", 10);
const WORKERS = arg("--workers", 48);
const ACCOUNTS = arg("--accounts", 48);
const SAMPLE_S = 15;
const PREFIX = "/proc"; // test/helpers/cluster.ts starts nodes under this prefix

interface Sample {
  t_s: number;
  orders: number;
  revision: number;
  log_keys: number;
  db_bytes: number[];
  db_in_use_bytes: number[];
}

const root = mkdtempSync(join(tmpdir(), "hf-soak-cluster-"));
let etcd: EtcdCluster | null = null;
const nodes: (ClusterProcess | null)[] = [null, null, null];
try {
  log(
    `soak: ${MINUTES} min, snapshot every ${SNAPSHOT_EVERY} commands, compaction every ${COMPACT_EVERY_S} s, ${WORKERS} clients`,
  );
  etcd = await start_etcd(3);
  const urls = etcd.urls;
  const ports = [await free_port(), await free_port(), await free_port()];
  const start = async (i: number) => {
    nodes[i] = await start_cluster_node(
      join(root, `n${i}`),
      `n${i}`,
      [urls[i], ...urls.filter((_, j) => j !== i)],
      [
        "--no-market-maker",
        "--snapshot-every",
        String(SNAPSHOT_EVERY),
        "--compact-every",
        String(COMPACT_EVERY_S),
      ],
      ports[i],
    );
  };
  for (let i = 0; i < 3; i++) await start(i);
  // one account per client: each account's client-order-id window holds 200,000 ids a day
  // (client_ids_per_account_max), which the demo's three users would fill in a few minutes
  const users: User[] = [];
  const admin = (nodes[0] as ClusterProcess).admin_socket;
  for (let i = 0; i < ACCOUNTS; i++) {
    const made = (await admin_request(admin, "POST", "/v1/users", {})).body as { account: number };
    const key = (
      await admin_request(admin, "POST", "/v1/api-keys", {
        account: made.account,
        kind: "HMAC",
        tier: "demo",
      })
    ).body as { apiKey: string; secretKey: string };
    const funded = await admin_request(admin, "POST", "/v1/deposit", {
      account: made.account,
      asset: "USDT",
      amount: "1000000",
    });
    if (funded.status !== 200) throw new Error(`deposit: ${JSON.stringify(funded.body)}`);
    users.push({ name: `soak${i}`, apiKey: key.apiKey, secretKey: key.secretKey } as User);
  }
  log(`${ACCOUNTS} accounts made and funded`);
  const client = etcd_client(urls);
  const members = urls.map((u) => etcd_client([u]));

  let orders = 0;
  let running = true;
  const loops = Array.from({ length: WORKERS }, async (_, w) => {
    let at = w % 3;
    for (let k = 0; running; k++) {
      const port = nodes[at] === null ? null : ports[at];
      if (port !== null && (await place(port, users[w % users.length], `s${w}-${k}`)) === "ok") orders++;
      else {
        at = (at + 1) % 3;
        await sleep(50);
      }
    }
  });

  const samples: Sample[] = [];
  const started = Date.now();
  const end_ms = started + MINUTES * 60_000;
  let wiped = false;
  let bootstrap_line = "";
  while (Date.now() < end_ms) {
    await sleep(SAMPLE_S * 1000);
    const statuses = await Promise.all(
      members.map(async (m) => {
        try {
          const s = (await m.maintenance.status()) as unknown as {
            dbSize: string;
            dbSizeInUse?: string;
            header: { revision: string };
          };
          return s;
        } catch {
          return null;
        }
      }),
    );
    const sample: Sample = {
      t_s: Math.round((Date.now() - started) / 1000),
      orders,
      revision: Math.max(...statuses.map((s) => Number(s?.header.revision ?? 0))),
      log_keys: await client
        .getAll()
        .prefix(`${PREFIX}/log/`)
        .count()
        .catch(() => -1),
      db_bytes: statuses.map((s) => Number(s?.dbSize ?? 0)),
      db_in_use_bytes: statuses.map((s) => Number(s?.dbSizeInUse ?? 0)),
    };
    samples.push(sample);
    const mb = (b: number) => (b / 1048576).toFixed(1);
    log(
      `t=${sample.t_s}s orders ${orders} (${Math.round(orders / sample.t_s)}/s), revision ${sample.revision}, log keys ${sample.log_keys}, db MB ${sample.db_bytes.map(mb).join("/")} (in use ${sample.db_in_use_bytes.map(mb).join("/")})`,
    );
    if (!wiped && Date.now() - started > (MINUTES * 60_000) / 2) {
      wiped = true;
      log("half-way: n2 killed, its data directory wiped, started again");
      nodes[2]?.child.kill("SIGKILL");
      await sleep(200);
      nodes[2] = null;
      rmSync(join(root, "n2"), { recursive: true, force: true });
      await start(2);
      bootstrap_line =
        /bootstrapped from [^\n]*/.exec((nodes[2] as ClusterProcess | null)?.logs() ?? "")?.[0] ??
        "NO BOOTSTRAP";
      log(`n2: ${bootstrap_line}`);
    }
  }
  running = false;
  await Promise.all(loops);

  // the nodes agree
  const { agreed, statuses } = await wait_for_agreement(nodes);
  // what one log entry weighs, to say what the log would weigh uncompacted
  const recent = await client.getAll().prefix(`${PREFIX}/log/`).buffers();
  const values = Object.values(recent);
  const commands_in = values.reduce((a, v) => a + decode_batch(v).commands.length, 0);
  const bytes_per_command = commands_in === 0 ? 0 : values.reduce((a, v) => a + v.length, 0) / commands_in;
  const compactions = nodes
    .map((n) => (n?.logs().match(/compacted the log/g) ?? []).length)
    .reduce((a, b) => a + b);
  client.close();
  for (const m of members) m.close();

  const half = samples.filter((s) => s.t_s <= (MINUTES * 60) / 2);
  const rest = samples.filter((s) => s.t_s > (MINUTES * 60) / 2);
  const max_db = (xs: Sample[]) => Math.max(0, ...xs.flatMap((s) => s.db_bytes));
  const last = samples[samples.length - 1];
  // every command ever applied was written once, in a batch, at about this size
  const uncompacted_bytes = Math.round((statuses[0]?.applied_seq ?? 0) * bytes_per_command);
  const result = {
    bench: "soak-cluster",
    date: new Date().toISOString(),
    minutes: MINUTES,
    orders: orders,
    orders_per_s: Math.round(orders / last.t_s),
    revisions: last.revision,
    compactions_logged: compactions,
    log_keys_max: Math.max(...samples.map((s) => s.log_keys)),
    log_keys_last: last.log_keys,
    db_max_first_half_bytes: max_db(half),
    db_max_second_half_bytes: max_db(rest),
    second_to_first_half: Number((max_db(rest) / Math.max(1, max_db(half))).toFixed(2)),
    uncompacted_log_bytes_estimate: uncompacted_bytes,
    db_to_uncompacted: Number((max_db(rest) / Math.max(1, uncompacted_bytes)).toFixed(3)),
    wiped_node_bootstrap: bootstrap_line,
    nodes_agree: agreed,
    applied_seq: statuses[0]?.applied_seq,
  };
  console.log(
    `${orders} orders in ${MINUTES} min (${result.orders_per_s}/s), ${result.revisions} etcd revisions, ${compactions} compactions`,
  );
  console.log(
    `etcd database: largest ${(result.db_max_first_half_bytes / 1048576).toFixed(1)} MB in the first half, ${(result.db_max_second_half_bytes / 1048576).toFixed(1)} MB in the second (${result.second_to_first_half}×); the log uncompacted would be about ${(uncompacted_bytes / 1048576).toFixed(0)} MB`,
  );
  console.log(`log keys: at most ${result.log_keys_max}, ${result.log_keys_last} at the end`);
  console.log(`wiped node: ${bootstrap_line}`);
  console.log(`nodes ${agreed ? "agree" : "DISAGREE"} on the state hash at sequence ${result.applied_seq}`);
  console.log(JSON.stringify(result));
  if (!agreed) process.exitCode = 1;
} finally {
  for (const n of nodes) n?.child.kill("SIGKILL");
  await etcd?.close();
  await dispatcher.close();
  rmSync(root, { recursive: true, force: true });
}
