/**
 * `holdfast status`: the status service, a process and store of its own. It probes the exchange's
 * nodes from outside every `probe_interval_ms`, feeds what it saw to the Monitor (monitor.ts),
 * records the Monitor's decisions in its SQLite store, and serves the public page and the
 * Statuspage-compatible JSON. Nothing here reads the exchange's files: it keeps serving when every
 * exchange node is dead, which is when it matters.
 */
import { createHash, createPublicKey } from "node:crypto";
import { mkdirSync, renameSync, statfsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import formbody from "@fastify/formbody";
import Fastify, { type FastifyInstance } from "fastify";
import { admin_call, admin_request } from "../admin/client.js";
import { lock_dir } from "../node/data_dir.js";
import {
  CONNECTIONS_PER_IP_DEFAULT,
  cap_connections,
  caps_line,
  type TrustProxy,
  trust_proxy,
} from "../server/connections.js";
import { STATUS_ADMIN_SOCKET, start_status_admin } from "./admin.js";
import { register_admin_page } from "./admin_page.js";
import {
  component_json,
  incident_json,
  maintenance_json,
  overall,
  PAGE_ID,
  type PageInfo,
  page_json,
  signing_key_json,
  summary_json,
} from "./api.js";
import { Ballast } from "./ballast.js";
import { read_canary_key } from "./canary.js";
import { confirmation_email, normal_email, smtp_mailer, update_email } from "./email.js";
import { atom_feed, rss_feed } from "./feeds.js";
import { type Action, Monitor } from "./monitor.js";
import { DELIVERY_TIMEOUT_MS, Notifier, RETRY_SCHEDULE_MS } from "./notify.js";
import { html_escape, render_incident_page, render_page, render_verify_page } from "./page.js";
import { probe_round, type TradingMode } from "./probe.js";
import { PushHub } from "./push.js";
import { Reopenings } from "./reopening.js";
import { register_reserves_witness, witness_reserves } from "./reserves.js";
import { Signer, verify_document } from "./signing.js";
import {
  disk_full,
  type MaintenanceRow,
  type NoticeRow,
  open_status_store,
  type ReopeningState,
  type StatusStore,
} from "./store.js";
import { TELEGRAM_API, update_text } from "./telegram.js";

export interface StatusOptions {
  data_dir: string;
  host: string;
  port: number;
  /** Base URLs of the exchange nodes' public APIs. */
  watch: string[];
  probe_interval_ms: number;
  /** Consecutive rounds that must agree before a component's status changes. */
  rounds_to_change: number;
  /** How long an incident stays in monitoring without a relapse before it is resolved. */
  quiet_ms: number;
  name: string;
  /** The page's public URL (shortlinks); default http://host:port. */
  public_url?: string;
  /** Also write the page, JSON and feeds here as static files on every change. */
  export_dir?: string;
  /** {"apiKey","secretKey","symbols"} of the order-entry canary account (canary.ts). */
  canary_key_file?: string;
  /** Webhook targets may be internal addresses (tests, private deployments); default: refused. */
  allow_internal_webhooks?: boolean;
  /** A Telegram bot's token: updates go to the chats added with `status admin telegram-add`. */
  telegram_token?: string;
  /** The Bot API's base URL (default https://api.telegram.org; tests use a local server). */
  telegram_api?: string;
  /** smtp://host:port (or smtps://user:pass@host): email subscribers are offered only with it. */
  smtp_url?: string;
  /** The From of status emails. */
  mail_from?: string;
  /** Retry delays for notices (default RETRY_SCHEDULE_MS); tests shorten them. */
  retry_schedule_ms?: readonly number[];
  /**
   * The exchange node's admin socket: given it, a maintenance window marked switch_exchange puts the
   * exchange into maintenance when it starts and out of it when it ends.
   */
  exchange_admin_socket?: string;
  /** Connections one address may hold at once (default CONNECTIONS_PER_IP_DEFAULT; 0: no cap). */
  connections_per_ip?: number;
  /** Reverse proxies whose X-Forwarded-For names the client (see server/connections.ts). */
  trust_proxy?: string;
  log: (line: string) => void;
}

export const STATUS_DEFAULTS = {
  probe_interval_ms: 2000,
  rounds_to_change: 2,
  quiet_ms: 5 * 60_000,
  name: "Holdfast",
};

export interface RunningStatus {
  port: number;
  /** The operator interface (`holdfast status admin …`). */
  admin_socket: string;
  store: StatusStore;
  close(): Promise<void>;
}

const INCIDENTS_LISTED = 50;
/** The verify box takes a pasted document up to this size. */
const VERIFY_BODY_MAX = 1024 * 1024;
const EXPORT_EVERY_MS = 60_000;
/** In the status service's directory: see ballast.ts. */
export const BALLAST_FILE = "ballast";
/** Time a client has to send a whole request once it started (408 after). */
const REQUEST_TIMEOUT_MS = 30_000;

export async function start_status(options: StatusOptions): Promise<RunningStatus> {
  if (options.watch.length === 0) throw new Error("status: --watch needs at least one exchange URL");
  for (const url of options.watch) {
    const u = new URL(url); // throws on a malformed URL
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new Error(`status: --watch ${url}: not http(s)`);
  }
  const release = lock_dir(options.data_dir, "status service");
  const store = open_status_store(join(options.data_dir, "status.sqlite"), options.log);
  const signer = Signer.open(options.data_dir);
  const monitor = new Monitor(
    { rounds_to_change: options.rounds_to_change, quiet_ms: options.quiet_ms },
    store.components().map((c) => ({ ...c, status: c.auto_status })),
    store.auto_incidents(),
  );
  const watch = options.watch.map((u) => u.replace(/\/+$/, ""));
  const canary = options.canary_key_file === undefined ? null : read_canary_key(options.canary_key_file);

  // A full disk: the ballast (ballast.ts) is deleted at the first write that fails for want of
  // space, and that write is made again; it is written again once the disk has room.
  const ballast = new Ballast(join(options.data_dir, BALLAST_FILE));
  if (!ballast.ensure())
    options.log(`status: the disk of ${options.data_dir} is full: no room to keep the ballast`);
  const ballast_mb = ballast.bytes / (1024 * 1024);
  const durable = <T>(write: () => T): T => {
    try {
      return write();
    } catch (error) {
      if (!disk_full(error) || !ballast.release()) throw error;
      options.log(
        `status: THE DISK OF ${options.data_dir} IS FULL: deleted the ${ballast_mb} MB ballast so the page ` +
          "keeps recording; free space on that disk",
      );
      return write();
    }
  };
  /** Once the disk has room again, the ballast is written again (checked each round). */
  const rearm_ballast = (): void => {
    if (ballast.present) return;
    const fs = statfsSync(options.data_dir);
    if (fs.bavail * fs.bsize < 4 * ballast.bytes) return;
    if (ballast.ensure())
      options.log(`status: the disk of ${options.data_dir} has room again: the ballast is kept again`);
  };

  // Each write on its own, made again after the reserve is released: the monitor has already moved
  // on when these run, so a write lost here would be an incident the page never shows.
  const apply = (now_ms: number, actions: readonly Action[]): void => {
    for (const a of actions) {
      if (a.kind === "add_component") {
        const shown = monitor.shown(a.component.id) ?? "operational";
        durable(() => store.add_component(a.component, shown, now_ms));
      } else if (a.kind === "component") {
        durable(() => store.set_component(a.change.id, a.change.new_status, now_ms));
        options.log(`status: ${a.change.name}: ${a.change.old_status} → ${a.change.new_status}`);
      } else if (a.kind === "open") {
        const incident = durable(() =>
          store.open_incident(
            {
              name: a.name,
              impact: a.impact,
              auto_key: a.key,
              components: a.changes.map((c) => c.id),
            },
            a.body,
            a.changes,
            now_ms,
          ),
        );
        options.log(`status: incident opened: ${incident.name} (${incident.id})`);
      } else {
        const incident = store.by_auto_key(a.key);
        if (incident === null) continue;
        const recovered = monitor.open_incidents().find((i) => i.key === a.key)?.recovered_ms ?? null;
        durable(() => store.update_incident(incident.id, a.status, a.body, a.changes, now_ms, recovered));
        options.log(`status: incident ${incident.id} → ${a.status}`);
      }
    }
  };

  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let last_round_ms: number | null = null;
  let last_mode: TradingMode & { updated_at: string } = {
    mode: "unreachable",
    markets: [],
    updated_at: new Date(0).toISOString(),
  };
  let round_running: Promise<void> = Promise.resolve();

  /** Sets the exchange's maintenance flag; the sentence for the update says what happened. */
  const switch_exchange = async (on: boolean): Promise<string> => {
    if (options.exchange_admin_socket === undefined)
      return " The exchange was not switched: the status service has no access to its admin socket.";
    try {
      const r = await admin_request(options.exchange_admin_socket, "POST", "/v1/exchange-flags", {
        maintenance: on,
      });
      if (r.status !== 200) return ` Switching the exchange failed: ${JSON.stringify(r.body).slice(0, 200)}.`;
      return on ? " The exchange is in maintenance mode." : " The exchange is back out of maintenance mode.";
    } catch (error) {
      return ` Switching the exchange failed: ${error instanceof Error ? error.message : String(error)}.`;
    }
  };
  /** Completes a window, switching nothing: its components back to the probes, the update published. */
  const finish = (m: MaintenanceRow, body: string, now_ms: number, reopen?: ReopeningState): void => {
    const still = new Set(
      store
        .maintenances("active")
        .filter((x) => x.id !== m.id)
        .flatMap((x) => x.components),
    );
    for (const id of m.components) if (!still.has(id)) store.set_override(id, null, now_ms);
    store.set_maintenance(m.id, "completed", body, now_ms, reopen);
    options.log(`status: maintenance ${m.id} completed`);
  };
  const exchange_socket = options.exchange_admin_socket;
  // a window's end reopens the exchange in stages when it says so (reopening.ts)
  const reopenings =
    exchange_socket === undefined
      ? null
      : new Reopenings({
          store,
          call: admin_call(exchange_socket),
          complete: finish,
          durable,
          log: options.log,
        });
  const maintenance = {
    /**
     * Ends a window (on time or early). A window that switched the exchange switches it back, at once
     * or, with reopen_stage_s, in stages (the window is "verifying" meanwhile; an operator's end of a
     * verifying window carries out the stages left at once). Returns the window's status after: still
     * "in_progress" when the exchange took no command (order entry paused; a round tries again). Throws
     * when a staged window's exchange does not answer (the window stays in progress).
     */
    complete: async (m: MaintenanceRow, body: string, now_ms: number): Promise<MaintenanceRow["status"]> => {
      if (m.status === "verifying" && reopenings !== null) {
        await reopenings.finish_now(m, body, now_ms);
        return "completed";
      }
      const others = store.maintenances("active").filter((x) => x.id !== m.id);
      const switches =
        m.switch_exchange && m.status !== "scheduled" && !others.some((x) => x.switch_exchange);
      if (switches && m.reopen_stage_s !== null && reopenings !== null) {
        const outcome = await reopenings.begin(m, body, now_ms);
        if (outcome === "paused") return "in_progress";
        if (outcome === "staged") return store.maintenance(m.id)?.status ?? "completed";
        finish(m, `${body} The exchange was already out of maintenance mode.`, now_ms);
        return "completed";
      }
      finish(m, `${body}${switches ? await switch_exchange(false) : ""}`, now_ms);
      return "completed";
    },
    /** Starts windows that are due, ends those that are over, carries staged reopenings on. */
    advance: async (now_ms: number): Promise<boolean> => {
      let changed = false;
      for (const m of store.maintenances("upcoming")) {
        const start_ms = Date.parse(m.scheduled_for);
        // the reminder, when asked for and its time came after the window was announced
        if (m.remind_minutes !== null && m.reminded_at === null && now_ms < start_ms) {
          const remind_ms = start_ms - m.remind_minutes * 60_000;
          if (now_ms >= remind_ms && remind_ms > Date.parse(m.created_at)) {
            const minutes = Math.max(1, Math.round((start_ms - now_ms) / 60_000));
            durable(() =>
              store.remind_maintenance(
                m.id,
                `Reminder: this maintenance starts in ${minutes} minute${minutes === 1 ? "" : "s"}, at ${m.scheduled_for.slice(11, 16)} UTC. ${m.body}`,
                now_ms,
              ),
            );
            options.log(`status: maintenance ${m.id}: reminder sent`);
            changed = true;
          }
        }
        if (start_ms > now_ms) continue;
        const note = m.switch_exchange ? await switch_exchange(true) : "";
        for (const id of m.components) store.set_override(id, "under_maintenance", now_ms);
        store.set_maintenance(m.id, "in_progress", `Scheduled maintenance has started.${note}`, now_ms);
        options.log(`status: maintenance ${m.id} started`);
        changed = true;
      }
      for (const m of store.maintenances("active")) {
        if (m.status !== "in_progress" || Date.parse(m.scheduled_until) > now_ms) continue;
        try {
          changed =
            (await maintenance.complete(m, "Scheduled maintenance is complete.", now_ms)) !== "in_progress" ||
            changed;
        } catch (error) {
          // the exchange is still in maintenance: the window goes on until the node answers
          options.log(
            `status: maintenance ${m.id}: the exchange did not answer at the window's end: ${String(error)}`,
          );
        }
      }
      if (reopenings !== null && (await reopenings.advance(now_ms))) changed = true;
      return changed;
    },
  };
  let bound_port = options.port;
  let serving = false;
  const page_info = (): PageInfo => ({
    name: options.name,
    url: options.public_url ?? `http://${options.host}:${bound_port}`,
  });
  const docs = documents(store, signer, () => last_mode, page_info, options.smtp_url !== undefined);
  let last_export_ms = 0;
  const push = new PushHub(() => JSON.stringify(summary_json(page_info(), store, signer)));
  /** After any change: live push now; the static export (on change, and once a minute). */
  const changed = (): void => {
    push.changed();
    export_now();
  };
  const export_now = (): void => {
    if (options.export_dir === undefined || !serving) return;
    try {
      export_static(options.export_dir, store, docs, page_info);
      last_export_ms = Date.now();
    } catch (error) {
      options.log(`status: static export to ${options.export_dir} failed: ${String(error)}`);
    }
  };
  const round = async (): Promise<void> => {
    // maintenance first: a window that starts now is what the probes should then see
    const maintenance_changed = await maintenance.advance(Date.now());
    const known = store
      .components()
      .filter((c) => c.id.startsWith("matching-"))
      .map((c) => c.name.replace(/^Matching /, ""));
    const { seen, mode } = await probe_round(watch, known, canary, reopenings?.planned() ?? null);
    if (stopped) return;
    last_mode = { ...mode, updated_at: new Date().toISOString() };
    const now = Date.now();
    // time since the last round is credited to what was shown during it (uptime bars)
    if (last_round_ms !== null) {
      const since_ms = now - last_round_ms;
      for (const c of store.components()) durable(() => store.add_time(c.id, c.status, now, since_ms));
    }
    last_round_ms = now;
    const actions = monitor.observe(now, seen);
    apply(now, actions);
    // the exchange's proof-of-reserves audits, as first seen (reserves.ts)
    try {
      await witness_reserves(store, watch, now, options.log);
    } catch (error) {
      options.log(`status: reading the reserves audits failed: ${String(error)}`);
    }
    rearm_ballast();
    // on every change, and at least once a minute (the uptime bars move with the clock)
    if (maintenance_changed || actions.length > 0) changed();
    else if (now - last_export_ms >= EXPORT_EVERY_MS) export_now();
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      round_running = round()
        .catch((error: unknown) => options.log(`status: probe round failed: ${String(error)}`))
        .finally(schedule);
    }, options.probe_interval_ms);
  };
  // the first round before serving: the page never shows an empty component list once it is up
  await round();
  schedule();

  const trust = options.trust_proxy === undefined ? null : trust_proxy(options.trust_proxy);
  const app = build_server(store, signer, docs, page_info, trust);
  if (options.smtp_url !== undefined) await register_subscriptions(app, store);
  push.register(app);
  register_reserves_witness(app, store);
  let admin: FastifyInstance | null = null;
  register_admin_page(app, store, () => {
    if (admin === null) throw new Error("admin interface not started");
    return admin;
  });
  // An outage brings everyone to the status page at once: a flood of idle connections (or one
  // address holding every slot) must not keep them out (server/connections.ts).
  const per_ip = options.connections_per_ip ?? CONNECTIONS_PER_IP_DEFAULT;
  cap_connections(app.server, per_ip, trust);
  await app.listen({ host: options.host, port: options.port });
  options.log(caps_line(app.server, per_ip, "status page"));
  const port = (app.server.address() as { port: number }).port;
  bound_port = port;
  serving = true;
  export_now();
  const admin_socket = join(options.data_dir, STATUS_ADMIN_SOCKET);
  const mailer =
    options.smtp_url === undefined
      ? null
      : smtp_mailer(options.smtp_url, options.mail_from ?? `${options.name} status <status@localhost>`);
  const telegram =
    options.telegram_token === undefined
      ? null
      : {
          config: {
            base_url: (options.telegram_api ?? TELEGRAM_API).replace(/\/+$/, ""),
            token: options.telegram_token,
          },
          text: (n: NoticeRow) => {
            const payload = notice_payload(n, store, signer, page_info());
            if (payload === null) return null;
            const update = (JSON.parse(payload) as { update: Parameters<typeof update_text>[2] }).update;
            return update_text(page_info(), n.kind, update, signer.key_id);
          },
        };
  const notifier = new Notifier(store, (n) => notice_payload(n, store, signer, page_info()), {
    mailer,
    telegram,
    email: (n) => {
      const s = store.email_subscriber(n.target_id);
      if (s === null || s.unsubscribed_at !== null) return null;
      if (n.kind === "confirm") return s.confirmed_at === null ? confirmation_email(page_info(), s) : null;
      const payload = notice_payload(n, store, signer, page_info());
      return payload === null ? null : update_email(page_info(), s, n, payload, signer.key_id);
    },
    allow_internal: options.allow_internal_webhooks === true,
    retry_schedule_ms: options.retry_schedule_ms ?? RETRY_SCHEDULE_MS,
    timeout_ms: DELIVERY_TIMEOUT_MS,
    log: options.log,
  });
  notifier.start();
  admin = await start_status_admin(store, admin_socket, Date.now, changed, maintenance.complete, {
    allow_internal_webhooks: options.allow_internal_webhooks === true,
  });
  options.log(`status: serving http://${options.host}:${port}, watching ${watch.join(", ")}`);

  return {
    port,
    admin_socket,
    store,
    close: async () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      await round_running;
      await notifier.stop();
      mailer?.close();
      await admin?.close();
      push.close();
      await app.close();
      store.close();
      release();
    },
  };
}

/** Subscription requests per IP per minute: the form cannot be used to mail-bomb anyone. */
const SUBSCRIBE_PER_MINUTE_MAX = 10;

/**
 * Public email subscription (double opt-in): POST /api/v2/subscriptions (JSON or the page's form),
 * GET /subscriptions/confirm, GET (a page with a button) and POST (one-click, RFC 8058)
 * /subscriptions/unsubscribe. Answers never say whether an address was already subscribed.
 */
async function register_subscriptions(app: FastifyInstance, store: StatusStore): Promise<void> {
  const recent = new Map<string, { start_ms: number; count: number }>();
  const message = (title: string, text: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${html_escape(title)}</title></head><body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem"><main><h1>${html_escape(title)}</h1><p>${html_escape(text)}</p><p><a href="/">Back to the status page</a></p></main></body></html>`;
  app.post<{ Body: { email?: unknown } }>("/api/v2/subscriptions", async (request, reply) => {
    const form = (request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
    const now = Date.now();
    const w = recent.get(request.ip);
    if (w === undefined || now - w.start_ms >= 60_000) {
      if (recent.size >= 100_000) recent.clear();
      recent.set(request.ip, { start_ms: now, count: 1 });
    } else if (++w.count > SUBSCRIBE_PER_MINUTE_MAX)
      return reply
        .code(429)
        .header("retry-after", "60")
        .send({ error: "too many subscription requests; try again in a minute" });
    const email = typeof request.body?.email === "string" ? normal_email(request.body.email) : null;
    if (email === null) {
      if (form)
        return reply
          .code(400)
          .type("text/html; charset=utf-8")
          .send(message("Not an email address", "Please go back and check the address."));
      return reply.code(400).send({ error: "email: not an address we accept" });
    }
    store.request_email_subscription(email, now);
    const text =
      "If the address can receive mail, a confirmation link is on its way. Nothing is sent until it is opened.";
    if (form) return reply.code(202).type("text/html; charset=utf-8").send(message("Check your inbox", text));
    return reply.code(202).send({ status: "confirmation sent", message: text });
  });
  const token_of = (q: unknown): string | null => {
    const t = (q as { token?: unknown } | undefined)?.token;
    return typeof t === "string" && /^[A-Za-z0-9_-]{16,64}$/.test(t) ? t : null;
  };
  app.get("/subscriptions/confirm", async (request, reply) => {
    const token = token_of(request.query);
    const ok = token !== null && store.confirm_email(token, Date.now());
    reply.code(ok ? 200 : 404).type("text/html; charset=utf-8");
    return ok
      ? message(
          "Subscribed",
          "You will receive every incident and maintenance update. Each email has a link to unsubscribe.",
        )
      : message("Link not valid", "This confirmation link is unknown or was already used.");
  });
  app.get("/subscriptions/unsubscribe", async (request, reply) => {
    const token = token_of(request.query);
    reply.type("text/html; charset=utf-8");
    if (token === null) return reply.code(404).send(message("Link not valid", "This link is unknown."));
    // a page with a button, not an immediate unsubscribe: mail scanners open links too
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head><body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem"><main><h1>Unsubscribe</h1><form method="post" action="/subscriptions/unsubscribe?token=${encodeURIComponent(token)}"><button type="submit">Stop sending me status emails</button></form></main></body></html>`;
  });
  app.post("/subscriptions/unsubscribe", async (request, reply) => {
    const token = token_of(request.query);
    const ok = token !== null && store.unsubscribe_email(token, Date.now());
    reply.code(ok ? 200 : 404).type("text/html; charset=utf-8");
    return ok
      ? message("Unsubscribed", "No more status emails will be sent to this address.")
      : message("Link not valid", "This link is unknown or was already used.");
  });
}

/** A notice's body: the update it announces (signed), its incident or maintenance, the page; signed as a whole. */
function notice_payload(n: NoticeRow, store: StatusStore, signer: Signer, info: PageInfo): string | null {
  const by_id = new Map(store.components().map((c) => [c.id, c]));
  if (n.kind === "incident") {
    const incident = store.incident(n.parent_id);
    if (incident === null) return null;
    const json = incident_json(info, incident, by_id, signer);
    const update = json.incident_updates.find((u) => u.id === n.update_id);
    if (update === undefined) return null;
    return JSON.stringify(
      signer.sign({
        type: "incident.updated",
        page: { id: PAGE_ID, name: info.name, url: info.url },
        update,
        incident: json,
      }),
    );
  }
  const m = store.maintenance(n.parent_id);
  if (m === null) return null;
  const json = maintenance_json(info, m, by_id, signer);
  const update = json.incident_updates.find((u) => u.id === n.update_id);
  if (update === undefined) return null;
  return JSON.stringify(
    signer.sign({
      type: "maintenance.updated",
      page: { id: PAGE_ID, name: info.name, url: info.url },
      update,
      scheduled_maintenance: json,
    }),
  );
}

/** Every document the service publishes, by path: the server serves them, the export writes them. */
function documents(
  store: StatusStore,
  signer: Signer,
  mode: () => TradingMode & { updated_at: string },
  info: () => PageInfo,
  email_subscriptions: boolean,
): Map<string, { type: string; body: () => string }> {
  const docs = new Map<string, { type: string; body: () => string }>();
  const json = (path: string, body: () => unknown) =>
    docs.set(path, { type: "application/json; charset=utf-8", body: () => JSON.stringify(body()) });
  const components = () => store.components();
  const by_id = () => new Map(components().map((c) => [c.id, c]));
  json("/api/v2/summary.json", () => summary_json(info(), store, signer));
  json("/api/v2/signing-key.json", () => signing_key_json(signer));
  // Kraken-style trading mode, for bots deciding whether to trade: what the exchange said in the
  // last probe round, with the open incidents (signed, like everything published)
  json("/api/v2/trading-mode.json", () =>
    signer.sign({
      ...mode(),
      scheduled_maintenances: [...store.maintenances("active"), ...store.maintenances("upcoming")].map(
        (m) => ({
          id: m.id,
          name: m.name,
          status: m.status,
          scheduled_for: m.scheduled_for,
          scheduled_until: m.scheduled_until,
        }),
      ),
      incidents: store
        .incidents(INCIDENTS_LISTED, true)
        .map((i) => ({ id: i.id, name: i.name, status: i.status, impact: i.impact })),
    }),
  );
  json("/api/v2/status.json", () => ({
    page: page_json(info(), store),
    status: overall(components().map((c) => c.status)),
  }));
  json("/api/v2/components.json", () => ({
    page: page_json(info(), store),
    components: components().map(component_json),
  }));
  json("/api/v2/incidents.json", () => ({
    page: page_json(info(), store),
    incidents: store.incidents(INCIDENTS_LISTED, false).map((i) => incident_json(info(), i, by_id(), signer)),
  }));
  json("/api/v2/incidents/unresolved.json", () => ({
    page: page_json(info(), store),
    incidents: store.incidents(INCIDENTS_LISTED, true).map((i) => incident_json(info(), i, by_id(), signer)),
  }));
  for (const [path, which] of [
    ["/api/v2/scheduled-maintenances.json", "all"],
    ["/api/v2/scheduled-maintenances/upcoming.json", "upcoming"],
    ["/api/v2/scheduled-maintenances/active.json", "active"],
  ] as const)
    json(path, () => ({
      page: page_json(info(), store),
      scheduled_maintenances: store
        .maintenances(which)
        .map((m) => maintenance_json(info(), m, by_id(), signer)),
    }));
  docs.set("/", {
    type: "text/html; charset=utf-8",
    body: () => render_page(info(), store, Date.now(), signer, email_subscriptions),
  });
  docs.set("/badge.svg", {
    type: "image/svg+xml",
    body: () => {
      const s = overall(components().map((c) => c.status));
      return badge(s.indicator, s.description);
    },
  });
  docs.set("/history.atom", {
    type: "application/atom+xml; charset=utf-8",
    body: () => atom_feed(info(), store),
  });
  docs.set("/history.rss", {
    type: "application/rss+xml; charset=utf-8",
    body: () => rss_feed(info(), store),
  });
  return docs;
}

function build_server(
  store: StatusStore,
  signer: Signer,
  docs: Map<string, { type: string; body: () => string }>,
  info: () => PageInfo,
  trust: TrustProxy | null,
): FastifyInstance {
  const app = Fastify({
    logger: false,
    // request.ip (rate limits on subscribing and on the admin login): through trusted proxies only
    ...(trust === null ? {} : { trustProxy: trust }),
    bodyLimit: VERIFY_BODY_MAX,
    // as the exchange's public server: a request trickled in cannot hold a connection for ever (the
    // page must stay reachable while something is wrong); given at construction, where Node applies it
    requestTimeout: REQUEST_TIMEOUT_MS,
    http: { requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
  });
  const public_key = createPublicKey(signer.public_pem);
  // form posts (the verify box, the subscribe form, one-click unsubscribe) without JavaScript
  void app.register(formbody, { bodyLimit: VERIFY_BODY_MAX });
  for (const [path, doc] of docs)
    app.get(path, async (request, reply) => {
      const body = doc.body();
      // ETag: feed readers and pollers ask "changed?" and get a 304 when not
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
      reply
        .header("etag", etag)
        .header("cache-control", "no-cache")
        .header("access-control-allow-origin", "*");
      if (request.headers["if-none-match"] === etag) return reply.code(304).send();
      reply.type(doc.type);
      return body;
    });
  // the page's verify box (works without JavaScript): which signed objects in the pasted JSON verify
  app.post<{ Body: { json?: unknown } }>("/verify", async (request, reply) => {
    let results: { path: string; ok: boolean }[] | null = null;
    try {
      results =
        typeof request.body?.json === "string"
          ? verify_document(JSON.parse(request.body.json), public_key)
          : null;
    } catch {
      results = null;
    }
    reply.type("text/html; charset=utf-8").header("cache-control", "no-store");
    return render_verify_page(results, signer.key_id);
  });
  // one incident, signed like the lists (Telegram messages link here)
  app.get<{ Params: { file: string } }>("/api/v2/incidents/:file", async (request, reply) => {
    const m = /^([a-z0-9]{1,32})\.json$/.exec(request.params.file);
    const incident = m === null ? null : store.incident(m[1]);
    if (incident === null) return reply.code(404).send({ error: "not found" });
    reply.header("cache-control", "no-cache").header("access-control-allow-origin", "*");
    return {
      page: page_json(info(), store),
      incident: incident_json(info(), incident, new Map(store.components().map((c) => [c.id, c])), signer),
    };
  });
  app.get<{ Params: { id: string } }>("/incidents/:id", async (request, reply) => {
    const incident = /^[a-z0-9]{1,32}$/.test(request.params.id) ? store.incident(request.params.id) : null;
    reply.header("cache-control", "no-cache");
    if (incident === null) return reply.code(404).type("text/plain; charset=utf-8").send("no such incident");
    reply.type("text/html; charset=utf-8");
    return render_incident_page(info(), incident);
  });
  app.setNotFoundHandler((_request, reply) => void reply.code(404).send({ error: "not found" }));
  return app;
}

/**
 * Writes every published document under `dir` (index.html for "/", incidents/<id>/index.html),
 * each atomically (temporary file, then rename), so any static host or CDN can keep serving the
 * page if this process dies.
 */
function export_static(
  dir: string,
  store: StatusStore,
  docs: Map<string, { type: string; body: () => string }>,
  info: () => PageInfo,
): void {
  const write = (relative: string, body: string): void => {
    const file = join(dir, relative);
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.tmp-${process.pid}`;
    writeFileSync(temp, body);
    renameSync(temp, file);
  };
  for (const [path, doc] of docs) write(path === "/" ? "index.html" : path.slice(1), doc.body());
  for (const incident of store.incidents(INCIDENTS_LISTED, false))
    write(join("incidents", incident.id, "index.html"), render_incident_page(info(), incident));
}

const BADGE_COLOUR: Record<string, string> = {
  none: "#1f883d",
  minor: "#bf8700",
  major: "#d1570a",
  critical: "#cf222e",
  maintenance: "#0969da",
};

function badge(indicator: string, description: string): string {
  const text = description.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const width = 60 + 7 * text.length;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width + 50}" height="20" role="img" aria-label="status: ${text}"><title>status: ${text}</title><rect width="50" height="20" fill="#555"/><rect x="50" width="${width}" height="20" fill="${BADGE_COLOUR[indicator] ?? "#555"}"/><g fill="#fff" font-family="Verdana,sans-serif" font-size="11"><text x="6" y="14">status</text><text x="56" y="14">${text}</text></g></svg>`;
}
