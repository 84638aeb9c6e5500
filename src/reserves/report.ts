/**
 * An audit as people read it: each asset's figures as exact decimals, and whether its reserves cover
 * what users hold. Shared by the public API (src/gateway/reserves.ts) and the operator's CLI.
 */
import { units_to_decimal } from "../engine/decimal.js";
import type { AuditRow } from "./audit.js";

export interface AssetFigures {
  asset: string;
  /** What users hold (free + locked): the tree's root sum. */
  liabilities: string;
  /** What the operator declared it holds, or null if it declared nothing for this asset. */
  reserves: string | null;
  /** reserves / liabilities, 4 places, rounded down; null without reserves or liabilities. */
  ratio: string | null;
  /** Whether reserves ≥ liabilities (null: no reserves declared). */
  covered: boolean | null;
  /** Fees collected: the exchange's own, not owed to users. */
  fees: string;
  /** Deposits less withdrawals: what the ledger says came in and stayed. */
  custody: string;
  /** liabilities + fees = custody (DESIGN invariant 3, at the audit's sequence). */
  ledger_balanced: boolean;
}

export interface AuditView {
  /** The audit's id: the sequence number of its command. */
  audit: number;
  time: number;
  /** SHA-256 root of the liabilities tree, hex ("" when no account held anything). */
  root: string;
  /** Accounts in the tree (those holding anything). */
  accounts: number;
  assets: AssetFigures[];
}

/** reserves / liabilities with 4 decimal places, rounded down, exactly (BigInt). */
export function coverage_ratio(reserves_units: number, liabilities_units: number): string | null {
  if (reserves_units < 0 || liabilities_units <= 0) return null;
  const scaled = (BigInt(reserves_units) * 10_000n) / BigInt(liabilities_units);
  return `${scaled / 10_000n}.${String(scaled % 10_000n).padStart(4, "0")}`;
}

export function audit_view(a: AuditRow, assets: readonly { name: string; decimals: number }[]): AuditView {
  return {
    audit: a.seq,
    time: a.time_ms,
    root: a.root,
    accounts: a.leaves,
    assets: a.liabilities_units.map((liabilities, i) => {
      const { name, decimals } = assets[i];
      const reserves = a.reserves_units[i];
      const text = (units: number) => units_to_decimal(units, decimals);
      return {
        asset: name,
        liabilities: text(liabilities),
        reserves: reserves < 0 ? null : text(reserves),
        ratio: coverage_ratio(reserves, liabilities),
        covered: reserves < 0 ? null : reserves >= liabilities,
        fees: text(a.fees_units[i]),
        custody: text(a.custody_units[i]),
        ledger_balanced: liabilities + a.fees_units[i] === a.custody_units[i],
      };
    }),
  };
}
