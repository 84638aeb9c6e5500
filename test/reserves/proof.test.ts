/**
 * The liabilities tree (src/reserves/): every account's proof verifies against the root, the root's
 * sums are what the accounts hold, and a proof that was changed anywhere (a balance, a sibling's hash
 * or sums, a side) or that carries a negative sum is refused. Seeded property runs (fast-check).
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { AuditRows } from "../../src/projections/history_rows.js";
import { build_audit } from "../../src/reserves/audit.js";
import {
  type InclusionProof,
  levels_reader,
  node_text,
  path_of,
  verify_proof,
} from "../../src/reserves/proof.js";
import { audit_view, coverage_ratio } from "../../src/reserves/report.js";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");
const SEED = Number(process.env.HOLDFAST_SEED ?? 20261129);
const RUNS = Number(process.env.HOLDFAST_PROPERTY_RUNS ?? 150);

/** Balances of `accounts` × `assets`, some accounts empty, some huge. */
const balances_arb = fc
  .record({ assets: fc.integer({ min: 1, max: 4 }), accounts: fc.integer({ min: 1, max: 70 }) })
  .chain(({ assets, accounts }) =>
    fc.record({
      assets: fc.constant(assets),
      accounts: fc.constant(accounts),
      cells: fc.array(
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 0, max: 2 ** 40 })),
        { minLength: accounts * assets, maxLength: accounts * assets },
      ),
    }),
  );

function rows(seq: number, b: { assets: number; accounts: number; cells: number[] }): AuditRows {
  return {
    seq,
    time_ms: 1_795_000_000_000,
    assets: b.assets,
    accounts: b.accounts,
    balances: Float64Array.from(b.cells),
    reserves_units: new Array(b.assets).fill(-1),
    fees_units: new Array(b.assets).fill(0),
    custody_units: new Array(b.assets).fill(0),
  };
}

function proof_of(built: ReturnType<typeof build_audit>, k: number): InclusionProof {
  const [, leaf, nonce] = built.accounts[k];
  return {
    audit: built.seq,
    root: built.root,
    assets: built.liabilities_units.map((_, i) => `A${i}`),
    nonce,
    units: built.levels[0][leaf].sums.map(String),
    path: path_of(levels_reader(built.levels), leaf),
  };
}

describe("reserves: the liabilities tree", () => {
  it("every account's proof verifies, the root sums are the totals, and the tree is deterministic", async () => {
    await fc.assert(
      fc.asyncProperty(balances_arb, async (b) => {
        const key = randomBytes(32);
        const built = build_audit(rows(7, b), key);
        const totals = new Array(b.assets).fill(0);
        let holders = 0;
        for (let a = 0; a < b.accounts; a++) {
          const mine = b.cells.slice(a * b.assets, (a + 1) * b.assets);
          mine.forEach((u, i) => {
            totals[i] += u;
          });
          if (mine.some((u) => u > 0)) holders++;
        }
        assert.equal(built.accounts.length, holders, "one leaf per account holding anything");
        assert.deepEqual(built.liabilities_units, totals);
        if (holders === 0) return assert.equal(built.root, "");
        assert.deepEqual(build_audit(rows(7, b), key).root, built.root, "same input, same root");
        for (let k = 0; k < built.accounts.length; k++) {
          const [account] = built.accounts[k];
          const proof = proof_of(built, k);
          assert.deepEqual(
            proof.units.map(Number),
            b.cells.slice(account * b.assets, (account + 1) * b.assets),
          );
          const v = await verify_proof(proof, sha256);
          assert.ok(v.ok, `account ${account}: ${v.ok ? "" : v.why}`);
          assert.deepEqual(v.liabilities_units, totals.map(String));
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("a proof changed anywhere, or with a negative sum, is refused", async () => {
    await fc.assert(
      fc.asyncProperty(balances_arb, fc.nat(), fc.nat(), async (b, pick, where) => {
        const built = build_audit(rows(9, b), randomBytes(32));
        if (built.accounts.length === 0) return;
        const good = proof_of(built, pick % built.accounts.length);
        const tampered: InclusionProof[] = [];
        // claim one unit more of an asset
        const a = where % b.assets;
        tampered.push({ ...good, units: good.units.map((u, i) => (i === a ? String(Number(u) + 1) : u)) });
        tampered.push({ ...good, nonce: good.nonce.replace(/^./, (c) => (c === "0" ? "1" : "0")) });
        if (good.path.length > 0) {
          const s = where % good.path.length;
          const step = good.path[s];
          const with_step = (changed: (typeof good.path)[number]) => ({
            ...good,
            path: good.path.map((x, i) => (i === s ? changed : x)),
          });
          tampered.push(with_step({ ...step, side: step.side === "left" ? "right" : "left" }));
          tampered.push(with_step({ ...step, hash: sha256(step.hash) }));
          tampered.push(
            with_step({ ...step, sums: step.sums.map((x, i) => (i === a ? String(Number(x) + 1) : x)) }),
          );
        }
        for (const t of tampered) {
          const v = await verify_proof(t, sha256);
          assert.equal(v.ok, false, JSON.stringify(t));
        }
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });

  it("a negative sibling cannot hide a user's balance: the verifier refuses it", async () => {
    // An exchange that owes this user 100 and wants the root to show 0 would need a sibling of -100.
    const nonce = "00".repeat(16);
    const leaf = sha256(`holdfast-reserves-leaf-v1|${nonce}|100`);
    const sibling = sha256("a made-up account");
    const root = sha256(node_text(leaf, sibling, [0]));
    const v = await verify_proof(
      {
        audit: 1,
        root,
        assets: ["BTC"],
        nonce,
        units: ["100"],
        path: [{ side: "right", hash: sibling, sums: ["-100"] }],
      },
      sha256,
    );
    assert.deepEqual(v, { ok: false, why: "step 0: sum -100 is not a non-negative integer" });
    // malformed input is refused with a reason, never thrown
    for (const bad of [null, {}, { assets: ["X"], root: "zz" }, { assets: [], root: root }]) {
      const r = await verify_proof(bad as unknown as InclusionProof, sha256);
      assert.equal(r.ok, false);
    }
  });

  it("coverage is exact: ratios round down, nothing declared is null, and the ledger check", () => {
    assert.equal(coverage_ratio(1, 3), "0.3333");
    assert.equal(coverage_ratio(2 ** 53 - 1, 1), `${(2n ** 53n - 1n).toString()}.0000`);
    assert.equal(coverage_ratio(-1, 5), null);
    assert.equal(coverage_ratio(5, 0), null);
    const view = audit_view(
      {
        seq: 3,
        time_ms: 0,
        root: "r",
        leaves: 2,
        liabilities_units: [150_000_000, 7],
        reserves_units: [150_000_000, -1],
        fees_units: [1, 0],
        custody_units: [150_000_001, 8],
      },
      [
        { name: "BTC", decimals: 8 },
        { name: "X", decimals: 0 },
      ],
    );
    assert.deepEqual(view.assets[0], {
      asset: "BTC",
      liabilities: "1.50000000",
      reserves: "1.50000000",
      ratio: "1.0000",
      covered: true,
      fees: "0.00000001",
      custody: "1.50000001",
      ledger_balanced: true,
    });
    assert.equal(view.assets[1].reserves, null);
    assert.equal(view.assets[1].ledger_balanced, false, "7 held + 0 fees is not 8 in custody");
  });
});
