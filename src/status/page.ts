/**
 * The public status page: server-rendered HTML that reads fully without JavaScript, light and dark
 * (prefers-color-scheme), one landmark per section, statuses in words as well as colours. Every
 * piece of text from the store goes through `escape`: incident text is operator- or probe-written.
 */
import { overall, type PageInfo } from "./api.js";
import { type ComponentStatus, status_words } from "./monitor.js";
import type { Signer } from "./signing.js";
import type { DayRow, IncidentRow, MaintenanceRow, StatusStore } from "./store.js";

export const UPTIME_DAYS = 90;
const DAY_MS = 86_400_000;

export function html_escape(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

const COLOUR: Record<ComponentStatus | "none", string> = {
  operational: "var(--ok)",
  degraded_performance: "var(--minor)",
  partial_outage: "var(--major)",
  major_outage: "var(--critical)",
  under_maintenance: "var(--maint)",
  none: "var(--empty)",
};

/** Uptime over the window: time up over time observed outside maintenance; null if never observed. */
export function uptime_percent(days: readonly DayRow[]): number | null {
  let up = 0;
  let counted = 0;
  for (const d of days) {
    up += d.up_ms;
    counted += d.up_ms + d.degraded_ms + d.down_ms;
  }
  return counted === 0 ? null : (100 * up) / counted;
}

function day_status(d: DayRow | undefined): ComponentStatus | "none" {
  if (d === undefined) return "none";
  if (d.down_ms > 0) return "major_outage";
  if (d.degraded_ms > 0) return "degraded_performance";
  if (d.up_ms === 0 && d.maintenance_ms > 0) return "under_maintenance";
  return "operational";
}

function bars(component_id: string, rows: readonly DayRow[], now_ms: number): string {
  const by_day = new Map(rows.filter((r) => r.component_id === component_id).map((r) => [r.day, r]));
  const cells: string[] = [];
  for (let i = UPTIME_DAYS - 1; i >= 0; i--) {
    const day = new Date(now_ms - i * DAY_MS).toISOString().slice(0, 10);
    const status = day_status(by_day.get(day));
    const label = status === "none" ? "no data" : status_words(status);
    cells.push(
      `<rect x="${(UPTIME_DAYS - 1 - i) * 4}" width="3" height="24" fill="${COLOUR[status]}"><title>${day}: ${label}</title></rect>`,
    );
  }
  return `<svg class="bars" viewBox="0 0 ${UPTIME_DAYS * 4} 24" preserveAspectRatio="none" role="img" aria-label="${UPTIME_DAYS}-day history">${cells.join("")}</svg>`;
}

/**
 * An update's status as people read it in a notice or feed: Statuspage's names, but a maintenance's
 * "in_progress" reads "in progress" and its "verifying" (the exchange reopening in stages,
 * reopening.ts) "reopening". Incident statuses are single words already.
 */
export const update_status_words = (status: string): string =>
  status === "verifying" ? "reopening" : status.replace(/_/g, " ");

const when = (iso: string): string =>
  `<time datetime="${html_escape(iso)}">${html_escape(iso.replace("T", " ").slice(0, 16))} UTC</time>`;

function maintenance_html(m: MaintenanceRow): string {
  const latest = m.updates[0];
  return `<article id="maintenance-${html_escape(m.id)}" class="incident impact-maintenance"><h3>${html_escape(m.name)}</h3><p>${m.status === "scheduled" ? "Scheduled" : m.status === "verifying" ? "Reopening in stages" : "In progress"}: ${when(m.scheduled_for)} to ${when(m.scheduled_until)}</p>${latest === undefined ? "" : `<p>${html_escape(latest.body)}</p>`}</article>`;
}

function incident_html(i: IncidentRow): string {
  const updates = i.updates
    .map(
      (u) =>
        `<li><strong>${html_escape(u.status)}</strong> — ${html_escape(u.body)} <time datetime="${html_escape(u.created_at)}">${html_escape(u.created_at.replace("T", " ").slice(0, 19))} UTC</time></li>`,
    )
    .join("");
  return `<article class="incident impact-${html_escape(i.impact)}"><h3>${html_escape(i.name)}</h3><p>Status: <strong>${html_escape(i.status)}</strong>, impact: ${html_escape(i.impact)}</p><ol class="updates">${updates}</ol></article>`;
}

/**
 * The latest proof-of-reserves audit as this service first saw it (reserves.ts): its root, its
 * coverage, and how a user checks their own balances against this copy. Nothing when none was seen.
 */
function reserves_html(store: StatusStore): string {
  const row = store.reserves_audit(null);
  if (row === null) return "";
  const a = JSON.parse(row.body) as {
    audit: number;
    time?: number;
    assets?: { asset: string; liabilities: string; reserves: string | null; ratio: string | null }[];
  };
  const lines = (a.assets ?? [])
    .map(
      (x) =>
        `<tr><th scope="row">${html_escape(x.asset)}</th><td>${html_escape(x.liabilities)}</td><td>${html_escape(x.reserves ?? "not declared")}</td><td>${html_escape(x.ratio ?? "–")}</td></tr>`,
    )
    .join("");
  return `<section aria-labelledby="reserves-h"><h2 id="reserves-h">Proof of reserves</h2><p>Audit ${a.audit}${a.time === undefined ? "" : ` of ${when(new Date(a.time).toISOString())}`}, root <code>${html_escape(row.root)}</code>, first seen here ${when(row.seen_at)}.${row.conflict === null ? "" : ` <strong>Warning: ${html_escape(row.conflict)}.</strong>`}</p><table><thead><tr><th scope="col">Asset</th><th scope="col">Users hold</th><th scope="col">Reserves</th><th scope="col">Ratio</th></tr></thead><tbody>${lines}</tbody></table><p>Check your own balances against this copy: download your proof from your account page, then <code>npx holdfast reserves verify proof.json --url &lt;this page&gt; --url &lt;the exchange&gt;</code>.</p></section>`;
}

export function render_page(
  info: PageInfo,
  store: StatusStore,
  now_ms: number,
  signer: Pick<Signer, "key_id" | "public_pem"> | null = null,
  email_subscriptions = false,
): string {
  const components = store.components();
  const state = overall(components.map((c) => c.status));
  const since = new Date(now_ms - (UPTIME_DAYS - 1) * DAY_MS).toISOString().slice(0, 10);
  const days = store.days(since);
  const open = store.incidents(50, true);
  const maintenance = [...store.maintenances("active"), ...store.maintenances("upcoming")];
  const past = store
    .incidents(20, false)
    .filter((i) => i.status === "resolved" || i.status === "postmortem")
    .slice(0, 10);
  const rows = components
    .map((c) => {
      const pct = uptime_percent(days.filter((d) => d.component_id === c.id));
      return `<li class="component"><div class="line"><span class="name">${html_escape(c.name)}</span><span class="status s-${html_escape(c.status)}">${html_escape(status_words(c.status))}</span></div>${bars(c.id, days, now_ms)}<div class="uptime">${pct === null ? "no data yet" : `${pct.toFixed(3)} % uptime, ${UPTIME_DAYS} days`}</div></li>`;
    })
    .join("");
  return shell(
    `${html_escape(info.name)} status`,
    `<header><h1>${html_escape(info.name)} status</h1></header>
<main>
<p class="banner i-${html_escape(state.indicator)}" role="status">${html_escape(state.description)}</p>
<section aria-labelledby="open-h"><h2 id="open-h">Open incidents</h2>${open.length === 0 ? "<p>No open incidents.</p>" : open.map(incident_html).join("")}</section>
<section aria-labelledby="maint-h"><h2 id="maint-h">Scheduled maintenance</h2>${maintenance.length === 0 ? "<p>None scheduled.</p>" : maintenance.map(maintenance_html).join("")}</section>
<section aria-labelledby="components-h"><h2 id="components-h">Components</h2><ul class="components">${rows}</ul></section>
<section aria-labelledby="past-h"><h2 id="past-h">Recent incidents</h2>${past.length === 0 ? "<p>None.</p>" : past.map(incident_html).join("")}</section>
${reserves_html(store)}
</main>
${
  email_subscriptions
    ? `<section aria-labelledby="sub-h"><h2 id="sub-h">Get updates by email</h2><form method="post" action="/api/v2/subscriptions"><label for="sub-email">Email address</label> <input id="sub-email" name="email" type="email" required maxlength="254" autocomplete="email"> <button type="submit">Subscribe</button></form><p>We send a confirmation link first. Also: <a href="/history.atom">Atom</a>, <a href="/history.rss">RSS</a>, <a href="/api/v2/summary.json">JSON</a>.</p></section>`
    : ""
}
<footer><p>Machine-readable: <a href="/api/v2/summary.json">/api/v2/summary.json</a> (Statuspage format). Times are UTC. This page is served from its own process and store, apart from the exchange.</p>${
      signer === null
        ? ""
        : `<section aria-labelledby="key-h"><h2 id="key-h">Checking an update is ours</h2><p>Every incident update and summary we publish is signed with Ed25519 (key id <code>${html_escape(signer.key_id)}</code>, <a href="/api/v2/signing-key.json">signing-key.json</a>). Save a copy of this key, then check any update with <code>npx holdfast verify &lt;file or URL&gt; --key key.pem</code>, or paste it here:</p><form method="post" action="/verify"><label for="verify-json">Update, incident or summary (JSON)</label><br><textarea id="verify-json" name="json" rows="6" cols="60" required maxlength="1000000"></textarea><br><button type="submit">Check the signatures</button></form><pre>${html_escape(signer.public_pem)}</pre></section>`
    }</footer>
`,
  );
}

/** The document around a page's body: head, styles (light and dark), no scripts. */
function shell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>${title}</title>
<link rel="alternate" type="application/json" href="/api/v2/summary.json">
<link rel="alternate" type="application/atom+xml" title="Status history (Atom)" href="/history.atom">
<link rel="alternate" type="application/rss+xml" title="Status history (RSS)" href="/history.rss">
<style>
:root { color-scheme: light dark; --bg:#fff; --fg:#1a1a1a; --muted:#5c5c5c; --card:#f5f6f8; --ok:#1f883d; --minor:#bf8700; --major:#d1570a; --critical:#cf222e; --maint:#0969da; --empty:#d0d7de; }
@media (prefers-color-scheme: dark) { :root { --bg:#0d1117; --fg:#e6edf3; --muted:#9198a1; --card:#161b22; --ok:#3fb950; --minor:#d29922; --major:#f0883e; --critical:#f85149; --maint:#58a6ff; --empty:#30363d; } }
body { background:var(--bg); color:var(--fg); font:16px/1.5 system-ui, sans-serif; margin:0 auto; max-width:52rem; padding:1.5rem; }
.banner { padding:1rem 1.25rem; border-radius:.5rem; color:#fff; font-weight:600; font-size:1.2rem; }
.i-none { background:var(--ok); } .i-minor { background:var(--minor); } .i-major { background:var(--major); } .i-critical { background:var(--critical); } .i-maintenance { background:var(--maint); }
ul.components { list-style:none; padding:0; } .component { background:var(--card); border-radius:.5rem; padding:.75rem 1rem; margin:.5rem 0; }
.line { display:flex; justify-content:space-between; gap:1rem; } .name { font-weight:600; }
.s-operational { color:var(--ok); } .s-degraded_performance { color:var(--minor); } .s-partial_outage { color:var(--major); } .s-major_outage { color:var(--critical); } .s-under_maintenance { color:var(--maint); }
.bars { width:100%; height:24px; display:block; margin:.4rem 0 .2rem; } .uptime, time { color:var(--muted); font-size:.875rem; }
.incident { background:var(--card); border-left:.3rem solid var(--major); border-radius:.5rem; padding:.5rem 1rem; margin:.75rem 0; }
.impact-critical { border-color:var(--critical); } .impact-minor { border-color:var(--minor); } .impact-maintenance { border-color:var(--maint); }
a { color:var(--maint); }
</style>
</head>
<body>
${body}</body>
</html>`;
}

/** The verify box's answer: each signed object found, authentic or not. */
export function render_verify_page(results: { path: string; ok: boolean }[] | null, key_id: string): string {
  const verdict =
    results === null
      ? "<p>That is not JSON.</p>"
      : results.length === 0
        ? "<p>No signed object found in it.</p>"
        : `<p role="status"><strong>${results.every((r) => r.ok) ? "Authentic: every signature verifies" : "NOT AUTHENTIC: forged or altered"}</strong> (key ${html_escape(key_id)})</p><ul>${results.map((r) => `<li>${r.ok ? "authentic" : "forged or altered"}: <code>${html_escape(r.path)}</code></li>`).join("")}</ul>`;
  return shell(
    "Signature check",
    `<main><h1>Signature check</h1>${verdict}<p><a href="/">Back to the status page</a></p></main>`,
  );
}

/** One incident's page: where the JSON's shortlink points. */
export function render_incident_page(info: PageInfo, incident: IncidentRow): string {
  return shell(
    `${html_escape(incident.name)} — ${html_escape(info.name)} status`,
    `<header><p><a href="/">${html_escape(info.name)} status</a></p></header><main>${incident_html(incident)}</main>`,
  );
}
