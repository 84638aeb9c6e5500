/**
 * `npm run soak:memory [-- --minutes N]`: does a node's memory stay bounded while it trades for a
 * long time? A real `holdfast start --demo` process (its market maker on) takes, for N minutes:
 * signed REST orders from the demo users (a limit order far from the market and its cancel, a small
 * market order, a page of their trades), WebSocket market-stream connections that subscribe and
 * leave, user data streams opened, listened to and closed (listenKey), and WebSocket API sessions
 * (session.logon with an Ed25519 key, userDataStream.subscribe, order.place and order.cancel, then
 * closed).
 *
 * One thing grows by design: the client-order-id window keeps every order's id (a generated one when
 * the client sends none, as Binance makes one) for 24 hours, up to 200,000 per account and 4,000,000
 * in all. The node's status says how many it holds; the soak reports the live heap's growth per
 * id retained. A Map entry with its 22-character key costs on the order of 100 bytes; growth far
 * beyond that per id is something else.
 *
 * Every SAMPLE_S seconds the node (started with node's --expose-gc) collects its garbage (admin
 * POST /v1/gc) and reports the heap still in use: what is live. Resident memory comes from its
 * metrics. The heap is taken idle before the load, at the end of the load's first and last thirds
 * (the lowest of each: caches that fill up to their bounds, the order facts of the user data
 * streams among them, fill in the first), and idle again after. Bounded means the last third's heap
 * is about the first third's. Progress on stderr; the last stdout line is one JSON object.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, createPrivateKey, sign } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { admin_request } from "../../src/admin/client.js";
import type { NodeStatus } from "../../src/admin/server.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { type MetricJson, sum_of, value_of } from "../../src/metrics/summary.js";
import { BIN, free_port } from "../../test/helpers/nodes.js";
import { log, positive_arg, sleep } from "../soak_args.js";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => positive_arg(args, name, fallback);
const MINUTES = arg("--minutes", 10);
/** `--heap-snapshots DIR`: the node writes a heap snapshot there when the load begins and when it ends. */
const SNAPSHOTS_DIR = args.includes("--heap-snapshots") ? args[args.indexOf("--heap-snapshots") + 1] : null;
const IDLE_S = arg("--idle", 30);
const SAMPLE_S = 2;
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

interface Sample {
  t_s: number;
  phase: "before" | "load" | "after";
  rss: number;
  heap: number;
  commands: number;
  client_ids: number;
}

const dir = mkdtempSync(join(tmpdir(), "hf-soak-memory-"));
let child: ChildProcess | null = null;
try {
  const port = await free_port();
  child = spawn(
    process.execPath,
    [
      "--expose-gc",
      ...(SNAPSHOTS_DIR === null ? [] : ["--heapsnapshot-signal=SIGUSR2"]),
      BIN,
      "start",
      "--demo",
      "--data-dir",
      dir,
      "--port",
      String(port),
    ],
    { stdio: ["ignore", "pipe", "inherit"], cwd: SNAPSHOTS_DIR ?? undefined },
  );
  let out = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  for (let i = 0; !out.includes("node ready at"); i++) {
    if (i > 300 || child.exitCode !== null) throw new Error(`the node did not start: ${out}`);
    await sleep(100);
  }
  const creds = JSON.parse(readFileSync(join(dir, "demo-credentials.json"), "utf8")) as DemoCredentials;
  const socket = join(dir, "admin.sock");
  const started_ms = Date.now();
  const samples: Sample[] = [];
  let phase: Sample["phase"] = "before";
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const live = (await admin_request(socket, "POST", "/v1/gc")).body as { heap_used_bytes: number };
      const m = (await admin_request(socket, "GET", "/v1/metrics?format=json")).body as MetricJson[];
      const status = (await admin_request(socket, "GET", "/v1/status")).body as NodeStatus;
      samples.push({
        client_ids: status.client_ids.retained,
        t_s: (Date.now() - started_ms) / 1000,
        phase,
        rss: value_of(m, "process_resident_memory_bytes") ?? 0,
        heap: live.heap_used_bytes,
        commands: sum_of(m, "holdfast_commands_applied_total"),
      });
      await sleep(SAMPLE_S * 1000);
    }
  })();
  log(`soak: node on port ${port}; ${IDLE_S} s idle, ${MINUTES} min of load, ${IDLE_S} s idle`);
  await sleep(IDLE_S * 1000);

  const heap_snapshot = async () => {
    if (SNAPSHOTS_DIR === null) return;
    await admin_request(socket, "POST", "/v1/gc");
    child?.kill("SIGUSR2");
    await sleep(5000); // written synchronously by the node, which stops meanwhile
    log(`heap snapshot written to ${SNAPSHOTS_DIR}`);
  };
  await heap_snapshot();
  phase = "load";
  const end_ms = Date.now() + MINUTES * 60_000;
  let requests = 0;
  let refused = 0;
  const signed = async (
    user: DemoCredentials["users"][number],
    method: string,
    path: string,
    p: Record<string, string>,
  ) => {
    const q = new URLSearchParams({ ...p, timestamp: String(Date.now()) }).toString();
    const sig = createHmac("sha256", user.secretKey).update(q).digest("hex");
    const r = await fetch(`${creds.baseUrl}${path}?${q}&signature=${sig}`, {
      method,
      headers: { "X-MBX-APIKEY": user.apiKey },
    });
    requests++;
    const body = (await r.json()) as { orderId?: number };
    if (r.status !== 200) refused++;
    return body;
  };
  const trader = async (user: DemoCredentials["users"][number], n: number) => {
    while (Date.now() < end_ms) {
      const side = n++ % 2 === 0 ? "BUY" : "SELL";
      // far from the market (it never trades) but within PERCENT_PRICE_BY_SIDE's band (0.2× to 5×)
      const last = (await (await fetch(`${creds.baseUrl}/api/v3/ticker/price?symbol=BTCUSDT`)).json()) as {
        price: string;
      };
      const far = (Number(last.price) * (side === "BUY" ? 0.5 : 2)).toFixed(2);
      const o = await signed(user, "POST", "/api/v3/order", {
        symbol: "BTCUSDT",
        side,
        type: "LIMIT",
        timeInForce: "GTC",
        price: far,
        quantity: "0.001",
      });
      if (o.orderId !== undefined)
        await signed(user, "DELETE", "/api/v3/order", { symbol: "BTCUSDT", orderId: String(o.orderId) });
      await signed(user, "POST", "/api/v3/order", {
        symbol: "ETHUSDT",
        side,
        type: "MARKET",
        quantity: "0.01",
      });
      await signed(user, "GET", "/api/v3/myTrades", { symbol: "ETHUSDT", limit: "20" });
    }
  };
  let streams = 0;
  const stream_churn = async () => {
    while (Date.now() < end_ms) {
      const ws = new WebSocket(
        `${creds.wsUrl}/stream?streams=btcusdt@depth@100ms/ethusdt@trade/btcusdt@kline_1m`,
      );
      ws.on("error", () => undefined);
      await Promise.race([once(ws, "open"), sleep(5000)]);
      await sleep(300);
      ws.close();
      await Promise.race([once(ws, "close"), sleep(5000)]);
      streams++;
    }
  };
  let user_streams = 0;
  const user_stream_churn = async (user: DemoCredentials["users"][number]) => {
    const key_call = (method: string, key?: string) =>
      fetch(`${creds.baseUrl}/api/v3/userDataStream${key === undefined ? "" : `?listenKey=${key}`}`, {
        method,
        headers: { "X-MBX-APIKEY": user.apiKey },
      }).then((r) => r.json() as Promise<{ listenKey?: string }>);
    while (Date.now() < end_ms) {
      const { listenKey } = await key_call("POST");
      const ws = new WebSocket(`${creds.wsUrl}/ws/${listenKey}`);
      ws.on("error", () => undefined);
      await Promise.race([once(ws, "open"), sleep(5000)]);
      await sleep(500);
      ws.close();
      await key_call("DELETE", listenKey);
      user_streams++;
    }
  };
  let ws_api_sessions = 0;
  const ws_api_churn = async (user: DemoCredentials["users"][number]) => {
    const key = createPrivateKey(user.ed25519.privateKeyPem);
    while (Date.now() < end_ms) {
      const ws = new WebSocket(`${creds.wsUrl}/ws-api/v3`);
      ws.on("error", () => undefined);
      const answers = new Map<string, (m: { status: number; result?: { orderId?: number } }) => void>();
      ws.on("message", (d) => {
        const m = JSON.parse(d.toString()) as { id?: string; status: number };
        if (m.id !== undefined) answers.get(m.id)?.(m);
      });
      let n = 0;
      const call = (method: string, params: Record<string, string>) =>
        new Promise<{ status: number; result?: { orderId?: number } }>((resolve) => {
          const id = String(n++);
          answers.set(id, resolve);
          ws.send(JSON.stringify({ id, method, params }));
          setTimeout(() => resolve({ status: 0 }), 5000);
        });
      if ((await Promise.race([once(ws, "open").then(() => true), sleep(5000).then(() => false)])) === true) {
        const timestamp = String(Date.now());
        const text = `apiKey=${user.ed25519.apiKey}&timestamp=${timestamp}`;
        const signature = sign(null, Buffer.from(text), key).toString("base64");
        await call("session.logon", { apiKey: user.ed25519.apiKey, timestamp, signature });
        await call("userDataStream.subscribe", {});
        for (let k = 0; k < 5; k++) {
          const placed = await call("order.place", {
            symbol: "ETHUSDT",
            side: "BUY",
            type: "LIMIT",
            timeInForce: "GTC",
            price: "1000.00",
            quantity: "0.01",
            timestamp: String(Date.now()),
          });
          if (placed.result?.orderId !== undefined)
            await call("order.cancel", {
              symbol: "ETHUSDT",
              orderId: String(placed.result.orderId),
              timestamp: String(Date.now()),
            });
        }
      }
      ws.close();
      await Promise.race([once(ws, "close"), sleep(5000)]);
      ws_api_sessions++;
    }
  };
  const progress = setInterval(() => {
    const s = samples.at(-1);
    if (s !== undefined)
      log(
        `load: ${s.client_ids.toLocaleString("en-US")} client order ids retained, ${requests.toLocaleString("en-US")} requests (${refused} refused), ${streams} stream, ${user_streams} user stream and ${ws_api_sessions} WebSocket API connections; node: ${s.commands.toLocaleString("en-US")} commands, ${mib(s.rss)} MiB resident, ${mib(s.heap)} MiB heap`,
      );
  }, 30_000);
  await Promise.all([
    ...creds.users.map((u, i) => trader(u, i)),
    stream_churn(),
    stream_churn(),
    user_stream_churn(creds.users[0]),
    ws_api_churn(creds.users[1]),
  ]);
  clearInterval(progress);

  phase = "after";
  await heap_snapshot();
  log("load over; idle");
  await sleep(IDLE_S * 1000);
  sampling = false;
  await sampler;

  const load = samples.filter((s) => s.phase === "load");
  const third = Math.max(1, Math.floor(load.length / 3));
  const lowest = (xs: Sample[]) => xs.reduce((a, b) => (b.heap < a.heap ? b : a));
  const low = (xs: Sample[]) => lowest(xs).heap;
  // growth from the first third's low to the end, per client order id the window took on meanwhile
  const from = lowest(load.slice(0, third));
  const to = samples.at(-1) as Sample;
  const ids_added = to.client_ids - from.client_ids;
  const bytes_per_id = ids_added > 0 ? Math.round((to.heap - from.heap) / ids_added) : null;
  const before = low(samples.filter((s) => s.phase === "before"));
  const first = low(load.slice(0, third));
  const last = low(load.slice(-third));
  const after = low(samples.filter((s) => s.phase === "after"));
  const commands = (samples.at(-1)?.commands ?? 0) - (samples[0]?.commands ?? 0);
  const result = {
    minutes: MINUTES,
    commands,
    requests,
    refused,
    stream_connections: streams,
    user_stream_connections: user_streams,
    ws_api_sessions,
    rss_peak_mib: mib(Math.max(...samples.map((s) => s.rss))),
    rss_after_mib: mib(samples.at(-1)?.rss ?? 0),
    heap_before_mib: mib(before),
    heap_first_third_mib: mib(first),
    heap_last_third_mib: mib(last),
    heap_after_mib: mib(after),
    client_ids_retained: to.client_ids,
    heap_growth_bytes_per_retained_id: bytes_per_id,
    last_to_first_third: Math.round((last / first) * 100) / 100,
    after_to_before: Math.round((after / before) * 100) / 100,
  };
  console.log(
    `${commands.toLocaleString("en-US")} commands in ${MINUTES} min; live heap (after a collection; lowest of each window): idle before ${result.heap_before_mib} MiB, load first third ${result.heap_first_third_mib}, last third ${result.heap_last_third_mib} (×${result.last_to_first_third}), idle after ${result.heap_after_mib} (×${result.after_to_before}); ${to.client_ids.toLocaleString("en-US")} client order ids retained, ${bytes_per_id ?? "-"} bytes of growth per id retained since the first third; resident peak ${result.rss_peak_mib} MiB, ${result.rss_after_mib} at the end`,
  );
  console.log(JSON.stringify(result));
} finally {
  if (child !== null && child.exitCode === null) {
    child.kill("SIGTERM");
    await Promise.race([once(child, "exit"), sleep(10_000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
}
