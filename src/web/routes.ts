/**
 * The web app's own API under /web/v1 (JSON): sign up, log in (with TOTP when enrolled), log out
 * here or everywhere, two-factor enrolment, API key management and, in demo mode, demo funds.
 * Trading, history and user data go through the Binance API itself (/api/v3 and the listenKey
 * stream) with the session cookie and CSRF header instead of a key (Authenticator.enable_web), so
 * the app exercises exactly what every other client does.
 *
 * Errors are `{error, field?}` with a 4xx status; a refused request changes nothing. Every body is
 * validated by its JSON schema before a handler sees it (Fastify's Ajv, unknown fields refused).
 */
import { isIP } from "node:net";
import cookie from "@fastify/cookie";
import { hash as argon2_hash, verify as argon2_verify } from "@node-rs/argon2";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Secret, TOTP } from "otpauth";
import QRCode from "qrcode";
import { add_hmac_key, add_public_key, type KeyOptions, move_funds, type Result } from "../admin/users.js";
import { ALLOWLIST_ACTIONS, allowlist_view } from "../admin/withdrawals.js";
import { KEY_KIND_NAMES, PERMISSION_TRADE } from "../engine/api_keys.js";
import { decimal_to_units, units_to_decimal } from "../engine/decimal.js";
import { reason_message } from "../engine/reasons.js";
import type { MasterKey } from "../gateway/master_key.js";
import { ApiError, params_of } from "../gateway/params.js";
import { withdraw_request_of, withdrawal_made } from "../gateway/withdrawals.js";
import type { ExchangeNode } from "../node/exchange_node.js";
import { SESSION_COOKIE, SESSION_TTL_MS, type Session, type WebSessions } from "./sessions.js";

export interface WebOptions {
  demo: boolean;
  /** Where the status service is (holdfast start --status-url), for the app's banner and links. */
  status_url: string | null;
  /** Rate-limit tier of web sessions and of keys made in the app. */
  tier: string;
  clock_ms: () => number;
}

const PASSWORD_LENGTH_MIN = 10;
const PASSWORD_LENGTH_MAX = 128;
/** Failed logins per address within the window before further tries are refused (per node). */
const LOGIN_FAILURES_MAX = 5;
const LOGIN_FAILURE_WINDOW_MS = 15 * 60 * 1000;
const LOGIN_TRACKED_MAX = 100_000;
const IP_ALLOW_MAX = 10;
const TOTP_PERIOD_S = 30;
/** How long a two-factor enrolment may take between showing the secret and confirming a code. */
const ENROLMENT_TTL_MS = 10 * 60 * 1000;
/** What "demo funds" tops an account up to. */
const DEMO_FUNDS: [string, string][] = [
  ["BTC", "1"],
  ["ETH", "20"],
  ["USDT", "100000"],
];

class WebError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const email_schema = { type: "string", format: "email", minLength: 3, maxLength: 254 } as const;
const password_schema = { type: "string", minLength: 1, maxLength: PASSWORD_LENGTH_MAX } as const;
const code_schema = { type: "string", pattern: "^[0-9]{6}$" } as const;

function totp_for(email: string, secret: Secret): TOTP {
  return new TOTP({
    issuer: "Holdfast",
    label: email,
    algorithm: "SHA1",
    digits: 6,
    period: TOTP_PERIOD_S,
    secret,
  });
}

export async function register_web_api(
  app: FastifyInstance,
  node: ExchangeNode,
  master: MasterKey,
  sessions: WebSessions,
  options: WebOptions,
): Promise<void> {
  const engine = node.engine;
  await app.register(cookie);
  await app.register(async (web) => {
    // The public server hands JSON bodies to the Binance parser as ""; this API wants real JSON.
    web.removeContentTypeParser("application/json");
    web.addContentTypeParser(
      "application/json",
      { parseAs: "string" },
      web.getDefaultJsonParser("error", "error"),
    );
    web.setErrorHandler((error, _request, reply) => {
      if (error instanceof WebError)
        return void reply
          .code(error.status)
          .send({ error: error.message, field: error.field, ...error.extra });
      const e = error as { statusCode?: number; validation?: { instancePath: string; message?: string }[] };
      if (e.validation !== undefined) {
        const v = e.validation[0];
        const field = v?.instancePath.replace(/^\//, "") || undefined;
        return void reply
          .code(400)
          .send({ error: `${field ?? "body"} ${v?.message ?? "is invalid"}`, field });
      }
      if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500)
        return void reply.code(e.statusCode).send({ error: (error as Error).message });
      reply.code(500).send({ error: "internal error" });
    });

    const set_session = (reply: FastifyReply, account: number): Session => {
      const token = sessions.issue(account);
      reply.setCookie(SESSION_COOKIE, token, {
        httpOnly: true,
        sameSite: "strict",
        path: "/",
        maxAge: SESSION_TTL_MS / 1000,
      });
      const session = sessions.check(token);
      if (session === null) throw new Error("a fresh session does not check");
      return session;
    };
    const clear_session = (reply: FastifyReply): void => {
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
    };
    const me = (session: Session) => {
      const user = engine.web_users.by_account.get(session.account);
      return {
        email: session.email,
        account: session.account,
        totp_enabled: user !== undefined && user.totp_sealed !== "",
        csrf: sessions.csrf(session),
        expires_ms: session.expires_ms,
      };
    };
    /** The request's session; state-changing requests must also carry its CSRF token. */
    const session_of = (request: FastifyRequest, changing: boolean): Session => {
      const session = sessions.check(request.cookies[SESSION_COOKIE]);
      if (session === null) throw new WebError(401, "not logged in");
      if (changing && !sessions.csrf_ok(session, request.headers["x-csrf-token"]))
        throw new WebError(403, "missing or wrong CSRF token; reload the page");
      return session;
    };
    const must = <T>(r: Result<T>): T => {
      if (!r.ok) throw new WebError(400, r.error);
      return r;
    };

    // ------------------------------------------------------------------ configuration
    web.get("/web/v1/config", async () => ({
      demo: options.demo,
      status_url: options.status_url,
      password_length_min: PASSWORD_LENGTH_MIN,
    }));

    // ------------------------------------------------------------------ sign up, log in, log out
    web.post<{ Body: { email: string; password: string } }>(
      "/web/v1/signup",
      {
        schema: {
          body: {
            type: "object",
            required: ["email", "password"],
            additionalProperties: false,
            properties: { email: email_schema, password: password_schema },
          },
        },
      },
      async (request, reply) => {
        const email = request.body.email.toLowerCase();
        if (request.body.password.length < PASSWORD_LENGTH_MIN)
          throw new WebError(400, `password must be at least ${PASSWORD_LENGTH_MIN} characters`, "password");
        if (engine.web_users.by_email.has(email))
          throw new WebError(409, "that e-mail address is already registered", "email");
        const password_hash = await argon2_hash(request.body.password);
        const applied = await node.submit({ type: "register_user", ts_ms: 0, email, password_hash });
        const created = applied.events.find((e) => e.kind === "account_created");
        if (created === undefined || created.kind !== "account_created") {
          const r = applied.events.find((e) => e.kind === "rejected");
          const detail =
            r !== undefined && r.kind === "rejected" ? (r.detail ?? reason_message(r.reason)) : "";
          throw new WebError(409, detail === "" ? "sign-up refused" : detail, "email");
        }
        return me(set_session(reply, created.account));
      },
    );

    const failures = new Map<string, { count: number; since_ms: number }>();
    const too_many = (email: string): boolean => {
      const f = failures.get(email);
      if (f === undefined) return false;
      if (options.clock_ms() - f.since_ms > LOGIN_FAILURE_WINDOW_MS) {
        failures.delete(email);
        return false;
      }
      return f.count >= LOGIN_FAILURES_MAX;
    };
    const failed = (email: string): void => {
      const f = failures.get(email);
      if (f !== undefined) f.count++;
      else {
        if (failures.size >= LOGIN_TRACKED_MAX) failures.delete(failures.keys().next().value as string);
        failures.set(email, { count: 1, since_ms: options.clock_ms() });
      }
    };
    /** The last TOTP time step used per account (per node): a code is good once. */
    const used_steps = new Map<number, number>();
    const check_totp = (account: number, email: string, sealed: string, code: string): boolean => {
      const secret = master.open(sealed);
      if (secret === null) return false;
      const now = options.clock_ms();
      const delta = totp_for(email, Secret.fromBase32(secret)).validate({
        token: code,
        timestamp: now,
        window: 1,
      });
      if (delta === null) return false;
      const step = Math.floor(now / 1000 / TOTP_PERIOD_S) + delta;
      if ((used_steps.get(account) ?? -1) >= step) return false;
      used_steps.set(account, step);
      return true;
    };

    web.post<{ Body: { email: string; password: string; totp?: string } }>(
      "/web/v1/login",
      {
        schema: {
          body: {
            type: "object",
            required: ["email", "password"],
            additionalProperties: false,
            properties: { email: email_schema, password: password_schema, totp: code_schema },
          },
        },
      },
      async (request, reply) => {
        const email = request.body.email.toLowerCase();
        if (too_many(email)) throw new WebError(429, "too many failed logins; wait 15 minutes");
        const user = engine.web_users.by_email.get(email);
        const ok =
          user !== undefined &&
          (await argon2_verify(user.password_hash, request.body.password).catch(() => false));
        if (!ok || user === undefined) {
          failed(email);
          throw new WebError(401, "wrong e-mail address or password");
        }
        if (user.totp_sealed !== "") {
          const code = request.body.totp;
          if (code === undefined)
            throw new WebError(401, "enter the 6-digit code from your authenticator app", "totp", {
              totp_required: true,
            });
          if (!check_totp(user.account, email, user.totp_sealed, code)) {
            failed(email);
            throw new WebError(401, "wrong or already used two-factor code", "totp", { totp_required: true });
          }
        }
        failures.delete(email);
        return me(set_session(reply, user.account));
      },
    );

    web.get("/web/v1/me", async (request) => me(session_of(request, false)));

    web.post("/web/v1/logout", async (_request, reply) => {
      clear_session(reply);
      return {};
    });

    web.post("/web/v1/logout-all", async (request, reply) => {
      const session = session_of(request, true);
      await node.submit({ type: "end_user_sessions", ts_ms: 0, account: session.account });
      clear_session(reply);
      return {};
    });

    // ------------------------------------------------------------------ two-factor login (TOTP)
    web.post("/web/v1/totp/setup", async (request) => {
      const session = session_of(request, true);
      const secret = new Secret({ size: 20 });
      const totp = totp_for(session.email, secret);
      const uri = totp.toString();
      // The enrolment is the secret sealed with its account and deadline: no server state between steps.
      const enrolment = master.seal(
        JSON.stringify({ a: session.account, s: secret.base32, x: options.clock_ms() + ENROLMENT_TTL_MS }),
      );
      const qr_png = await QRCode.toDataURL(uri, { margin: 1, errorCorrectionLevel: "M", width: 200 });
      return { secret: secret.base32, otpauth_uri: uri, qr_png, enrolment };
    });

    web.post<{ Body: { enrolment: string; code: string } }>(
      "/web/v1/totp/confirm",
      {
        schema: {
          body: {
            type: "object",
            required: ["enrolment", "code"],
            additionalProperties: false,
            properties: { enrolment: { type: "string", maxLength: 512 }, code: code_schema },
          },
        },
      },
      async (request) => {
        const session = session_of(request, true);
        const opened = master.open(request.body.enrolment);
        const e = opened === null ? null : (JSON.parse(opened) as { a: number; s: string; x: number });
        if (e === null || e.a !== session.account || e.x < options.clock_ms())
          throw new WebError(400, "this enrolment has expired; start again", "enrolment");
        const sealed = master.seal(e.s);
        if (!check_totp(session.account, session.email, sealed, request.body.code))
          throw new WebError(
            400,
            "that code does not match; check your device's clock and try the next one",
            "code",
          );
        await node.submit({ type: "set_user_totp", ts_ms: 0, account: session.account, totp_sealed: sealed });
        return me(session);
      },
    );

    web.post<{ Body: { code: string } }>(
      "/web/v1/totp/disable",
      {
        schema: {
          body: {
            type: "object",
            required: ["code"],
            additionalProperties: false,
            properties: { code: code_schema },
          },
        },
      },
      async (request) => {
        const session = session_of(request, true);
        const user = engine.web_users.by_account.get(session.account);
        if (user === undefined || user.totp_sealed === "")
          throw new WebError(400, "two-factor login is not on");
        if (!check_totp(session.account, session.email, user.totp_sealed, request.body.code))
          throw new WebError(400, "wrong or already used two-factor code", "code");
        await node.submit({ type: "set_user_totp", ts_ms: 0, account: session.account, totp_sealed: "" });
        return me(session);
      },
    );

    // ------------------------------------------------------------------ withdrawals
    /** The session of a request that moves funds: two-factor login on and `code` fresh, or refused. */
    const with_fresh_code = (request: FastifyRequest, code: string, what: string): Session => {
      const session = session_of(request, true);
      const user = engine.web_users.by_account.get(session.account);
      if (user === undefined || user.totp_sealed === "")
        throw new WebError(403, `turn on two-factor login to ${what}`, "code");
      if (!check_totp(session.account, session.email, user.totp_sealed, code))
        throw new WebError(400, "wrong or already used two-factor code", "code");
      return session;
    };
    // The session's API key may not withdraw (src/gateway/auth.ts): from the web app a withdrawal
    // needs two-factor login on and a fresh code, then takes the API's path (the same checks, the
    // engine's safeguards). The history is the API's, read with the session.
    web.post<{
      Body: {
        coin: string;
        amount: string;
        address: string;
        addressTag?: string;
        network?: string;
        code: string;
      };
    }>(
      "/web/v1/withdraw",
      {
        schema: {
          body: {
            type: "object",
            required: ["coin", "amount", "address", "code"],
            additionalProperties: false,
            properties: {
              coin: { type: "string", maxLength: 20 },
              amount: { type: "string", maxLength: 42 },
              address: { type: "string", maxLength: 128 },
              addressTag: { type: "string", maxLength: 64 },
              network: { type: "string", maxLength: 32 },
              code: code_schema,
            },
          },
        },
      },
      async (request) => {
        const session = with_fresh_code(request, request.body.code, "withdraw from the web app");
        const { code: _, ...fields } = request.body;
        try {
          const command = withdraw_request_of(engine, session.account, params_of(Object.entries(fields)));
          return { id: withdrawal_made((await node.submit(command)).events) };
        } catch (error) {
          if (error instanceof ApiError && error.http_status < 500) throw new WebError(400, error.error.msg);
          throw error;
        }
      },
    );

    // The account's withdrawal address allow-list (src/engine/withdrawals.ts `Allowlist`): every change
    // needs two-factor login on and a fresh code, as a withdrawal does.
    web.get("/web/v1/withdraw-addresses", async (request) =>
      allowlist_view(engine, session_of(request, false).account),
    );

    web.post<{ Body: { action: "add" | "remove" | "on" | "off"; address?: string; code: string } }>(
      "/web/v1/withdraw-addresses",
      {
        schema: {
          body: {
            type: "object",
            required: ["action", "code"],
            additionalProperties: false,
            properties: {
              action: { type: "string", enum: ["add", "remove", "on", "off"] },
              address: { type: "string", pattern: "^[A-Za-z0-9:._-]{1,128}$" },
              code: code_schema,
            },
          },
        },
      },
      async (request) => {
        const session = with_fresh_code(request, request.body.code, "manage withdrawal addresses");
        const { action, address = "" } = request.body;
        if ((action === "add" || action === "remove") && address === "")
          throw new WebError(400, "name the address", "address");
        const applied = await node.submit({
          type: "withdraw_allowlist",
          ts_ms: 0,
          account: session.account,
          action: ALLOWLIST_ACTIONS[action],
          address,
        });
        const r = applied.events.find((e) => e.kind === "rejected");
        if (r?.kind === "rejected")
          throw new WebError(400, `${reason_message(r.reason)} (${r.detail ?? ""})`);
        return allowlist_view(engine, session.account);
      },
    );

    // ------------------------------------------------------------------ API keys
    web.get("/web/v1/api-keys", async (request) => {
      const session = session_of(request, false);
      return engine.api_keys.of_account(session.account).map((k) => ({
        apiKey: k.api_key,
        type: KEY_KIND_NAMES[k.kind],
        trade: (k.permissions & PERMISSION_TRADE) !== 0,
        ip_allow: k.ip_allow === "" ? [] : k.ip_allow.split(","),
        created_ms: k.created_ms,
      }));
    });

    web.post<{
      Body: { type: "HMAC_SHA256" | "ED25519"; public_key?: string; trade: boolean; ip_allow: string[] };
    }>(
      "/web/v1/api-keys",
      {
        schema: {
          body: {
            type: "object",
            required: ["type", "trade", "ip_allow"],
            additionalProperties: false,
            properties: {
              type: { type: "string", enum: ["HMAC_SHA256", "ED25519"] },
              public_key: { type: "string", maxLength: 1024 },
              trade: { type: "boolean" },
              ip_allow: { type: "array", maxItems: IP_ALLOW_MAX, items: { type: "string", maxLength: 45 } },
            },
          },
        },
      },
      async (request) => {
        const session = session_of(request, true);
        const b = request.body;
        for (const ip of b.ip_allow)
          if (isIP(ip) === 0) throw new WebError(400, `${ip} is not an IP address`, "ip_allow");
        const key_options: KeyOptions = {
          permissions: b.trade ? PERMISSION_TRADE : 0,
          ip_allow: b.ip_allow.join(","),
          tier: options.tier,
        };
        if (b.type === "HMAC_SHA256")
          return must(await add_hmac_key(node, master, session.account, key_options));
        if (b.public_key === undefined || b.public_key === "")
          throw new WebError(400, "paste your Ed25519 public key (PEM)", "public_key");
        const r = await add_public_key(node, session.account, "ED25519", b.public_key, key_options);
        if (!r.ok) throw new WebError(400, r.error, "public_key");
        return { apiKey: r.apiKey };
      },
    );

    web.delete<{ Params: { key: string } }>(
      "/web/v1/api-keys/:key",
      {
        schema: {
          params: {
            type: "object",
            properties: { key: { type: "string", pattern: "^[A-Za-z0-9]{16,64}$" } },
          },
        },
      },
      async (request) => {
        const session = session_of(request, true);
        const applied = await node.submit({
          type: "revoke_api_key",
          ts_ms: 0,
          account: session.account,
          api_key: request.params.key,
        });
        if (applied.events.some((e) => e.kind === "rejected")) throw new WebError(404, "no such API key");
        return {};
      },
    );

    // ------------------------------------------------------------------ demo funds
    web.post("/web/v1/demo-funds", async (request) => {
      const session = session_of(request, true);
      if (!options.demo) throw new WebError(404, "demo funds exist only in demo mode");
      const credited: Record<string, string> = {};
      for (const [name, target] of DEMO_FUNDS) {
        const asset = engine.asset_by_name.get(name);
        if (asset === undefined) continue;
        const decimals = engine.assets[asset].decimals;
        const have =
          engine.ledger.free(session.account, asset) + engine.ledger.locked(session.account, asset);
        const want = decimal_to_units(target, decimals);
        if (!want.ok || have >= want.units) continue;
        const missing = units_to_decimal(want.units - have, decimals);
        must(await move_funds(node, "deposit", session.account, name, missing, null));
        credited[name] = missing;
      }
      return { credited };
    });
  });
}
