/**
 * The status service's own store (SQLite, `STATUS_DIR/status.sqlite`): components, incidents and
 * their updates, and per-day time spent in each status for the uptime bars. Separate from every
 * exchange file, so it keeps serving when the exchange's disk or processes are gone.
 */
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import type { ReopenPlan } from "../admin/reopen.js";
import { open_or_set_aside } from "../node/data_dir.js";
import type {
  AutoIncident,
  ComponentChange,
  ComponentDef,
  ComponentStatus,
  Impact,
  IncidentStatus,
} from "./monitor.js";

export interface ComponentRow extends ComponentDef {
  /** What the page shows: the operator's override if there is one, else the automatic status. */
  status: ComponentStatus;
  /** What the probes and the monitor say. */
  auto_status: ComponentStatus;
  override: ComponentStatus | null;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface UpdateRow {
  id: string;
  incident_id: string;
  status: IncidentStatus;
  body: string;
  created_at: string;
  affected: ComponentChange[];
}

export interface IncidentRow {
  id: string;
  name: string;
  status: IncidentStatus;
  impact: Impact;
  auto_key: string | null;
  components: string[];
  created_at: string;
  updated_at: string;
  monitoring_at: string | null;
  resolved_at: string | null;
  recovered_ms: number | null;
  updates: UpdateRow[];
}

export type MaintenanceStatus = "scheduled" | "in_progress" | "verifying" | "completed";

export interface MaintenanceRow {
  id: string;
  name: string;
  body: string;
  status: MaintenanceStatus;
  scheduled_for: string;
  scheduled_until: string;
  components: string[];
  /** Whether the window switches the exchange into and out of maintenance (its admin socket). */
  switch_exchange: boolean;
  /**
   * With switch_exchange: seconds between the stages of the exchange's reopening at the window's end
   * (src/status/reopening.ts); null: maintenance simply ends, everything at once.
   */
  reopen_stage_s: number | null;
  /** The staged reopening under way or done (the window is "verifying" while it runs). */
  reopen: ReopeningState | null;
  /** Subscribers are reminded this many minutes before the start (Statuspage's remind-prior); null: not. */
  remind_minutes: number | null;
  /** When the reminder went out, or null. */
  reminded_at: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
  updates: { id: string; status: MaintenanceStatus; body: string; created_at: string }[];
}

/** A staged reopening in progress, kept with its window so that a restarted service carries it on. */
export interface ReopeningState {
  plan: ReopenPlan;
  /** Index into plan.stages of the last stage carried out (-1: none). */
  done: number;
  /** When the next stage is due (epoch ms). */
  next_ms: number;
  /** Why it stopped short (someone else changed what it set; an operator finishes by hand), or null. */
  stopped: string | null;
}

export type NoticeKind = "incident" | "maintenance" | "confirm";

export interface EmailSubscriberRow {
  id: string;
  email: string;
  token: string;
  requested_at: string;
  confirmed_at: string | null;
  unsubscribed_at: string | null;
  created_at: string;
}

export interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  created_at: string;
  disabled_at: string | null;
  disabled_reason: string | null;
}

export interface NoticeRow {
  id: string;
  channel: "webhook" | "email" | "telegram";
  target_id: string;
  kind: NoticeKind;
  parent_id: string;
  update_id: string;
  attempts: number;
  next_ms: number;
  state: "pending" | "delivered" | "failed";
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface DayRow {
  component_id: string;
  day: string;
  up_ms: number;
  degraded_ms: number;
  down_ms: number;
  maintenance_ms: number;
}

const new_id = (): string => randomBytes(9).toString("base64url").toLowerCase().replace(/[-_]/g, "x");
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * How long a write waits for a lock another process holds (an operator's sqlite3 shell): the service
 * has one thread, and a page that stops answering for SQLite's 5 s default at each write is down for
 * its readers. A round whose write times out is logged and the next one tries again.
 */
const BUSY_TIMEOUT_MS = 250;

/** A write refused because the disk is full (SQLite's SQLITE_FULL). */
export const disk_full = (error: unknown): boolean => (error as { code?: string }).code === "SQLITE_FULL";

/** A proof-of-reserves audit as the status service first saw it (reserves.ts). */
export interface ReservesWitnessed {
  audit: number;
  root: string;
  /** The exchange's JSON for it (GET /holdfast/v1/reserves), as first seen. */
  body: string;
  seen_at: string;
  seen_from: string;
  /** A different root for the same audit, seen later from some node, or null. */
  conflict: string | null;
}

export class StatusStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    try {
      this.init_schema();
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /** Settings and tables; throws for a file SQLite cannot read as a database (see open_status_store). */
  private init_schema(): void {
    this.db.pragma("journal_mode = WAL");
    // FULL: an incident or update that was published must survive a power loss
    this.db.pragma("synchronous = FULL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS components (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, position INTEGER NOT NULL, status TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS incidents (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, impact TEXT NOT NULL,
        auto_key TEXT UNIQUE, components TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        monitoring_at TEXT, resolved_at TEXT, recovered_ms INTEGER);
      CREATE TABLE IF NOT EXISTS incident_updates (
        id TEXT PRIMARY KEY, incident_id TEXT NOT NULL REFERENCES incidents(id), status TEXT NOT NULL,
        body TEXT NOT NULL, created_at TEXT NOT NULL, affected TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS maintenances (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
        scheduled_for TEXT NOT NULL, scheduled_until TEXT NOT NULL, components TEXT NOT NULL,
        switch_exchange INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        started_at TEXT, completed_at TEXT);
      CREATE TABLE IF NOT EXISTS maintenance_updates (
        id TEXT PRIMARY KEY, maintenance_id TEXT NOT NULL REFERENCES maintenances(id), status TEXT NOT NULL,
        body TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS webhooks (
        id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, created_at TEXT NOT NULL,
        disabled_at TEXT, disabled_reason TEXT);
      -- Notices waiting to go out: written in the same transaction as the update they announce, so an
      -- update is never published without its notices; id is the idempotency key receivers see.
      CREATE TABLE IF NOT EXISTS outbox (
        id TEXT PRIMARY KEY, channel TEXT NOT NULL, target_id TEXT NOT NULL, kind TEXT NOT NULL,
        parent_id TEXT NOT NULL, update_id TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_ms INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'pending', last_error TEXT,
        created_at TEXT NOT NULL, delivered_at TEXT);
      CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_ms);
      CREATE TABLE IF NOT EXISTS email_subscribers (
        id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE, requested_at TEXT NOT NULL,
        confirmed_at TEXT, unsubscribed_at TEXT, created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS telegram_chats (chat_id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS admin_users (username TEXT PRIMARY KEY, hash TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS admin_sessions (
        token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL, expires_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS overrides (component_id TEXT PRIMARY KEY, status TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS reserves_audits (
        audit INTEGER PRIMARY KEY, root TEXT NOT NULL, body TEXT NOT NULL, seen_at TEXT NOT NULL,
        seen_from TEXT NOT NULL, conflict TEXT);
      CREATE INDEX IF NOT EXISTS updates_by_incident ON incident_updates (incident_id, created_at);
      CREATE TABLE IF NOT EXISTS days (
        component_id TEXT NOT NULL, day TEXT NOT NULL, up_ms INTEGER NOT NULL DEFAULT 0,
        degraded_ms INTEGER NOT NULL DEFAULT 0, down_ms INTEGER NOT NULL DEFAULT 0,
        maintenance_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (component_id, day));
    `);
    // columns added since the table was first made (a store written by an older version gains them)
    const columns = new Set(
      (this.db.prepare("PRAGMA table_info(maintenances)").all() as { name: string }[]).map((c) => c.name),
    );
    if (!columns.has("reopen_stage_s"))
      this.db.exec("ALTER TABLE maintenances ADD COLUMN reopen_stage_s INTEGER");
    if (!columns.has("reopen")) this.db.exec("ALTER TABLE maintenances ADD COLUMN reopen TEXT");
    if (!columns.has("remind_minutes"))
      this.db.exec("ALTER TABLE maintenances ADD COLUMN remind_minutes INTEGER");
    if (!columns.has("reminded_at")) this.db.exec("ALTER TABLE maintenances ADD COLUMN reminded_at TEXT");
  }

  /**
   * Proof-of-reserves audits as first seen from the exchange (status/reserves.ts): never overwritten.
   * A root published later that differs is kept as the audit's conflict, the first one only.
   */
  reserves_seen(
    audit: number,
    root: string,
    body: string,
    from: string,
    now_ms: number,
  ): "new" | "same" | "conflict" {
    const row = this.db.prepare("SELECT root, conflict FROM reserves_audits WHERE audit = ?").get(audit) as
      | { root: string; conflict: string | null }
      | undefined;
    if (row === undefined) {
      this.db
        .prepare("INSERT INTO reserves_audits VALUES (?,?,?,?,?,NULL)")
        .run(audit, root, body, new Date(now_ms).toISOString(), from);
      return "new";
    }
    if (row.root === root) return "same";
    if (row.conflict === null)
      this.db
        .prepare("UPDATE reserves_audits SET conflict = ? WHERE audit = ?")
        .run(`${from} published root ${root} at ${new Date(now_ms).toISOString()}`, audit);
    return "conflict";
  }

  /** An audit as witnessed (the latest when `audit` is null), or null. */
  reserves_audit(audit: number | null): ReservesWitnessed | null {
    const row = (
      audit === null
        ? this.db.prepare("SELECT * FROM reserves_audits ORDER BY audit DESC LIMIT 1").get()
        : this.db.prepare("SELECT * FROM reserves_audits WHERE audit = ?").get(audit)
    ) as ReservesWitnessed | undefined;
    return row ?? null;
  }

  components(): ComponentRow[] {
    return this.db
      .prepare(
        `SELECT c.id, c.name, c.position, c.description, c.created_at, c.updated_at, c.status AS auto_status,
           o.status AS override, COALESCE(o.status, c.status) AS status
         FROM components c LEFT JOIN overrides o ON o.component_id = c.id ORDER BY c.position, c.id`,
      )
      .all() as ComponentRow[];
  }

  /** The operator's word on a component, until cleared (null): shown instead of the automatic status. */
  set_override(id: string, status: ComponentStatus | null, now_ms: number): boolean {
    if (this.db.prepare("SELECT 1 FROM components WHERE id = ?").get(id) === undefined) return false;
    this.db.transaction(() => {
      if (status === null) this.db.prepare("DELETE FROM overrides WHERE component_id = ?").run(id);
      else this.db.prepare("INSERT OR REPLACE INTO overrides VALUES (?, ?)").run(id, status);
      this.db.prepare("UPDATE components SET updated_at = ? WHERE id = ?").run(iso(now_ms), id);
    })();
    return true;
  }

  add_component(def: ComponentDef, status: ComponentStatus, now_ms: number): void {
    this.db
      .prepare(
        "INSERT OR IGNORE INTO components (id, name, position, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(def.id, def.name, def.position, status, iso(now_ms), iso(now_ms));
  }

  set_component(id: string, status: ComponentStatus, now_ms: number): void {
    this.db
      .prepare("UPDATE components SET status = ?, updated_at = ? WHERE id = ?")
      .run(status, iso(now_ms), id);
  }

  /** Adds `ms` of time in `status` to a component's day (UTC). */
  add_time(id: string, status: ComponentStatus, now_ms: number, ms: number): void {
    const column =
      status === "operational"
        ? "up_ms"
        : status === "under_maintenance"
          ? "maintenance_ms"
          : status === "major_outage"
            ? "down_ms"
            : "degraded_ms";
    this.db
      .prepare(
        `INSERT INTO days (component_id, day, ${column}) VALUES (?, ?, ?)
         ON CONFLICT (component_id, day) DO UPDATE SET ${column} = ${column} + excluded.${column}`,
      )
      .run(id, iso(now_ms).slice(0, 10), Math.round(ms));
  }

  days(since_day: string): DayRow[] {
    return this.db.prepare("SELECT * FROM days WHERE day >= ? ORDER BY day").all(since_day) as DayRow[];
  }

  open_incident(
    o: {
      name: string;
      impact: Impact;
      auto_key: string | null;
      components: string[];
      status?: IncidentStatus;
    },
    body: string,
    affected: ComponentChange[],
    now_ms: number,
  ): IncidentRow {
    const id = new_id();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO incidents (id, name, status, impact, auto_key, components, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          o.name,
          o.status ?? "investigating",
          o.impact,
          o.auto_key,
          JSON.stringify(o.components),
          iso(now_ms),
          iso(now_ms),
        );
      this.insert_update(id, o.status ?? "investigating", body, affected, now_ms);
    })();
    return this.incident(id) as IncidentRow;
  }

  /** A new update on an incident; moves the incident to `status`. */
  update_incident(
    id: string,
    status: IncidentStatus,
    body: string,
    affected: ComponentChange[],
    now_ms: number,
    recovered_ms: number | null = null,
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE incidents SET status = ?, updated_at = ?, recovered_ms = ?,
             monitoring_at = CASE WHEN ? = 'monitoring' THEN ? ELSE monitoring_at END,
             resolved_at = CASE WHEN ? = 'resolved' THEN ? ELSE resolved_at END,
             auto_key = CASE WHEN ? = 'resolved' THEN NULL ELSE auto_key END
           WHERE id = ?`,
        )
        .run(status, iso(now_ms), recovered_ms, status, iso(now_ms), status, iso(now_ms), status, id);
      this.insert_update(id, status, body, affected, now_ms);
    })();
  }

  private insert_update(
    incident_id: string,
    status: IncidentStatus,
    body: string,
    affected: ComponentChange[],
    now_ms: number,
  ): void {
    const update_id = new_id();
    this.db
      .prepare("INSERT INTO incident_updates VALUES (?, ?, ?, ?, ?, ?)")
      .run(update_id, incident_id, status, body, iso(now_ms), JSON.stringify(affected));
    this.enqueue("incident", incident_id, update_id, now_ms);
  }

  incident(id: string): IncidentRow | null {
    const row = this.db.prepare("SELECT * FROM incidents WHERE id = ?").get(id) as
      | Record<string, unknown>
      | undefined;
    return row === undefined ? null : this.hydrate(row);
  }

  by_auto_key(key: string): IncidentRow | null {
    const row = this.db.prepare("SELECT * FROM incidents WHERE auto_key = ?").get(key) as
      | Record<string, unknown>
      | undefined;
    return row === undefined ? null : this.hydrate(row);
  }

  /** Newest first; `unresolved` only those not resolved (or postmortem). */
  incidents(limit: number, unresolved: boolean): IncidentRow[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM incidents ${unresolved ? "WHERE status NOT IN ('resolved', 'postmortem')" : ""}
         ORDER BY created_at DESC, rowid DESC LIMIT ?`,
      )
      .all(limit) as Record<string, unknown>[];
    return rows.map((r) => this.hydrate(r));
  }

  /** The newest incident updates across all incidents, with their incident's name (for the feeds). */
  recent_updates(limit: number): (UpdateRow & { incident_name: string; impact: Impact })[] {
    return (
      this.db
        .prepare(
          `SELECT u.*, i.name AS incident_name, i.impact AS impact FROM incident_updates u
           JOIN incidents i ON i.id = u.incident_id ORDER BY u.created_at DESC, u.rowid DESC LIMIT ?`,
        )
        .all(limit) as Record<string, unknown>[]
    ).map(
      (u) =>
        ({ ...u, affected: JSON.parse(u.affected as string) as ComponentChange[] }) as UpdateRow & {
          incident_name: string;
          impact: Impact;
        },
    );
  }

  /** The automatic incidents the monitor follows (for a restart). */
  auto_incidents(): AutoIncident[] {
    return this.incidents(1000, true)
      .filter((i) => i.auto_key !== null)
      .map((i) => ({
        key: i.auto_key as string,
        components: i.components,
        status: i.status === "monitoring" ? "monitoring" : "investigating",
        recovered_ms: i.recovered_ms,
      }));
  }

  private hydrate(row: Record<string, unknown>): IncidentRow {
    const updates = (
      this.db
        .prepare("SELECT * FROM incident_updates WHERE incident_id = ? ORDER BY created_at DESC, rowid DESC")
        .all(row.id) as Record<string, unknown>[]
    ).map((u) => ({ ...u, affected: JSON.parse(u.affected as string) as ComponentChange[] }) as UpdateRow);
    return {
      ...(row as unknown as IncidentRow),
      components: JSON.parse(row.components as string) as string[],
      updates,
    };
  }

  schedule_maintenance(
    m: {
      name: string;
      body: string;
      start_ms: number;
      end_ms: number;
      components: string[];
      switch_exchange: boolean;
      reopen_stage_s?: number | null;
      remind_minutes?: number | null;
    },
    now_ms: number,
  ): MaintenanceRow {
    const id = new_id();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO maintenances (id, name, body, status, scheduled_for, scheduled_until, components,
             switch_exchange, reopen_stage_s, remind_minutes, created_at, updated_at)
             VALUES (?, ?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          m.name,
          m.body,
          iso(m.start_ms),
          iso(m.end_ms),
          JSON.stringify(m.components),
          m.switch_exchange ? 1 : 0,
          m.reopen_stage_s ?? null,
          m.remind_minutes ?? null,
          iso(now_ms),
          iso(now_ms),
        );
      this.maintenance_update(id, "scheduled", m.body, now_ms);
    })();
    return this.maintenance(id) as MaintenanceRow;
  }

  /**
   * Moves a maintenance to `status` with an update; `reopen`, when given, is stored in the same
   * transaction (a stage carried out is never published without its state, nor the reverse).
   */
  set_maintenance(
    id: string,
    status: MaintenanceStatus,
    body: string,
    now_ms: number,
    reopen?: ReopeningState,
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE maintenances SET status = ?, updated_at = ?,
             started_at = CASE WHEN ? = 'in_progress' THEN ? ELSE started_at END,
             completed_at = CASE WHEN ? = 'completed' THEN ? ELSE completed_at END WHERE id = ?`,
        )
        .run(status, iso(now_ms), status, iso(now_ms), status, iso(now_ms), id);
      if (reopen !== undefined)
        this.db.prepare("UPDATE maintenances SET reopen = ? WHERE id = ?").run(JSON.stringify(reopen), id);
      this.maintenance_update(id, status, body, now_ms);
    })();
  }

  /** The reminder before a window's start: an update of its own (still "scheduled"), sent to every subscriber. */
  remind_maintenance(id: string, body: string, now_ms: number): void {
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE maintenances SET reminded_at = ?, updated_at = ? WHERE id = ?")
        .run(iso(now_ms), iso(now_ms), id);
      this.maintenance_update(id, "scheduled", body, now_ms);
    })();
  }

  /** Stores a staged reopening's state without an update (a wait moved, nothing published). */
  set_reopening(id: string, reopen: ReopeningState): void {
    this.db.prepare("UPDATE maintenances SET reopen = ? WHERE id = ?").run(JSON.stringify(reopen), id);
  }

  private maintenance_update(id: string, status: MaintenanceStatus, body: string, now_ms: number): void {
    const update_id = new_id();
    this.db
      .prepare("INSERT INTO maintenance_updates VALUES (?, ?, ?, ?, ?)")
      .run(update_id, id, status, body, iso(now_ms));
    this.enqueue("maintenance", id, update_id, now_ms);
  }

  /** One notice per active subscriber; callers are inside the update's transaction. */
  private enqueue(kind: NoticeKind, parent_id: string, update_id: string, now_ms: number): void {
    const insert = this.db.prepare(
      `INSERT INTO outbox (id, channel, target_id, kind, parent_id, update_id, next_ms, created_at)
       VALUES (?, 'webhook', ?, ?, ?, ?, ?, ?)`,
    );
    for (const w of this.db.prepare("SELECT id FROM webhooks WHERE disabled_at IS NULL").all() as {
      id: string;
    }[])
      insert.run(`msg_${new_id()}`, w.id, kind, parent_id, update_id, now_ms, iso(now_ms));
    const email = this.db.prepare(
      `INSERT INTO outbox (id, channel, target_id, kind, parent_id, update_id, next_ms, created_at)
       VALUES (?, 'email', ?, ?, ?, ?, ?, ?)`,
    );
    for (const s of this.db
      .prepare("SELECT id FROM email_subscribers WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL")
      .all() as { id: string }[])
      email.run(`msg_${new_id()}`, s.id, kind, parent_id, update_id, now_ms, iso(now_ms));
    const telegram = this.db.prepare(
      `INSERT INTO outbox (id, channel, target_id, kind, parent_id, update_id, next_ms, created_at)
       VALUES (?, 'telegram', ?, ?, ?, ?, ?, ?)`,
    );
    for (const c of this.db.prepare("SELECT chat_id FROM telegram_chats").all() as { chat_id: string }[])
      telegram.run(`msg_${new_id()}`, c.chat_id, kind, parent_id, update_id, now_ms, iso(now_ms));
  }

  /** Telegram chats (channels, groups) that get every update; the bot's token is configuration. */
  add_telegram_chat(chat_id: string, now_ms: number): void {
    this.db.prepare("INSERT OR IGNORE INTO telegram_chats VALUES (?, ?)").run(chat_id, iso(now_ms));
  }

  remove_telegram_chat(chat_id: string): boolean {
    return this.db.transaction(() => {
      const gone = this.db.prepare("DELETE FROM telegram_chats WHERE chat_id = ?").run(chat_id).changes > 0;
      this.db
        .prepare(
          "UPDATE outbox SET state = 'failed', last_error = 'chat removed' WHERE channel = 'telegram' AND target_id = ? AND state = 'pending'",
        )
        .run(chat_id);
      return gone;
    })();
  }

  telegram_chats(): string[] {
    return (
      this.db.prepare("SELECT chat_id FROM telegram_chats ORDER BY created_at").all() as { chat_id: string }[]
    ).map((c) => c.chat_id);
  }

  /**
   * A subscription request for `email` (double opt-in): a new or lapsed address gets a fresh token
   * and a confirmation notice, in one transaction. An address already confirmed changes nothing, and
   * the caller answers the same either way (no way to learn who subscribes).
   */
  request_email_subscription(email: string, now_ms: number): void {
    this.db.transaction(() => {
      const row = this.db.prepare("SELECT * FROM email_subscribers WHERE email = ?").get(email) as
        | EmailSubscriberRow
        | undefined;
      if (row !== undefined && row.confirmed_at !== null && row.unsubscribed_at === null) return;
      // one confirmation a minute per address at most: the form cannot be used to flood someone
      if (row !== undefined && row.unsubscribed_at === null && now_ms - Date.parse(row.requested_at) < 60_000)
        return;
      const token = randomBytes(24).toString("base64url");
      let id: string;
      if (row === undefined) {
        id = `sub_${new_id()}`;
        this.db
          .prepare(
            "INSERT INTO email_subscribers (id, email, token, requested_at, created_at) VALUES (?, ?, ?, ?, ?)",
          )
          .run(id, email, token, iso(now_ms), iso(now_ms));
      } else {
        id = row.id;
        this.db
          .prepare(
            "UPDATE email_subscribers SET token = ?, requested_at = ?, confirmed_at = NULL, unsubscribed_at = NULL WHERE id = ?",
          )
          .run(token, iso(now_ms), id);
      }
      this.db
        .prepare(
          `INSERT INTO outbox (id, channel, target_id, kind, parent_id, update_id, next_ms, created_at)
           VALUES (?, 'email', ?, 'confirm', ?, '', ?, ?)`,
        )
        .run(`msg_${new_id()}`, id, id, now_ms, iso(now_ms));
    })();
  }

  email_subscriber(id: string): EmailSubscriberRow | null {
    return (
      (this.db.prepare("SELECT * FROM email_subscribers WHERE id = ?").get(id) as
        | EmailSubscriberRow
        | undefined) ?? null
    );
  }

  email_subscribers(): EmailSubscriberRow[] {
    return this.db
      .prepare("SELECT * FROM email_subscribers ORDER BY created_at, rowid")
      .all() as EmailSubscriberRow[];
  }

  /** Confirms the subscription a token belongs to; false for an unknown or used-up token. */
  confirm_email(token: string, now_ms: number): boolean {
    return (
      this.db
        .prepare(
          "UPDATE email_subscribers SET confirmed_at = ? WHERE token = ? AND confirmed_at IS NULL AND unsubscribed_at IS NULL",
        )
        .run(iso(now_ms), token).changes > 0
    );
  }

  /** Ends the subscription a token belongs to (and drops its waiting notices). */
  unsubscribe_email(token: string, now_ms: number): boolean {
    return this.db.transaction(() => {
      const row = this.db
        .prepare("SELECT id FROM email_subscribers WHERE token = ? AND unsubscribed_at IS NULL")
        .get(token) as { id: string } | undefined;
      if (row === undefined) return false;
      this.db
        .prepare("UPDATE email_subscribers SET unsubscribed_at = ? WHERE id = ?")
        .run(iso(now_ms), row.id);
      this.db
        .prepare(
          "UPDATE outbox SET state = 'failed', last_error = 'unsubscribed' WHERE target_id = ? AND state = 'pending'",
        )
        .run(row.id);
      return true;
    })();
  }

  add_webhook(url: string, secret: string, now_ms: number): WebhookRow {
    const id = `wh_${new_id()}`;
    this.db
      .prepare("INSERT INTO webhooks (id, url, secret, created_at) VALUES (?, ?, ?, ?)")
      .run(id, url, secret, iso(now_ms));
    return this.webhook(id) as WebhookRow;
  }

  webhook(id: string): WebhookRow | null {
    return (this.db.prepare("SELECT * FROM webhooks WHERE id = ?").get(id) as WebhookRow | undefined) ?? null;
  }

  webhooks(): WebhookRow[] {
    return this.db.prepare("SELECT * FROM webhooks ORDER BY created_at, rowid").all() as WebhookRow[];
  }

  /** Stops deliveries to a webhook (removed by the operator, or its endpoint answered 410 Gone). */
  disable_webhook(id: string, reason: string, now_ms: number): boolean {
    const changed = this.db
      .prepare(
        "UPDATE webhooks SET disabled_at = ?, disabled_reason = ? WHERE id = ? AND disabled_at IS NULL",
      )
      .run(iso(now_ms), reason, id).changes;
    this.db
      .prepare("UPDATE outbox SET state = 'failed', last_error = ? WHERE target_id = ? AND state = 'pending'")
      .run(`webhook disabled: ${reason}`, id);
    return changed > 0;
  }

  /** Notices due now, oldest first. */
  due_notices(now_ms: number, limit: number): NoticeRow[] {
    return this.db
      .prepare(
        "SELECT * FROM outbox WHERE state = 'pending' AND next_ms <= ? ORDER BY next_ms, rowid LIMIT ?",
      )
      .all(now_ms, limit) as NoticeRow[];
  }

  notices(): NoticeRow[] {
    return this.db.prepare("SELECT * FROM outbox ORDER BY created_at, rowid").all() as NoticeRow[];
  }

  delivered(id: string, now_ms: number): void {
    this.db
      .prepare(
        "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL WHERE id = ?",
      )
      .run(iso(now_ms), id);
  }

  /** A failed attempt: try again at `next_ms`, or give up (null). */
  attempt_failed(id: string, error: string, next_ms: number | null): void {
    this.db
      .prepare(
        `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_ms = COALESCE(?, next_ms),
           state = CASE WHEN ? IS NULL THEN 'failed' ELSE state END WHERE id = ?`,
      )
      .run(error.slice(0, 500), next_ms, next_ms, id);
  }

  maintenance(id: string): MaintenanceRow | null {
    const row = this.db.prepare("SELECT * FROM maintenances WHERE id = ?").get(id) as
      | Record<string, unknown>
      | undefined;
    return row === undefined ? null : this.hydrate_maintenance(row);
  }

  /** `which`: all (newest first), upcoming (scheduled), active (in progress or verifying). */
  maintenances(which: "all" | "upcoming" | "active", limit = 50): MaintenanceRow[] {
    const where =
      which === "upcoming"
        ? "WHERE status = 'scheduled'"
        : which === "active"
          ? "WHERE status IN ('in_progress', 'verifying')"
          : "";
    const order = which === "all" ? "scheduled_for DESC" : "scheduled_for ASC";
    return (
      this.db
        .prepare(`SELECT * FROM maintenances ${where} ORDER BY ${order}, rowid LIMIT ?`)
        .all(limit) as Record<string, unknown>[]
    ).map((r) => this.hydrate_maintenance(r));
  }

  private hydrate_maintenance(row: Record<string, unknown>): MaintenanceRow {
    const updates = this.db
      .prepare(
        "SELECT id, status, body, created_at FROM maintenance_updates WHERE maintenance_id = ? ORDER BY created_at DESC, rowid DESC",
      )
      .all(row.id) as MaintenanceRow["updates"];
    return {
      ...(row as unknown as MaintenanceRow),
      components: JSON.parse(row.components as string) as string[],
      switch_exchange: row.switch_exchange === 1,
      reopen_stage_s: (row.reopen_stage_s as number | null) ?? null,
      remind_minutes: (row.remind_minutes as number | null) ?? null,
      reminded_at: (row.reminded_at as string | null) ?? null,
      reopen:
        row.reopen === null || row.reopen === undefined
          ? null
          : (JSON.parse(row.reopen as string) as ReopeningState),
      updates,
    };
  }

  set_admin_password(username: string, hash: string, now_ms: number): void {
    this.db.transaction(() => {
      this.db
        .prepare("INSERT OR REPLACE INTO admin_users (username, hash, created_at) VALUES (?, ?, ?)")
        .run(username, hash, iso(now_ms));
      // a new password ends that operator's sessions
      this.db.prepare("DELETE FROM admin_sessions WHERE username = ?").run(username);
    })();
  }

  admin_hash(username: string): string | null {
    const row = this.db.prepare("SELECT hash FROM admin_users WHERE username = ?").get(username) as
      | { hash: string }
      | undefined;
    return row?.hash ?? null;
  }

  add_session(token_hash: string, username: string, csrf: string, expires_ms: number): void {
    this.db.prepare("DELETE FROM admin_sessions WHERE expires_ms < ?").run(Date.now());
    this.db
      .prepare("INSERT INTO admin_sessions VALUES (?, ?, ?, ?)")
      .run(token_hash, username, csrf, expires_ms);
  }

  session(token_hash: string, now_ms: number): { username: string; csrf: string } | null {
    const row = this.db
      .prepare("SELECT username, csrf FROM admin_sessions WHERE token_hash = ? AND expires_ms > ?")
      .get(token_hash, now_ms) as { username: string; csrf: string } | undefined;
    return row ?? null;
  }

  end_session(token_hash: string): void {
    this.db.prepare("DELETE FROM admin_sessions WHERE token_hash = ?").run(token_hash);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Opens the store at `file`. A file SQLite cannot read as a database is moved aside (with its WAL),
 * kept for the operator to recover what it held (incidents, subscribers, admin logins), and a new
 * store begun: the page must be up to show the state of the exchange, whatever happened to its own
 * history. The probes fill the components in again within a round.
 */
export function open_status_store(file: string, log: (line: string) => void): StatusStore {
  return open_or_set_aside(
    file,
    () => new StatusStore(file),
    (aside, error) =>
      log(
        `status: THE STORE ${file} IS DAMAGED (${String(error)}): moved to ${aside} and a new one begun; ` +
          "past incidents, subscribers and admin logins are in the old file",
      ),
  );
}
