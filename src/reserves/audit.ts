/**
 * Proof-of-reserves audits in the history database: built by the history's writer thread from the
 * balances the engine fixed at the audit's sequence (the `reserves_audit` event), read by its reader
 * thread for the API (src/gateway/reserves.ts).
 *
 * Like the rest of the history it is derived from the journal: a history rebuilt from the journal
 * rebuilds the same audits, and every node of a cluster holds the same ones, provided they share the
 * master key (the leaf nonces are derived from it: `RESERVES_KEY_PURPOSE`). The tree is kept whole,
 * one row per node, so that a user's proof is a few point lookups however many accounts there are.
 *
 * Leaves are ordered by their hash, not by account: a user's proof shows the sibling leaf's balances
 * (a Merkle sum tree cannot hide them), and that sibling is then a random account, not their
 * neighbour in account number. Accounts holding nothing at the audit have no leaf.
 */
import { createHash, createHmac } from "node:crypto";
import type Database from "better-sqlite3";
import type { AuditRows } from "../projections/history_rows.js";
import { build_levels, leaf_text, type PathStep, path_of, type TreeNode } from "./proof.js";

/** The master key's derivation purpose for the nonces' key (gateway/master_key.ts `derive`). */
export const RESERVES_KEY_PURPOSE = "reserves audit nonces";

export const RESERVES_SCHEMA = `
  CREATE TABLE IF NOT EXISTS reserves_audits (
    seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, root TEXT NOT NULL, leaves INTEGER NOT NULL,
    liabilities TEXT NOT NULL, reserves TEXT NOT NULL, fees TEXT NOT NULL, custody TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS reserves_accounts (
    seq INTEGER NOT NULL, account INTEGER NOT NULL, leaf INTEGER NOT NULL, nonce TEXT NOT NULL,
    PRIMARY KEY (seq, account)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS reserves_nodes (
    seq INTEGER NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL,
    sums TEXT NOT NULL, PRIMARY KEY (seq, level, idx)) WITHOUT ROWID;
`;

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** An account's leaf nonce in the audit at `seq`: 16 bytes of HMAC-SHA256 under the nonces' key. */
export function leaf_nonce(key: Uint8Array, seq: number, account: number): string {
  return createHmac("sha256", key).update(`${seq}:${account}`).digest("hex").slice(0, 32);
}

export interface BuiltAudit {
  seq: number;
  time_ms: number;
  /** "" when no account held anything. */
  root: string;
  levels: TreeNode[][];
  /** [account, leaf index, nonce] of every account with a leaf. */
  accounts: [number, number, string][];
  liabilities_units: number[];
  reserves_units: number[];
  fees_units: number[];
  custody_units: number[];
}

/** The tree of an audit's balances (the writer thread: ~10 µs an account, hashing included). */
export function build_audit(a: AuditRows, key: Uint8Array): BuiltAudit {
  const n = a.assets;
  const leaves: { account: number; nonce: string; node: TreeNode }[] = [];
  for (let account = 0; account < a.accounts; account++) {
    const units = Array.from(a.balances.subarray(account * n, account * n + n));
    if (units.every((u) => u === 0)) continue;
    const nonce = leaf_nonce(key, a.seq, account);
    leaves.push({ account, nonce, node: { hash: sha256(leaf_text(nonce, units)), sums: units } });
  }
  leaves.sort((x, y) => (x.node.hash < y.node.hash ? -1 : x.node.hash > y.node.hash ? 1 : 0));
  const levels =
    leaves.length === 0
      ? []
      : build_levels(
          leaves.map((l) => l.node),
          sha256,
        );
  const root = levels.length === 0 ? null : levels[levels.length - 1][0];
  return {
    seq: a.seq,
    time_ms: a.time_ms,
    root: root?.hash ?? "",
    levels,
    accounts: leaves.map((l, i) => [l.account, i, l.nonce]),
    liabilities_units: root?.sums ?? new Array<number>(n).fill(0),
    reserves_units: a.reserves_units,
    fees_units: a.fees_units,
    custody_units: a.custody_units,
  };
}

/** Writes built audits (inside the writer's transaction for the batch). */
export class AuditWriter {
  private readonly audit: Database.Statement;
  private readonly account: Database.Statement;
  private readonly node: Database.Statement;

  constructor(db: Database.Database) {
    this.audit = db.prepare("INSERT OR REPLACE INTO reserves_audits VALUES (?,?,?,?,?,?,?,?)");
    this.account = db.prepare("INSERT OR REPLACE INTO reserves_accounts VALUES (?,?,?,?)");
    this.node = db.prepare("INSERT OR REPLACE INTO reserves_nodes VALUES (?,?,?,?,?)");
  }

  write(b: BuiltAudit): void {
    this.audit.run(
      b.seq,
      b.time_ms,
      b.root,
      b.accounts.length,
      JSON.stringify(b.liabilities_units),
      JSON.stringify(b.reserves_units),
      JSON.stringify(b.fees_units),
      JSON.stringify(b.custody_units),
    );
    for (const [account, leaf, nonce] of b.accounts) this.account.run(b.seq, account, leaf, nonce);
    for (let level = 0; level < b.levels.length; level++) {
      const nodes = b.levels[level];
      for (let i = 0; i < nodes.length; i++)
        this.node.run(b.seq, level, i, nodes[i].hash, nodes[i].sums.join(","));
    }
  }
}

/** An audit as stored: figures per asset in units (the asset's index is the position). */
export interface AuditRow {
  seq: number;
  time_ms: number;
  root: string;
  leaves: number;
  liabilities_units: number[];
  reserves_units: number[];
  fees_units: number[];
  custody_units: number[];
}

/** One account's proof in an audit (or why there is none). */
export type ProofRow =
  | { audit: AuditRow; nonce: string; units: number[]; leaf: number; path: PathStep[] }
  | { audit: AuditRow; none: "no balance" };

/** At most this many audits are listed. */
export const AUDITS_LISTED_MAX = 100;

interface RawAudit {
  seq: number;
  time_ms: number;
  root: string;
  leaves: number;
  liabilities: string;
  reserves: string;
  fees: string;
  custody: string;
}

const audit_row = (r: RawAudit): AuditRow => ({
  seq: r.seq,
  time_ms: r.time_ms,
  root: r.root,
  leaves: r.leaves,
  liabilities_units: JSON.parse(r.liabilities) as number[],
  reserves_units: JSON.parse(r.reserves) as number[],
  fees_units: JSON.parse(r.fees) as number[],
  custody_units: JSON.parse(r.custody) as number[],
});

/** Reads (the history's reader thread). */
export class AuditQueries {
  private readonly latest: Database.Statement;
  private readonly by_seq: Database.Statement;
  private readonly list_stmt: Database.Statement;
  private readonly account_stmt: Database.Statement;
  private readonly node_stmt: Database.Statement;
  private readonly width_stmt: Database.Statement;

  constructor(db: Database.Database) {
    this.latest = db.prepare("SELECT * FROM reserves_audits ORDER BY seq DESC LIMIT 1");
    this.by_seq = db.prepare("SELECT * FROM reserves_audits WHERE seq = ?");
    this.list_stmt = db.prepare("SELECT * FROM reserves_audits ORDER BY seq DESC LIMIT ?");
    this.account_stmt = db.prepare("SELECT leaf, nonce FROM reserves_accounts WHERE seq = ? AND account = ?");
    this.node_stmt = db.prepare(
      "SELECT hash, sums FROM reserves_nodes WHERE seq = ? AND level = ? AND idx = ?",
    );
    this.width_stmt = db.prepare(
      "SELECT level, COUNT(*) AS n FROM reserves_nodes WHERE seq = ? GROUP BY level ORDER BY level",
    );
  }

  /** The audit at `seq`, or the latest (null: none). */
  audit(seq: number | null): AuditRow | null {
    const r = (seq === null ? this.latest.get() : this.by_seq.get(seq)) as RawAudit | undefined;
    return r === undefined ? null : audit_row(r);
  }

  list(limit: number): AuditRow[] {
    return (this.list_stmt.all(Math.min(limit, AUDITS_LISTED_MAX)) as RawAudit[]).map(audit_row);
  }

  /** An account's leaf and path in the audit at `seq` (or the latest); null when there is no audit. */
  proof(account: number, seq: number | null): ProofRow | null {
    const audit = this.audit(seq);
    if (audit === null) return null;
    const mine = this.account_stmt.get(audit.seq, account) as { leaf: number; nonce: string } | undefined;
    if (mine === undefined) return { audit, none: "no balance" };
    const widths = (this.width_stmt.all(audit.seq) as { level: number; n: number }[]).map((w) => w.n);
    const node = (level: number, idx: number): TreeNode => {
      const r = this.node_stmt.get(audit.seq, level, idx) as { hash: string; sums: string };
      return { hash: r.hash, sums: r.sums.split(",").map(Number) };
    };
    const tree = { count: widths.length, width: (level: number) => widths[level], node };
    const leaf = node(0, mine.leaf);
    return { audit, nonce: mine.nonce, units: leaf.sums, leaf: mine.leaf, path: path_of(tree, mine.leaf) };
  }
}
