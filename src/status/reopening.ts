/**
 * The end of a maintenance window, staged: a window that switches the exchange and has
 * `reopen_stage_s` does not simply end maintenance (every market trading and withdrawals open in the
 * same instant). At its end it goes "verifying" and reopens the exchange as `holdfast admin reopen`
 * does (src/admin/reopen.ts: markets closed first, then cancel-only, then trading, then withdrawals),
 * `reopen_stage_s` apart, and tells users at each stage what is open now and when the next opens.
 * Only what maintenance closed reopens: a market halted on its own account, or withdrawals paused by
 * an operator, stay as they are.
 *
 * The state (plan, stages done, next due) is stored with the window in the same transaction as each
 * update, so a restarted service carries on where it was. Each round carries out the stages that are
 * due. A stage that finds the node changed by someone else (an operator halting a market meanwhile)
 * stops the reopening, says so on the page, and leaves the rest to the operators; the probes then
 * judge the markets as they are. While it runs, the markets and switches in the state the plan put
 * them in are shown "under maintenance", not as an outage: it is the planned end of a maintenance.
 */
import { maintenance_reopen_plan, planned_state, type ReopenPlan, type StageName } from "../admin/reopen.js";
import { type AdminCall, carry_out_stage } from "../admin/reopen_run.js";
import type { NodeStatus } from "../admin/server.js";
import type { MaintenanceRow, ReopeningState, StatusStore } from "./store.js";

/** The longest wait between stages a window may ask for: an hour. */
export const REOPEN_STAGE_S_MAX = 3_600;

/** What users can do once each stage is done, as the page and the notices say it. */
const OPENED: Record<StageName, string> = {
  deposits: "The exchange is out of maintenance mode; its markets stay closed while it reopens in stages.",
  "cancel-only":
    "The markets are cancel-only: orders that rested through the maintenance can be cancelled; no new orders yet.",
  trading: "Trading is open again.",
  withdrawals: "Withdrawals are open again.",
};

const clock = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)} UTC`;

/** Index of the first stage after `done` that does anything, or -1 when none is left. */
function next_stage(plan: ReopenPlan, done: number): number {
  for (let i = done + 1; i < plan.stages.length; i++) if (plan.stages[i].actions.length > 0) return i;
  return -1;
}

/** "Next: trading at 12:03:00 UTC, withdrawals at 12:04:00 UTC." for the stages still to come. */
function schedule_text(state: ReopeningState, stage_s: number): string {
  const parts: string[] = [];
  let at_ms = state.next_ms;
  for (let i = next_stage(state.plan, state.done); i >= 0; i = next_stage(state.plan, i)) {
    parts.push(`${state.plan.stages[i].name} at ${clock(at_ms)}`);
    at_ms += stage_s * 1000;
  }
  return parts.length === 0 ? "" : ` Next: ${parts.join(", ")}.`;
}

export interface ReopeningDeps {
  store: StatusStore;
  /** The exchange node's admin interface (throws when it does not answer or refuses). */
  call: AdminCall;
  /** Completes a window: its components back to the probes, the update published. */
  complete: (m: MaintenanceRow, body: string, now_ms: number, reopen?: ReopeningState) => void;
  /** Runs a store write, retried once after the disk's reserve is released (service.ts). */
  durable: <T>(write: () => T) => T;
  log: (line: string) => void;
}

export type BeginOutcome =
  /** the window is verifying (or already completed: stages of 0 s) */
  | "staged"
  /** the exchange is not in maintenance: nothing of this window's to reopen */
  | "nothing"
  /** the node took no command now (order entry paused): the window stays in progress, try again */
  | "paused";

export class Reopenings {
  /** One at a time: a round's stages and an operator's early end never interleave their commands. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ReopeningDeps) {}

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * At the end of window `m` (in progress, staged): plans the reopening from the node's state and
   * carries out the stages due now. `body` opens the first update. Throws when the node cannot be
   * reached (the window stays in progress: the exchange is still in maintenance).
   */
  begin(m: MaintenanceRow, body: string, now_ms: number): Promise<BeginOutcome> {
    return this.exclusive(async () => {
      const fresh = this.deps.store.maintenance(m.id);
      if (fresh === null || fresh.status !== "in_progress") return "staged";
      // A plan from an attempt that failed part-way is kept: its first stage may have halted some
      // markets already, which a fresh plan would no longer count as closed by maintenance.
      let plan = fresh.reopen?.plan ?? null;
      if (plan === null) {
        plan = maintenance_reopen_plan((await this.deps.call("GET", "/v1/status")) as NodeStatus);
        if (plan === null) return "nothing";
        const chosen = plan;
        this.deps.durable(() =>
          this.deps.store.set_reopening(fresh.id, { plan: chosen, done: -1, next_ms: now_ms, stopped: null }),
        );
      }
      const r = await this.carry(fresh, { plan, done: -1, next_ms: now_ms, stopped: null }, now_ms, false);
      if (r.opened.length === 0 && r.outcome === "paused") return "paused";
      this.publish(fresh, body, r, now_ms);
      return "staged";
    });
  }

  /** Carries out the due stages of every verifying window (each probe round). */
  async advance(now_ms: number): Promise<boolean> {
    let changed = false;
    for (const m of this.deps.store.maintenances("active")) {
      if (m.status !== "verifying" || m.reopen === null || m.reopen.stopped !== null) continue;
      if (now_ms < m.reopen.next_ms) continue;
      const published = await this.exclusive(async () => {
        const fresh = this.deps.store.maintenance(m.id);
        if (fresh?.status !== "verifying" || fresh.reopen === null || fresh.reopen.stopped !== null)
          return false;
        const r = await this.carry(fresh, fresh.reopen, now_ms, false);
        if (r.opened.length === 0 && (r.outcome === "paused" || r.outcome === "waiting")) return false;
        this.publish(fresh, "", r, now_ms);
        return true;
      }).catch((error: unknown) => {
        this.deps.log(
          `status: maintenance ${m.id}: reopening: the exchange did not answer: ${String(error)}`,
        );
        return false;
      });
      changed ||= published;
    }
    return changed;
  }

  /**
   * An operator ends a verifying window now: the stages left are carried out at once, then the window
   * completes whatever happens (what could not be done is said in the update).
   */
  finish_now(m: MaintenanceRow, body: string, now_ms: number): Promise<void> {
    return this.exclusive(async () => {
      const fresh = this.deps.store.maintenance(m.id);
      if (fresh?.status !== "verifying") return;
      if (fresh.reopen === null || fresh.reopen.stopped !== null) {
        this.deps.complete(fresh, body, now_ms);
        return;
      }
      let r: Carried;
      try {
        r = await this.carry(fresh, fresh.reopen, now_ms, true);
      } catch (error) {
        r = {
          state: fresh.reopen,
          opened: [],
          outcome: "stopped",
          reason: `the exchange did not answer: ${String(error)}`,
        };
      }
      if (r.outcome === "done") {
        this.publish(fresh, body, r, now_ms);
        return;
      }
      const left = r.state.plan.stages[next_stage(r.state.plan, r.state.done)]?.name ?? "trading";
      const state = { ...r.state, stopped: r.state.stopped ?? r.reason };
      this.deps.complete(
        fresh,
        [
          body,
          ...r.opened,
          `The staged reopening did not finish (${r.reason}): ${left} and what follows are left to the operators.`,
        ].join(" "),
        now_ms,
        state,
      );
    });
  }

  /**
   * What the reopenings under way have set, for the probes: markets in these modes and withdrawals
   * paused are the plan's doing, shown as maintenance.
   */
  planned(): { markets: Map<string, string>; withdrawals_paused: boolean } | null {
    const markets = new Map<string, string>();
    let withdrawals_paused = false;
    let any = false;
    for (const m of this.deps.store.maintenances("active")) {
      if (m.status !== "verifying" || m.reopen === null || m.reopen.stopped !== null) continue;
      any = true;
      const s = planned_state(m.reopen.plan, m.reopen.done);
      for (const [symbol, mode] of s.markets) markets.set(symbol, mode);
      if (s.flags.get("withdrawals_paused") === true) withdrawals_paused = true;
    }
    return any ? { markets, withdrawals_paused } : null;
  }

  /**
   * Carries out the stages that are due (all that are left when `hurry`), in order, until one is not
   * due yet, none is left, the node takes no commands (paused) or a stage cannot be carried out
   * (stopped: someone else changed what an earlier stage set, or the engine refused a command).
   */
  private async carry(
    m: MaintenanceRow,
    from: ReopeningState,
    now_ms: number,
    hurry: boolean,
  ): Promise<Carried> {
    const stage_s = m.reopen_stage_s ?? 0;
    const opened: string[] = [];
    let state = from;
    for (;;) {
      const next = next_stage(state.plan, state.done);
      if (next < 0) {
        this.deps.log(`status: maintenance ${m.id}: staged reopening done`);
        return { state, opened, outcome: "done", reason: "" };
      }
      if (!hurry && now_ms < state.next_ms) return { state, opened, outcome: "waiting", reason: "" };
      const stage = state.plan.stages[next];
      const r = await carry_out_stage(this.deps.call, state.plan, next, state.done);
      if (!r.ok) {
        const reason = `before ${stage.name}: ${r.text}`;
        this.deps.log(
          `status: maintenance ${m.id}: reopening ${r.why === "paused" ? "waits" : "stopped"} ${reason}`,
        );
        if (r.why === "paused") return { state, opened, outcome: "paused", reason };
        return { state: { ...state, stopped: reason }, opened, outcome: "stopped", reason };
      }
      opened.push(OPENED[stage.name]);
      state = { ...state, done: next, next_ms: now_ms + stage_s * 1000 };
      this.deps.log(`status: maintenance ${m.id}: reopening: ${stage.name} done (journal sequence ${r.seq})`);
    }
  }

  /** One update for what a round carried out: completed when nothing is left, verifying otherwise. */
  private publish(m: MaintenanceRow, body: string, r: Carried, now_ms: number): void {
    const stage_s = m.reopen_stage_s ?? 0;
    if (r.outcome === "done") {
      this.deps.complete(
        m,
        [body, ...r.opened, "The exchange is fully open again."].filter((x) => x !== "").join(" "),
        now_ms,
        r.state,
      );
      return;
    }
    const tail =
      r.outcome === "stopped"
        ? `The staged reopening stopped ${r.reason}. The operators are finishing it by hand; this page will say when the exchange is fully open.`
        : schedule_text(r.state, stage_s).trim();
    const text = [body, ...r.opened, tail].filter((x) => x !== "").join(" ");
    this.deps.durable(() => this.deps.store.set_maintenance(m.id, "verifying", text, now_ms, r.state));
  }
}

interface Carried {
  state: ReopeningState;
  /** What each stage carried out opened, for users. */
  opened: string[];
  outcome: "done" | "waiting" | "paused" | "stopped";
  /** Why it paused or stopped. */
  reason: string;
}
