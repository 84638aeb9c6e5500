/**
 * Withdrawals users ask for (the `withdraw_request` command) as engine state. Each one holds its
 * amount locked from the moment it is accepted until it is paid out (COMPLETED: the funds leave the
 * ledger) or given back (REJECTED by an operator, FAILURE at payout). The safeguards are decided here,
 * from command time, so every replica decides alike (DESIGN: "withdrawal safeguards"):
 * - a per-asset policy (`withdraw_policy`, operator): a withdrawal of at least `review_min_units`
 *   waits for an operator's approval; an account withdraws at most `daily_max_units` of the asset in
 *   any 24 hours of command time. An asset without a policy has every withdrawal reviewed;
 * - a withdrawal within 24 hours of the account's newest API key that may withdraw is held for review
 *   too, whatever its size (a stolen login's first move is a key of its own);
 * - limits: pending withdrawals per account and in all, withdrawals per account per 24 hours, the
 *   length of every text field.
 * Only pending withdrawals live here (and, per account, the last 24 hours' for the daily limit); the
 * finished ones are history (the `withdrawal` events). Statuses are Binance's withdraw history codes.
 */

import type { WithdrawRequest } from "./commands.js";

/** Binance's withdraw status 2: waiting for an operator (a safeguard held it). */
export const WITHDRAW_AWAITING_APPROVAL = 2;
/** 3: an operator refused it; its funds are back in the account. */
export const WITHDRAW_REJECTED = 3;
/** 4: approved, waiting for (or in) its payout. */
export const WITHDRAW_PROCESSING = 4;
/** 5: the payout failed; its funds are back in the account. */
export const WITHDRAW_FAILURE = 5;
/** 6: paid out; the funds have left the exchange. */
export const WITHDRAW_COMPLETED = 6;

/** Why a withdrawal waits for approval (bits of `held`). */
export const HELD_AMOUNT = 1;
export const HELD_NEW_KEY = 2;
/** The account's address allow-list was turned off within 24 hours. */
export const HELD_ALLOWLIST_OFF = 4;

/** Why a withdrawal was held, in words (the operator's list, the user's history). */
export function held_reasons(held: number): string[] {
  const why: string[] = [];
  if ((held & HELD_AMOUNT) !== 0) why.push("amount at or above the review threshold");
  if ((held & HELD_NEW_KEY) !== 0) why.push("a key that may withdraw was made within 24 hours");
  if ((held & HELD_ALLOWLIST_OFF) !== 0) why.push("the address allow-list was turned off within 24 hours");
  return why;
}

/** The daily limit's window and the new-key hold, in command time. */
export const WITHDRAW_WINDOW_MS = 24 * 3600 * 1000;
export const WITHDRAWALS_PENDING_MAX = 100_000;
export const WITHDRAWALS_PENDING_PER_ACCOUNT_MAX = 20;
/** Withdrawals an account may ask for in 24 hours (refused ones do not count). */
export const WITHDRAWALS_PER_DAY_MAX = 100;
export const ADDRESS_LENGTH_MAX = 128;
export const ADDRESS_TAG_LENGTH_MAX = 64;
export const NETWORK_LENGTH_MAX = 32;
/** Binance's withdrawOrderId. */
export const WITHDRAW_CLIENT_ID_LENGTH_MAX = 64;
/** A payout's transaction id, or why it failed. */
export const WITHDRAW_NOTE_LENGTH_MAX = 256;
/** Addresses on one account's allow-list (Binance's address book holds 200). */
export const ALLOWLIST_ADDRESSES_MAX = 200;

/** withdraw_allowlist actions. */
export const ALLOWLIST_ADD = 0;
export const ALLOWLIST_REMOVE = 1;
export const ALLOWLIST_ON = 2;
export const ALLOWLIST_OFF = 3;
export type AllowlistAction =
  | typeof ALLOWLIST_ADD
  | typeof ALLOWLIST_REMOVE
  | typeof ALLOWLIST_ON
  | typeof ALLOWLIST_OFF;

/**
 * An account's withdrawal address allow-list (Binance's withdrawal whitelist): while on, only listed
 * addresses, each usable 24 hours after it was added. Turning it off holds the next 24 hours'
 * withdrawals for review (`off_ms`: when; -1 never).
 */
export interface Allowlist {
  on: boolean;
  off_ms: number;
  /** address → when it was added (command time). */
  addresses: Map<string, number>;
}

/** A pending withdrawal: what was asked for, its engine id, when, where it stands and why held. */
export interface Withdrawal extends Omit<WithdrawRequest, "type" | "ts_ms"> {
  id: number;
  requested_ms: number;
  status: number;
  /** HELD_* bits: why it waited for approval (0: approved as it came). */
  held: number;
}

export interface WithdrawPolicyValues {
  review_min_units: number;
  daily_max_units: number;
}

/** No policy: every withdrawal is reviewed, no daily limit beyond that. */
export const POLICY_DEFAULT: Readonly<WithdrawPolicyValues> = {
  review_min_units: 0,
  daily_max_units: Number.MAX_SAFE_INTEGER,
};

/** An accepted withdrawal of the last 24 hours (amount 0 once given back: it no longer counts). */
export interface RecentWithdrawal {
  id: number;
  asset: number;
  amount_units: number;
  requested_ms: number;
  client_id: string;
}

export class Withdrawals {
  next_id = 1;
  /** Pending withdrawals (awaiting approval or processing) by id, oldest first. */
  readonly pending = new Map<number, Withdrawal>();
  readonly policies = new Map<number, WithdrawPolicyValues>();
  /** Per account, the withdrawals of the last 24 hours of command time, oldest first (pruned lazily). */
  readonly recent = new Map<number, RecentWithdrawal[]>();
  private readonly pending_per_account = new Map<number, number>();
  /** Accounts' address allow-lists (an entry once the account has touched its list). */
  readonly allowlists = new Map<number, Allowlist>();

  allowlist(account: number): Allowlist {
    let list = this.allowlists.get(account);
    if (list === undefined) {
      list = { on: false, off_ms: -1, addresses: new Map() };
      this.allowlists.set(account, list);
    }
    return list;
  }

  policy(asset: number): Readonly<WithdrawPolicyValues> {
    return this.policies.get(asset) ?? POLICY_DEFAULT;
  }

  pending_count(account: number): number {
    return this.pending_per_account.get(account) ?? 0;
  }

  /** Whether one of the account's pending withdrawals (older than the window too) has this withdrawOrderId. */
  client_id_pending(account: number, client_id: string): boolean {
    if (this.pending_count(account) === 0) return false;
    for (const p of this.pending.values())
      if (p.account === account && p.client_id === client_id) return true;
    return false;
  }

  /** The account's withdrawals within the window ending at `now_ms`, older ones dropped. */
  window(account: number, now_ms: number): RecentWithdrawal[] {
    const list = this.recent.get(account);
    if (list === undefined) return [];
    let old = 0;
    while (old < list.length && list[old].requested_ms <= now_ms - WITHDRAW_WINDOW_MS) old++;
    if (old > 0) list.splice(0, old);
    if (list.length === 0) this.recent.delete(account);
    return list;
  }

  add(w: Withdrawal): void {
    this.pending.set(w.id, w);
    this.pending_per_account.set(w.account, this.pending_count(w.account) + 1);
    const list = this.recent.get(w.account);
    const entry = {
      id: w.id,
      asset: w.asset,
      amount_units: w.amount_units,
      requested_ms: w.requested_ms,
      client_id: w.client_id,
    };
    if (list === undefined) this.recent.set(w.account, [entry]);
    else list.push(entry);
  }

  /**
   * A finished withdrawal leaves. One given back no longer counts against the daily maximum (its
   * amount there becomes 0), but keeps its withdrawOrderId for the rest of the 24 hours.
   */
  finish(w: Withdrawal, given_back: boolean): void {
    this.pending.delete(w.id);
    const left = this.pending_count(w.account) - 1;
    if (left > 0) this.pending_per_account.set(w.account, left);
    else this.pending_per_account.delete(w.account);
    if (!given_back) return;
    const entry = this.recent.get(w.account)?.find((r) => r.id === w.id);
    if (entry !== undefined) entry.amount_units = 0;
  }

  /** Restores a pending withdrawal from a snapshot (its recent entry is restored on its own). */
  restore_pending(w: Withdrawal): void {
    this.pending.set(w.id, w);
    this.pending_per_account.set(w.account, this.pending_count(w.account) + 1);
  }
}

/** A text field of a withdrawal: a string of at most `max` characters (at least one if required). */
export function text_ok(s: unknown, max: number, required: boolean): s is string {
  return typeof s === "string" && s.length <= max && (!required || s.length > 0);
}
