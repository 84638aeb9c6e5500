import { useEffect, useState } from "react";
import { type InclusionProof, verify_proof } from "../../../src/reserves/proof";
import { ApiFailure, holdfast } from "../api";
import { fmt } from "../decimal";

/** GET /holdfast/v1/reserves (src/reserves/report.ts AuditView). */
interface AuditView {
  audit: number;
  time: number;
  root: string;
  accounts: number;
  assets: {
    asset: string;
    liabilities: string;
    reserves: string | null;
    ratio: string | null;
    covered: boolean | null;
  }[];
}

type Proof = InclusionProof & { included: boolean; balances?: string[]; time: number };

type Check =
  | { state: "idle" }
  | { state: "checking" }
  | { state: "verified"; proof: Proof; leaf: string; download: string }
  | { state: "absent"; audit: number }
  | { state: "failed"; why: string; download: string | null };

/** SHA-256 in the browser (WebCrypto), hex: what the node's tree is built with. */
async function sha256_hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Proof of reserves on the account page: the latest audit's figures, and a check, in this browser,
 * that the user's own balances are in the tree whose root the exchange published. The proof can be
 * downloaded and checked again with `holdfast reserves verify`, or any SHA-256 tool.
 */
export function Reserves() {
  const [audit, set_audit] = useState<AuditView | null | undefined>(undefined);
  const [check, set_check] = useState<Check>({ state: "idle" });
  useEffect(() => {
    holdfast<AuditView>("reserves").then(set_audit, () => set_audit(null));
  }, []);
  useEffect(
    () => () => {
      if (check.state === "verified") URL.revokeObjectURL(check.download);
    },
    [check],
  );
  const verify = async () => {
    set_check({ state: "checking" });
    let proof: Proof;
    try {
      proof = await holdfast<Proof>(`reserves/proof?audit=${audit?.audit ?? ""}`);
    } catch (error) {
      set_check({
        state: "failed",
        why: error instanceof ApiFailure ? error.message : String(error),
        download: null,
      });
      return;
    }
    if (!proof.included) return set_check({ state: "absent", audit: proof.audit });
    const download = URL.createObjectURL(
      new Blob([JSON.stringify(proof, null, 2)], { type: "application/json" }),
    );
    const verdict = await verify_proof(proof, sha256_hex);
    if (!verdict.ok) return set_check({ state: "failed", why: verdict.why, download });
    // the root the path reaches must be the one published for everyone, not only the one in the proof
    if (audit === null || audit === undefined || verdict.root !== audit.root)
      return set_check({ state: "failed", why: "the proof's root is not the published root", download });
    set_check({ state: "verified", proof, leaf: verdict.leaf, download });
  };
  return (
    <section className="card" aria-labelledby="reserves-h" data-testid="reserves">
      <h2 id="reserves-h">Proof of reserves</h2>
      {audit === undefined ? null : audit === null ? (
        <p className="muted">No reserves audit has been published yet.</p>
      ) : (
        <>
          <p>
            Audit {audit.audit} of {new Date(audit.time).toLocaleString()}: the balances of{" "}
            {audit.accounts.toLocaleString()} accounts in a Merkle sum tree, root{" "}
            <code data-testid="reserves-root">{audit.root.slice(0, 16)}…</code>
          </p>
          <table className="grid">
            <thead>
              <tr>
                <th scope="col">Asset</th>
                <th scope="col" className="num">
                  Users hold
                </th>
                <th scope="col" className="num">
                  Reserves
                </th>
                <th scope="col" className="num">
                  Ratio
                </th>
              </tr>
            </thead>
            <tbody>
              {audit.assets.map((a) => (
                <tr key={a.asset}>
                  <th scope="row">{a.asset}</th>
                  <td className="num">{fmt(a.liabilities, 8)}</td>
                  <td className="num">{a.reserves === null ? "not declared" : fmt(a.reserves, 8)}</td>
                  <td className="num">
                    {a.ratio === null ? "–" : `${a.ratio}${a.covered ? "" : " (not covered)"}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button
            type="button"
            className="ghost"
            onClick={() => void verify()}
            disabled={check.state === "checking"}
          >
            Verify my balances are included
          </button>
          <CheckResult check={check} />
        </>
      )}
    </section>
  );
}

function CheckResult(props: { check: Check }) {
  const c = props.check;
  if (c.state === "idle") return null;
  if (c.state === "checking") return <p aria-live="polite">Checking…</p>;
  if (c.state === "absent")
    return (
      <p aria-live="polite" data-testid="reserves-result">
        Your account held nothing at audit {c.audit}, so it has no leaf in the tree.
      </p>
    );
  if (c.state === "failed")
    return (
      <p aria-live="polite" className="error" data-testid="reserves-result">
        Not verified: {c.why}
        {c.download === null ? null : (
          <>
            {" "}
            <a href={c.download} download="holdfast-reserves-proof.json">
              Download the proof
            </a>
          </>
        )}
      </p>
    );
  const p = c.proof;
  return (
    <div aria-live="polite" data-testid="reserves-result">
      <p>
        <strong>Verified in your browser:</strong> your balances at audit {p.audit} (
        {p.assets.map((a, i) => `${a} ${p.balances?.[i] ?? p.units[i]}`).join(", ")}) are in the tree whose
        root the exchange publishes.
      </p>
      <p className="muted">
        <a href={c.download} download="holdfast-reserves-proof.json">
          Download the proof
        </a>{" "}
        and check it yourself:{" "}
        <code>holdfast reserves verify holdfast-reserves-proof.json --url {location.origin}</code>
      </p>
    </div>
  );
}
