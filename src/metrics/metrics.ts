/**
 * A node's metrics in Prometheus's text format (prom-client): what an operator graphs and alerts on
 * to see an exchange slow down or stop before its users say so. Counted as things happen: each
 * command this node applied (by type) and how long it waited from submission to being applied (the
 * ack latency, durable write included), each journal write (bytes, commands, time), each snapshot
 * written (time, size), each HTTP request (method, route, status, time) and WebSocket API request
 * (method, status, time). Read when scraped: the applied sequence, the newest snapshot, whether order
 * entry is open, live orders, accounts, every market's status, the exchange's switches, the history
 * projection's position, connections and subscriptions, the data directory's free space, the longest
 * snapshot hand-over on the node's thread, a cluster node's applied etcd revision; and Node's own
 * (CPU, memory, event-loop delay, GC). docs/OPERATIONS.md lists them with alerts to set.
 *
 * Served on `--metrics-port` (loopback unless `--metrics-host` says otherwise: a scrape target, not a
 * public page) and on the admin socket (`holdfast admin metrics`). The engine knows nothing of it.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Command } from "../engine/commands.js";
import { MARKET_STATUS_NAMES } from "../engine/types.js";
import { WITHDRAW_AWAITING_APPROVAL } from "../engine/withdrawals.js";
import type { ExchangeNode, NodeObserver } from "../node/exchange_node.js";

/**
 * Seconds, 100 µs to 10 s: a group commit's ack (0.2-2 ms on this project's disks) up to a stall
 * an operator must see (Binance-style clients time out at 10 s); finest between 1 and 25 ms, where
 * the targets are (ack p99 5 ms, an order's p99 10 ms at half load) and where tails are told apart.
 */
export const LATENCY_BUCKETS_S = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025,
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Commands in one journal write: 1 to the journal's batch limit (8,192). */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

/**
 * Node's own metrics (CPU, memory, event-loop delay, GC), collected once per process and shared by its
 * nodes: they describe the process, and each collection starts an event-loop monitor and a GC
 * observer that run for good (a test process starts many nodes).
 */
let process_registry: Registry | null = null;
function process_metrics(): Registry {
  if (process_registry === null) {
    process_registry = new Registry();
    collectDefaultMetrics({ register: process_registry });
  }
  return process_registry;
}

/** What the public server tells the metrics at each scrape. */
export interface ConnectionCounts {
  streams: number;
  stream_subscriptions: number;
  ws_api: number;
  ws_api_user_streams: number;
}

/** What else a scrape reads besides the node: the history projection's position, the disk. */
export interface NodeSources {
  node: ExchangeNode;
  history?: { readonly written_seq: number; readonly failure?: string | null };
  /** Free bytes on the data directory's disk, or null if it cannot be read. */
  disk_free_bytes?: () => number | null;
  /** Cluster mode: the etcd revision of the last log entry this node applied. */
  log_revision?: () => number;
  /** File journal: what handing frames and snapshot requests to the snapshot worker cost the node's thread. */
  snapshot_handover?: () => { posts: number; total_ms: number; max_ms: number };
}

export class Metrics implements NodeObserver {
  readonly registry = new Registry();
  private readonly commands: Counter<"type">;
  private readonly ack: Histogram;
  private readonly journal_writes: Histogram;
  private readonly journal_write_commands: Histogram;
  private readonly journal_bytes: Counter;
  private readonly http: Counter<"method" | "route" | "status">;
  private readonly http_seconds: Histogram<"method" | "route">;
  private readonly ws_api: Counter<"method" | "status">;
  private readonly ws_api_seconds: Histogram<"method">;
  private readonly snapshots: Histogram;
  private readonly snapshot_bytes: Gauge;
  /** Command type → how many of this append (reused: one inc per type, not per command). */
  private readonly by_type = new Map<string, number>();
  private connections: (() => ConnectionCounts) | null = null;

  /** Node's own, shared by every node of this process; null: left out. */
  private readonly shared: Registry | null;

  constructor(options: { process_metrics: boolean } = { process_metrics: true }) {
    const registers = [this.registry];
    this.shared = options.process_metrics ? process_metrics() : null;
    this.commands = new Counter({
      name: "holdfast_commands_applied_total",
      help: "Commands this node submitted and applied (durable first), by command type",
      labelNames: ["type"],
      registers,
    });
    this.ack = new Histogram({
      name: "holdfast_command_ack_seconds",
      help: "From a command's submission to its being applied after the log made it durable: how long its client waited for the node",
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.journal_writes = new Histogram({
      name: "holdfast_journal_write_seconds",
      help: "One durable write of the file journal (a group commit's frame, O_DSYNC)",
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.journal_write_commands = new Histogram({
      name: "holdfast_journal_write_commands",
      help: "Commands in one durable write of the file journal (group commit)",
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.journal_bytes = new Counter({
      name: "holdfast_journal_written_bytes_total",
      help: "Bytes of frames the file journal made durable",
      registers,
    });
    this.http = new Counter({
      name: "holdfast_http_requests_total",
      help: "HTTP requests answered by the public server, by method, route (its pattern) and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.http_seconds = new Histogram({
      name: "holdfast_http_request_seconds",
      help: "From an HTTP request's arrival to its answer, by method and route",
      labelNames: ["method", "route"],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.ws_api_seconds = new Histogram({
      name: "holdfast_ws_api_request_seconds",
      help: "From a WebSocket API request's arrival to its answer, by method",
      labelNames: ["method"],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.snapshots = new Histogram({
      name: "holdfast_snapshot_write_seconds",
      help: "Writing one snapshot, on the snapshot worker's thread (off the order path)",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.snapshot_bytes = new Gauge({
      name: "holdfast_snapshot_bytes",
      help: "Size of the newest snapshot written since start",
      registers,
    });
    this.ws_api = new Counter({
      name: "holdfast_ws_api_requests_total",
      help: "WebSocket API requests answered, by method and status",
      labelNames: ["method", "status"],
      registers,
    });
  }

  // NodeObserver

  commands_applied(commands: readonly Command[], wait_ms: number): void {
    const seconds = wait_ms / 1000;
    const by_type = this.by_type;
    for (let i = 0; i < commands.length; i++) {
      const type = commands[i].type;
      by_type.set(type, (by_type.get(type) ?? 0) + 1);
      this.ack.observe(seconds);
    }
    for (const [type, n] of by_type) this.commands.inc({ type }, n);
    by_type.clear();
  }

  journal_written(bytes: number, commands: number, write_ms: number): void {
    this.journal_writes.observe(write_ms / 1000);
    this.journal_write_commands.observe(commands);
    this.journal_bytes.inc(bytes);
  }

  snapshot_written(bytes: number, ms: number): void {
    this.snapshots.observe(ms / 1000);
    this.snapshot_bytes.set(bytes);
  }

  // the public server

  http_answered(method: string, route: string, status: number, seconds: number): void {
    this.http.inc({ method, route, status });
    this.http_seconds.observe({ method, route }, seconds);
  }

  ws_api_answered(method: string, status: number, seconds: number): void {
    this.ws_api.inc({ method, status });
    this.ws_api_seconds.observe({ method }, seconds);
  }

  /** Connection counts, read at each scrape (the public server's streams and WebSocket API). */
  count_connections(read: () => ConnectionCounts): void {
    this.connections = read;
  }

  /** Registers the gauges read from the node (and its history, its disk) at each scrape. */
  watch(sources: NodeSources): void {
    const { node } = sources;
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number | null): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const value = read();
          if (value !== null) this.set(value);
        },
      });
    };
    gauge(
      "holdfast_applied_sequence",
      "Sequence number of the last command this node applied",
      () => node.last_applied_seq,
    );
    gauge(
      "holdfast_snapshot_sequence",
      "Sequence number of the newest snapshot on disk (0: none): a restart replays from after it",
      () => node.last_snapshot?.seq ?? 0,
    );
    gauge(
      "holdfast_order_entry_open",
      "1 while this node takes new orders; 0 while it refuses them (a nearly full disk, a failed journal write)",
      () => (node.writes_refused === null ? 1 : 0),
    );
    gauge(
      "holdfast_orders_live",
      "Orders the engine holds open: resting, stops and pending list orders",
      () => node.engine.orders.live,
    );
    gauge("holdfast_accounts", "Accounts the engine holds", () => node.engine.accounts.length);
    new Gauge({
      name: "holdfast_market_status",
      help: "1 for each market's current status, 0 for the others (TRADING, POST_ONLY, CANCEL_ONLY, HALT, BREAK)",
      labelNames: ["symbol", "status"],
      registers,
      collect() {
        this.reset();
        for (const m of node.engine.markets)
          for (let s = 0; s < MARKET_STATUS_NAMES.length; s++)
            this.set({ symbol: m.config.symbol, status: MARKET_STATUS_NAMES[s] }, m.status === s ? 1 : 0);
      },
    });
    new Gauge({
      name: "holdfast_exchange_switch",
      help: "1 while an exchange-wide switch is on: maintenance, deposits_paused, withdrawals_paused",
      labelNames: ["switch"],
      registers,
      collect() {
        const e = node.engine;
        this.set({ switch: "maintenance" }, e.maintenance ? 1 : 0);
        this.set({ switch: "deposits_paused" }, e.deposits_paused ? 1 : 0);
        this.set({ switch: "withdrawals_paused" }, e.withdrawals_paused ? 1 : 0);
      },
    });
    new Gauge({
      name: "holdfast_withdrawals_pending",
      help: "Users' withdrawals pending: awaiting an operator's approval, or approved and not yet paid (processing)",
      labelNames: ["status"],
      registers,
      collect() {
        let awaiting = 0;
        let processing = 0;
        for (const w of node.engine.withdrawals.pending.values())
          if (w.status === WITHDRAW_AWAITING_APPROVAL) awaiting++;
          else processing++;
        this.set({ status: "awaiting_approval" }, awaiting);
        this.set({ status: "processing" }, processing);
      },
    });
    gauge(
      "holdfast_withdrawal_oldest_pending_seconds",
      "Age in command time of the oldest pending withdrawal (0: none): a payout stuck or a review forgotten",
      () => {
        const first = node.engine.withdrawals.pending.values().next();
        return first.done === true ? 0 : Math.max(0, node.engine.now_ms - first.value.requested_ms) / 1000;
      },
    );
    const history = sources.history;
    if (history !== undefined) {
      gauge(
        "holdfast_history_written_sequence",
        "Sequence number up to which the history database (orders, trades, candles) is written",
        () => history.written_seq,
      );
      gauge(
        "holdfast_history_failed",
        "1 once the history stopped writing (trading goes on; history reads answer 503 until a restart)",
        () => ((history.failure ?? null) === null ? 0 : 1),
      );
    }
    const revision = sources.log_revision;
    if (revision !== undefined)
      gauge(
        "holdfast_cluster_applied_revision",
        "Cluster mode: etcd revision of the last log entry this node applied (every node tails the same log; one far behind the others is lagging)",
        revision,
      );
    // Trades per market, from every applied command's events (this node's and, in a cluster, the
    // others'): counted in a plain array on the order path, handed to the counter at each scrape.
    const trades_pending: number[] = [];
    node.on_applied((_seq, _time_ms, events) => {
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (e.kind === "trade") trades_pending[e.market] = (trades_pending[e.market] ?? 0) + 1;
      }
    });
    new Counter({
      name: "holdfast_trades_total",
      help: "Trades (a taker matched with a maker) by market, applied since this process started",
      labelNames: ["symbol"],
      registers,
      collect() {
        const markets = node.engine.markets;
        for (let m = 0; m < markets.length; m++) {
          this.inc({ symbol: markets[m].config.symbol }, trades_pending[m] ?? 0);
          trades_pending[m] = 0;
        }
      },
    });
    new Gauge({
      name: "holdfast_book_levels",
      help: "Price levels on each side of each market's book (0 on both: no market to trade against)",
      labelNames: ["symbol", "side"],
      registers,
      collect() {
        for (const m of node.engine.markets) {
          this.set({ symbol: m.config.symbol, side: "bid" }, m.bids.count);
          this.set({ symbol: m.config.symbol, side: "ask" }, m.asks.count);
        }
      },
    });
    const handover = sources.snapshot_handover;
    if (handover !== undefined)
      gauge(
        "holdfast_snapshot_handover_max_seconds",
        "Longest the node's thread spent at once handing journal frames or a snapshot request to the snapshot worker: what snapshots can stall order entry",
        () => handover().max_ms / 1000,
      );
    const free = sources.disk_free_bytes;
    if (free !== undefined)
      gauge("holdfast_data_dir_free_bytes", "Free bytes on the data directory's disk", free);
    const connections = (): ConnectionCounts | null => this.connections?.() ?? null;
    new Gauge({
      name: "holdfast_websocket_connections",
      help: "Open WebSocket connections: market streams (/ws, /stream) and the WebSocket API (/ws-api/v3)",
      labelNames: ["endpoint"],
      registers,
      collect() {
        const c = connections();
        if (c === null) return;
        this.set({ endpoint: "streams" }, c.streams);
        this.set({ endpoint: "ws_api" }, c.ws_api);
      },
    });
    new Gauge({
      name: "holdfast_websocket_subscriptions",
      help: "Market stream subscriptions on /ws and /stream connections, and user data streams on WebSocket API sessions",
      labelNames: ["endpoint"],
      registers,
      collect() {
        const c = connections();
        if (c === null) return;
        this.set({ endpoint: "streams" }, c.stream_subscriptions);
        this.set({ endpoint: "ws_api" }, c.ws_api_user_streams);
      },
    });
  }

  /** The Prometheus text exposition of everything. */
  async text(): Promise<string> {
    const own = await this.registry.metrics();
    return this.shared === null ? own : `${own}\n${await this.shared.metrics()}`;
  }

  /** Everything as prom-client's JSON (what `holdfast admin metrics` reads). */
  async json(): Promise<unknown[]> {
    const own = await this.registry.getMetricsAsJSON();
    return this.shared === null ? own : [...own, ...(await this.shared.getMetricsAsJSON())];
  }

  get content_type(): string {
    return this.registry.contentType;
  }
}

/** A scrape target: GET /metrics, nothing else (its own small server, apart from the public API). */
export async function serve_metrics(metrics: Metrics, host: string, port: number): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 });
  app.get("/metrics", async (_request, reply) => {
    reply.type(metrics.content_type);
    return metrics.text();
  });
  await app.listen({ host, port });
  return app;
}
