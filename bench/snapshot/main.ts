/**
 * `npm run bench:snapshot [-- --quick] [--resting N]`: how long a snapshot of a large book stalls
 * order entry. A node holds N resting orders (1,000,000; --quick 200,000) and takes paced traffic;
 * the benchmark measures the node thread's longest stall (event-loop delay) and the ack latency over
 * a window in which a background snapshot is written, and over an equal window without one. For
 * comparison it then times serializing the same state on the node's own thread (what a snapshot
 * would stall without the worker). Last line: one JSON object.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Command, PlaceOrder } from "../../src/engine/commands.js";
import { snapshot } from "../../src/engine/snapshot.js";
import { EngineNode } from "../../src/node/runtime.js";
import { Prng } from "../../src/sim/prng.js";
import { ACCOUNTS, BENCH_LIMITS, MID_TICKS, setup_commands } from "../engine/workload.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const RESTING = Number(arg("--resting") ?? (quick ? 200_000 : 1_000_000));
const RATE_PER_S = Number(arg("--rate") ?? 20_000);
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");

function resting_order(rng: Prng, k: number): PlaceOrder {
  const side = (k & 1) as 0 | 1;
  // Buys below the mid, sells above, spread over 20,000 price levels a side: nothing crosses.
  return {
    type: "place_order",
    ts_ms: 0,
    account: k % ACCOUNTS,
    market: 0,
    side,
    order_type: 0,
    tif: 0,
    price_ticks: MID_TICKS + (side === 0 ? -1 : 1) * (1_000 + rng.below(20_000)),
    quantity_lots: rng.between(1, 100),
    quote_units: 0,
    stop_price_ticks: 0,
    client_order_id: null,
    stp: 0,
  };
}

interface Window {
  /** Longest single hand-over to the snapshot worker (frame or request) on the node's thread. */
  handover_max_ms: number;
  handover_total_ms: number;
  stall_max_ms: number;
  ack_p50_ms: number;
  ack_p99_ms: number;
  ack_max_ms: number;
  commands: number;
}

/**
 * Paced traffic for `seconds` (new orders near the mid that rest or trade a little, and cancels of
 * them), with `during` started at the first tick. Returns the node thread's longest stall and acks.
 */
async function window(node: EngineNode, rng: Prng, seconds: number, during: () => Promise<unknown>) {
  const latencies: number[] = [];
  const placed: number[] = [];
  const cost = node.snapshot_cost;
  cost.posts = 0;
  cost.total_ms = 0;
  cost.max_ms = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const t0 = performance.now();
  const side_task = during();
  let sent = 0;
  const pending: Promise<void>[] = [];
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * RATE_PER_S);
    for (; sent < due; sent++) {
      let command: Command;
      if (placed.length > 100 && rng.chance(0.5)) {
        const at = rng.below(placed.length);
        const order_id = placed[at];
        placed[at] = placed[placed.length - 1];
        placed.pop();
        command = { type: "cancel_order", ts_ms: 0, account: 0, market: 0, order_id, client_order_id: null };
      } else {
        const side = rng.below(2) as 0 | 1;
        command = {
          ...resting_order(rng, 0),
          side,
          price_ticks: MID_TICKS + (side === 0 ? -1 : 1) * rng.between(1, 500),
        };
      }
      const t_sent = performance.now();
      pending.push(
        node.submit(command).then((applied) => {
          latencies.push(performance.now() - t_sent);
          for (const e of applied.events) if (e.kind === "order_new") placed.push(e.order_id);
        }),
      );
    }
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pending);
  await side_task;
  delay.disable();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => Math.round(latencies[Math.floor(p * (latencies.length - 1))] * 100) / 100;
  const result: Window = {
    handover_max_ms: Math.round(cost.max_ms * 1000) / 1000,
    handover_total_ms: Math.round(cost.total_ms * 100) / 100,
    stall_max_ms: Math.round((delay.max / 1e6) * 100) / 100,
    ack_p50_ms: q(0.5),
    ack_p99_ms: q(0.99),
    ack_max_ms: q(1),
    commands: latencies.length,
  };
  return result;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(arg("--dir") ?? process.cwd(), ".bench-snapshot-"));
  try {
    log(
      `bench:snapshot${quick ? " (quick)" : ""}: ${fmt(RESTING)} resting orders, ${fmt(RATE_PER_S)} commands/s paced`,
    );
    const node = await EngineNode.open({
      data_dir: work,
      engine_limits: { ...BENCH_LIMITS, orders_preallocated: RESTING + 100_000 },
      snapshot_every_commands: Number.MAX_SAFE_INTEGER,
      snapshot_every_ms: Number.MAX_SAFE_INTEGER,
      log: () => {},
    });
    for (const c of setup_commands()) await node.submit(c);
    const rng = new Prng(7);
    for (let placed = 0; placed < RESTING; ) {
      const batch: Command[] = [];
      for (let i = 0; i < 4096 && placed < RESTING; i++, placed++) batch.push(resting_order(rng, placed));
      await node.submit_batch(batch);
      if (placed % 200_000 === 0) log(`  resting: ${fmt(placed)} / ${fmt(RESTING)}`);
    }
    // Let the snapshot worker catch up with the fill, so the windows measure only the snapshot.
    let warm = await node.snapshot();
    log(`  warm-up snapshot ${warm} written`);

    const seconds = quick ? 3 : 6;
    log(`  window without a snapshot (${seconds} s)…`);
    const base = await window(node, rng, seconds, async () => {});
    log(
      `    node thread: hand-overs to the snapshot worker longest ${base.handover_max_ms} ms (${base.handover_total_ms} ms in all); event-loop stall max ${base.stall_max_ms} ms; ack p50 ${base.ack_p50_ms} / p99 ${base.ack_p99_ms} / max ${base.ack_max_ms} ms`,
    );
    log(`  window with a background snapshot of ${fmt(RESTING)}+ orders (${seconds} s)…`);
    let written = { name: "", ms: 0 };
    const t_snap = performance.now();
    const snap = await window(node, rng, seconds, async () => {
      warm = await node.snapshot();
      written = { name: warm, ms: performance.now() - t_snap };
    });
    log(`    snapshot ${written.name} durable after ${fmt(written.ms)} ms`);
    log(
      `    node thread: hand-overs to the snapshot worker longest ${snap.handover_max_ms} ms (${snap.handover_total_ms} ms in all); event-loop stall max ${snap.stall_max_ms} ms; ack p50 ${snap.ack_p50_ms} / p99 ${snap.ack_p99_ms} / max ${snap.ack_max_ms} ms`,
    );

    // The same state serialized on the node's own thread: the stall a synchronous snapshot costs.
    const t_sync = performance.now();
    const body = snapshot(node.engine);
    const sync_ms = performance.now() - t_sync;
    log(
      `  serializing on the node thread instead: ${fmt(sync_ms)} ms (${fmt(body.length / 1e6)} MB), before any fsync`,
    );
    await node.close();
    console.log(
      JSON.stringify({
        resting_orders: RESTING,
        rate_per_s: RATE_PER_S,
        snapshot_handover_max_ms: snap.handover_max_ms,
        snapshot_handover_total_ms: snap.handover_total_ms,
        snapshot_stall_max_ms: snap.stall_max_ms,
        baseline_stall_max_ms: base.stall_max_ms,
        snapshot_ack_p99_ms: snap.ack_p99_ms,
        baseline_ack_p99_ms: base.ack_p99_ms,
        snapshot_ack_max_ms: snap.ack_max_ms,
        baseline_ack_max_ms: base.ack_max_ms,
        background_snapshot_durable_ms: Math.round(written.ms),
        sync_serialize_ms: Math.round(sync_ms),
        snapshot_bytes: body.length,
        quick,
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
