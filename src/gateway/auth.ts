/**
 * Signed requests, as Binance defines them: the key in X-MBX-APIKEY; `signature` over the query
 * string followed by the body (without the signature parameter itself); `timestamp` (ms, or µs when
 * it has 16 digits) within `recvWindow` (default 5,000 ms, at most 60,000; µs as three decimals) and
 * at most 1,000 ms ahead of the server; the key's permissions and optional IP allow-list. HMAC-SHA256
 * (hex), Ed25519 and RSA PKCS#1 v1.5 SHA-256 (base64) signatures.
 */
import { createHmac, createPublicKey, type KeyObject, timingSafeEqual, verify } from "node:crypto";
import {
  type ApiKeyRecord,
  KEY_ED25519,
  KEY_HMAC,
  PERMISSION_TRADE,
  PERMISSION_WITHDRAW,
} from "../engine/api_keys.js";
import type { Engine } from "../engine/engine.js";
import type { WebSessions } from "../web/sessions.js";
import { CSRF_HEADER } from "../web/sessions.js";
import type { MasterKey } from "./master_key.js";
import { ApiError, bad, type Params, required } from "./params.js";

const RECV_WINDOW_DEFAULT_MS = 5000;
const RECV_WINDOW_MAX_MS = 60_000;
const RECV_WINDOW_RE = /^([0-9]{1,20})(?:\.([0-9]{1,3}))?$/;

/**
 * recvWindow in µs: milliseconds with up to three decimals ("6000.346", as Binance takes it), at
 * most 60,000 (past it Binance's -1131).
 */
function recv_window_us(params: Params): number {
  const raw = params.values.get("recvWindow");
  if (raw === undefined) return RECV_WINDOW_DEFAULT_MS * 1000;
  const m = RECV_WINDOW_RE.exec(raw);
  if (m === null)
    throw bad(
      -1100,
      "Illegal characters found in parameter 'recvWindow'; legal range is '^[0-9]{1,20}(\\.[0-9]{1,3})?$'.",
    );
  const fraction_us = m[2] === undefined ? 0 : Number(m[2].padEnd(3, "0"));
  const whole_ms = Number(m[1]);
  if (whole_ms > RECV_WINDOW_MAX_MS || (whole_ms === RECV_WINDOW_MAX_MS && fraction_us > 0))
    throw bad(-1131, "recvWindow must be less than 60000");
  return whole_ms * 1000 + fraction_us;
}
const AHEAD_MAX_MS = 1000;

const invalid_key = (): ApiError =>
  new ApiError(401, { code: -2015, msg: "Invalid API-key, IP, or permissions for action." });

/** What a request needs of its key: read (any key), trade, withdraw (a key with that permission). */
export type Need = "read" | "trade" | "withdraw";

const AMPERSAND = 0x26;

/** A percent-encoded value; a malformed escape is kept as sent (it then fails as a signature). */
function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The query string and body as received, minus the `signature=…` component. */
export function signed_text(query: string, body: string): { text: string; signature: string | null } {
  let signature: string | null = null;
  const strip = (part: string): string => {
    if (part === "") return part;
    // the usual request: one signature, the last parameter (no list to build)
    const at = part.lastIndexOf("signature=");
    if (
      at > 0 &&
      part.charCodeAt(at - 1) === AMPERSAND &&
      part.indexOf("signature=") === at &&
      part.indexOf("&", at) < 0
    ) {
      signature = decode(part.slice(at + 10));
      return part.slice(0, at - 1);
    }
    const kept: string[] = [];
    for (const piece of part.split("&")) {
      if (piece.startsWith("signature=")) signature = decode(piece.slice(10));
      else kept.push(piece);
    }
    return kept.join("&");
  };
  const q = strip(query);
  const b = strip(body);
  return { text: q + b, signature };
}

export class Authenticator {
  /** Opened HMAC secrets and parsed public keys, by API key (revoked keys drop out on lookup). */
  private readonly cache = new Map<string, { material: string; secret: Buffer | KeyObject }>();

  /** The web app's sessions, when the node serves it (see enable_web). */
  private web: { sessions: WebSessions; tier: string } | null = null;

  constructor(
    private readonly engine: Engine,
    /** Also what listen keys are derived under (user_data.ts). */
    readonly master: MasterKey,
    private readonly clock_ms: () => number,
  ) {}

  /**
   * Lets the web app use the REST API with its session instead of a key: a request with no
   * X-MBX-APIKEY but a valid session cookie and that session's CSRF header acts for the session's
   * account with read and trade permission, without a signature (the cookie is the credential;
   * the CSRF header proves the request comes from our own page). Everything else about the request
   * (parameters, filters, limits, the journal) is exactly what an API client gets.
   */
  enable_web(sessions: WebSessions, tier: string): void {
    this.web = { sessions, tier };
  }

  private web_record(headers: Record<string, string | string[] | undefined>): ApiKeyRecord | null {
    if (this.web === null) return null;
    const cookie = headers.cookie;
    const session = this.web.sessions.from_cookie_header(typeof cookie === "string" ? cookie : undefined);
    if (session === null || !this.web.sessions.csrf_ok(session, headers[CSRF_HEADER])) return null;
    return {
      api_key: "",
      account: session.account,
      kind: KEY_HMAC,
      material: "",
      permissions: PERMISSION_TRADE,
      ip_allow: "",
      tier: this.web.tier,
      created_ms: 0,
    };
  }

  /** The record of `api_key` if it is registered (no signature checked: for choosing a limit tier). */
  known_key(api_key: string): ApiKeyRecord | undefined {
    return this.engine.api_keys.by_key.get(api_key);
  }

  /** The key in X-MBX-APIKEY (or a web session), for endpoints that need no signature (user data streams). */
  key_only(headers: Record<string, string | string[] | undefined>, ip: string): ApiKeyRecord {
    const header = headers["x-mbx-apikey"];
    const api_key = Array.isArray(header) ? header[0] : header;
    if (api_key === undefined) {
      const web = this.web_record(headers);
      if (web !== null) return web;
    }
    if (api_key === undefined || api_key === "" || api_key.length > 128)
      throw new ApiError(401, { code: -2014, msg: "API-key format invalid." });
    const record = this.engine.api_keys.by_key.get(api_key);
    if (record === undefined) throw invalid_key();
    if (record.ip_allow !== "" && !record.ip_allow.split(",").includes(normal_ip(ip))) throw invalid_key();
    return record;
  }

  /** Checks a signed request and returns the account it acts for. */
  check(
    headers: Record<string, string | string[] | undefined>,
    params: Params,
    raw: { query: string; body: string },
    ip: string,
    need: Need,
  ): ApiKeyRecord {
    const record = this.key_only(headers, ip);
    // a web session never withdraws (its record has trade permission only): that would need a
    // confirmation the session cannot give here
    if (need === "withdraw" && (record.permissions & PERMISSION_WITHDRAW) === 0) throw invalid_key();
    if (record.api_key === "") {
      // a web session: no signature; a timestamp, if the app sent one, still obeys recvWindow
      if (params.values.has("timestamp")) this.check_time(params);
      return record;
    }
    if (need === "trade" && (record.permissions & PERMISSION_TRADE) === 0) throw invalid_key();

    this.check_time(params);

    const { text, signature } = signed_text(raw.query, raw.body);
    if (signature === null || signature === "")
      throw bad(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
    if (!this.verify(record, text, signature)) throw bad(-1022, "Signature for this request is not valid.");
    return record;
  }

  /** timestamp within recvWindow, and not more than 1 s ahead. */
  check_time(params: Params): void {
    const timestamp_raw = required(params, "timestamp");
    if (!/^[0-9]{13,16}$/.test(timestamp_raw))
      throw bad(-1100, "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.");
    const ts = Number(timestamp_raw);
    // in µs: a timestamp may be in µs (16 digits), a recvWindow may have µs (three decimals)
    const timestamp_us = timestamp_raw.length === 16 ? ts : ts * 1000;
    const window_us = recv_window_us(params);
    const now_us = this.clock_ms() * 1000;
    if (timestamp_us > now_us + AHEAD_MAX_MS * 1000)
      throw bad(-1021, "Timestamp for this request was 1000ms ahead of the server's time.");
    if (now_us - timestamp_us > window_us)
      throw bad(-1021, "Timestamp for this request is outside of the recvWindow.");
  }

  /**
   * A request on a WebSocket API session logged on with `record` (session.logon): no apiKey or
   * signature, but still the timestamp rules and the key's permissions, and the key must still exist.
   */
  check_session(record: ApiKeyRecord, params: Params, need: Need): ApiKeyRecord {
    const current = this.engine.api_keys.by_key.get(record.api_key);
    if (current === undefined || current.material !== record.material) throw invalid_key();
    if (need === "trade" && (current.permissions & PERMISSION_TRADE) === 0) throw invalid_key();
    if (need === "withdraw" && (current.permissions & PERMISSION_WITHDRAW) === 0) throw invalid_key();
    this.check_time(params);
    return current;
  }

  private key_of(record: ApiKeyRecord): Buffer | KeyObject | null {
    const cached = this.cache.get(record.api_key);
    if (cached !== undefined && cached.material === record.material) return cached.secret;
    let secret: Buffer | KeyObject;
    if (record.kind === KEY_HMAC) {
      const opened = this.master.open(record.material);
      if (opened === null) return null;
      secret = Buffer.from(opened, "utf8");
    } else {
      try {
        secret = createPublicKey(record.material);
      } catch {
        return null;
      }
    }
    this.cache.set(record.api_key, { material: record.material, secret });
    return secret;
  }

  private verify(record: ApiKeyRecord, text: string, signature: string): boolean {
    const key = this.key_of(record);
    if (key === null) return false;
    if (record.kind === KEY_HMAC) {
      const expected = createHmac("sha256", key as Buffer)
        .update(text)
        .digest();
      if (!/^[0-9a-fA-F]{64}$/.test(signature)) return false;
      return timingSafeEqual(expected, Buffer.from(signature, "hex"));
    }
    const sig = Buffer.from(signature, "base64");
    try {
      return record.kind === KEY_ED25519
        ? verify(null, Buffer.from(text), key as KeyObject, sig)
        : verify("sha256", Buffer.from(text), key as KeyObject, sig);
    } catch {
      return false;
    }
  }
}

/** "::ffff:127.0.0.1" (an IPv4 client on a dual-stack socket) compares as "127.0.0.1". */
function normal_ip(ip: string): string {
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}
