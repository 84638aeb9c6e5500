/**
 * Keeping etcd's keyspace bounded (etcd does not compact by itself and stops taking writes when its
 * backend reaches its quota). Every node publishes the log position of its newest snapshot under
 * PREFIX/nodes/<id>/snapshot (revision 0 until it has one); nothing at or below the smallest of them
 * is needed by anyone: every node can start from its own snapshot. The compactor (once-only work, on
 * the node elected for it) deletes those log keys, compacts etcd's history at that revision and now
 * and then defragments each member to give the space back.
 *
 * A node that has never published (a new one) would find the start of the log gone: it bootstraps
 * from a peer's snapshot (peer.ts); a node removed for good should have its PREFIX/nodes/<id> key
 * deleted.
 *
 * A node that is away (no PREFIX/alive/<id> key: cluster_node.ts holds it on a lease while the node
 * runs) is waited for only AWAY_GRACE_MS. Waiting for it longer would let the log grow for as long as
 * it is down, until etcd reaches its quota and the whole cluster stops taking orders (a few hours of
 * heavy trading): one dead machine must not take the exchange down. Past the grace, compaction goes on
 * past its snapshot; when it comes back it finds its snapshot compacted past, sets it aside and starts
 * from a peer's (peer.ts, bootstrap_from_peer).
 */
import type { Etcd3 } from "etcd3";
import { etcd_client } from "./etcd_client.js";

const DELETE_BATCH = 100;
export const COMPACT_EVERY_MS = 30_000;
/** Defragment the members every this many compactions (defragmenting blocks a member briefly). */
const DEFRAG_EVERY = 10;

export interface Compaction {
  revision: number;
  deleted: number;
}

/** A node away this long is no longer waited for (see the file's comment). */
export const AWAY_GRACE_MS = 15 * 60_000;

/** Each node that published a snapshot position: its id and the revision it still needs the log after. */
export async function published_positions(client: Etcd3, prefix: string): Promise<Map<string, number>> {
  const published = await client.getAll().prefix(`${prefix}/nodes/`).strings();
  const out = new Map<string, number>();
  for (const [key, value] of Object.entries(published)) {
    const id = key.slice(`${prefix}/nodes/`.length).split("/")[0];
    let revision = 0; // unreadable: treated as needing the whole log
    try {
      revision = Number((JSON.parse(value) as { revision: number }).revision) || 0;
    } catch {}
    out.set(id, revision);
  }
  return out;
}

/** Where running nodes keep their alive keys (`<this><node id>`, held by cluster_node.ts). */
export const alive_prefix = (prefix: string): string => `${prefix}/alive/`;

/** The nodes running now (their alive keys). */
export async function alive_nodes(client: Etcd3, prefix: string): Promise<Set<string>> {
  const keys = await client.getAll().prefix(alive_prefix(prefix)).keys();
  return new Set(keys.map((k) => k.slice(alive_prefix(prefix).length)));
}

/**
 * The smallest published snapshot revision among the nodes not in `skip`, or null when there is none
 * (no node has published, or every one is skipped: then nothing is compacted).
 */
export async function needed_revision(
  client: Etcd3,
  prefix: string,
  skip: ReadonlySet<string> = new Set(),
): Promise<number | null> {
  const revisions = [...(await published_positions(client, prefix))]
    .filter(([id]) => !skip.has(id))
    .map(([, revision]) => revision);
  return revisions.length === 0 ? null : Math.min(...revisions);
}

/**
 * One pass: deletes the log entries no node needs (nodes in `skip` aside) and compacts etcd's history
 * below them.
 */
export async function compact_log(
  client: Etcd3,
  prefix: string,
  after: number,
  skip: ReadonlySet<string> = new Set(),
): Promise<Compaction | null> {
  const needed = await needed_revision(client, prefix, skip);
  if (needed === null || needed <= after) return null;
  let deleted = 0;
  for (;;) {
    const keys = await client
      .getAll()
      .prefix(`${prefix}/log/`)
      .maxModRevision(needed)
      .limit(DELETE_BATCH)
      .keys();
    if (keys.length === 0) break;
    await Promise.all(keys.map((k) => client.delete().key(k).exec()));
    deleted += keys.length;
  }
  await client.kv.compact({ revision: String(needed), physical: true }).catch((error: unknown) => {
    // compacted already (by another pass or an operator): nothing left to do
    if (!String(error).includes("compacted")) throw error;
  });
  return { revision: needed, deleted };
}

/** Runs compaction every COMPACT_EVERY_MS until stopped; defragments members now and then. */
export function start_compactor(
  client: Etcd3,
  prefix: string,
  member_urls: string[],
  log: (line: string) => void,
  every_ms = COMPACT_EVERY_MS,
  away_grace_ms = AWAY_GRACE_MS,
): { stop(): Promise<void> } {
  let stopped = false;
  let after = 0;
  let passes = 0;
  let running: Promise<void> = Promise.resolve();
  /** When this compactor first saw each published node without its alive key (in its own memory:
   * a newly elected compactor waits the whole grace again, erring on the side of waiting). */
  const away_since = new Map<string, number>();
  const skipped = new Set<string>();
  const pass = async () => {
    const now = Date.now();
    const [positions, alive] = await Promise.all([
      published_positions(client, prefix),
      alive_nodes(client, prefix),
    ]);
    for (const id of away_since.keys()) if (alive.has(id) || !positions.has(id)) away_since.delete(id);
    for (const id of positions.keys()) if (!alive.has(id) && !away_since.has(id)) away_since.set(id, now);
    const skip = new Set(
      [...away_since].filter(([, since]) => now - since >= away_grace_ms).map(([id]) => id),
    );
    for (const id of skip)
      if (!skipped.has(id))
        log(
          `cluster: node ${id} has been away ${Math.round((now - (away_since.get(id) ?? now)) / 1000)} s: compacting past its snapshot (revision ${positions.get(id)}); it starts from a peer's when it returns`,
        );
    skipped.clear();
    for (const id of skip) skipped.add(id);
    const done = await compact_log(client, prefix, after, skip);
    if (done === null) return;
    after = done.revision;
    passes++;
    log(`cluster: compacted the log at revision ${done.revision} (${done.deleted} entries deleted)`);
    if (passes % DEFRAG_EVERY === 0)
      for (const url of member_urls) {
        const member = etcd_client([url]);
        try {
          await member.maintenance.defragment();
        } catch (error) {
          log(`cluster: defragmenting ${url}: ${String(error)}`);
        } finally {
          member.close();
        }
      }
  };
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(pass).catch((error: unknown) => log(`cluster: compaction: ${String(error)}`));
  }, every_ms);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
