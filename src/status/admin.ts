/**
 * The status service's operator interface: a Unix socket in its directory (`STATUS_DIR/admin.sock`,
 * mode 0600, so only the operator's account reaches it), used by `holdfast status admin …`.
 * Operators open incidents, post updates through investigating → identified → monitoring →
 * resolved → postmortem, and override what a component shows. Every text is bounded and checked
 * by schema; the page escapes it when rendering.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import { hash as argon2_hash } from "@node-rs/argon2";
import Fastify, { type FastifyInstance } from "fastify";
import {
  COMPONENT_STATUSES,
  type ComponentChange,
  type ComponentStatus,
  INCIDENT_STATUSES,
  type IncidentStatus,
  impact_of,
} from "./monitor.js";
import { check_webhook_url, WEBHOOK_URL_LENGTH_MAX } from "./notify.js";
import { REOPEN_STAGE_S_MAX } from "./reopening.js";
import type { MaintenanceRow, StatusStore } from "./store.js";
import { valid_chat_id } from "./telegram.js";

export const STATUS_ADMIN_SOCKET = "admin.sock";
const NAME_LENGTH_MAX = 200;
const BODY_LENGTH_MAX = 5000;
const COMPONENTS_PER_INCIDENT_MAX = 50;
const MAINTENANCE_LENGTH_MAX_MS = 7 * 86_400_000;
const WEBHOOKS_MAX = 1000;
const MAINTENANCE_AHEAD_MAX_MS = 90 * 86_400_000;

/** Names and bodies are text for people: no control characters but newlines and tabs. */
// a lookahead for "something visible", then only allowed characters throughout
const TEXT_PATTERN = "^(?=[\\s\\S]*\\S)[^\\u0000-\\u0008\\u000b-\\u001f\\u007f]*$";

export async function start_status_admin(
  store: StatusStore,
  socket_path: string,
  clock_ms: () => number,
  on_change: () => void,
  complete_maintenance: (
    m: MaintenanceRow,
    body: string,
    now_ms: number,
  ) => Promise<MaintenanceRow["status"]>,
  options: { allow_internal_webhooks: boolean },
): Promise<FastifyInstance> {
  // removeAdditional off: an unknown field is refused, not silently dropped (Fastify's default drops it)
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false } },
  });
  const refuse = (message: string) => ({ statusCode: 400, error: "Bad Request", message });

  /** Applies `status` as an override to `ids`; the changes, for the update's affected components. */
  const override = (ids: readonly string[], status: ComponentStatus | null): ComponentChange[] => {
    const by_id = new Map(store.components().map((c) => [c.id, c]));
    const changes: ComponentChange[] = [];
    for (const id of ids) {
      const c = by_id.get(id);
      if (c === undefined) continue;
      store.set_override(id, status, clock_ms());
      const after = status ?? c.auto_status;
      if (after !== c.status) changes.push({ id, name: c.name, old_status: c.status, new_status: after });
    }
    return changes;
  };
  const unknown_components = (ids: readonly string[]): string[] => {
    const known = new Set(store.components().map((c) => c.id));
    return ids.filter((id) => !known.has(id));
  };

  app.get("/v1/incidents", async () =>
    store.incidents(50, false).map((i) => ({
      id: i.id,
      name: i.name,
      status: i.status,
      impact: i.impact,
      automatic: i.auto_key !== null,
      components: i.components,
      created_at: i.created_at,
      updated_at: i.updated_at,
    })),
  );

  app.get("/v1/components", async () =>
    store.components().map((c) => ({
      id: c.id,
      name: c.name,
      status: c.status,
      auto_status: c.auto_status,
      override: c.override,
    })),
  );

  app.post<{
    Body: {
      name: string;
      body: string;
      status?: IncidentStatus;
      components?: string[];
      component_status?: ComponentStatus;
    };
  }>(
    "/v1/incidents",
    {
      schema: {
        body: {
          type: "object",
          required: ["name", "body"],
          additionalProperties: false,
          properties: {
            name: { type: "string", minLength: 1, maxLength: NAME_LENGTH_MAX, pattern: TEXT_PATTERN },
            body: { type: "string", minLength: 1, maxLength: BODY_LENGTH_MAX, pattern: TEXT_PATTERN },
            status: { type: "string", enum: ["investigating", "identified", "monitoring"] },
            components: {
              type: "array",
              maxItems: COMPONENTS_PER_INCIDENT_MAX,
              uniqueItems: true,
              items: { type: "string", maxLength: 64 },
            },
            component_status: { type: "string", enum: [...COMPONENT_STATUSES] },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const ids = b.components ?? [];
      const unknown = unknown_components(ids);
      if (unknown.length > 0)
        return reply.code(400).send(refuse(`unknown components: ${unknown.join(", ")}`));
      const changes = b.component_status === undefined ? [] : override(ids, b.component_status);
      const impact = b.component_status === undefined ? "minor" : impact_of([b.component_status]);
      const incident = store.open_incident(
        {
          name: b.name,
          impact: impact === "none" ? "minor" : impact,
          auto_key: null,
          components: ids,
          ...(b.status === undefined ? {} : { status: b.status }),
        },
        b.body,
        changes,
        clock_ms(),
      );
      on_change();
      return { id: incident.id, name: incident.name, status: incident.status, impact: incident.impact };
    },
  );

  app.post<{
    Params: { id: string };
    Body: { status: IncidentStatus; body: string; component_status?: ComponentStatus };
  }>(
    "/v1/incidents/:id/updates",
    {
      schema: {
        params: { type: "object", properties: { id: { type: "string", pattern: "^[a-z0-9]{1,32}$" } } },
        body: {
          type: "object",
          required: ["status", "body"],
          additionalProperties: false,
          properties: {
            status: { type: "string", enum: [...INCIDENT_STATUSES] },
            body: { type: "string", minLength: 1, maxLength: BODY_LENGTH_MAX, pattern: TEXT_PATTERN },
            component_status: { type: "string", enum: [...COMPONENT_STATUSES] },
          },
        },
      },
    },
    async (request, reply) => {
      const incident = store.incident(request.params.id);
      if (incident === null)
        return reply.code(404).send({ statusCode: 404, error: "Not Found", message: "no such incident" });
      const b = request.body;
      // resolving hands the incident's components back to the probes, unless told otherwise
      const changes =
        b.component_status !== undefined
          ? override(incident.components, b.component_status)
          : b.status === "resolved" || b.status === "postmortem"
            ? override(incident.components, null)
            : [];
      store.update_incident(incident.id, b.status, b.body, changes, clock_ms(), incident.recovered_ms);
      on_change();
      return { id: incident.id, status: b.status };
    },
  );

  app.post<{ Params: { id: string }; Body: { status: ComponentStatus | "auto" } }>(
    "/v1/components/:id",
    {
      schema: {
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } } },
        body: {
          type: "object",
          required: ["status"],
          additionalProperties: false,
          properties: { status: { type: "string", enum: [...COMPONENT_STATUSES, "auto"] } },
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (unknown_components([id]).length > 0)
        return reply.code(404).send({ statusCode: 404, error: "Not Found", message: `no component ${id}` });
      override([id], request.body.status === "auto" ? null : request.body.status);
      on_change();
      const c = store.components().find((x) => x.id === id);
      return { id, status: c?.status, override: c?.override ?? null };
    },
  );

  app.get("/v1/maintenances", async () =>
    store.maintenances("all").map((m) => ({
      id: m.id,
      name: m.name,
      status: m.status,
      scheduled_for: m.scheduled_for,
      scheduled_until: m.scheduled_until,
      components: m.components,
      switch_exchange: m.switch_exchange,
      reopen_stage_seconds: m.reopen_stage_s,
      remind_minutes: m.remind_minutes,
      reminded_at: m.reminded_at,
      // a staged reopening's progress: the stage carried out last, when the next is due, why it stopped
      reopening:
        m.reopen === null
          ? null
          : {
              done: m.reopen.plan.stages[m.reopen.done]?.name ?? null,
              next_at: new Date(m.reopen.next_ms).toISOString(),
              stopped: m.reopen.stopped,
            },
    })),
  );

  app.post<{
    Body: {
      name: string;
      body: string;
      start: string;
      end: string;
      components?: string[];
      switch_exchange?: boolean;
      reopen_stage_seconds?: number;
      remind_minutes?: number;
    };
  }>(
    "/v1/maintenances",
    {
      schema: {
        body: {
          type: "object",
          required: ["name", "body", "start", "end"],
          additionalProperties: false,
          properties: {
            name: { type: "string", minLength: 1, maxLength: NAME_LENGTH_MAX, pattern: TEXT_PATTERN },
            body: { type: "string", minLength: 1, maxLength: BODY_LENGTH_MAX, pattern: TEXT_PATTERN },
            start: { type: "string", format: "date-time" },
            end: { type: "string", format: "date-time" },
            components: {
              type: "array",
              maxItems: COMPONENTS_PER_INCIDENT_MAX,
              uniqueItems: true,
              items: { type: "string", maxLength: 64 },
            },
            switch_exchange: { type: "boolean" },
            // the exchange reopens in stages this far apart at the window's end (needs switch_exchange)
            reopen_stage_seconds: { type: "integer", minimum: 0, maximum: REOPEN_STAGE_S_MAX },
            // subscribers reminded this long before the start (at most the 90 days a window is announced ahead)
            remind_minutes: { type: "integer", minimum: 1, maximum: MAINTENANCE_AHEAD_MAX_MS / 60_000 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const start_ms = Date.parse(b.start);
      const end_ms = Date.parse(b.end);
      const now = clock_ms();
      if (!(end_ms > start_ms)) return reply.code(400).send(refuse("end must be after start"));
      if (start_ms < now - 60_000) return reply.code(400).send(refuse("start is in the past"));
      if (end_ms - start_ms > MAINTENANCE_LENGTH_MAX_MS)
        return reply.code(400).send(refuse("a maintenance window is at most 7 days"));
      if (start_ms - now > MAINTENANCE_AHEAD_MAX_MS)
        return reply.code(400).send(refuse("a maintenance is scheduled at most 90 days ahead"));
      if (b.reopen_stage_seconds !== undefined && b.switch_exchange !== true)
        return reply
          .code(400)
          .send(
            refuse(
              "reopen_stage_seconds needs switch_exchange: only a window that switches the exchange reopens it",
            ),
          );
      const ids = b.components ?? [];
      const unknown = unknown_components(ids);
      if (unknown.length > 0)
        return reply.code(400).send(refuse(`unknown components: ${unknown.join(", ")}`));
      const m = store.schedule_maintenance(
        {
          name: b.name,
          body: b.body,
          start_ms,
          end_ms,
          components: ids,
          switch_exchange: b.switch_exchange === true,
          reopen_stage_s: b.reopen_stage_seconds ?? null,
          remind_minutes: b.remind_minutes ?? null,
        },
        now,
      );
      on_change();
      return {
        id: m.id,
        status: m.status,
        scheduled_for: m.scheduled_for,
        scheduled_until: m.scheduled_until,
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { body: string } }>(
    "/v1/maintenances/:id/complete",
    {
      schema: {
        params: { type: "object", properties: { id: { type: "string", pattern: "^[a-z0-9]{1,32}$" } } },
        body: {
          type: "object",
          required: ["body"],
          additionalProperties: false,
          properties: {
            body: { type: "string", minLength: 1, maxLength: BODY_LENGTH_MAX, pattern: TEXT_PATTERN },
          },
        },
      },
    },
    async (request, reply) => {
      const m = store.maintenance(request.params.id);
      if (m === null)
        return reply.code(404).send({ statusCode: 404, error: "Not Found", message: "no such maintenance" });
      if (m.status === "completed")
        return reply.code(409).send({ statusCode: 409, error: "Conflict", message: "already completed" });
      let status: MaintenanceRow["status"];
      try {
        status = await complete_maintenance(m, request.body.body, clock_ms());
      } catch (error) {
        return reply.code(502).send({
          statusCode: 502,
          error: "Bad Gateway",
          message: `the exchange did not answer (the window goes on): ${error instanceof Error ? error.message : String(error)}`,
        });
      }
      on_change();
      if (status === "in_progress")
        return reply.code(503).send({
          statusCode: 503,
          error: "Service Unavailable",
          message: "the exchange takes no commands now (order entry paused): the window goes on; try again",
        });
      // verifying: the exchange reopens in stages, the window completes after the last
      return { id: m.id, status };
    },
  );

  // Webhook subscribers: the secret (Standard Webhooks' whsec_ form) is shown once, here.
  app.get("/v1/webhooks", async () =>
    store.webhooks().map((w) => ({
      id: w.id,
      url: w.url,
      created_at: w.created_at,
      disabled_at: w.disabled_at,
      disabled_reason: w.disabled_reason,
    })),
  );
  app.post<{ Body: { url: string } }>(
    "/v1/webhooks",
    {
      schema: {
        body: {
          type: "object",
          required: ["url"],
          additionalProperties: false,
          properties: { url: { type: "string", minLength: 1, maxLength: WEBHOOK_URL_LENGTH_MAX } },
        },
      },
    },
    async (request, reply) => {
      const problem = await check_webhook_url(request.body.url, options.allow_internal_webhooks);
      if (problem !== null) return reply.code(400).send(refuse(`webhook URL refused: ${problem}`));
      if (store.webhooks().filter((w) => w.disabled_at === null).length >= WEBHOOKS_MAX)
        return reply.code(400).send(refuse(`at most ${WEBHOOKS_MAX} webhooks`));
      const secret = `whsec_${randomBytes(24).toString("base64")}`;
      const w = store.add_webhook(request.body.url, secret, clock_ms());
      return { id: w.id, url: w.url, secret };
    },
  );
  app.delete<{ Params: { id: string } }>("/v1/webhooks/:id", async (request, reply) => {
    if (!store.disable_webhook(request.params.id, "removed by the operator", clock_ms()))
      return reply.code(404).send({ statusCode: 404, error: "Not Found", message: "no such active webhook" });
    return { id: request.params.id, removed: true };
  });

  // operators of the web admin page (/admin): the password is hashed here (argon2id) and never stored
  app.post<{ Body: { username: string; password: string } }>(
    "/v1/admin-users",
    {
      schema: {
        body: {
          type: "object",
          required: ["username", "password"],
          additionalProperties: false,
          properties: {
            username: { type: "string", pattern: "^[a-z0-9_.-]{1,32}$" },
            password: { type: "string", minLength: 12, maxLength: 256 },
          },
        },
      },
    },
    async (request) => {
      store.set_admin_password(request.body.username, await argon2_hash(request.body.password), clock_ms());
      return { username: request.body.username };
    },
  );

  // Telegram chats that get every update (the bot's token is the service's configuration)
  app.get("/v1/telegram-chats", async () => store.telegram_chats());
  app.post<{ Body: { chat_id: string } }>(
    "/v1/telegram-chats",
    {
      schema: {
        body: {
          type: "object",
          required: ["chat_id"],
          additionalProperties: false,
          properties: { chat_id: { type: "string", maxLength: 40 } },
        },
      },
    },
    async (request, reply) => {
      if (!valid_chat_id(request.body.chat_id))
        return reply.code(400).send(refuse("chat_id: a numeric id (-100…) or an @channelusername"));
      store.add_telegram_chat(request.body.chat_id, clock_ms());
      return { chat_id: request.body.chat_id };
    },
  );
  app.delete<{ Params: { chat_id: string } }>("/v1/telegram-chats/:chat_id", async (request, reply) => {
    if (!store.remove_telegram_chat(request.params.chat_id))
      return reply.code(404).send({ statusCode: 404, error: "Not Found", message: "no such chat" });
    return { chat_id: request.params.chat_id, removed: true };
  });

  rmSync(socket_path, { force: true });
  await app.listen({ path: socket_path });
  chmodSync(socket_path, 0o600);
  return app;
}
