/**
 * The replicated log of cluster mode on etcd 3.4 (DESIGN, "Cluster mode"). A batch of commands is one
 * key under PREFIX/log/, written once by a transaction that creates it only if it does not exist, so
 * a retry after a lost answer cannot write it twice. etcd's revision orders the batches; every node
 * tails the prefix with a watch and applies the batches in revision order. Acknowledged = the put
 * returned, i.e. etcd's quorum committed it (each member fsyncs its WAL before it counts).
 *
 * The watch is etcd's own ordered stream of changes after a revision: events arrive in revision
 * order, none skipped; after a reconnect the client resumes from the last revision it saw, and this
 * module drops anything at or below the last revision it delivered, so a batch is never delivered
 * twice. A batch's bytes are opaque here (batch_codec.ts).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isBrokenCircuitError } from "cockatiel";
import { type Etcd3, isRecoverableError, type Watcher } from "etcd3";

/**
 * A put that keeps failing for this long (no quorum) fails the append; the caller's client retries.
 * Time, not a count of attempts: a failed call can take a whole deadline or return at once (every
 * member's circuit breaker open), and what matters is how long the quorum has been gone.
 */
const APPEND_GIVE_UP_MS = 10_000;
const APPEND_BACKOFF_MS = 100;
const STOP_WAIT_MS = 1000;

/**
 * Work that must happen once writes only while its election key is the one it won: the key and the
 * revision it was created at. A holder whose lease expired (paused, partitioned) lost that key, so
 * every write it still tries is refused by etcd itself, however late it wakes up.
 */
export interface Fence {
  key: string;
  create_revision: number;
}

export class FencedError extends Error {
  override name = "FencedError";
}

export interface LogEntry {
  revision: number;
  /** The batch id given to append(). */
  id: string;
  value: Buffer;
}

export interface Tail {
  stop(): Promise<void>;
  /** The revision of the last entry delivered (or the start point). */
  readonly last_revision: number;
}

export class EtcdLog {
  readonly log_prefix: string;

  constructor(
    readonly client: Etcd3,
    readonly prefix: string,
  ) {
    this.log_prefix = `${prefix}/log/`;
  }

  /**
   * Writes batch `id` once; resolves with its revision when etcd has committed it. A retry of the same
   * id (after a timeout whose put did commit) finds the first one and answers with its revision. With
   * a fence, the write happens only while the fence holds (FencedError otherwise).
   */
  async append(id: string, value: Buffer, fence?: Fence): Promise<number> {
    const key = this.log_prefix + id;
    const started = Date.now();
    for (;;) {
      try {
        let txn = this.client.if(key, "Create", "==", 0);
        if (fence !== undefined) txn = txn.and(fence.key, "Create", "==", fence.create_revision);
        const r = await txn.then(this.client.put(key).value(value)).else(this.client.get(key)).commit();
        if (r.succeeded) return Number(r.header.revision);
        const kv = r.responses[0]?.response_range?.kvs?.[0];
        if (kv !== undefined) return Number(kv.mod_revision); // an earlier try of ours committed
        if (fence !== undefined)
          throw new FencedError(`no longer the holder of ${fence.key}: batch ${id} refused`);
        throw new Error(`batch ${id} exists but could not be read`);
      } catch (error) {
        if (error instanceof FencedError) throw error;
        // an open breaker on every member is as transient as the failures that opened it
        const transient = isRecoverableError(error as Error) || isBrokenCircuitError(error);
        if (!transient || Date.now() - started >= APPEND_GIVE_UP_MS) throw error;
        await sleep(APPEND_BACKOFF_MS);
      }
    }
  }

  /**
   * True when etcd has compacted its history past `revision`: the entries after it may be gone, and a
   * tail from it is refused. Probed by reading the log as of the revision after it.
   */
  async compacted_after(revision: number): Promise<boolean> {
    try {
      await this.client
        .getAll()
        .prefix(this.log_prefix)
        .revision(revision + 1)
        .limit(1)
        .keys();
      return false;
    } catch (error) {
      if (/compacted/.test(String(error))) return true;
      if (/future revision/.test(String(error))) return false; // nothing written after it yet
      throw error;
    }
  }

  /** The cluster's current revision (what a node must have applied to be caught up). */
  async revision(): Promise<number> {
    const r = await this.client.get(`${this.prefix}/`).exec();
    return Number(r.header.revision);
  }

  /**
   * Delivers every batch committed after `after_revision`, in revision order, each once, until
   * stop(). `on_error` hears what the watch cannot recover from (e.g. the history it needs was
   * compacted away: the node must start again from a snapshot).
   */
  async tail(
    after_revision: number,
    on_entry: (entry: LogEntry) => void,
    on_error: (error: Error) => void,
  ): Promise<Tail> {
    let last = after_revision;
    const builder = this.client
      .watch()
      .prefix(this.log_prefix)
      .startRevision(String(after_revision + 1));
    // Every (re)connection resumes right after the last entry delivered. etcd3 on its own resumes after
    // the revision stamped on the last response, which is the store's current revision: a tail still
    // catching up on history would skip what it had not received yet. Responses are fragmented so that
    // a long history never makes one message too large to receive.
    (builder as unknown as { request: { fragment?: boolean } }).request.fragment = true;
    const watcher: Watcher = builder.watcher();
    watcher.on("connecting", () => {
      const request = watcher.request as { start_revision?: string | number; fragment?: boolean };
      request.start_revision = String(last + 1);
      request.fragment = true;
    });
    await new Promise<void>((resolve, reject) => {
      watcher.once("connected", () => resolve());
      watcher.once("error", (error) =>
        reject(new Error(`etcd refused the watch from revision ${after_revision + 1}: ${error.message}`)),
      );
    });
    watcher.on("put", (kv) => {
      const revision = Number(kv.mod_revision);
      if (revision <= last) return; // a replay after a reconnect
      last = revision;
      on_entry({ revision, id: kv.key.toString().slice(this.log_prefix.length), value: kv.value });
    });
    let cancelled_by_etcd = false;
    watcher.on("error", (error) => {
      cancelled_by_etcd = true;
      on_error(
        new Error(
          `etcd cancelled the watch from revision ${last + 1} (its history may have been compacted: start this node from a snapshot): ${error.message}`,
        ),
      );
    });
    return {
      // etcd3's cancel waits for an answer that a watch etcd already cancelled never gets: bounded
      stop: async () => {
        // a watch etcd cancelled is gone: cancelling it again makes etcd3 fail on a late answer
        if (cancelled_by_etcd) return;
        await Promise.race([watcher.cancel().catch(() => undefined), sleep(STOP_WAIT_MS)]);
      },
      get last_revision() {
        return last;
      },
    };
  }
}
