/**
 * What the gateway, the admin interface, the web API and the demo need of a node, whichever log it
 * runs on: the single node's file journal (EngineNode, src/node/runtime.ts) or cluster mode's etcd log
 * (ClusterNode, src/cluster/cluster_node.ts). Either way a command is answered only once this node's
 * engine has applied it, after it is durable.
 */
import type { Command } from "../engine/commands.js";
import type { Engine } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";

/**
 * A command refused before it reached the log: nothing of it was stored or applied, so the client
 * may send it again later. (A command whose write was under way when the log failed is not this:
 * its outcome is unknown until the node restarts.)
 */
export class WritesRefused extends Error {
  constructor(
    readonly reason: string,
    /** Only for a moment (a full queue: try again in a second), not a paused node. */
    readonly busy = false,
  ) {
    super(`new commands are refused: ${reason}`);
  }
}

export interface Applied {
  seq: number;
  timestamp_ms: number;
  events: EngineEvent[];
}

/**
 * Told what a node did, for its metrics (src/metrics/metrics.ts). Called on the node's thread after the
 * answers are due; it must be cheap and never throw.
 */
export interface NodeObserver {
  /**
   * This node's own commands were applied, `wait_ms` after they were submitted (the log's durable
   * write included): what their clients waited for. A cluster node gives its batch's first command's
   * wait (the longest).
   */
  commands_applied(commands: readonly Command[], wait_ms: number): void;
  /** The file journal made a frame durable: its bytes, its commands, the write's time. */
  journal_written(bytes: number, commands: number, write_ms: number): void;
  /** A snapshot was written (off the order path): its size and how long its worker took. */
  snapshot_written?(bytes: number, ms: number): void;
}

export type AppliedListener = (seq: number, time_ms: number, events: readonly EngineEvent[]) => void;

export interface ExchangeNode {
  readonly engine: Engine;
  readonly last_applied_seq: number;
  /** The newest snapshot on disk, if any. */
  readonly last_snapshot: { name: string; seq: number } | null;
  /** Makes `command` durable, applies it, answers with its sequence and events. Takes ownership of it. */
  submit(command: Command): Promise<Applied>;
  submit_batch(commands: Command[]): Promise<Applied[]>;
  /** A live consumer of every applied command's events from now on. */
  on_applied(listener: AppliedListener): void;
  /** Why this node refuses new orders now (WritesRefused; cancels may still be taken), or null. */
  readonly writes_refused: string | null;
  snapshot(): Promise<string>;
  state_hash(): string;
  close(): Promise<void>;
}
