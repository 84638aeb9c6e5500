/**
 * The benchmark's load generator, run as its own process so that it does not share an event loop
 * with the server it measures: `node load.js '<job JSON>'`. Prints progress to stderr and one JSON
 * result line to stdout. Jobs:
 *  - rest: signed POST /api/v3/order over `connections` keep-alive connections (undici), every
 *    request freshly signed (HMAC-SHA256, a new timestamp). Closed loop (each connection sends when
 *    answered) for throughput; open loop at `rate` requests/s (orders due at an even pace, latency
 *    from when each was due) for latency. Accepted (2xx) and refused latencies apart.
 *  - ws: order.place on WebSocket API sessions logged on with Ed25519 keys (session.logon), each
 *    session keeping `window` requests outstanding.
 *  - fanout: `clients` WebSocket clients on one stream; receive time minus the event's E.
 *  - reads: history reads at `rate` requests/s (open loop), taking turns: klines 1s and 1m, aggTrades
 *    and, signed, allOrders and myTrades, 1,000 rows each (what chart pages and bots ask for).
 * Orders alternate between buyer and seller accounts at a fixed price so that they trade and the
 * book stays small: the engine matches, settles and journals every one.
 */
import { createHmac, createPrivateKey, sign } from "node:crypto";
import hdr from "hdr-histogram-js";
import { Pool } from "undici";
import WebSocket from "ws";

export interface BenchKey {
  account: number;
  api_key: string;
  secret: string;
  ed_api_key: string;
  ed_private_pem: string;
}

export interface Job {
  mode: "rest" | "ws" | "fanout" | "reads";
  /** http://host:port (rest, ws: the ws:// URL is derived) */
  base: string;
  duration_s: number;
  connections: number;
  /** rest, reads: overall requests per second to hold (absent, rest: as fast as answers come) */
  rate?: number;
  /** rest: answers not counted at the start (default WARM_UP_MS) */
  warm_up_ms?: number;
  /** ws: requests outstanding per session */
  window?: number;
  keys: BenchKey[];
  /** fanout */
  clients?: number;
  stream?: string;
}

export interface LoadResult {
  sent: number;
  accepted: number;
  statuses: Record<string, number>;
  accepted_per_s: number;
  p50_ms: number;
  p99_ms: number;
  refused_p99_ms: number | null;
  messages?: number;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const WARM_UP_MS = 1000;
const histogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });

/** Each account buys and sells in turn, so orders meet and trade and no balance runs dry. */
const side_of = (n: number): string => (n % 2 === 0 ? "BUY" : "SELL");

let order_seq = 0;
/** The next order's query string, signed; keys take turns. */
function signed_order(keys: BenchKey[]): { path: string; api_key: string } {
  const n = order_seq++;
  const key = keys[n % keys.length];
  const side = side_of(Math.floor(n / keys.length) + n);
  const text = `symbol=BTCUSDT&side=${side}&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000&newOrderRespType=ACK&timestamp=${Date.now()}`;
  const signature = createHmac("sha256", key.secret).update(text).digest("hex");
  return { path: `/api/v3/order?${text}&signature=${signature}`, api_key: key.api_key };
}

async function rest(job: Job): Promise<LoadResult> {
  const pool = new Pool(job.base, { connections: job.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const accepted = histogram();
  const refused = histogram();
  const statuses: Record<string, number> = {};
  let sent = 0;
  let outstanding = 0;
  let drained: (() => void) | null = null;
  /** Answers are counted only after the warm-up (connections opened, code paths compiled). */
  let recording = false;
  /** One order; its latency counts from when it was due, so a late sender does not hide queueing. */
  const one = async (due_ms: number): Promise<void> => {
    const counted = recording;
    if (counted) sent++;
    outstanding++;
    const o = signed_order(job.keys);
    try {
      const r = await pool.request({ method: "POST", path: o.path, headers: { "X-MBX-APIKEY": o.api_key } });
      // a refusal is counted with its Binance code ("400 -2010"): which refusals, not only how many
      let label = String(r.statusCode);
      if (r.statusCode >= 300) {
        const text = await r.body.text();
        const code = /"code":(-?\d+)/.exec(text)?.[1];
        if (code !== undefined) label += ` ${code}`;
      } else await r.body.dump();
      if (!counted) return;
      statuses[label] = (statuses[label] ?? 0) + 1;
      const us = Math.max(1, Math.round((performance.now() - due_ms) * 1000));
      (r.statusCode >= 200 && r.statusCode < 300 ? accepted : refused).recordValue(us);
    } catch {
      if (counted) statuses.errors = (statuses.errors ?? 0) + 1;
    } finally {
      outstanding--;
      if (outstanding === 0) drained?.();
    }
  };
  // warm-up: the first second's answers were 40-150 ms late in every run (64 connections opening,
  // both processes compiling) and measure start-up, not the steady state
  const warm_end = performance.now() + (job.warm_up_ms ?? WARM_UP_MS);
  if (job.rate === undefined)
    await Promise.all(
      Array.from({ length: job.connections }, async () => {
        while (performance.now() < warm_end) await one(performance.now());
      }),
    );
  else {
    let due = performance.now();
    while (due < warm_end) {
      const now = performance.now();
      for (; due <= now && due < warm_end; due += 1000 / job.rate) void one(due);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  recording = true;
  const started = performance.now();
  const end = started + job.duration_s * 1000;
  const progress = setInterval(() => {
    const s = Math.round((performance.now() - started) / 1000);
    log(
      `  … ${s} s: ${accepted.totalCount.toLocaleString("en-US")} accepted, ${refused.totalCount.toLocaleString("en-US")} refused`,
    );
  }, 1000);
  if (job.rate === undefined) {
    // closed loop: each connection sends its next order when the last is answered
    await Promise.all(
      Array.from({ length: job.connections }, async () => {
        while (performance.now() < end) await one(performance.now());
      }),
    );
  } else {
    // open loop: orders are due at an even rate whatever the server does
    const interval_ms = 1000 / job.rate;
    let due = started;
    while (due < end) {
      const now = performance.now();
      while (due <= now && due < end) {
        void one(due);
        due += interval_ms;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    if (outstanding > 0) await new Promise<void>((r) => (drained = r));
  }
  const elapsed_s = (performance.now() - started) / 1000;
  clearInterval(progress);
  await pool.close();
  return {
    sent,
    accepted: accepted.totalCount,
    statuses,
    accepted_per_s: accepted.totalCount / Math.max(elapsed_s, job.duration_s),
    p50_ms: accepted.getValueAtPercentile(50) / 1000,
    p99_ms: accepted.getValueAtPercentile(99) / 1000,
    refused_p99_ms: refused.totalCount === 0 ? null : refused.getValueAtPercentile(99) / 1000,
  };
}

async function ws_orders(job: Job): Promise<LoadResult> {
  const url = `${job.base.replace(/^http/, "ws")}/ws-api/v3`;
  const window = job.window ?? 8;
  const accepted = histogram();
  const statuses: Record<string, number> = {};
  let sent = 0;
  let running = true;
  const sessions = await Promise.all(
    Array.from({ length: job.connections }, (_, i) => {
      const key = job.keys[i % job.keys.length];
      return new Promise<{ ws: WebSocket; key: BenchKey }>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.on("error", reject);
        ws.on("open", () => {
          const timestamp = String(Date.now());
          const text = `apiKey=${key.ed_api_key}&timestamp=${timestamp}`;
          const signature = sign(null, Buffer.from(text), createPrivateKey(key.ed_private_pem)).toString(
            "base64",
          );
          ws.send(
            JSON.stringify({
              id: "logon",
              method: "session.logon",
              params: { apiKey: key.ed_api_key, timestamp, signature },
            }),
          );
          ws.once("message", (data) => {
            const answer = JSON.parse(data.toString()) as { status: number };
            // the bare baseline answers anything with 200
            if (answer.status !== 200) reject(new Error(`session.logon: ${data.toString()}`));
            else resolve({ ws, key });
          });
        });
      });
    }),
  );
  const started = performance.now();
  for (const { ws } of sessions) {
    const sent_at = new Map<number, number>();
    let next = 0;
    const send = (): void => {
      if (!running) return;
      const id = next++;
      sent_at.set(id, performance.now());
      sent++;
      ws.send(
        JSON.stringify({
          id,
          method: "order.place",
          params: {
            symbol: "BTCUSDT",
            side: side_of(id),
            type: "LIMIT",
            timeInForce: "GTC",
            quantity: "0.001",
            price: "60000",
            newOrderRespType: "ACK",
            timestamp: Date.now(),
          },
        }),
      );
    };
    ws.on("message", (data) => {
      const answer = JSON.parse(data.toString()) as { id: number; status: number };
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      // the bare server echoes no id: the oldest outstanding request is the one answered
      const id = typeof answer.id === "number" ? answer.id : (sent_at.keys().next().value as number);
      const at = sent_at.get(id);
      sent_at.delete(id);
      if (answer.status === 200 && at !== undefined)
        accepted.recordValue(Math.max(1, Math.round((performance.now() - at) * 1000)));
      send();
    });
    for (let i = 0; i < window; i++) send();
  }
  for (let s = 1; s <= job.duration_s; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    log(`  … ${s} s: ${accepted.totalCount.toLocaleString("en-US")} accepted`);
  }
  running = false;
  const elapsed_s = (performance.now() - started) / 1000;
  for (const { ws } of sessions) ws.terminate();
  return {
    sent,
    accepted: accepted.totalCount,
    statuses,
    accepted_per_s: accepted.totalCount / elapsed_s,
    p50_ms: accepted.getValueAtPercentile(50) / 1000,
    p99_ms: accepted.getValueAtPercentile(99) / 1000,
    refused_p99_ms: null,
  };
}

/** The history reads the `reads` job takes turns with (1,000 rows each); signed ones are per account. */
function history_read(n: number, keys: BenchKey[]): { path: string; api_key: string } {
  const key = keys[n % keys.length];
  const kind = n % 5;
  if (kind === 0)
    return { path: "/api/v3/klines?symbol=BTCUSDT&interval=1s&limit=1000", api_key: key.api_key };
  if (kind === 1)
    return { path: "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000", api_key: key.api_key };
  if (kind === 2) return { path: "/api/v3/aggTrades?symbol=BTCUSDT&limit=1000", api_key: key.api_key };
  const text = `symbol=BTCUSDT&limit=1000&timestamp=${Date.now()}`;
  const signature = createHmac("sha256", key.secret).update(text).digest("hex");
  const endpoint = kind === 3 ? "allOrders" : "myTrades";
  return { path: `/api/v3/${endpoint}?${text}&signature=${signature}`, api_key: key.api_key };
}

/** History reads at `rate`/s, open loop, on `connections` connections; latency from when each was due. */
async function reads(job: Job): Promise<LoadResult> {
  const pool = new Pool(job.base, { connections: job.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const answered = histogram();
  const statuses: Record<string, number> = {};
  let sent = 0;
  let ok = 0;
  let outstanding = 0;
  let drained: (() => void) | null = null;
  const one = async (due_ms: number): Promise<void> => {
    const r = history_read(sent++, job.keys);
    outstanding++;
    try {
      const answer = await pool.request({
        method: "GET",
        path: r.path,
        headers: { "X-MBX-APIKEY": r.api_key },
      });
      await answer.body.dump();
      statuses[answer.statusCode] = (statuses[answer.statusCode] ?? 0) + 1;
      if (answer.statusCode === 200) ok++;
      answered.recordValue(Math.max(1, Math.round((performance.now() - due_ms) * 1000)));
    } catch {
      statuses.errors = (statuses.errors ?? 0) + 1;
    } finally {
      outstanding--;
      if (outstanding === 0) drained?.();
    }
  };
  const rate = job.rate ?? 50;
  const started = performance.now();
  const end = started + job.duration_s * 1000;
  let due = started;
  while (due < end) {
    const now = performance.now();
    for (; due <= now && due < end; due += 1000 / rate) void one(due);
    await new Promise((r) => setTimeout(r, 1));
  }
  if (outstanding > 0) await new Promise<void>((r) => (drained = r));
  const elapsed_s = (performance.now() - started) / 1000;
  await pool.close();
  log(`  … ${sent.toLocaleString("en-US")} history reads in ${elapsed_s.toFixed(1)} s`);
  return {
    sent,
    accepted: ok,
    statuses,
    accepted_per_s: ok / elapsed_s,
    p50_ms: answered.getValueAtPercentile(50) / 1000,
    p99_ms: answered.getValueAtPercentile(99) / 1000,
    refused_p99_ms: null,
  };
}

const E_KEY = Buffer.from('"E":');

async function fanout(job: Job): Promise<LoadResult> {
  const url = `${job.base.replace(/^http/, "ws")}/ws/${job.stream}`;
  const clients = job.clients ?? 5000;
  const lag = histogram();
  let messages = 0;
  let measuring = false;
  const sockets: WebSocket[] = [];
  // connect in slices: a burst of 5,000 handshakes at once only measures the accept queue
  for (let i = 0; i < clients; i += 250) {
    const slice = await Promise.all(
      Array.from(
        { length: Math.min(250, clients - i) },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            // The server is what is measured: its text is not re-validated as UTF-8 here.
            const ws = new WebSocket(url, { skipUTF8Validation: true });
            ws.on("open", () => resolve(ws));
            ws.on("error", reject);
            ws.on("message", (data) => {
              if (!measuring) return;
              const received = Date.now();
              // E is all this needs: its digits read from the bytes, without decoding the message
              const bytes = data as Buffer;
              const at = bytes.indexOf(E_KEY);
              if (at < 0) return;
              let e_ms = 0;
              for (let i = at + E_KEY.length; i < bytes.length && bytes[i] >= 48 && bytes[i] <= 57; i++)
                e_ms = e_ms * 10 + bytes[i] - 48;
              if (e_ms === 0) return;
              messages++;
              lag.recordValue(Math.max(1, (received - e_ms) * 1000));
            });
          }),
      ),
    );
    sockets.push(...slice);
    if ((i / 250) % 4 === 3) log(`  … ${sockets.length.toLocaleString("en-US")} clients connected`);
  }
  log(
    `  … ${sockets.length.toLocaleString("en-US")} clients on ${job.stream}; measuring ${job.duration_s} s`,
  );
  await new Promise((r) => setTimeout(r, 1000)); // let the connection burst settle
  measuring = true;
  const cpu = process.cpuUsage();
  await new Promise((r) => setTimeout(r, job.duration_s * 1000));
  measuring = false;
  const used = process.cpuUsage(cpu);
  // The receiving side shares this machine's cores with the server: say how much of one it took.
  log(
    `  … receivers used ${(((used.user + used.system) / 1e6 / job.duration_s) * 100).toFixed(0)}% of a core`,
  );
  for (const ws of sockets) ws.terminate();
  return {
    sent: 0,
    accepted: sockets.length,
    statuses: {},
    accepted_per_s: messages / job.duration_s,
    p50_ms: lag.getValueAtPercentile(50) / 1000,
    p99_ms: lag.getValueAtPercentile(99) / 1000,
    refused_p99_ms: null,
    messages,
  };
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
const run = { rest, ws: ws_orders, fanout, reads }[job.mode];
run(job).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    log(`load: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
