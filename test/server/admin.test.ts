/**
 * The admin interface, end to end: a real `holdfast start` process and the `holdfast admin` CLI
 * talking to it over its Unix socket. Operator commands go through the journal and survive a restart.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BIN, spawn_node } from "../helpers/nodes.js";

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const children = new Set<ChildProcess>();

/** Starts a node and resolves once it printed its ready line. */
async function start(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const started = await spawn_node(dir);
  children.add(started.child);
  return started;
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

describe("admin interface", () => {
  it("operator commands reach a running node through its socket, are journaled and survive a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-admin-"));
    try {
      let { child, port } = await start(dir);
      assert.equal(statSync(join(dir, "admin.sock")).mode & 0o777, 0o600);
      const ping = await fetch(`http://127.0.0.1:${port}/api/v3/ping`);
      assert.deepEqual(await ping.json(), {});

      const status = JSON.parse((await cli("admin", "status", "--data-dir", dir, "--json")).stdout);
      const base = status.applied_seq as number;
      assert.ok(base > 5, "demo markets, users and funds are journaled");
      assert.deepEqual(
        status.markets.map((m: { symbol: string; status: string }) => `${m.symbol}:${m.status}`),
        ["BTCUSDT:TRADING", "ETHUSDT:TRADING", "ETHBTC:TRADING"],
      );
      assert.deepEqual(status.order_entry, { open: true, reason: null });
      assert.ok(status.disk_free_bytes > 0);
      const text = await cli("admin", "status", "--data-dir", dir);
      assert.match(text.stdout, new RegExp(`applied sequence: ${base.toLocaleString("en-US")}`));
      assert.match(text.stdout, /order entry: {6}open\n {2}disk free: {8}[\d,]+ MB/);

      // users, keys and test deposits from the CLI; each a journaled command
      const user = JSON.parse((await cli("admin", "create-user", "--data-dir", dir, "--json")).stdout);
      assert.match(user.apiKey, /^[A-Za-z0-9]{64}$/);
      const dep = await cli("admin", "deposit", String(user.account), "usdt", "12.5", "--data-dir", dir);
      assert.match(dep.stdout, /deposit 12.5 USDT for account \d+: done/);
      const bad_amount = await cli(
        "admin",
        "deposit",
        String(user.account),
        "USDT",
        "1e5",
        "--data-dir",
        dir,
      );
      assert.equal(bad_amount.code, 1);
      assert.match(bad_amount.stderr, /amount 1e5: format/);
      // one account as the engine holds it: balances, open orders, keys (human and --json)
      const view = JSON.parse(
        (await cli("admin", "account", String(user.account), "--data-dir", dir, "--json")).stdout,
      );
      assert.equal(view.account, user.account);
      assert.deepEqual(
        view.balances.find((b: { asset: string }) => b.asset === "USDT"),
        { asset: "USDT", free: "12.50000000", locked: "0.00000000" },
      );
      assert.deepEqual(
        view.api_keys.map((k: { api_key: string; kind: string; trade: boolean }) => [
          k.api_key,
          k.kind,
          k.trade,
        ]),
        [[user.apiKey, "HMAC_SHA256", true]],
      );
      assert.ok(view.open_orders.every((o: { open: number }) => o.open === 0));
      const shown = (await cli("admin", "account", String(user.account), "--data-dir", dir)).stdout;
      assert.match(shown, new RegExp(`account ${user.account} \\(last balance change: \\d{4}-`));
      assert.match(shown, /\n {2}USDT {12,}12\.50000000 {13,}0\.00000000\n/);
      assert.match(shown, /open orders: none/);
      assert.match(
        shown,
        new RegExp(`API key ${user.apiKey.slice(0, 8)}… HMAC_SHA256, read \\+ trade, tier`),
      );
      const nobody = await cli("admin", "account", "999999", "--data-dir", dir);
      assert.equal(nobody.code, 1);
      assert.match(nobody.stderr, /unknown account 999999/);
      const revoke = await cli("admin", "revoke-key", String(user.account), user.apiKey, "--data-dir", dir);
      assert.match(revoke.stdout, /revoke key: done/);
      const halt = await cli("admin", "market-status", "BTCUSDT", "halt", "--data-dir", dir);
      assert.equal(halt.code, 0);
      assert.match(halt.stdout, new RegExp(`BTCUSDT → HALT: done \\(journal sequence ${base + 5}\\)`));
      const maint = JSON.parse(
        (await cli("admin", "flags", "--maintenance", "on", "--data-dir", dir, "--json")).stdout,
      );
      assert.deepEqual(maint, { seq: base + 6, applied: true });
      const sys = await fetch(`http://127.0.0.1:${port}/sapi/v1/system/status`);
      assert.deepEqual(await sys.json(), { status: 1, msg: "system_maintenance" });

      // bad input: clear errors, nothing journaled
      const unknown = await cli("admin", "market-status", "NOPE", "HALT", "--data-dir", dir);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /unknown market NOPE/);
      const bad = await cli("admin", "market-status", "BTCUSDT", "SIDEWAYS", "--data-dir", dir);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /must be equal to one of the allowed values/);
      const snap = JSON.parse((await cli("admin", "snapshot", "--data-dir", dir, "--json")).stdout);
      assert.equal(snap.seq, base + 6);

      // a second node on the same directory is refused, naming the running one
      const second = await cli("start", "--data-dir", dir, "--port", "0");
      assert.equal(second.code, 1);
      assert.match(second.stderr, new RegExp(`in use by process ${child.pid}`));

      assert.equal(await stop(child), 0);
      const gone = await cli("admin", "status", "--data-dir", dir);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /no node is running/);

      ({ child, port } = await start(dir));
      const after = JSON.parse((await cli("admin", "status", "--data-dir", dir, "--json")).stdout);
      assert.equal(after.applied_seq, base + 6, "a restart in demo mode journals nothing new");
      assert.equal(after.markets[0].status, "HALT");
      assert.equal(after.exchange.maintenance, true);
      assert.deepEqual(after.last_snapshot, { name: snap.name, seq: base + 6 });
      assert.equal(await stop(child), 0);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
