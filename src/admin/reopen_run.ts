/**
 * Carrying out one stage of a staged reopening (src/admin/reopen.ts decides the stages) through a
 * node's admin interface. Shared by `holdfast admin reopen` (src/cli/reopen.ts), which waits between
 * stages itself, and the status service (src/status/reopening.ts), which reopens the exchange in
 * stages at the end of a maintenance window and tells users at each one.
 */
import { type ReopenAction, type ReopenPlan, SWITCHES, stage_drift } from "./reopen.js";
import type { NodeStatus } from "./server.js";

/** A call to the node's admin interface: the answer's body, or a throw for anything but success. */
export type AdminCall = (method: "GET" | "POST", path: string, body?: unknown) => Promise<unknown>;

type Outcome = { seq: number; applied: boolean; message?: string };

export type StageResult =
  | { ok: true; seq: number }
  /** paused: the node takes no commands now (try again later); drift: someone else changed what an
   * earlier stage set; refused: the engine refused one of the stage's commands. */
  | { ok: false; why: "paused" | "drift" | "refused"; text: string; drift?: string[]; action?: ReopenAction };

export const action_text = (a: ReopenAction): string =>
  a.kind === "market"
    ? `${a.symbol} → ${a.status}`
    : SWITCHES.filter((k) => a[k] !== undefined)
        .map((k) => `${k.replace("_", " ")} ${a[k] ? "on" : "off"}`)
        .join(", ");

/**
 * Checks the node (order entry open; nothing the stages up to `done` set changed since), then sends
 * the stage's commands in order, each journaled by the node before it answers. `index` and `done`
 * are indexes into plan.stages (`done` -1: no stage carried out yet).
 */
export async function carry_out_stage(
  call: AdminCall,
  plan: ReopenPlan,
  index: number,
  done: number,
): Promise<StageResult> {
  const stage = plan.stages[index];
  const now = (await call("GET", "/v1/status")) as NodeStatus;
  if (!now.order_entry.open)
    return { ok: false, why: "paused", text: `order entry is paused (${now.order_entry.reason})` };
  const drift = done < 0 ? [] : stage_drift(plan, done, now);
  if (drift.length > 0)
    return { ok: false, why: "drift", text: `changed meanwhile by someone else: ${drift.join("; ")}`, drift };
  let last_seq = 0;
  for (const a of stage.actions) {
    const o = (
      a.kind === "market"
        ? await call("POST", "/v1/market-status", { symbol: a.symbol, status: a.status })
        : await call(
            "POST",
            "/v1/exchange-flags",
            Object.fromEntries(SWITCHES.filter((k) => a[k] !== undefined).map((k) => [k, a[k]])),
          )
    ) as Outcome;
    if (!o.applied)
      return {
        ok: false,
        why: "refused",
        text: `${action_text(a)} refused by the engine: ${o.message}`,
        action: a,
      };
    last_seq = o.seq;
  }
  return { ok: true, seq: last_seq };
}
