/**
 * `npm run bench:journal [-- --quick]`: this disk's own fdatasync rate, then durable commands/s through
 * journal + engine in one process (no network), ack latency at half that rate, and replay speed and
 * restart time for a data directory whose latest snapshot is 10% of the journal behind its end.
 * Refuses to run on tmpfs (nothing there is durable). Last line: one JSON object. Traffic: see traffic().
 */

import { spawn } from "node:child_process";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { Command } from "../../src/engine/commands.js";
import { EngineNode } from "../../src/node/runtime.js";
import { Prng } from "../../src/sim/prng.js";
import { BENCH_LIMITS, setup_commands } from "../engine/workload.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const BASE = arg("--dir") ?? process.cwd();
const TOTAL = Number(arg("--commands") ?? (quick ? 2_000_000 : 10_000_000));
const THROUGHPUT_COMMANDS = quick ? 300_000 : 2_000_000;
/** Commands the closed-loop phases keep in flight. */
const IN_FLIGHT = Number(arg("--in-flight") ?? 16_000);
/** The journal's zero-fill chunk (`--zero-fill-bytes 0`: plain appends, as before session 9). */
const ZERO_FILL_BYTES = arg("--zero-fill-bytes");
/** `--spin`: the paced phases poll with setImmediate (before session 9) instead of a 1 ms timer. */
const SPIN = args.includes("--spin");
/** `--keep`: leave the data directory behind (its path is printed), e.g. to profile a replay of it. */
const KEEP = args.includes("--keep");
const TMPFS_MAGIC = 0x01021994;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");

function fdatasync_rate(dir: string): number {
  const file = join(dir, "fsync-probe");
  const fd = openSync(file, "w");
  const block = Buffer.alloc(4096, 7);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 2000) {
    writeSync(fd, block, 0, block.length, n * 4096);
    fsyncSync(fd);
    n++;
  }
  const rate = (n * 1000) / (performance.now() - t0);
  closeSync(fd);
  rmSync(file);
  return rate;
}

/**
 * Half new limit orders, half cancels of one of the last 100,000 orders placed, as market makers
 * requote. A cancel may name an order already cancelled (refused, and journaled all the same), so
 * about e^-1 of orders are never cancelled and the book grows with the journal (1,865,116 resting
 * orders after 10,001,339 commands).
 */
let orders_placed = 0;
function traffic(rng: Prng, _n: number): Command {
  // Order ids are sequential from 1 and order k belongs to account k % 1000, so a cancel names its owner.
  if (rng.chance(0.5) && orders_placed > 0) {
    const order_id = Math.max(1, orders_placed - rng.below(100_000));
    return {
      type: "cancel_order",
      ts_ms: 0,
      account: order_id % 1000,
      market: 0,
      order_id,
      client_order_id: null,
    };
  }
  orders_placed++;
  const account = orders_placed % 1000;
  const side = rng.below(2) as 0 | 1;
  return {
    type: "place_order",
    ts_ms: 0,
    account,
    market: 0,
    side,
    order_type: 0,
    tif: 0,
    price_ticks: 1_000_000 + (side === 0 ? -1 : 1) * rng.between(1, 100),
    quantity_lots: rng.between(1, 100),
    quote_units: 0,
    stop_price_ticks: 0,
    client_order_id: null,
    stp: 0,
  };
}

const limits = { ...BENCH_LIMITS, orders_preallocated: 65_536 };

async function open(dir: string, snapshot_every: number): Promise<EngineNode> {
  // Retention off: the replay measurement needs the whole journal.
  return EngineNode.open({
    data_dir: dir,
    engine_limits: limits,
    snapshot_every_commands: snapshot_every,
    snapshot_every_ms: Number.MAX_SAFE_INTEGER, // snapshots only where the benchmark takes them
    journal_retention: false,
    journal: ZERO_FILL_BYTES === undefined ? {} : { zero_fill_bytes: Number(ZERO_FILL_BYTES) },
    log: () => {},
  });
}

/**
 * Closed-loop: keep `window` commands in flight; returns commands/s. `batch` 1 submits one command a
 * call (`submit`); more gathers them as a gateway would for one event-loop turn (`submit_batch`).
 */
async function saturate(
  node: EngineNode,
  rng: Prng,
  count: number,
  start_n: number,
  batch = 1,
): Promise<number> {
  // Enough in flight to keep the node thread busy while a frame is written (--in-flight N, default
  // 16,000). With 2,000 the whole window sits in one frame and the thread waited for its write half the
  // time (CPU profile: 51% idle); 16,000 measured +21% batched (means of 3 alternating runs, session 7).
  // Session 1 had measured 20,000 at half the rate of 2,000: that was before the journal queue stopped
  // copying its backlog per frame and before the 64 MB semi-space.
  const window = IN_FLIGHT;
  let sent = 0;
  let done = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const finished = (n: number): void => {
      done += n;
      if (done === count) resolve();
      else pump();
    };
    const pump = (): void => {
      while (sent < count && sent - done < window) {
        const n = Math.min(batch, count - sent);
        if (n === 1) {
          sent++;
          node.submit(traffic(rng, start_n + sent)).then(() => finished(1), reject);
          continue;
        }
        const commands: Command[] = [];
        for (let i = 0; i < n; i++) commands.push(traffic(rng, start_n + sent + i + 1));
        sent += n;
        node.submit_batch(commands).then(() => finished(n), reject);
      }
    };
    pump();
  });
  return (count * 1000) / (performance.now() - t0);
}

/**
 * Open-loop at `rate` commands/s for `seconds` after a 1 s warm-up that is not counted (the snapshot
 * worker catching up on the phase before, code compiling): ack latency percentiles, each measured from
 * when its command was due (so a stalled event loop counts against the node instead of delaying the
 * clock: no coordinated omission). A 1 ms timer sends whatever has come due (a command waits up to
 * ~1 ms for it, and that wait counts in its latency). Until session 9 a setImmediate loop sent them,
 * which kept the node's thread spinning at 100% of a core: together with the node's other threads and
 * the disk's work that saturated this VM, and whenever it is saturated while the disk is busy, the
 * host pauses both its CPUs for ~10 ms of every 100 ms (docs/BENCHMARKS.md, "The VM's 100 ms
 * pauses"), which no node on a real machine would pay for its load generator. `--spin` brings the old
 * loop back. Latencies go into a preallocated array and only a count of outstanding commands is kept
 * (holding every command's promise to the end promoted ~1 M objects).
 */
async function paced(node: EngineNode, rng: Prng, rate: number, seconds: number, start_n: number) {
  const WARMUP_MS = 1000;
  const total = Math.floor(((WARMUP_MS + seconds * 1000) * rate) / 1000);
  const warmup = Math.floor((WARMUP_MS * rate) / 1000);
  const lat = new Float64Array(total - warmup);
  let measured = 0;
  let outstanding = 0;
  let failed: unknown = null;
  let sent = 0;
  // Where a tail comes from: the event loop's longest stalls and the collector's pauses, this phase only.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const gc_pauses_ms: number[] = [];
  const gc_observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc_pauses_ms.push(e.duration);
  });
  gc_observer.observe({ entryTypes: ["gc"] });
  loop.enable();
  const t0 = performance.now();
  // Each second: commands still waiting for their ack, and the JS heap (a backlog shows in both).
  const progress = setInterval(() => {
    const heap_mb = process.memoryUsage().heapUsed / 2 ** 20;
    log(
      `    … ${fmt((performance.now() - t0) / 1000)} s: ${fmt(outstanding)} waiting, heap ${fmt(heap_mb)} MB`,
    );
  }, 1000);
  await new Promise<void>((resolve) => {
    const acked = (): void => {
      if (--outstanding === 0 && sent === total) resolve();
    };
    const tick = (): void => {
      const due_now = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
      while (sent < due_now) {
        const n = sent++;
        const due_at = t0 + (n * 1000) / rate;
        outstanding++;
        node.submit(traffic(rng, start_n + sent)).then(
          () => {
            if (n >= warmup) lat[measured++] = performance.now() - due_at;
            acked();
          },
          (error: unknown) => {
            failed = error;
            acked();
          },
        );
      }
      if (sent < total) {
        if (SPIN) setImmediate(tick);
        else setTimeout(tick, 1);
      } else if (outstanding === 0) resolve();
    };
    tick();
  });
  clearInterval(progress);
  loop.disable();
  gc_observer.disconnect();
  if (failed !== null) throw failed;
  const sorted = lat.subarray(0, measured).sort();
  const q = (p: number): number =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] * 1000) / 1000;
  const diagnosis =
    `event-loop stall max ${(loop.max / 1e6).toFixed(1)} ms (p99 ${(loop.percentile(99) / 1e6).toFixed(1)}); ` +
    `GC ${fmt(gc_pauses_ms.reduce((a, b) => a + b, 0))} ms in ${gc_pauses_ms.length} pauses, longest ${Math.max(0, ...gc_pauses_ms).toFixed(1)} ms`;
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), sent, measured, diagnosis };
}

/**
 * Opens the node on `dir` in a new process (this file with `--open-child DIR`, the same Node flags and
 * environment): `wall_s` from spawning it to the node being open (what a restart costs, Node's own
 * start included), `open_s` inside it around `EngineNode.open` (snapshot restore + replay).
 */
function open_in_child(
  dir: string,
): Promise<{ wall_s: number; open_s: number; commands: number; hash: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), "--open-child", dir],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    let wall_s = 0;
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (wall_s === 0 && out.includes("\n")) wall_s = (performance.now() - t0) / 1000;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const lines = out.trim().split("\n");
      if (code !== 0 || lines.length < 2) return reject(new Error(`the node's process exited with ${code}`));
      resolve({ wall_s, ...JSON.parse(lines[0]), hash: JSON.parse(lines[1]).hash });
    });
  });
}

async function open_child(dir: string): Promise<void> {
  const t0 = performance.now();
  const node = await open(dir, Number.MAX_SAFE_INTEGER);
  const open_s = (performance.now() - t0) / 1000;
  // Two lines: the parent's clock stops at the first; the state hash takes a while to compute.
  process.stdout.write(`${JSON.stringify({ open_s, commands: node.last_applied_seq })}\n`);
  process.stdout.write(`${JSON.stringify({ hash: node.state_hash() })}\n`);
  await node.close();
}

async function main(): Promise<void> {
  const fs_type = statfsSync(BASE).type;
  if (fs_type === TMPFS_MAGIC) {
    log(`refusing to run: ${BASE} is tmpfs, where nothing is durable; pass --dir on a real disk`);
    process.exitCode = 2;
    return;
  }
  const work = mkdtempSync(join(BASE, ".bench-journal-"));
  try {
    log(`journal benchmark in ${work} (${quick ? "quick" : "full"}), node ${process.version}`);
    const fsync_per_s = fdatasync_rate(work);
    log(
      `  this disk: ${fmt(fsync_per_s)} fdatasync/s (4 KiB writes), ${(1000 / fsync_per_s).toFixed(2)} ms each`,
    );

    const rng = new Prng(7);
    const dir = join(work, "node");
    let node = await open(dir, Number.MAX_SAFE_INTEGER);
    for (const c of setup_commands()) await node.submit(c);
    log(`  durable throughput: ${fmt(THROUGHPUT_COMMANDS)} commands a phase, ${fmt(IN_FLIGHT)} in flight…`);
    // The first phase starts from a fresh process and node (code not yet optimised, memory not yet
    // mapped); it is reported as "cold", and the same phase is run again once warm (after the batched
    // one): a running node is warm. Before session 10 only the cold figure was measured.
    const cold = await saturate(node, rng, THROUGHPUT_COMMANDS, 0);
    log(
      `  durable commands/s (journal + engine), cold (the node's first ${fmt(THROUGHPUT_COMMANDS)}): ${fmt(cold)}`,
    );
    const batched = await saturate(node, rng, THROUGHPUT_COMMANDS, THROUGHPUT_COMMANDS, 64);
    log(`  durable commands/s, requests gathered per event-loop turn (submit_batch of 64): ${fmt(batched)}`);
    const durable = await saturate(node, rng, THROUGHPUT_COMMANDS, 2 * THROUGHPUT_COMMANDS);
    log(`  durable commands/s (journal + engine), warm, one submit per command: ${fmt(durable)}`);
    log(
      `  ack latency at half that rate (${fmt(durable / 2)}/s) for ${quick ? 3 : 10} s after 1 s of warm-up…`,
    );
    const lat = await paced(node, rng, durable / 2, quick ? 3 : 10, 3 * THROUGHPUT_COMMANDS);
    log(
      `  ack latency: p50 ${lat.p50} ms, p99 ${lat.p99} ms, p99.9 ${lat.p999} ms (${fmt(lat.measured)} commands measured)`,
    );
    log(`    ${lat.diagnosis}`);
    // Where the node is not saturated: the same at a quarter of the closed-loop rate.
    const quarter = await paced(node, rng, durable / 4, quick ? 3 : 10, 3 * THROUGHPUT_COMMANDS + lat.sent);
    log(
      `  ack latency at a quarter (${fmt(durable / 4)}/s): p50 ${quarter.p50} ms, p99 ${quarter.p99} ms, p99.9 ${quarter.p999} ms`,
    );
    log(`    ${quarter.diagnosis}`);

    // Fill to TOTAL commands, with a snapshot 10% before the end. The phases above may already have
    // passed that point (--quick on a fast machine): then the snapshot is taken now and the journal
    // ends 10% of TOTAL after it.
    let n = 3 * THROUGHPUT_COMMANDS + lat.sent + quarter.sent;
    const snapshot_at = Math.max(Math.floor(TOTAL * 0.9), node.last_applied_seq);
    const end = snapshot_at + (TOTAL - Math.floor(TOTAL * 0.9));
    let snapshot_seq = 0;
    if (node.last_applied_seq >= snapshot_at) {
      await node.snapshot();
      snapshot_seq = node.last_applied_seq;
    }
    while (node.last_applied_seq < end) {
      const left = end - node.last_applied_seq;
      const before_snapshot = snapshot_at - node.last_applied_seq;
      const chunk = before_snapshot > 0 ? Math.min(left, 500_000, before_snapshot) : Math.min(left, 500_000);
      await saturate(node, rng, chunk, n);
      n += chunk;
      if (snapshot_seq === 0 && node.last_applied_seq >= snapshot_at) {
        await node.snapshot();
        snapshot_seq = node.last_applied_seq;
      }
      log(`  filling: ${fmt(node.last_applied_seq)} / ${fmt(end)} commands journaled`);
    }
    const final_hash = node.state_hash();
    await node.close();

    // Restart and replay each run in a fresh process, as a node restarted after a crash does; until
    // session 11 they ran in this process, whose heap still held what ten million commands and five
    // phases left behind (replay 1.60 M/s in here vs 2.2-2.4 M/s in fresh processes, the same hour).
    log("  restart in a fresh process (as after a crash): newest snapshot + replay of the tail…");
    const restart = await open_in_child(dir);
    if (restart.hash !== final_hash) throw new Error("restarted state differs");
    const restart_s = restart.wall_s;
    const tail = restart.commands - snapshot_seq;
    log(
      `  restart: ${restart_s.toFixed(2)} s from starting the process (${restart.open_s.toFixed(2)} s opening the node) for ${fmt(restart.commands)} commands (snapshot at ${fmt(snapshot_seq)}, ${fmt(tail)} replayed)`,
    );

    rmSync(join(dir, "snapshots"), { recursive: true, force: true });
    log("  replay from the beginning (no snapshot), in a fresh process…");
    const replay = await open_in_child(dir);
    if (replay.hash !== final_hash) throw new Error("replayed state differs");
    const replay_per_s = replay.commands / replay.open_s;
    log(
      `  replay: ${fmt(replay_per_s)} commands/s (${fmt(replay.commands)} in ${replay.open_s.toFixed(2)} s; process start to open ${replay.wall_s.toFixed(2)} s)`,
    );
    log("  replay from the beginning in this process (the only replay figure before session 11)…");
    const t1 = performance.now();
    node = await open(dir, Number.MAX_SAFE_INTEGER);
    const in_process_per_s = node.last_applied_seq / ((performance.now() - t1) / 1000);
    if (node.state_hash() !== final_hash) throw new Error("replayed state differs");
    await node.close();
    log(`  replay in this process: ${fmt(in_process_per_s)} commands/s`);
    console.log(
      JSON.stringify({
        durable_commands_per_s: Math.round(durable),
        durable_cold_commands_per_s: Math.round(cold),
        durable_batched_commands_per_s: Math.round(batched),
        ack_p50_ms: lat.p50,
        ack_p99_ms: lat.p99,
        ack_p999_ms: lat.p999,
        quarter_load_ack_p50_ms: quarter.p50,
        quarter_load_ack_p99_ms: quarter.p99,
        replay_commands_per_s: Math.round(replay_per_s),
        replay_in_process_commands_per_s: Math.round(in_process_per_s),
        restart_s: Math.round(restart_s * 100) / 100,
        restart_open_s: Math.round(restart.open_s * 100) / 100,
        journal_commands: node.last_applied_seq,
        in_flight: IN_FLIGHT,
        zero_fill_bytes: ZERO_FILL_BYTES === undefined ? "default" : Number(ZERO_FILL_BYTES),
        pacing: SPIN ? "spin" : "timer",
        fdatasync_per_s: Math.round(fsync_per_s),
        quick,
      }),
    );
  } finally {
    if (KEEP) log(`  kept the data directory (--keep): ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

const open_child_dir = arg("--open-child");
if (open_child_dir !== undefined) await open_child(open_child_dir);
else await main();
