/**
 * The operator's web page (/admin): what `holdfast status admin` does, behind a login. Operators are
 * created with `holdfast status admin passwd <name>` (argon2id hashes, admin_users table). A login
 * makes a session: a random token in an httpOnly, SameSite=Strict cookie scoped to /admin (only its
 * SHA-256 is stored), 8 hours. Every form carries the session's CSRF token, checked on each POST.
 * Failed logins are limited per address. The actions go through the admin socket's own routes
 * (Fastify inject), so the page and the CLI share one set of checks.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { verify as argon2_verify } from "@node-rs/argon2";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { COMPONENT_STATUSES, INCIDENT_STATUSES } from "./monitor.js";
import { html_escape } from "./page.js";
import type { StatusStore } from "./store.js";

const COOKIE = "hf_status_admin";
const SESSION_MS = 8 * 3_600_000;
const FAILURES_MAX = 5;
const FAILURE_WINDOW_MS = 15 * 60_000;

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

function cookie_value(request: FastifyRequest): string | null {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === COOKIE) return v.join("=");
  }
  return null;
}

const page = (title: string, body: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${html_escape(title)}</title><style>:root{color-scheme:light dark}body{font:16px/1.5 system-ui,sans-serif;max-width:56rem;margin:1.5rem auto;padding:0 1rem}fieldset{margin:1rem 0;border-radius:.4rem}label{display:block;margin:.3rem 0}input,select,textarea{font:inherit;max-width:100%}.msg{padding:.6rem 1rem;border-radius:.4rem;background:#dafbe1;color:#1a1a1a}.err{background:#ffebe9}</style></head><body>${body}</body></html>`;

const options = (values: readonly string[], selected = ""): string =>
  values.map((v) => `<option${v === selected ? " selected" : ""}>${html_escape(v)}</option>`).join("");

export function register_admin_page(
  app: FastifyInstance,
  store: StatusStore,
  /** The admin socket's server (started after the public one listens). */
  admin: () => FastifyInstance,
): void {
  const failures = new Map<string, { start_ms: number; count: number }>();

  const session_of = (request: FastifyRequest) => {
    const token = cookie_value(request);
    if (token === null || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const s = store.session(sha256(token), Date.now());
    return s === null ? null : { ...s, token };
  };

  const login_form = (message: string | null) =>
    page(
      "Status admin: log in",
      `<main><h1>Status admin</h1>${message === null ? "" : `<p class="msg err" role="alert">${html_escape(message)}</p>`}<form method="post" action="/admin/login"><label>Username <input name="username" autocomplete="username" required maxlength="32"></label><label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="256"></label><button type="submit">Log in</button></form></main>`,
    );

  const dashboard = (
    s: { username: string; csrf: string },
    message: { ok: boolean; text: string } | null,
  ) => {
    const csrf = `<input type="hidden" name="csrf" value="${html_escape(s.csrf)}">`;
    const components = store.components();
    const incidents = store.incidents(50, true);
    const incident_forms = incidents
      .map(
        (i) =>
          `<form method="post" action="/admin/act"><fieldset><legend>${html_escape(i.name)} — ${html_escape(i.status)}</legend>${csrf}<input type="hidden" name="action" value="update"><input type="hidden" name="id" value="${html_escape(i.id)}"><label>New status <select name="status">${options(INCIDENT_STATUSES, i.status)}</select></label><label>Update <textarea name="body" rows="2" cols="60" required maxlength="5000"></textarea></label><button type="submit">Post update</button></fieldset></form>`,
      )
      .join("");
    const component_rows = components
      .map(
        (c) =>
          `<form method="post" action="/admin/act">${csrf}<input type="hidden" name="action" value="component"><input type="hidden" name="id" value="${html_escape(c.id)}"><label>${html_escape(c.name)} (probes: ${html_escape(c.auto_status)}) <select name="status">${options(["auto", ...COMPONENT_STATUSES], c.override ?? "auto")}</select> <button type="submit">Set</button></label></form>`,
      )
      .join("");
    return page(
      "Status admin",
      `<header><h1>Status admin</h1><form method="post" action="/admin/logout">${csrf}<p>Logged in as ${html_escape(s.username)} <button type="submit">Log out</button></p></form></header><main>${message === null ? "" : `<p class="msg${message.ok ? "" : " err"}" role="status">${html_escape(message.text)}</p>`}
<section><h2>Open an incident</h2><form method="post" action="/admin/act">${csrf}<input type="hidden" name="action" value="open"><label>Title <input name="name" required maxlength="200"></label><label>First update <textarea name="body" rows="3" cols="60" required maxlength="5000"></textarea></label><label>Status <select name="status">${options(["investigating", "identified", "monitoring"])}</select></label><label>Affected component <select name="component"><option value="">none</option>${components.map((c) => `<option value="${html_escape(c.id)}">${html_escape(c.name)}</option>`).join("")}</select></label><label>Show it as <select name="component_status"><option value="">(unchanged)</option>${options(COMPONENT_STATUSES)}</select></label><button type="submit">Open</button></form></section>
<section><h2>Open incidents</h2>${incidents.length === 0 ? "<p>None.</p>" : incident_forms}</section>
<section><h2>Components</h2>${component_rows}</section>
<section><h2>Schedule maintenance</h2><form method="post" action="/admin/act">${csrf}<input type="hidden" name="action" value="schedule"><label>Title <input name="name" required maxlength="200"></label><label>Start (UTC, ISO 8601) <input name="start" required placeholder="2026-12-01T02:00:00Z"></label><label>End (UTC, ISO 8601) <input name="end" required placeholder="2026-12-01T03:00:00Z"></label><label>What users should know <textarea name="body" rows="2" cols="60" required maxlength="5000"></textarea></label><label><input type="checkbox" name="switch_exchange" value="1"> switch the exchange into maintenance</label><label>Remind subscribers, minutes before (blank: no reminder) <input name="remind_minutes" inputmode="numeric" pattern="[0-9]{1,6}" maxlength="6"></label><label>Reopen in stages, seconds apart (blank: all at once) <input name="reopen_stage_seconds" inputmode="numeric" pattern="[0-9]{1,4}" maxlength="4"></label><button type="submit">Schedule</button></form></section></main>`,
    );
  };

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type("text/html; charset=utf-8").header("cache-control", "no-store").send(body);

  app.get("/admin/login", async (_request, reply) => html(reply, 200, login_form(null)));

  app.post<{ Body: { username?: unknown; password?: unknown } }>("/admin/login", async (request, reply) => {
    const now = Date.now();
    const f = failures.get(request.ip);
    if (f !== undefined && now - f.start_ms < FAILURE_WINDOW_MS && f.count >= FAILURES_MAX)
      return html(
        reply.header("retry-after", "900"),
        429,
        login_form("Too many failed logins: wait 15 minutes."),
      );
    const username = typeof request.body?.username === "string" ? request.body.username : "";
    const password = typeof request.body?.password === "string" ? request.body.password : "";
    const hash = username.length <= 32 ? store.admin_hash(username) : null;
    const ok =
      hash !== null && password.length <= 256 && (await argon2_verify(hash, password).catch(() => false));
    if (!ok) {
      if (f === undefined || now - f.start_ms >= FAILURE_WINDOW_MS) {
        if (failures.size >= 100_000) failures.clear();
        failures.set(request.ip, { start_ms: now, count: 1 });
      } else f.count++;
      return html(reply, 401, login_form("Wrong username or password."));
    }
    failures.delete(request.ip);
    const token = randomBytes(32).toString("base64url");
    store.add_session(sha256(token), username, randomBytes(24).toString("base64url"), now + SESSION_MS);
    const secure = request.protocol === "https" ? "; Secure" : "";
    reply.header(
      "set-cookie",
      `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/admin; Max-Age=${SESSION_MS / 1000}${secure}`,
    );
    return reply.code(303).header("location", "/admin").send();
  });

  app.get("/admin", async (request, reply) => {
    const s = session_of(request);
    if (s === null) return reply.code(303).header("location", "/admin/login").send();
    return html(reply, 200, dashboard(s, null));
  });

  /** A POST from the page: a session and its CSRF token, or 403. */
  const guard = (request: FastifyRequest<{ Body: Record<string, unknown> }>) => {
    const s = session_of(request);
    const sent = typeof request.body?.csrf === "string" ? request.body.csrf : "";
    if (
      s === null ||
      sent.length !== s.csrf.length ||
      !timingSafeEqual(Buffer.from(sent), Buffer.from(s.csrf))
    )
      return null;
    return s;
  };

  app.post<{ Body: Record<string, unknown> }>("/admin/logout", async (request, reply) => {
    const s = guard(request);
    if (s === null) return html(reply, 403, page("Forbidden", "<main><h1>Forbidden</h1></main>"));
    store.end_session(sha256(s.token));
    reply.header("set-cookie", `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/admin; Max-Age=0`);
    return reply.code(303).header("location", "/admin/login").send();
  });

  app.post<{ Body: Record<string, unknown> }>("/admin/act", async (request, reply) => {
    const s = guard(request);
    if (s === null)
      return html(reply, 403, page("Forbidden", "<main><h1>Forbidden</h1><p>Log in again.</p></main>"));
    const b = request.body;
    const str = (k: string) => (typeof b[k] === "string" ? (b[k] as string) : "");
    let call: { method: "POST"; url: string; payload: Record<string, unknown> } | null = null;
    switch (str("action")) {
      case "open":
        call = {
          method: "POST",
          url: "/v1/incidents",
          payload: {
            name: str("name"),
            body: str("body"),
            status: str("status") || "investigating",
            ...(str("component") === "" ? {} : { components: [str("component")] }),
            ...(str("component_status") === "" ? {} : { component_status: str("component_status") }),
          },
        };
        break;
      case "update":
        call = {
          method: "POST",
          url: `/v1/incidents/${encodeURIComponent(str("id"))}/updates`,
          payload: { status: str("status"), body: str("body") },
        };
        break;
      case "component":
        call = {
          method: "POST",
          url: `/v1/components/${encodeURIComponent(str("id"))}`,
          payload: { status: str("status") },
        };
        break;
      case "schedule":
        call = {
          method: "POST",
          url: "/v1/maintenances",
          payload: {
            name: str("name"),
            body: str("body"),
            start: str("start"),
            end: str("end"),
            switch_exchange: str("switch_exchange") === "1",
            // blank: none; anything else goes to the route's schema as a number (or is refused there)
            ...(str("remind_minutes") === ""
              ? {}
              : {
                  remind_minutes: /^[0-9]{1,6}$/.test(str("remind_minutes"))
                    ? Number(str("remind_minutes"))
                    : str("remind_minutes"),
                }),
            // blank: all at once
            ...(str("reopen_stage_seconds") === ""
              ? {}
              : {
                  reopen_stage_seconds: /^[0-9]{1,4}$/.test(str("reopen_stage_seconds"))
                    ? Number(str("reopen_stage_seconds"))
                    : str("reopen_stage_seconds"),
                }),
          },
        };
        break;
    }
    if (call === null) return html(reply, 400, dashboard(s, { ok: false, text: "Unknown action." }));
    const r = await admin().inject(call);
    const answer = r.json() as { message?: string; error?: string };
    const ok = r.statusCode === 200;
    return html(
      reply,
      ok ? 200 : 400,
      dashboard(s, { ok, text: ok ? "Done." : `Refused: ${answer.message ?? answer.error ?? r.statusCode}` }),
    );
  });
}
