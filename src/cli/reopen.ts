/**
 * `holdfast admin reopen`: the staged reopening (src/admin/reopen.ts decides the stages) carried out
 * through the node's admin socket. Without --yes it prints the plan and changes nothing. Between
 * stages it waits --stage-seconds, then checks the node before going on: order entry open, and
 * nothing the earlier stages set changed by someone else. Stopped part-way (Ctrl-C, a refusal, a
 * check failed), it can be run again: the plan is made afresh from the state the node is in.
 */
import type { Command } from "commander";
import { type ReopenPlan, reopen_plan } from "../admin/reopen.js";
import { type AdminCall, action_text, carry_out_stage } from "../admin/reopen_run.js";
import type { NodeStatus } from "../admin/server.js";

/** The longest wait between stages an operator may ask for: a day. */
const STAGE_SECONDS_MAX = 86_400;
/** How often a wait says how long is left. */
const PROGRESS_EVERY_MS = 10_000;

export interface ReopenOptions {
  dataDir: string;
  socket?: string;
  json?: boolean;
  yes?: boolean;
  markets?: string;
  stageSeconds: string;
  keepWithdrawalsPaused?: boolean;
}

function print_plan(plan: ReopenPlan): void {
  console.log(
    plan.markets.length === 0
      ? "markets: none to reopen"
      : `markets: ${plan.markets.map((m) => `${m.symbol} (${m.from === m.to ? `${m.from}, closed by maintenance` : m.from} → ${m.to})`).join(", ")}`,
  );
  // stages with nothing to do (a market's own incident touches no exchange-wide switch) are skipped
  plan.stages
    .filter((s) => s.actions.length > 0)
    .forEach((s, i) => {
      console.log(`  stage ${i + 1}, ${s.name}: opens ${s.opens}`);
      for (const a of s.actions) console.log(`    ${action_text(a)}`);
    });
}

export function register_reopen(
  admin: Command,
  common: (c: Command) => Command,
  call_with: (o: ReopenOptions) => AdminCall,
): void {
  common(
    admin
      .command("reopen")
      .description(
        "reopen after an incident in stages: deposits, then cancel-only, then trading, then withdrawals (prints the plan; --yes carries it out)",
      )
      .option(
        "--markets <symbols>",
        "the markets to reopen, comma-separated (default: every halted or cancel-only market, and every market maintenance closed)",
      )
      .option("--stage-seconds <n>", "wait between stages", "60")
      .option("--keep-withdrawals-paused", "stop after trading reopens; withdrawals stay paused")
      .option("--yes", "carry the plan out (without it, only print it)"),
  ).action(async (opts: ReopenOptions) => {
    const call = call_with(opts);
    if (!/^[0-9]{1,6}$/.test(opts.stageSeconds) || Number(opts.stageSeconds) > STAGE_SECONDS_MAX)
      throw new Error(
        `--stage-seconds: expected a whole number from 0 to ${STAGE_SECONDS_MAX}, got ${opts.stageSeconds}`,
      );
    const wait_ms = Number(opts.stageSeconds) * 1000;
    const named =
      opts.markets === undefined
        ? null
        : opts.markets
            .split(",")
            .map((s) => s.trim().toUpperCase())
            .filter((s) => s !== "");
    const status = async (): Promise<NodeStatus> => (await call("GET", "/v1/status")) as NodeStatus;
    const plan = reopen_plan(await status(), named, {
      keep_withdrawals_paused: opts.keepWithdrawalsPaused === true,
    });
    const say = (text: string, json: Record<string, unknown>): void =>
      console.log(opts.json ? JSON.stringify(json) : text);

    if (plan === null) {
      say(
        "nothing to reopen: the exchange is not in maintenance, no market is halted or cancel-only, deposits and withdrawals are open",
        { plan: null },
      );
      return;
    }
    if (opts.yes !== true) {
      if (opts.json) console.log(JSON.stringify({ plan, carried_out: false }));
      else {
        print_plan(plan);
        console.log("nothing changed: run again with --yes to carry this out");
      }
      return;
    }
    if (!opts.json) print_plan(plan);

    const stages = plan.stages.filter((s) => s.actions.length > 0);
    /** The plan's index of the last stage carried out (-1: none yet). */
    let done = -1;
    for (const [i, stage] of stages.entries()) {
      if (i > 0 && wait_ms > 0) {
        say(`waiting ${wait_ms / 1000} s before ${stage.name} (Ctrl-C stops here; run again to resume)`, {
          waiting_s: wait_ms / 1000,
          next: stage.name,
        });
        const until = Date.now() + wait_ms;
        while (Date.now() < until) {
          await new Promise((r) => setTimeout(r, Math.min(PROGRESS_EVERY_MS, until - Date.now())));
          const left_s = Math.round((until - Date.now()) / 1000);
          if (left_s > 0 && !opts.json) console.log(`  … ${left_s} s left`);
        }
      }
      // before each stage: the node takes commands, and what earlier stages set still holds
      const r = await carry_out_stage(call, plan, plan.stages.indexOf(stage), done);
      if (!r.ok) {
        process.exitCode = 1;
        if (r.why === "paused")
          say(`stopped before ${stage.name}: ${r.text}; run again once it is open`, {
            stopped_before: stage.name,
            reason: r.text,
          });
        else if (r.why === "drift")
          say(`stopped before ${stage.name}: ${r.text}`, { stopped_before: stage.name, drift: r.drift });
        else
          say(`stopped in ${stage.name}: ${r.text}`, {
            stopped_in: stage.name,
            action: r.action,
            refused: r.text,
          });
        return;
      }
      const last_seq = r.seq;
      done = plan.stages.indexOf(stage);
      say(
        `stage ${i + 1} of ${stages.length}, ${stage.name}: done (journal sequence ${last_seq}); open now: ${stage.opens}`,
        {
          stage: stage.name,
          seq: last_seq,
          at: new Date().toISOString(),
        },
      );
    }
    say("reopened", { reopened: true, markets: plan.markets });
  });
}
