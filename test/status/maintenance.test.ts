/**
 * Scheduled maintenance end to end: announced ahead (JSON, page, signed), started and finished by the
 * status service on time, switching a real exchange process into and out of maintenance through its
 * admin socket; no incident is opened for it. Bad windows are refused. A window that reopens in stages
 * does so in order, across a restart of the service, stops when someone else changes what it set,
 * and finishes at once when an operator ends it early.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { admin_request } from "../../src/admin/client.js";
import type { NodeStatus } from "../../src/admin/server.js";
import type { RunningStatus } from "../../src/status/service.js";
import { verify_document } from "../../src/status/signing.js";
import { StatusStore } from "../../src/status/store.js";
import { spawn_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";
import { cli, until } from "../helpers/wait.js";

type Maint = {
  id: string;
  name: string;
  status: string;
  incident_updates: { status: string; body: string }[];
};

describe("scheduled maintenance", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-maint-"));
  let node: ChildProcess | null = null;
  let status: RunningStatus | null = null;
  let exchange_url = "";
  after(async () => {
    node?.kill("SIGKILL");
    await status?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("announced, started and finished on time, switching the exchange; no incident", async () => {
    const exchange_dir = join(dir, "exchange");
    const status_dir = join(dir, "status");
    const started = await spawn_node(exchange_dir);
    node = started.child;
    const exchange = `http://127.0.0.1:${started.port}`;
    exchange_url = exchange;
    status = await test_status(status_dir, exchange, {
      probe_interval_ms: 300,
      exchange_admin_socket: join(exchange_dir, "admin.sock"),
    });
    const base = `http://127.0.0.1:${status.port}`;
    const get = async <T>(path: string) => (await (await fetch(`${base}${path}`)).json()) as T;
    const admin = (args: string[]) => cli(["status", "admin", ...args, "--data-dir", status_dir]);
    const iso = (ms: number) => new Date(ms).toISOString();

    // refused windows
    const now = Date.now();
    for (const [args, expected] of [
      [["--start", iso(now + 5000), "--end", iso(now + 1000)], /end must be after start/],
      [["--start", iso(now - 3_600_000), "--end", iso(now + 1000)], /start is in the past/],
      [["--start", "tomorrow", "--end", iso(now + 1000)], /refused \(400\)/],
      [["--start", iso(now + 1000), "--end", iso(now + 9 * 86_400_000)], /at most 7 days/],
      [["--start", iso(now + 1000), "--end", iso(now + 2000), "--components", "nope"], /unknown components/],
    ] as [string[], RegExp][]) {
      const r = await admin(["schedule", "Bad window", "--body", "x", ...args]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, expected);
    }

    const start_ms = Date.now() + 2000;
    const scheduled = await admin([
      "schedule",
      "Database upgrade",
      "--start",
      iso(start_ms),
      "--end",
      iso(start_ms + 3000),
      "--body",
      "Trading pauses for the upgrade.",
      "--components",
      "deposits",
      "--switch-exchange",
      "--json",
    ]);
    assert.equal(scheduled.code, 0, scheduled.stderr);
    const { id } = JSON.parse(scheduled.stdout) as { id: string };
    const upcoming = await get<{ scheduled_maintenances: Maint[] }>(
      "/api/v2/scheduled-maintenances/upcoming.json",
    );
    assert.deepEqual(
      upcoming.scheduled_maintenances.map((m) => [m.id, m.name, m.status]),
      [[id, "Database upgrade", "scheduled"]],
    );
    const key = createPublicKey(
      (await get<{ public_key_pem: string }>("/api/v2/signing-key.json")).public_key_pem,
    );
    assert.ok(verify_document(upcoming, key).every((r) => r.ok));
    assert.match(await (await fetch(base)).text(), /Database upgrade/);
    const mode = await get<{ scheduled_maintenances: { id: string }[] }>("/api/v2/trading-mode.json");
    assert.deepEqual(
      mode.scheduled_maintenances.map((m) => m.id),
      [id],
    );

    // it starts by itself: the exchange is switched, the probes see it, no incident
    await until("the exchange in maintenance", 8000, async () => {
      const s = (await (await fetch(`${exchange}/sapi/v1/system/status`)).json()) as { status: number };
      return s.status === 1 ? true : null;
    });
    const active = await get<{ scheduled_maintenances: Maint[] }>(
      "/api/v2/scheduled-maintenances/active.json",
    );
    assert.equal(active.scheduled_maintenances[0].status, "in_progress");
    assert.match(
      active.scheduled_maintenances[0].incident_updates[0].body,
      /The exchange is in maintenance mode/,
    );
    const during = await until("components under maintenance", 5000, async () => {
      const s = await get<{ components: { id: string; status: string }[] }>("/api/v2/components.json");
      return s.components.find((c) => c.id === "matching-btcusdt")?.status === "under_maintenance" ? s : null;
    });
    assert.equal(during.components.find((c) => c.id === "deposits")?.status, "under_maintenance");
    const during_mode = await until("trading mode: maintenance", 5000, async () => {
      const m = await get<{ mode: string; scheduled_maintenances: { id: string; status: string }[] }>(
        "/api/v2/trading-mode.json",
      );
      return m.mode === "maintenance" ? m : null;
    });
    assert.deepEqual(during_mode.scheduled_maintenances, [
      { ...during_mode.scheduled_maintenances[0], id, status: "in_progress" },
    ]);

    // and finishes by itself
    await until("the exchange out of maintenance", 8000, async () => {
      const s = (await (await fetch(`${exchange}/sapi/v1/system/status`)).json()) as { status: number };
      return s.status === 0 ? true : null;
    });
    const done = await until("completed", 5000, async () => {
      const all = await get<{ scheduled_maintenances: Maint[] }>("/api/v2/scheduled-maintenances.json");
      const m = all.scheduled_maintenances.find((x) => x.id === id);
      return m?.status === "completed" ? m : null;
    });
    assert.deepEqual(
      done.incident_updates.map((u) => u.status),
      ["completed", "in_progress", "scheduled"],
    );
    assert.match(done.incident_updates[0].body, /back out of maintenance mode/);
    await until("components back", 5000, async () => {
      const s = await get<{ components: { status: string }[] }>("/api/v2/components.json");
      return s.components.every((c) => c.status === "operational") ? true : null;
    });
    const incidents = await get<{ incidents: unknown[] }>("/api/v2/incidents.json");
    assert.equal(incidents.incidents.length, 0, "a maintenance is not an incident");

    // one completed early, before it started, never touches the exchange
    const later = await admin([
      "schedule",
      "Later",
      "--start",
      iso(Date.now() + 3_600_000),
      "--end",
      iso(Date.now() + 7_200_000),
      "--body",
      "x",
      "--switch-exchange",
      "--json",
    ]);
    const later_id = (JSON.parse(later.stdout) as { id: string }).id;
    const completed = await admin(["complete", later_id, "--body", "Not needed after all."]);
    assert.equal(completed.code, 0, completed.stderr);
    assert.match((await admin(["maintenances"])).stdout, new RegExp(`${later_id}\\s+completed`));
    const s = (await (await fetch(`${exchange}/sapi/v1/system/status`)).json()) as { status: number };
    assert.equal(s.status, 0);

    // reminders: one whose time comes goes out as an update of its own; one whose time had passed
    // when the window was announced does not (the announcement was the notice)
    const ahead = async (start_ms: number, remind: string) => {
      const r = await admin([
        "schedule",
        "Reminded",
        "--start",
        iso(start_ms),
        "--end",
        iso(start_ms + 60_000),
        "--body",
        "Trading pauses for a minute.",
        "--remind-minutes",
        remind,
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { id: string }).id;
    };
    const late = await ahead(Date.now() + 30 * 60_000, "60");
    // its reminder is due 4 s from now: after the CLI's own start-up has announced the window
    const due = await ahead(Date.now() + 64_000, "1");
    const reminded = await until("the reminder", 12_000, async () => {
      const all = await get<{ scheduled_maintenances: Maint[] }>("/api/v2/scheduled-maintenances.json");
      const m = all.scheduled_maintenances.find((x) => x.id === due);
      return m !== undefined && m.incident_updates.length === 2 ? m : null;
    });
    assert.deepEqual(
      reminded.incident_updates.map((u) => u.status),
      ["scheduled", "scheduled"],
    );
    assert.match(
      reminded.incident_updates[0].body,
      /^Reminder: this maintenance starts in 1 minute, at \d\d:\d\d UTC\. Trading pauses for a minute\.$/,
    );
    await new Promise((r) => setTimeout(r, 1000)); // rounds enough for a wrong reminder to show
    const all = await get<{ scheduled_maintenances: Maint[] }>("/api/v2/scheduled-maintenances.json");
    assert.equal(all.scheduled_maintenances.find((x) => x.id === late)?.incident_updates.length, 1);
    for (const id of [late, due])
      assert.equal((await admin(["complete", id, "--body", "Called off."])).code, 0);
  });

  it("a window that reopens in stages: in order, across a restart, stopped by drift, ended early", async () => {
    assert.ok(node !== null && status !== null, "runs after the test above");
    const exchange_dir = join(dir, "exchange");
    const status_dir = join(dir, "status");
    const exchange_socket = join(exchange_dir, "admin.sock");
    const status_options = { probe_interval_ms: 300, exchange_admin_socket: exchange_socket };
    const base = () => `http://127.0.0.1:${status?.port}`;
    const get = async <T>(path: string) => (await (await fetch(`${base()}${path}`)).json()) as T;
    const admin = (args: string[]) => cli(["status", "admin", ...args, "--data-dir", status_dir]);
    const iso = (ms: number) => new Date(ms).toISOString();
    const exchange_admin = async (path: string, body: unknown) => {
      const r = await admin_request(exchange_socket, "POST", path, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    /** The exchange's state in one line: switches, then each market's mode. */
    const state = async (): Promise<string> => {
      const s = (await admin_request(exchange_socket, "GET", "/v1/status")).body as NodeStatus;
      const on = (b: boolean) => (b ? "on" : "off");
      return `maintenance ${on(s.exchange.maintenance)}, withdrawals paused ${on(s.exchange.withdrawals_paused)}; ${s.markets.map((m) => `${m.symbol} ${m.status}`).join(", ")}`;
    };
    const window = async (stage_s: number): Promise<string> => {
      const start_ms = Date.now() + 1000;
      const r = await admin([
        "schedule",
        "Matching engine upgrade",
        "--start",
        iso(start_ms),
        "--end",
        iso(start_ms + 1500),
        "--body",
        "Trading pauses for the upgrade.",
        "--switch-exchange",
        "--reopen-stage-seconds",
        String(stage_s),
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { id: string }).id;
    };
    const updates = async (id: string) => {
      const all = await get<{ scheduled_maintenances: Maint[] }>("/api/v2/scheduled-maintenances.json");
      const m = all.scheduled_maintenances.find((x) => x.id === id);
      assert.ok(m !== undefined);
      return m;
    };

    // refused: staging without switching the exchange, a wait out of range
    const now = Date.now();
    for (const [args, expected] of [
      [["--reopen-stage-seconds", "5"], /needs switch_exchange/],
      [["--switch-exchange", "--reopen-stage-seconds", "3601"], /refused \(400\)/],
      [["--switch-exchange", "--reopen-stage-seconds", "-1"], /expected a whole number/],
    ] as [string[], RegExp][]) {
      const r = await admin([
        "schedule",
        "Bad",
        "--body",
        "x",
        "--start",
        iso(now + 60_000),
        "--end",
        iso(now + 120_000),
        ...args,
      ]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, expected);
    }

    // 1. in order, across a restart of the status service. ETHBTC was halted by an operator before
    // the window: it is not the window's to reopen.
    await exchange_admin("/v1/market-status", { symbol: "ETHBTC", status: "HALT" });
    const seen: string[] = [await state()];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const s = await state();
        if (s !== seen.at(-1)) seen.push(s);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const first = await window(2);
    const verifying = await until("the window verifying", 10_000, async () => {
      const m = await updates(first);
      return m.status === "verifying" ? m : null;
    });
    assert.match(
      verifying.incident_updates[0].body,
      /^Scheduled maintenance is complete\. The exchange is out of maintenance mode; its markets stay closed while it reopens in stages\. Next: cancel-only at \d\d:\d\d:\d\d UTC, trading at \d\d:\d\d:\d\d UTC, withdrawals at \d\d:\d\d:\d\d UTC\.$/,
    );
    // what the reopening holds closed is shown as maintenance, not as an outage
    const during = await until("the reopening's markets shown under maintenance", 5000, async () => {
      const c = await get<{ components: { id: string; status: string }[] }>("/api/v2/components.json");
      const of = (id: string) => c.components.find((x) => x.id === id)?.status;
      // ETHBTC, halted on its own account, is judged as it is once maintenance no longer covers it
      return of("matching-btcusdt") === "under_maintenance" &&
        of("withdrawals") === "under_maintenance" &&
        of("matching-ethbtc") === "major_outage"
        ? c
        : null;
    });
    assert.equal(during.components.find((x) => x.id === "matching-ethusdt")?.status, "under_maintenance");
    assert.match(await (await fetch(base())).text(), /Reopening in stages/);
    // the service restarts mid-way and carries on from its store
    await status.close();
    status = await test_status(status_dir, exchange_url, status_options);
    const done = await until("the window completed", 15_000, async () => {
      const m = await updates(first);
      return m.status === "completed" ? m : null;
    });
    watching = false;
    await watcher;
    assert.deepEqual(
      done.incident_updates.map((u) => u.status),
      ["completed", "verifying", "verifying", "verifying", "in_progress", "scheduled"],
    );
    assert.match(done.incident_updates[2].body, /^The markets are cancel-only: orders that rested/);
    assert.match(done.incident_updates[1].body, /^Trading is open again\. Next: withdrawals at /);
    assert.equal(
      done.incident_updates[0].body,
      "Withdrawals are open again. The exchange is fully open again.",
    );
    // every state the exchange went through, in order (the states between are one command landing)
    const stages = [
      "maintenance off, withdrawals paused off; BTCUSDT TRADING, ETHUSDT TRADING, ETHBTC HALT",
      "maintenance on, withdrawals paused off; BTCUSDT TRADING, ETHUSDT TRADING, ETHBTC HALT",
      "maintenance off, withdrawals paused on; BTCUSDT HALT, ETHUSDT HALT, ETHBTC HALT",
      "maintenance off, withdrawals paused on; BTCUSDT CANCEL_ONLY, ETHUSDT CANCEL_ONLY, ETHBTC HALT",
      "maintenance off, withdrawals paused on; BTCUSDT TRADING, ETHUSDT TRADING, ETHBTC HALT",
      "maintenance off, withdrawals paused off; BTCUSDT TRADING, ETHUSDT TRADING, ETHBTC HALT",
    ];
    const at: number[] = [];
    for (const s of stages) at.push(seen.indexOf(s, (at.at(-1) ?? -1) + 1));
    assert.ok(
      at.every((i) => i >= 0),
      `stages out of order: ${JSON.stringify(seen, null, 1)}`,
    );
    // never a market trading, nor withdrawals open, out of maintenance before its stage
    for (const s of seen.slice(at[1], at[3] + 1))
      assert.doesNotMatch(s, /maintenance off.*USDT TRADING/, `traded before its stage: ${s}`);
    // the only incident is the operator's own halt of ETHBTC
    const incidents = await get<{ incidents: { components: { id: string }[] }[] }>("/api/v2/incidents.json");
    for (const i of incidents.incidents)
      assert.deepEqual(
        i.components.map((c) => c.id),
        ["matching-ethbtc"],
      );

    // 2. someone else changes what a stage set: the reopening stops and says so; the operator ends it
    const second = await window(3);
    await until("the second window verifying", 10_000, async () =>
      (await updates(second)).status === "verifying" ? true : null,
    );
    await exchange_admin("/v1/market-status", { symbol: "BTCUSDT", status: "BREAK" });
    const stopped = await until("the reopening stopped", 10_000, async () => {
      const m = await updates(second);
      return /stopped/.test(m.incident_updates[0].body) ? m : null;
    });
    assert.equal(stopped.status, "verifying");
    assert.match(
      stopped.incident_updates[0].body,
      /^The staged reopening stopped before cancel-only: changed meanwhile by someone else: BTCUSDT is BREAK, not HALT\. The operators are finishing it by hand/,
    );
    assert.match((await admin(["maintenances"])).stdout, /reopening stopped before cancel-only/);
    assert.equal(
      await state(),
      "maintenance off, withdrawals paused on; BTCUSDT BREAK, ETHUSDT HALT, ETHBTC HALT",
    );
    const ended = await admin(["complete", second, "--body", "Reopened by hand."]);
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal((await updates(second)).status, "completed");
    for (const symbol of ["BTCUSDT", "ETHUSDT"])
      await exchange_admin("/v1/market-status", { symbol, status: "TRADING" });
    await exchange_admin("/v1/exchange-flags", { withdrawals_paused: false });

    // 3. an operator ends a verifying window early: the stages left are carried out at once
    const third = await window(3600);
    await until("the third window verifying", 10_000, async () =>
      (await updates(third)).status === "verifying" ? true : null,
    );
    assert.equal(
      await state(),
      "maintenance off, withdrawals paused on; BTCUSDT HALT, ETHUSDT HALT, ETHBTC HALT",
    );
    const early = await admin(["complete", third, "--body", "All checks passed early."]);
    assert.equal(early.code, 0, early.stderr);
    assert.match(early.stdout, /completed/);
    assert.equal(
      await state(),
      "maintenance off, withdrawals paused off; BTCUSDT TRADING, ETHUSDT TRADING, ETHBTC HALT",
    );
    assert.equal(
      (await updates(third)).incident_updates[0].body,
      "All checks passed early. The markets are cancel-only: orders that rested through the maintenance can be cancelled; no new orders yet. Trading is open again. Withdrawals are open again. The exchange is fully open again.",
    );
  });

  it("a store written before staged reopenings gains their columns; its windows end all at once", () => {
    const file = join(dir, "old-status.sqlite");
    const old = new Database(file);
    // the table as the first version made it, with a window in it
    old.exec(`CREATE TABLE maintenances (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
        scheduled_for TEXT NOT NULL, scheduled_until TEXT NOT NULL, components TEXT NOT NULL,
        switch_exchange INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        started_at TEXT, completed_at TEXT);
      INSERT INTO maintenances VALUES ('m1', 'Old', 'x', 'scheduled', '2026-12-01T02:00:00.000Z',
        '2026-12-01T03:00:00.000Z', '[]', 1, '2026-11-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z', NULL, NULL);`);
    old.close();
    const store = new StatusStore(file);
    try {
      const m = store.maintenance("m1");
      assert.equal(m?.switch_exchange, true);
      assert.equal(m?.reopen_stage_s, null);
      assert.equal(m?.reopen, null);
    } finally {
      store.close();
    }
    // and a second open finds them there
    new StatusStore(file).close();
  });
});
