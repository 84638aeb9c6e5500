/**
 * `npm run bench:reserves [-- --quick] [--accounts N]`: what a proof-of-reserves audit costs. N
 * accounts (1,000,000; --quick 100,000) with balances in 3 assets; the audit's tree is built as the
 * history's writer thread builds it (`build_audit`: a nonce and a leaf hash per account, the sort by
 * hash, the inner nodes) and written to a fresh SQLite file in one transaction (`AuditWriter`), then
 * proofs are read back (`AuditQueries.proof`, what GET /holdfast/v1/reserves/proof runs on the reader
 * thread) and checked. Baseline in the same run: SHA-256 of the same N leaf texts alone, the least any
 * tree of them costs. Last line: one JSON object.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import type { AuditRows } from "../../src/projections/history_rows.js";
import {
  AuditQueries,
  BUILD_CHUNK_ROWS,
  build_audit,
  build_next,
  PendingWriter,
  RESERVES_SCHEMA,
} from "../../src/reserves/audit.js";
import { type InclusionProof, leaf_text, verify_proof } from "../../src/reserves/proof.js";
import { Prng } from "../../src/sim/prng.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const at = args.indexOf("--accounts");
const ACCOUNTS = at >= 0 ? Number(args[at + 1]) : quick ? 100_000 : 1_000_000;
const ASSETS = 3;
const PROOFS = 1_000;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");
const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

const prng = new Prng(7);
const balances = new Float64Array(ACCOUNTS * ASSETS);
for (let i = 0; i < balances.length; i++) balances[i] = prng.below(4) === 0 ? 0 : prng.below(1_000_000_000);
const rows: AuditRows = {
  seq: 42,
  time_ms: 1_795_000_000_000,
  assets: ASSETS,
  accounts: ACCOUNTS,
  balances,
  reserves_units: [-1, -1, -1],
  fees_units: [0, 0, 0],
  custody_units: [0, 0, 0],
};
const key = randomBytes(32);
log(`reserves audit of ${fmt(ACCOUNTS)} accounts × ${ASSETS} assets`);

// baseline: one SHA-256 of each leaf's text, nothing else
let t = performance.now();
const nonce = "00".repeat(16);
let sink = 0;
for (let a = 0; a < ACCOUNTS; a++) {
  const units = Array.from(balances.subarray(a * ASSETS, a * ASSETS + ASSETS));
  sink += sha256(leaf_text(nonce, units)).charCodeAt(0);
}
const baseline_ms = performance.now() - t;
log(
  `  baseline, SHA-256 of every leaf alone: ${fmt(baseline_ms)} ms (${((baseline_ms * 1000) / ACCOUNTS).toFixed(2)} µs an account)`,
);

t = performance.now();
const built = build_audit(rows, key);
const build_ms = performance.now() - t;
log(
  `  build_audit: ${fmt(build_ms)} ms (${((build_ms * 1000) / ACCOUNTS).toFixed(2)} µs an account, ${fmt(built.accounts.length)} leaves)`,
);

const dir = mkdtempSync(join(tmpdir(), "hf-bench-reserves-"));
try {
  const db = new Database(join(dir, "history.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(RESERVES_SCHEMA);
  // the real path: pending (the writer thread's one insert), then build_next (the builder thread:
  // the tree again, and its rows in transactions of BUILD_CHUNK_ROWS)
  t = performance.now();
  db.transaction(() => new PendingWriter(db).insert(rows))();
  const pending_ms = performance.now() - t;
  log(`  pending row (the writer thread's share): ${fmt(pending_ms)} ms`);
  t = performance.now();
  let chunks = 0;
  let chunk_max_ms = 0;
  let last = performance.now();
  const r = build_next(
    db,
    key,
    () => false,
    () => {
      const now = performance.now();
      // the first interval holds the tree's build too; the others are one transaction each
      if (chunks > 0) chunk_max_ms = Math.max(chunk_max_ms, now - last);
      chunks++;
      last = now;
    },
  );
  const builder_ms = performance.now() - t;
  if (r !== "built") throw new Error(`build_next: ${r}`);
  const write_ms = builder_ms - build_ms;
  log(
    `  build_next (the tree again + ${chunks} transactions of ${BUILD_CHUNK_ROWS} rows): ${fmt(builder_ms)} ms, of which writing ~${fmt(write_ms)} ms; longest transaction ${fmt(chunk_max_ms)} ms (the writer thread waits at most that)`,
  );

  const queries = new AuditQueries(db);
  const picks = Array.from({ length: PROOFS }, () => built.accounts[prng.below(built.accounts.length)][0]);
  t = performance.now();
  const proofs = picks.map((account) => queries.proof(account, null));
  const proof_ms = (performance.now() - t) / PROOFS;
  let verified = 0;
  for (const p of proofs) {
    if (p === null || "none" in p) continue;
    const proof: InclusionProof = {
      audit: p.audit.seq,
      root: p.audit.root,
      assets: ["A", "B", "C"],
      nonce: p.nonce,
      units: p.units.map(String),
      path: p.path,
    };
    if ((await verify_proof(proof, sha256)).ok) verified++;
  }
  log(
    `  a proof read back: ${proof_ms.toFixed(3)} ms each (${PROOFS} of them); verified ${verified}/${PROOFS}`,
  );
  db.close();
  const ratio = build_ms / baseline_ms;
  log(`  build / baseline: ${ratio.toFixed(2)}× (sink ${sink % 10})`);
  console.log(
    JSON.stringify({
      accounts: ACCOUNTS,
      leaves: built.accounts.length,
      baseline_hash_ms: Math.round(baseline_ms),
      build_ms: Math.round(build_ms),
      build_us_per_account: Number(((build_ms * 1000) / ACCOUNTS).toFixed(2)),
      build_ratio: Number(ratio.toFixed(2)),
      pending_insert_ms: Math.round(pending_ms),
      builder_ms: Math.round(builder_ms),
      write_ms: Math.round(write_ms),
      chunk_max_ms: Math.round(chunk_max_ms),
      proof_read_ms: Number(proof_ms.toFixed(3)),
      verified,
      proofs: PROOFS,
      quick,
    }),
  );
  if (verified !== PROOFS) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
