/**
 * Proof-of-reserves audits in the history database. The history's writer thread stores the balances
 * the engine fixed at the audit's sequence (the `reserves_audit` event) as a pending audit, in the
 * transaction of its batch (one blob: cheap, and a crash after it loses nothing); the builder thread
 * (builder_worker.ts, at the lowest priority) then builds the tree and writes it in small
 * transactions, and the audit appears once it is whole. Building a million accounts' tree takes tens
 * of seconds (`npm run bench:reserves`): on the writer thread that stalled the history, and with 64
 * batches behind it, the node's own thread. The reader thread serves it (src/gateway/reserves.ts).
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
import { BuildStopped, build_levels, leaf_text, type PathStep, path_of, type TreeNode } from "./proof.js";

/** The master key's derivation purpose for the nonces' key (gateway/master_key.ts `derive`). */
export const RESERVES_KEY_PURPOSE = "reserves audit nonces";

export const RESERVES_SCHEMA = `
  CREATE TABLE IF NOT EXISTS reserves_audits (
    seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, root TEXT NOT NULL, leaves INTEGER NOT NULL,
    liabilities TEXT NOT NULL, reserves TEXT NOT NULL, fees TEXT NOT NULL, custody TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS reserves_accounts (
    seq INTEGER NOT NULL, account INTEGER NOT NULL, leaf INTEGER NOT NULL, nonce TEXT NOT NULL,
    PRIMARY KEY (seq, account)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS reserves_pending (
    seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, assets INTEGER NOT NULL,
    accounts INTEGER NOT NULL, balances BLOB NOT NULL, reserves TEXT NOT NULL, fees TEXT NOT NULL,
    custody TEXT NOT NULL);
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
export function build_audit(a: AuditRows, key: Uint8Array, stop: () => boolean = () => false): BuiltAudit {
  const n = a.assets;
  const leaves: { account: number; nonce: string; node: TreeNode }[] = [];
  for (let account = 0; account < a.accounts; account++) {
    if ((account & 4095) === 0 && stop()) throw new BuildStopped();
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

/** Stores an audit's balances as pending (the writer thread, inside its batch's transaction). */
export class PendingWriter {
  private readonly insert_stmt: Database.Statement;

  constructor(db: Database.Database) {
    this.insert_stmt = db.prepare("INSERT OR REPLACE INTO reserves_pending VALUES (?,?,?,?,?,?,?,?)");
  }

  insert(a: AuditRows): void {
    this.insert_stmt.run(
      a.seq,
      a.time_ms,
      a.assets,
      a.accounts,
      Buffer.from(a.balances.buffer, a.balances.byteOffset, a.balances.byteLength),
      JSON.stringify(a.reserves_units),
      JSON.stringify(a.fees_units),
      JSON.stringify(a.custody_units),
    );
  }
}

/** Rows written per transaction while a tree is stored: the writer thread waits at most one of these. */
export const BUILD_CHUNK_ROWS = 2_000;

/**
 * Builds and stores the oldest pending audit (the builder thread): its tree, then its rows a chunk per
 * transaction, then in one last transaction its summary row, which makes it visible, and the pending
 * row's removal. Stopped part-way (`stop()` between chunks, or a crash), the next run starts it again:
 * every row is written with INSERT OR REPLACE and comes out the same. Returns whether one was built.
 */
export function build_next(
  db: Database.Database,
  key: Uint8Array,
  stop: () => boolean,
  progress: (written: number, total: number) => void = () => {},
): "built" | "none" | "stopped" {
  const row = db.prepare("SELECT * FROM reserves_pending ORDER BY seq LIMIT 1").get() as
    | {
        seq: number;
        time_ms: number;
        assets: number;
        accounts: number;
        balances: Buffer;
        reserves: string;
        fees: string;
        custody: string;
      }
    | undefined;
  if (row === undefined) return "none";
  // a copy, aligned: the blob's bytes may start anywhere
  const bytes = new Uint8Array(row.balances);
  let built: BuiltAudit;
  try {
    built = build_audit(
      {
        seq: row.seq,
        time_ms: row.time_ms,
        assets: row.assets,
        accounts: row.accounts,
        balances: new Float64Array(bytes.buffer, 0, row.assets * row.accounts),
        reserves_units: JSON.parse(row.reserves) as number[],
        fees_units: JSON.parse(row.fees) as number[],
        custody_units: JSON.parse(row.custody) as number[],
      },
      key,
      stop,
    );
  } catch (error) {
    if (error instanceof BuildStopped) return "stopped";
    throw error;
  }
  const writer = new AuditWriter(db);
  // one row written per step, so that a chunk is a transaction of BUILD_CHUNK_ROWS steps
  const steps = (function* () {
    for (const [account, leaf, nonce] of built.accounts)
      yield writer.account(built.seq, account, leaf, nonce);
    for (let level = 0; level < built.levels.length; level++)
      for (let i = 0; i < built.levels[level].length; i++)
        yield writer.node(built.seq, level, i, built.levels[level][i]);
  })();
  const total = built.accounts.length + built.levels.reduce((n, l) => n + l.length, 0);
  let written = 0;
  let finished = false;
  while (!finished) {
    if (stop()) return "stopped";
    db.transaction(() => {
      for (let k = 0; k < BUILD_CHUNK_ROWS; k++) {
        if (steps.next().done === true) {
          finished = true;
          return;
        }
        written++;
      }
    })();
    progress(written, total);
  }
  db.transaction(() => {
    writer.summary(built);
    db.prepare("DELETE FROM reserves_pending WHERE seq = ?").run(built.seq);
  })();
  return "built";
}

/** Writes a built audit's rows. */
export class AuditWriter {
  private readonly audit: Database.Statement;
  private readonly account_stmt: Database.Statement;
  private readonly node_stmt: Database.Statement;

  constructor(db: Database.Database) {
    this.audit = db.prepare("INSERT OR REPLACE INTO reserves_audits VALUES (?,?,?,?,?,?,?,?)");
    this.account_stmt = db.prepare("INSERT OR REPLACE INTO reserves_accounts VALUES (?,?,?,?)");
    this.node_stmt = db.prepare("INSERT OR REPLACE INTO reserves_nodes VALUES (?,?,?,?,?)");
  }

  account(seq: number, account: number, leaf: number, nonce: string): void {
    this.account_stmt.run(seq, account, leaf, nonce);
  }

  node(seq: number, level: number, index: number, n: TreeNode): void {
    this.node_stmt.run(seq, level, index, n.hash, n.sums.join(","));
  }

  /** The summary row: the audit is visible once it is written. */
  summary(b: BuiltAudit): void {
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

/** An audit, or that it is still being built (both null: no such audit). */
export interface AuditFound {
  audit: AuditRow | null;
  building: { seq: number; accounts: number } | null;
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
  private readonly pending_stmt: Database.Statement;

  constructor(db: Database.Database) {
    this.latest = db.prepare("SELECT * FROM reserves_audits ORDER BY seq DESC LIMIT 1");
    this.by_seq = db.prepare("SELECT * FROM reserves_audits WHERE seq = ?");
    this.list_stmt = db.prepare("SELECT * FROM reserves_audits ORDER BY seq DESC LIMIT ?");
    this.account_stmt = db.prepare("SELECT leaf, nonce FROM reserves_accounts WHERE seq = ? AND account = ?");
    this.node_stmt = db.prepare(
      "SELECT hash, sums FROM reserves_nodes WHERE seq = ? AND level = ? AND idx = ?",
    );
    this.pending_stmt = db.prepare("SELECT seq, accounts FROM reserves_pending WHERE seq = ?");
  }

  /** The audit at `seq`, or the latest (null: none). */
  audit(seq: number | null): AuditRow | null {
    const r = (seq === null ? this.latest.get() : this.by_seq.get(seq)) as RawAudit | undefined;
    return r === undefined ? null : audit_row(r);
  }

  /**
   * The audit at `seq` (the latest when null), or that it is still being built. The pending row is
   * read first: the builder may finish between the two reads, and then the audit is found, never
   * "neither" for an audit that exists.
   */
  find(seq: number | null): AuditFound {
    if (seq !== null) {
      const building = this.pending_stmt.get(seq) as { seq: number; accounts: number } | undefined;
      if (building !== undefined) return { audit: null, building };
    }
    return { audit: this.audit(seq), building: null };
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
    // each level holds half the one below, rounded up (a node without a sibling is carried up)
    const widths = [audit.leaves];
    while (widths[widths.length - 1] > 1) widths.push(Math.ceil(widths[widths.length - 1] / 2));
    const node = (level: number, idx: number): TreeNode => {
      const r = this.node_stmt.get(audit.seq, level, idx) as { hash: string; sums: string };
      return { hash: r.hash, sums: r.sums.split(",").map(Number) };
    };
    const tree = { count: widths.length, width: (level: number) => widths[level], node };
    const leaf = node(0, mine.leaf);
    return { audit, nonce: mine.nonce, units: leaf.sums, leaf: mine.leaf, path: path_of(tree, mine.leaf) };
  }
}
