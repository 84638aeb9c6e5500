/**
 * The status service against a real exchange process: halting one market changes that market's
 * component and nothing else; kill -9 of the exchange shows as an outage with an open incident
 * within 10 s; a restart moves the incident to monitoring, then resolved. The service's own store
 * survives its restart. Text from the store is never rendered unescaped.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import { render_page } from "../../src/status/page.js";
import { probe_round } from "../../src/status/probe.js";
import type { RunningStatus } from "../../src/status/service.js";
import { StatusStore } from "../../src/status/store.js";
import { spawn_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";
import { cli, until } from "../helpers/wait.js";

type Summary = {
  status: { indicator: string };
  components: { id: string; status: string }[];
  incidents: {
    id: string;
    name: string;
    status: string;
    incident_updates: { status: string; body: string }[];
  }[];
};

describe("status service", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-status-"));
  const exchange_dir = join(dir, "exchange");
  const status_dir = join(dir, "status");
  const export_dir = join(dir, "static");
  let node: ChildProcess | null = null;
  let status: RunningStatus | null = null;
  after(async () => {
    node?.kill("SIGKILL");
    await status?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("follows the exchange: one market's halt, a kill -9 within 10 s, recovery and resolution", async () => {
    const started = await spawn_node(exchange_dir);
    node = started.child;
    // BTCUSDT trades at 65,000: its PERCENT_PRICE_BY_SIDE band now holds, and the canary must place
    // its resting buy inside it (not at the lowest price PRICE_FILTER allows)
    const users = (
      JSON.parse(readFileSync(join(exchange_dir, "demo-credentials.json"), "utf8")) as {
        users: { apiKey: string; secretKey: string }[];
      }
    ).users;
    for (const [user, side] of [
      [users[0], "SELL"],
      [users[1], "BUY"],
    ] as const) {
      const text = new URLSearchParams({
        symbol: "BTCUSDT",
        side,
        type: "LIMIT",
        timeInForce: "GTC",
        price: "65000",
        quantity: "0.001",
        timestamp: String(Date.now()),
      }).toString();
      const signature = createHmac("sha256", user.secretKey).update(text).digest("hex");
      const r = await fetch(`http://127.0.0.1:${started.port}/api/v3/order?${text}&signature=${signature}`, {
        method: "POST",
        headers: { "X-MBX-APIKEY": user.apiKey },
      });
      assert.equal(r.status, 200, await r.text());
    }
    const open_status = () =>
      test_status(status_dir, `http://127.0.0.1:${started.port}`, {
        quiet_ms: 1500,
        export_dir,
        canary_key_file: join(exchange_dir, "canary-key.json"),
      });
    status = await open_status();
    const summary = async (): Promise<Summary> =>
      (await (
        await fetch(`http://127.0.0.1:${(status as RunningStatus).port}/api/v2/summary.json`)
      ).json()) as Summary;
    const statuses = (s: Summary) => Object.fromEntries(s.components.map((c) => [c.id, c.status]));

    const first = await summary();
    assert.equal(first.status.indicator, "none");
    assert.deepEqual(
      first.components.map((c) => c.id),
      [
        "rest-api",
        "websocket-streams",
        "order-entry",
        "matching-btcusdt",
        "matching-ethbtc",
        "matching-ethusdt",
        "deposits",
        "withdrawals",
      ],
    );

    const trading_mode = async () =>
      (await (
        await fetch(`http://127.0.0.1:${(status as RunningStatus).port}/api/v2/trading-mode.json`)
      ).json()) as {
        mode: string;
        markets: { symbol: string; mode: string }[];
        incidents: { name: string }[];
      };
    assert.deepEqual(await trading_mode().then((m) => [m.mode, m.markets]), [
      "online",
      [
        { symbol: "BTCUSDT", mode: "TRADING" },
        { symbol: "ETHBTC", mode: "TRADING" },
        { symbol: "ETHUSDT", mode: "TRADING" },
      ],
    ]);

    // stream liveness and lag come from a market's @ticker stream (an event a second)
    const exchange = `http://127.0.0.1:${started.port}`;
    const live = (await probe_round([exchange], ["BTCUSDT"])).seen.get("websocket-streams");
    assert.equal(live?.status, "operational");
    const silent = (await probe_round([exchange], ["NOSUCHMKT"])).seen.get("websocket-streams");
    assert.deepEqual([silent?.status, silent?.detail], ["major_outage", "no ticker event within 2500 ms"]);

    // one market halted: that market's component, nothing else
    const socket = join(exchange_dir, "admin.sock");
    await admin_request(socket, "POST", "/v1/market-status", { symbol: "BTCUSDT", status: "HALT" });
    const halted = await until("BTCUSDT halted", 10_000, async () => {
      const s = await summary();
      return statuses(s)["matching-btcusdt"] === "major_outage" ? s : null;
    });
    assert.deepEqual(
      Object.entries(statuses(halted)).filter(([, v]) => v !== "operational"),
      [["matching-btcusdt", "major_outage"]],
    );
    assert.deepEqual(
      halted.incidents.map((i) => [i.name, i.status]),
      [["Matching BTCUSDT down", "investigating"]],
    );
    assert.match(halted.incidents[0].incident_updates[0].body, /trading halted/);
    const halted_mode = await trading_mode();
    assert.equal(halted_mode.mode, "online", "one halted market is not the exchange's mode");
    assert.deepEqual(halted_mode.markets[0], { symbol: "BTCUSDT", mode: "HALT" });
    await admin_request(socket, "POST", "/v1/market-status", { symbol: "BTCUSDT", status: "TRADING" });
    await until("the halt incident resolved", 10_000, async () => {
      const s = await summary();
      return s.incidents.length === 0 && statuses(s)["matching-btcusdt"] === "operational" ? s : null;
    });

    // kill -9: within 10 s the outage and an open incident
    node.kill("SIGKILL");
    const killed_at = Date.now();
    const down = await until("the outage", 10_000, async () => {
      const s = await summary();
      return s.incidents.some((i) => i.name === "Exchange unreachable") ? s : null;
    });
    const seen_ms = Date.now() - killed_at;
    assert.ok(seen_ms <= 10_000, `outage shown after ${seen_ms} ms`);
    assert.equal(down.status.indicator, "critical");
    const down_mode = await trading_mode();
    assert.equal(down_mode.mode, "unreachable");
    assert.deepEqual(
      down_mode.incidents.map((i) => i.name),
      ["Exchange unreachable"],
    );
    assert.ok(down.components.every((c) => c.status === "major_outage"));
    const page = await (await fetch(`http://127.0.0.1:${status.port}/`)).text();
    assert.match(page, /Exchange unreachable/);
    assert.match(page, /Major System Outage/);

    // the open incident's updates are signed: `holdfast verify` tells them from an altered copy
    const key_file = join(dir, "key.pem");
    const key = await cli(["status", "key", "--data-dir", status_dir, "--json"]);
    assert.equal(key.code, 0, key.stderr);
    writeFileSync(key_file, (JSON.parse(key.stdout) as { public_key_pem: string }).public_key_pem);
    const url = `http://127.0.0.1:${status.port}/api/v2/incidents/unresolved.json`;
    const good = await cli(["verify", url, "--key", key_file]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /authentic {2}incidents\[0\]\.incident_updates\[0\]/);
    const copy = JSON.parse(await (await fetch(url)).text()) as Summary;
    copy.incidents[0].incident_updates[0].body = "Planned maintenance, nothing to worry about.";
    const forged_file = join(dir, "forged.json");
    writeFileSync(forged_file, JSON.stringify(copy));
    const forged = await cli(["verify", forged_file, "--key", key_file]);
    assert.equal(forged.code, 1);
    assert.match(forged.stdout, /FORGED OR ALTERED {2}incidents\[0\]\.incident_updates\[0\]/);

    // feeds: one entry per update, ETag and 304; the incident's own page; the static export
    const base = `http://127.0.0.1:${status.port}`;
    const atom = await fetch(`${base}/history.atom`);
    const atom_text = await atom.text();
    assert.match(atom.headers.get("content-type") ?? "", /application\/atom\+xml/);
    assert.match(atom_text, /<title>Exchange unreachable: investigating<\/title>/);
    const etag = atom.headers.get("etag") as string;
    assert.equal((await fetch(`${base}/history.atom`, { headers: { "if-none-match": etag } })).status, 304);
    assert.match(
      await (await fetch(`${base}/history.rss`)).text(),
      /<guid isPermaLink="false">[a-z0-9]+<\/guid>/,
    );
    const incident_id = down.incidents.find((i) => i.name === "Exchange unreachable")?.id as string;
    const incident_page = await fetch(`${base}/incidents/${incident_id}`);
    assert.equal(incident_page.status, 200);
    assert.match(await incident_page.text(), /Exchange unreachable/);
    assert.equal((await fetch(`${base}/incidents/nope`)).status, 404);
    const exported = await until("the static export of the outage", 5000, async () => {
      try {
        const s = JSON.parse(readFileSync(join(export_dir, "api/v2/summary.json"), "utf8")) as Summary;
        return s.incidents.length > 0 ? s : null;
      } catch {
        return null;
      }
    });
    assert.equal(exported.incidents[0].name, "Exchange unreachable");
    assert.match(readFileSync(join(export_dir, "index.html"), "utf8"), /Exchange unreachable/);
    assert.match(
      readFileSync(join(export_dir, "incidents", incident_id, "index.html"), "utf8"),
      /investigating/,
    );

    // the status service restarts with its store: the open incident is still there, and followed
    await status.close();
    status = await open_status();
    assert.deepEqual(
      (await summary()).incidents.map((i) => i.name),
      ["Exchange unreachable"],
    );

    // the exchange comes back: monitoring, then resolved after the quiet period
    const again = await spawn_node(exchange_dir);
    node = again.child;
    await status.close();
    // a restarted node takes a new port in tests
    status = await test_status(status_dir, `http://127.0.0.1:${again.port}`, {
      quiet_ms: 1500,
      canary_key_file: join(exchange_dir, "canary-key.json"),
    });
    const resolved = await until("resolution", 15_000, async () => {
      const r = await fetch(`http://127.0.0.1:${(status as RunningStatus).port}/api/v2/incidents.json`);
      const body = (await r.json()) as Summary;
      const incident = body.incidents.find((i) => i.name === "Exchange unreachable");
      return incident?.status === "resolved" ? incident : null;
    });
    assert.deepEqual(
      resolved.incident_updates.map((u) => u.status),
      ["resolved", "monitoring", "investigating"],
    );
    assert.equal((await summary()).status.indicator, "none");

    // the canary really trades: its orders were placed and cancelled on the exchange
    const canary = JSON.parse(readFileSync(join(exchange_dir, "canary-key.json"), "utf8")) as {
      apiKey: string;
      secretKey: string;
    };
    const signed_get = async (path: string, params: Record<string, string>) => {
      const text = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
      const signature = createHmac("sha256", canary.secretKey).update(text).digest("hex");
      const r = await fetch(`http://127.0.0.1:${again.port}${path}?${text}&signature=${signature}`, {
        headers: { "X-MBX-APIKEY": canary.apiKey },
      });
      return (await r.json()) as Record<string, unknown> & Record<string, unknown>[];
    };
    // (read again while a round's order is between its placing and its cancel; one the kill -9 left
    // resting is swept by the restarted service before its first order)
    const canary_orders = await until("every canary order cancelled", 10_000, async () => {
      const orders = await signed_get("/api/v3/allOrders", { symbol: "BTCUSDT" });
      const mine = orders.filter((o) => String(o.clientOrderId).startsWith("canary-"));
      return mine.length > 0 && mine.every((o) => o.status === "CANCELED") ? mine : null;
    });
    assert.ok(canary_orders.every((o) => o.type === "LIMIT_MAKER"));
    // inside the band: halfway between 0.2 × 65,000 and 65,000
    assert.ok(
      canary_orders.every((o) => o.price === "39000.00000000"),
      JSON.stringify(canary_orders[0]),
    );

    // order entry fails while everything else answers: its own component, its own incident
    const account = (await signed_get("/api/v3/account", {})).uid as number;
    const revoked = await admin_request(
      join(exchange_dir, "admin.sock"),
      "DELETE",
      `/v1/api-keys/${canary.apiKey}?account=${account}`,
    );
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const broken = await until("order entry down", 10_000, async () => {
      const s = await summary();
      return s.incidents.some((i) => i.name === "Order entry down") ? s : null;
    });
    assert.deepEqual(
      Object.entries(statuses(broken)).filter(([, v]) => v !== "operational"),
      [["order-entry", "major_outage"]],
    );
    assert.match(broken.incidents[0].incident_updates[0].body, /order refused: -2015/);
  });

  it("text from the store is escaped on the page", () => {
    const file_dir = mkdtempSync(join(tmpdir(), "hf-status-page-"));
    const store = new StatusStore(join(file_dir, "status.sqlite"));
    try {
      store.add_component({ id: "rest-api", name: "REST <b>API</b>", position: 1 }, "major_outage", 0);
      store.open_incident(
        { name: `<script>alert("x")</script>`, impact: "major", auto_key: null, components: ["rest-api"] },
        `body <img src=x onerror=alert(1)> & "quotes"`,
        [],
        Date.now(),
      );
      const html = render_page({ name: "Holdfast <i>", url: "http://x" }, store, Date.now());
      assert.ok(!html.includes("<script>alert"), "no live script");
      assert.ok(!html.includes("<img src=x"), "no live markup from a body");
      assert.ok(!html.includes("<b>API"), "no live markup from a component name");
      assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
      assert.ok(html.includes("body &lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;"));
    } finally {
      store.close();
      rmSync(file_dir, { recursive: true, force: true });
    }
  });
});
