/**
 * The few Binance wallet endpoints (/sapi/v1) that trading clients call besides the Spot API, read
 * from engine state so every node answers alike:
 * - GET /sapi/v1/asset/tradeFee: each market's fees (ccxt's fetchTradingFee/fetchTradingFees);
 * - GET /sapi/v1/capital/config/getall: every asset with the account's balance and whether deposits
 *   and withdrawals are open (ccxt's fetchCurrencies, called by loadMarkets whenever it has keys and
 *   the option is left on; @binance/connector's coinInfo);
 * - GET /sapi/v1/account/apiRestrictions: what the calling key may do (@binance/connector's
 *   apiPermissions; bots check a key's permissions with it before trading);
 * - GET /sapi/v1/account/status: the account's status (@binance/connector's accountStatus);
 * - GET /sapi/v1/margin/allPairs (MARKET_DATA: an API key; @binance/connector's marginAllPairs) and
 *   /sapi/v1/margin/isolated/allPairs (signed): no margin trading here, so none (ccxt's loadMarkets
 *   asks for them, signed, while its `fetchMargins` option is on, its default);
 * - GET /sapi/v1/capital/deposit/hisrec: the account's deposits, from the history projection (ccxt's
 *   fetchDeposits); withdrawals and their history are withdrawals.ts.
 * Holdfast has no blockchain networks yet: deposits are the operator's commands (`holdfast admin
 * deposit`), so every asset's networkList is empty, and depositAllEnable / withdrawAllEnable say
 * whether the exchange takes them now (not paused, no maintenance). In the history a deposit's id is
 * its command's sequence number, it is complete (status 1) and internal (transferType 1), with no
 * address, network or transaction id.
 */

import type { FastifyRequest } from "fastify";
import { type ApiKeyRecord, PERMISSION_TRADE, PERMISSION_WITHDRAW } from "../engine/api_keys.js";
import { units_to_decimal } from "../engine/decimal.js";
import { MARKET_POST_ONLY, MARKET_TRADING } from "../engine/types.js";
import type { TransferRow } from "../projections/history_queries.js";
import { pad8 } from "./market_data.js";
import type { TradingContext } from "./order_lists.js";
import { bad, integer, type Params } from "./params.js";
import type { Route } from "./trading.js";

const SIGNED = ["timestamp", "recvWindow", "signature"];
const ZERO = "0.00000000";
/** Binance: the histories' window defaults to the last 90 days and may not be longer. */
const WINDOW_MS_MAX = 90 * 24 * 3600 * 1000;
/** Binance: a page of the histories holds 1,000 at the most (and by default). */
const PAGE_MAX = 1000;
/** A deposit credited (Binance's deposit status 1: success). */
const DEPOSIT_SUCCESS = 1;
/** Binance's transferType: 1 internal (within the exchange), 0 on a blockchain. */
const TRANSFER_INTERNAL = 1;

/** A fee in millionths as Binance's commission rate ("0.00100000" for 1,000 ppm: 0.1%). */
export const fee_rate = (ppm: number): string => pad8(units_to_decimal(ppm, 6));

/** What these endpoints need of register_trading's context. */
export type WalletContext = Pick<TradingContext, "engine" | "history" | "market_of" | "signed"> & {
  /** The API key of a request that needs only one (MARKET_DATA), checked: the caller's key record. */
  key_only: (request: FastifyRequest) => ApiKeyRecord;
};

/**
 * What both wallet histories (deposits, withdrawals) take: the window (default the last 90 days, at
 * most 90 days), offset and limit.
 */
export function history_window(p: Params): {
  start_ms: number;
  end_ms: number;
  offset: number;
  limit: number;
} {
  let start_ms = integer(p, "startTime", 0, Number.MAX_SAFE_INTEGER);
  let end_ms = integer(p, "endTime", 0, Number.MAX_SAFE_INTEGER);
  const offset = integer(p, "offset", 0, 1_000_000_000) ?? 0;
  const limit = integer(p, "limit", 1, PAGE_MAX) ?? PAGE_MAX;
  if (start_ms !== undefined && end_ms !== undefined && end_ms - start_ms > WINDOW_MS_MAX)
    throw bad(-1127, "More than 2160 hours between startTime and endTime.");
  if (end_ms === undefined) end_ms = start_ms === undefined ? Date.now() : start_ms + WINDOW_MS_MAX;
  if (start_ms === undefined) start_ms = Math.max(0, end_ms - WINDOW_MS_MAX);
  return { start_ms, end_ms, offset, limit };
}

export function register_wallet(route: Route, ctx: WalletContext): void {
  const { engine, history, signed } = ctx;

  route("GET", "/sapi/v1/asset/tradeFee", ["symbol", ...SIGNED], (p, request, raw) => {
    const account = signed("read", p, request, raw).account;
    const markets = p.values.has("symbol") ? [ctx.market_of(p)] : engine.markets;
    return markets.map((m) => {
      const c = engine.fee_rates(account, m.id);
      return {
        symbol: m.config.symbol,
        makerCommission: fee_rate(c.maker_fee_ppm),
        takerCommission: fee_rate(c.taker_fee_ppm),
      };
    });
  });

  route("GET", "/sapi/v1/capital/config/getall", [...SIGNED], (p, request, raw) => {
    const account = signed("read", p, request, raw).account;
    const deposits = !engine.deposits_paused && !engine.maintenance;
    const withdrawals = !engine.withdrawals_paused && !engine.maintenance;
    return engine.assets.map((a) => {
      const amount = (units: number): string => pad8(units_to_decimal(units, a.decimals));
      return {
        coin: a.name,
        depositAllEnable: deposits,
        withdrawAllEnable: withdrawals,
        name: a.name,
        free: amount(engine.ledger.free(account, a.id)),
        locked: amount(engine.ledger.locked(account, a.id)),
        freeze: ZERO,
        withdrawing: ZERO,
        ipoing: ZERO,
        ipoable: ZERO,
        storage: ZERO,
        isLegalMoney: false,
        // tradable: some market in it takes new orders now (ccxt's currency `active`)
        trading:
          !engine.maintenance &&
          engine.markets.some(
            (m) =>
              (m.config.base === a.id || m.config.quote === a.id) &&
              (m.status === MARKET_TRADING || m.status === MARKET_POST_ONLY),
          ),
        networkList: [],
      };
    });
  });

  route("GET", "/sapi/v1/account/apiRestrictions", [...SIGNED], (p, request, raw) => {
    const key = signed("read", p, request, raw);
    return {
      ipRestrict: key.ip_allow !== "",
      createTime: key.created_ms,
      enableReading: true,
      enableWithdrawals: (key.permissions & PERMISSION_WITHDRAW) !== 0,
      enableInternalTransfer: false,
      enableMargin: false,
      enableFutures: false,
      permitsUniversalTransfer: false,
      enableVanillaOptions: false,
      enableFixApiTrade: false,
      enableFixReadOnly: false,
      enableSpotAndMarginTrading: (key.permissions & PERMISSION_TRADE) !== 0,
      enablePortfolioMarginTrading: false,
    };
  });

  /** The deposits of the request's window, newest first (null: an unknown coin, so none). */
  const transfers = async (
    p: Params,
    request: FastifyRequest,
    raw: { query: string; body: string },
  ): Promise<TransferRow[] | null> => {
    const account = signed("read", p, request, raw).account;
    const coin = p.values.get("coin");
    const asset = coin === undefined ? null : engine.assets.findIndex((a) => a.name === coin);
    integer(p, "status", 0, 1_000_000);
    const window = history_window(p);
    if (asset === -1) return null;
    return history.transfers(account, { withdrawals: false, asset, ids: null, ...window });
  };
  const amount = (r: TransferRow): string =>
    pad8(units_to_decimal(Math.abs(r.amount_units), engine.assets[r.asset].decimals));

  route(
    "GET",
    "/sapi/v1/capital/deposit/hisrec",
    ["includeSource", "coin", "status", "startTime", "endTime", "offset", "limit", "txId", ...SIGNED],
    async (p, request, raw) => {
      const rows = await transfers(p, request, raw);
      const status = p.values.get("status");
      const tx_id = p.values.get("txId");
      // every deposit here is a success without a transaction id
      if (rows === null || (status !== undefined && Number(status) !== DEPOSIT_SUCCESS) || tx_id) return [];
      const source = p.values.get("includeSource") === "true";
      return rows.map((r) => ({
        id: String(r.seq),
        amount: amount(r),
        coin: engine.assets[r.asset].name,
        network: "",
        status: DEPOSIT_SUCCESS,
        address: "",
        addressTag: "",
        txId: "",
        ...(source ? { sourceAddress: "" } : {}),
        insertTime: r.time_ms,
        completeTime: r.time_ms,
        transferType: TRANSFER_INTERNAL,
        confirmTimes: "1/1",
        unlockConfirm: 0,
        walletType: 0,
        travelRuleStatus: 0,
      }));
    },
  );

  // the withdrawal history and users' withdrawals: withdrawals.ts

  // Cross margin pairs are Binance's MARKET_DATA (an API key, no signature: @binance/connector sends
  // none); ccxt signs the request, and a signature sent is checked. Isolated ones are USER_DATA.
  route("GET", "/sapi/v1/margin/allPairs", ["symbol", ...SIGNED], (p, request, raw) => {
    if (p.values.has("signature")) signed("read", p, request, raw);
    else ctx.key_only(request);
    return [];
  });
  route("GET", "/sapi/v1/margin/isolated/allPairs", ["symbol", ...SIGNED], (p, request, raw) => {
    signed("read", p, request, raw);
    return [];
  });

  route("GET", "/sapi/v1/account/status", [...SIGNED], (p, request, raw) => {
    signed("read", p, request, raw);
    return { data: "Normal" };
  });
}
