/**
 * Statuspage-compatible JSON (docs/reference/statuspage-api.md): the shapes status aggregators,
 * exporters and bots already read. Built from the store on each request.
 */
import type { ComponentStatus } from "./monitor.js";
import type { Signer } from "./signing.js";
import type { ComponentRow, IncidentRow, MaintenanceRow, StatusStore } from "./store.js";

export const PAGE_ID = "holdfast";

export interface PageInfo {
  name: string;
  url: string;
}

export function page_json(info: PageInfo, store: StatusStore) {
  const updated = [
    ...store.components().map((c) => c.updated_at),
    ...store.incidents(1, false).map((i) => i.updated_at),
  ]
    .sort()
    .at(-1);
  return {
    id: PAGE_ID,
    name: info.name,
    url: info.url,
    time_zone: "Etc/UTC",
    updated_at: updated ?? new Date(0).toISOString(),
  };
}

export function component_json(c: ComponentRow) {
  return {
    id: c.id,
    name: c.name,
    status: c.status,
    description: c.description === "" ? null : c.description,
    position: c.position,
    showcase: true,
    start_date: c.created_at.slice(0, 10),
    group_id: null,
    group: false,
    page_id: PAGE_ID,
    only_show_if_degraded: false,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
}

/** The components an incident or maintenance names, those that still exist. */
const components_json = (ids: readonly string[], components: ReadonlyMap<string, ComponentRow>) =>
  ids.flatMap((id) => {
    const c = components.get(id);
    return c === undefined ? [] : [component_json(c)];
  });

/**
 * An incident; each of its updates is signed (signing.ts) and names its incident and impact, so a
 * signed update cannot be passed off as part of another incident.
 */
export function incident_json(
  info: PageInfo,
  i: IncidentRow,
  components: ReadonlyMap<string, ComponentRow>,
  signer: Signer,
) {
  return {
    id: i.id,
    name: i.name,
    status: i.status,
    impact: i.impact,
    shortlink: `${info.url}/incidents/${i.id}`,
    started_at: i.created_at,
    created_at: i.created_at,
    updated_at: i.updated_at,
    monitoring_at: i.monitoring_at,
    resolved_at: i.resolved_at,
    page_id: PAGE_ID,
    components: components_json(i.components, components),
    incident_updates: i.updates.map((u) =>
      signer.sign({
        id: u.id,
        incident_id: i.id,
        incident_name: i.name,
        incident_impact: i.impact,
        status: u.status,
        body: u.body,
        created_at: u.created_at,
        updated_at: u.created_at,
        display_at: u.created_at,
        deliver_notifications: true,
        affected_components:
          u.affected.length === 0
            ? null
            : u.affected.map((a) => ({
                code: a.id,
                name: a.name,
                old_status: a.old_status,
                new_status: a.new_status,
              })),
      }),
    ),
  };
}

/** A scheduled maintenance in Statuspage's shape (an incident with impact "maintenance" and its window). */
export function maintenance_json(
  info: PageInfo,
  m: MaintenanceRow,
  components: ReadonlyMap<string, ComponentRow>,
  signer: Signer,
) {
  return {
    id: m.id,
    name: m.name,
    status: m.status,
    impact: "maintenance",
    shortlink: `${info.url}/#maintenance-${m.id}`,
    started_at: m.started_at ?? m.scheduled_for,
    created_at: m.created_at,
    updated_at: m.updated_at,
    monitoring_at: null,
    resolved_at: m.completed_at,
    scheduled_for: m.scheduled_for,
    scheduled_until: m.scheduled_until,
    page_id: PAGE_ID,
    components: components_json(m.components, components),
    incident_updates: m.updates.map((u) =>
      signer.sign({
        id: u.id,
        incident_id: m.id,
        incident_name: m.name,
        incident_impact: "maintenance",
        scheduled_for: m.scheduled_for,
        scheduled_until: m.scheduled_until,
        status: u.status,
        body: u.body,
        created_at: u.created_at,
        updated_at: u.created_at,
        display_at: u.created_at,
        deliver_notifications: true,
        affected_components: null,
      }),
    ),
  };
}

/** The page's overall indicator, from its components (Statuspage's words). */
export function overall(statuses: readonly ComponentStatus[]): { indicator: string; description: string } {
  const count = (s: ComponentStatus) => statuses.filter((x) => x === s).length;
  if (statuses.length > 0 && count("major_outage") === statuses.length)
    return { indicator: "critical", description: "Major System Outage" };
  if (count("major_outage") > 0) return { indicator: "major", description: "Partial System Outage" };
  if (count("partial_outage") > 0 || count("degraded_performance") > 0)
    return { indicator: "minor", description: "Minor Service Outage" };
  if (count("under_maintenance") > 0)
    return { indicator: "maintenance", description: "Service Under Maintenance" };
  return { indicator: "none", description: "All Systems Operational" };
}

/** The summary, signed as a whole (its signature covers the statuses and every nested update). */
export function summary_json(info: PageInfo, store: StatusStore, signer: Signer) {
  const components = store.components();
  const by_id = new Map(components.map((c) => [c.id, c]));
  return signer.sign({
    page: page_json(info, store),
    status: overall(components.map((c) => c.status)),
    components: components.map(component_json),
    incidents: store.incidents(50, true).map((i) => incident_json(info, i, by_id, signer)),
    scheduled_maintenances: [...store.maintenances("active"), ...store.maintenances("upcoming")].map((m) =>
      maintenance_json(info, m, by_id, signer),
    ),
  });
}

export function signing_key_json(signer: Signer) {
  return { alg: "Ed25519", key_id: signer.key_id, public_key_pem: signer.public_pem };
}
