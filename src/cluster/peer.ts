/**
 * Bootstrapping a node from a peer (DESIGN, "Cluster mode": a new or wiped node starts from a peer's
 * snapshot plus the log tail). The log behind the oldest snapshot is compacted away (compactor.ts),
 * so a node with nothing of its own cannot replay from the start: it fetches a peer's newest engine
 * snapshot and a copy of its history database, then tails the log from the snapshot's revision.
 *
 * Every node serves, on its public port:
 *   GET /cluster/v1/snapshot  its newest snapshot file (header x-holdfast-position: sequence,
 *                             revision, last timestamp), checked by the receiver like a local one;
 *   GET /cluster/v1/history   a consistent copy of its history database (SQLite's online backup),
 *                             header x-holdfast-history-seq: the last sequence in it.
 * Both hold every account's balances, sealed API secrets and password hashes, so both demand the
 * header x-holdfast-peer = "<node id>.<time ms>.<HMAC-SHA256 hex>" over node id, time, method and
 * path, under a key derived from the cluster's shared master key, within PEER_AUTH_WINDOW_MS.
 *
 * Where a peer is: each node publishes its address beside its snapshot position
 * (PREFIX/nodes/<id>/snapshot: {revision, seq, url}); `--advertise-url` sets it.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Etcd3 } from "etcd3";
import type { FastifyInstance } from "fastify";
import { lock_dir } from "../node/data_dir.js";
import {
  list_snapshots,
  prune_snapshots,
  read_snapshot,
  write_atomic,
  write_snapshot,
} from "../node/snapshot_store.js";
import type { History } from "../projections/history.js";
import { EtcdLog } from "./etcd_log.js";

export const PEER_AUTH_HEADER = "x-holdfast-peer";
export const PEER_AUTH_WINDOW_MS = 30_000;
const POSITION_HEADER = "x-holdfast-position";
const HISTORY_SEQ_HEADER = "x-holdfast-history-seq";
/** A transfer that makes no progress for this long is abandoned (and the next peer tried). */
const TRANSFER_IDLE_MS = 30_000;
/** The largest snapshot or history copy a node accepts (they are read whole into memory). */
const ETCD_WAIT_MS = 60_000;
const TRANSFER_BYTES_MAX = 4 * 1024 * 1024 * 1024 - 1;

/** Where in the log a snapshot stands: written beside it as cluster-<seq>.json. */
export interface Position {
  seq: number;
  revision: number;
  last_ts_ms: number;
}

export const position_name = (seq: number): string => `cluster-${String(seq).padStart(20, "0")}.json`;

export function write_position(dir: string, p: Position): void {
  write_atomic(dir, position_name(p.seq), [Buffer.from(JSON.stringify(p))]);
}

/**
 * Writes a cluster snapshot: its position first, then the snapshot (each atomically), keeps the newest
 * `kept` snapshots and drops the positions of those removed. Returns the snapshot's file name.
 */
export function write_cluster_snapshot(
  dir: string,
  position: Position,
  body: Uint8Array,
  kept: number,
): string {
  write_position(dir, position);
  const name = write_snapshot(dir, position.seq, body);
  prune_snapshots(dir, kept);
  const still = new Set(list_snapshots(dir).map((s) => position_name(s.last_seq)));
  for (const f of readdirSync(dir))
    if (f.startsWith("cluster-") && !still.has(f)) rmSync(join(dir, f), { force: true });
  return name;
}

function valid_position(p: unknown, seq?: number): p is Position {
  const q = p as Position;
  return (
    typeof p === "object" &&
    p !== null &&
    Number.isSafeInteger(q.seq) &&
    q.seq >= 0 &&
    (seq === undefined || q.seq === seq) &&
    Number.isSafeInteger(q.revision) &&
    q.revision >= 0 &&
    Number.isSafeInteger(q.last_ts_ms)
  );
}

export function read_position(dir: string, seq: number): Position | null {
  try {
    const p: unknown = JSON.parse(readFileSync(join(dir, position_name(seq)), "utf8"));
    return valid_position(p, seq) ? p : null;
  } catch {
    return null;
  }
}

function peer_mac(key: Buffer, node_id: string, time_ms: number, method: string, path: string): string {
  return createHmac("sha256", key).update(`${node_id}\n${time_ms}\n${method} ${path}`).digest("hex");
}

export function peer_auth_header(key: Buffer, node_id: string, method: string, path: string, now_ms: number) {
  return `${node_id}.${now_ms}.${peer_mac(key, node_id, now_ms, method, path)}`;
}

/** Null when the header proves the caller holds the cluster key; otherwise why not. */
export function check_peer_auth(
  key: Buffer,
  header: unknown,
  method: string,
  path: string,
  now_ms: number,
): string | null {
  if (typeof header !== "string") return `missing ${PEER_AUTH_HEADER}`;
  const m = /^([A-Za-z0-9_-]{1,32})\.(\d{1,15})\.([0-9a-f]{64})$/.exec(header);
  if (m === null) return `malformed ${PEER_AUTH_HEADER}`;
  const time_ms = Number(m[2]);
  if (Math.abs(now_ms - time_ms) > PEER_AUTH_WINDOW_MS) return "stale or future timestamp";
  const expected = Buffer.from(peer_mac(key, m[1], time_ms, method, path), "hex");
  return timingSafeEqual(expected, Buffer.from(m[3], "hex")) ? null : "bad signature";
}

export interface PeerSource {
  /** The snapshots directory of the serving node. */
  snapshots_dir: string;
  history: History;
}

/** Adds the two peer routes to a node's public server (see the top of this file). */
export function register_peer_routes(
  app: FastifyInstance,
  source: PeerSource,
  key: Buffer,
  clock_ms: () => number,
): void {
  const refuse = (path: string) => (request: { method: string; headers: Record<string, unknown> }) =>
    check_peer_auth(key, request.headers[PEER_AUTH_HEADER], request.method, path, clock_ms());
  const snapshot_refusal = refuse("/cluster/v1/snapshot");
  app.get("/cluster/v1/snapshot", async (request, reply) => {
    const why = snapshot_refusal(request);
    if (why !== null) return reply.code(401).send({ error: `peer authentication failed: ${why}` });
    for (const s of list_snapshots(source.snapshots_dir)) {
      const position = read_position(source.snapshots_dir, s.last_seq);
      if (position === null) continue;
      const file = join(source.snapshots_dir, s.name);
      // an open file outlives a prune that removes it while it is being sent
      let stream: ReturnType<typeof createReadStream>;
      let size: number;
      try {
        size = statSync(file).size;
        stream = createReadStream(file);
      } catch {
        continue;
      }
      return reply
        .header(POSITION_HEADER, JSON.stringify(position))
        .header("content-type", "application/octet-stream")
        .header("content-length", String(size))
        .send(stream);
    }
    return reply.code(404).send({ error: "this node has no snapshot yet" });
  });
  const history_refusal = refuse("/cluster/v1/history");
  let copying = false;
  let copies = 0;
  app.get("/cluster/v1/history", async (request, reply) => {
    const why = history_refusal(request);
    if (why !== null) return reply.code(401).send({ error: `peer authentication failed: ${why}` });
    // one copy at a time: each is a full read of the database
    if (copying) return reply.code(503).header("Retry-After", "1").send({ error: "a copy is being made" });
    copying = true;
    const file = join(source.snapshots_dir, `history-copy-${process.pid}-${++copies}.sqlite.tmp`);
    try {
      const seq = await source.history.backup(file);
      const stream = createReadStream(file);
      const done = () => rmSync(file, { force: true });
      stream.on("close", done);
      stream.on("error", done);
      return reply
        .header(HISTORY_SEQ_HEADER, String(seq))
        .header("content-type", "application/octet-stream")
        .header("content-length", String(statSync(file).size))
        .send(stream);
    } catch (error) {
      rmSync(file, { force: true });
      throw error;
    } finally {
      copying = false;
    }
  });
}

interface Published {
  node_id: string;
  revision: number;
  seq: number;
  url: string;
}

/** Peers that have published a snapshot and an address, newest snapshot first. */
export async function published_peers(client: Etcd3, prefix: string, self: string): Promise<Published[]> {
  const all = await client.getAll().prefix(`${prefix}/nodes/`).strings();
  const peers: Published[] = [];
  for (const [key, value] of Object.entries(all)) {
    const m = /\/nodes\/([^/]+)\/snapshot$/.exec(key);
    if (m === null || m[1] === self) continue;
    try {
      const p = JSON.parse(value) as Partial<Published>;
      if (
        typeof p.url === "string" &&
        /^https?:\/\/[^\s/]+$/.test(p.url) &&
        Number.isSafeInteger(p.revision) &&
        Number.isSafeInteger(p.seq) &&
        (p.seq as number) > 0
      )
        peers.push({ node_id: m[1], revision: p.revision as number, seq: p.seq as number, url: p.url });
    } catch {
      // a value this version cannot read: not a peer to bootstrap from
    }
  }
  return peers.sort((a, b) => b.revision - a.revision);
}

async function fetch_bytes(
  url: string,
  path: string,
  key: Buffer,
  node_id: string,
): Promise<{ headers: Headers; body: Buffer }> {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), TRANSFER_IDLE_MS);
  try {
    const response = await fetch(`${url}${path}`, {
      headers: { [PEER_AUTH_HEADER]: peer_auth_header(key, node_id, "GET", path, Date.now()) },
      signal: controller.signal,
    });
    if (!response.ok || response.body === null)
      throw new Error(`${url}${path}: HTTP ${response.status} ${await response.text().catch(() => "")}`);
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of response.body) {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), TRANSFER_IDLE_MS);
      bytes += chunk.length;
      if (bytes > TRANSFER_BYTES_MAX)
        throw new Error(`${url}${path}: larger than ${TRANSFER_BYTES_MAX} bytes`);
      chunks.push(Buffer.from(chunk));
    }
    return { headers: response.headers, body: Buffer.concat(chunks) };
  } finally {
    clearTimeout(timer);
  }
}

/** The last sequence in a history database file, or -1 when there is none or it is unreadable. */
function history_seq(file: string): number {
  if (!existsSync(file)) return -1;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT value FROM meta WHERE key = 'last_seq'").get() as { value: number };
      return row.value;
    } finally {
      db.close();
    }
  } catch {
    return -1;
  }
}

export interface BootstrapOptions {
  data_dir: string;
  client: Etcd3;
  prefix: string;
  node_id: string;
  key: Buffer;
  log: (line: string) => void;
}

/**
 * When the data directory holds no snapshot, or only snapshots the log has been compacted past
 * (EtcdLog.compacted_after), and a peer has one, fetches the newest peer's snapshot
 * (checked: header, CRC32C, state hash) and, if the local history is missing or older than it, the
 * peer's history copy (checked: SQLite's integrity check, and that it reaches the snapshot). Writes
 * them as this node's own, so ClusterNode.open starts from them. Returns what it did; throws only
 * when every peer failed (the caller decides whether replay from the start is possible).
 */
export async function bootstrap_from_peer(options: BootstrapOptions): Promise<string | null> {
  const snapshots = join(options.data_dir, "snapshots");
  const release = lock_dir(options.data_dir, "node");
  try {
    // etcd may still be starting (a whole cluster started at once): wait for it, as open() does
    const with_etcd = async <T>(f: () => Promise<T>): Promise<T> => {
      for (const started = Date.now(); ; ) {
        try {
          return await f();
        } catch (error) {
          if (Date.now() - started > ETCD_WAIT_MS) throw error;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    const local = existsSync(snapshots) ? list_snapshots(snapshots) : [];
    let stale: Position | null = null;
    if (local.length > 0) {
      const position = read_position(snapshots, local[0].last_seq);
      const log = new EtcdLog(options.client, options.prefix);
      if (position === null || !(await with_etcd(() => log.compacted_after(position.revision)))) return null;
      stale = position;
    }
    const peers = await with_etcd(() => published_peers(options.client, options.prefix, options.node_id));
    if (peers.length === 0) return null;
    if (stale !== null) {
      // The log has been compacted past this node's newest snapshot (it was away longer than the
      // compactor waits, or its position was removed): what follows that snapshot is gone and cannot
      // be followed. Its snapshots are set aside, not deleted, and it starts from a peer's.
      const aside = `${snapshots}.compacted-${stale.seq}`;
      rmSync(aside, { recursive: true, force: true });
      renameSync(snapshots, aside);
      options.log(
        `node ${options.node_id}: the log was compacted past this node's snapshot (sequence ${stale.seq}, revision ${stale.revision}): set aside as ${aside}; starting from a peer's`,
      );
    }
    const errors: string[] = [];
    for (const peer of peers) {
      const started = Date.now();
      try {
        const got = await fetch_bytes(peer.url, "/cluster/v1/snapshot", options.key, options.node_id);
        const position: unknown = JSON.parse(got.headers.get(POSITION_HEADER) ?? "null");
        if (!valid_position(position)) throw new Error("no valid x-holdfast-position header");
        const name = `snapshot-${String(position.seq).padStart(20, "0")}.hfs`;
        const staging = join(options.data_dir, "bootstrap.tmp");
        rmSync(staging, { recursive: true, force: true });
        mkdirSync(staging, { recursive: true });
        writeFileSync(join(staging, name), got.body);
        const checked = read_snapshot(staging, name);
        rmSync(staging, { recursive: true, force: true });
        if (typeof checked === "string") throw new Error(`the snapshot it sent is damaged: ${checked}`);
        if (checked.last_seq !== position.seq) throw new Error("the snapshot and its position disagree");
        // history first: a snapshot without the history up to it would leave a gap in allOrders
        const history_file = join(options.data_dir, "history.sqlite");
        let history_note = "kept the local history";
        if (history_seq(history_file) < position.seq) {
          const h = await fetch_bytes(peer.url, "/cluster/v1/history", options.key, options.node_id);
          const tmp = `${history_file}.bootstrap.tmp`;
          writeFileSync(tmp, h.body);
          const seq = history_seq(tmp);
          const db = new Database(tmp, { readonly: true });
          const integrity = db.pragma("quick_check", { simple: true });
          db.close();
          if (integrity !== "ok" || seq < position.seq) {
            rmSync(tmp, { force: true });
            throw new Error(
              integrity !== "ok"
                ? `its history copy fails SQLite's check: ${String(integrity)}`
                : `its history copy ends at ${seq}, before its snapshot (${position.seq})`,
            );
          }
          for (const suffix of ["-wal", "-shm"]) rmSync(`${history_file}${suffix}`, { force: true });
          renameSync(tmp, history_file);
          history_note = `history up to sequence ${seq} (${h.body.length} bytes)`;
        }
        mkdirSync(snapshots, { recursive: true });
        write_position(snapshots, position);
        write_atomic(snapshots, name, [got.body]);
        const what = `bootstrapped from ${peer.node_id} (${peer.url}): snapshot at sequence ${position.seq}, revision ${position.revision} (${got.body.length} bytes), ${history_note}, in ${Date.now() - started} ms`;
        options.log(`node ${options.node_id}: ${what}`);
        return what;
      } catch (error) {
        const why = `${peer.node_id} (${peer.url}): ${error instanceof Error ? error.message : String(error)}`;
        options.log(`node ${options.node_id}: could not bootstrap from ${why}`);
        errors.push(why);
      }
    }
    throw new Error(`no peer could give a snapshot: ${errors.join("; ")}`);
  } finally {
    release();
  }
}
