/**
 * Proof of reserves on the command line:
 * - `holdfast admin reserves [--audit SEQ]`: an audit's figures (the latest by default);
 * - `holdfast admin reserves-audit --reserve BTC=12.5 --reserve USDT=1000000`: takes an audit now, with
 *   the reserves the operator declares (journaled: every node builds the same tree);
 * - `holdfast reserves verify PROOF.json [--url BASE …]`: what a user runs on the proof they downloaded
 *   (GET /holdfast/v1/reserves/proof, or the web app's account page): recomputes the root from their
 *   balances and the path, and with --url checks it against the root each address publishes (several
 *   nodes, a mirror: an exchange showing each user a different tree would have to fool them all).
 * Human-readable output by default, `--json` for scripts.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { type InclusionProof, verify_proof } from "../reserves/proof.js";
import type { AuditView } from "../reserves/report.js";

type Call = (
  opts: { dataDir: string; socket?: string; json?: boolean },
  method: "GET" | "POST",
  path: string,
  body?: unknown,
) => Promise<unknown>;

/** What the admin socket answers while an audit's tree is being built (202). */
interface Building {
  audit: number;
  building: true;
  accounts: number;
}
const POLL_MS = 1000;
const PROGRESS_EVERY_MS = 10_000;

/** A proof file is small (a path of ~20 steps); anything larger is not one. */
const PROOF_BYTES_MAX = 1 << 20;
const FETCH_TIMEOUT_MS = 10_000;
/** Addresses one verify may ask. */
const URLS_MAX = 16;

export function print_audit(v: AuditView): void {
  console.log(
    `reserves audit ${v.audit} at ${new Date(v.time).toISOString()}: ${v.accounts.toLocaleString("en-US")} accounts in the tree`,
  );
  console.log(`  root ${v.root || "(no account held anything)"}`);
  console.log(
    `  ${"asset".padEnd(8)} ${"users hold".padStart(24)} ${"reserves".padStart(24)} ${"ratio".padStart(8)}  ledger`,
  );
  for (const a of v.assets)
    console.log(
      `  ${a.asset.padEnd(8)} ${a.liabilities.padStart(24)} ${(a.reserves ?? "not declared").padStart(24)} ${(a.ratio ?? "-").padStart(8)}  ${a.ledger_balanced ? "balanced" : "DOES NOT BALANCE"}${a.covered === false ? "  NOT COVERED" : ""}`,
    );
}

export function register_reserves_admin_cli(
  admin: Command,
  common: (c: Command) => Command,
  call: Call,
): void {
  common(
    admin
      .command("reserves")
      .description("a proof-of-reserves audit's figures: what users hold, declared reserves, coverage")
      .option("--audit <seq>", "this audit (its sequence number), not the latest"),
  ).action(async (opts: { dataDir: string; socket?: string; json?: boolean; audit?: string }) => {
    if (opts.audit !== undefined && !/^[1-9][0-9]{0,15}$/.test(opts.audit))
      throw new Error(`--audit: expected a sequence number, got ${opts.audit}`);
    const v = (await call(
      opts,
      "GET",
      `/v1/reserves${opts.audit === undefined ? "" : `?audit=${opts.audit}`}`,
    )) as AuditView;
    if (opts.json) return console.log(JSON.stringify(v));
    print_audit(v);
  });

  common(
    admin
      .command("reserves-audit")
      .description(
        "take a proof-of-reserves audit now: every account's balances in a Merkle sum tree, beside the reserves you declare",
      )
      .option(
        "--reserve <asset=amount>",
        "reserves held of an asset, e.g. --reserve BTC=12.5 (repeat for each asset)",
        (v: string, all: string[]) => [...all, v],
        [] as string[],
      ),
  ).action(async (opts: { dataDir: string; socket?: string; json?: boolean; reserve: string[] }) => {
    const reserves: Record<string, string> = {};
    for (const r of opts.reserve) {
      const m = /^([A-Z0-9]{1,20})=([0-9]{1,20}(\.[0-9]{1,20})?)$/.exec(r);
      if (m === null) throw new Error(`--reserve: expected ASSET=amount, e.g. BTC=12.5, got ${r}`);
      if (m[1] in reserves) throw new Error(`--reserve: ${m[1]} named twice`);
      reserves[m[1]] = m[2];
    }
    if (!opts.json) console.log("taking the audit (journaled; the history builds its tree)…");
    let v = (await call(opts, "POST", "/v1/reserves", { reserves })) as AuditView | Building;
    // a large exchange's tree takes a while: wait for it, saying so every PROGRESS_EVERY_MS
    const started_ms = Date.now();
    let said_ms = started_ms;
    while ("building" in v) {
      if (Date.now() - said_ms >= PROGRESS_EVERY_MS) {
        said_ms = Date.now();
        const line = `  audit ${v.audit}: building the tree of ${v.accounts.toLocaleString("en-US")} accounts, ${Math.round((said_ms - started_ms) / 1000)} s so far…`;
        if (opts.json) console.error(line);
        else console.log(line);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
      v = (await call(opts, "GET", `/v1/reserves?audit=${v.audit}`)) as AuditView | Building;
    }
    if (opts.json) return console.log(JSON.stringify(v));
    print_audit(v);
    if (v.assets.some((a) => a.covered === false || !a.ledger_balanced)) process.exitCode = 1;
  });
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

export function register_reserves_cli(program: Command): void {
  const reserves = program.command("reserves").description("proof of reserves: check your own inclusion");
  reserves
    .command("verify <proof>")
    .description(
      "check a proof file (GET /holdfast/v1/reserves/proof, or downloaded from the web app): your balances are in the audit's tree",
    )
    .option(
      "--url <base>",
      "an address of the exchange (a node, a mirror): also check the proof's root is the one it publishes; repeat to ask several",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option("--json", "print JSON instead of text")
    .action(async (file: string, opts: { url: string[]; json?: boolean }) => {
      if (opts.url.length > URLS_MAX) throw new Error(`--url: at most ${URLS_MAX}`);
      const text = readFileSync(file);
      if (text.length > PROOF_BYTES_MAX) throw new Error(`${file}: larger than a proof can be`);
      let proof: InclusionProof & { included?: boolean; balances?: string[] };
      try {
        proof = JSON.parse(text.toString("utf8"));
      } catch {
        throw new Error(`${file}: not JSON`);
      }
      if (proof.included === false) throw new Error(`${file}: the account held nothing at this audit`);
      const verdict = await verify_proof(proof, sha256);
      // the root each address publishes for this audit; every one must be the proof's
      const published: { url: string; root: string | null; problem: string | null }[] = [];
      if (verdict.ok)
        for (const base of opts.url) {
          const url = new URL(`/holdfast/v1/reserves?audit=${Number(proof.audit)}`, base);
          try {
            const r = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
            const body = (await r.json()) as { root?: string; msg?: string };
            published.push(
              r.ok
                ? { url: base, root: body.root ?? null, problem: null }
                : { url: base, root: null, problem: `answered ${r.status}: ${body.msg ?? ""}` },
            );
          } catch (error) {
            published.push({ url: base, root: null, problem: `no answer: ${String(error)}` });
          }
        }
      const root_matches = published.length === 0 ? null : published.every((p) => p.root === proof.root);
      const ok = verdict.ok && root_matches !== false;
      if (opts.json) {
        console.log(
          JSON.stringify({
            ...verdict,
            published,
            published_root: published[0]?.root ?? null,
            root_matches,
            ok,
          }),
        );
      } else if (!verdict.ok) {
        console.log(`NOT VERIFIED: ${verdict.why}`);
      } else {
        console.log(`audit ${proof.audit}: your leaf ${verdict.leaf}`);
        for (const [i, a] of proof.assets.entries())
          console.log(`  ${a.padEnd(8)} ${(proof.balances?.[i] ?? proof.units[i]).padStart(24)}`);
        console.log(`  the path reaches the proof's root ${verdict.root}`);
        for (const p of published)
          console.log(
            p.problem !== null
              ? `  ${p.url}: ${p.problem}`
              : p.root === proof.root
                ? `  which is the root ${p.url} publishes`
                : `  ${p.url} publishes root ${p.root}, NOT the proof's`,
          );
        console.log(
          root_matches === true
            ? "VERIFIED"
            : root_matches === false
              ? "NOT VERIFIED against the exchange"
              : "VERIFIED (compare that root with the one the exchange publishes, or pass --url)",
        );
      }
      if (!ok) process.exitCode = 1;
    });
}
