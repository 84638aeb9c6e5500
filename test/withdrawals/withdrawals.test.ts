/**
 * Users' withdrawals end to end: a real `holdfast start` process paying through a custody service
 * (a local HTTP server here, checking every request's Standard Webhooks signature with the
 * `standardwebhooks` package and paying each withdrawal at most once per webhook-id, as a custody
 * service must). ccxt 4.5.84 withdraws and reads the history; the operator reviews with `holdfast
 * admin`. The safeguards hold (review, daily maximum, paused withdrawals hold payouts), a kill -9
 * while a payout is in flight pays once, and bad input is refused with Binance's codes, journaling
 * nothing.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import ccxt from "ccxt";
import { admin_request } from "../../src/admin/client.js";
import { type MetricJson, value_of } from "../../src/metrics/summary.js";
import { signed_query } from "../helpers/cluster.js";
import { Custody, payout_args } from "../helpers/custody.js";
import { spawn_node } from "../helpers/nodes.js";
import { cli, until } from "../helpers/wait.js";

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill("SIGKILL");
});

interface User {
  apiKey: string;
  secretKey: string;
}

describe("users' withdrawals", () => {
  it("ccxt withdraws; safeguards hold; custody pays once, across kill -9; bad input journals nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-withdrawals-"));
    const custody = new Custody();
    const url = await custody.listen();
    const secret_file = join(dir, "..", `${dir.split("/").pop()}-payout-secret`);
    const extra = payout_args(url, secret_file);
    const start = async () => {
      const s = await spawn_node(dir, 0, extra);
      children.add(s.child);
      return { child: s.child, base: `http://127.0.0.1:${s.port}` };
    };
    try {
      let { child, base } = await start();
      const admin = async (...args: string[]) => {
        const r = await cli(["admin", ...args, "--data-dir", dir]);
        return r;
      };
      const admin_json = async (...args: string[]) => {
        const r = await admin(...args, "--json");
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stdout} ${r.stderr}`);
        return JSON.parse(r.stdout);
      };
      const creds = JSON.parse(readFileSync(join(dir, "demo-credentials.json"), "utf8")) as { users: User[] };
      const alice = creds.users[0];
      const account = async (user: User) => {
        const r = await fetch(`${base}/api/v3/account?${signed_query({}, user.secretKey)}`, {
          headers: { "X-MBX-APIKEY": user.apiKey },
        });
        return (await r.json()) as {
          uid: number;
          balances: { asset: string; free: string; locked: string }[];
        };
      };
      const uid = (await account(alice)).uid;

      // a key that may withdraw must be bound to addresses, as on Binance
      const unbound = await admin("create-key", String(uid), "--withdraw");
      assert.notEqual(unbound.code, 0);
      assert.match(unbound.stderr + unbound.stdout, /IP allow-list/);
      const key = await admin_json("create-key", String(uid), "--withdraw", "--ip", "127.0.0.1");
      const wallet = new ccxt.binance({
        apiKey: key.apiKey,
        secret: key.secretKey,
        urls: { api: { public: `${base}/api/v3`, private: `${base}/api/v3`, sapi: `${base}/sapi/v1` } },
        options: { fetchMarkets: { types: ["spot"] } },
      });
      await wallet.loadMarkets();
      assert.equal(
        (await admin_json("withdrawal-policy", "BTC", "--review-min", "1", "--daily-max", "3")).applied,
        true,
      );

      // 1. a withdrawal by ccxt: the key is new, so it waits for an operator; its amount is locked
      const w1 = await wallet.withdraw("BTC", 0.5, "bc1qalice");
      assert.equal(w1.id, "w1");
      const listed = await admin_json("withdrawals");
      assert.equal(listed.pending.length, 1);
      assert.deepEqual(
        [listed.pending[0].id, listed.pending[0].status, listed.pending[0].amount, listed.pending[0].held],
        ["w1", "AWAITING_APPROVAL", "0.50000000", ["a key that may withdraw was made within 24 hours"]],
      );
      const metrics = (await admin_request(join(dir, "admin.sock"), "GET", "/v1/metrics?format=json"))
        .body as MetricJson[];
      assert.equal(value_of(metrics, "holdfast_withdrawals_pending", { status: "awaiting_approval" }), 1);
      assert.equal(value_of(metrics, "holdfast_withdrawals_pending", { status: "processing" }), 0);
      assert.ok((value_of(metrics, "holdfast_withdrawal_oldest_pending_seconds") ?? -1) >= 0);
      const text = await admin("withdrawals");
      assert.match(text.stdout, /w1 +AWAITING_APPROVAL +account \d+ +0\.50000000 BTC → bc1qalice/);
      let btc = (await wallet.fetchBalance()).BTC;
      assert.deepEqual([btc.free, btc.used, btc.total], [9.5, 0.5, 10]);
      let history = await wallet.fetchWithdrawals("BTC");
      assert.deepEqual(
        history.map((w) => [w.id, w.status, w.amount, w.address, w.internal]),
        [["w1", "pending", 0.5, "bc1qalice", false]],
      );
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(custody.asked.size, 0, "nothing is paid before approval");

      // 2. approved: the executor pays; the funds leave
      assert.equal((await admin_json("withdrawal-approve", "w1")).applied, true);
      await until("w1 paid", 10_000, async () => {
        const h = await wallet.fetchWithdrawals("BTC");
        return h[0]?.status === "ok" ? h : null;
      });
      history = await wallet.fetchWithdrawals("BTC");
      assert.deepEqual([history[0].txid, history[0].status], ["tx-withdrawal-w1", "ok"]);
      assert.deepEqual(custody.paid.get("withdrawal-w1"), {
        id: "w1",
        account: uid,
        asset: "BTC",
        amount: "0.50000000",
        amount_units: "50000000",
        address: "bc1qalice",
        address_tag: "",
        network: "",
        withdraw_order_id: "",
        requested_ms: (custody.paid.get("withdrawal-w1") as unknown as { requested_ms: number }).requested_ms,
      });
      btc = (await wallet.fetchBalance()).BTC;
      assert.deepEqual([btc.free, btc.used, btc.total], [9.5, 0, 9.5]);

      // 3. custody refuses: the withdrawal fails and its funds come back
      const w2 = await wallet.withdraw("BTC", 0.2, "refuse-this", undefined, { withdrawOrderId: "mine-2" });
      await admin_json("withdrawal-approve", w2.id as string);
      await until("w2 failed", 10_000, async () => {
        const h = await wallet.fetchWithdrawals("BTC", undefined, undefined, { withdrawOrderId: "mine-2" });
        return h[0]?.status === "failed" ? h : null;
      });
      btc = (await wallet.fetchBalance()).BTC;
      assert.deepEqual([btc.free, btc.used], [9.5, 0]);
      const failed = (
        await wallet.fetchWithdrawals("BTC", undefined, undefined, { withdrawOrderId: "mine-2" })
      )[0];
      assert.equal((failed.info as { info: string }).info, "address on a blocked list");
      // the withdrawOrderId is taken for 24 hours
      await assert.rejects(
        wallet.withdraw("BTC", 0.1, "bc1qalice", undefined, { withdrawOrderId: "mine-2" }),
        /Duplicate withdrawOrderId/,
      );

      // 4. withdrawals paused: new ones refused, approved ones wait unpaid until they resume
      const w3 = await wallet.withdraw("BTC", 0.1, "bc1qalice");
      assert.equal((await admin_json("flags", "--withdrawals-paused", "on")).applied, true);
      await assert.rejects(wallet.withdraw("BTC", 0.1, "bc1qalice"), /not open for withdrawal/);
      await admin_json("withdrawal-approve", w3.id as string);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(custody.asked.has(`withdrawal-${w3.id}`), false, "paused: not paid");
      await admin_json("flags", "--withdrawals-paused", "off");
      await until("w3 paid after resuming", 10_000, () =>
        custody.paid.has(`withdrawal-${w3.id}`) ? true : null,
      );

      // 5. the daily maximum (3 BTC): 0.5 + 0.1 paid (the failed 0.2 does not count)
      await assert.rejects(wallet.withdraw("BTC", 2.5, "bc1qalice"), /exceeds the maximum amount/);

      // 6. a flaky custody (503 first): asked again, paid once
      const w4 = await wallet.withdraw("BTC", 0.3, "flaky-addr");
      await admin_json("withdrawal-approve", w4.id as string);
      await until("w4 paid after a retry", 15_000, () =>
        custody.paid.has(`withdrawal-${w4.id}`) ? true : null,
      );
      assert.equal(custody.asked.get(`withdrawal-${w4.id}`), 2);

      // 7. kill -9 while custody has paid but not yet answered: the restarted node asks again with
      // the same webhook-id, custody answers the same txid, the withdrawal completes once
      const w5 = await wallet.withdraw("BTC", 0.4, "slow-addr");
      await admin_json("withdrawal-approve", w5.id as string);
      await until("w5 in flight", 10_000, () => (custody.asked.has(`withdrawal-${w5.id}`) ? true : null));
      child.removeAllListeners("exit");
      const gone = new Promise((r) => child.on("exit", r));
      child.kill("SIGKILL");
      await gone;
      children.delete(child);
      custody.hold_slow = false;
      custody.release();
      ({ child, base } = await start());
      wallet.urls = {
        ...wallet.urls,
        api: { public: `${base}/api/v3`, private: `${base}/api/v3`, sapi: `${base}/sapi/v1` },
      };
      await until("w5 completed after the restart", 15_000, async () => {
        const h = await wallet.fetchWithdrawals("BTC");
        const w = h.find((x) => x.id === w5.id);
        return w?.status === "ok" ? w : null;
      });
      assert.ok((custody.asked.get(`withdrawal-${w5.id}`) ?? 0) >= 2, "asked again after the restart");
      assert.equal(custody.paid.size, 4, "w1, w3, w4, w5 each paid once");
      btc = (await wallet.fetchBalance()).BTC;
      assert.deepEqual([btc.free, btc.used, btc.total], [8.7, 0, 8.7]);
      assert.deepEqual(
        (await wallet.fetchWithdrawals("BTC")).map((w) => [w.id, w.status]),
        // ccxt lists oldest first
        [
          ["w1", "ok"],
          [w2.id, "failed"],
          [w3.id, "ok"],
          [w4.id, "ok"],
          [w5.id, "ok"],
        ],
      );
      assert.deepEqual(custody.bad_signatures, []);

      // 8. bad input: Binance's codes, nothing journaled
      const seq_before = (await admin_json("status")).applied_seq;
      const apply = async (user: User, params: Record<string, string>) => {
        const r = await fetch(
          `${base}/sapi/v1/capital/withdraw/apply?${signed_query(params, user.secretKey)}`,
          {
            method: "POST",
            headers: { "X-MBX-APIKEY": user.apiKey },
          },
        );
        return { status: r.status, body: (await r.json()) as { code: number; msg: string } };
      };
      const w = { apiKey: key.apiKey, secretKey: key.secretKey };
      const ok = { coin: "BTC", address: "bc1qalice", amount: "0.01" };
      const cases: [User, Record<string, string>, number][] = [
        [alice, ok, -2015], // a key without the withdraw permission
        [w, { ...ok, coin: "DOGE" }, -4018],
        [w, { ...ok, amount: "0.000000001" }, -4021],
        [w, { ...ok, amount: "0" }, -4022],
        [w, { ...ok, amount: "1e3" }, -1100],
        [w, { ...ok, address: "bad address!" }, -4033],
        [w, { coin: "BTC", amount: "0.01" }, -1102],
        [w, { ...ok, addressTag: "é" }, -4008],
        [w, { ...ok, network: "x".repeat(33) }, -1100],
        [w, { ...ok, withdrawOrderId: "a b" }, -1100],
        [w, { ...ok, walletType: "1" }, -1100],
        [w, { ...ok, transactionFeeFlag: "maybe" }, -1100],
        [w, { ...ok, unknown: "1" }, -1104],
      ];
      for (const [user, params, code] of cases) {
        const r = await apply(user, params);
        assert.equal(r.body.code, code, `${JSON.stringify(params)}: ${JSON.stringify(r.body)}`);
        assert.ok(r.status >= 400 && r.status < 500, `${JSON.stringify(params)}: ${r.status}`);
      }
      assert.equal((await admin_json("status")).applied_seq, seq_before, "nothing journaled");
      // an operator's id that is no withdrawal: refused by the engine, journaled as refused
      const none = await admin("withdrawal-approve", "w999");
      assert.notEqual(none.code, 0);
      assert.match(none.stdout, /The withdrawal record does not exist/);
    } finally {
      for (const c of children) c.kill("SIGKILL");
      children.clear();
      custody.server.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(secret_file, { force: true });
    }
  });
});
