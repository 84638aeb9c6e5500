/**
 * `npm run bench:api [-- --quick]`: the Binance-compatible API under load, against baselines measured
 * in the same run on the same machine (figures of a shared machine only mean something as ratios).
 *  1. signed POST /api/v3/order, durable acks, every request freshly signed: saturating throughput,
 *     as a ratio to a bare node:http server answering a fixed JSON (same load generator, same
 *     connections); accepted/sent counts.
 *  2. p50/p99 at half of that throughput.
 *  3. WebSocket API order.place on logged-on sessions, as a ratio to a bare `ws` server.
 *  4. market-data fan-out: 5,000 WebSocket clients on btcusdt@depth@100ms while orders trade;
 *     p99 of receive time minus the event's E.
 *  5. overload at 3× the saturating rate: how the excess is refused and the accepted orders' p99.
 *  2b. history reads beside trading (run right after 2): orders at half load while clients read history (klines,
 *     aggTrades, allOrders, myTrades; 1,000 rows each) at READS_PER_S; the orders' p99 against
 *     phase 2's, which had no reads.
 * The server is a real `holdfast start` process; the load generator and the baselines are processes
 * of their own. Progress on stderr; the last stdout line is one JSON object.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { admin_request } from "../../src/admin/client.js";
import { histogram_of, type MetricJson } from "../../src/metrics/summary.js";
import type { BenchKey, Job, LoadResult } from "./load.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
/** The value after flag `name`, if given. */
const arg = (name: string): string | undefined =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
/** --profile DIR: the server writes a V8 CPU profile there (open it in Chrome DevTools). */
const profile_dir = arg("--profile");
/** --server-node-flags "F …": V8/Node flags for the Holdfast server process only (A/B experiments). */
const server_node_flags = (arg("--server-node-flags") ?? "").split(" ").filter((f) => f.length > 0);
/** --only rest: just the REST phases (for profiling). */
const only_rest = args.includes("--only-rest");
/** --only-ws: just the WebSocket API phase (for profiling). */
const only_ws = args.includes("--only-ws");
/** --only-fanout RATE: just the fan-out phase, with orders trading at RATE/s (for profiling). */
const only_fanout = arg("--only-fanout") === undefined ? null : Number(arg("--only-fanout"));
/** --only-reads: just phases 1 (Holdfast only), 2 and 2b (history reads beside orders). */
const only_reads = args.includes("--only-reads");
/** --reads-per-s N: history reads a second in phase 6 (default 50). */
const READS_PER_S = Number(arg("--reads-per-s") ?? 50);
const DURATION_S = quick ? 4 : 12;
/** Phase 2b: how long the readers run before the orders start. */
const READS_LEAD_S = 3;
const FANOUT_CLIENTS = 5000;
/** --connections N: how many the REST load generator keeps busy (default 64). */
const CONNECTIONS = Number(arg("--connections") ?? 64);
/** Overload: more connections than the gateway lets orders in flight (IN_FLIGHT_MAX_DEFAULT). */
const OVERLOAD_CONNECTIONS = 512;
const WS_SESSIONS = 16;
const WS_WINDOW = 8;
const BIN = fileURLToPath(new URL("../../../bin/holdfast.js", import.meta.url));
const LOAD = fileURLToPath(new URL("./load.js", import.meta.url));
const BASELINES = fileURLToPath(new URL("./baselines.js", import.meta.url));
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");
const children: ChildProcess[] = [];

/** Spawns a process and resolves with the first match of `ready` in its stdout. */
function start(
  file: string,
  argv: string[],
  ready: RegExp,
  node_flags: string[] = [],
): Promise<{ child: ChildProcess; match: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...node_flags, file, ...argv], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    let err = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = ready.exec(out);
      if (m !== null) resolve({ child, match: m[1] });
    });
    child.stderr?.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("exit", (code) => reject(new Error(`${file} exited with ${code}: ${err.slice(-2000)}`)));
  });
}

/** Runs one load job in its own process (`signal` ends it early: the promise then rejects). */
function load(job: Job, signal?: AbortSignal): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "inherit"],
      signal,
    });
    child.on("error", reject); // cannot start, or aborted
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1) as string) as LoadResult);
    });
  });
}

async function admin(socket: string, method: "GET" | "POST", path: string, body?: unknown) {
  const r = await admin_request(socket, method, path, body);
  if (r.status !== 200) throw new Error(`admin ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as Record<string, unknown>;
}

/** Eight funded accounts, each with HMAC and Ed25519 keys of the "bench" tier. */
async function bench_keys(socket: string): Promise<BenchKey[]> {
  const keys: BenchKey[] = [];
  for (let i = 0; i < 8; i++) {
    const account = (await admin(socket, "POST", "/v1/users", {})).account as number;
    await admin(socket, "POST", "/v1/deposit", { account, asset: "USDT", amount: "1000000" });
    await admin(socket, "POST", "/v1/deposit", { account, asset: "BTC", amount: "100" });
    const hmac = await admin(socket, "POST", "/v1/api-keys", { account, kind: "HMAC", tier: "bench" });
    const pair = generateKeyPairSync("ed25519");
    const ed = await admin(socket, "POST", "/v1/api-keys", {
      account,
      kind: "ED25519",
      public_key: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
      tier: "bench",
    });
    keys.push({
      account,
      api_key: hmac.apiKey as string,
      secret: hmac.secretKey as string,
      ed_api_key: ed.apiKey as string,
      ed_private_pem: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    });
  }
  return keys;
}

const describe_statuses = (r: LoadResult): string =>
  Object.entries(r.statuses)
    .map(([k, v]) => `${k}: ${fmt(v)}`)
    .join(", ");

const ORDER_ROUTE = { method: "POST", route: "/api/v3/order" };
/** An open-loop phase's first second is not counted (connections opening, code compiling). */
const WARM_UP_MS = 1000;
/** Seconds (a bucket bound) as milliseconds. */
const ms = (seconds: number): string =>
  seconds === Number.POSITIVE_INFINITY ? "∞" : `${+(seconds * 1000).toPrecision(3)} ms`;

/** 5,000 clients on a busy market's @depth@100ms while `traffic` trades on it. */
async function fanout(base: string, traffic: Job): Promise<LoadResult> {
  log(
    `4. fan-out: ${fmt(FANOUT_CLIENTS)} clients on btcusdt@depth@100ms, orders trading at ${fmt(traffic.rate ?? 0)}/s`,
  );
  // The trading runs until the measurement is over, however long the 5,000 handshakes take (a fixed
  // duration once ended before the clients were connected: no updates, and a p99 of 0 reported).
  const stop = new AbortController();
  const running = load({ ...traffic, duration_s: DURATION_S + 120 }, stop.signal);
  running.catch(() => undefined);
  const fan = await load({
    mode: "fanout",
    base,
    duration_s: DURATION_S,
    connections: 0,
    keys: [],
    clients: FANOUT_CLIENTS,
    stream: "btcusdt@depth@100ms",
  }).finally(() => stop.abort());
  log(
    `   ${fmt(fan.messages ?? 0)} messages; receive − E: p50 ${fan.p50_ms.toFixed(1)} ms, p99 ${fan.p99_ms.toFixed(1)} ms`,
  );
  if ((fan.messages ?? 0) === 0)
    throw new Error("fan-out: no depth update reached the clients while measuring");
  return fan;
}

/** Orders at half load (`orders`) while history is read at READS_PER_S, from a process of its own. */
async function reads_phase(
  base: string,
  orders: Job,
  keys: BenchKey[],
): Promise<{ orders: LoadResult; reads: LoadResult }> {
  log(
    `2b. history reads beside trading: ${fmt(READS_PER_S)} reads/s of 1,000 rows, orders at ${fmt(orders.rate ?? 0)}/s`,
  );
  // The readers start first: a process starting (and its first reads, on cold pages) beside the
  // orders' first second measured the start, not the steady state (p99 212 ms at 1 read/s, --quick).
  const reading = load({
    mode: "reads",
    base,
    duration_s: READS_LEAD_S + DURATION_S + 2,
    connections: 16,
    keys,
    rate: READS_PER_S,
  });
  await new Promise((r) => setTimeout(r, READS_LEAD_S * 1000));
  // and the orders' first seconds are not counted: with the readers busy, the order generator's own
  // start (64 connections, its code compiling on a busy machine) took 2 s, its orders late from the
  // first (the worst answer of each second 444, 339, 98, then 20-50 ms, in a run timed per second)
  const o = await load({ ...orders, warm_up_ms: 3000 });
  const r = await reading;
  log(
    `   orders p50 ${o.p50_ms.toFixed(2)} ms, p99 ${o.p99_ms.toFixed(2)} ms (${describe_statuses(o)}); reads p50 ${r.p50_ms.toFixed(1)} ms, p99 ${r.p99_ms.toFixed(1)} ms (${describe_statuses(r)})`,
  );
  return { orders: o, reads: r };
}

/** WebSocket API order.place on logged-on sessions, the bare `ws` server first. */
async function ws_phase(
  base: string,
  bare_ws: string,
  keys: BenchKey[],
): Promise<{ ws: LoadResult; bare: LoadResult; ratio: number }> {
  log(`3. WebSocket API order.place, ${WS_SESSIONS} sessions × ${WS_WINDOW} outstanding`);
  const ws_job = (target: string): Job => ({
    mode: "ws",
    base: target,
    duration_s: DURATION_S,
    connections: WS_SESSIONS,
    window: WS_WINDOW,
    keys,
  });
  const bare = await load(ws_job(bare_ws));
  const ws = await load(ws_job(base));
  const ratio = ws.accepted_per_s / bare.accepted_per_s;
  log(
    `   bare ws: ${fmt(bare.accepted_per_s)}/s; holdfast: ${fmt(ws.accepted_per_s)}/s = ${ratio.toFixed(2)} × bare (${describe_statuses(ws)})`,
  );
  return { ws, bare, ratio };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(process.cwd(), ".bench-api-"));
  try {
    log(`bench:api ${quick ? "(quick) " : ""}— ${DURATION_S} s per phase, ${CONNECTIONS} connections`);
    const node = await start(
      BIN,
      // the fan-out phase's 5,000 clients all come from 127.0.0.1
      ["start", "--data-dir", dir, "--port", "0", "--demo", "--no-market-maker", "--connections-per-ip", "0"],
      /node ready at (http:\/\/[0-9.:]+)/,
      [
        ...server_node_flags,
        ...(profile_dir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profile_dir]),
      ],
    );
    const base = node.match;
    const socket = join(dir, "admin.sock");
    const keys = await bench_keys(socket);
    const bare_http = `http://127.0.0.1:${(await start(BASELINES, ["http"], /port (\d+)/)).match}`;
    const bare_ws = `http://127.0.0.1:${(await start(BASELINES, ["ws"], /port (\d+)/)).match}`;
    log(`holdfast at ${base} (data ${dir}); baselines at ${bare_http}, ${bare_ws}`);

    const rest = (target: string, rate?: number, connections = CONNECTIONS): Job => ({
      mode: "rest",
      base: target,
      duration_s: DURATION_S,
      connections,
      keys,
      ...(rate === undefined ? {} : { rate: Math.round(rate) }),
    });

    if (only_fanout !== null) {
      const fan = await fanout(base, rest(base, only_fanout));
      console.log(JSON.stringify({ fanout_p50_ms: fan.p50_ms, fanout_p99_ms: fan.p99_ms }));
      return;
    }
    if (only_ws) {
      const { ws, ratio } = await ws_phase(base, bare_ws, keys);
      console.log(JSON.stringify({ ws_orders_per_s: Math.round(ws.accepted_per_s), ws_ratio: ratio }));
      return;
    }
    log("1. REST orders, saturating: bare node:http server");
    const bare = only_reads ? null : await load(rest(bare_http));
    if (bare !== null) log(`   bare: ${fmt(bare.accepted_per_s)}/s`);
    log("   holdfast: signed POST /api/v3/order, durable acks");
    const full = await load(rest(base));
    const ratio = bare === null ? Number.NaN : full.accepted_per_s / bare.accepted_per_s;
    log(
      `   holdfast: ${fmt(full.accepted_per_s)}/s = ${ratio.toFixed(2)} × bare; ${fmt(full.accepted)} of ${fmt(full.sent)} accepted (${describe_statuses(full)})`,
    );

    const half_rate = full.accepted_per_s / 2;
    log(`2. half load: ${fmt(half_rate)} orders/s`);
    // The node's own view of the same orders (its metrics, read through the admin socket once the
    // load's uncounted warm-up is over and again at its end): how much of the tail is inside it.
    const metrics = async (): Promise<MetricJson[]> =>
      (await admin_request(socket, "GET", "/v1/metrics?format=json")).body as MetricJson[];
    const seen_inside = async (job: Job) => {
      const running = load({ ...job, warm_up_ms: WARM_UP_MS });
      await new Promise((r) => setTimeout(r, WARM_UP_MS));
      const before = await metrics();
      const result = await running;
      const after = await metrics();
      return {
        result,
        inside: {
          request: histogram_of(after, "holdfast_http_request_seconds", ORDER_ROUTE, before),
          ack: histogram_of(after, "holdfast_command_ack_seconds", {}, before),
          write: histogram_of(after, "holdfast_journal_write_seconds", {}, before),
        },
      };
    };
    const { result: half, inside } = await seen_inside(rest(base, half_rate));
    log(`   p50 ${half.p50_ms.toFixed(2)} ms, p99 ${half.p99_ms.toFixed(2)} ms (${describe_statuses(half)})`);
    log(
      `   inside the node (its metrics; bucket bounds): request p50 ≤ ${ms(inside.request.quantile(0.5))}, p99 ≤ ${ms(inside.request.quantile(0.99))} ` +
        `(${fmt(inside.request.count)} requests); ack p99 ≤ ${ms(inside.ack.quantile(0.99))}; journal write p99 ≤ ${ms(inside.write.quantile(0.99))}`,
    );

    const with_reads = only_rest ? null : await reads_phase(base, rest(base, half_rate), keys);
    if (only_reads) {
      console.log(
        JSON.stringify({
          p99_ms: half.p99_ms,
          reads_beside_p99_ms: with_reads?.orders.p99_ms,
          reads_p99_ms: with_reads?.reads.p99_ms,
        }),
      );
      return;
    }
    if (only_rest || bare === null) {
      console.log(
        JSON.stringify({
          rest_orders_per_s: Math.round(full.accepted_per_s),
          p99_ms: half.p99_ms,
          server_request_p99_ms: inside.request.quantile(0.99) * 1000,
          server_ack_p99_ms: inside.ack.quantile(0.99) * 1000,
        }),
      );
      return;
    }
    const { ws, bare: ws_bare, ratio: ws_ratio } = await ws_phase(base, bare_ws, keys);

    const fan = await fanout(base, rest(base, half_rate / 2));

    const over_rate = full.accepted_per_s * 3;
    log(`5. overload: ${fmt(over_rate)} orders/s (3 × saturating) on ${OVERLOAD_CONNECTIONS} connections`);
    const { result: over, inside: over_inside } = await seen_inside(
      rest(base, over_rate, OVERLOAD_CONNECTIONS),
    );
    const alive = await fetch(`${base}/api/v3/ping`).then(
      (r) => r.status === 200,
      () => false,
    );
    log(
      `   sent ${fmt(over.sent)} (${fmt(over.sent / DURATION_S)}/s): ${describe_statuses(over)}; accepted p99 ${over.p99_ms.toFixed(2)} ms = ${(over.p99_ms / half.p99_ms).toFixed(2)} × half-load p99; refused p99 ${over.refused_p99_ms?.toFixed(2) ?? "-"} ms; server ${alive ? "alive" : "DOWN"}`,
    );
    log(
      `   inside the node: order requests (accepted and refused) p99 ≤ ${ms(over_inside.request.quantile(0.99))}, ` +
        `acks p99 ≤ ${ms(over_inside.ack.quantile(0.99))}; the rest of an accepted order's wait is before the node reads it`,
    );
    const result = {
      rest_orders_per_s: Math.round(full.accepted_per_s),
      bare_http_per_s: Math.round(bare.accepted_per_s),
      reads_per_s: READS_PER_S,
      reads_beside_p99_ms: Number(with_reads?.orders.p99_ms.toFixed(3)),
      reads_p99_ms: Number(with_reads?.reads.p99_ms.toFixed(3)),
      ratio: Number(ratio.toFixed(3)),
      p50_ms: Number(half.p50_ms.toFixed(3)),
      p99_ms: Number(half.p99_ms.toFixed(3)),
      server_request_p99_ms: inside.request.quantile(0.99) * 1000,
      server_ack_p99_ms: inside.ack.quantile(0.99) * 1000,
      overload_server_request_p99_ms: over_inside.request.quantile(0.99) * 1000,
      overload_server_ack_p99_ms: over_inside.ack.quantile(0.99) * 1000,
      ws_orders_per_s: Math.round(ws.accepted_per_s),
      bare_ws_per_s: Math.round(ws_bare.accepted_per_s),
      ws_ratio: Number(ws_ratio.toFixed(3)),
      fanout_p99_ms: Number(fan.p99_ms.toFixed(1)),
      overload_p99_ms: Number(over.p99_ms.toFixed(3)),
      accepted: full.accepted,
      sent: full.sent,
      overload_sent: over.sent,
      overload_accepted: over.accepted,
      overload_refused_p99_ms: over.refused_p99_ms,
      server_alive_after_overload: alive,
      quick,
    };
    console.log(JSON.stringify(result));
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  log(`bench:api: ${error instanceof Error ? error.stack : String(error)}`);
  for (const c of children) c.kill("SIGKILL");
  process.exit(1);
});
