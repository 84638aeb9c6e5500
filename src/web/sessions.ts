/**
 * Web app sessions: signed tokens that any node can check with the same configured key (DESIGN,
 * "State outside the engine"), so a user stays logged in when their node dies and the app moves to
 * another. The token lives in an httpOnly, SameSite=Strict cookie; it names the account, the
 * session epoch it was signed in (log out everywhere bumps the journaled epoch, which voids every
 * older token on every node) and its expiry. Requests that change anything also carry a CSRF token
 * derived from the session token, in a header a cross-site page cannot set.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { fastifyCookie } from "@fastify/cookie";
import type { Engine } from "../engine/engine.js";
import type { MasterKey } from "../gateway/master_key.js";

export const SESSION_COOKIE = "hf_session";
export const CSRF_HEADER = "x-csrf-token";
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;
/** A token is five dot-separated parts; anything longer is not one of ours. */
const TOKEN_LENGTH_MAX = 200;
const COOKIE_HEADER_LENGTH_MAX = 8192;

export interface Session {
  account: number;
  email: string;
  /** Random per login: what the CSRF token is bound to. */
  sid: string;
  expires_ms: number;
}

export class WebSessions {
  private readonly key: Buffer;

  constructor(
    master: MasterKey,
    private readonly engine: Engine,
    private readonly clock_ms: () => number,
  ) {
    this.key = master.derive("web session");
  }

  private mac(text: string): string {
    return createHmac("sha256", this.key).update(text).digest("base64url");
  }

  /** A new session token for `account`, valid for SESSION_TTL_MS in the user's current epoch. */
  issue(account: number): string {
    const user = this.engine.web_users.by_account.get(account);
    if (user === undefined) throw new Error(`account ${account} has no web user`);
    const body = `v1.${account}.${user.session_epoch}.${this.clock_ms() + SESSION_TTL_MS}.${randomBytes(12).toString("base64url")}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The session a token stands for, or null: bad signature, expired, or its epoch has ended. */
  check(token: string | undefined): Session | null {
    if (token === undefined || token.length > TOKEN_LENGTH_MAX) return null;
    const parts = token.split(".");
    if (parts.length !== 6 || parts[0] !== "v1") return null;
    const body = parts.slice(0, 5).join(".");
    const given = Buffer.from(parts[5], "base64url");
    const expected = Buffer.from(this.mac(body), "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const account = Number(parts[1]);
    const epoch = Number(parts[2]);
    const expires_ms = Number(parts[3]);
    if (!(expires_ms > this.clock_ms())) return null;
    const user = this.engine.web_users.by_account.get(account);
    if (user === undefined || user.session_epoch !== epoch) return null;
    return { account, email: user.email, sid: parts[4], expires_ms };
  }

  /** The CSRF token of a session: only a page that could read our JSON (same origin) learns it. */
  csrf(session: Session): string {
    return this.mac(`csrf.${session.account}.${session.sid}`);
  }

  csrf_ok(session: Session, header: string | string[] | undefined): boolean {
    if (typeof header !== "string" || header.length > 64) return false;
    const expected = Buffer.from(this.csrf(session));
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** The session of a request's cookie header (no CSRF check). */
  from_cookie_header(cookie: string | undefined): Session | null {
    if (cookie === undefined || cookie.length > COOKIE_HEADER_LENGTH_MAX) return null;
    return this.check(fastifyCookie.parse(cookie)[SESSION_COOKIE]);
  }
}
