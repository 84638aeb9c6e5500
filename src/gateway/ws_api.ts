/**
 * The WebSocket API (/ws-api/v3), Binance's request/response protocol over one socket:
 * {id, method, params} → {id, status, result | error, rateLimits}. Each method runs the same handler
 * as its REST endpoint (same validation, signature rules, limits and journal path); a signed request
 * signs its parameters sorted by name, apiKey included. userDataStream.subscribe.signature (what ccxt
 * uses) pushes {subscriptionId, event} with the account's executionReport, outboundAccountPosition and
 * balanceUpdate events.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { type WebSocket, WebSocketServer } from "ws";
import { type ApiKeyRecord, KEY_ED25519 } from "../engine/api_keys.js";
import type { EngineEvent } from "../engine/events.js";
import type { Authenticator } from "./auth.js";
import { RawJson } from "./history_json.js";
import type { Limiter } from "./limits.js";
import { check_read, known_failure, type Params, params_of } from "./params.js";
import { CONNECTION_LIFETIME_MS } from "./streams.js";
import type { UserEvents } from "./user_data.js";

export interface RouteEntry {
  read: ReadonlySet<string>;
  handler: (
    params: Params,
    request: FastifyRequest,
    raw: { query: string; body: string },
    reply: FastifyReply,
  ) => unknown;
  weight: (params: Params) => number;
}

const METHODS: Record<string, string> = {
  ping: "GET /api/v3/ping",
  time: "GET /api/v3/time",
  exchangeInfo: "GET /api/v3/exchangeInfo",
  depth: "GET /api/v3/depth",
  "trades.recent": "GET /api/v3/trades",
  "trades.historical": "GET /api/v3/historicalTrades",
  "trades.aggregate": "GET /api/v3/aggTrades",
  klines: "GET /api/v3/klines",
  uiKlines: "GET /api/v3/uiKlines",
  avgPrice: "GET /api/v3/avgPrice",
  executionRules: "GET /api/v3/executionRules",
  referencePrice: "GET /api/v3/referencePrice",
  "referencePrice.calculation": "GET /api/v3/referencePrice/calculation",
  ticker: "GET /api/v3/ticker",
  "ticker.24hr": "GET /api/v3/ticker/24hr",
  "ticker.tradingDay": "GET /api/v3/ticker/tradingDay",
  "ticker.price": "GET /api/v3/ticker/price",
  "ticker.book": "GET /api/v3/ticker/bookTicker",
  "order.place": "POST /api/v3/order",
  "order.test": "POST /api/v3/order/test",
  "order.status": "GET /api/v3/order",
  "order.cancel": "DELETE /api/v3/order",
  "order.cancelReplace": "POST /api/v3/order/cancelReplace",
  "order.amend.keepPriority": "PUT /api/v3/order/amend/keepPriority",
  "order.amendments": "GET /api/v3/order/amendments",
  "openOrders.status": "GET /api/v3/openOrders",
  "openOrders.cancelAll": "DELETE /api/v3/openOrders",
  allOrders: "GET /api/v3/allOrders",
  myTrades: "GET /api/v3/myTrades",
  myPreventedMatches: "GET /api/v3/myPreventedMatches",
  myFilters: "GET /api/v3/myFilters",
  "orderList.place": "POST /api/v3/order/oco",
  "orderList.place.oco": "POST /api/v3/orderList/oco",
  "orderList.place.oto": "POST /api/v3/orderList/oto",
  "orderList.place.otoco": "POST /api/v3/orderList/otoco",
  "orderList.place.opo": "POST /api/v3/orderList/opo",
  "orderList.place.opoco": "POST /api/v3/orderList/opoco",
  "orderList.cancel": "DELETE /api/v3/orderList",
  "orderList.status": "GET /api/v3/orderList",
  "openOrderLists.status": "GET /api/v3/openOrderList",
  allOrderLists: "GET /api/v3/allOrderList",
  "account.status": "GET /api/v3/account",
  "account.commission": "GET /api/v3/account/commission",
  "account.rateLimits.orders": "GET /api/v3/rateLimit/order",
  // listenKey streams, started over the WebSocket API (what @binance/connector 3.6.1 calls)
  "userDataStream.start": "POST /api/v3/userDataStream",
  "userDataStream.ping": "PUT /api/v3/userDataStream",
  "userDataStream.stop": "DELETE /api/v3/userDataStream",
};

const MESSAGE_BYTES_MAX = 64 * 1024;
const CONNECTIONS_MAX = 10_000;
/** Answers and events waiting to be sent to one connection beyond which it is dropped (as streams.ts). */
const SEND_BUFFER_BYTES_MAX = 4 * 1024 * 1024;
const SUBSCRIPTIONS_PER_CONNECTION_MAX = 16;
/** Subscriptions a connection may start over its life (Binance: 65,535, then -2042). */
const SUBSCRIPTION_IDS_MAX = 65_535;
/** A connection not heard from (pong or request) for one interval after a ping is dropped. */
const PING_INTERVAL_MS = 60_000;
/** The methods answered here besides METHODS' (the metrics label any other "unknown"). */
const SESSION_METHODS: ReadonlySet<string> = new Set([
  "userDataStream.subscribe.signature",
  "session.logon",
  "session.status",
  "session.logout",
  "session.subscriptions",
  "userDataStream.subscribe",
  "userDataStream.unsubscribe",
]);
/** What session.logon and userDataStream.subscribe.signature read besides apiKey. */
const LOGON_READ: ReadonlySet<string> = new Set(["timestamp", "recvWindow", "signature"]);

/** A params value as the text of a query-string parameter: strings, numbers, booleans, arrays (JSON). */
function param_text(v: unknown): string | null {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return JSON.stringify(v);
  return null;
}

interface Session {
  ws: WebSocket;
  ip: string;
  connected_ms: number;
  /** session.logon: the Ed25519 key requests on this socket act with, and since when. */
  logon: { key: ApiKeyRecord; since_ms: number } | null;
  /**
   * subscriptionId → the account it streams, the API key it was made with, and whether it came from
   * the logon (userDataStream.subscribe: session.logout ends it) or a signature (it outlives a logout).
   */
  subscriptions: Map<number, { account: number; api_key: string; of_logon: boolean }>;
  /** The next subscriptionId: numbered per connection from 0, as Binance's, up to SUBSCRIPTION_IDS_MAX. */
  next_subscription: number;
  /** Sends a message; what is sent in one turn of the event loop leaves in one write (see upgrade). */
  send: (message: unknown) => void;
  /** Heard from (a pong or a request) since the last ping. */
  alive: boolean;
}

/**
 * A message's text; a result already in JSON text (RawJson: the public history pages, made on the
 * history's reader thread) goes in as it is, last (key order means nothing to JSON).
 */
function message_text(message: unknown): string {
  const result = (message as { result?: unknown } | null)?.result;
  if (!(result instanceof RawJson)) return JSON.stringify(message);
  const rest = JSON.stringify({ ...(message as object), result: undefined }); // drops the key
  return `${rest.slice(0, -1)}${rest === "{}" ? "" : ","}"result":${result.text}}`;
}

export class WsApi {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MESSAGE_BYTES_MAX });
  private readonly sessions = new Set<Session>();
  /** Sessions with a user data subscription (the only ones on_events has work for). */
  private readonly subscribed = new Set<Session>();

  private readonly ping_timer: NodeJS.Timeout;
  /** Told each answer's method and status (the node's metrics, src/metrics). */
  metrics: { ws_api_answered(method: string, status: number, seconds: number): void } | null = null;

  /** Open connections, and those with a user data subscription (the node's metrics). */
  get counts(): { sessions: number; user_streams: number } {
    let user_streams = 0;
    for (const s of this.subscribed) user_streams += s.subscriptions.size;
    return { sessions: this.sessions.size, user_streams };
  }

  constructor(
    private readonly routes: ReadonlyMap<string, RouteEntry>,
    private readonly auth: Authenticator,
    private readonly limiter: Limiter,
    private readonly user_events: UserEvents,
    private readonly clock_ms: () => number,
    ping_interval_ms: number = PING_INTERVAL_MS,
    /** How long a connection may live (Binance: 24 hours; checked at each ping round). */
    private readonly connection_lifetime_ms: number = CONNECTION_LIFETIME_MS,
  ) {
    this.ping_timer = setInterval(() => this.ping(), ping_interval_ms);
    this.ping_timer.unref();
  }

  /**
   * Binance pings WebSocket API connections and drops those that do not answer. Without it a client
   * that vanished without closing (a phone that lost its network) would hold its session, socket and
   * user-data subscription for ever, and enough of them would fill CONNECTIONS_MAX for everyone.
   */
  private ping(): void {
    const too_old_ms = this.clock_ms() - this.connection_lifetime_ms;
    for (const session of this.sessions) {
      if (!session.alive) {
        session.ws.terminate();
        this.sessions.delete(session);
        this.subscribed.delete(session);
        continue;
      }
      if (session.connected_ms <= too_old_ms) {
        session.ws.close(1000, "connection lifetime reached");
        this.sessions.delete(session);
        this.subscribed.delete(session);
        continue;
      }
      session.alive = false;
      session.ws.ping();
    }
  }

  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, ip: string): void {
    if (this.sessions.size >= CONNECTIONS_MAX) {
      socket.end("HTTP/1.1 429 Too Many Requests\r\n\r\n");
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      // The messages that become ready in one turn of the event loop (a journal frame completes the
      // orders of many requests at once, and their user-data events) leave in one write: the socket
      // stays corked until the turn's callbacks are done. Each was a write system call of its own,
      // ~21 µs and a quarter of the thread under `npm run bench:api`'s WebSocket phase.
      let corked = false;
      const uncork = (): void => {
        corked = false;
        socket.uncork();
      };
      const session: Session = {
        ws,
        ip,
        connected_ms: this.clock_ms(),
        logon: null,
        subscriptions: new Map(),
        next_subscription: 0,
        alive: true,
        send: (message) => {
          // A client that does not read its answers is dropped rather than buffered without bound.
          if (ws.bufferedAmount > SEND_BUFFER_BYTES_MAX) {
            ws.terminate();
            return;
          }
          if (!corked) {
            corked = true;
            socket.cork();
            process.nextTick(uncork);
          }
          ws.send(message_text(message));
        },
      };
      this.sessions.add(session);
      ws.on("pong", () => {
        session.alive = true;
      });
      ws.on("message", (data, is_binary) => {
        session.alive = true;
        // a failure anywhere in answering ends this connection only (never an unhandled rejection)
        this.message(session, is_binary ? "" : data.toString())
          .then(session.send)
          .catch(() => ws.terminate());
      });
      const gone = (): void => {
        this.sessions.delete(session);
        this.subscribed.delete(session);
      };
      ws.on("close", gone);
      ws.on("error", gone);
    });
  }

  /**
   * Binance's `rateLimits`: the request weight used this minute by the session's IP and, after an
   * order was counted, the account's order counts (the REST answer's X-MBX-* headers).
   */
  private rate_limits(tier: string, used_weight: number, headers: Record<string, string>) {
    const l = this.limiter.limits(tier);
    const limits: {
      rateLimitType: string;
      interval: string;
      intervalNum: number;
      limit: number;
      count: number;
    }[] = [
      {
        rateLimitType: "REQUEST_WEIGHT",
        interval: "MINUTE",
        intervalNum: 1,
        limit: l.weight_per_minute,
        count: used_weight,
      },
    ];
    const ten_s = headers["X-MBX-ORDER-COUNT-10S"];
    const day = headers["X-MBX-ORDER-COUNT-1D"];
    if (ten_s !== undefined && day !== undefined)
      limits.push(
        {
          rateLimitType: "ORDERS",
          interval: "SECOND",
          intervalNum: 10,
          limit: l.orders_per_10s,
          count: Number(ten_s),
        },
        {
          rateLimitType: "ORDERS",
          interval: "DAY",
          intervalNum: 1,
          limit: l.orders_per_day,
          count: Number(day),
        },
      );
    return limits;
  }

  private async message(session: Session, text: string): Promise<unknown> {
    const started_ms = this.metrics === null ? 0 : performance.now();
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(text) as typeof request;
    } catch {
      this.metrics?.ws_api_answered("unknown", 400, (performance.now() - started_ms) / 1000);
      return { id: null, status: 400, error: { code: -1100, msg: "Malformed request: not JSON." } };
    }
    const answer = (await this.answer(session, request)) as Record<string, unknown>;
    if (this.metrics !== null) {
      const method = typeof request === "object" && request !== null ? request.method : undefined;
      const known =
        typeof method === "string" && (Object.hasOwn(METHODS, method) || SESSION_METHODS.has(method));
      this.metrics.ws_api_answered(
        known ? method : "unknown",
        answer.status as number,
        (performance.now() - started_ms) / 1000,
      );
    }
    const params = typeof request === "object" && request !== null ? request.params : undefined;
    const limits =
      typeof params === "object" && params !== null
        ? (params as { returnRateLimits?: unknown }).returnRateLimits
        : undefined;
    if (limits === false || limits === "false") delete answer.rateLimits;
    return answer;
  }

  private async answer(
    session: Session,
    request: { id?: unknown; method?: unknown; params?: unknown },
  ): Promise<unknown> {
    const id =
      typeof request === "object" &&
      request !== null &&
      (typeof request.id === "string" || typeof request.id === "number")
        ? request.id
        : null;
    /** Weight used this minute, once this request's is charged (before: what earlier ones used). */
    let used_weight = this.limiter.used_weight(session.ip);
    let tier = this.limiter.anonymous_tier;
    const headers: Record<string, string> = {};
    const fail = (status: number, code: number, msg: string) => ({
      id,
      status,
      error: { code, msg },
      rateLimits: this.rate_limits(tier, used_weight, headers),
    });
    if (typeof request !== "object" || request === null || typeof request.method !== "string")
      return fail(400, -1102, "Mandatory parameter 'method' was not sent, was empty/null, or malformed.");
    const params = request.params ?? {};
    if (typeof params !== "object" || params === null || Array.isArray(params))
      return fail(400, -1102, "Mandatory parameter 'params' was not sent, was empty/null, or malformed.");
    let api_key: string | undefined;
    let signature: string | undefined;
    /** The endpoint's parameters: all but the WebSocket request's own (apiKey, returnRateLimits). */
    const endpoint: [string, string][] = [];
    for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
      const text = param_text(v);
      if (text === null) return fail(400, -1100, `Illegal characters found in parameter '${k}'.`);
      if (k === "apiKey") api_key = text;
      else if (k !== "returnRateLimits") endpoint.push([k, text]);
      if (k === "signature") signature = text;
    }
    // Binance signs the parameters sorted by name, apiKey included, signature excluded. Only a
    // request that carries a signature needs that text (the others fail or act on a logon without it).
    let raw = { query: "", body: "" };
    if (signature !== undefined) {
      const signed = Object.entries(params as Record<string, unknown>)
        .filter(([k]) => k !== "signature")
        .map(([k, v]): [string, string] => [k, param_text(v) as string]);
      signed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      raw = {
        query: `${new URLSearchParams(signed).toString()}&signature=${encodeURIComponent(signature)}`,
        body: "",
      };
    }
    const fake_request = {
      headers: api_key === undefined ? {} : { "x-mbx-apikey": api_key },
      ip: session.ip,
      // a logged-on session may omit apiKey and signature
      session_key: api_key === undefined && signature === undefined ? session.logon?.key : undefined,
    } as unknown as FastifyRequest;
    // ceilings of the request's key, else of the logged-on session's key (see limits.ts)
    tier =
      (api_key === undefined ? session.logon?.key : this.auth.known_key(api_key))?.tier ??
      this.limiter.anonymous_tier;
    const fake_reply = {
      header: (k: string, v: string) => {
        headers[k] = v;
        return fake_reply;
      },
    } as unknown as FastifyReply;
    const ok = (result: unknown) => ({
      id,
      status: 200,
      result,
      rateLimits: this.rate_limits(tier, used_weight, headers),
    });
    try {
      if (request.method === "userDataStream.subscribe.signature") {
        used_weight = this.limiter.charge_weight(session.ip, 2, tier);
        const p = params_of(endpoint);
        check_read(p, LOGON_READ);
        const { account, api_key } = this.auth.check(fake_request.headers, p, raw, session.ip, "read");
        const made = this.subscribe(session, account, api_key, false);
        return "code" in made ? fail(400, made.code, made.msg) : ok(made);
      }
      if (request.method === "session.logon") {
        used_weight = this.limiter.charge_weight(session.ip, 2, tier);
        const p = params_of(endpoint);
        check_read(p, LOGON_READ);
        const key = this.auth.check(fake_request.headers, p, raw, session.ip, "read");
        if (key.kind !== KEY_ED25519) return fail(400, -4056, "HMAC_SHA256 API key is not supported.");
        session.logon = { key, since_ms: this.clock_ms() };
        return ok(this.session_status(session));
      }
      if (request.method === "session.status") {
        used_weight = this.limiter.charge_weight(session.ip, 2, tier);
        return ok(this.session_status(session));
      }
      if (request.method === "session.logout") {
        used_weight = this.limiter.charge_weight(session.ip, 2, tier);
        session.logon = null;
        // Binance: the logon's subscription ends with it; those made with a signature go on
        for (const [id, sub] of session.subscriptions) if (sub.of_logon) session.subscriptions.delete(id);
        if (session.subscriptions.size === 0) this.subscribed.delete(session);
        return ok(this.session_status(session));
      }
      if (request.method === "session.subscriptions") {
        used_weight = this.limiter.charge_weight(session.ip, 2, tier);
        return ok([...session.subscriptions.keys()].map((subscriptionId) => ({ subscriptionId })));
      }
      if (request.method === "userDataStream.subscribe") {
        used_weight = this.limiter.charge_weight(session.ip, 2, tier);
        if (session.logon === null)
          return fail(401, -2015, "Invalid API-key, IP, or permissions for action.");
        const made = this.subscribe(session, session.logon.key.account, session.logon.key.api_key, true);
        return "code" in made ? fail(400, made.code, made.msg) : ok(made);
      }
      if (request.method === "userDataStream.unsubscribe") {
        used_weight = this.limiter.charge_weight(session.ip, 2, tier);
        const sid = (params as { subscriptionId?: unknown }).subscriptionId;
        if (sid === undefined) session.subscriptions.clear();
        else if (!session.subscriptions.delete(Number(sid)))
          return fail(400, -2036, "User Data Stream subscription not active.");
        if (session.subscriptions.size === 0) this.subscribed.delete(session);
        return ok({});
      }
      const key = METHODS[request.method];
      const entry = key === undefined ? undefined : this.routes.get(key);
      if (entry === undefined)
        return fail(400, -1100, `Unknown method '${String(request.method).slice(0, 64)}'.`);
      // Weight first, malformed requests included (as REST does).
      let p: Params;
      try {
        p = params_of(endpoint);
      } catch (error) {
        used_weight = this.limiter.charge_weight(
          session.ip,
          entry.weight({ values: new Map(endpoint) }),
          tier,
        );
        throw error;
      }
      used_weight = this.limiter.charge_weight(session.ip, entry.weight(p), tier);
      check_read(p, entry.read);
      const result = await entry.handler(p, fake_request, raw, fake_reply);
      return ok(result);
    } catch (error) {
      const known = known_failure(error);
      if (known !== null) return fail(known.http_status, known.error.code, known.error.msg);
      return fail(500, -1000, "An unknown error occurred while processing the request.");
    }
  }

  /**
   * A user data subscription for `account` on this connection, as Binance limits them: one per
   * account (-2035), SUBSCRIPTIONS_PER_CONNECTION_MAX at once, SUBSCRIPTION_IDS_MAX over its life (-2042).
   */
  private subscribe(
    session: Session,
    account: number,
    api_key: string,
    of_logon: boolean,
  ): { subscriptionId: number } | { code: number; msg: string } {
    for (const sub of session.subscriptions.values())
      if (sub.account === account)
        return { code: -2035, msg: "User Data Stream subscription already active." };
    if (session.subscriptions.size >= SUBSCRIPTIONS_PER_CONNECTION_MAX)
      return { code: -1100, msg: "Too many subscriptions on this connection." };
    if (session.next_subscription >= SUBSCRIPTION_IDS_MAX)
      return { code: -2042, msg: "Maximum subscription ID reached for this connection." };
    const subscriptionId = session.next_subscription++;
    session.subscriptions.set(subscriptionId, { account, api_key, of_logon });
    this.subscribed.add(session);
    return { subscriptionId };
  }

  private session_status(session: Session) {
    return {
      apiKey: session.logon?.key.api_key ?? null,
      authorizedSince: session.logon?.since_ms ?? null,
      connectedSince: session.connected_ms,
      returnRateLimits: true,
      serverTime: this.clock_ms(),
      userDataStream: session.subscriptions.size > 0,
    };
  }

  /** Every applied command's events: pushed to the sessions subscribed to the accounts concerned. */
  on_events(time_ms: number, events: readonly EngineEvent[]): void {
    // on the order path: nothing to do unless someone listens
    if (this.subscribed.size === 0) return;
    for (const e of events) if (e.kind === "api_key" && !e.added) this.terminate_key(e.api_key, time_ms);
    this.user_events.convert(time_ms, events, (account, event) => {
      for (const s of this.subscribed)
        for (const [subscriptionId, subscribed] of s.subscriptions)
          if (subscribed.account === account) s.send({ subscriptionId, event });
    });
  }

  /**
   * A revoked API key's subscriptions end, as Binance ends them: eventStreamTerminated, then nothing
   * more (the account's events must not go on reaching whoever held the key).
   */
  private terminate_key(api_key: string, time_ms: number): void {
    for (const s of [...this.subscribed]) {
      for (const [subscriptionId, subscribed] of s.subscriptions) {
        if (subscribed.api_key !== api_key) continue;
        s.send({ subscriptionId, event: { e: "eventStreamTerminated", E: time_ms } });
        s.subscriptions.delete(subscriptionId);
      }
      if (s.subscriptions.size === 0) this.subscribed.delete(s);
    }
  }

  close(): void {
    clearInterval(this.ping_timer);
    const notice = JSON.stringify({ event: { e: "serverShutdown", E: this.clock_ms() } });
    for (const s of this.sessions) {
      s.ws.send(notice);
      s.ws.close(1001, "server shutdown");
    }
    this.sessions.clear();
    this.wss.close();
  }
}
