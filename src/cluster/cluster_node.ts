/**
 * A node of a cluster (`holdfast start --journal etcd`): a full replica fed by the etcd log. Commands
 * this node's gateway receives are gathered into batches and appended to the log (etcd_log.ts); every
 * node, this one included, tails the log and applies every batch in revision order, so every engine
 * goes through the same commands in the same order and reaches the same state (the engine is a pure
 * function of them). A command is answered when this node's engine has applied it: after the quorum
 * committed it (DESIGN invariant 2) and after everything committed before it.
 *
 * Sequence numbers count commands along the log (the same on every node); a batch's timestamp is its
 * proposer's clock, clamped so that time never goes backwards along the log.
 *
 * Snapshots: a node writes its engine's snapshot locally (snapshots/, as a single node does) with
 * the log position it stands for (cluster-<seq>.json: sequence, etcd revision, clamped timestamp),
 * and publishes that position under PREFIX/nodes/<id>/snapshot. On start it restores its newest
 * snapshot and tails the log from that revision. The snapshot is taken on the node's thread (a pause
 * of O(state)). The compactor (compactor.ts) deletes what every node's snapshot covers; a new or
 * wiped node first fetches a peer's snapshot and history (peer.ts, before open()).
 */
import { randomBytes } from "node:crypto";
import type { Etcd3, Lease } from "etcd3";
import type { Command } from "../engine/commands.js";
import type { EngineLimits } from "../engine/config.js";
import { Engine } from "../engine/engine.js";
import { restore, snapshot as snapshot_bytes, state_hash } from "../engine/snapshot.js";
import { UnencodableCommand } from "../journal/journal.js";
import { type DataDir, open_data_dir } from "../node/data_dir.js";
import {
  type Applied,
  type AppliedListener,
  type ExchangeNode,
  type NodeObserver,
  WritesRefused,
} from "../node/exchange_node.js";
import { observed, type Projection } from "../node/runtime.js";
import { list_snapshots, read_snapshot } from "../node/snapshot_store.js";
import { TouchAhead } from "../node/touch_ahead.js";
import { BATCH_COMMANDS_MAX, decode_batch, encode_batch } from "./batch_codec.js";
import { alive_prefix } from "./compactor.js";
import { etcd_client } from "./etcd_client.js";
import { EtcdLog, type Fence, FencedError, type LogEntry, type Tail } from "./etcd_log.js";
import { type Position, read_position, write_cluster_snapshot } from "./peer.js";
import { ClusterSnapshotter } from "./snapshotter.js";

export interface ClusterOptions {
  data_dir: string;
  /** Client URLs of the etcd members. */
  etcd: string[];
  /** This node's name in the cluster: letters, digits, - and _. */
  node_id: string;
  /** Key prefix of this exchange in etcd (several exchanges may share one etcd). */
  prefix: string;
  engine_limits: Partial<EngineLimits>;
  /** Commands per appended batch. */
  batch_commands_max: number;
  /** Batches appended and not yet applied, per node: beyond it commands wait in the queue. */
  batches_in_flight_max: number;
  /** Commands waiting for a batch beyond which submit() refuses at once. */
  queue_max: number;
  /** Take a snapshot after this many commands since the last one. */
  snapshot_every_commands: number;
  snapshots_kept: number;
  projection?: Projection;
  /** Told each of this node's batches once applied (the node's metrics). */
  observer?: NodeObserver;
  log: (line: string) => void;
}

export const DEFAULT_CLUSTER_OPTIONS = {
  prefix: "/holdfast",
  engine_limits: {},
  batch_commands_max: 2000,
  batches_in_flight_max: 4,
  queue_max: 100_000,
  snapshot_every_commands: 100_000,
  snapshots_kept: 2,
  log: (line: string) => console.error(line),
};

/** The alive key's lease: a node that stopped without closing is seen away this long after. */
export const ALIVE_TTL_S = 10;
const ALIVE_RETRY_MS = 1000;

const NODE_ID_RE = /^[A-Za-z0-9_-]{1,32}$/;
/**
 * Bytes of frames the snapshot replica holds before applying them (once or twice a second at full load,
 * on a thread at nice 19): the two buffers it then returns are reused for the next hand-overs, so the
 * node's thread never maps new memory for them (that took up to 5 ms now and then).
 */
const SNAPSHOT_WORKER_WAITING_BYTES_MAX = 8 * 1024 * 1024;
/** How long open() waits to catch up with the log before giving up. */
const CATCH_UP_TIMEOUT_MS = 120_000;
/** How long open() waits for etcd to answer at all. */
const ETCD_WAIT_MS = 60_000;

/** The newest usable snapshot (preferring one the projection can continue from), restored. */
function restore_newest(
  dir: string,
  feed_after: number,
  log: (line: string) => void,
): { engine: Engine; position: Position; name: string } | null {
  const all = list_snapshots(dir);
  const ordered = [
    ...all.filter((s) => s.last_seq <= feed_after),
    ...all.filter((s) => s.last_seq > feed_after),
  ];
  for (const s of ordered) {
    const position = read_position(dir, s.last_seq);
    if (position === null) continue;
    const stored = read_snapshot(dir, s.name);
    if (typeof stored === "string") {
      log(`node: skipping damaged snapshot ${s.name}: ${stored}`);
      continue;
    }
    if (s.last_seq > feed_after)
      log(`node: history projection is at ${feed_after}; history up to ${s.last_seq} comes from no snapshot`);
    return { engine: restore(stored.body), position, name: s.name };
  }
  return null;
}

interface Waiting {
  command: Command;
  /** When it was submitted (performance.now()): its wait for the node's metrics. */
  submitted_ms: number;
  resolve: (applied: Applied) => void;
  reject: (error: Error) => void;
}

export class ClusterNode implements ExchangeNode {
  last_snapshot: { name: string; seq: number } | null = null;
  private applied_seq = 0;
  /** Revision of the last log entry applied. */
  private applied_revision = 0;
  private last_ts_ms = 0;
  private snapshot_seq = 0;
  /** The log revision of the newest snapshot (what this node needs the log after). */
  private snapshot_revision = 0;
  private snapshotting = false;
  /** Writes snapshots on its own thread (snapshot_worker.ts); while it runs it gets every entry. */
  private readonly snapshotter: ClusterSnapshotter;
  /** What publish_position last said, and the address published with it. */
  private published_revision = 0;
  private advertised_url: string | null = null;
  private tail: Tail | null = null;
  private serving = false;
  private closed = false;
  /** The lease holding PREFIX/alive/<id> while this node runs (hold_alive). */
  private alive: Lease | null = null;
  private failed: Error | null = null;
  private readonly listeners: AppliedListener[] = [];
  private readonly queue: Waiting[] = [];
  /** This node's batches appended and not yet applied, by batch id. */
  private readonly pending = new Map<string, Waiting[]>();
  private in_flight = 0;
  private flush_scheduled = false;
  private readonly run_nonce = randomBytes(6).toString("base64url");
  private batch_counter = 0;
  private catch_up: { revision: number; done: () => void; fail: (error: Error) => void } | null = null;

  /** Maps the order store's memory ahead of its high-water mark on a helper thread. */
  private readonly touch_ahead: TouchAhead;

  private constructor(
    private readonly options: ClusterOptions,
    private readonly dir: DataDir,
    private readonly client: Etcd3,
    readonly log: EtcdLog,
    readonly engine: Engine,
    from: { position: Position; name: string } | null,
  ) {
    this.touch_ahead = new TouchAhead(engine.orders.touch_plan, options.log);
    this.snapshotter = new ClusterSnapshotter(
      {
        snapshots_dir: dir.snapshots,
        restore_name: from?.name ?? null,
        position: from?.position ?? { seq: 0, revision: 0, last_ts_ms: 0 },
        engine_limits: options.engine_limits,
        snapshots_kept: options.snapshots_kept,
        waiting_bytes_max: SNAPSHOT_WORKER_WAITING_BYTES_MAX,
      },
      options.log,
    );
    if (from !== null) {
      this.applied_seq = from.position.seq;
      this.applied_revision = from.position.revision;
      this.last_ts_ms = from.position.last_ts_ms;
      this.snapshot_seq = from.position.seq;
      this.snapshot_revision = from.position.revision;
      this.last_snapshot = { name: from.name, seq: from.position.seq };
    }
  }

  static async open(opts: Partial<ClusterOptions> & Pick<ClusterOptions, "data_dir" | "etcd" | "node_id">) {
    const options: ClusterOptions = { ...DEFAULT_CLUSTER_OPTIONS, ...opts };
    if (!NODE_ID_RE.test(options.node_id)) throw new Error("--node-id must be 1-32 letters, digits, - or _");
    if (options.etcd.length === 0) throw new Error("cluster mode needs at least one etcd URL (--etcd)");
    const dir = open_data_dir(options.data_dir);
    let restored: ReturnType<typeof restore_newest>;
    try {
      restored = restore_newest(
        dir.snapshots,
        options.projection?.last_seq ?? Number.POSITIVE_INFINITY,
        options.log,
      );
    } catch (error) {
      dir.release();
      throw error;
    }
    if (restored !== null) {
      options.log(
        `node ${options.node_id}: restored snapshot ${restored.name} (sequence ${restored.position.seq}, revision ${restored.position.revision})`,
      );
      // history before the snapshot that the projection does not have is not coming back
      if (options.projection !== undefined && restored.position.seq > options.projection.last_seq)
        options.projection.skip_to(restored.position.seq);
    }
    const client = etcd_client(options.etcd);
    const node = new ClusterNode(
      options,
      dir,
      client,
      new EtcdLog(client, options.prefix),
      restored?.engine ?? new Engine(options.engine_limits),
      restored,
    );
    try {
      await node.start();
      return node;
    } catch (error) {
      node.closed = true; // no alive lease granted again
      await node.alive?.revoke().catch(() => undefined);
      await node.snapshotter.close();
      await node.touch_ahead.stop();
      client.close();
      dir.release();
      throw error;
    }
  }

  /** Replays the log up to where it stood when we asked, then serves; the tail keeps running. */
  private async start(): Promise<void> {
    const started = Date.now();
    // etcd may still be starting (a whole cluster started at once): wait for it, saying so
    let newest: Awaited<ReturnType<ReturnType<Etcd3["getAll"]>["exec"]>>;
    for (let attempt = 1; ; attempt++) {
      try {
        newest = await this.client
          .getAll()
          .prefix(this.log.log_prefix)
          .sort("Mod", "Descend")
          .limit(1)
          .exec();
        break;
      } catch (error) {
        if (Date.now() - started > ETCD_WAIT_MS)
          throw new Error(`etcd did not answer in ${ETCD_WAIT_MS} ms: ${String(error)}`);
        if (attempt % 5 === 1)
          this.options.log(`node ${this.options.node_id}: waiting for etcd (${String(error)})`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await this.hold_alive();
    // Checked here, not left to the tail: with every entry after the snapshot deleted, there is
    // nothing to catch up on and the tail's refusal would come only after the node began serving.
    // A node without a snapshot needs the log from its first revision: refused the same way (it used
    // to start when every entry had been deleted, nothing to catch up on, and fail a moment later).
    if (await this.log.compacted_after(this.applied_revision))
      throw new Error(
        this.applied_revision > 0
          ? `the etcd log was compacted past this node's snapshot (revision ${this.applied_revision}): start it from a peer's snapshot (holdfast start does so by itself)`
          : "the etcd log was compacted: its beginning is gone and this node has no snapshot; start it from a peer's snapshot (holdfast start does so by itself)",
      );
    const target = Number(newest.kvs[0]?.mod_revision ?? 0);
    const caught_up = new Promise<void>((resolve, reject) => {
      this.catch_up = { revision: target, done: resolve, fail: reject };
    });
    this.tail = await this.log.tail(
      this.applied_revision,
      (entry) => this.apply_entry(entry),
      (error) => this.fail(new Error(`the etcd log cannot be followed: ${error.message}`)),
    );
    if (target <= this.applied_revision) this.catch_up?.done();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      caught_up,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`did not catch up with the etcd log (revision ${target}) in time`)),
          CATCH_UP_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    this.catch_up = null;
    this.options.projection?.flush();
    // what this node needs of the log from now on: everything after its snapshot (compactor.ts)
    await this.publish_position(this.last_snapshot === null ? 0 : this.snapshot_revision);
    this.serving = true;
    this.options.log(
      `node ${this.options.node_id}: caught up with the etcd log (revision ${this.applied_revision}, ${this.applied_seq} commands) in ${Date.now() - started} ms`,
    );
  }

  private apply_entry(entry: LogEntry): void {
    if (this.failed !== null) return;
    const mine = this.pending.get(entry.id);
    this.pending.delete(entry.id);
    let commands: Command[];
    let ts: number;
    try {
      const batch = decode_batch(entry.value);
      commands = batch.commands;
      ts = Math.max(this.last_ts_ms, batch.timestamp_ms);
    } catch (error) {
      // Every node decodes the same bytes the same way, so skipping keeps them in agreement.
      this.options.log(
        `node: skipping undecodable log entry ${entry.id} at revision ${entry.revision}: ${String(error)}`,
      );
      this.applied_revision = entry.revision;
      this.snapshotter.entry(entry.revision, entry.value);
      for (const w of mine ?? []) w.reject(new Error("the batch could not be decoded"));
      return;
    }
    this.last_ts_ms = ts;
    const projection = this.options.projection;
    try {
      for (let i = 0; i < commands.length; i++) {
        const command = commands[i];
        command.ts_ms = ts;
        const seq = this.applied_seq + 1;
        const feed = projection !== undefined && seq > projection.last_seq;
        if (!this.serving && !feed && mine === undefined) {
          this.engine.quietly(() => this.engine.execute(command));
          this.applied_seq = seq;
          continue;
        }
        const events = this.engine.apply(command);
        this.applied_seq = seq;
        if (feed) projection.apply(seq, ts, events);
        if (this.serving)
          for (const listener of this.listeners) {
            try {
              listener(seq, ts, events);
            } catch (error) {
              this.options.log(`node: event listener failed: ${String(error)}`);
            }
          }
        mine?.[i]?.resolve({ seq, timestamp_ms: ts, events });
      }
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.applied_revision = entry.revision;
    this.snapshotter.entry(entry.revision, entry.value);
    const observer = this.options.observer;
    if (observer !== undefined && mine !== undefined && mine.length > 0)
      observed(observer, commands, mine[0].submitted_ms, this.options.log);
    if (this.catch_up !== null && entry.revision >= this.catch_up.revision) this.catch_up.done();
    if (
      this.serving &&
      !this.snapshotting &&
      this.applied_seq - this.snapshot_seq >= this.options.snapshot_every_commands
    )
      setImmediate(() =>
        this.snapshot().catch((error: unknown) =>
          this.options.log(`node: snapshot failed: ${String(error)}`),
        ),
      );
  }

  private fail(error: Error): void {
    if (this.failed !== null) return;
    this.failed = error;
    this.catch_up?.fail(error); // still starting: open() fails with this error at once
    this.options.log(`node: stopped: ${error.message}`);
    for (const waiting of [...this.pending.values(), this.queue.splice(0)])
      for (const w of waiting) w.reject(error);
    this.pending.clear();
  }

  get writes_refused(): string | null {
    return this.failed === null ? null : `the node stopped: ${this.failed.message}`;
  }

  get last_applied_seq(): number {
    return this.applied_seq;
  }

  get last_applied_revision(): number {
    return this.applied_revision;
  }

  /** The etcd client, for the election of once-only work (once.ts). */
  get etcd(): Etcd3 {
    return this.client;
  }

  get node_id(): string {
    return this.options.node_id;
  }

  on_applied(listener: AppliedListener): void {
    this.listeners.push(listener);
  }

  state_hash(): string {
    return state_hash(this.engine);
  }

  submit(command: Command): Promise<Applied> {
    if (this.closed) return Promise.reject(new Error("node is closed"));
    if (this.failed !== null)
      return Promise.reject(new WritesRefused(`the node stopped: ${this.failed.message}`));
    if (this.queue.length >= this.options.queue_max)
      return Promise.reject(new WritesRefused("too many commands waiting for the log", true));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, submitted_ms: performance.now(), resolve, reject });
      if (!this.flush_scheduled) {
        this.flush_scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  submit_batch(commands: Command[]): Promise<Applied[]> {
    return Promise.all(commands.map((c) => this.submit(c)));
  }

  /** Appends what waits, a batch at a time, with at most batches_in_flight_max appends outstanding. */
  private flush(): void {
    this.flush_scheduled = false;
    while (
      this.queue.length > 0 &&
      this.in_flight < this.options.batches_in_flight_max &&
      this.failed === null
    ) {
      const take = this.queue.splice(0, Math.min(this.options.batch_commands_max, BATCH_COMMANDS_MAX));
      this.append_batch(take, undefined);
    }
  }

  private append_batch(take: Waiting[], fence: Fence | undefined): void {
    const id = `${this.options.node_id}.${this.run_nonce}.${++this.batch_counter}`;
    let value: Buffer;
    try {
      value = encode_batch({ timestamp_ms: Date.now(), commands: take.map((w) => w.command) });
    } catch (error) {
      // A command the format cannot hold (nothing was sent): only it is refused. The others of an
      // ordinary batch go back to the front of the queue, in their order, for the flush loop to take
      // again; a fenced batch is one unit and is refused whole.
      const refuse = (w: Waiting, e: unknown) =>
        w.reject(new UnencodableCommand(`a command cannot be journaled: ${(e as Error).message}`));
      if (fence !== undefined || take.length === 1) {
        for (const w of take) refuse(w, error);
        return;
      }
      const good: Waiting[] = [];
      for (const w of take) {
        try {
          encode_batch({ timestamp_ms: 0, commands: [w.command] });
          good.push(w);
        } catch (e) {
          refuse(w, e);
        }
      }
      this.queue.unshift(...good);
      return;
    }
    this.pending.set(id, take);
    this.in_flight++;
    this.log.append(id, value, fence).then(
      () => {
        this.in_flight--;
        if (this.queue.length > 0) this.flush();
      },
      (error: unknown) => {
        this.in_flight--;
        // Not known to be committed: the callers hear an error and retry by their own ids (client
        // order ids, request ids), which the engine dedupes if this batch did commit after all.
        if (this.pending.delete(id))
          for (const w of take)
            w.reject(
              error instanceof FencedError
                ? error
                : new Error(`the etcd log did not take the batch: ${String(error)}`),
            );
        if (this.queue.length > 0) this.flush();
      },
    );
  }

  /**
   * For work that must happen once (once.ts): the commands go into a batch of their own that etcd
   * writes only while `fence` holds; a deposed holder gets FencedError and nothing is written.
   */
  submit_fenced(commands: Command[], fence: Fence): Promise<Applied[]> {
    if (this.closed) return Promise.reject(new Error("node is closed"));
    if (this.failed !== null) return Promise.reject(this.failed);
    if (commands.length === 0) return Promise.resolve([]);
    const take: Waiting[] = [];
    const answers = commands.map(
      (command) =>
        new Promise<Applied>(
          (resolve, reject) => void take.push({ command, submitted_ms: performance.now(), resolve, reject }),
        ),
    );
    this.append_batch(take, fence);
    return Promise.all(answers);
  }

  /**
   * Writes a snapshot of the state after the last applied batch with its log position, keeps the
   * newest `snapshots_kept`, and publishes the position (for the compactor and for peers that bootstrap from it).
   */
  async snapshot(): Promise<string> {
    if (this.closed) throw new Error("node is closed");
    if (this.failed !== null) throw this.failed;
    if (this.snapshotting) throw new Error("a snapshot is being written");
    this.snapshotting = true;
    try {
      const started = Date.now();
      let position: Position;
      let name: string;
      let bytes: number;
      let where: string;
      if (this.snapshotter.running) {
        const written = await this.snapshotter.snapshot(this.applied_revision);
        ({ position, name, bytes } = written);
        where = `${written.ms} ms on the snapshot worker`;
      } else {
        position = { seq: this.applied_seq, revision: this.applied_revision, last_ts_ms: this.last_ts_ms };
        const body = snapshot_bytes(this.engine);
        const dir = this.dir.snapshots;
        name = write_cluster_snapshot(dir, position, body, this.options.snapshots_kept);
        bytes = body.length;
        where = `${Date.now() - started} ms on the node's thread`;
      }
      this.snapshot_seq = position.seq;
      this.last_snapshot = { name, seq: position.seq };
      this.options.log(
        `node ${this.options.node_id}: snapshot ${name} at revision ${position.revision} (${bytes} bytes, ${where})`,
      );
      this.snapshot_revision = position.revision;
      await this.publish_position(position.revision).catch((error: unknown) =>
        this.options.log(`node: could not publish the snapshot position: ${String(error)}`),
      );
      return name;
    } finally {
      this.snapshotting = false;
    }
  }

  /**
   * Tells the compactor which log revision this node still needs everything after, and (once the
   * node has an address) where a new node can fetch its snapshot from (peer.ts).
   */
  private async publish_position(revision: number): Promise<void> {
    this.published_revision = revision;
    await this.client
      .put(`${this.options.prefix}/nodes/${this.options.node_id}/snapshot`)
      .value(
        JSON.stringify({
          revision,
          seq: revision === 0 ? 0 : this.snapshot_seq,
          ...(this.advertised_url === null ? {} : { url: this.advertised_url }),
        }),
      )
      .exec();
  }

  /**
   * Keeps PREFIX/alive/<id> on a lease while this node runs, from before it catches up: the compactor
   * waits for the snapshot of a node that is away only for a while (compactor.ts, AWAY_GRACE_MS) and
   * tells a node away from one that is alive but has not snapshotted lately by this key. A lease lost
   * (etcd unreachable for its TTL) is granted again.
   */
  private async hold_alive(): Promise<void> {
    if (this.closed) return;
    const lease = this.client.lease(ALIVE_TTL_S);
    let replaced = false;
    // Never fatal: without the key for a while the node only risks being counted away after the
    // grace, which is minutes. One replacement per lease, whichever of its failures comes first.
    const again = (why: string) => {
      if (this.closed || replaced) return;
      replaced = true;
      this.options.log(`node ${this.options.node_id}: alive lease ${why}; granting another`);
      lease.revoke().catch(() => undefined);
      setTimeout(() => void this.hold_alive(), ALIVE_RETRY_MS).unref();
    };
    lease.on("lost", (error) => again(`lost (${error.message})`));
    try {
      await lease
        .put(alive_prefix(this.options.prefix) + this.options.node_id)
        .value(this.options.node_id)
        .exec();
      this.alive = lease;
    } catch (error) {
      again(`not granted (${String(error)})`);
    }
  }

  /** Publishes the address peers fetch this node's snapshot from (its public API's base URL). */
  async advertise(url: string): Promise<void> {
    this.advertised_url = url;
    await this.publish_position(this.published_revision);
  }

  /** Where this node keeps its snapshots (served to peers: peer.ts). */
  get snapshots_dir(): string {
    return this.dir.snapshots;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail?.stop().catch(() => undefined);
    for (const waiting of [...this.pending.values(), this.queue.splice(0)])
      for (const w of waiting) w.reject(new Error("node is closed"));
    this.pending.clear();
    this.options.projection?.flush();
    await this.snapshotter.close();
    await this.touch_ahead.stop();
    // gone at once rather than when the lease runs out (a crash leaves it to the TTL)
    await this.alive?.revoke().catch(() => undefined);
    this.client.close();
    this.dir.release();
  }
}
