/**
 * Proof of reserves on the public API (Holdfast's own, under /holdfast/v1 like the market modes; the
 * audits themselves: src/reserves/):
 * - GET /holdfast/v1/reserves[?audit=SEQ]: an audit's figures (the latest by default): per asset
 *   what users hold, what the operator declared in reserves, the coverage ratio, and the root of the
 *   liabilities tree. Public: anyone can read it, compare it between nodes, and check proofs against it.
 * - GET /holdfast/v1/reserves/audits: the latest audits, newest first (at most 100).
 * - GET /holdfast/v1/reserves/proof[?audit=SEQ] (signed, USER_DATA: an API key with read, or the web
 *   app's session): the caller's own leaf and path, which `holdfast reserves verify` and the web app
 *   check. Only the caller's: there is no parameter naming another account.
 * Errors are Binance's shape: no such audit is 404 {code -2013}, like an order that does not exist.
 */
import { units_to_decimal } from "../engine/decimal.js";
import type { Engine } from "../engine/engine.js";
import type { History } from "../projections/history.js";
import { AUDITS_LISTED_MAX, type AuditRow } from "../reserves/audit.js";
import { audit_view } from "../reserves/report.js";
import type { TradingContext } from "./order_lists.js";
import { ApiError, integer, type Params } from "./params.js";
import type { Route } from "./trading.js";

const SIGNED = ["timestamp", "recvWindow", "signature"];
/** Binance's "does not exist" (NO_SUCH_ORDER), for an audit. */
const NO_SUCH_AUDIT = { code: -2013, msg: "No such reserves audit." };
/** An audit journaled whose tree the history is still building (large exchanges: seconds to minutes). */
const BUILDING = { code: -1008, msg: "This reserves audit is still being built; try again shortly." };

export function register_reserves(
  route: Route,
  ctx: { engine: Engine; history: History; signed: TradingContext["signed"] },
): void {
  const { engine, history, signed } = ctx;
  /** The audit asked for (the latest without `audit`); refused if still being built or not there. */
  const audit_of = async (p: Params): Promise<AuditRow> => {
    const seq = integer(p, "audit", 1, Number.MAX_SAFE_INTEGER) ?? null;
    const found = await history.reserves_find(seq);
    if (found.building !== null) throw new ApiError(503, BUILDING);
    if (found.audit === null) throw new ApiError(404, NO_SUCH_AUDIT);
    return found.audit;
  };

  route("GET", "/holdfast/v1/reserves", ["audit"], async (p) => audit_view(await audit_of(p), engine.assets));

  route("GET", "/holdfast/v1/reserves/audits", [], async () =>
    (await history.reserves_audits(AUDITS_LISTED_MAX)).map((a) => audit_view(a, engine.assets)),
  );

  route("GET", "/holdfast/v1/reserves/proof", ["audit", ...SIGNED], async (p, request, raw) => {
    const account = signed("read", p, request, raw).account;
    // a built audit never goes away: its proof is there once the audit is
    const proof = await history.reserves_proof(account, (await audit_of(p)).seq);
    if (proof === null) throw new ApiError(404, NO_SUCH_AUDIT);
    const a = proof.audit;
    const assets = engine.assets.slice(0, a.liabilities_units.length);
    const head = { audit: a.seq, time: a.time_ms, root: a.root, assets: assets.map((x) => x.name) };
    if ("none" in proof) return { ...head, included: false, reason: "no balance at this audit" };
    return {
      ...head,
      included: true,
      nonce: proof.nonce,
      units: proof.units.map(String),
      balances: proof.units.map((u, i) => units_to_decimal(u, assets[i].decimals)),
      path: proof.path,
    };
  });
}
