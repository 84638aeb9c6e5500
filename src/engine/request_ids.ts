/**
 * Request ids of non-order commands (create_account, deposit, withdraw) stay reserved for a retention
 * window of command time, so a retried request — after a timeout, on another node, across a restart —
 * is applied once (DESIGN invariant 5). The engine remembers each id's result (the account it created
 * or acted on) so a retry can be answered with it. Bounded: when the window holds
 * `request_ids_retained_max` unexpired ids, new ones are refused.
 */
import { assert } from "./assert.js";

export class RequestIdRetention {
  private readonly result = new Map<string, number>();
  /** Arrival order, for expiry: a queue in two arrays with a moving head, compacted now and then. */
  private ids: string[] = [];
  private times_ms: number[] = [];
  private head = 0;

  constructor(
    readonly capacity: number,
    readonly retention_ms: number,
  ) {}

  get size(): number {
    return this.ids.length - this.head;
  }

  /** Forgets ids older than the window. Called with non-decreasing command time. */
  expire(now_ms: number): void {
    const cutoff = now_ms - this.retention_ms;
    while (this.head < this.ids.length && this.times_ms[this.head] <= cutoff) {
      this.result.delete(this.ids[this.head]);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.times_ms = this.times_ms.slice(this.head);
      this.head = 0;
    }
  }

  /** The result recorded for `id`, or undefined when it is new. */
  get(id: string): number | undefined {
    return this.result.get(id);
  }

  has_room(): boolean {
    return this.size < this.capacity;
  }

  add(id: string, result: number, now_ms: number): void {
    assert(this.has_room(), "request id retention full");
    assert(!this.result.has(id), "request id added twice");
    this.result.set(id, result);
    this.ids.push(id);
    this.times_ms.push(now_ms);
  }

  /** Entries oldest first, for snapshots. */
  *entries(): Generator<{ request_id: string; result: number; time_ms: number }> {
    for (let i = this.head; i < this.ids.length; i++)
      yield {
        request_id: this.ids[i],
        result: this.result.get(this.ids[i]) as number,
        time_ms: this.times_ms[i],
      };
  }
}
