/**
 * Paying out approved withdrawals: the side effect that must happen once (DESIGN, "The path of one
 * order": "withdrawal payouts … one elected executor, fenced"). On a single node it runs in the node;
 * in a cluster it is OnceRunner work (src/cluster/once.ts), so only the election's holder pays and
 * every outcome it journals is fenced by its election key.
 *
 * Holdfast holds no keys to any chain: the operator's custody service pays. The executor asks it
 * over HTTP (`--payout-url`), per Standard Webhooks 1.0 (the `standardwebhooks` package, a whsec_
 * secret from `--payout-secret-file`): a POST of the withdrawal as JSON with headers webhook-id
 * `withdrawal-w<id>` (the same on every attempt: the custody's idempotency key, so paying twice is
 * impossible however often it is asked: DESIGN invariant 5), webhook-timestamp, webhook-signature.
 * The custody answers:
 * - 2xx `{"txid": "…"}`: paid (or already paid, the same txid); journaled as `withdraw_result` ok;
 * - 422 `{"reason": "…"}`: will never pay this one; journaled as failed, the funds go back;
 * - anything else, or no answer: unknown; asked again later (backing off to RETRY_MAX_MS).
 * While withdrawals are paused or the exchange is in maintenance nothing is sent: approved
 * withdrawals wait (DESIGN, degraded modes: "withdrawals paused").
 */
import { Webhook } from "standardwebhooks";
import type { FencedNode, Work } from "../cluster/once.js";
import { units_to_decimal } from "../engine/decimal.js";
import { WITHDRAW_NOTE_LENGTH_MAX, WITHDRAW_PROCESSING, type Withdrawal } from "../engine/withdrawals.js";

export const POLL_MS = 250;
export const PAYOUT_TIMEOUT_MS = 15_000;
export const PAYOUTS_IN_FLIGHT_MAX = 4;
const RETRY_FIRST_MS = 1_000;
export const RETRY_MAX_MS = 60_000;
const ANSWER_BYTES_MAX = 64 * 1024;

export interface PayoutOptions {
  /** The custody service's endpoint. */
  url: string;
  /** Its Standard Webhooks secret ("whsec_…"). */
  secret: string;
  timeout_ms?: number;
  log: (line: string) => void;
}

/** What the custody service is sent for a withdrawal (amounts as decimal text and as units). */
export function payout_body(node: FencedNode, w: Readonly<Withdrawal>): string {
  const asset = node.engine.assets[w.asset];
  return JSON.stringify({
    id: `w${w.id}`,
    account: w.account,
    asset: asset.name,
    amount: units_to_decimal(w.amount_units, asset.decimals),
    amount_units: String(w.amount_units),
    address: w.address,
    address_tag: w.address_tag,
    network: w.network,
    withdraw_order_id: w.client_id,
    requested_ms: w.requested_ms,
  });
}

type Answer = { paid: string } | { refused: string } | { unknown: string };

export function start_payouts(node: FencedNode, options: PayoutOptions): Work {
  const webhook = new Webhook(options.secret);
  const timeout_ms = options.timeout_ms ?? PAYOUT_TIMEOUT_MS;
  const in_flight = new Map<number, Promise<void>>();
  /** Per withdrawal: when to ask again after an unknown answer, and the wait after that. */
  const retry = new Map<number, { at_ms: number; wait_ms: number }>();
  let holding = false;
  let stopped = false;

  const ask = async (w: Readonly<Withdrawal>): Promise<Answer> => {
    const body = payout_body(node, w);
    const id = `withdrawal-w${w.id}`;
    const now = new Date();
    try {
      const response = await fetch(options.url, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": "application/json",
          "user-agent": "holdfast-payouts",
          "webhook-id": id,
          "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
          "webhook-signature": webhook.sign(id, now, body),
        },
        body,
        signal: AbortSignal.timeout(timeout_ms),
      });
      const text = (await response.text()).slice(0, ANSWER_BYTES_MAX);
      let json: { txid?: unknown; reason?: unknown } = {};
      try {
        json = JSON.parse(text) as typeof json;
      } catch {
        json = {};
      }
      const fits = (v: unknown): v is string =>
        typeof v === "string" && v.length > 0 && v.length <= WITHDRAW_NOTE_LENGTH_MAX;
      if (response.status >= 200 && response.status < 300 && fits(json.txid)) return { paid: json.txid };
      if (response.status === 422) return { refused: fits(json.reason) ? json.reason : "refused by custody" };
      return { unknown: `HTTP ${response.status}${response.ok ? " without a txid" : ""}` };
    } catch (error) {
      const e = error as { name?: string; cause?: { code?: string }; message?: string };
      return {
        unknown: e.name === "TimeoutError" ? "timed out" : (e.cause?.code ?? e.message ?? String(error)),
      };
    }
  };

  const pay = async (w: Readonly<Withdrawal>): Promise<void> => {
    const answer = await ask(w);
    if ("unknown" in answer) {
      const last = retry.get(w.id);
      const wait_ms = Math.min(RETRY_MAX_MS, last === undefined ? RETRY_FIRST_MS : last.wait_ms * 2);
      retry.set(w.id, { at_ms: Date.now() + wait_ms, wait_ms });
      options.log(`payouts: withdrawal w${w.id}: ${answer.unknown}; asking again in ${wait_ms} ms`);
      return;
    }
    const ok = "paid" in answer;
    const note = ok ? answer.paid : answer.refused;
    try {
      // a second outcome for the same withdrawal is refused by the engine: harmless
      await node.submit({ type: "withdraw_result", ts_ms: 0, id: w.id, ok, note });
      retry.delete(w.id);
      options.log(`payouts: withdrawal w${w.id} ${ok ? `paid, txid ${note}` : `failed: ${note}`}`);
    } catch (error) {
      // not journaled (writes refused, or this node lost its election): asked again later, the
      // custody answers the same for the same webhook-id
      retry.set(w.id, { at_ms: Date.now() + RETRY_FIRST_MS, wait_ms: RETRY_FIRST_MS });
      options.log(`payouts: withdrawal w${w.id}: outcome not journaled: ${String(error)}`);
    }
  };

  const tick = (): void => {
    if (stopped) return;
    const e = node.engine;
    const hold = e.withdrawals_paused || e.maintenance;
    if (hold !== holding) {
      holding = hold;
      options.log(hold ? "payouts: held (withdrawals paused or maintenance)" : "payouts: resumed");
    }
    if (hold) return;
    const now_ms = Date.now();
    for (const w of e.withdrawals.pending.values()) {
      if (in_flight.size >= PAYOUTS_IN_FLIGHT_MAX) break;
      if (w.status !== WITHDRAW_PROCESSING || in_flight.has(w.id)) continue;
      if ((retry.get(w.id)?.at_ms ?? 0) > now_ms) continue;
      // a copy: the engine's record changes under it
      const copy = { ...w };
      const running = pay(copy).finally(() => in_flight.delete(copy.id));
      in_flight.set(copy.id, running);
    }
    for (const id of retry.keys()) if (!e.withdrawals.pending.has(id)) retry.delete(id);
  };

  const timer = setInterval(tick, POLL_MS);
  options.log(`payouts: paying approved withdrawals through ${options.url}`);
  return {
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([...in_flight.values()]);
    },
  };
}
