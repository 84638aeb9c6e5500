/**
 * The few Binance wallet endpoints (/sapi/v1) that trading clients call besides the Spot API, read
 * from engine state so every node answers alike:
 * - GET /sapi/v1/asset/tradeFee: each market's fees (ccxt's fetchTradingFee/fetchTradingFees);
 * - GET /sapi/v1/capital/config/getall: every asset with the account's balance and whether deposits
 *   and withdrawals are open (ccxt's fetchCurrencies, called by loadMarkets whenever it has keys and
 *   the option is left on; @binance/connector's coinInfo);
 * - GET /sapi/v1/account/apiRestrictions: what the calling key may do (@binance/connector's
 *   apiPermissions; bots check a key's permissions with it before trading);
 * - GET /sapi/v1/account/status: the account's status (@binance/connector's accountStatus).
 * Holdfast has no blockchain networks yet: deposits and withdrawals are the operator's commands
 * (`holdfast admin deposit|withdraw`), so every asset's networkList is empty, and depositAllEnable /
 * withdrawAllEnable say whether the exchange takes them now (not paused, no maintenance).
 */

import type { FastifyRequest } from "fastify";
import type { ApiKeyRecord } from "../engine/api_keys.js";
import { PERMISSION_TRADE, PERMISSION_WITHDRAW } from "../engine/api_keys.js";
import { units_to_decimal } from "../engine/decimal.js";
import type { Engine } from "../engine/engine.js";
import { MARKET_POST_ONLY, MARKET_TRADING } from "../engine/types.js";
import type { Need } from "./auth.js";
import { pad8 } from "./market_data.js";
import type { Params } from "./params.js";
import type { Route } from "./trading.js";

const SIGNED = ["timestamp", "recvWindow", "signature"];
const ZERO = "0.00000000";

/** A fee in millionths as Binance's commission rate ("0.00100000" for 1,000 ppm: 0.1%). */
export const fee_rate = (ppm: number): string => pad8(units_to_decimal(ppm, 6));

export interface WalletContext {
  engine: Engine;
  market_of: (p: Params) => Engine["markets"][number];
  signed: (
    need: Need,
    p: Params,
    request: FastifyRequest,
    raw: { query: string; body: string },
  ) => ApiKeyRecord;
}

export function register_wallet(route: Route, ctx: WalletContext): void {
  const { engine, signed } = ctx;

  route("GET", "/sapi/v1/asset/tradeFee", ["symbol", ...SIGNED], (p, request, raw) => {
    signed("read", p, request, raw);
    const markets = p.values.has("symbol") ? [ctx.market_of(p)] : engine.markets;
    return markets.map((m) => ({
      symbol: m.config.symbol,
      makerCommission: fee_rate(m.config.maker_fee_ppm),
      takerCommission: fee_rate(m.config.taker_fee_ppm),
    }));
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

  route("GET", "/sapi/v1/account/status", [...SIGNED], (p, request, raw) => {
    signed("read", p, request, raw);
    return { data: "Normal" };
  });
}
