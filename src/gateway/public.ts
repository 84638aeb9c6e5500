/**
 * The public HTTP server: the Binance Spot REST API under /api/v3 and /sapi/v1/system/status
 * (step 3 is building it out). Every route parses its parameters the Binance way (params.ts) and
 * answers errors as {code,msg}.
 */
import underPressure from "@fastify/under-pressure";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Market } from "../engine/market.js";
import { MARKET_STATUS_NAMES } from "../engine/types.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ExchangeNode } from "../node/exchange_node.js";
import type { History } from "../projections/history.js";
import {
  CONNECTIONS_PER_IP_DEFAULT,
  cap_connections,
  client_ip,
  trust_proxy,
} from "../server/connections.js";
import { register_web_api, type WebOptions } from "../web/routes.js";
import type { WebSessions } from "../web/sessions.js";
import { register_app } from "../web/static.js";
import type { Authenticator } from "./auth.js";
import {
  avg_price,
  INTERVALS,
  klines,
  parse_time_zone,
  rolling_ticker,
  rolling_ticker_mini,
  ticker_24hr,
  ticker_24hr_mini,
  trading_day_ticker,
  window_size_ms,
} from "./history_data.js";
import { market_format, type PublicShape, RawJson } from "./history_json.js";
import { first_fills, Limiter, type LimitTiers } from "./limits.js";
import {
  book_ticker,
  depth,
  exchange_info,
  execution_rules,
  NO_REFERENCE,
  reference_calculation,
  reference_price,
  symbol_status,
  ticker_price,
} from "./market_data.js";
import type { MasterKey } from "./master_key.js";
import {
  ApiError,
  bad,
  check_read,
  integer,
  known_failure,
  type Params,
  parse_params,
  required,
  time_unit_refusal,
} from "./params.js";
import { MarketStreams } from "./streams.js";
import { register_trading } from "./trading.js";
import { ListenKeys, UserEvents } from "./user_data.js";
import { type RouteEntry, WsApi } from "./ws_api.js";

export interface PublicServerOptions {
  host: string;
  port: number;
  /** Wall clock for /api/v3/time and serverTime (the engine has none). */
  clock_ms: () => number;
  /** Request-weight and order-count ceilings per tier (see limits.ts). */
  limit_tiers: LimitTiers;
  /** The tier of requests without a known API key. */
  anonymous_tier: string;
  /** Commands waiting for the journal beyond which new ones get 429 -1003 (default IN_FLIGHT_MAX_DEFAULT). */
  in_flight_max?: number;
  /** Time a client has to send a whole HTTP request (default REQUEST_TIMEOUT_MS). */
  request_timeout_ms?: number;
  /** Connections one address may hold at once (default CONNECTIONS_PER_IP_DEFAULT; 0: no cap). */
  connections_per_ip?: number;
  /** Reverse proxies whose X-Forwarded-For names the client (`--trust-proxy`; see server/connections.ts). */
  trust_proxy?: string;
  /** WebSocket pings (streams and WebSocket API); a connection silent since the last is dropped (tests shorten it). */
  ping_interval_ms?: number;
  /** How long a WebSocket connection may live (default Binance's 24 hours; tests shorten it). */
  connection_lifetime_ms?: number;
  /** How long a listen key lives without a keepalive (default Binance's 60 minutes; tests shorten it). */
  listen_key_ttl_ms?: number;
  /** Checks signed requests; the signed endpoints exist only with one (and the history). */
  auth: Authenticator | null;
  history: History | null;
  /** The web app and its API (/web/v1), when this node serves them. */
  web?: { master: MasterKey; sessions: WebSessions; options: WebOptions } | null;
  /** More routes to serve on this port (a cluster node's peer routes: cluster/peer.ts). */
  extra_routes?: (app: FastifyInstance) => void;
  /** Counts requests and connections (src/metrics), when the node keeps metrics. */
  metrics?: Metrics | null;
}

const BODY_BYTES_MAX = 64 * 1024;
/** Time a client has to send a whole request (headers and body) once it started. */
export const REQUEST_TIMEOUT_MS = 30_000;
const DEPTH_LIMIT_DEFAULT = 100;
/** Request weight of a WebSocket API connection (Binance's). */
const WS_API_CONNECT_WEIGHT = 2;
const DEPTH_LIMIT_MAX = 5000;

type Handler = (
  params: Params,
  request: FastifyRequest,
  raw: { query: string; body: string },
  reply: FastifyReply,
) => unknown | Promise<unknown>;

/** A request's parameters as request_weight reads them (parsed ones, or a query string's when unparsable). */
interface WeightParams {
  has(name: string): boolean;
  get(name: string): string | null | undefined;
}

/** How many symbols a `symbols` parameter (a JSON array) names, by its commas; 0 without one. */
function symbols_count(q: WeightParams): number {
  const text = q.get("symbols");
  if (text === null || text === undefined || text === "") return 0;
  let n = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 44) n++;
  return n;
}

/** Binance's request weights; by the parameters where Binance's depend on them. */
function request_weight(route: string, q: WeightParams): number {
  const one = q.has("symbol");
  switch (route) {
    case "GET /api/v3/exchangeInfo":
      return 20;
    case "GET /api/v3/depth": {
      const limit = Number(q.get("limit") ?? 100);
      return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    }
    case "GET /api/v3/trades":
    case "GET /api/v3/historicalTrades":
      return 25;
    case "GET /api/v3/aggTrades":
    case "GET /api/v3/order":
    case "GET /api/v3/orderList":
    case "PUT /api/v3/order/amend/keepPriority":
    case "GET /api/v3/order/amendments":
      return 4;
    case "GET /api/v3/executionRules": {
      // 2 a symbol, at most 40; 40 for every market or a status
      const n = one ? 1 : symbols_count(q);
      return n === 0 ? 40 : Math.min(40, 2 * n);
    }
    case "GET /holdfast/v1/reserves/proof":
      return 10;
    case "GET /holdfast/v1/reserves/audits":
      return 5;
    case "GET /holdfast/v1/reserves":
    case "GET /api/v3/klines":
    case "GET /api/v3/uiKlines":
    case "GET /api/v3/avgPrice":
    case "GET /api/v3/referencePrice":
    case "GET /api/v3/referencePrice/calculation":
    case "POST /api/v3/userDataStream":
    case "PUT /api/v3/userDataStream":
    case "DELETE /api/v3/userDataStream":
      return 2;
    case "GET /api/v3/ticker/24hr": {
      // 2 for 1-20 symbols, 40 for 21-100, 80 for every market
      const n = one ? 1 : symbols_count(q);
      return n === 0 ? 80 : n <= 20 ? 2 : n <= 100 ? 40 : 80;
    }
    case "GET /api/v3/ticker":
    case "GET /api/v3/ticker/tradingDay": {
      // 4 a symbol, at most 200
      const n = one ? 1 : symbols_count(q);
      return Math.min(200, 4 * Math.max(1, n));
    }
    case "GET /api/v3/ticker/price":
    case "GET /api/v3/ticker/bookTicker":
      return one ? 2 : 4;
    case "GET /api/v3/openOrders":
      return one ? 6 : 80;
    case "GET /api/v3/openOrderList":
      return 6;
    case "GET /api/v3/rateLimit/order":
    case "GET /api/v3/myFilters":
      return 40;
    case "POST /api/v3/order/test":
      return q.get("computeCommissionRates") === "true" ? 20 : 1;
    case "GET /api/v3/myPreventedMatches":
      return q.has("orderId") ? 20 : 2;
    case "GET /api/v3/allOrders":
    case "GET /api/v3/allOrderList":
    case "GET /api/v3/myTrades":
    case "GET /api/v3/account":
    case "GET /api/v3/account/commission":
      return 20;
    case "GET /sapi/v1/capital/config/getall":
    case "GET /sapi/v1/margin/isolated/allPairs":
      return 10;
    default:
      return 1;
  }
}

/** Mean event-loop delay over a sample above which new orders are shed (see the under-pressure hook). */
// High enough that a busy shared machine (the test suite on two cores) has not tripped it; real overload
// drives the delay to seconds within a second (docs/BENCHMARKS.md).
const PRESSURE_EVENT_LOOP_DELAY_MS = 200;
const PRESSURE_SAMPLE_MS = 50;
const PRESSURE_WARM_UP_MS = 1000;

export async function start_public_server(
  node: ExchangeNode,
  options: PublicServerOptions,
): Promise<FastifyInstance> {
  const request_timeout_ms = options.request_timeout_ms ?? REQUEST_TIMEOUT_MS;
  const trust = options.trust_proxy === undefined ? null : trust_proxy(options.trust_proxy);
  const app = Fastify({
    logger: false,
    // request.ip: the client's address, through the trusted proxies only
    ...(trust === null ? {} : { trustProxy: trust }),
    bodyLimit: BODY_BYTES_MAX,
    // A request that has not fully arrived within this is answered 408 and its connection closed:
    // a client trickling a body (or headers) cannot hold one of the limited connections for ever.
    // WebSocket connections are not requests once upgraded and are not concerned. Node applies it
    // only when given at construction (`http`; setting it later, as Fastify's own option does, has
    // no effect once the server was made with another value), checked every second.
    requestTimeout: request_timeout_ms,
    http: { requestTimeout: request_timeout_ms, connectionsCheckingInterval: 1000 },
    // the web API's JSON schemas refuse unknown fields rather than drop them (Fastify's default)
    ajv: { customOptions: { removeAdditional: false } },
    // Binance's parameter rules (duplicates, unread names) need the raw query string, which
    // parse_params reads; no route here reads Fastify's parsed `request.query`, so it is not made.
    routerOptions: { querystringParser: () => ({}) },
    // Requests Node's HTTP parser refuses (a URL or headers over 16 KiB, malformed HTTP) still get a
    // Binance-style JSON answer rather than an empty one.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const code = (error as { code?: string }).code;
      const too_big = code === "HPE_HEADER_OVERFLOW";
      const late = code === "ERR_HTTP_REQUEST_TIMEOUT";
      const body = JSON.stringify({
        code: -1100,
        msg: too_big
          ? "Request header or URL too large."
          : late
            ? `Request not received in full within ${request_timeout_ms} ms.`
            : "Malformed request.",
      });
      // the answer to a HEAD request has no body, even when the rest of the request was malformed
      const raw = (error as unknown as { rawPacket?: unknown }).rawPacket;
      const head = Buffer.isBuffer(raw) && raw.subarray(0, 5).toString("latin1") === "HEAD ";
      socket.end(
        `HTTP/1.1 ${too_big ? "431 Request Header Fields Too Large" : late ? "408 Request Timeout" : "400 Bad Request"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${head ? "" : body}`,
      );
    },
  });
  // Bodies are kept raw: a form body is part of what a client signs.
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_r, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_r, _body, done) => done(null, ""));
  let serving_since_ms = Number.POSITIVE_INFINITY;
  // Load shedding: when the event loop falls behind (requests wait in socket buffers before any
  // handler sees them), new orders are refused at once, before body, signature or validation work,
  // so that the orders let in are not the ones stuck at the back of a queue. Cancels, queries and
  // market data still go through: they are how a trader gets out of the market.
  await app.register(underPressure, {
    maxEventLoopDelay: PRESSURE_EVENT_LOOP_DELAY_MS,
    sampleInterval: PRESSURE_SAMPLE_MS,
    // answering here ends the request (Fastify runs no handler after a hook has replied)
    pressureHandler: (request, reply) => {
      if (request.method !== "POST" || !request.url.startsWith("/api/v3/order")) return;
      // the delay sampled before and just after listening is start-up work (replay, compiling
      // routes), not load: a restarted node must not refuse the retries it is about to get
      if (Date.now() - serving_since_ms < PRESSURE_WARM_UP_MS) return;
      reply.code(429).header("Retry-After", "1").send({ code: -1003, msg: "Too many requests queued." });
    },
  });

  const metrics = options.metrics ?? null;
  if (metrics !== null)
    // every answer, refusals by the load shedder and unknown paths included (route "unmatched": the
    // label holds route patterns, never raw paths, so a scan of random URLs adds no series)
    app.addHook("onResponse", (request, reply, done) => {
      metrics.http_answered(
        request.method,
        request.routeOptions.url ?? "unmatched",
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
      done();
    });

  const engine = node.engine;
  const limiter = new Limiter(options.limit_tiers, options.anonymous_tier, options.clock_ms);
  /** The tier whose ceilings a request meets: its key's, if it names a known key (no signature check yet). */
  const tier_of = (headers: FastifyRequest["headers"]): string => {
    const header = headers["x-mbx-apikey"];
    const key = typeof header === "string" ? engine.api_keys.by_key.get(header) : undefined;
    return key?.tier ?? options.anonymous_tier;
  };
  const market = (params: Params): Market => {
    const symbol = required(params, "symbol");
    const id = engine.market_by_symbol.get(symbol);
    if (id === undefined) throw bad(-1121, "Invalid symbol.");
    return engine.markets[id];
  };

  /** Every route's handler, for the WebSocket API, which runs the same ones. */
  const routes = new Map<string, RouteEntry>();
  const route = (
    method: "GET" | "POST" | "DELETE" | "PUT",
    url: string,
    read: string[],
    handler: Handler,
  ): void => {
    const read_set = new Set(read);
    const name = `${method} ${url}`;
    routes.set(name, { read: read_set, handler, weight: (p) => request_weight(name, p.values) });
    app.route({
      method,
      url,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const q = request.url.indexOf("?");
        const query = q < 0 ? "" : request.url.slice(q + 1);
        const form = typeof request.body === "string" ? request.body : "";
        // Weight is charged before anything else, malformed requests included (as Binance does):
        // an unparsable request is weighed by what its query string says.
        let params: Params;
        try {
          params = parse_params(query, form);
        } catch (error) {
          const weight = request_weight(name, new URLSearchParams(query));
          const used = limiter.charge_weight(request.ip, weight, tier_of(request.headers));
          reply.header("X-MBX-USED-WEIGHT-1M", String(used));
          throw error;
        }
        const weight = request_weight(name, params.values);
        const used = limiter.charge_weight(request.ip, weight, tier_of(request.headers));
        reply.header("X-MBX-USED-WEIGHT-1M", String(used));
        const unit = time_unit_refusal("X-MBX-TIME-UNIT", request.headers["x-mbx-time-unit"]);
        if (unit !== null) throw unit;
        check_read(params, read_set);
        const result = await handler(params, request, { query, body: form }, reply);
        if (!(result instanceof RawJson)) return result;
        reply.type("application/json; charset=utf-8");
        return result.text;
      },
    });
  };

  app.setErrorHandler((error, _request, reply) => {
    const known = known_failure(error);
    if (known !== null) {
      reply.code(known.http_status).headers(known.headers).send(known.error);
      return;
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 413) return void reply.code(413).send({ code: -1100, msg: "Request body too large." });
    if (status !== undefined && status >= 400 && status < 500)
      return void reply.code(400).send({ code: -1100, msg: "Malformed request." });
    reply.code(500).send({ code: -1000, msg: "An unknown error occurred while processing the request." });
  });
  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send({ code: -1000, msg: "Unknown endpoint." });
  });

  route("GET", "/api/v3/ping", [], () => ({}));
  route("GET", "/api/v3/time", [], () => ({ serverTime: options.clock_ms() }));
  route("GET", "/sapi/v1/system/status", [], () =>
    engine.maintenance ? { status: 1, msg: "system_maintenance" } : { status: 0, msg: "normal" },
  );
  // Holdfast's own: the exchange-wide switches Binance's API has no public place for, and every
  // market's mode by its real name (exchangeInfo folds POST_ONLY into TRADING). The status service
  // reads this; it is the exchange's word on what it is doing.
  route("GET", "/holdfast/v1/modes", [], () => ({
    maintenance: engine.maintenance,
    // this node's own: "paused" while it cannot make new commands durable (a nearly full disk, a
    // failed journal write); the reason is in its log
    order_entry: node.writes_refused === null ? "open" : "paused",
    deposits_paused: engine.deposits_paused,
    withdrawals_paused: engine.withdrawals_paused,
    markets: engine.markets.map((m) => ({ symbol: m.config.symbol, mode: MARKET_STATUS_NAMES[m.status] })),
  }));

  route(
    "GET",
    "/api/v3/exchangeInfo",
    ["symbol", "symbols", "permissions", "symbolStatus", "showPermissionSets"],
    (p) => {
      const selected = select_markets(p, engine.markets, (s) => engine.market_by_symbol.get(s));
      return { ...exchange_info(engine, selected, options.clock_ms()), rateLimits: limiter.describe() };
    },
  );

  route("GET", "/api/v3/depth", ["symbol", "limit"], (p) => {
    const m = market(p);
    const limit = Math.min(
      integer(p, "limit", 1, Number.MAX_SAFE_INTEGER) ?? DEPTH_LIMIT_DEFAULT,
      DEPTH_LIMIT_MAX,
    );
    return depth(engine, m, limit);
  });

  // Binance's Price Range Execution Rule (engine/reference.ts): the rules, the reference price and how
  // it is calculated
  route("GET", "/api/v3/executionRules", ["symbol", "symbols", "symbolStatus"], (p) =>
    execution_rules(select_markets(p, engine.markets, (s) => engine.market_by_symbol.get(s))),
  );
  route("GET", "/api/v3/referencePrice", ["symbol"], (p) => {
    const answer = reference_price(engine, market(p), options.clock_ms());
    if (answer === undefined) throw new ApiError(400, NO_REFERENCE);
    return answer;
  });
  route("GET", "/api/v3/referencePrice/calculation", ["symbol", "symbolStatus"], (p) => {
    const m = market(p);
    const status = p.values.get("symbolStatus");
    if (status !== undefined) {
      if (!["TRADING", "HALT", "BREAK"].includes(status))
        throw bad(
          -1100,
          "Illegal characters found in parameter 'symbolStatus'; legal range is 'TRADING, HALT, BREAK'.",
        );
      if (symbol_status(m) !== status)
        throw bad(-1220, "The symbol's status does not match the requested symbolStatus.");
    }
    const answer = reference_calculation(m);
    if (answer === undefined) throw new ApiError(400, NO_REFERENCE);
    return answer;
  });

  route("GET", "/api/v3/ticker/price", ["symbol", "symbols"], (p) => {
    if (p.values.has("symbol") && !p.values.has("symbols")) return ticker_price(market(p));
    return select_markets(p, engine.markets, (s) => engine.market_by_symbol.get(s)).map(ticker_price);
  });

  route("GET", "/api/v3/ticker/bookTicker", ["symbol", "symbols"], (p) => {
    if (p.values.has("symbol") && !p.values.has("symbols")) return book_ticker(engine, market(p));
    return select_markets(p, engine.markets, (s) => engine.market_by_symbol.get(s)).map((m) =>
      book_ticker(engine, m),
    );
  });

  const history = options.history;
  if (history !== null) {
    /** Binance's timeZone (klines, tradingDay), in ms east of UTC; UTC when absent. */
    const time_zone = (p: Params): number => {
      const zone = p.values.get("timeZone");
      const zone_ms = zone === undefined ? 0 : parse_time_zone(zone);
      if (zone_ms === null)
        throw bad(
          -1100,
          "Illegal characters found in parameter 'timeZone'; legal range is '[-12:00 to +14:00]'.",
        );
      return zone_ms;
    };
    const range = (p: Params, id_name: string | null, max: number, def: number) => ({
      from_id: id_name === null ? undefined : integer(p, id_name, 0, Number.MAX_SAFE_INTEGER),
      start_ms: integer(p, "startTime", 0, Number.MAX_SAFE_INTEGER),
      end_ms: integer(p, "endTime", 0, Number.MAX_SAFE_INTEGER),
      limit: integer(p, "limit", 1, max) ?? def,
    });
    /** A page of public trades (trades, historicalTrades, aggTrades), made into JSON on the reader thread. */
    const trades_page = async (p: Params, id_name: string | null, shape: PublicShape) => {
      const m = market(p);
      const q = range(p, id_name, 1000, 500);
      return new RawJson(await history.market_trades_text(m.id, q, shape, market_format(engine, m)));
    };
    route("GET", "/api/v3/trades", ["symbol", "limit"], (p) => trades_page(p, null, "trades"));
    route("GET", "/api/v3/historicalTrades", ["symbol", "limit", "fromId"], (p) =>
      trades_page(p, "fromId", "trades"),
    );
    route("GET", "/api/v3/aggTrades", ["symbol", "fromId", "startTime", "endTime", "limit"], (p) =>
      trades_page(p, "fromId", "agg_trades"),
    );
    // uiKlines: Binance's candles "for presentation" (quiet intervals filled); Holdfast's klines are
    // already filled the same way, so both answer alike.
    for (const url of ["/api/v3/klines", "/api/v3/uiKlines"])
      route("GET", url, ["symbol", "interval", "startTime", "endTime", "timeZone", "limit"], (p) => {
        const m = market(p);
        const interval = required(p, "interval");
        if (!(interval in INTERVALS)) throw bad(-1120, "Invalid interval.");
        const q = range(p, null, 1000, 500);
        const now_ms = options.clock_ms();
        return klines(engine, m, history, interval, { ...q, zone_ms: time_zone(p), now_ms });
      });
    route("GET", "/api/v3/avgPrice", ["symbol"], (p) => avg_price(market(p), history, options.clock_ms()));
    /** FULL (the default) or MINI. */
    const mini = (p: Params): boolean => {
      const type = p.values.get("type") ?? "FULL";
      if (type !== "FULL" && type !== "MINI")
        throw bad(-1100, "Illegal characters found in parameter 'type'; legal range is 'FULL, MINI'.");
      return type === "MINI";
    };
    /** One object for `symbol`, an array otherwise (Binance's shapes). */
    const per_market = async <T>(p: Params, one: (m: Market) => Promise<T>): Promise<T | T[]> => {
      if (p.values.has("symbol") && !p.values.has("symbols")) return one(market(p));
      return Promise.all(select_markets(p, engine.markets, (s) => engine.market_by_symbol.get(s)).map(one));
    };
    route("GET", "/api/v3/ticker/24hr", ["symbol", "symbols", "type"], (p) => {
      const now = options.clock_ms();
      const is_mini = mini(p);
      return per_market(p, (m) =>
        is_mini ? ticker_24hr_mini(engine, m, history, now) : ticker_24hr(engine, m, history, now),
      );
    });
    route("GET", "/api/v3/ticker/tradingDay", ["symbol", "symbols", "timeZone", "type"], (p) => {
      if (!p.values.has("symbol") && !p.values.has("symbols"))
        throw bad(-1102, "Param 'symbol' or 'symbols' must be sent, but both were empty/null!");
      const now = options.clock_ms();
      const zone_ms = time_zone(p);
      const is_mini = mini(p);
      return per_market(p, (m) => trading_day_ticker(engine, m, history, now, zone_ms, is_mini));
    });
    route("GET", "/api/v3/ticker", ["symbol", "symbols", "windowSize", "type"], (p) => {
      if (!p.values.has("symbol") && !p.values.has("symbols"))
        throw bad(-1102, "Param 'symbol' or 'symbols' must be sent, but both were empty/null!");
      const window_ms = window_size_ms(p.values.get("windowSize") ?? "1d");
      if (window_ms === null)
        throw bad(
          -1100,
          "Illegal characters found in parameter 'windowSize'; legal range is '1m-59m, 1h-23h, 1d-7d'.",
        );
      const now = options.clock_ms();
      const is_mini = mini(p);
      return per_market(p, (m) =>
        is_mini
          ? rolling_ticker_mini(engine, m, history, now, window_ms)
          : rolling_ticker(engine, m, history, now, window_ms),
      );
    });
  }

  if (options.auth !== null && options.history !== null)
    register_trading(route, node, options.auth, market, options.history, limiter, options.in_flight_max);

  const user =
    options.auth === null
      ? null
      : {
          keys: new ListenKeys(node, options.auth.master, options.clock_ms, options.listen_key_ttl_ms),
          events: new UserEvents(engine, options.history),
        };
  const auth = options.auth;
  if (auth !== null && user !== null) {
    // listenKey user data streams: a key, no signature (Binance's USER_STREAM security)
    route("POST", "/api/v3/userDataStream", [], async (_p, request) => ({
      listenKey: await user.keys.open(auth.key_only(request.headers, request.ip).account),
    }));
    // A key that is not the caller's live one: Binance's -1125, nothing journaled for a malformed one.
    const unknown = () => bad(-1125, "This listenKey does not exist.");
    route("PUT", "/api/v3/userDataStream", ["listenKey"], async (p, request) => {
      const account = auth.key_only(request.headers, request.ip).account;
      if (!(await user.keys.keep_alive(required(p, "listenKey"), account))) throw unknown();
      return {};
    });
    route("DELETE", "/api/v3/userDataStream", ["listenKey"], async (p, request) => {
      const account = auth.key_only(request.headers, request.ip).account;
      if (!(await user.keys.close(required(p, "listenKey"), account))) throw unknown();
      return {};
    });
  }

  if (options.web) {
    await register_web_api(app, node, options.web.master, options.web.sessions, options.web.options);
    await register_app(app, options.web.options.status_url);
  }

  // Market streams share the port: /ws/…, /stream?streams=…
  const streams = new MarketStreams(
    engine,
    options.clock_ms,
    options.history,
    user,
    options.ping_interval_ms,
    options.connection_lifetime_ms,
  );
  streams.client_ip = (request) => client_ip(request, trust);
  streams.attach(app.server);
  // Binance: 300 connection attempts per IP per 5 minutes to each of the two; connecting to the
  // WebSocket API also costs 2 request weight.
  streams.admit = (ip, service) => {
    limiter.charge_connection(ip, service);
    if (service === "ws_api") limiter.charge_weight(ip, WS_API_CONNECT_WEIGHT);
  };
  if (auth !== null) {
    const ws_api = new WsApi(
      routes,
      auth,
      limiter,
      new UserEvents(engine, options.history),
      options.clock_ms,
      options.ping_interval_ms,
      options.connection_lifetime_ms,
    );
    streams.ws_api = (request, socket, head, ip) => ws_api.upgrade(request, socket, head, ip);
    ws_api.metrics = metrics;
    metrics?.count_connections(() => {
      const s = streams.counts;
      const w = ws_api.counts;
      return {
        streams: s.connections,
        stream_subscriptions: s.subscriptions,
        ws_api: w.sessions,
        ws_api_user_streams: w.user_streams,
      };
    });
    node.on_applied((_seq, time_ms, events) => ws_api.on_events(time_ms, events));
    app.addHook("preClose", (done) => {
      ws_api.close();
      done();
    });
  }
  node.on_applied((seq, time_ms, events) => streams.on_events(seq, time_ms, events));
  // orders that trade stop counting against the order limits (Binance's unfilled order count)
  node.on_applied((_seq, _time_ms, events) => {
    for (const account of first_fills(events)) limiter.credit_first_fill(account);
  });
  app.addHook("preClose", (done) => {
    streams.close();
    done();
  });

  options.extra_routes?.(app);
  // (see server/connections.ts: a flood of idle connections must not take the journal's file
  // descriptors, nor one address every slot)
  cap_connections(app.server, options.connections_per_ip ?? CONNECTIONS_PER_IP_DEFAULT, trust);
  await app.listen({ host: options.host, port: options.port });
  serving_since_ms = Date.now();
  return app;
}

const SYMBOLS_MAX = 100;

/** symbol=X, symbols=["X","Y"] (JSON), symbolStatus=S, or all markets. */
function select_markets(p: Params, markets: Market[], lookup: (s: string) => number | undefined): Market[] {
  const symbol = p.values.get("symbol");
  const symbols = p.values.get("symbols");
  const status = p.values.get("symbolStatus");
  if ([symbol, symbols, status].filter((x) => x !== undefined).length > 1)
    throw bad(-1128, "Combination of optional parameters invalid.");
  const by_name = (s: string): Market => {
    const id = lookup(s);
    if (id === undefined) throw bad(-1121, "Invalid symbol.");
    return markets[id];
  };
  if (symbol !== undefined) return [by_name(symbol)];
  if (symbols !== undefined) {
    let list: unknown;
    try {
      list = JSON.parse(symbols);
    } catch {
      list = null;
    }
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.length > SYMBOLS_MAX ||
      !list.every((s) => typeof s === "string")
    )
      throw bad(
        -1100,
        "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.",
      );
    return (list as string[]).map(by_name);
  }
  if (status !== undefined) {
    if (!["TRADING", "HALT", "BREAK", "CANCEL_ONLY"].includes(status))
      throw bad(-1100, "Illegal characters found in parameter 'symbolStatus'.");
    return markets.filter((m) => symbol_status(m) === status);
  }
  return markets;
}
