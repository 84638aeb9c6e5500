/**
 * A node's metrics: what it counts as it works (commands by type, acks, journal writes, HTTP and
 * WebSocket API requests) and what it reads when scraped (sequence, state, markets, switches,
 * connections), served in Prometheus's text format on the metrics port (loopback, not the public
 * port) and through the admin socket (`holdfast admin metrics`). Checked against the node itself,
 * on a real node with its file journal, SQLite history and sockets.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { admin_request } from "../../src/admin/client.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import type { Command } from "../../src/engine/commands.js";
import { Metrics } from "../../src/metrics/metrics.js";
import {
  histogram_of,
  interval_line,
  interval_of,
  type MetricJson,
  summary_lines,
  value_of,
} from "../../src/metrics/summary.js";
import { EngineNode } from "../../src/node/runtime.js";
import { signed_query } from "../helpers/cluster.js";
import { demo_node } from "../helpers/nodes.js";
import { cli } from "../helpers/wait.js";

/** Prometheus's text format → `name{k="v",…}` (labels sorted by name) → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    assert.ok(m !== null, `a sample line: ${line}`);
    const labels = [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)]
      .map((l) => `${l[1]}="${l[2]}"`)
      .sort();
    out.set(labels.length === 0 ? m[1] : `${m[1]}{${labels.join(",")}}`, Number(m[3]));
  }
  return out;
}

/** A series' value (0 when absent: a counter not yet incremented has no series). */
function at(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  return samples.get(l.length === 0 ? name : `${name}{${l.join(",")}}`) ?? 0;
}

/** Sum of every series of `name` (not its _bucket/_sum/_count). */
function total(samples: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [k, v] of samples) if (k === name || k.startsWith(`${name}{`)) sum += v;
  return sum;
}

function ws_open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function answer(ws: WebSocket, text: string): Promise<{ status: number }> {
  return new Promise((resolve) => {
    ws.once("message", (data) => resolve(JSON.parse(data.toString()) as { status: number }));
    ws.send(text);
  });
}

describe("metrics", () => {
  it("count what the node does and read its state at each scrape, on the metrics port and the admin socket", async () => {
    const { running, dir, remove } = await demo_node("hf-metrics-", { metrics_port: 0 });
    try {
      assert.ok(running.metrics_port !== null && running.metrics_port > 0);
      const scrape = async (): Promise<Map<string, number>> => {
        const r = await fetch(`http://127.0.0.1:${running.metrics_port}/metrics`);
        assert.equal(r.status, 200);
        assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
        return parse(await r.text());
      };
      // never on the public port: a scrape target, not a public page
      assert.equal((await fetch(`http://127.0.0.1:${running.port}/metrics`)).status, 404);
      const creds = JSON.parse(readFileSync(running.credentials_file as string, "utf8")) as DemoCredentials;
      const user = creds.users[0];
      /** A signed GTC limit buy, every parameter in the query string. */
      const buy = (symbol: string, quantity: string, price: string): Promise<Response> => {
        const order = { symbol, side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity, price };
        return fetch(`http://127.0.0.1:${running.port}/api/v3/order?${signed_query(order, user.secretKey)}`, {
          method: "POST",
          headers: { "X-MBX-APIKEY": user.apiKey },
        });
      };
      const before = await scrape();

      for (let i = 0; i < 5; i++) {
        const r = await buy("BTCUSDT", "0.001", "50000");
        assert.equal(r.status, 200, await r.text());
      }
      // another user's market sell trades with one of those bids
      const seller = creds.users[1];
      const sell = { symbol: "BTCUSDT", side: "SELL", type: "MARKET", quantity: "0.001" };
      const sold = await fetch(
        `http://127.0.0.1:${running.port}/api/v3/order?${signed_query(sell, seller.secretKey)}`,
        { method: "POST", headers: { "X-MBX-APIKEY": seller.apiKey } },
      );
      assert.equal(sold.status, 200, await sold.clone().text());
      assert.equal(((await sold.json()) as { status: string }).status, "FILLED");
      const bad = await fetch(`http://127.0.0.1:${running.port}/api/v3/order?symbol=BTCUSDT`, {
        method: "POST",
        headers: { "X-MBX-APIKEY": user.apiKey },
      });
      assert.equal(bad.status, 400);
      assert.equal((await fetch(`http://127.0.0.1:${running.port}/api/v3/no-such-thing`)).status, 404);
      const stream = await ws_open(`ws://127.0.0.1:${running.port}/ws/btcusdt@trade`);
      const api = await ws_open(`ws://127.0.0.1:${running.port}/ws-api/v3`);
      try {
        assert.equal((await answer(api, JSON.stringify({ id: 1, method: "ping" }))).status, 200);
        assert.equal((await answer(api, "not JSON")).status, 400);
        assert.equal((await answer(api, JSON.stringify({ id: 2, method: "constructor" }))).status, 400);
        const after = await scrape();
        const delta = (name: string, labels: Record<string, string> = {}): number =>
          at(after, name, labels) - at(before, name, labels);

        // the node's own work, counted as it happens
        const node = running.node;
        assert.equal(delta("holdfast_commands_applied_total", { type: "place_order" }), 6);
        assert.equal(delta("holdfast_trades_total", { symbol: "BTCUSDT" }), 1);
        assert.equal(at(after, "holdfast_book_levels", { symbol: "BTCUSDT", side: "bid" }), 1);
        assert.equal(at(after, "holdfast_book_levels", { symbol: "BTCUSDT", side: "ask" }), 0);
        // every command of this fresh node was submitted here (demo set-up included) and went
        // through this process's journal
        const commands = total(after, "holdfast_commands_applied_total");
        assert.equal(commands, node.last_applied_seq);
        assert.equal(at(after, "holdfast_command_ack_seconds_count"), commands);
        assert.equal(at(after, "holdfast_command_ack_seconds_bucket", { le: "+Inf" }), commands);
        assert.equal(at(after, "holdfast_journal_write_commands_sum"), commands);
        assert.ok(at(after, "holdfast_journal_write_seconds_count") >= 1);
        assert.ok(at(after, "holdfast_journal_written_bytes_total") > 0);
        assert.ok(at(after, "holdfast_command_ack_seconds_sum") > 0);

        // requests by route pattern and status; unknown paths under one label
        assert.equal(
          delta("holdfast_http_requests_total", { method: "POST", route: "/api/v3/order", status: "200" }),
          6,
        );
        assert.equal(
          delta("holdfast_http_requests_total", { method: "POST", route: "/api/v3/order", status: "400" }),
          1,
        );
        assert.equal(
          delta("holdfast_http_requests_total", { method: "GET", route: "unmatched", status: "404" }),
          1,
        );
        assert.equal(
          delta("holdfast_http_request_seconds_count", { method: "POST", route: "/api/v3/order" }),
          7,
        );
        assert.equal(delta("holdfast_ws_api_requests_total", { method: "ping", status: "200" }), 1);
        assert.equal(delta("holdfast_ws_api_request_seconds_count", { method: "ping" }), 1);
        // not JSON, and a name that is only a property of every object: "unknown", not a new series
        assert.equal(delta("holdfast_ws_api_requests_total", { method: "unknown", status: "400" }), 2);
        assert.equal(
          at(after, "holdfast_ws_api_requests_total", { method: "constructor", status: "400" }),
          0,
        );

        // read at the scrape
        assert.equal(at(after, "holdfast_applied_sequence"), node.last_applied_seq);
        assert.equal(at(after, "holdfast_orders_live"), node.engine.orders.live);
        assert.ok(node.engine.orders.live >= 4);
        assert.equal(at(after, "holdfast_accounts"), node.engine.accounts.length);
        assert.equal(at(after, "holdfast_order_entry_open"), 1);
        assert.equal(at(after, "holdfast_market_status", { symbol: "BTCUSDT", status: "TRADING" }), 1);
        assert.equal(at(after, "holdfast_market_status", { symbol: "BTCUSDT", status: "HALT" }), 0);
        assert.equal(at(after, "holdfast_exchange_switch", { switch: "maintenance" }), 0);
        assert.equal(at(after, "holdfast_websocket_connections", { endpoint: "streams" }), 1);
        assert.equal(at(after, "holdfast_websocket_connections", { endpoint: "ws_api" }), 1);
        assert.equal(at(after, "holdfast_websocket_subscriptions", { endpoint: "streams" }), 1);
        assert.ok(at(after, "holdfast_data_dir_free_bytes") > 0);
        assert.ok(at(after, "holdfast_history_written_sequence") <= node.last_applied_seq);
        assert.equal(at(after, "holdfast_history_failed"), 0);
        // Node's own
        assert.ok(at(after, "process_cpu_seconds_total") > 0);
        assert.ok(after.has("nodejs_eventloop_lag_p99_seconds"));
      } finally {
        stream.close();
        api.close();
      }

      // an operator's switches show at the next scrape
      const socket = running.admin_socket;
      assert.equal(
        (await admin_request(socket, "POST", "/v1/market-status", { symbol: "BTCUSDT", status: "HALT" }))
          .status,
        200,
      );
      assert.equal(
        (await admin_request(socket, "POST", "/v1/exchange-flags", { maintenance: true })).status,
        200,
      );
      const switched = await scrape();
      assert.equal(at(switched, "holdfast_market_status", { symbol: "BTCUSDT", status: "HALT" }), 1);
      assert.equal(at(switched, "holdfast_market_status", { symbol: "BTCUSDT", status: "TRADING" }), 0);
      assert.equal(at(switched, "holdfast_market_status", { symbol: "ETHUSDT", status: "TRADING" }), 1);
      assert.equal(at(switched, "holdfast_exchange_switch", { switch: "maintenance" }), 1);

      // a snapshot: its write, its size, its sequence, and what handing it over cost the node's thread
      const snap = await admin_request(socket, "POST", "/v1/snapshot");
      assert.equal(snap.status, 200);
      const snapped = await scrape();
      assert.equal(at(snapped, "holdfast_snapshot_write_seconds_count"), 1);
      assert.ok(at(snapped, "holdfast_snapshot_bytes") > 0);
      assert.equal(at(snapped, "holdfast_snapshot_sequence"), (snap.body as { seq: number }).seq);
      assert.ok(at(snapped, "holdfast_snapshot_handover_max_seconds") > 0);
      assert.ok(at(snapped, "holdfast_snapshot_handover_max_seconds") < 1);

      // the admin socket and the CLI
      const text = await cli(["admin", "metrics", "--data-dir", dir, "--prometheus"]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^# TYPE holdfast_command_ack_seconds histogram$/m);
      assert.equal(at(parse(text.stdout), "holdfast_applied_sequence"), running.node.last_applied_seq);
      const json = await cli(["admin", "metrics", "--data-dir", dir, "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const metrics = JSON.parse(json.stdout) as MetricJson[];
      assert.equal(value_of(metrics, "holdfast_applied_sequence"), running.node.last_applied_seq);
      const human = await cli(["admin", "metrics", "--data-dir", dir]);
      assert.equal(human.code, 0, human.stderr);
      const seq = running.node.last_applied_seq.toLocaleString("en-US");
      assert.match(
        human.stdout,
        new RegExp(`^node +sequence ${seq} · snapshot at [\\d,]+ · order entry open$`, "m"),
      );
      assert.match(
        human.stdout,
        /^markets +BTCUSDT HALT · ETHUSDT TRADING · ETHBTC TRADING · ON: maintenance$/m,
      );
      assert.match(
        human.stdout,
        /^commands +[\d,]+ submitted here and applied since start \(.*place_order 6\b/m,
      );
      assert.match(human.stdout, /^acks +p50 ≤ [\d.]+ m?s · p99 ≤ [\d.]+ m?s/m);
      assert.match(human.stdout, /^http +\d+ requests: 2xx \d+ · 4xx \d+ · POST \/api\/v3\/order p50 ≤/m);
      assert.match(human.stdout, /^process +[\d.]+ MiB resident/m);

      // --every: what happened in the interval, while orders come in (maintenance off again)
      assert.equal(
        (await admin_request(socket, "POST", "/v1/exchange-flags", { maintenance: false })).status,
        200,
      );
      const watching = cli(["admin", "metrics", "--data-dir", dir, "--every", "1", "--count", "1", "--json"]);
      const placing_until = Date.now() + 2500;
      let placed = 0;
      while (Date.now() < placing_until) {
        if ((await buy("ETHUSDT", "0.01", "2000")).status === 200) placed++;
        await new Promise((r) => setTimeout(r, 50));
      }
      const watched = await watching;
      assert.equal(watched.code, 0, watched.stderr);
      assert.ok(placed > 10);
      const interval = JSON.parse(watched.stdout) as {
        commands_per_s: number;
        http_per_s: number;
        order_p99_ms: number | null;
        applied_sequence: number;
      };
      assert.ok(interval.commands_per_s > 0 && interval.http_per_s > 0, watched.stdout);
      assert.ok(interval.order_p99_ms !== null && interval.order_p99_ms > 0);
      assert.ok(interval.applied_sequence <= running.node.last_applied_seq);
    } finally {
      await remove();
    }
  });

  it("holdfast start refuses a metrics port out of range, and a node can be run without a metrics port", async () => {
    const bad = await cli([
      "start",
      "--data-dir",
      join(tmpdir(), "hf-metrics-never"),
      "--metrics-port",
      "70000",
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--metrics-port must be 0\.\.65535/);
    const { running, dir, remove } = await demo_node("hf-metrics-off-");
    try {
      assert.equal(running.metrics_port, null);
      // the admin socket serves them either way
      const text = await cli(["admin", "metrics", "--data-dir", dir, "--prometheus"]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(at(parse(text.stdout), "holdfast_applied_sequence"), running.node.last_applied_seq);
    } finally {
      await remove();
    }
  });

  it("the summary's percentiles are the buckets the quantiles fall in", () => {
    const m = new Metrics({ process_metrics: false });
    const place = { type: "place_order" } as Command;
    const cancel = { type: "cancel_order" } as Command;
    // 98 commands acked in 0.3 ms, 2 in 40 ms (two groups of a journal write each)
    m.commands_applied([...Array(49).fill(place), ...Array(49).fill(cancel)], 0.3);
    m.commands_applied([place, place], 40);
    m.journal_written(4096, 98, 0.2);
    m.journal_written(100, 2, 30);
    return m.json().then((json) => {
      const metrics = json as MetricJson[];
      const ack = histogram_of(metrics, "holdfast_command_ack_seconds");
      assert.equal(ack.count, 100);
      assert.equal(ack.quantile(0.5), 0.0005);
      assert.equal(ack.quantile(0.98), 0.0005);
      assert.equal(ack.quantile(0.99), 0.05);
      assert.equal(value_of(metrics, "holdfast_commands_applied_total", { type: "place_order" }), 51);
      assert.equal(value_of(metrics, "holdfast_commands_applied_total", { type: "cancel_order" }), 49);
      const lines = summary_lines(metrics);
      assert.ok(
        lines.includes(
          "acks       p50 ≤ 0.5 ms · p99 ≤ 50 ms · p99.9 ≤ 50 ms (submitted → durable and applied)",
        ),
        lines.join("\n"),
      );
      assert.ok(
        lines.some((l) =>
          l.startsWith(
            "journal    2 durable writes, 0.0 MiB, 50.0 commands each · write p50 ≤ 0.25 ms · p99 ≤ 50 ms",
          ),
        ),
        lines.join("\n"),
      );
      assert.ok(
        lines.includes(
          "commands   100 submitted here and applied since start (place_order 51, cancel_order 49)",
        ),
        lines.join("\n"),
      );
    });
  });

  it("the interval view: rates and percentiles of what happened between two readings", async () => {
    const m = new Metrics({ process_metrics: false });
    m.commands_applied([{ type: "deposit" } as Command], 50);
    m.http_answered("GET", "/api/v3/ping", 200, 0.04);
    const before = (await m.json()) as MetricJson[];
    m.commands_applied(Array(10).fill({ type: "place_order" } as Command), 1.8);
    m.journal_written(2048, 10, 0.4);
    m.http_answered("POST", "/api/v3/order", 200, 0.0019);
    m.http_answered("POST", "/api/v3/order", 400, 0.0004);
    m.http_answered("GET", "unmatched", 404, 0.0001);
    m.http_answered("POST", "/api/v3/order", 500, 0.012);
    m.ws_api_answered("order.place", 200, 0.003);
    const i = interval_of(before, (await m.json()) as MetricJson[], 2);
    assert.equal(i.commands_per_s, 5);
    assert.equal(i.ack_p50_ms, 2); // 1.8 ms falls in (1.5, 2]; the 50 ms before the interval does not count
    assert.equal(i.ack_p99_ms, 2);
    assert.equal(i.journal_writes_per_s, 0.5);
    assert.equal(i.journal_write_p99_ms, 0.5);
    assert.equal(i.http_per_s, 2);
    assert.equal(i.http_4xx_per_s, 1);
    assert.equal(i.http_5xx_per_s, 0.5);
    assert.equal(i.order_p99_ms, 15);
    assert.equal(i.ws_api_per_s, 0.5);
    assert.match(
      interval_line(new Date("2026-11-29T05:00:00Z"), i),
      /^05:00:00 +0 +5\.0 +≤2 ms +≤2 ms +0\.5 +≤0\.5 ms +2\.0 +1\.0 +0\.5 +≤15 ms +0\.5 +0 +PAUSED$/,
    );
  });

  it("a failing observer never fails the node: commands are still journaled, applied and answered", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-metrics-fail-"));
    const logged: string[] = [];
    const node = await EngineNode.open({
      data_dir: dir,
      log: (line) => logged.push(line),
      disk_free_min_bytes: 0,
      observer: {
        commands_applied: () => {
          throw new Error("observer broke");
        },
        journal_written: () => {
          throw new Error("observer broke too");
        },
      },
    });
    try {
      const one = await node.submit({ type: "create_account", ts_ms: 0 } as Command);
      const [two, three] = await node.submit_batch([
        { type: "create_account", ts_ms: 0 } as Command,
        { type: "create_account", ts_ms: 0 } as Command,
      ]);
      assert.deepEqual([one.seq, two.seq, three.seq], [1, 2, 3]);
      assert.equal(node.engine.accounts.length, 3);
      assert.equal(node.writes_refused, null);
      assert.ok(logged.some((l) => l.includes("metrics failed: Error: observer broke")));
    } finally {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
