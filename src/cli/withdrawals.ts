/**
 * `holdfast admin withdrawals` (the pending ones and every asset's policy), `admin withdrawal-approve
 * ID`, `withdrawal-reject ID`, `withdrawal-paid ID --txid T`, `withdrawal-failed ID --reason R`,
 * `withdrawal-policy ASSET --review-min X [--daily-max Y]`: the operator's side of users' withdrawals
 * (src/admin/withdrawals.ts), each a journaled command.
 */
import type { Command } from "commander";
import type { policies_view, withdrawal_view } from "../admin/withdrawals.js";

type Opts = { dataDir: string; socket?: string; json?: boolean };
type Call = (opts: Opts, method: "GET" | "POST", path: string, body?: unknown) => Promise<unknown>;
type Outcome = { seq: number; applied: boolean; reason?: string; message?: string };

const ID_RE = /^w?[1-9][0-9]{0,15}$/;
const id_of = (text: string): string => {
  if (!ID_RE.test(text)) throw new Error(`expected a withdrawal id such as w12, got ${text}`);
  return text.startsWith("w") ? text : `w${text}`;
};

export function register_withdrawals_cli(
  admin: Command,
  common: (c: Command) => Command,
  call: Call,
  print_outcome: (opts: Opts, what: string, o: Outcome) => void,
): void {
  common(
    admin
      .command("withdrawals")
      .description("users' withdrawals waiting for approval or payout, and each asset's safeguards"),
  ).action(async (opts: Opts) => {
    const r = (await call(opts, "GET", "/v1/withdrawals")) as {
      pending: ReturnType<typeof withdrawal_view>[];
      policies: ReturnType<typeof policies_view>;
    };
    if (opts.json) return console.log(JSON.stringify(r));
    if (r.pending.length === 0) console.log("no withdrawal pending");
    for (const w of r.pending) {
      const when = new Date(w.requested_ms).toISOString();
      console.log(
        `${w.id.padEnd(8)} ${w.status.padEnd(17)} account ${w.account}  ${w.amount} ${w.asset} → ${w.address}${w.address_tag ? ` (tag ${w.address_tag})` : ""}${w.network ? ` on ${w.network}` : ""}  asked ${when}`,
      );
      if (w.held.length > 0) console.log(`         held: ${w.held.join("; ")}`);
    }
    console.log("\npolicies (review at or above; at most per account in 24 hours):");
    for (const p of r.policies)
      console.log(
        `  ${p.asset.padEnd(8)} review ≥ ${p.review_min}  daily max ${p.daily_max}${p.configured ? "" : "  (no policy: every withdrawal reviewed)"}`,
      );
  });

  for (const [name, approve] of [
    ["withdrawal-approve", true],
    ["withdrawal-reject", false],
  ] as const) {
    common(
      admin
        .command(`${name} <id>`)
        .description(
          approve ? "approve a held withdrawal for payout" : "reject a held withdrawal (its funds go back)",
        ),
    ).action(async (id: string, opts: Opts) => {
      const o = (await call(opts, "POST", "/v1/withdrawals/review", { id: id_of(id), approve })) as Outcome;
      print_outcome(opts, `${approve ? "approve" : "reject"} withdrawal ${id_of(id)}`, o);
    });
  }

  // a payout made (or failed) by hand, when no --payout-url pays: its txid, or why it failed
  for (const [name, ok, option, what, description] of [
    [
      "withdrawal-paid",
      true,
      "--txid <id>",
      "paid",
      "record a payout made by hand (no --payout-url): the withdrawal completes",
    ],
    [
      "withdrawal-failed",
      false,
      "--reason <text>",
      "failed",
      "record that a payout failed: the funds go back to the account",
    ],
  ] as const) {
    common(
      admin
        .command(`${name} <id>`)
        .description(description)
        .requiredOption(
          option,
          ok ? "the payout's transaction id" : "why, as the user's withdrawal history shows it",
        ),
    ).action(async (id: string, opts: Opts & { txid?: string; reason?: string }) => {
      const note = (ok ? opts.txid : opts.reason) ?? "";
      const o = (await call(opts, "POST", "/v1/withdrawals/result", { id: id_of(id), ok, note })) as Outcome;
      print_outcome(opts, `withdrawal ${id_of(id)} ${what}`, o);
    });
  }

  common(
    admin
      .command("withdrawal-policy <asset>")
      .description("an asset's withdrawal safeguards")
      .requiredOption("--review-min <amount>", "withdrawals of at least this wait for approval (0: all)")
      .option("--daily-max <amount>", "most an account may withdraw in 24 hours (default: no maximum)"),
  ).action(async (asset: string, opts: Opts & { reviewMin: string; dailyMax?: string }) => {
    const body = {
      asset: asset.toUpperCase(),
      review_min: opts.reviewMin,
      ...(opts.dailyMax === undefined ? {} : { daily_max: opts.dailyMax }),
    };
    const o = (await call(opts, "POST", "/v1/withdrawals/policy", body)) as Outcome;
    print_outcome(opts, `withdrawal policy for ${asset.toUpperCase()}`, o);
  });
}
