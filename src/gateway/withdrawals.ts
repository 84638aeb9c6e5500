/**
 * Users' withdrawals over Binance's wallet API (what ccxt's `withdraw` and `fetchWithdrawals` call):
 * - POST /sapi/v1/capital/withdraw/apply: a key with withdraw permission asks for a withdrawal.
 *   Stateless checks here (asset, amount and its precision, address and tag characters, lengths);
 *   the safeguards are the engine's (src/engine/withdrawals.ts), decided on the journaled command.
 *   Answers `{"id":"w<id>"}`: a user's withdrawal id is "w" and the engine's number, so it never
 *   collides with an operator's withdrawal, whose id is its command's sequence number.
 * - GET /sapi/v1/capital/withdraw/history: both kinds, newest first, with Binance's statuses (2
 *   awaiting approval, 3 rejected, 4 processing, 5 failure, 6 completed), txId once paid out and
 *   `info` saying why one failed or waits.
 * Holdfast has no blockchain networks of its own: `network` and the address go as given to the
 * payout (src/withdrawals/executor.ts), which pays from the operator's custody.
 */
import type { Command, WithdrawRequest } from "../engine/commands.js";
import { decimal_to_units, units_to_decimal } from "../engine/decimal.js";
import type { Engine } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";
import * as R from "../engine/reasons.js";
import {
  held_reasons,
  WITHDRAW_AWAITING_APPROVAL,
  WITHDRAW_COMPLETED,
  WITHDRAW_FAILURE,
} from "../engine/withdrawals.js";
import type { TransferRow, WithdrawalHistoryRow } from "../projections/history_queries.js";
import { pad8 } from "./market_data.js";
import { ApiError, bad, integer, type Params, required } from "./params.js";
import type { Route } from "./trading.js";
import { history_window, type WalletContext } from "./wallet.js";

const SIGNED = ["timestamp", "recvWindow", "signature"];
const ZERO = "0.00000000";
const ID_LIST_MAX = 45;
/** Binance's transferType: 0 on a blockchain (a user's withdrawal), 1 internal (an operator's). */
const TRANSFER_EXTERNAL = 0;
const TRANSFER_INTERNAL = 1;

const ADDRESS_RE = /^[A-Za-z0-9:._-]{1,128}$/;
const TAG_RE = /^[A-Za-z0-9._-]{1,64}$/;
const NETWORK_RE = /^[A-Za-z0-9_-]{1,32}$/;
const CLIENT_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const NAME_LENGTH_MAX = 200;
const USER_ID_RE = /^w[1-9][0-9]{0,15}$/;
const OPERATOR_ID_RE = /^[1-9][0-9]{0,15}$/;

const utc_text = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

/** The engine's refusal of a withdrawal in Binance's wallet codes. */
function withdraw_refusal(events: EngineEvent[]): ApiError | null {
  const r = events.find((e) => e.kind === "rejected");
  if (r?.kind !== "rejected") return null;
  if (r.reason === R.REASON_INSUFFICIENT_BALANCE) return bad(-4026, "You have insufficient balance.");
  if (r.reason === R.REASON_WITHDRAWALS_PAUSED)
    return bad(-4019, "Current asset is not open for withdrawal.");
  const info = R.REASONS[r.reason];
  return bad(info?.code || -4015, info?.message ?? "Withdraw is limited.");
}

function illegal(name: string, range: string): ApiError {
  return bad(-1100, `Illegal characters found in parameter '${name}'; legal range is '${range}'.`);
}

/** Why a withdrawal waits or failed, for the history's `info`. */
function info_of(r: WithdrawalHistoryRow): string {
  if (r.status === WITHDRAW_FAILURE) return r.note;
  if (r.status !== WITHDRAW_AWAITING_APPROVAL) return "";
  return `Awaiting approval: ${held_reasons(r.held).join("; ")}.`;
}

/**
 * A withdrawal request's stateless checks (asset, amount and precision, address and tag characters,
 * lengths): the engine's command, or Binance's error. The web app's withdrawals take the same path.
 */
export function withdraw_request_of(engine: Engine, account: number, p: Params): WithdrawRequest {
  const coin = required(p, "coin");
  const asset = engine.assets.findIndex((a) => a.name === coin);
  if (asset < 0) throw bad(-4018, "We don't have this asset.");
  const decimals = engine.assets[asset].decimals;
  const amount_text = required(p, "amount");
  const units = decimal_to_units(amount_text, decimals);
  const one = units_to_decimal(1, decimals);
  if (!units.ok && units.error === "precision")
    throw bad(-4021, `Asset withdrawal must be an integer multiple of ${one}.`);
  if (!units.ok) throw illegal("amount", "^([0-9]{1,20})(\\.[0-9]{1,20})?$");
  if (units.units < 1) throw bad(-4022, `Not less than the minimum pick-up quantity ${one}.`);
  const address = required(p, "address");
  if (!ADDRESS_RE.test(address)) throw bad(-4033, "Illegal address.");
  const tag = p.values.get("addressTag") ?? "";
  if (tag !== "" && !TAG_RE.test(tag)) throw bad(-4008, "Address tag validation is not passed.");
  const network = p.values.get("network") ?? "";
  if (network !== "" && !NETWORK_RE.test(network)) throw illegal("network", NETWORK_RE.source);
  const client_id = p.values.get("withdrawOrderId") ?? "";
  if (client_id !== "" && !CLIENT_ID_RE.test(client_id))
    throw illegal("withdrawOrderId", CLIENT_ID_RE.source);
  const fee_flag = p.values.get("transactionFeeFlag");
  if (fee_flag !== undefined && fee_flag !== "true" && fee_flag !== "false")
    throw illegal("transactionFeeFlag", "true|false");
  // an address-book label (Binance keeps it in the user's address book; not kept here)
  const name = p.values.get("name");
  if (name !== undefined && name.length > NAME_LENGTH_MAX)
    throw illegal("name", `1 - ${NAME_LENGTH_MAX} characters`);
  // one wallet: the spot wallet (0); Binance's funding wallet (1) does not exist here
  if (integer(p, "walletType", 0, 0) === undefined && p.values.has("walletType"))
    throw illegal("walletType", "0");
  return {
    type: "withdraw_request",
    ts_ms: 0,
    account,
    asset,
    amount_units: units.units,
    address,
    address_tag: tag,
    network,
    client_id,
  };
}

/** The new withdrawal's id ("w12") from its command's events, or the engine's refusal as Binance's error. */
export function withdrawal_made(events: EngineEvent[]): string {
  const refused = withdraw_refusal(events);
  if (refused !== null) throw refused;
  const made = events.find((e) => e.kind === "withdrawal");
  if (made?.kind !== "withdrawal") throw new ApiError(500, { code: -1000, msg: "No withdrawal made." });
  return `w${made.id}`;
}

export interface WithdrawalsContext extends WalletContext {
  admit: () => void;
  submit: (command: Command) => Promise<{ events: EngineEvent[]; timestamp_ms: number }>;
}

export function register_withdrawals(route: Route, ctx: WithdrawalsContext): void {
  const { engine, history, signed } = ctx;

  route(
    "POST",
    "/sapi/v1/capital/withdraw/apply",
    [
      "coin",
      "withdrawOrderId",
      "network",
      "address",
      "addressTag",
      "amount",
      "transactionFeeFlag",
      "name",
      "walletType",
      ...SIGNED,
    ],
    async (p, request, raw) => {
      ctx.admit();
      const account = signed("withdraw", p, request, raw).account;
      const applied = await ctx.submit(withdraw_request_of(engine, account, p));
      return { id: withdrawal_made(applied.events) };
    },
  );

  route(
    "GET",
    "/sapi/v1/capital/withdraw/history",
    ["coin", "withdrawOrderId", "status", "offset", "limit", "idList", "startTime", "endTime", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("read", p, request, raw).account;
      const coin = p.values.get("coin");
      const asset = coin === undefined ? null : engine.assets.findIndex((a) => a.name === coin);
      const status = integer(p, "status", 0, 1_000_000) ?? -1;
      const { start_ms, end_ms, offset, limit } = history_window(p);
      const id_list = p.values.get("idList");
      const names = id_list === undefined ? null : id_list.split(",");
      if (names !== null && names.length > ID_LIST_MAX) throw illegal("idList", `1 - ${ID_LIST_MAX} ids`);
      const client_id = p.values.get("withdrawOrderId") ?? null;
      if (asset === -1) return [];
      // ids as the history shows them: "w<n>" a user's, "<seq>" an operator's; others name none
      const user_ids =
        names === null ? null : names.filter((n) => USER_ID_RE.test(n)).map((n) => Number(n.slice(1)));
      const seqs = names === null ? null : names.filter((n) => OPERATOR_ID_RE.test(n)).map(Number);
      // both lists, each up to the page's end, merged newest first, then the page
      const window = { asset, start_ms, end_ms, offset: 0, limit: offset + limit };
      const users = await history.withdrawals(account, { ...window, ids: user_ids, client_id, status });
      // operators' withdrawals are completed at once and have no withdrawOrderId
      const operators: TransferRow[] =
        client_id !== null || (status !== -1 && status !== WITHDRAW_COMPLETED)
          ? []
          : await history.transfers(account, { ...window, withdrawals: true, ids: seqs });
      const amount = (asset_id: number, units: number) =>
        pad8(units_to_decimal(Math.abs(units), engine.assets[asset_id].decimals));
      const rows = [
        ...users.map((r) => ({
          time_ms: r.requested_ms,
          json: {
            id: `w${r.id}`,
            amount: amount(r.asset, r.amount_units),
            transactionFee: ZERO,
            coin: engine.assets[r.asset].name,
            status: r.status,
            address: r.address,
            ...(r.address_tag === "" ? {} : { addressTag: r.address_tag }),
            txId: r.status === WITHDRAW_COMPLETED ? r.note : "",
            applyTime: utc_text(r.requested_ms),
            network: r.network,
            transferType: TRANSFER_EXTERNAL,
            ...(r.client_id === "" ? {} : { withdrawOrderId: r.client_id }),
            info: info_of(r),
            confirmNo: 0,
            walletType: 0,
            txKey: "",
            ...(r.status === WITHDRAW_COMPLETED ? { completeTime: utc_text(r.update_ms) } : {}),
          },
        })),
        ...operators.map((r) => ({
          time_ms: r.time_ms,
          json: {
            id: String(r.seq),
            amount: amount(r.asset, r.amount_units),
            transactionFee: ZERO,
            coin: engine.assets[r.asset].name,
            status: WITHDRAW_COMPLETED,
            address: "",
            txId: "",
            applyTime: utc_text(r.time_ms),
            network: "",
            transferType: TRANSFER_INTERNAL,
            info: "",
            confirmNo: 0,
            walletType: 0,
            txKey: "",
            completeTime: utc_text(r.time_ms),
          },
        })),
      ];
      rows.sort((a, b) => b.time_ms - a.time_ms);
      return rows.slice(offset, offset + limit).map((r) => r.json);
    },
  );
}
