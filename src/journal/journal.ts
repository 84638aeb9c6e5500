/**
 * The journal interface the node runtime uses. The file journal (file_journal.ts) implements it
 * today; the etcd journal of cluster mode (step 6) is to implement the same: append a batch and learn,
 * once it is durable, its first sequence and its timestamp; read in order from a sequence; drop what
 * snapshots and projections no longer need.
 */
import type { Command } from "../engine/commands.js";
import type { JournaledCommand } from "./scan.js";

export interface Appended {
  /** Sequence number of the first command of this append; the rest follow contiguously. */
  first_seq: number;
  /** The batch's timestamp (non-decreasing along the journal): every command's ts_ms. */
  timestamp_ms: number;
}

/**
 * An append refused because a command in it has a value the command format cannot hold (a u32 field
 * past 2^32, a string past its length): a bug in whatever validated it, never an I/O failure. Nothing
 * of that append was written, and the journal goes on taking others.
 */
export class UnencodableCommand extends Error {
  override name = "UnencodableCommand";
}

export interface Journal {
  /** Sequence number the next command will get. */
  readonly next_sequence: number;
  /** The first sequence still held (retention drops older ones). */
  readonly first_sequence: number;
  /** Resolves once the commands are durable (acknowledged = durable: DESIGN invariant 2). */
  append(commands: readonly Command[]): Promise<Appended>;
  /** Why it takes nothing more (a write or sync failed: the file's state is unknown), or null. */
  readonly failure: Error | null;
  /** Commands from `from_seq` on, a batch at a time, as durable now. */
  read_batches_from(from_seq: number): AsyncGenerator<JournaledCommand[]>;
  /** Retention: lets go of what lies wholly before `seq`; returns what was removed. */
  drop_before(seq: number): Promise<string[]>;
  close(): Promise<void>;
}
