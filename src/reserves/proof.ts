/**
 * Proof of reserves: the liabilities side, a Merkle sum tree of every account's balances.
 *
 * An audit (the journaled command `reserves_audit`) fixes every account's balances (free + locked,
 * per asset, in the asset's smallest unit) at one sequence number. Each account with any balance is a
 * leaf: the hash of a secret per-account nonce and its balances. Each inner node is the hash of its
 * two children's hashes and the per-asset sums of their balances, and carries those sums; a node
 * without a sibling at its level is carried up unchanged. The root's sums are the exchange's
 * liabilities to its users, which the audit sets beside the reserves the operator declares.
 *
 * A user checks their own leaf: from their balances and nonce, and the sibling (hash and sums) at
 * each level of their path, they recompute the root. If it equals the published root, their balances
 * are counted in the published liabilities. Every sum on the path must be a non-negative integer, so
 * the exchange cannot hide a user's balance behind a negative "account" elsewhere in the tree.
 *
 * This file imports nothing: the node (history_writer.ts builds the tree), the `holdfast reserves
 * verify` command and the web app (in the browser, with WebCrypto) share it. Hashes are SHA-256 of a
 * canonical text, hex, so that anyone can check a proof with any tool.
 */

/** Leaf: "holdfast-reserves-leaf-v1|<nonce hex>|<units of asset 0>,<units of asset 1>,…". */
export const LEAF_PREFIX = "holdfast-reserves-leaf-v1";
/** Inner node: "holdfast-reserves-node-v1|<left hash>|<right hash>|<sum of asset 0>,…". */
export const NODE_PREFIX = "holdfast-reserves-node-v1";

/** SHA-256 of a UTF-8 text, lowercase hex: node:crypto's createHash or WebCrypto's digest. */
export type Sha256Hex = (text: string) => string | Promise<string>;

export function leaf_text(nonce_hex: string, units: readonly number[]): string {
  return `${LEAF_PREFIX}|${nonce_hex}|${units.join(",")}`;
}

export function node_text(left_hex: string, right_hex: string, sums: readonly number[]): string {
  return `${NODE_PREFIX}|${left_hex}|${right_hex}|${sums.join(",")}`;
}

/** A node of the tree: its hash and the per-asset sums below it. */
export interface TreeNode {
  hash: string;
  sums: number[];
}

/**
 * Every level of the tree, leaves first (levels[0]) and the root last (one node). Synchronous: the
 * history's writer thread builds it with node:crypto. Sums stay exact: they are at most an asset's
 * deposits, which the engine keeps within safe integers.
 */
export function build_levels(
  leaves: TreeNode[],
  sha256: (text: string) => string,
  /** Asked every 4,096 nodes; true stops the build (it throws BuildStopped). */
  stop: () => boolean = () => false,
): TreeNode[][] {
  if (leaves.length === 0) throw new Error("a reserves tree needs at least one leaf");
  const levels: TreeNode[][] = [leaves];
  let level = leaves;
  while (level.length > 1) {
    const up: TreeNode[] = [];
    for (let i = 0; i < level.length; i += 2) {
      if (i + 1 === level.length) {
        up.push(level[i]); // no sibling: carried up as it is
        continue;
      }
      if ((i & 8191) === 0 && stop()) throw new BuildStopped();
      const l = level[i];
      const r = level[i + 1];
      const sums = l.sums.map((s, a) => s + r.sums[a]);
      for (const s of sums) if (!Number.isSafeInteger(s)) throw new Error("reserves: a sum is not exact");
      up.push({ hash: sha256(node_text(l.hash, r.hash, sums)), sums });
    }
    levels.push(up);
    level = up;
  }
  return levels;
}

/** A build given up because it was asked to stop (the builder thread is closing). */
export class BuildStopped extends Error {
  override name = "BuildStopped";
}

/** One step up a user's path: the sibling at that level and which side it is on. */
export interface PathStep {
  side: "left" | "right";
  hash: string;
  /** The sibling's per-asset sums, integers in each asset's smallest unit, as decimal text. */
  sums: string[];
}

/** A tree's levels as path_of reads them: stored rows or the arrays build_levels made. */
export interface LevelReader {
  /** How many levels, the leaves' and the root's included. */
  count: number;
  width(level: number): number;
  node(level: number, index: number): TreeNode;
}

export const levels_reader = (levels: readonly TreeNode[][]): LevelReader => ({
  count: levels.length,
  width: (level) => levels[level].length,
  node: (level, index) => levels[level][index],
});

/** The sibling steps from leaf `index` to the root (levels where it has none are skipped). */
export function path_of(tree: LevelReader, index: number): PathStep[] {
  const steps: PathStep[] = [];
  let i = index;
  for (let l = 0; l < tree.count - 1; l++) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < tree.width(l)) {
      const n = tree.node(l, sibling);
      steps.push({ side: sibling < i ? "left" : "right", hash: n.hash, sums: n.sums.map(String) });
    }
    i = Math.floor(i / 2);
  }
  return steps;
}

/** What a user holds to check their inclusion (the API's proof, the part that is verified). */
export interface InclusionProof {
  /** The audit's sequence number. */
  audit: number;
  /** The published root hash the path must reach. */
  root: string;
  /** The asset names, in the order of every list of units. */
  assets: string[];
  /** The user's leaf. */
  nonce: string;
  /** The user's balances (free + locked) at the audit, in each asset's smallest unit, decimal text. */
  units: string[];
  path: PathStep[];
}

export type Verdict =
  | { ok: true; root: string; liabilities_units: string[]; leaf: string }
  | { ok: false; why: string };

const UNITS_RE = /^(0|[1-9][0-9]{0,15})$/;
const HASH_RE = /^[0-9a-f]{64}$/;
const NONCE_RE = /^[0-9a-f]{32}$/;

/** Integer units from decimal text, or null if it is not a non-negative safe integer. */
function units_of(text: unknown): number | null {
  if (typeof text !== "string" || !UNITS_RE.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Recomputes the root from the proof's leaf and path. ok only if every field is well formed, every
 * sum is a non-negative integer, and the root reached is the proof's root (compare that root with
 * the one the exchange publishes, on more than one node or address: `holdfast reserves verify --url`).
 */
export async function verify_proof(proof: InclusionProof, sha256: Sha256Hex): Promise<Verdict> {
  if (typeof proof !== "object" || proof === null) return { ok: false, why: "not a proof" };
  const n_assets = Array.isArray(proof.assets) ? proof.assets.length : -1;
  if (n_assets < 1) return { ok: false, why: "no assets" };
  if (typeof proof.root !== "string" || !HASH_RE.test(proof.root))
    return { ok: false, why: "root is not a SHA-256 hash" };
  if (typeof proof.nonce !== "string" || !NONCE_RE.test(proof.nonce))
    return { ok: false, why: "nonce is not 16 bytes of hex" };
  if (!Array.isArray(proof.units) || proof.units.length !== n_assets)
    return { ok: false, why: "units do not match the assets" };
  let sums: number[] = [];
  for (const u of proof.units) {
    const n = units_of(u);
    if (n === null) return { ok: false, why: `balance ${String(u)} is not a non-negative integer` };
    sums.push(n);
  }
  const leaf = await sha256(leaf_text(proof.nonce, sums));
  let hash = leaf;
  if (!Array.isArray(proof.path) || proof.path.length > 64) return { ok: false, why: "bad path" };
  for (const [k, step] of proof.path.entries()) {
    if (typeof step !== "object" || step === null) return { ok: false, why: `step ${k} is not an object` };
    if (step.side !== "left" && step.side !== "right")
      return { ok: false, why: `step ${k}: side must be left or right` };
    if (typeof step.hash !== "string" || !HASH_RE.test(step.hash))
      return { ok: false, why: `step ${k}: hash is not a SHA-256 hash` };
    if (!Array.isArray(step.sums) || step.sums.length !== n_assets)
      return { ok: false, why: `step ${k}: sums do not match the assets` };
    const next: number[] = [];
    for (let a = 0; a < n_assets; a++) {
      const s = units_of(step.sums[a]);
      // a negative sum would let the exchange subtract what it owes this user elsewhere in the tree
      if (s === null)
        return { ok: false, why: `step ${k}: sum ${String(step.sums[a])} is not a non-negative integer` };
      const total = sums[a] + s;
      if (!Number.isSafeInteger(total)) return { ok: false, why: `step ${k}: a sum is out of range` };
      next.push(total);
    }
    sums = next;
    hash =
      step.side === "left"
        ? await sha256(node_text(step.hash, hash, sums))
        : await sha256(node_text(hash, step.hash, sums));
  }
  if (hash !== proof.root)
    return { ok: false, why: `the path reaches ${hash}, not the published root ${proof.root}` };
  return { ok: true, root: hash, liabilities_units: sums.map(String), leaf };
}
