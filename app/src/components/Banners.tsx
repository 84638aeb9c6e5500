/** What is wrong right now: the exchange unreachable (our own view), and the status service's word. */
import { reachability } from "../feed";
import { config } from "../session";
import { status_summary } from "../status";
import { useStore } from "../store";

const MAINTENANCE_WORDS: Record<string, string> = {
  scheduled: "Scheduled maintenance",
  in_progress: "Maintenance in progress",
  verifying: "Reopening after maintenance",
};

export function Banners() {
  const reach = useStore(reachability);
  const summary = useStore(status_summary);
  const cfg = useStore(config);
  const status_page = summary?.page.url ?? cfg.status_url;
  const incidents =
    summary?.incidents.filter((i) => i.status !== "resolved" && i.status !== "postmortem") ?? [];
  const maintenances = summary?.scheduled_maintenances ?? [];
  return (
    <div className="banners">
      {reach === "unreachable" ? (
        <div className="banner outage" role="alert" data-testid="unreachable">
          <strong>Exchange unreachable.</strong> We cannot reach the exchange right now; your funds and orders
          are kept safely and the app will reconnect by itself.
          {status_page ? (
            <>
              {" "}
              See the <a href={status_page}>status page</a> for what is happening.
            </>
          ) : null}
        </div>
      ) : reach === "connecting" ? (
        <div className="banner info" role="status" aria-live="polite">
          Connecting to the exchange…
        </div>
      ) : null}
      {incidents.map((i) => (
        <div
          key={i.id}
          className={`banner incident impact-${i.impact}`}
          role="status"
          data-testid="incident-banner"
        >
          <strong>{i.name}</strong> — {i.status}
          {i.incident_updates[0] ? `: ${i.incident_updates[0].body}` : ""} <a href={i.shortlink}>Details</a>
        </div>
      ))}
      {maintenances.map((m) => (
        <div key={m.id} className="banner maintenance" role="status" data-testid="maintenance-banner">
          <strong>{MAINTENANCE_WORDS[m.status] ?? "Scheduled maintenance"}:</strong> {m.name} (
          {new Date(m.scheduled_for).toLocaleString()} – {new Date(m.scheduled_until).toLocaleString()})
          {/* while it reopens in stages, what is open now and when the next stage opens */}
          {m.status === "verifying" && m.incident_updates?.[0] ? ` ${m.incident_updates[0].body}` : ""}{" "}
          <a href={m.shortlink}>Details</a>
        </div>
      ))}
    </div>
  );
}
