/**
 * A staged reopening after an incident (docs/OPERATIONS.md "Reopening after an incident"; the design's
 * "Degraded modes"): deposits first, then cancel-only, then trading, then withdrawals. Opening
 * everything at once lets the first seconds' orders meet books that went stale during the outage and
 * lets funds leave before anyone has checked that balances add up; each stage gives users (and the
 * operator) time to act on what the previous one opened.
 *
 * This file decides what to do from the node's state (pure: no I/O, no clock); `holdfast admin reopen`
 * (src/cli/reopen.ts) carries the stages out through the admin socket, waiting between them.
 */
import type { NodeStatus } from "./server.js";

/** The exchange-wide switches a reopening sets (the admin route /v1/exchange-flags takes these names). */
export const SWITCHES = ["maintenance", "deposits_paused", "withdrawals_paused"] as const;

export type StageName = "deposits" | "cancel-only" | "trading" | "withdrawals";

/** One journaled operator command: a market's mode, or the exchange-wide switches named. */
export type ReopenAction =
  | { kind: "market"; symbol: string; status: "HALT" | "CANCEL_ONLY" | "TRADING" | "POST_ONLY" }
  | { kind: "flags"; maintenance?: boolean; deposits_paused?: boolean; withdrawals_paused?: boolean };

export interface ReopenStage {
  name: StageName;
  /** What users can do once the stage is done. */
  opens: string;
  actions: ReopenAction[];
}

export interface ReopenPlan {
  /** The markets reopened, each from its mode now to the one it ends in. */
  markets: { symbol: string; from: string; to: "TRADING" | "POST_ONLY" }[];
  stages: ReopenStage[];
}

export type State = Pick<NodeStatus, "exchange" | "markets">;

/** At most this many markets named on the command line (the engine's own market count is bounded). */
export const NAMED_MARKETS_MAX = 1_000;

/**
 * Which markets reopen and how: the named ones, or else every market that is halted or cancel-only,
 * and, while the exchange is in maintenance (which closes every market), every market that would
 * trade once maintenance ends. BREAK markets (planned closures, listings not yet open) stay as they
 * are unless named. A POST_ONLY market ends POST_ONLY; every other ends TRADING.
 *
 * Returns null when there is nothing to reopen. Throws on a named market the node does not list.
 */
export function reopen_plan(
  state: State,
  named: readonly string[] | null,
  options: { keep_withdrawals_paused?: boolean; keep_deposits_paused?: boolean } = {},
): ReopenPlan | null {
  const keep_withdrawals_paused = options.keep_withdrawals_paused === true;
  const keep_deposits_paused = options.keep_deposits_paused === true;
  if (named !== null && named.length > NAMED_MARKETS_MAX)
    throw new Error(`at most ${NAMED_MARKETS_MAX} markets can be named`);
  const by_symbol = new Map(state.markets.map((m) => [m.symbol, m]));
  let chosen: { symbol: string; status: string }[];
  if (named !== null) {
    const unknown = named.filter((s) => !by_symbol.has(s));
    if (unknown.length > 0) throw new Error(`the node lists no market ${unknown.join(", ")}`);
    chosen = [...new Set(named)].map((s) => by_symbol.get(s) as { symbol: string; status: string });
  } else {
    chosen = state.markets.filter(
      (m) =>
        m.status === "HALT" ||
        m.status === "CANCEL_ONLY" ||
        (state.exchange.maintenance && (m.status === "TRADING" || m.status === "POST_ONLY")),
    );
  }
  const x = state.exchange;
  const withdrawals_to_open = x.withdrawals_paused && !keep_withdrawals_paused;
  const deposits_to_open = x.deposits_paused && !keep_deposits_paused;
  if (chosen.length === 0 && !x.maintenance && !deposits_to_open && !withdrawals_to_open) return null;

  const markets = chosen.map((m) => ({
    symbol: m.symbol,
    from: m.status,
    to: m.status === "POST_ONLY" ? ("POST_ONLY" as const) : ("TRADING" as const),
  }));
  const halt: ReopenAction[] = markets
    .filter((m) => m.from !== "HALT" && m.from !== "CANCEL_ONLY")
    .map((m) => ({ kind: "market", symbol: m.symbol, status: "HALT" }));
  // only the switches not already where this stage wants them (a run resumed repeats nothing)
  const switches: ReopenAction = { kind: "flags" };
  if (x.maintenance) switches.maintenance = false;
  if (deposits_to_open) switches.deposits_paused = false;
  // maintenance held withdrawals too: they stay paused until the last stage. A market's own incident
  // (maintenance off, withdrawals open) leaves withdrawals alone.
  if (x.maintenance && !x.withdrawals_paused) switches.withdrawals_paused = true;
  const stages: ReopenStage[] = [
    {
      name: "deposits",
      opens: "deposits (the markets being reopened stay closed)",
      // the markets close before maintenance ends: no order may reach a book this stage
      actions: [...halt, ...(Object.keys(switches).length > 1 ? [switches] : [])],
    },
    {
      name: "cancel-only",
      opens: "cancels: users take back orders that rested through the incident",
      actions: markets
        .filter((m) => m.from !== "CANCEL_ONLY")
        .map((m) => ({ kind: "market", symbol: m.symbol, status: "CANCEL_ONLY" })),
    },
    {
      name: "trading",
      opens: "trading",
      actions: markets.map((m) => ({ kind: "market", symbol: m.symbol, status: m.to })),
    },
  ];
  if ((x.maintenance || x.withdrawals_paused) && !keep_withdrawals_paused)
    stages.push({
      name: "withdrawals",
      opens: "withdrawals",
      actions: [{ kind: "flags", withdrawals_paused: false }],
    });
  return { markets, stages };
}

/**
 * The end of a scheduled maintenance window, staged (the status service's windows marked to switch the
 * exchange): only what maintenance closed reopens. Markets halted, cancel-only or in a break before
 * or during the window stay as they are; deposits or withdrawals paused on their own account stay
 * paused; withdrawals otherwise open last. Null when the exchange is not in maintenance (an operator
 * already ended it).
 */
export function maintenance_reopen_plan(state: State): ReopenPlan | null {
  if (!state.exchange.maintenance) return null;
  const closed = state.markets.filter((m) => m.status === "TRADING" || m.status === "POST_ONLY");
  return reopen_plan(
    state,
    closed.map((m) => m.symbol),
    {
      keep_withdrawals_paused: state.exchange.withdrawals_paused,
      keep_deposits_paused: true,
    },
  );
}

/** What the plan has set once the stage at index `done` is carried out: each market's mode and switch. */
export function planned_state(
  plan: ReopenPlan,
  done: number,
): { markets: Map<string, string>; flags: Map<(typeof SWITCHES)[number], boolean> } {
  const markets = new Map<string, string>();
  const flags = new Map<(typeof SWITCHES)[number], boolean>();
  for (const stage of plan.stages.slice(0, done + 1))
    for (const a of stage.actions) {
      if (a.kind === "market") markets.set(a.symbol, a.status);
      else for (const k of SWITCHES) if (a[k] !== undefined) flags.set(k, a[k]);
    }
  return { markets, flags };
}

/**
 * What the node must show once a stage is done, given what the plan set: a market or switch that
 * differs was changed by someone else meanwhile (another operator, the status service's maintenance
 * window), and the reopening stops rather than undo it. Returns the differences, empty when none.
 */
export function stage_drift(plan: ReopenPlan, done: number, state: State): string[] {
  const { markets: expect_market, flags: expect_flag } = planned_state(plan, done);
  const drift: string[] = [];
  for (const m of state.markets) {
    const want = expect_market.get(m.symbol);
    if (want !== undefined && want !== m.status) drift.push(`${m.symbol} is ${m.status}, not ${want}`);
  }
  for (const [k, want] of expect_flag)
    if (state.exchange[k] !== want)
      drift.push(`${k.replace("_", " ")} is ${want ? "off" : "on"}, not ${want ? "on" : "off"}`);
  return drift;
}
