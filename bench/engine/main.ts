/**
 * `npm run bench:engine [-- --quick]`: Holdfast's engine against nodejs-order-book@10.1.1 on identical
 * seeded streams, in one run. Prints ops/s for both and their ratio, p99.9 single-operation latency,
 * a same-work check (both end with the same resting orders), and RSS with 1,000,000 resting orders.
 * One JSON line per workload. See docs/BENCHMARKS.md.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { OrderBook, Side as PeerSide } from "nodejs-order-book";
import { Engine } from "../../src/engine/engine.js";
import { SIDE_BUY } from "../../src/engine/types.js";
import { Prng } from "../../src/sim/prng.js";
import { RingSink } from "./ring_sink.js";
import {
  BENCH_LIMITS,
  insert,
  MID_TICKS,
  mixed,
  OP_CANCEL,
  type Stream,
  setup_commands,
  type Workload,
} from "./workload.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const SEED = Number(arg("--seed") ?? 42);
const PRELOAD = Number(arg("--preload") ?? 50_000);
const OPS = Number(arg("--ops") ?? (quick ? 200_000 : 1_000_000));
const RESTING = 1_000_000;
const ACCOUNTS = quick ? 200_000 : 1_000_000;
const gc = (globalThis as { gc?: () => void }).gc;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Order slots reserved (and touched) at start: what the run can hold, as an operator sizes a node. */
let preallocated = PRELOAD + OPS;

function fresh_engine(sink: RingSink): Engine {
  const e = new Engine({ ...BENCH_LIMITS, orders_preallocated: preallocated }, sink);
  for (const c of setup_commands()) e.execute(c);
  return e;
}

function preload_holdfast(e: Engine, s: Stream): void {
  for (let i = 0; i < s.length; i++) e.execute(s.command(i));
}

interface HoldfastRun {
  ops_per_s: number;
  engine: Engine;
  sink: RingSink;
}

function run_holdfast(w: Workload): HoldfastRun {
  const sink = new RingSink();
  const e = fresh_engine(sink);
  preload_holdfast(e, w.preload);
  const ops = w.ops;
  const rejects_before = sink.rejects;
  gc?.();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops.length; i++) e.execute(ops.command(i));
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink.rejects !== rejects_before)
    throw new Error(`holdfast rejected ${sink.rejects - rejects_before} operations`);
  return { ops_per_s: (ops.length * 1e9) / ns, engine: e, sink };
}

/** A second pass timing every operation on its own. */
function latency_holdfast(w: Workload): { p50_us: number; p99_us: number; p999_us: number; max_us: number } {
  const sink = new RingSink();
  const e = fresh_engine(sink);
  preload_holdfast(e, w.preload);
  const ops = w.ops;
  const lat = new Float64Array(ops.length);
  gc?.();
  for (let i = 0; i < ops.length; i++) {
    const cmd = ops.command(i);
    const t = performance.now();
    e.execute(cmd);
    lat[i] = performance.now() - t;
  }
  lat.sort();
  const at = (q: number): number =>
    Math.round(lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] * 1000 * 100) / 100;
  return { p50_us: at(0.5), p99_us: at(0.99), p999_us: at(0.999), max_us: at(1) };
}

/**
 * The machine's own timing floor: the same per-operation timing around a plain loop calibrated to
 * take as long as the engine's mean operation. On this VM every timer tick (about 1 ms) stalls the
 * running code for tens of microseconds, so whatever takes ~1 µs has about one run in a thousand
 * slowed: the floor shows how much of a p99.9 is the machine's.
 */
function jitter_baseline(count: number, mean_us: number): { p50_us: number; p999_us: number } {
  const lat = new Float64Array(count);
  const data = new Float64Array(1024);
  let sink = 0;
  let spins = 64;
  // Enough rounds for the loop to be optimised before its speed is trusted (a calibration taken while
  // it still ran interpreted once gave a loop ten times too short).
  for (let calibrate = 0; calibrate < 24; calibrate++) {
    const t = performance.now();
    for (let i = 0; i < 5000; i++) for (let j = 0; j < spins; j++) sink += data[(i + j) & 1023];
    const per_us = ((performance.now() - t) * 1000) / 5000;
    spins = Math.max(1, Math.round((spins * mean_us) / Math.max(per_us, 0.001)));
  }
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    for (let j = 0; j < spins; j++) sink += data[(i + j) & 1023];
    lat[i] = performance.now() - t;
  }
  if (sink !== 0) log("(jitter baseline checksum)");
  lat.sort();
  const at = (q: number): number => Math.round(lat[Math.floor(q * (lat.length - 1))] * 1000 * 100) / 100;
  return { p50_us: at(0.5), p999_us: at(0.999) };
}

function peer_limit(ob: OrderBook, s: Stream, i: number): void {
  ob.limit({
    id: s.peer_id[i],
    side: s.side[i] === SIDE_BUY ? PeerSide.BUY : PeerSide.SELL,
    size: s.quantity_lots[i],
    price: s.price_ticks[i],
  });
}

function run_peer(w: Workload): { ops_per_s: number; book: OrderBook } {
  const ob = new OrderBook();
  for (let i = 0; i < w.preload.length; i++) peer_limit(ob, w.preload, i);
  const ops = w.ops;
  gc?.();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops.length; i++) {
    if (ops.kind[i] === OP_CANCEL) ob.cancel(ops.peer_id[i]);
    else peer_limit(ob, ops, i);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { ops_per_s: (ops.length * 1e9) / ns, book: ob };
}

/** Resting orders as sorted "id:side:price:quantity" lines, hashed: the same-work check. */
function holdfast_resting(e: Engine): { count: number; hash: string } {
  const lines: string[] = [];
  const m = e.markets[0];
  for (const book of [m.bids, m.asks]) {
    for (let i = 0; i < book.count; i++) {
      for (let s = e.levels.head[book.levels[i]]; s !== 0; s = e.orders.next(s)) {
        lines.push(
          `${e.orders.id(s)}:${book.side === SIDE_BUY ? "buy" : "sell"}:${e.orders.price_ticks(s)}:${e.orders.remaining_lots(s)}`,
        );
      }
    }
  }
  return digest(lines);
}

function peer_resting(ob: OrderBook): { count: number; hash: string } {
  const snap = ob.snapshot();
  const lines: string[] = [];
  for (const [name, side] of [
    ["buy", snap.bids],
    ["sell", snap.asks],
  ] as const) {
    for (const level of side)
      for (const o of level.orders) lines.push(`${o.id}:${name}:${o.price}:${o.size}`);
  }
  return digest(lines);
}

function digest(lines: string[]): { count: number; hash: string } {
  lines.sort();
  return {
    count: lines.length,
    hash: createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, 16),
  };
}

const HOLDFAST_RUNS = 3;

function throughput_workload(w: Workload): void {
  log(
    `\n[${w.name}] ${w.ops.length.toLocaleString("en-US")} operations on a book preloaded with ${w.preload.length.toLocaleString("en-US")} orders`,
  );
  // This machine is shared and its speed drifts by tens of percent from one second to the next:
  // Holdfast runs three times (each on a fresh engine) and reports the median; the peer, about 40x
  // slower, runs once.
  const runs: HoldfastRun[] = [];
  for (let r = 0; r < HOLDFAST_RUNS; r++) {
    log(`  holdfast: run ${r + 1}/${HOLDFAST_RUNS}…`);
    runs.push(run_holdfast(w));
  }
  const speeds = runs.map((r) => r.ops_per_s).sort((a, b) => a - b);
  const ours = runs.find((r) => r.ops_per_s === speeds[1]) as HoldfastRun;
  const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");
  log(
    `  holdfast: ${fmt(ours.ops_per_s)} ops/s median (runs ${speeds.map(fmt).join(", ")}; ${fmt(ours.sink.trades)} trades, ${fmt(ours.sink.events)} events)`,
  );
  log("  holdfast: timing each operation…");
  const lat = latency_holdfast(w);
  log(
    `  holdfast latency: p50 ${lat.p50_us} µs, p99 ${lat.p99_us} µs, p99.9 ${lat.p999_us} µs, max ${lat.max_us} µs`,
  );
  const floor = jitter_baseline(w.ops.length, 1e6 / ours.ops_per_s);
  log(
    `  machine timing floor (a plain loop as long as the mean operation, timed the same way): p50 ${floor.p50_us} µs, p99.9 ${floor.p999_us} µs`,
  );
  log("  peer (nodejs-order-book@10.1.1): running…");
  const peer = run_peer(w);
  log(`  peer: ${Math.round(peer.ops_per_s).toLocaleString("en-US")} ops/s`);
  const a = holdfast_resting(ours.engine);
  const b = peer_resting(peer.book);
  const same = a.count === b.count && a.hash === b.hash;
  log(
    `  same work: holdfast rests ${a.count.toLocaleString("en-US")} orders (${a.hash}), peer ${b.count.toLocaleString("en-US")} (${b.hash}): ${same ? "MATCH" : "MISMATCH"}`,
  );
  const ratio = ours.ops_per_s / peer.ops_per_s;
  log(`  ratio: ${ratio.toFixed(1)}x`);
  console.log(
    JSON.stringify({
      workload: w.name,
      holdfast_ops_per_s: Math.round(ours.ops_per_s),
      holdfast_runs_ops_per_s: speeds.map(Math.round),
      peer_ops_per_s: Math.round(peer.ops_per_s),
      ratio: Math.round(ratio * 10) / 10,
      p50_us: lat.p50_us,
      p99_us: lat.p99_us,
      p999_us: lat.p999_us,
      floor_p999_us: floor.p999_us,
      ops: w.ops.length,
      preload: w.preload.length,
      same_resting_orders: same,
      resting_orders: a.count,
      quick,
    }),
  );
  if (!same) process.exitCode = 1;
}

/** Child process: build RESTING non-crossing orders and report RSS. */
function resting_child(which: string): void {
  const rng = new Prng(SEED);
  const orders = Number(arg("--orders") ?? RESTING);
  const base_rss = process.memoryUsage().rss;
  let count = 0;
  preallocated = orders;
  if (which === "holdfast") {
    const e = fresh_engine(new RingSink());
    for (let i = 0; i < orders; i++) {
      const side = rng.chance(0.5) ? 0 : 1;
      const offset = rng.between(1, 1000);
      e.execute({
        type: "place_order",
        ts_ms: 1,
        account: rng.below(1000),
        market: 0,
        side,
        order_type: 0,
        tif: 0,
        price_ticks: side === 0 ? MID_TICKS - offset : MID_TICKS + offset,
        quantity_lots: rng.between(1, 100),
        quote_units: 0,
        stop_price_ticks: 0,
        client_order_id: null,
        stp: 0,
      });
    }
    count = e.orders.live;
  } else {
    const ob = new OrderBook();
    for (let i = 0; i < orders; i++) {
      const side = rng.chance(0.5) ? 0 : 1;
      const offset = rng.between(1, 1000);
      rng.below(1000);
      ob.limit({
        id: String(i + 1),
        side: side === 0 ? PeerSide.BUY : PeerSide.SELL,
        size: rng.between(1, 100),
        price: side === 0 ? MID_TICKS - offset : MID_TICKS + offset,
      });
      count++;
    }
    (globalThis as { keep?: unknown }).keep = ob;
  }
  gc?.();
  gc?.();
  const rss = process.memoryUsage().rss;
  console.log(
    JSON.stringify({
      which,
      orders: count,
      rss_mb: Math.round(rss / 1048576),
      base_rss_mb: Math.round(base_rss / 1048576),
    }),
  );
}

function resting_workload(): void {
  log(
    `\n[resting] memory with ${RESTING.toLocaleString("en-US")} resting orders (each engine in its own process)`,
  );
  const self = fileURLToPath(import.meta.url);
  const measure = (which: string): { rss_mb: number; orders: number } => {
    log(`  ${which}: building…`);
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "--max-old-space-size=8192", self, "--child", which, "--orders", String(RESTING)],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const r = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { rss_mb: number; orders: number };
    log(`  ${which}: ${r.orders.toLocaleString("en-US")} orders, RSS ${r.rss_mb} MB`);
    return r;
  };
  const ours = measure("holdfast");
  const peer = measure("peer");
  console.log(
    JSON.stringify({
      workload: "resting",
      orders: ours.orders,
      rss_mb: ours.rss_mb,
      peer_rss_mb: peer.rss_mb,
      ratio: Math.round((peer.rss_mb / ours.rss_mb) * 10) / 10,
      quick,
    }),
  );
}

/**
 * Child process: ACCOUNTS funded accounts in an engine, then the time a full collection takes (what a
 * major GC pause scales with) against the same process's before any account existed, and the heap.
 * Until session 11 each account was an object with four small typed arrays of its own (~970 bytes of
 * JS heap each, a 400-500 ms full collection at a million accounts); balances and counts now live in
 * one array of fixed-size records (engine/accounts.ts, Ledger).
 */
function accounts_child(): void {
  const count = Number(arg("--accounts") ?? ACCOUNTS);
  const full_gc_ms = (): number => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      gc?.();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[2];
  };
  const e = new Engine({ ...BENCH_LIMITS, accounts_max: count + 1000 }, new RingSink());
  for (const c of setup_commands()) e.execute(c);
  gc?.();
  const baseline_ms = full_gc_ms();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = e.accounts.length; i < count; i++) {
    e.execute({ type: "create_account", ts_ms: 1 });
    e.execute({ type: "deposit", ts_ms: 1, account: i, asset: 1, amount_units: 1_000_000 });
  }
  const create_ms = performance.now() - t0;
  if (e.accounts.length !== count) throw new Error(`made ${e.accounts.length} accounts, not ${count}`);
  const gc_ms = full_gc_ms();
  (globalThis as { keep?: unknown }).keep = e;
  console.log(
    JSON.stringify({
      accounts: count,
      create_ms: Math.round(create_ms),
      heap_mb: Math.round((process.memoryUsage().heapUsed - heap0) / 1048576),
      full_gc_ms: Math.round(gc_ms * 10) / 10,
      baseline_full_gc_ms: Math.round(baseline_ms * 10) / 10,
    }),
  );
}

function accounts_workload(): void {
  log(
    `\n[accounts] ${ACCOUNTS.toLocaleString("en-US")} funded accounts: heap and full-collection time (own process)`,
  );
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--max-old-space-size=8192", self, "--child", "accounts", "--accounts", String(ACCOUNTS)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  const r = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as {
    accounts: number;
    create_ms: number;
    heap_mb: number;
    full_gc_ms: number;
    baseline_full_gc_ms: number;
  };
  log(
    `  ${r.accounts.toLocaleString("en-US")} accounts made in ${r.create_ms} ms; JS heap +${r.heap_mb} MB; full collection ${r.full_gc_ms} ms (${r.baseline_full_gc_ms} ms before any account)`,
  );
  console.log(JSON.stringify({ workload: "accounts", ...r, quick }));
}

const child = arg("--child");
if (child === "accounts") {
  accounts_child();
} else if (child !== undefined) {
  resting_child(child);
} else {
  const only = arg("--workload");
  log(
    `engine benchmark: seed ${SEED}, ${quick ? "quick" : "full"} (${OPS.toLocaleString("en-US")} operations per throughput workload), node ${process.version}${gc ? "" : " (run with --expose-gc for steadier figures)"}`,
  );
  if (only === undefined || only === "mixed") throughput_workload(mixed(SEED, PRELOAD, OPS));
  if (only === undefined || only === "insert") throughput_workload(insert(SEED, PRELOAD, OPS));
  if (only === undefined || only === "resting") resting_workload();
  if (only === undefined || only === "accounts") accounts_workload();
}
