/**
 * The status service's decisions, kept pure: given the time and what one probe round saw, which
 * component statuses change and which automatic incidents open, move on or close. No clock, no I/O
 * (the service passes both in), so the rules are tested with a fake clock, like the engine.
 *
 * Hysteresis: a component shows a new status only after `rounds_to_change` consecutive rounds agree
 * on it, so one lost probe does not page anyone and one good probe does not declare victory.
 * Incidents: components that turn bad in the same round share one incident (an exchange that stops
 * answering is one incident, not six); one that turns bad later opens its own, so several can be
 * open at once. When everything an incident covers is fine again it moves to monitoring; after
 * `quiet_ms` without a relapse it is resolved; a relapse during monitoring sends it back to
 * investigating.
 */

export const COMPONENT_STATUSES = [
  "operational",
  "degraded_performance",
  "partial_outage",
  "major_outage",
  "under_maintenance",
] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];
export const INCIDENT_STATUSES = [
  "investigating",
  "identified",
  "monitoring",
  "resolved",
  "postmortem",
] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
export type Impact = "none" | "minor" | "major" | "critical" | "maintenance";

export interface ComponentDef {
  id: string;
  name: string;
  position: number;
}

/** What one probe round saw of one component, and why (shown in incident updates). */
export interface Seen {
  status: ComponentStatus;
  detail: string;
}

export interface ComponentChange {
  id: string;
  name: string;
  old_status: ComponentStatus;
  new_status: ComponentStatus;
}

export type Action =
  | { kind: "add_component"; component: ComponentDef }
  | { kind: "component"; change: ComponentChange }
  | {
      kind: "open";
      key: string;
      name: string;
      impact: Impact;
      body: string;
      changes: ComponentChange[];
    }
  | { kind: "update"; key: string; status: IncidentStatus; body: string; changes: ComponentChange[] };

/** An automatic incident the monitor is following (restored from the store after a restart). */
export interface AutoIncident {
  key: string;
  components: string[];
  status: "investigating" | "monitoring";
  /** When everything it covers was last seen fine again (monitoring), else null. */
  recovered_ms: number | null;
}

export interface MonitorConfig {
  rounds_to_change: number;
  quiet_ms: number;
}

interface Track {
  def: ComponentDef;
  shown: ComponentStatus;
  candidate: ComponentStatus;
  streak: number;
  detail: string;
}

const BAD: ReadonlySet<ComponentStatus> = new Set(["degraded_performance", "partial_outage", "major_outage"]);
export const is_bad = (s: ComponentStatus): boolean => BAD.has(s);

const WORDS: Record<ComponentStatus, string> = {
  operational: "operational",
  degraded_performance: "degraded",
  partial_outage: "partially down",
  major_outage: "down",
  under_maintenance: "under maintenance",
};
export const status_words = (s: ComponentStatus): string => WORDS[s];

/** Statuspage's impact for a set of component statuses. */
export function impact_of(statuses: readonly ComponentStatus[]): Impact {
  if (statuses.includes("major_outage")) return "major";
  if (statuses.includes("partial_outage") || statuses.includes("degraded_performance")) return "minor";
  if (statuses.includes("under_maintenance")) return "maintenance";
  return "none";
}

export class Monitor {
  private readonly tracks = new Map<string, Track>();
  private readonly incidents = new Map<string, AutoIncident>();
  private next_key = 1;

  constructor(
    private readonly config: MonitorConfig,
    components: readonly (ComponentDef & { status: ComponentStatus })[],
    incidents: readonly AutoIncident[],
  ) {
    if (!(config.rounds_to_change >= 1)) throw new Error("rounds_to_change must be at least 1");
    for (const c of components)
      this.tracks.set(c.id, { def: c, shown: c.status, candidate: c.status, streak: 0, detail: "" });
    for (const i of incidents) {
      this.incidents.set(i.key, { ...i, components: [...i.components] });
      const n = Number(/^auto-(\d+)$/.exec(i.key)?.[1] ?? 0);
      if (n >= this.next_key) this.next_key = n + 1;
    }
  }

  shown(id: string): ComponentStatus | undefined {
    return this.tracks.get(id)?.shown;
  }

  open_incidents(): readonly AutoIncident[] {
    return [...this.incidents.values()];
  }

  /** One probe round: `seen` has an entry per component the round could judge. */
  observe(now_ms: number, seen: ReadonlyMap<string, Seen & { def: ComponentDef }>): Action[] {
    const actions: Action[] = [];
    const changed: ComponentChange[] = [];
    for (const [id, s] of seen) {
      let t = this.tracks.get(id);
      if (t === undefined) {
        // a component seen for the first time (a new market) starts from what is seen
        t = { def: s.def, shown: s.status, candidate: s.status, streak: 0, detail: s.detail };
        this.tracks.set(id, t);
        actions.push({ kind: "add_component", component: s.def });
        continue;
      }
      t.detail = s.detail;
      if (s.status === t.shown) {
        t.candidate = t.shown;
        t.streak = 0;
        continue;
      }
      if (s.status === t.candidate) t.streak++;
      else {
        t.candidate = s.status;
        t.streak = 1;
      }
      if (t.streak >= this.config.rounds_to_change) {
        const change = { id, name: t.def.name, old_status: t.shown, new_status: s.status };
        t.shown = s.status;
        t.streak = 0;
        changed.push(change);
        actions.push({ kind: "component", change });
      }
    }

    // incidents already open: relapse, recovery, resolution
    const covered = new Set<string>();
    for (const incident of this.incidents.values()) {
      for (const id of incident.components) covered.add(id);
      const mine = changed.filter((c) => incident.components.includes(c.id));
      const bad = incident.components.filter((id) => is_bad(this.tracks.get(id)?.shown ?? "operational"));
      if (bad.length > 0 && incident.status === "monitoring") {
        incident.status = "investigating";
        incident.recovered_ms = null;
        actions.push({
          kind: "update",
          key: incident.key,
          status: "investigating",
          body: `The problem has returned: ${this.describe(bad)}. We are investigating.`,
          changes: mine,
        });
      } else if (bad.length === 0 && incident.status === "investigating") {
        incident.status = "monitoring";
        incident.recovered_ms = now_ms;
        actions.push({
          kind: "update",
          key: incident.key,
          status: "monitoring",
          body: "Automated checks pass again. We are monitoring to make sure the service stays healthy.",
          changes: mine,
        });
      } else if (
        incident.status === "monitoring" &&
        incident.recovered_ms !== null &&
        now_ms - incident.recovered_ms >= this.config.quiet_ms
      ) {
        this.incidents.delete(incident.key);
        actions.push({
          kind: "update",
          key: incident.key,
          status: "resolved",
          body: `Resolved: every check has passed for ${Math.round(this.config.quiet_ms / 1000)} s.`,
          changes: mine,
        });
      } else if (mine.length > 0) {
        actions.push({
          kind: "update",
          key: incident.key,
          status: incident.status,
          body: `Update from automated checks: ${this.describe(mine.map((c) => c.id))}.`,
          changes: mine,
        });
      }
    }

    // components newly bad and not covered: one new incident for all of them
    const fresh = changed.filter((c) => is_bad(c.new_status) && !covered.has(c.id));
    if (fresh.length > 0) {
      const key = `auto-${this.next_key++}`;
      const ids = fresh.map((c) => c.id);
      this.incidents.set(key, { key, components: ids, status: "investigating", recovered_ms: null });
      const unreachable = fresh.some((c) => c.id === "rest-api" && c.new_status === "major_outage");
      actions.push({
        kind: "open",
        key,
        name: unreachable
          ? "Exchange unreachable"
          : fresh.length === 1
            ? `${fresh[0].name} ${status_words(fresh[0].new_status)}`
            : `Service disruption: ${fresh.map((c) => c.name).join(", ")}`,
        impact: unreachable ? "critical" : impact_of(fresh.map((c) => c.new_status)),
        body: `Automated checks found a problem: ${this.describe(ids)}. We are investigating.`,
        changes: fresh,
      });
    }
    return actions;
  }

  private describe(ids: readonly string[]): string {
    return ids
      .map((id) => {
        const t = this.tracks.get(id);
        if (t === undefined) return id;
        return `${t.def.name} ${status_words(t.shown)}${t.detail === "" ? "" : ` (${t.detail})`}`;
      })
      .join("; ");
  }
}
