/**
 * Proof of reserves end to end: a real `holdfast start` process, the operator's `holdfast admin
 * reserves-audit`, a user's signed GET /holdfast/v1/reserves/proof, and `holdfast reserves verify`
 * as a user would run it. The audit is journaled: after a kill -9 and after the history database is
 * lost, the node serves the same root. Bad input is refused and changes nothing.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type InclusionProof, node_text } from "../../src/reserves/proof.js";
import { signed_query } from "../helpers/cluster.js";
import { spawn_node } from "../helpers/nodes.js";
import { cli, until } from "../helpers/wait.js";

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill("SIGKILL");
});

async function start(dir: string): Promise<{ child: ChildProcess; base: string }> {
  const s = await spawn_node(dir);
  children.add(s.child);
  return { child: s.child, base: `http://127.0.0.1:${s.port}` };
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
    children.delete(child);
  });
}

interface User {
  apiKey: string;
  secretKey: string;
}

async function signed_get(base: string, path: string, user: User, params: Record<string, string> = {}) {
  const r = await fetch(`${base}${path}?${signed_query(params, user.secretKey)}`, {
    headers: { "X-MBX-APIKEY": user.apiKey },
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

describe("proof of reserves", () => {
  it("an audit a user verifies, that survives kill -9 and a lost history, and refuses bad input", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-reserves-"));
    try {
      let { child, base } = await start(dir);
      const admin = (...args: string[]) => cli(["admin", ...args, "--data-dir", dir]);
      const creds = JSON.parse(readFileSync(join(dir, "demo-credentials.json"), "utf8")) as { users: User[] };
      const [alice, bob] = creds.users;

      // the demo's own first audit: reserves declared as deposited, nothing traded yet
      const first = JSON.parse((await admin("reserves", "--json")).stdout);
      for (const a of first.assets) {
        assert.equal(a.ratio, "1.0000", `${a.asset}: the demo declares what was deposited`);
        assert.equal(a.ledger_balanced, true);
      }

      // alice rests an order (locked funds count too), then the operator takes an audit
      const order = await fetch(
        `${base}/api/v3/order?${signed_query({ symbol: "BTCUSDT", side: "BUY", type: "LIMIT", timeInForce: "GTC", quantity: "0.5", price: "20000" }, alice.secretKey)}`,
        { method: "POST", headers: { "X-MBX-APIKEY": alice.apiKey } },
      );
      assert.equal(order.status, 200, await order.clone().text());
      const taken = await admin(
        "reserves-audit",
        "--reserve",
        "BTC=5000",
        "--reserve",
        "USDT=30000000",
        "--json",
      );
      assert.equal(taken.code, 0, taken.stderr);
      const audit = JSON.parse(taken.stdout);
      const btc = audit.assets.find((a: { asset: string }) => a.asset === "BTC");
      const usdt = audit.assets.find((a: { asset: string }) => a.asset === "USDT");
      const eth = audit.assets.find((a: { asset: string }) => a.asset === "ETH");
      assert.equal(btc.reserves, "5000.00000000");
      assert.equal(eth.reserves, null, "ETH not declared");
      assert.equal(eth.ratio, null);
      assert.equal(usdt.covered, true);
      for (const a of audit.assets)
        assert.equal(a.ledger_balanced, true, `${a.asset}: held + fees = custody`);
      const text = await admin("reserves");
      assert.match(text.stdout, new RegExp(`reserves audit ${audit.audit} at .*: \\d+ accounts in the tree`));
      assert.match(text.stdout, /ETH +[0-9.]+ +not declared +- {2}balanced/);

      // the public figures are the admin's
      const pub = await fetch(`${base}/holdfast/v1/reserves`);
      assert.deepEqual(await pub.json(), audit);
      const listed = (await (await fetch(`${base}/holdfast/v1/reserves/audits`)).json()) as {
        audit: number;
      }[];
      assert.deepEqual(
        listed.map((a) => a.audit),
        [audit.audit, first.audit],
      );

      // alice's proof: her balances (free + locked) as the account endpoint shows them
      const proof = await signed_get(base, "/holdfast/v1/reserves/proof", alice);
      assert.equal(proof.status, 200);
      assert.equal(proof.body.included, true);
      assert.equal(proof.body.root, audit.root);
      const account = (await signed_get(base, "/api/v3/account", alice)).body as {
        balances: { asset: string; free: string; locked: string }[];
      };
      const held = (asset: string) => {
        const b = account.balances.find((x) => x.asset === asset);
        return b === undefined ? 0 : Number(b.free) + Number(b.locked);
      };
      for (const [i, asset] of (proof.body.assets as string[]).entries())
        assert.equal(Number((proof.body.balances as string[])[i]), held(asset), asset);
      assert.equal(held("USDT"), 1_000_000, "10,000 USDT locked by the order are still hers");

      // `holdfast reserves verify`, as the user runs it
      const file = join(dir, "proof.json");
      writeFileSync(file, JSON.stringify(proof.body));
      const ok = await cli(["reserves", "verify", file, "--url", base]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /which is the root http:\/\/127\.0\.0\.1:\d+ publishes\nVERIFIED\n$/);
      // every address asked must publish that root: one that does not answer fails the check
      const two = await cli(["reserves", "verify", file, "--url", base, "--url", "http://127.0.0.1:1"]);
      assert.equal(two.code, 1, two.stdout);
      assert.match(
        two.stdout,
        /publishes\n {2}http:\/\/127\.0\.0\.1:1: no answer: .*\nNOT VERIFIED against the exchange\n$/,
      );
      // a balance claimed higher does not reach the root
      const p = proof.body as unknown as InclusionProof;
      writeFileSync(
        file,
        JSON.stringify({ ...p, units: p.units.map((u, i) => (i === 0 ? String(Number(u) + 1) : u)) }),
      );
      const more = await cli(["reserves", "verify", file]);
      assert.equal(more.code, 1);
      assert.match(more.stdout, /NOT VERIFIED: the path reaches [0-9a-f]{64}, not the published root/);
      // a proof consistent in itself but for another tree (a forged root) fails against the exchange's
      const forged_units = ["1", ...p.units.slice(1)];
      let hash = sha256(`holdfast-reserves-leaf-v1|${p.nonce}|${forged_units.join(",")}`);
      let sums = forged_units.map(Number);
      for (const s of p.path) {
        sums = sums.map((x, i) => x + Number(s.sums[i]));
        hash = sha256(s.side === "left" ? node_text(s.hash, hash, sums) : node_text(hash, s.hash, sums));
      }
      writeFileSync(file, JSON.stringify({ ...p, units: forged_units, root: hash }));
      const forged = await cli(["reserves", "verify", file, "--url", base, "--json"]);
      assert.equal(forged.code, 1);
      assert.deepEqual(
        (({ ok, root_matches, published_root }) => ({ ok, root_matches, published_root }))(
          JSON.parse(forged.stdout),
        ),
        { ok: false, root_matches: false, published_root: audit.root },
      );

      // bob's proof is bob's; nobody can ask for another account's
      const bobs = await signed_get(base, "/holdfast/v1/reserves/proof", bob);
      assert.notEqual(bobs.body.nonce, proof.body.nonce);
      const other = await signed_get(base, "/holdfast/v1/reserves/proof", bob, { account: "0" });
      assert.equal(other.status, 400);
      assert.equal(other.body.code, -1104);
      // an earlier audit by its number; bad numbers
      const old = await signed_get(base, "/holdfast/v1/reserves/proof", alice, {
        audit: String(first.audit),
      });
      assert.equal(old.body.root, first.root);
      for (const [q, status, code] of [
        ["audit=abc", 400, -1100],
        ["audit=0", 400, -1100],
        ["audit=99999999", 404, -2013],
        ["audit=1&audit=2", 400, -1101],
      ] as const) {
        const r = await fetch(`${base}/holdfast/v1/reserves?${q}`);
        const body = (await r.json()) as { code: number };
        assert.equal(r.status, status, q);
        assert.equal(body.code, code, `${q}: ${JSON.stringify(body)}`);
      }
      // without a key: Binance's 401 for an API-key format it cannot find
      const unsigned = await fetch(`${base}/holdfast/v1/reserves/proof`);
      assert.equal(unsigned.status, 401);
      assert.equal(((await unsigned.json()) as { code: number }).code, -2014);

      // operator refusals change nothing
      const seq = () => admin("status", "--json").then((r) => JSON.parse(r.stdout).applied_seq as number);
      const before = await seq();
      for (const [args, why] of [
        [["--reserve", "DOGE=1"], /unknown asset DOGE/],
        [["--reserve", "BTC=0.000000001"], /more than 8 decimals/],
        [["--reserve", "BTC=1", "--reserve", "BTC=2"], /BTC named twice/],
        [["--reserve", "BTC=-1"], /expected ASSET=amount/],
      ] as const) {
        const r = await admin("reserves-audit", ...args);
        assert.notEqual(r.code, 0, args.join(" "));
        assert.match(r.stderr + r.stdout, why);
      }
      assert.equal(await seq(), before, "no refused audit reached the journal");

      // kill -9, restart: the same audit; then with the history lost: rebuilt from the journal, the same root
      await kill9(child);
      ({ child, base } = await start(dir));
      assert.equal(
        ((await (await fetch(`${base}/holdfast/v1/reserves`)).json()) as { root: string }).root,
        audit.root,
      );
      await kill9(child);
      for (const f of ["history.sqlite", "history.sqlite-wal", "history.sqlite-shm"])
        rmSync(join(dir, f), { force: true });
      ({ child, base } = await start(dir));
      // replayed into the new history at start, then built by its builder thread: "still being built"
      // (503 -1008) until then
      const rebuilt = await until("the rebuilt history's audit", 20_000, async () => {
        const r = await fetch(`${base}/holdfast/v1/reserves?audit=${audit.audit}`);
        const body = (await r.json()) as { root: string; code?: number };
        if (r.status === 503) assert.equal(body.code, -1008);
        return r.status === 200 ? body : null;
      });
      assert.equal(rebuilt.root, audit.root, "the history rebuilt from the journal builds the same tree");
      const again = await signed_get(base, "/holdfast/v1/reserves/proof", alice, {
        audit: String(audit.audit),
      });
      assert.deepEqual(again.body, proof.body);
      await kill9(child);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
