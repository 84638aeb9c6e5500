/**
 * `npm run bench:cluster-detect [-- --rounds N]`: how fast a dead or frozen etcd member is noticed,
 * with the etcd flags `holdfast cluster` uses (ETCD_TUNING) and the nodes' etcd client
 * (src/cluster/etcd_client.ts). Three members on loopback; a writer puts one small key after another
 * through the tuned client (as a node appends batches). Per round, one of:
 *   leader-kill   SIGKILL the leader;
 *   leader-stop   SIGSTOP the leader (it stops answering but its connections stay open: the case
 *                 only keepalives and deadlines can detect), SIGCONT after;
 *   member-kill   SIGKILL the member the writer's client is using, when it is a follower.
 * Measured from the signal: `elected_ms`, when a surviving member first reports a new leader (polled
 * every 10 ms), and `write_ms`, when the writer's first put sent after the signal is acknowledged.
 * Progress on stderr; the last stdout line is one JSON object.
 */
import { etcd_client } from "../../src/cluster/etcd_client.js";
import { type EtcdCluster, leader_index, start_etcd } from "../../test/helpers/etcd.js";

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf("--rounds") + 1] ?? 0) || 10;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = "leader-kill" | "leader-stop" | "member-kill";

async function member_leader(url: string): Promise<string | null> {
  const c = etcd_client([url]);
  try {
    const s = await c.maintenance.status();
    return s.leader === "0" ? null : s.leader;
  } catch {
    return null;
  } finally {
    c.close();
  }
}

async function round(
  etcd: EtcdCluster,
  kind: Kind,
): Promise<{ elected_ms: number | null; write_ms: number }> {
  const leader = await leader_index(etcd);
  // member-kill: the writer talks to one follower only first, so killing it is what it must notice
  const follower = [0, 1, 2].find((i) => i !== leader) as number;
  const target = kind === "member-kill" ? follower : leader;
  const order = kind === "member-kill" ? [follower, ...[0, 1, 2].filter((i) => i !== follower)] : [0, 1, 2];
  const writer = etcd_client(order.map((i) => etcd.urls[i]));
  const old_leader_id = kind === "member-kill" ? null : await member_leader(etcd.urls[leader]);
  let signal_ms = 0;
  let first_after_ms = 0;
  let writing = true;
  const writes = (async () => {
    for (let k = 0; writing; k++) {
      const sent = Date.now();
      try {
        await writer
          .put(`/detect/${k % 100}`)
          .value(String(k))
          .exec();
        if (signal_ms > 0 && sent >= signal_ms && first_after_ms === 0) first_after_ms = Date.now();
      } catch {
        // a failed call: the next one goes on (the client retries on other members itself)
      }
      await sleep(2);
    }
  })();
  await sleep(500);
  signal_ms = Date.now();
  if (kind === "leader-stop") etcd.pause(target);
  else await etcd.kill(target);
  let elected_ms: number | null = null;
  const survivors = [0, 1, 2].filter((i) => i !== target);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (first_after_ms === 0 || (kind !== "member-kill" && elected_ms === null))) {
    if (kind !== "member-kill" && elected_ms === null) {
      const now = await Promise.all(survivors.map((i) => member_leader(etcd.urls[i])));
      if (now.some((l) => l !== null && l !== old_leader_id)) elected_ms = Date.now() - signal_ms;
    }
    await sleep(10);
  }
  writing = false;
  await writes;
  writer.close();
  if (kind === "leader-stop") {
    etcd.resume(target);
    await sleep(1000);
  } else await etcd.restart(target);
  return { elected_ms, write_ms: first_after_ms === 0 ? Number.NaN : first_after_ms - signal_ms };
}

const etcd = await start_etcd(3);
const results: Record<Kind, { elected_ms: (number | null)[]; write_ms: number[] }> = {
  "leader-kill": { elected_ms: [], write_ms: [] },
  "leader-stop": { elected_ms: [], write_ms: [] },
  "member-kill": { elected_ms: [], write_ms: [] },
};
try {
  for (const kind of Object.keys(results) as Kind[])
    for (let r = 0; r < ROUNDS; r++) {
      const got = await round(etcd, kind);
      results[kind].elected_ms.push(got.elected_ms);
      results[kind].write_ms.push(got.write_ms);
      log(
        `${kind} ${r + 1}/${ROUNDS}: ${got.elected_ms === null ? "" : `new leader after ${got.elected_ms} ms, `}first write acknowledged ${got.write_ms} ms after the signal`,
      );
      await sleep(300);
    }
} finally {
  await etcd.close();
}
const summary: Record<string, number | null> = {};
for (const [kind, r] of Object.entries(results)) {
  const elected = r.elected_ms.filter((x): x is number => x !== null);
  const max = (xs: number[]) => (xs.length === 0 ? null : Math.max(...xs));
  const median = (xs: number[]) =>
    xs.length === 0 ? null : xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const key = kind.replace("-", "_");
  if (kind !== "member-kill") {
    summary[`${key}_elected_p50_ms`] = median(elected);
    summary[`${key}_elected_max_ms`] = max(elected);
  }
  summary[`${key}_write_p50_ms`] = median(r.write_ms);
  summary[`${key}_write_max_ms`] = Number.isNaN(max(r.write_ms) ?? 0) ? null : max(r.write_ms);
  console.log(
    `${kind}: ${kind === "member-kill" ? "" : `new leader p50 ${median(elected)} ms, max ${max(elected)} ms; `}first write acknowledged p50 ${median(r.write_ms)} ms, max ${max(r.write_ms)} ms (${ROUNDS} rounds)`,
  );
}
console.log(
  JSON.stringify({ bench: "cluster-detect", date: new Date().toISOString(), rounds: ROUNDS, ...summary }),
);
