/**
 * The status page keeps telling the truth when its own disk is full: on a real tmpfs filled for the
 * test, the store's reserve lets it record the outage it then sees, rather than go on showing
 * "operational" because no write succeeds.
 */
import assert from "node:assert/strict";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Ballast } from "../../src/status/ballast.js";
import { BALLAST_FILE } from "../../src/status/service.js";
import { disk_full, StatusStore } from "../../src/status/store.js";
import { demo_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";
import { fill, mount_tmpfs } from "../helpers/tmpfs.js";
import { until } from "../helpers/wait.js";

/** The page's overall indicator (Statuspage's none / minor / major / critical). */
async function page_indicator(base: string): Promise<string> {
  const r = (await (await fetch(`${base}/api/v2/status.json`)).json()) as { status: { indicator: string } };
  return r.status.indicator;
}

describe("the status service on a full disk, or with a damaged store", () => {
  it("records the outage it sees after its disk filled: the page says major outage, the incident is open", async (t) => {
    const mount = mount_tmpfs(48, "hf-status-full-");
    if (typeof mount === "string") return t.skip(mount);
    const exchange = await demo_node("hf-status-full-node-");
    let exchange_up = true;
    const lines: string[] = [];
    const data_dir = join(mount.dir, "status");
    mkdirSync(data_dir);
    const status = await test_status(data_dir, `http://127.0.0.1:${exchange.running.port}`, {
      log: (line) => lines.push(line),
    });
    try {
      const base = `http://127.0.0.1:${status.port}`;
      const indicator = () => page_indicator(base);
      await until("the first rounds", 10_000, async () => ((await indicator()) === "none" ? true : null));

      fill(join(mount.dir, "filler"));
      await exchange.running.close();
      exchange_up = false;
      await until("the outage on the page", 20_000, async () =>
        (await indicator()) === "critical" ? true : null,
      );
      const open = (await (await fetch(`${base}/api/v2/incidents/unresolved.json`)).json()) as {
        incidents: { name: string; status: string }[];
      };
      assert.deepEqual(
        open.incidents.map((i) => [i.name, i.status]),
        [["Exchange unreachable", "investigating"]],
      );
      assert.ok(!lines.some((l) => l.includes("probe round failed")), lines.join("\n"));
      assert.ok(
        lines.some((l) => l.includes("IS FULL: deleted the 16 MB ballast")),
        "the ballast gave the space back",
      );
    } finally {
      await status.close();
      if (exchange_up) await exchange.running.close();
      await exchange.remove();
      mount.unmount();
    }
  });

  it("the ballast: once a write fails for want of space, deleting it lets the store write again", async (t) => {
    const mount = mount_tmpfs(48, "hf-status-full-");
    if (typeof mount === "string") return t.skip(mount);
    const store = new StatusStore(join(mount.dir, "status.sqlite"));
    try {
      const ballast = new Ballast(join(mount.dir, BALLAST_FILE));
      assert.equal(ballast.ensure(), true);
      assert.equal(ballast.present, true);
      fill(join(mount.dir, "filler"));
      const body = "x".repeat(64 * 1024);
      const write = (n: number) =>
        store.open_incident(
          { name: `incident ${n}`, impact: "minor", auto_key: null, components: [] },
          body,
          [],
          n,
        );
      let written = 0;
      let full: unknown = null;
      for (; written < 2000; written++) {
        try {
          write(written);
        } catch (error) {
          full = error;
          break;
        }
      }
      assert.ok(disk_full(full), `${written} writes, then ${String(full)}`);
      assert.equal(ballast.release(), true);
      assert.equal(ballast.present, false);
      // 8 MB more of incidents fit in the space given back
      let last = null;
      for (let i = 1; i <= 128; i++) last = write(written + i);
      assert.equal(last?.name, `incident ${written + 128}`);
      assert.equal(ballast.ensure(), false, "no room to write it again while the disk is full");
      assert.equal(ballast.present, false);
    } finally {
      store.close();
      mount.unmount();
    }
  });

  it("a store SQLite cannot read is moved aside, a new one begun, and the page comes up showing the exchange", async () => {
    const data_dir = mkdtempSync(join(tmpdir(), "hf-status-damaged-"));
    const exchange = await demo_node("hf-status-damaged-node-");
    const watch = `http://127.0.0.1:${exchange.running.port}`;
    try {
      const first = await test_status(data_dir, watch);
      await first.close();
      const file = join(data_dir, "status.sqlite");
      const fd = openSync(file, "r+");
      writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
      closeSync(fd);
      const lines: string[] = [];
      const status = await test_status(data_dir, watch, { log: (l) => lines.push(l) });
      try {
        assert.match(
          lines.join("\n"),
          /THE STORE .*status\.sqlite IS DAMAGED .*moved to .*status\.sqlite\.damaged-\d+/,
        );
        const summary = (await (
          await fetch(`http://127.0.0.1:${status.port}/api/v2/summary.json`)
        ).json()) as {
          components: { name: string; status: string }[];
        };
        assert.ok(summary.components.length >= 5, "the first round filled the components in again");
        assert.ok(summary.components.every((c) => c.status === "operational"));
      } finally {
        await status.close();
      }
    } finally {
      await exchange.remove();
      rmSync(data_dir, { recursive: true, force: true });
    }
  });

  it("another process holding the store's write lock: the page keeps answering quickly, and rounds resume after", async () => {
    const data_dir = mkdtempSync(join(tmpdir(), "hf-status-locked-"));
    const exchange = await demo_node("hf-status-locked-node-");
    let exchange_up = true;
    const status = await test_status(data_dir, `http://127.0.0.1:${exchange.running.port}`);
    try {
      const base = `http://127.0.0.1:${status.port}`;
      const indicator = () => page_indicator(base);
      await until("the first rounds", 10_000, async () => ((await indicator()) === "none" ? true : null));
      const other = new Database(join(data_dir, "status.sqlite"));
      other.exec("BEGIN IMMEDIATE");
      // the service runs in this process: a write waiting on the lock stalls this loop too, so the
      // longest gap between two answers is how long the page stopped answering
      let slowest_ms = 0;
      let last = performance.now();
      const until_ms = Date.now() + 4000;
      while (Date.now() < until_ms) {
        await indicator();
        await new Promise((r) => setTimeout(r, 50));
        slowest_ms = Math.max(slowest_ms, performance.now() - last);
        last = performance.now();
      }
      other.exec("ROLLBACK");
      other.close();
      assert.ok(
        slowest_ms < 1000,
        `the page stopped answering for up to ${Math.round(slowest_ms)} ms while the store was locked`,
      );
      // rounds record again: the outage after the lock is on the page
      await exchange.running.close();
      exchange_up = false;
      await until("the outage on the page", 20_000, async () =>
        (await indicator()) === "critical" ? true : null,
      );
    } finally {
      await status.close();
      if (exchange_up) await exchange.running.close();
      await exchange.remove();
      rmSync(data_dir, { recursive: true, force: true });
    }
  });
});
