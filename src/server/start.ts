/**
 * `holdfast start`: one node of the exchange. Opens (and recovers) the data directory, configures the
 * demo markets on a fresh directory when asked, then serves the public API and the admin interface.
 * SIGTERM or SIGINT closes it cleanly: the servers stop taking requests, pending snapshots finish,
 * the journal closes and the data directory's lock is released.
 */

import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { admin_socket_path } from "../admin/client.js";
import { start_admin_server } from "../admin/server.js";
import { ClusterNode, DEFAULT_CLUSTER_OPTIONS } from "../cluster/cluster_node.js";
import { AWAY_GRACE_MS, COMPACT_EVERY_MS, start_compactor } from "../cluster/compactor.js";
import { etcd_client } from "../cluster/etcd_client.js";
import { OnceRunner, type Work } from "../cluster/once.js";
import { bootstrap_from_peer, register_peer_routes } from "../cluster/peer.js";
import { type MarketMaker, start_market_maker } from "../demo/market_maker.js";
import { setup_demo } from "../demo/setup.js";
import { Authenticator } from "../gateway/auth.js";
import { DEFAULT_TIERS, type LimitTiers } from "../gateway/limits.js";
import { MasterKey } from "../gateway/master_key.js";
import { start_public_server } from "../gateway/public.js";
import { Metrics, serve_metrics } from "../metrics/metrics.js";
import { free_bytes, start_space_problem } from "../node/disk_guard.js";
import type { ExchangeNode } from "../node/exchange_node.js";
import { EngineNode } from "../node/runtime.js";
import { open_history } from "../projections/history.js";
import { RESERVES_KEY_PURPOSE } from "../reserves/audit.js";
import { WebSessions } from "../web/sessions.js";
import { start_payouts } from "../withdrawals/executor.js";
import { CONNECTIONS_PER_IP_DEFAULT, caps_line } from "./connections.js";

export interface StartOptions {
  data_dir: string;
  /** File holding the master key (base64); default DATA_DIR/master.key. HOLDFAST_MASTER_KEY wins. */
  master_key_file?: string;
  host: string;
  port: number;
  admin_socket: string | null;
  demo: boolean;
  /** Rate-limit tiers (default: DEFAULT_TIERS: "default" = Binance's, "demo", "bench"). */
  limit_tiers?: LimitTiers;
  /** Tier of requests with no known API key; default "default", or "demo" in demo mode. */
  anonymous_tier?: string;
  /** Orders/cancels waiting for the journal beyond which new ones are refused (429 -1003). */
  in_flight_max?: number;
  /** Time a client has to send a whole HTTP request (default REQUEST_TIMEOUT_MS; tests shorten it). */
  request_timeout_ms?: number;
  /** Connections one address may hold at once (default CONNECTIONS_PER_IP_DEFAULT; 0: no cap). */
  connections_per_ip?: number;
  /** Reverse proxies whose X-Forwarded-For names the client (see server/connections.ts). */
  trust_proxy?: string;
  /** WebSocket ping interval (default: streams 20 s, WebSocket API 60 s; tests shorten it). */
  ping_interval_ms?: number;
  /** How long a WebSocket connection may live (default Binance's 24 hours; tests shorten it). */
  connection_lifetime_ms?: number;
  /** How long a listen key lives without a keepalive (default 60 minutes; tests shorten it). */
  listen_key_ttl_ms?: number;
  /** The status service's public URL, for the web app's banner and links (holdfast start --status-url). */
  status_url?: string | null;
  /** Cluster mode: the etcd log instead of the file journal (DESIGN, "Cluster mode"). */
  cluster?: { etcd: string[]; node_id: string; prefix?: string } | null;
  /** Take a snapshot after this many commands (default: the node's own). */
  snapshot_every_commands?: number;
  /** Cluster mode: how often the elected node compacts the log (default COMPACT_EVERY_MS). */
  compact_every_ms?: number;
  /** Cluster mode: how long compaction waits for a node that is away (default AWAY_GRACE_MS). */
  compact_away_grace_ms?: number;
  /** Cluster mode: the base URL peers reach this node's public API at (default http://HOST:PORT). */
  advertise_url?: string;
  /** File journal: new commands are refused while the data directory's disk has less free (0: never; default DISK_FREE_MIN_BYTES_DEFAULT). */
  disk_free_min_bytes?: number;
  /**
   * Serve Prometheus metrics at http://METRICS_HOST:PORT/metrics (0: any free port; null or absent:
   * not served on TCP; the admin socket serves them either way).
   */
  metrics_port?: number | null;
  /** Address the metrics listen on (default 127.0.0.1: a scrape target, not a public page). */
  metrics_host?: string;
  /** The custody service that pays approved withdrawals (src/withdrawals/executor.ts); null: by hand. */
  payout?: { url: string; secret: string } | null;
  /** Demo mode runs the market maker unless this is false (tests that need a quiet book). */
  market_maker?: boolean;
  log: (line: string) => void;
}

export interface RunningNode {
  node: ExchangeNode;
  port: number;
  admin_socket: string;
  /** Demo mode: where the demo users' keys are. */
  credentials_file: string | null;
  /** The metrics' TCP port, when served (`metrics_port`). */
  metrics_port: number | null;
  close(): Promise<void>;
}

/** What the key that authenticates nodes to each other (peer.ts) is derived for. */
const PEER_KEY_PURPOSE = "cluster peer";

async function bootstrap(
  options: StartOptions,
  cluster: NonNullable<StartOptions["cluster"]>,
  master: MasterKey,
): Promise<void> {
  const client = etcd_client(cluster.etcd);
  try {
    await bootstrap_from_peer({
      data_dir: options.data_dir,
      client,
      prefix: cluster.prefix ?? DEFAULT_CLUSTER_OPTIONS.prefix,
      node_id: cluster.node_id,
      key: master.derive(PEER_KEY_PURPOSE),
      log: options.log,
    });
  } catch (error) {
    // Replaying the log from the start may still work (it has not been compacted); if it cannot,
    // the node refuses to start and says so (ClusterNode.open).
    options.log(`node ${cluster.node_id}: no bootstrap from a peer: ${String(error)}`);
  } finally {
    client.close();
  }
}

export async function start_node(options: StartOptions): Promise<RunningNode> {
  // The history projection lives in the data directory; the node feeds it (and replays into it
  // whatever it lacks) under the directory's lock.
  mkdirSync(options.data_dir, { recursive: true });
  const no_room = start_space_problem(options.data_dir);
  if (no_room !== null) throw new Error(no_room);
  // Every node of a cluster must hold the same master key (they open each other's sealed secrets and
  // check each other's session tokens): it is configuration, never made up by one node on its own.
  const master = MasterKey.load(
    options.master_key_file ?? join(options.data_dir, "master.key"),
    options.demo && options.cluster == null,
    options.log,
  );
  // A new or wiped cluster node starts from a peer's snapshot and history (the start of the log
  // may be compacted away): before the history database is opened, which it may replace.
  if (options.cluster != null) await bootstrap(options, options.cluster, master);
  const history = open_history(
    join(options.data_dir, "history.sqlite"),
    options.log,
    master.derive(RESERVES_KEY_PURPOSE),
  );
  const metrics = new Metrics();
  const snapshot_every =
    options.snapshot_every_commands === undefined
      ? {}
      : { snapshot_every_commands: options.snapshot_every_commands };
  let node: ExchangeNode;
  try {
    node =
      options.cluster == null
        ? await EngineNode.open({
            data_dir: options.data_dir,
            log: options.log,
            projection: history,
            observer: metrics,
            ...snapshot_every,
            ...(options.disk_free_min_bytes === undefined
              ? {}
              : { disk_free_min_bytes: options.disk_free_min_bytes }),
          })
        : await ClusterNode.open({
            data_dir: options.data_dir,
            etcd: options.cluster.etcd,
            node_id: options.cluster.node_id,
            ...(options.cluster.prefix === undefined ? {} : { prefix: options.cluster.prefix }),
            log: options.log,
            projection: history,
            observer: metrics,
            ...snapshot_every,
          });
  } catch (error) {
    history.close();
    throw error;
  }
  metrics.watch({
    node,
    history,
    disk_free_bytes: () => free_bytes(options.data_dir),
    ...(node instanceof ClusterNode
      ? { log_revision: () => (node as ClusterNode).last_applied_revision }
      : {}),
    ...(node instanceof EngineNode ? { snapshot_handover: () => (node as EngineNode).snapshot_cost } : {}),
  });
  const servers: FastifyInstance[] = [];
  let maker: MarketMaker | null = null;
  let once: OnceRunner | null = null;
  let compactor: OnceRunner | null = null;
  let payouts: Work | null = null;
  let payouts_once: OnceRunner | null = null;
  const close = async (): Promise<void> => {
    await payouts?.stop();
    await payouts_once?.close();
    await maker?.stop();
    await once?.close();
    await compactor?.close();
    for (const s of servers.reverse()) await s.close();
    await node.close();
    history.close();
  };
  try {
    // In a cluster, one elected node keeps etcd's keyspace bounded (src/cluster/compactor.ts).
    if (node instanceof ClusterNode && options.cluster != null) {
      const urls = options.cluster.etcd;
      const cluster_node = node;
      compactor = new OnceRunner(
        node.etcd,
        node,
        "log-compactor",
        () =>
          start_compactor(
            cluster_node.etcd,
            cluster_node.log.prefix,
            urls,
            options.log,
            options.compact_every_ms ?? COMPACT_EVERY_MS,
            options.compact_away_grace_ms ?? AWAY_GRACE_MS,
          ),
        options.log,
      );
    }
    const admin_socket = options.admin_socket ?? admin_socket_path(options.data_dir);
    const tiers = options.limit_tiers ?? DEFAULT_TIERS;
    servers.push(
      await start_admin_server(
        node,
        options.data_dir,
        admin_socket,
        master,
        Object.keys(tiers),
        metrics,
        history,
      ),
    );
    let metrics_port: number | null = null;
    if (options.metrics_port != null) {
      const served = await serve_metrics(metrics, options.metrics_host ?? "127.0.0.1", options.metrics_port);
      servers.push(served);
      metrics_port = (served.server.address() as AddressInfo).port;
      options.log(`metrics at http://${options.metrics_host ?? "127.0.0.1"}:${metrics_port}/metrics`);
    }
    const anonymous_tier = options.anonymous_tier ?? (options.demo ? "demo" : "default");
    const auth = new Authenticator(node.engine, master, Date.now);
    const sessions = new WebSessions(master, node.engine, Date.now);
    auth.enable_web(sessions, anonymous_tier);
    const pub = await start_public_server(node, {
      host: options.host,
      port: options.port,
      clock_ms: Date.now,
      auth,
      history,
      web: {
        master,
        sessions,
        options: {
          demo: options.demo,
          status_url: options.status_url ?? null,
          tier: anonymous_tier,
          clock_ms: Date.now,
        },
      },
      limit_tiers: tiers,
      anonymous_tier,
      metrics,
      ...(options.in_flight_max === undefined ? {} : { in_flight_max: options.in_flight_max }),
      ...(options.request_timeout_ms === undefined ? {} : { request_timeout_ms: options.request_timeout_ms }),
      ...(options.connections_per_ip === undefined ? {} : { connections_per_ip: options.connections_per_ip }),
      ...(options.trust_proxy === undefined ? {} : { trust_proxy: options.trust_proxy }),
      ...(options.ping_interval_ms === undefined ? {} : { ping_interval_ms: options.ping_interval_ms }),
      ...(options.connection_lifetime_ms === undefined
        ? {}
        : { connection_lifetime_ms: options.connection_lifetime_ms }),
      ...(options.listen_key_ttl_ms === undefined ? {} : { listen_key_ttl_ms: options.listen_key_ttl_ms }),
      ...(node instanceof ClusterNode
        ? {
            extra_routes: (app: FastifyInstance) =>
              register_peer_routes(
                app,
                { snapshots_dir: (node as ClusterNode).snapshots_dir, history },
                master.derive(PEER_KEY_PURPOSE),
                Date.now,
              ),
          }
        : {}),
    });
    servers.push(pub);
    const port = (pub.server.address() as AddressInfo).port;
    options.log(
      caps_line(pub.server, options.connections_per_ip ?? CONNECTIONS_PER_IP_DEFAULT, "public server"),
    );
    if (options.trust_proxy !== undefined)
      options.log(`public server: client addresses from X-Forwarded-For through ${options.trust_proxy}`);
    if (node instanceof ClusterNode) {
      const host = options.host === "0.0.0.0" || options.host === "::" ? hostname() : options.host;
      await node.advertise(options.advertise_url ?? `http://${host}:${port}`);
    }
    // Payouts happen once: in a cluster on the elected node, its outcomes fenced (src/cluster/once.ts)
    const payout = options.payout ?? null;
    if (payout !== null) {
      const payout_options = { ...payout, log: options.log };
      if (node instanceof ClusterNode)
        payouts_once = new OnceRunner(
          node.etcd,
          node,
          "payouts",
          (fenced) => start_payouts(fenced, payout_options),
          options.log,
        );
      else payouts = start_payouts(node, payout_options);
    }
    let credentials_file: string | null = null;
    if (options.demo) {
      const host = options.host === "0.0.0.0" ? "127.0.0.1" : options.host;
      const demo = await setup_demo(
        node,
        master,
        options.data_dir,
        { baseUrl: `http://${host}:${port}`, wsUrl: `ws://${host}:${port}` },
        options.log,
      );
      credentials_file = demo.credentials_file;
      // In a cluster the market maker is work that must happen once: the node elected for it runs it,
      // its orders fenced by its election key (src/cluster/once.ts).
      if (options.market_maker !== false && node instanceof ClusterNode)
        once = new OnceRunner(
          node.etcd,
          node,
          "market-maker",
          (fenced) => start_market_maker(fenced, demo.maker, demo.taker, options.log),
          options.log,
        );
      else if (options.market_maker !== false)
        maker = start_market_maker(node, demo.maker, demo.taker, options.log);
    }
    return { node, port, admin_socket, credentials_file, metrics_port, close };
  } catch (error) {
    await close();
    throw error;
  }
}
