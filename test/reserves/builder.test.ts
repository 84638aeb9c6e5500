/**
 * The builder thread (src/reserves/builder_worker.ts): an audit's balances stored as pending (what the
 * writer thread does in its batch's transaction) are built into the tree when the history opens, as
 * after a crash between the two; a history closed in the middle of a build stops promptly and builds
 * the audit from the start at its next open, to the same root.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { History } from "../../src/projections/history.js";
import type { AuditRows } from "../../src/projections/history_rows.js";
import { build_audit, PendingWriter } from "../../src/reserves/audit.js";
import { verify_proof } from "../../src/reserves/proof.js";
import { Prng } from "../../src/sim/prng.js";
import { until } from "../helpers/wait.js";

function audit_rows(seq: number, accounts: number): AuditRows {
  const prng = new Prng(seq);
  const balances = new Float64Array(accounts * 2);
  for (let i = 0; i < balances.length; i++) balances[i] = prng.below(3) === 0 ? 0 : prng.below(1_000_000);
  return {
    seq,
    time_ms: 1_795_000_000_000,
    assets: 2,
    accounts,
    balances,
    reserves_units: [5, -1],
    fees_units: [0, 0],
    custody_units: [0, 0],
  };
}

function store_pending(file: string, rows: AuditRows): void {
  const db = new Database(file);
  db.transaction(() => new PendingWriter(db).insert(rows))();
  db.close();
}

describe("reserves: the builder thread", () => {
  it("builds an audit left pending, and after a close mid-build builds it again to the same root", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-reserves-builder-"));
    const file = join(dir, "history.sqlite");
    const key = randomBytes(32);
    try {
      new History(file, () => {}, key).close(); // the schema
      const small = audit_rows(11, 500);
      store_pending(file, small);
      let history = new History(file, () => {}, key);
      const built = await until(
        "the pending audit to be built",
        20_000,
        async () => (await history.reserves_find(11)).audit,
      );
      assert.equal(built.root, build_audit(audit_rows(11, 500), key).root);
      assert.equal((await history.reserves_find(11)).building, null, "no longer pending");
      assert.deepEqual(built.reserves_units, [5, -1]);
      history.close();

      // a big one: closed while it builds, the close does not wait for the build
      store_pending(file, audit_rows(12, 150_000));
      history = new History(file, () => {}, key);
      await new Promise((r) => setTimeout(r, 300));
      const closing_ms = Date.now();
      history.close();
      assert.ok(Date.now() - closing_ms < 4000, `close took ${Date.now() - closing_ms} ms`);
      const db = new Database(file, { readonly: true });
      const pending = db.prepare("SELECT COUNT(*) AS n FROM reserves_pending WHERE seq = 12").get() as {
        n: number;
      };
      const done = db.prepare("SELECT COUNT(*) AS n FROM reserves_audits WHERE seq = 12").get() as {
        n: number;
      };
      db.close();
      assert.deepEqual([pending.n, done.n], [1, 0], "stopped part-way: still pending, not visible");
      history = new History(file, () => {}, key);
      const big = await until(
        "the big audit to be built",
        120_000,
        async () => (await history.reserves_find(12)).audit,
      );
      assert.equal(big.root, build_audit(audit_rows(12, 150_000), key).root);
      // a proof out of the rebuilt tree checks (its length depends on where the leaf falls: a node
      // without a sibling at some level has no step there)
      const proof = await history.reserves_proof(3, 12);
      assert.ok(proof !== null && "path" in proof, "account 3 holds something at audit 12");
      const verdict = await verify_proof(
        {
          audit: 12,
          root: big.root,
          assets: ["A", "B"],
          nonce: proof.nonce,
          units: proof.units.map(String),
          path: proof.path,
        },
        (text) => createHash("sha256").update(text).digest("hex"),
      );
      assert.ok(verdict.ok, JSON.stringify(verdict));
      assert.ok(proof.path.length >= 1 && proof.path.length <= 18);
      history.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
