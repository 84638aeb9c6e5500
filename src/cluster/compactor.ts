/**
 * Keeping etcd's keyspace bounded (etcd does not compact by itself and stops taking writes when its
 * backend reaches its quota). Every node publishes the log position of its newest snapshot under
 * PREFIX/nodes/<id>/snapshot (revision 0 until it has one); nothing at or below the smallest of them
 * is needed by anyone: every node can start from its own snapshot. The compactor (once-only work, on
 * the node elected for it) deletes those log keys, compacts etcd's history at that revision and now
 * and then defragments each member to give the space back.
 *
 * A node that has never published (a new one) would find the start of the log gone: it bootstraps
 * from a peer's snapshot (peer.ts); a node removed for good must have its PREFIX/nodes/<id> key
 * deleted, or compaction waits for it.
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

/** The smallest published snapshot revision, or null when no node has published. */
export async function needed_revision(client: Etcd3, prefix: string): Promise<number | null> {
  const published = await client.getAll().prefix(`${prefix}/nodes/`).strings();
  const revisions = Object.values(published).map((v) => {
    try {
      return Number((JSON.parse(v) as { revision: number }).revision);
    } catch {
      return 0;
    }
  });
  return revisions.length === 0 ? null : Math.min(...revisions);
}

/** One pass: deletes the log entries no node needs and compacts etcd's history below them. */
export async function compact_log(client: Etcd3, prefix: string, after: number): Promise<Compaction | null> {
  const needed = await needed_revision(client, prefix);
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
): { stop(): Promise<void> } {
  let stopped = false;
  let after = 0;
  let passes = 0;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    const done = await compact_log(client, prefix, after);
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
