/**
 * Order entry stops before the data directory's disk is full, and starts again by itself once there
 * is room.
 *
 * Why: a journal write that fails for want of space leaves the segment's state unknown, so the
 * journal stops for good and the node needs a restart (and a restart on a full disk fails too). The
 * SQLite history stops the same way. Refusing new commands while a reserve is still free keeps every
 * file intact: reads, market data and the status page go on, the refusals say why, and trading
 * resumes on its own once space is freed, with no restart.
 *
 * Checked once a second with statfs (a few microseconds): at the journal's full rate of ~40 bytes a
 * command and 500,000 commands a second, 20 MB can arrive between checks, well inside the reserve.
 */
import { statfsSync } from "node:fs";

/** The space kept free on the data directory's disk (`holdfast start --disk-free-min-mb`). */
export const DISK_FREE_MIN_BYTES_DEFAULT = 128 * 1024 * 1024;
const CHECK_EVERY_MS = 1000;
/** Order entry resumes at this multiple of the minimum, so a disk hovering at the line does not flap. */
const RESUME_FACTOR = 1.5;

/**
 * Below this a node does not start: opening the journal, the history (SQLite's WAL) and the demo's
 * files needs some room, and without it the failure would be SQLite's bare "disk I/O error".
 */
export const START_FREE_MIN_BYTES = 16 * 1024 * 1024;

/** Bytes an unprivileged writer may still use on `dir`'s file system; null if unknown. */
export function free_bytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** Why a node cannot start on `dir` for want of space, or null. */
export function start_space_problem(dir: string): string | null {
  const free = free_bytes(dir);
  if (free === null || free >= START_FREE_MIN_BYTES) return null;
  return `the disk of ${dir} has ${mb(free)} free; a node needs ${mb(START_FREE_MIN_BYTES)} to start (journal, history, snapshots): free space and start again`;
}

export const mb = (bytes: number): string =>
  `${Math.floor(bytes / (1024 * 1024)).toLocaleString("en-US")} MB`;

/**
 * Commands still taken while order entry is paused (not below the hard floor): they are small, and
 * they are how traders and operators get out of harm's way (cancels, halting a market, maintenance,
 * revoking a key, ending sessions), as load shedding never sheds cancels either.
 */
const PROTECTIVE: ReadonlySet<string> = new Set([
  "cancel_order",
  "cancel_all",
  "expire_market_orders",
  "set_market_status",
  "set_price_range",
  "set_exchange_flags",
  "revoke_api_key",
  "end_user_sessions",
  // a listen key kept alive (or opened, or closed) so traders keep hearing what happens to their orders
  "listen_key",
]);

export class DiskGuard {
  /** Why new commands are refused now, or null. */
  reason: string | null = null;
  /** Below a quarter of the minimum even protective commands are refused. */
  private hard = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly dir: string,
    private readonly min_bytes: number,
    private readonly log: (line: string) => void,
  ) {
    if (!(Number.isSafeInteger(min_bytes) && min_bytes > 0)) throw new RangeError("disk_free_min_bytes > 0");
    this.check();
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** Why `commands` (one, or a batch) are refused now, or null when they may go to the journal. */
  refusal(commands: { type: string } | readonly { type: string }[]): string | null {
    if (this.reason === null) return null;
    const all = Array.isArray(commands) ? commands : [commands];
    if (!this.hard && all.every((c: { type: string }) => PROTECTIVE.has(c.type))) return null;
    return this.reason;
  }

  check(): void {
    const free = free_bytes(this.dir);
    if (free === null) return; // cannot tell: keep the last decision
    this.hard = free < this.min_bytes / 4;
    if (this.reason === null && free < this.min_bytes) {
      this.reason = `the data directory's disk has ${mb(free)} free, under the ${mb(this.min_bytes)} kept`;
      this.log(
        `node: ORDER ENTRY PAUSED: ${this.reason} (${this.dir}); new commands are refused (cancels and operators' ` +
          `protective commands still go through above ${mb(this.min_bytes / 4)}), reads go on; ` +
          `it resumes by itself at ${mb(this.min_bytes * RESUME_FACTOR)} free`,
      );
    } else if (this.reason !== null && free >= this.min_bytes * RESUME_FACTOR) {
      this.reason = null;
      this.log(`node: order entry resumed: the data directory's disk has ${mb(free)} free`);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
