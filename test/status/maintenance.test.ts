/**
 * Scheduled maintenance end to end: announced ahead (JSON, page, signed), started and finished by the
 * status service on time, switching a real exchange process into and out of maintenance through its
 * admin socket; no incident is opened for it. Bad windows are refused.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { RunningStatus } from "../../src/status/service.js";
import { verify_document } from "../../src/status/signing.js";
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
  });
});
