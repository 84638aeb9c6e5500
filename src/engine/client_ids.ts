/**
 * Client order ids stay reserved per account for a retention window of command time (at least 24 h),
 * finished orders included, so a retried request can never place a second order. Entries expire in
 * arrival order from a bounded ring; when the ring is full of unexpired ids, new ids are refused.
 */

import type { AccountRow } from "./accounts.js";
import { assert } from "./assert.js";
import { grown, next_capacity } from "./growable.js";

export class ClientIdRetention {
  private account = new Int32Array(0);
  private time_ms = new Float64Array(0);
  private order_id = new Float64Array(0);
  /** Grows as used (a ring of up to `capacity`), so an unused capacity costs no memory. */
  private client_id: (string | null)[] = [];
  /** Current ring length; grows by doubling up to `capacity`. */
  private length = 0;
  private head = 0;
  size = 0;
  /** Per-account counts, to enforce client_ids_per_account_max. */
  private readonly per_account = new Map<number, number>();

  constructor(
    readonly capacity: number,
    readonly per_account_max: number,
    readonly retention_ms: number,
  ) {}

  /** Grows the ring, moving the entries so the oldest is at index 0. */
  private grow(): void {
    const length = next_capacity(this.length, this.length + 1, this.capacity);
    const unwrap = <T extends Int32Array | Float64Array>(a: T): T => {
      const b = grown(a.subarray(0, 0) as T, length);
      for (let i = 0; i < this.size; i++) b[i] = a[(this.head + i) % this.length];
      return b;
    };
    this.account = unwrap(this.account);
    this.time_ms = unwrap(this.time_ms);
    this.order_id = unwrap(this.order_id);
    const ids: (string | null)[] = [];
    for (let i = 0; i < this.size; i++) ids.push(this.client_id[(this.head + i) % this.length]);
    this.client_id = ids;
    this.head = 0;
    this.length = length;
  }

  /** Forgets ids older than the window. Called with non-decreasing command time. */
  expire(accounts: AccountRow[], now_ms: number): void {
    const cutoff = now_ms - this.retention_ms;
    while (this.size > 0 && this.time_ms[this.head] <= cutoff) {
      const account = this.account[this.head];
      const id = this.client_id[this.head];
      assert(id !== null, "empty client id entry");
      accounts[account].client_ids?.delete(id);
      this.client_id[this.head] = null;
      const left = (this.per_account.get(account) ?? 1) - 1;
      if (left === 0) this.per_account.delete(account);
      else this.per_account.set(account, left);
      this.head = (this.head + 1) % this.length;
      this.size--;
    }
  }

  /** Whether `n` more client ids of `account` fit. */
  has_room(account: number, n = 1): boolean {
    return this.size + n <= this.capacity && (this.per_account.get(account) ?? 0) + n <= this.per_account_max;
  }

  add(row: AccountRow, account: number, client_id: string, order_id: number, now_ms: number): void {
    assert(this.has_room(account), "client id retention full");
    if (row.client_ids === null) row.client_ids = new Map();
    row.client_ids.set(client_id, order_id);
    if (this.size === this.length) this.grow();
    const tail = (this.head + this.size) % this.length;
    this.account[tail] = account;
    this.time_ms[tail] = now_ms;
    this.order_id[tail] = order_id;
    this.client_id[tail] = client_id;
    this.size++;
    this.per_account.set(account, (this.per_account.get(account) ?? 0) + 1);
  }

  /** Entries oldest first, for snapshots. */
  *entries(): Generator<{ account: number; client_id: string; order_id: number; time_ms: number }> {
    for (let i = 0; i < this.size; i++) {
      const at = (this.head + i) % this.length;
      yield {
        account: this.account[at],
        client_id: this.client_id[at] as string,
        order_id: this.order_id[at],
        time_ms: this.time_ms[at],
      };
    }
  }
}
