/**
 * The status service's word on what is wrong: its live stream (/api/v2/stream, Server-Sent Events,
 * a signed Statuspage summary on connect and after every change). It runs in its own failure
 * domain, so the banner keeps working when the node is gone. EventSource reconnects by itself.
 */
import { Store } from "./store";

export interface StatusIncident {
  id: string;
  name: string;
  status: string;
  impact: string;
  shortlink: string;
  incident_updates: { body: string; status: string; created_at: string }[];
}
export interface StatusMaintenance {
  id: string;
  name: string;
  status: string;
  shortlink: string;
  scheduled_for: string;
  scheduled_until: string;
  /** Newest first (Statuspage's order). */
  incident_updates?: { body: string; status: string; created_at: string }[];
}
export interface StatusSummary {
  page: { url: string; name: string };
  status: { indicator: string; description: string };
  incidents: StatusIncident[];
  scheduled_maintenances: StatusMaintenance[];
}

export const status_summary = new Store<StatusSummary | null>(null);

let source: EventSource | null = null;

export function watch_status(status_url: string | null): void {
  source?.close();
  source = null;
  if (status_url === null) return;
  source = new EventSource(`${status_url}/api/v2/stream`);
  source.addEventListener("summary", (e) => {
    try {
      status_summary.set(JSON.parse((e as MessageEvent<string>).data) as StatusSummary);
    } catch {
      // a malformed frame changes nothing
    }
  });
}
