/**
 * WebSocket market streams (Binance Spot): /ws/<stream>, /ws/<anything> with SUBSCRIBE, UNSUBSCRIBE
 * and LIST_SUBSCRIPTIONS, and combined streams at /stream?streams=a/b ({stream, data}). Streams today:
 * <symbol>@trade, @aggTrade, @depth and @depth@100ms (diffs with U/u: the engine's book update ids
 * are contiguous per market, so a client can sync with the REST snapshot as Binance documents),
 * @depth5/10/20 (and @100ms), @bookTicker. Server pings every 20 s; a graceful stop sends
 * serverShutdown first. Limits: subscriptions per connection, message size and rate, connections.
 */
import { type IncomingMessage, type Server, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { Engine } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";
import type { Market } from "../engine/market.js";
import { SIDE_BUY } from "../engine/types.js";
import type { Buckets, Candle, History } from "../projections/history.js";
import {
  avg_price,
  INTERVALS,
  kline_candles,
  rolling_ticker,
  ticker_24hr,
  window_size_ms,
} from "./history_data.js";
import { kline_row, market_format } from "./history_json.js";
import { depth, price_str, qty_str, reference_price } from "./market_data.js";
import { ApiError, time_unit_refusal } from "./params.js";
import type { ListenKeys, UserEvents } from "./user_data.js";

/** Answers an upgrade request with a Binance error as plain HTTP (no WebSocket is opened) and ends it. */
function refuse_upgrade(socket: Duplex, e: ApiError): void {
  const body = JSON.stringify(e.error);
  const headers = Object.entries(e.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.end(
    `HTTP/1.1 ${e.http_status} ${STATUS_CODES[e.http_status] ?? ""}\r\nConnection: close\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`,
  );
}

/** Internal name of an account's user data stream (no client can subscribe to it by name). */
const USER_STREAM_PREFIX = " user ";
const user_stream = (account: number): string => `${USER_STREAM_PREFIX}${account}`;

/** The kline streams' zones: UTC, and Binance's `@+08:00` (UTC+8). */
const KLINE_ZONES: readonly (readonly [string, number])[] = [
  ["", 0],
  ["@+08:00", 8 * 3_600_000],
];

/** A Binance kline event. Trade ids -1 for a kline without trades. */
function kline_event(
  e: Engine,
  m: Market,
  interval: string,
  b: Buckets,
  c: Candle,
  now: number,
  closed: boolean,
) {
  const k = kline_row(market_format(e, m), b, c);
  return {
    e: "kline",
    E: now,
    s: m.config.symbol,
    k: {
      t: k[0],
      T: k[6],
      s: m.config.symbol,
      i: interval,
      f: c.first_id,
      L: c.last_id,
      o: k[1],
      c: k[4],
      h: k[2],
      l: k[3],
      v: k[5],
      n: k[8],
      x: closed,
      q: k[7],
      V: k[9],
      Q: k[10],
      B: "0",
    },
  };
}

/**
 * The names in /stream?streams=a/b. Read without form decoding: a '+' is itself, not a space, as in
 * Binance's `btcusdt@kline_1d@+08:00` (no stream name has a space).
 */
function combined_names(search: string): string[] {
  const m = /(?:^\?|&)streams=([^&]*)/.exec(search);
  if (m === null) return [];
  try {
    return decodeURIComponent(m[1]).split("/");
  } catch {
    return []; // a malformed escape names no stream
  }
}

const SUBSCRIPTIONS_PER_CONNECTION_MAX = 1024;
const MESSAGE_BYTES_MAX = 64 * 1024;
const MESSAGES_PER_SECOND_MAX = 5;
const CONNECTIONS_MAX = 20_000;
const PING_INTERVAL_MS = 20_000;
/**
 * Binance: a connection is valid for 24 hours; expect to be disconnected then. Bounds what one
 * connection can hold on to (subscriptions, listen keys) however well it answers pings; clients
 * reconnect (ccxt and @binance/connector do by themselves).
 */
export const CONNECTION_LIFETIME_MS = 24 * 3_600_000;
/** A client that does not keep up is dropped rather than buffered without bound. */
const SEND_BUFFER_BYTES_MAX = 4 * 1024 * 1024;

type Kind =
  | "trade"
  | "aggTrade"
  | "depth"
  | "depth100"
  | "partial"
  | "partial100"
  | "bookTicker"
  | "kline"
  | "ticker"
  | "miniTicker"
  | "rollingTicker"
  | "avgPrice"
  | "referencePrice";

/** The fields ending both the 24-hour and the rolling-window ticker events: volumes and the window. */
function window_fields(t: Awaited<ReturnType<typeof rolling_ticker>>) {
  return {
    v: t.volume,
    q: t.quoteVolume,
    O: t.openTime,
    C: t.closeTime,
    F: t.firstId,
    L: t.lastId,
    n: t.count,
  };
}

/** Binance's rolling-window ticker streams: <symbol>@ticker_<size> and !ticker_<size>@arr. */
const ROLLING_WINDOWS = ["1h", "4h", "1d"] as const;

interface Parsed {
  /** -1 for the all-market streams (!miniTicker@arr). */
  market: number;
  kind: Kind;
  levels: number;
  interval?: string;
}

interface Client {
  ws: WebSocket;
  /** The upgraded connection under `ws`: published frames, built once, are written to it directly. */
  socket: Duplex;
  combined: boolean;
  streams: Set<string>;
  /** Message timestamps (ms) of the last second, for the rate limit. */
  recent: number[];
  alive: boolean;
  /** The listen key each of its user data streams came by (account → key): its name on the wire. */
  listen_keys: Map<number, string>;
  /** When it connected (the clock's ms): closed CONNECTION_LIFETIME_MS later. */
  opened_ms: number;
}

/** An unmasked, unfragmented server-to-client text frame (RFC 6455 §5.2) holding `text`. */
function text_frame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (head === 2) frame[1] = length;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, head, "utf8");
  return frame;
}

/** Depth changes gathered for one window (100 ms or 1 s) of one market. */
class DepthWindow {
  first_id = 0;
  last_id = 0;
  readonly bids = new Map<number, number>();
  readonly asks = new Map<number, number>();
  take(): { U: number; u: number; bids: Map<number, number>; asks: Map<number, number> } | null {
    if (this.first_id === 0) return null;
    const out = { U: this.first_id, u: this.last_id, bids: new Map(this.bids), asks: new Map(this.asks) };
    this.first_id = 0;
    this.bids.clear();
    this.asks.clear();
    return out;
  }
}

export class MarketStreams {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MESSAGE_BYTES_MAX });
  private readonly clients = new Set<Client>();
  /** Subscribers per stream name. */
  private readonly subscribers = new Map<string, Set<Client>>();
  private readonly fast: DepthWindow[] = [];
  private readonly slow: DepthWindow[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private last_top: string[] = [];

  /** Open user data streams (/ws/<listenKey>) across all clients. */
  private user_subscriptions = 0;
  /** The clients on each listen key: told when it expires, and cut off when it ends. */
  private readonly by_listen_key = new Map<string, Set<Client>>();

  /** Open connections and their subscriptions, user data streams included (the node's metrics). */
  get counts(): { connections: number; subscriptions: number } {
    let subscriptions = 0;
    for (const set of this.subscribers.values()) subscriptions += set.size;
    return { connections: this.clients.size, subscriptions };
  }

  /** Where /ws-api/v3 upgrades go (the WebSocket API shares the port). */
  ws_api: ((request: IncomingMessage, socket: Duplex, head: Buffer, ip: string) => void) | null = null;

  /** A request's client address (its socket's, or through trusted proxies the forwarded one). */
  client_ip: (request: IncomingMessage) => string = (request) => request.socket.remoteAddress ?? "";

  /**
   * Asked before a WebSocket handshake to the market streams or the WebSocket API is accepted
   * (connection-attempt limits); an ApiError it throws is the HTTP answer instead of the handshake.
   */
  admit: ((ip: string, service: "streams" | "ws_api") => void) | null = null;

  /** Per kline stream, the open time of the candle last sent (to send it once more, closed). */
  private readonly kline_open = new Map<string, number>();

  constructor(
    private readonly engine: Engine,
    private readonly clock_ms: () => number,
    private readonly history: History | null,
    /** User data streams (/ws/<listenKey>), when the server has signed endpoints. */
    private readonly user: { keys: ListenKeys; events: UserEvents } | null = null,
    /** A client that has not answered a ping by the next one is dropped. */
    ping_interval_ms: number = PING_INTERVAL_MS,
    /** How long a connection may live (checked at each ping round). */
    private readonly connection_lifetime_ms: number = CONNECTION_LIFETIME_MS,
  ) {
    if (user !== null)
      user.keys.on_end = (key, account, expired) => this.listen_key_ended(key, account, expired);
    this.timers.push(setInterval(() => this.tick(true), 100));
    this.timers.push(setInterval(() => this.tick(false), 1000));
    this.timers.push(setInterval(() => this.ping(), ping_interval_ms));
    for (const t of this.timers) t.unref();
  }

  /** Takes WebSocket upgrades for /ws… and /stream… from the HTTP server. */
  attach(server: Server): void {
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      // A throw here is outside any request handler: it would end the process. A target that is no
      // URL ("//", "//[") is refused, and so is anything else this code did not foresee.
      try {
        this.upgrade(request, socket, head);
      } catch {
        socket.destroy();
      }
    });
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    let url: URL;
    try {
      url = new URL(request.url ?? "/", "http://x");
    } catch {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      return;
    }
    const ip = this.client_ip(request);
    const unit = time_unit_refusal("timeUnit", url.searchParams.get("timeUnit"));
    if (unit !== null) return void refuse_upgrade(socket, unit);
    if (url.pathname === "/ws-api/v3" && this.ws_api !== null) {
      if (this.refused(ip, "ws_api", socket)) return;
      this.ws_api(request, socket, head, ip);
      return;
    }
    const raw = url.pathname.startsWith("/ws/") || url.pathname === "/ws";
    const combined = url.pathname === "/stream";
    if ((!raw && !combined) || url.pathname.startsWith("/ws-api")) {
      socket.destroy();
      return;
    }
    if (this.refused(ip, "streams", socket)) return;
    if (this.clients.size >= CONNECTIONS_MAX) {
      socket.end("HTTP/1.1 429 Too Many Requests\r\n\r\n");
      return;
    }
    const initial = raw
      ? url.pathname
          .slice(4)
          .split("/")
          .filter((s) => s.length > 0)
      : combined_names(url.search).filter((s) => s.length > 0);
    this.wss.handleUpgrade(request, socket, head, (ws) => this.connect(ws, socket, combined, initial));
  }

  /** True when `admit` refused the attempt; the refusal has then been written and the socket ended. */
  private refused(ip: string, service: "streams" | "ws_api", socket: Duplex): boolean {
    try {
      this.admit?.(ip, service);
      return false;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      refuse_upgrade(socket, e);
      return true;
    }
  }

  private connect(ws: WebSocket, socket: Duplex, combined: boolean, initial: string[]): void {
    const client: Client = {
      ws,
      socket,
      combined,
      streams: new Set(),
      recent: [],
      alive: true,
      listen_keys: new Map(),
      opened_ms: this.clock_ms(),
    };
    this.clients.add(client);
    // A raw /ws/<name> path may be any name (ccxt opens /ws/0); only valid stream names subscribe.
    for (const name of initial.slice(0, SUBSCRIPTIONS_PER_CONNECTION_MAX)) {
      if (this.parse(name) !== null) this.subscribe(client, name);
      else {
        // /ws/<listenKey>: that account's user data
        const account = this.user?.keys.account(name) ?? null;
        if (account === null && this.user?.keys.ours(name) === true) {
          // a key of ours that has ended (a client reconnecting after its keepalives failed, an
          // outage say): told at once, as a stream on it is told when it expires, so the client
          // makes a new one instead of listening to silence
          this.tell_expired(client, name);
        }
        if (account !== null) {
          this.subscribe(client, user_stream(account));
          client.listen_keys.set(account, name);
          let clients = this.by_listen_key.get(name);
          if (clients === undefined) {
            clients = new Set();
            this.by_listen_key.set(name, clients);
          }
          clients.add(client);
        }
      }
    }
    ws.on("pong", () => {
      client.alive = true;
      this.over_rate(client);
    });
    // ws answers a ping by itself; counted so that a flood of them is cut off like a flood of requests
    ws.on("ping", () => this.over_rate(client));
    ws.on("message", (data, is_binary) => this.message(client, data.toString(), is_binary));
    ws.on("close", () => this.disconnect(client));
    ws.on("error", () => this.disconnect(client));
  }

  private disconnect(client: Client): void {
    if (!this.clients.delete(client)) return;
    for (const key of client.listen_keys.values()) this.forget_listen_key(client, key);
    for (const name of client.streams) if (name.startsWith(USER_STREAM_PREFIX)) this.user_subscriptions--;
    for (const name of client.streams) this.subscribers.get(name)?.delete(client);
  }

  private message(client: Client, text: string, is_binary: boolean): void {
    let answer: unknown;
    try {
      answer = this.handle(client, text, is_binary);
    } catch {
      // A message must never take the node down (an uncaught throw in a socket's handler ends the
      // process); a request this code did not foresee ends only its own connection.
      client.ws.close(1011, "Internal error");
      return;
    }
    if (answer !== null) this.reply(client, answer);
  }

  /**
   * Counts one incoming message (a JSON request, or a ping or pong frame: Binance counts all three)
   * and closes the connection past MESSAGES_PER_SECOND_MAX in the last second; true if it did.
   */
  private over_rate(client: Client): boolean {
    const now = this.clock_ms();
    client.recent = client.recent.filter((t) => now - t < 1000);
    client.recent.push(now);
    if (client.recent.length <= MESSAGES_PER_SECOND_MAX) return false;
    client.ws.close(1008, "Too many requests");
    return true;
  }

  /** The reply to one client message, or null when the connection was closed instead. */
  private handle(client: Client, text: string, is_binary: boolean): unknown {
    if (this.over_rate(client)) return null;
    let parsed: unknown;
    try {
      parsed = is_binary ? {} : JSON.parse(text);
    } catch {
      return {
        error: { code: 3, msg: "Invalid JSON: expected value at line 1 column 1" },
        id: null,
      };
    }
    // valid JSON that is not an object ("null", 5, [..]) is no request (reading its fields would throw)
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      return { error: { code: 2, msg: "Invalid request: expected a JSON object" }, id: null };
    const request = parsed as { method?: unknown; params?: unknown; id?: unknown };
    const id = request.id ?? null;
    if (!(id === null || typeof id === "number" || typeof id === "string"))
      return {
        error: { code: 2, msg: "Invalid request: request ID must be an unsigned integer" },
        id: null,
      };
    const params = request.params;
    switch (request.method) {
      case "SUBSCRIBE":
      case "UNSUBSCRIBE": {
        if (!Array.isArray(params) || !params.every((p) => typeof p === "string"))
          return {
            error: { code: 2, msg: "Invalid request: params must be an array of strings" },
            id,
          };
        for (const name of params as string[])
          if (this.parse(name) === null)
            return {
              error: { code: 2, msg: `Invalid request: unknown stream ${name.slice(0, 64)}` },
              id,
            };
        if (request.method === "SUBSCRIBE") {
          const added = (params as string[]).filter((n) => !client.streams.has(n)).length;
          if (client.streams.size + added > SUBSCRIPTIONS_PER_CONNECTION_MAX)
            return {
              error: {
                code: 2,
                msg: `Invalid request: too many subscriptions (max ${SUBSCRIPTIONS_PER_CONNECTION_MAX})`,
              },
              id,
            };
          for (const name of params as string[]) this.subscribe(client, name);
        } else {
          for (const name of params as string[]) {
            client.streams.delete(name);
            this.subscribers.get(name)?.delete(client);
          }
        }
        return { result: null, id };
      }
      case "LIST_SUBSCRIPTIONS":
        return { result: [...client.streams].map((n) => this.wire_name(client, n)), id };
      default:
        return { error: { code: 2, msg: "Invalid request: unknown method" }, id };
    }
  }

  private reply(client: Client, body: unknown): void {
    this.send(client, JSON.stringify(body));
  }

  /**
   * A listen key ended: its streams get no more events. Expired (no keepalive for 60 minutes), its
   * clients are told first, as Binance tells them (listenKeyExpired; a client then makes a new one);
   * closed by its owner (DELETE userDataStream), they are not.
   */
  private listen_key_ended(key: string, account: number, expired: boolean): void {
    const clients = this.by_listen_key.get(key);
    if (clients === undefined) return;
    for (const client of [...clients]) {
      if (expired) {
        this.tell_expired(client, key);
      }
      const name = user_stream(account);
      if (client.streams.delete(name)) this.user_subscriptions--;
      this.subscribers.get(name)?.delete(client);
      this.forget_listen_key(client, key);
    }
  }

  /** Binance's listenKeyExpired for `key`, as the client's connection frames its events. */
  private tell_expired(client: Client, key: string): void {
    const event = { e: "listenKeyExpired", E: this.clock_ms(), listenKey: key };
    this.send(client, JSON.stringify(client.combined ? { stream: key, data: event } : event));
  }

  private forget_listen_key(client: Client, key: string): void {
    for (const [account, k] of client.listen_keys) if (k === key) client.listen_keys.delete(account);
    const clients = this.by_listen_key.get(key);
    clients?.delete(client);
    if (clients?.size === 0) this.by_listen_key.delete(key);
  }

  /** A stream's name as its client knows it: a user data stream goes by its listen key. */
  private wire_name(client: Client, name: string): string {
    if (!name.startsWith(USER_STREAM_PREFIX)) return name;
    return client.listen_keys.get(Number(name.slice(USER_STREAM_PREFIX.length))) ?? name;
  }

  private send(client: Client, text: string | Buffer): void {
    if (!this.dropped_if_behind(client)) client.ws.send(text, { binary: false });
  }

  /** A client that does not keep up is dropped rather than buffered without bound; true if it was. */
  private dropped_if_behind(client: Client): boolean {
    if (client.ws.bufferedAmount <= SEND_BUFFER_BYTES_MAX) return false;
    client.ws.terminate();
    this.disconnect(client);
    return true;
  }

  private subscribe(client: Client, name: string): void {
    if (!client.streams.has(name) && name.startsWith(USER_STREAM_PREFIX)) this.user_subscriptions++;
    client.streams.add(name);
    let set = this.subscribers.get(name);
    if (set === undefined) {
      set = new Set();
      this.subscribers.set(name, set);
    }
    set.add(client);
  }

  /** "btcusdt@depth@100ms" → its market and kind, or null when it is not a stream this server has. */
  private parse(name: string): Parsed | null {
    if (name.length > 64) return null;
    if (name === "!miniTicker@arr")
      return this.history === null ? null : { market: -1, kind: "miniTicker", levels: 0 };
    const all = /^!ticker_(1h|4h|1d)@arr$/.exec(name);
    if (all !== null) return this.history === null ? null : { market: -1, kind: "rollingTicker", levels: 0 };
    const at = name.indexOf("@");
    if (at <= 0) return null;
    const market = this.engine.market_by_symbol.get(name.slice(0, at).toUpperCase());
    if (market === undefined || name.slice(0, at) !== name.slice(0, at).toLowerCase()) return null;
    const rest = name.slice(at + 1);
    const simple: Record<string, Kind> = {
      trade: "trade",
      aggTrade: "aggTrade",
      depth: "depth",
      "depth@1000ms": "depth",
      "depth@100ms": "depth100",
      bookTicker: "bookTicker",
      referencePrice: "referencePrice",
    };
    if (rest in simple) return { market, kind: simple[rest], levels: 0 };
    if (this.history !== null) {
      if (rest === "ticker") return { market, kind: "ticker", levels: 0 };
      if (rest === "miniTicker") return { market, kind: "miniTicker", levels: 0 };
      if (rest === "avgPrice") return { market, kind: "avgPrice", levels: 0 };
      if (/^ticker_(1h|4h|1d)$/.test(rest)) return { market, kind: "rollingTicker", levels: 0 };
      // Binance's kline streams, in UTC or (its one other zone) UTC+8
      const k = /^kline_(\w+)(@\+08:00)?$/.exec(rest);
      if (k !== null && k[1] in INTERVALS) return { market, kind: "kline", levels: 0, interval: k[1] };
    }
    const m = /^depth(5|10|20)(@100ms|@1000ms)?$/.exec(rest);
    if (m !== null)
      return { market, kind: m[2] === "@100ms" ? "partial100" : "partial", levels: Number(m[1]) };
    return null;
  }

  private publish(name: string, data: unknown): void {
    const set = this.subscribers.get(name);
    if (set === undefined || set.size === 0) return;
    // Encoded and framed once per stream, not once per client: a busy stream has thousands of
    // subscribers, and a 5,000-client @depth@100ms sends its whole tick in one loop of writes.
    let raw: Buffer | null = null;
    let wrapped: Buffer | null = null;
    const user = name.startsWith(USER_STREAM_PREFIX);
    for (const client of set) {
      if (client.combined && user) {
        // named by the client's listen key (rare: user data streams have one client or two)
        this.write_frame(client, text_frame(JSON.stringify({ stream: this.wire_name(client, name), data })));
      } else if (client.combined) {
        wrapped ??= text_frame(JSON.stringify({ stream: name, data }));
        this.write_frame(client, wrapped);
      } else {
        raw ??= text_frame(JSON.stringify(data));
        this.write_frame(client, raw);
      }
    }
  }

  /**
   * One whole prebuilt frame onto the client's connection, as ws.send would put it there: a single
   * write (ws.send frames each message again and writes header and payload with writev: measured
   * 10-18 µs per client against 9-10 µs here, on loopback). Safe beside ws's own sends since this
   * server never compresses (ws then writes each frame synchronously, whole); not after ws has
   * started closing, and bufferedAmount counts these bytes too (it reads the socket's buffer).
   */
  private write_frame(client: Client, frame: Buffer): void {
    if (client.ws.readyState !== client.ws.OPEN || this.dropped_if_behind(client)) return;
    client.socket.write(frame);
  }

  private stream_name(m: Market, suffix: string): string {
    return `${m.config.symbol.toLowerCase()}@${suffix}`;
  }

  /** Every applied command's events, in sequence order (the node's listener). */
  on_events(_seq: number, time_ms: number, events: readonly EngineEvent[]): void {
    // on the order path: user events are built only while some account's stream is open
    if (this.user !== null && this.user_subscriptions > 0)
      this.user.events.convert(time_ms, events, (account, event) => {
        const name = user_stream(account);
        if ((this.subscribers.get(name)?.size ?? 0) > 0) this.publish(name, event);
      });
    let touched: Set<number> | null = null;
    for (const e of events) {
      if (e.kind === "book") {
        for (const windows of [this.fast, this.slow]) {
          let w = windows[e.market];
          if (w === undefined) {
            w = new DepthWindow();
            windows[e.market] = w;
          }
          if (w.first_id === 0) w.first_id = e.update_id;
          w.last_id = e.update_id;
          (e.side === SIDE_BUY ? w.bids : w.asks).set(e.price_ticks, e.quantity_lots);
        }
        touched ??= new Set();
        touched.add(e.market);
      } else if (e.kind === "trade") {
        const m = this.engine.markets[e.market];
        const buyer_maker = e.taker_side !== SIDE_BUY;
        const symbol = m.config.symbol;
        const p = price_str(m, e.price_ticks);
        const q = qty_str(m, e.quantity_lots);
        this.publish(this.stream_name(m, "trade"), {
          e: "trade",
          E: time_ms,
          s: symbol,
          t: e.trade_id,
          p,
          q,
          T: e.time_ms,
          m: buyer_maker,
          M: true,
        });
        this.publish(this.stream_name(m, "aggTrade"), {
          e: "aggTrade",
          E: time_ms,
          s: symbol,
          a: e.trade_id,
          p,
          q,
          f: e.trade_id,
          l: e.trade_id,
          T: e.time_ms,
          m: buyer_maker,
          M: true,
        });
      }
    }
    if (touched !== null) for (const market of touched) this.book_ticker(market);
  }

  private book_ticker(market: number): void {
    const m = this.engine.markets[market];
    const pool = this.engine.levels;
    const bid = m.bids.best_level();
    const ask = m.asks.best_level();
    const top = `${bid === 0 ? 0 : pool.price_ticks[bid]}:${bid === 0 ? 0 : pool.quantity_lots[bid]}:${ask === 0 ? 0 : pool.price_ticks[ask]}:${ask === 0 ? 0 : pool.quantity_lots[ask]}`;
    if (this.last_top[market] === top) return;
    this.last_top[market] = top;
    const zero = "0.00000000";
    this.publish(this.stream_name(m, "bookTicker"), {
      u: m.book_update_id,
      s: m.config.symbol,
      b: bid === 0 ? zero : price_str(m, pool.price_ticks[bid]),
      B: bid === 0 ? zero : qty_str(m, pool.quantity_lots[bid]),
      a: ask === 0 ? zero : price_str(m, pool.price_ticks[ask]),
      A: ask === 0 ? zero : qty_str(m, pool.quantity_lots[ask]),
    });
  }

  private tick(fast: boolean): void {
    const now = this.clock_ms();
    if (!fast) {
      // read on the history's reader thread: a tick still reading when the next comes makes it skip
      if (!this.publishing_statistics) {
        this.publishing_statistics = true;
        this.publish_statistics(now)
          .catch(() => undefined) // a history that cannot answer now: the next second tries again
          .finally(() => {
            this.publishing_statistics = false;
          });
      }
      // the keys streams listen on, checked each second so that their expiry is told promptly
      // (the others expire when next used)
      if (this.user !== null) for (const key of [...this.by_listen_key.keys()]) this.user.keys.account(key);
    }
    const windows = fast ? this.fast : this.slow;
    for (const m of this.engine.markets) {
      if (!fast) {
        // Binance's <symbol>@referencePrice, once a second: r null when there is none
        const name = this.stream_name(m, "referencePrice");
        if ((this.subscribers.get(name)?.size ?? 0) > 0) {
          const ref = reference_price(this.engine, m, now);
          this.publish(name, {
            e: "referencePrice",
            s: m.config.symbol,
            r: ref?.referencePrice ?? null,
            t: ref?.timestamp ?? Math.max(now, this.engine.now_ms),
          });
        }
      }
      const w = windows[m.id]?.take() ?? null;
      if (w !== null) {
        const levels = (changes: Map<number, number>): [string, string][] =>
          [...changes].map(([price, qty]) => [price_str(m, price), qty_str(m, qty)]);
        const update = {
          e: "depthUpdate",
          E: now,
          s: m.config.symbol,
          U: w.U,
          u: w.u,
          b: levels(w.bids),
          a: levels(w.asks),
        };
        // "@depth" and "@depth@1000ms" are the same stream under two names.
        for (const suffix of fast ? ["depth@100ms"] : ["depth", "depth@1000ms"])
          this.publish(this.stream_name(m, suffix), update);
      }
      for (const n of [5, 10, 20]) {
        const names = fast ? [`depth${n}@100ms`] : [`depth${n}`, `depth${n}@1000ms`];
        for (const suffix of names) {
          const name = this.stream_name(m, suffix);
          if ((this.subscribers.get(name)?.size ?? 0) > 0) this.publish(name, depth(this.engine, m, n));
        }
      }
    }
  }

  private publishing_statistics = false;

  /** Once a second: tickers and the current candle of every subscribed stream. */
  private async publish_statistics(now: number): Promise<void> {
    const history = this.history;
    if (history === null) return;
    const minis: unknown[] = [];
    const want_all = (this.subscribers.get("!miniTicker@arr")?.size ?? 0) > 0;
    for (const m of this.engine.markets) {
      const lower = m.config.symbol.toLowerCase();
      const ticker_name = `${lower}@ticker`;
      const mini_name = `${lower}@miniTicker`;
      const has = (n: string): boolean => (this.subscribers.get(n)?.size ?? 0) > 0;
      if (has(ticker_name) || has(mini_name) || want_all) {
        const t = await ticker_24hr(this.engine, m, history, now);
        if (has(ticker_name))
          this.publish(ticker_name, {
            e: "24hrTicker",
            E: now,
            s: t.symbol,
            p: t.priceChange,
            P: t.priceChangePercent,
            w: t.weightedAvgPrice,
            x: t.prevClosePrice,
            c: t.lastPrice,
            Q: t.lastQty,
            b: t.bidPrice,
            B: t.bidQty,
            a: t.askPrice,
            A: t.askQty,
            o: t.openPrice,
            h: t.highPrice,
            l: t.lowPrice,
            ...window_fields(t),
          });
        const mini = {
          e: "24hrMiniTicker",
          E: now,
          s: t.symbol,
          c: t.lastPrice,
          o: t.openPrice,
          h: t.highPrice,
          l: t.lowPrice,
          v: t.volume,
          q: t.quoteVolume,
        };
        if (has(mini_name)) this.publish(mini_name, mini);
        if (t.count > 0) minis.push(mini);
      }
      const avg_name = `${lower}@avgPrice`;
      if (has(avg_name)) {
        // GET /api/v3/avgPrice as a stream (Binance's `avgPrice` event, once a second)
        const a = await avg_price(m, history, now);
        this.publish(avg_name, {
          e: "avgPrice",
          E: now,
          s: m.config.symbol,
          i: `${a.mins}m`,
          w: a.price,
          T: a.closeTime,
        });
      }
      for (const interval of Object.keys(INTERVALS))
        for (const [zone, zone_ms] of KLINE_ZONES) {
          const name = `${lower}@kline_${interval}${zone}`;
          if (!has(name)) continue;
          const { buckets, candles } = await kline_candles(m, history, interval, {
            limit: 1,
            now_ms: now,
            zone_ms,
          });
          const last = candles.at(-1);
          if (last === undefined) continue; // the market has not traded yet
          // the current kline, every tick; the one sent before it, if it has ended, once more, closed
          // (read again by its open time: a late tick may have skipped a kline in between)
          const sent_open = this.kline_open.get(name);
          if (sent_open !== undefined && sent_open < last.open_ms) {
            const q = { start_ms: sent_open, limit: 1, now_ms: now, zone_ms };
            const [ended] = (await kline_candles(m, history, interval, q)).candles;
            if (ended?.open_ms === sent_open)
              this.publish(name, kline_event(this.engine, m, interval, buckets, ended, now, true));
          }
          this.publish(name, kline_event(this.engine, m, interval, buckets, last, now, false));
          this.kline_open.set(name, last.open_ms);
        }
    }
    if (want_all && minis.length > 0) this.publish("!miniTicker@arr", minis);
    for (const size of ROLLING_WINDOWS) await this.publish_rolling(history, now, size);
  }

  /** Once a second, the rolling-window tickers of one size (Binance's `<symbol>@ticker_1h`, …). */
  private async publish_rolling(
    history: History,
    now: number,
    size: (typeof ROLLING_WINDOWS)[number],
  ): Promise<void> {
    const all_name = `!ticker_${size}@arr`;
    const want_all = (this.subscribers.get(all_name)?.size ?? 0) > 0;
    const window_ms = window_size_ms(size) as number;
    const all: unknown[] = [];
    for (const m of this.engine.markets) {
      const name = this.stream_name(m, `ticker_${size}`);
      const wanted = (this.subscribers.get(name)?.size ?? 0) > 0;
      if (!wanted && !want_all) continue;
      const t = await rolling_ticker(this.engine, m, history, now, window_ms);
      const event = {
        e: `${size}Ticker`,
        E: now,
        s: t.symbol,
        p: t.priceChange,
        P: t.priceChangePercent,
        o: t.openPrice,
        h: t.highPrice,
        l: t.lowPrice,
        c: t.lastPrice,
        w: t.weightedAvgPrice,
        ...window_fields(t),
      };
      if (wanted) this.publish(name, event);
      if (t.count > 0) all.push(event); // Binance's array holds the markets that traded
    }
    if (want_all && all.length > 0) this.publish(all_name, all);
  }

  private ping(): void {
    const too_old_ms = this.clock_ms() - this.connection_lifetime_ms;
    for (const client of this.clients) {
      if (!client.alive) {
        client.ws.terminate();
        this.disconnect(client);
        continue;
      }
      if (client.opened_ms <= too_old_ms) {
        client.ws.close(1000, "connection lifetime reached");
        this.disconnect(client);
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }

  /** Tells every client the server is going away (Binance's serverShutdown), then closes. */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    const notice = JSON.stringify({ e: "serverShutdown", E: this.clock_ms() });
    for (const client of this.clients) {
      if (client.ws.readyState === client.ws.OPEN) {
        client.ws.send(notice);
        client.ws.close(1001, "server shutdown");
      }
    }
    this.clients.clear();
    this.wss.close();
  }
}
