/**
 * Signed trading endpoints (Binance Spot): POST /api/v3/order (ACK, RESULT, FULL), POST
 * /api/v3/order/test, DELETE /api/v3/order, GET /api/v3/openOrders, GET /api/v3/account. A request
 * reaches the journal only after authentication and every stateless check (validate_order); what
 * depends on state (funds, duplicate client ids, market mode) is the engine's journaled decision.
 */
import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ApiKeyRecord } from "../engine/api_keys.js";
import {
  CANCEL_ONLY_NEW,
  CANCEL_ONLY_PARTIALLY_FILLED,
  type CancelRestriction,
  type Command,
  type PlaceOrder,
} from "../engine/commands.js";
import { units_to_decimal } from "../engine/decimal.js";
import type { Engine } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";
import type { Market } from "../engine/market.js";
import { REASON_UNKNOWN_ORDER, REASONS } from "../engine/reasons.js";
import {
  is_stop_type,
  LIST_ALL_DONE,
  ORDER_STATUS_NAMES,
  ORDER_TYPE_NAMES,
  SIDE_BUY,
  STATUS_NEW,
  STATUS_PARTIALLY_FILLED,
  STATUS_PENDING_NEW,
  STP_NAMES,
  TIF_NAMES,
  TYPE_LIMIT,
  TYPE_MARKET,
} from "../engine/types.js";
import type { ExchangeNode } from "../node/exchange_node.js";
import { HISTORY_LIMIT_MAX, type History } from "../projections/history.js";
import {
  CLIENT_ORDER_ID_PATTERN,
  ORDER_PARAMS,
  validate_new_quantity,
  validate_order,
} from "../validation/order.js";
import type { Authenticator, Need } from "./auth.js";
import {
  expiry_field,
  expiry_reason,
  market_format,
  NO_STRATEGY,
  order_json,
  peg_fields,
  RawJson,
  strategy_fields,
  trailing_fields,
} from "./history_json.js";
import type { Limiter } from "./limits.js";
import { my_filters, pad8, price_str, qty_str } from "./market_data.js";
import { list_json, pending_orders, register_order_lists } from "./order_lists.js";
import { ApiError, bad, integer, type Params } from "./params.js";
import { register_reserves } from "./reserves.js";
import { fee_rate, register_wallet } from "./wallet.js";
import { register_withdrawals } from "./withdrawals.js";

export type Route = (
  method: "GET" | "POST" | "DELETE" | "PUT",
  url: string,
  read: string[],
  handler: (
    params: Params,
    request: FastifyRequest,
    raw: { query: string; body: string },
    reply: FastifyReply,
  ) => unknown,
) => void;

const SIGNED = ["timestamp", "recvWindow", "signature"];
/**
 * Orders and cancels in flight to the journal per gateway. Enough for group commit to fill its
 * batches at full rate; small enough that queueing adds little latency (see docs/BENCHMARKS.md).
 */
export const IN_FLIGHT_MAX_DEFAULT = 256;
const CLIENT_ID_RE = new RegExp(CLIENT_ORDER_ID_PATTERN);

/** A client order id in Binance's style when the client sent none (kept in the journal, so retries dedupe). */
/**
 * Random bytes for generated client order ids, drawn 4 KiB at a time: one randomBytes call per
 * order cost ~25 µs here (a getrandom system call each), a sixth of an order's CPU time.
 */
const RANDOM_POOL_BYTES = 4096;
let random_pool = randomBytes(RANDOM_POOL_BYTES);
let random_at = 0;
export const new_client_id = (): string => {
  if (random_at + 16 > RANDOM_POOL_BYTES) {
    random_pool = randomBytes(RANDOM_POOL_BYTES);
    random_at = 0;
  }
  random_at += 16;
  return random_pool.toString("base64url", random_at - 16, random_at).slice(0, 22);
};

const units = (e: Engine, asset: number, amount: number): string =>
  pad8(units_to_decimal(amount, e.assets[asset].decimals));

/** The order a request names, by orderId or origClientOrderId (one is required; null: not given). */
function order_ref(p: Params): { order_id: number | null; client_id: string | null } {
  const order_id = integer(p, "orderId", 1, Number.MAX_SAFE_INTEGER) ?? null;
  const client_id = p.values.get("origClientOrderId") ?? null;
  if (order_id === null && client_id === null)
    throw bad(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!");
  return { order_id, client_id };
}

/** Binance's cancelRestrictions (ONLY_NEW, ONLY_PARTIALLY_FILLED), or undefined when not sent. */
function cancel_restriction(p: Params): CancelRestriction | undefined {
  const v = p.values.get("cancelRestrictions");
  if (v === undefined) return undefined;
  if (v === "ONLY_NEW") return CANCEL_ONLY_NEW;
  if (v === "ONLY_PARTIALLY_FILLED") return CANCEL_ONLY_PARTIALLY_FILLED;
  throw bad(-1145, "cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED.");
}

/** What the order validator needs to know about a market. */
const market_facts = (e: Engine, m: Market) => ({
  config: m.config,
  base_decimals: e.assets[m.config.base].decimals,
  quote_decimals: e.assets[m.config.quote].decimals,
});

export function register_trading(
  route: Route,
  node: ExchangeNode,
  auth: Authenticator,
  market_of: (params: Params) => Market,
  history: History,
  limiter: Limiter,
  /** Commands of this gateway waiting for the journal; beyond it new ones are refused (429 -1003). */
  in_flight_max: number = IN_FLIGHT_MAX_DEFAULT,
): void {
  const engine = node.engine;
  // Admission control: when the journal is the bottleneck, a queue without bound only adds latency
  // to every order. Past the bound a request is refused at once, as Binance refuses with -1003 when
  // too many requests are queued, and the orders let in keep their latency.
  let in_flight = 0;
  const admit = (): void => {
    if (in_flight >= in_flight_max)
      throw new ApiError(429, { code: -1003, msg: "Too many requests queued." }, { "Retry-After": "1" });
  };
  const submit = async (command: Command) => {
    admit();
    in_flight++;
    try {
      return await node.submit(command);
    } finally {
      in_flight--;
    }
  };
  const signed = (
    need: Need,
    params: Params,
    request: FastifyRequest,
    raw: { query: string; body: string },
  ) => {
    // A WebSocket API session logged on with an Ed25519 key sends no apiKey or signature.
    const session = (request as { session_key?: ApiKeyRecord }).session_key;
    if (session !== undefined && !params.values.has("signature"))
      return auth.check_session(session, params, need);
    return auth.check(request.headers, params, raw, request.ip, need);
  };

  /** Reads an order's fixed fields while it is live. */
  const describe = (slot: number, m: Market) => {
    const o = engine.orders;
    const type = o.type(slot);
    const peg = o.peg(slot);
    return {
      symbol: m.config.symbol,
      orderId: o.id(slot),
      orderListId: o.list_id(slot) || -1,
      clientOrderId: o.client_order_id(slot) ?? "",
      // a pegged order's price is the one it was sent with; its peggedPrice (peg_fields) the book's
      price: price_str(m, peg === undefined ? o.price_ticks(slot) : peg.sent_price_ticks),
      // what it was placed (or amended) with: what it works with plus what self-trade prevention took
      origQty: qty_str(m, o.quantity_lots(slot) + o.prevented_lots(slot)),
      executedQty: qty_str(m, o.executed_lots(slot)),
      cummulativeQuoteQty: units(engine, m.config.quote, o.cumulative_quote_units(slot)),
      // (an OTO's pending order waits, PENDING_NEW, until its working order fills)
      status:
        ORDER_STATUS_NAMES[
          engine.waiting.has(o.id(slot))
            ? STATUS_PENDING_NEW
            : o.executed_lots(slot) > 0
              ? STATUS_PARTIALLY_FILLED
              : STATUS_NEW
        ],
      timeInForce: TIF_NAMES[o.tif(slot)],
      type: ORDER_TYPE_NAMES[type],
      side: o.side(slot) === SIDE_BUY ? "BUY" : "SELL",
      stopPrice: price_str(m, o.stop_price_ticks(slot)),
      ...trailing_fields(o.trail(slot)?.delta_bips, o.trail(slot)?.time_ms),
      ...iceberg_field(m, o.iceberg(slot)?.display_lots),
      ...(peg === undefined
        ? {}
        : peg_fields(peg.type, peg.offset_levels, peg.pegged ? price_str(m, o.price_ticks(slot)) : null)),
      time: o.time_ms(slot),
      origQuoteOrderQty: units(engine, m.config.quote, o.quote_units(slot)),
      selfTradePreventionMode: STP_NAMES[o.stp(slot)] ?? "NONE",
      ...strategy_fields(...(o.strategy(slot) ?? NO_STRATEGY)),
    };
  };

  /** Binance's answer for a cancelled order: its fixed fields from before, its fill state after. */
  const cancelled_json = (
    m: Market,
    before: ReturnType<typeof describe>,
    update: { executed_lots: number; cumulative_quote_units: number; status: number },
    transact_ms: number,
    new_client_order_id: string | undefined,
  ) => ({
    symbol: before.symbol,
    origClientOrderId: before.clientOrderId,
    orderId: before.orderId,
    orderListId: before.orderListId,
    clientOrderId: new_client_order_id ?? new_client_id(),
    transactTime: transact_ms,
    price: before.price,
    origQty: before.origQty,
    executedQty: qty_str(m, update.executed_lots),
    cummulativeQuoteQty: units(engine, m.config.quote, update.cumulative_quote_units),
    status: ORDER_STATUS_NAMES[update.status],
    timeInForce: before.timeInForce,
    type: before.type,
    side: before.side,
    selfTradePreventionMode: before.selfTradePreventionMode,
    ...(before.strategyId === undefined ? {} : { strategyId: before.strategyId }),
    ...(before.strategyType === undefined ? {} : { strategyType: before.strategyType }),
    ...trailing_fields(before.trailingDelta, before.trailingTime),
    ...(before.icebergQty === undefined ? {} : { icebergQty: before.icebergQty }),
    ...kept_peg_fields(before),
  });

  const refusal = (events: EngineEvent[], fallback_code: number): ApiError | null => {
    const r = events.find((e) => e.kind === "rejected");
    if (r === undefined || r.kind !== "rejected") return null;
    const info = REASONS[r.reason];
    return new ApiError(400, { code: info?.code || fallback_code, msg: info?.message ?? "Rejected." });
  };

  /** Counts a new order against the account's limits and reports the counts (Binance's headers). */
  const count_order = (key: ApiKeyRecord, reply: FastifyReply): void => {
    const counts = limiter.charge_order(key.account, key.tier);
    reply.header("X-MBX-ORDER-COUNT-10S", String(counts.ten_s));
    reply.header("X-MBX-ORDER-COUNT-1D", String(counts.day));
  };

  /**
   * The new-order part of a request (order and cancelReplace): every stateless check, then the
   * engine's OrderSpec with a client order id (generated when the client sent none).
   */
  const order_spec = (p: Params, m: Market) => {
    const client_order_id = p.values.get("newClientOrderId");
    if (client_order_id !== undefined && !CLIENT_ID_RE.test(client_order_id))
      throw bad(
        -1100,
        `Illegal characters found in parameter 'newClientOrderId'; legal range is '${CLIENT_ORDER_ID_PATTERN}'.`,
      );
    const resp_type = p.values.get("newOrderRespType");
    if (resp_type !== undefined && !["ACK", "RESULT", "FULL"].includes(resp_type))
      throw bad(
        -1100,
        "Illegal characters found in parameter 'newOrderRespType'; legal range is 'ACK, RESULT, FULL'.",
      );
    const v = validate_order(Object.fromEntries(p.values), market_facts(engine, m));
    if (!v.ok) throw new ApiError(400, v.error);
    const spec = { ...v.spec, client_order_id: v.spec.client_order_id ?? new_client_id() };
    return {
      spec,
      resp_type: resp_type ?? default_resp(spec.order_type),
      stp: STP_NAMES[spec.stp === -1 ? m.config.stp_default : spec.stp],
    };
  };

  const place = async (
    p: Params,
    request: FastifyRequest,
    raw: { query: string; body: string },
    reply: FastifyReply,
    test: boolean,
  ) => {
    if (!test) admit(); // before counting the order: a request refused as busy was never taken
    const key = signed("trade", p, request, raw);
    const account = key.account;
    if (!test) count_order(key, reply);
    const m = market_of(p);
    const { spec, resp_type, stp } = order_spec(p, m);
    if (test) return compute_commission_rates(p) ? commission_rates(engine.fee_rates(account, m.id)) : {};
    const command: PlaceOrder = { type: "place_order", ts_ms: 0, account, market: m.id, ...spec };
    const applied = await submit(command);
    const refused = refusal(applied.events, -2010);
    if (refused !== null) throw refused;
    return order_response(engine, m, applied.events, {
      client_order_id: spec.client_order_id,
      resp_type,
      transact_ms: applied.timestamp_ms,
      stp,
    });
  };

  const order_read = [...ORDER_PARAMS, "symbol", "newOrderRespType", ...SIGNED];
  route("POST", "/api/v3/order", order_read, (p, r, raw, reply) => place(p, r, raw, reply, false));
  route("POST", "/api/v3/order/test", [...order_read, "computeCommissionRates"], (p, r, raw, reply) =>
    place(p, r, raw, reply, true),
  );

  route(
    "POST",
    "/api/v3/order/cancelReplace",
    [
      ...ORDER_PARAMS,
      "symbol",
      "newOrderRespType",
      "cancelReplaceMode",
      "cancelNewClientOrderId",
      "cancelOrigClientOrderId",
      "cancelOrderId",
      "cancelRestrictions",
      "orderRateLimitExceededMode",
      ...SIGNED,
    ],
    async (p, request, raw, reply) => {
      admit();
      const key = signed("trade", p, request, raw);
      const account = key.account;
      // Binance's orderRateLimitExceededMode: with CANCEL_ONLY, an account past its order-count limit
      // still has its order cancelled (the new one fails -1015); DO_NOTHING (the default) refuses all.
      const limit_mode = p.values.get("orderRateLimitExceededMode");
      if (limit_mode !== undefined && limit_mode !== "DO_NOTHING" && limit_mode !== "CANCEL_ONLY")
        throw bad(
          -1100,
          "Illegal characters found in parameter 'orderRateLimitExceededMode'; legal range is 'DO_NOTHING, CANCEL_ONLY'.",
        );
      let over_limit: ApiError | null = null;
      try {
        count_order(key, reply);
      } catch (error) {
        if (limit_mode !== "CANCEL_ONLY" || !(error instanceof ApiError) || error.error.code !== -1015)
          throw error;
        over_limit = error;
      }
      const m = market_of(p);
      const mode = p.values.get("cancelReplaceMode");
      if (mode === undefined || mode === "")
        throw bad(
          -1102,
          "Mandatory parameter 'cancelReplaceMode' was not sent, was empty/null, or malformed.",
        );
      if (mode !== "STOP_ON_FAILURE" && mode !== "ALLOW_FAILURE")
        throw bad(
          -1100,
          "Illegal characters found in parameter 'cancelReplaceMode'; legal range is 'STOP_ON_FAILURE, ALLOW_FAILURE'.",
        );
      const cancel_id = integer(p, "cancelOrderId", 1, Number.MAX_SAFE_INTEGER);
      const cancel_cid = p.values.get("cancelOrigClientOrderId") ?? null;
      if (cancel_id === undefined && cancel_cid === null)
        throw bad(
          -1102,
          "Param 'cancelOrigClientOrderId' or 'cancelOrderId' must be sent, but both were empty/null!",
        );
      const restriction = cancel_restriction(p);
      const { spec, resp_type, stp } = order_spec(p, m);
      const slot = engine.find_order(account, m.id, cancel_id ?? 0, cancel_cid);
      const before = slot === 0 ? null : describe(slot, m);
      const applied = await submit(
        over_limit === null
          ? {
              type: "cancel_replace",
              ts_ms: 0,
              account,
              market: m.id,
              cancel_order_id: cancel_id ?? 0,
              cancel_client_order_id: cancel_cid,
              allow_failure: mode === "ALLOW_FAILURE",
              order: spec,
              ...(restriction === undefined ? {} : { cancel_restriction: restriction }),
            }
          : {
              type: "cancel_order",
              ts_ms: 0,
              account,
              market: m.id,
              order_id: cancel_id ?? 0,
              client_order_id: cancel_cid,
              ...(restriction === undefined ? {} : { restriction }),
            },
      );
      const rejections = applied.events.filter((e) => e.kind === "rejected");
      // (a plain cancel's refusal is the cancel's; cancel_replace names its cancel's "cancel")
      const cancel_failed = rejections.find(
        (e) => e.kind === "rejected" && (over_limit !== null || e.detail === "cancel"),
      );
      const new_failed =
        over_limit !== null
          ? undefined
          : rejections.find((e) => e.kind === "rejected" && e.detail !== "cancel");
      const update =
        before === null
          ? undefined
          : applied.events.find((e) => e.kind === "order_update" && e.order_id === before.orderId);
      const cancel_response =
        cancel_failed !== undefined && cancel_failed.kind === "rejected"
          ? { code: -2011, msg: REASONS[cancel_failed.reason]?.message ?? "Unknown order sent." }
          : before !== null && update !== undefined && update.kind === "order_update"
            ? cancelled_json(m, before, update, applied.timestamp_ms, p.values.get("cancelNewClientOrderId"))
            : { code: -2011, msg: "Unknown order sent." };
      const attempted = cancel_failed === undefined || mode === "ALLOW_FAILURE";
      const new_response =
        over_limit !== null
          ? over_limit.error
          : !attempted
            ? null
            : new_failed !== undefined && new_failed.kind === "rejected"
              ? {
                  code: REASONS[new_failed.reason]?.code || -2010,
                  msg: REASONS[new_failed.reason]?.message ?? "Rejected.",
                }
              : order_response(engine, m, applied.events, {
                  client_order_id: spec.client_order_id,
                  resp_type,
                  transact_ms: applied.timestamp_ms,
                  stp,
                });
      const data = {
        cancelResult: cancel_failed === undefined ? "SUCCESS" : "FAILURE",
        newOrderResult:
          over_limit !== null
            ? "FAILURE"
            : !attempted
              ? "NOT_ATTEMPTED"
              : new_failed === undefined
                ? "SUCCESS"
                : "FAILURE",
        cancelResponse: cancel_response,
        newOrderResponse: new_response,
      };
      if (cancel_failed === undefined && new_failed === undefined && over_limit === null) return data;
      // Binance: 400 -2022 when nothing succeeded, 409 -2021 when one half did.
      const one_ok = data.cancelResult === "SUCCESS" || data.newOrderResult === "SUCCESS";
      throw new ApiError(one_ok ? 409 : 400, {
        code: one_ok ? -2021 : -2022,
        msg: one_ok ? "Order cancel-replace partially failed." : "Order cancel-replace failed.",
        data,
      } as unknown as { code: number; msg: string });
    },
  );

  route(
    "DELETE",
    "/api/v3/order",
    ["symbol", "orderId", "origClientOrderId", "newClientOrderId", "cancelRestrictions", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("trade", p, request, raw).account;
      const m = market_of(p);
      const { order_id, client_id } = order_ref(p);
      const restriction = cancel_restriction(p);
      const slot = engine.find_order(account, m.id, order_id ?? 0, client_id);
      const before = slot === 0 ? null : describe(slot, m);
      const applied = await submit({
        type: "cancel_order",
        ts_ms: 0,
        account,
        market: m.id,
        order_id: order_id ?? 0,
        client_order_id: client_id,
        ...(restriction === undefined ? {} : { restriction }),
      });
      const refused = refusal(applied.events, -2011);
      if (refused !== null) throw new ApiError(400, { code: -2011, msg: refused.error.msg });
      const update = applied.events.find((e) => e.kind === "order_update");
      if (before === null || update === undefined || update.kind !== "order_update")
        throw new ApiError(400, { code: -2011, msg: "Unknown order sent." });
      return cancelled_json(m, before, update, applied.timestamp_ms, p.values.get("newClientOrderId"));
    },
  );

  // Reduces an open order's quantity keeping its place in the queue (Binance's order amend keep
  // priority). Counts toward no order limit (Binance: unfilled order count 0).
  route(
    "PUT",
    "/api/v3/order/amend/keepPriority",
    ["symbol", "orderId", "origClientOrderId", "newClientOrderId", "newQty", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("trade", p, request, raw).account;
      const m = market_of(p);
      const { order_id, client_id } = order_ref(p);
      const quantity = validate_new_quantity(Object.fromEntries(p.values), market_facts(engine, m));
      if (!quantity.ok) throw new ApiError(400, quantity.error);
      const given_id = p.values.get("newClientOrderId");
      if (given_id !== undefined && !CLIENT_ID_RE.test(given_id))
        throw bad(
          -1100,
          `Illegal characters found in parameter 'newClientOrderId'; legal range is '${CLIENT_ORDER_ID_PATTERN}'.`,
        );
      const slot = engine.find_order(account, m.id, order_id ?? 0, client_id);
      const before = slot === 0 ? null : describe(slot, m);
      const stop = slot !== 0 && is_stop_type(engine.orders.type(slot));
      const waiting_stop = stop && engine.orders.triggered(slot) === 0;
      const applied = await submit({
        type: "amend_order",
        ts_ms: 0,
        account,
        market: m.id,
        order_id: order_id ?? 0,
        client_order_id: client_id,
        new_client_order_id: given_id ?? new_client_id(),
        new_quantity_lots: quantity.lots,
      });
      const rejected = applied.events.find((e) => e.kind === "rejected");
      const amended = applied.events.find((e) => e.kind === "order_amended");
      if (rejected !== undefined && rejected.kind === "rejected") {
        if (rejected.reason === REASON_UNKNOWN_ORDER) throw bad(-2013, "Order does not exist.");
        const info = REASONS[rejected.reason];
        throw new ApiError(400, { code: info?.code || -2038, msg: info?.message ?? "Rejected." });
      }
      if (before === null || amended === undefined || amended.kind !== "order_amended")
        throw bad(-2013, "Order does not exist.");
      // Binance's amendedOrder: the order as it is now (its fixed fields from before the amend)
      return {
        transactTime: applied.timestamp_ms,
        executionId: amended.execution_id,
        amendedOrder: {
          symbol: before.symbol,
          orderId: before.orderId,
          orderListId: before.orderListId,
          origClientOrderId: amended.orig_client_order_id ?? "",
          clientOrderId: amended.client_order_id,
          price: before.price,
          qty: qty_str(m, amended.quantity_lots),
          executedQty: qty_str(m, amended.executed_lots),
          preventedQty: "0.00000000",
          quoteOrderQty: before.origQuoteOrderQty,
          cumulativeQuoteQty: units(engine, m.config.quote, amended.cumulative_quote_units),
          status:
            ORDER_STATUS_NAMES[
              engine.waiting.has(amended.order_id)
                ? STATUS_PENDING_NEW
                : amended.executed_lots > 0
                  ? STATUS_PARTIALLY_FILLED
                  : STATUS_NEW
            ],
          timeInForce: before.timeInForce,
          type: before.type,
          side: before.side,
          ...(stop ? { stopPrice: before.stopPrice } : {}),
          workingTime: waiting_stop ? -1 : before.time,
          selfTradePreventionMode: before.selfTradePreventionMode,
          ...strategy_fields(before.strategyId ?? null, before.strategyType ?? null),
          ...trailing_fields(before.trailingDelta, before.trailingTime),
          ...(before.icebergQty === undefined ? {} : { icebergQty: before.icebergQty }),
          ...kept_peg_fields(before),
        },
      };
    },
  );

  route("DELETE", "/api/v3/openOrders", ["symbol", ...SIGNED], async (p, request, raw) => {
    const account = signed("trade", p, request, raw).account;
    const m = market_of(p);
    const before = new Map<number, ReturnType<typeof describe>>();
    for (const id of engine.accounts[account].open_ids(engine.ledger, account, m.id)) {
      const slot = engine.find_order(account, m.id, id, null);
      if (slot !== 0) before.set(id, describe(slot, m));
    }
    // the account's lists in this market and their orders, as they are before the cancel ends them
    const lists = [...engine.order_lists.values()]
      .filter((l) => l.account === account && l.market === m.id)
      .sort((a, b) => a.id - b.id)
      .map((l) => ({ list: { ...l }, orders: pending_orders(engine, history, l) }));
    const applied = await submit({ type: "cancel_all", ts_ms: 0, account, market: m.id });
    const refused = refusal(applied.events, -2011);
    if (refused !== null) throw new ApiError(400, { code: -2011, msg: refused.error.msg });
    // Binance: orders on their own, then each list once, its cancelled orders in its orderReports (an
    // order whose list had already ended, an OCO's partly filled limit maker, is on its own)
    const alone = [];
    const of_list = new Map<number, unknown[]>(lists.map(({ list }) => [list.id, []]));
    for (const e of applied.events) {
      if (e.kind !== "order_update") continue;
      const d = before.get(e.order_id);
      if (d === undefined) continue;
      const answer = cancelled_json(m, d, e, applied.timestamp_ms, undefined);
      const reports = of_list.get(d.orderListId);
      if (reports === undefined) alone.push(answer);
      else reports.push(answer);
    }
    const ended = [];
    for (const { list, orders } of lists) {
      const reports = of_list.get(list.id) ?? [];
      if (reports.length === 0) continue;
      ended.push({
        ...list_json(
          m.config.symbol,
          { ...list, status: LIST_ALL_DONE, time_ms: applied.timestamp_ms },
          await orders,
        ),
        orderReports: reports,
      });
    }
    return [...alone, ...ended];
  });

  route("GET", "/api/v3/openOrders", ["symbol", ...SIGNED], async (p, request, raw) => {
    const account = signed("read", p, request, raw).account;
    const markets = p.values.has("symbol") ? [market_of(p)] : engine.markets;
    type Open = ReturnType<typeof describe> & {
      updateTime: number;
      isWorking: boolean;
      workingTime: number;
      preventedMatchId?: number;
      preventedQuantity?: string;
    };
    const out: Open[] = [];
    /**
     * What the engine does not keep is read from the history: when a triggered stop order began
     * working, when a partly filled order last changed (its last fill), and for an order self-trade
     * prevention reduced (DECREMENT), that time and the match.
     */
    const from_history: { at: number; market: number; order_id: number; prevented_lots: number }[] = [];
    for (const m of markets) {
      for (const id of engine.accounts[account].open_ids(engine.ledger, account, m.id)) {
        const slot = engine.find_order(account, m.id, id, null);
        if (slot === 0) continue;
        const d = describe(slot, m);
        // a stop order is not working until it triggers (Binance: isWorking false, workingTime -1),
        // nor an OTO's pending order until it is placed
        const stop = is_stop_type(engine.orders.type(slot));
        const pending = engine.waiting.has(d.orderId);
        const waiting = (stop && engine.orders.triggered(slot) === 0) || pending;
        const triggered = stop && engine.orders.triggered(slot) !== 0;
        if (triggered || engine.orders.executed_lots(slot) > 0 || engine.orders.prevented_lots(slot) > 0)
          from_history.push({
            at: out.length,
            market: m.id,
            order_id: d.orderId,
            prevented_lots: engine.orders.prevented_lots(slot),
          });
        out.push({
          ...d,
          // GET openOrders shows icebergQty for every order (0: not an iceberg), as GET order does
          icebergQty: d.icebergQty ?? "0.00000000",
          updateTime: d.time,
          isWorking: !waiting,
          workingTime: waiting ? -1 : d.time,
        });
      }
    }
    // one read for all of them (none: no read); when the history cannot say (unavailable, or an
    // older file), the order's time, as before
    const rows =
      from_history.length === 0
        ? []
        : await history
            .orders_by_id(
              account,
              from_history.map((t) => [t.market, t.order_id]),
            )
            .catch(() => from_history.map(() => null));
    from_history.forEach((t, i) => {
      const row = rows[i];
      if (row === null) return;
      if (row.working_ms !== null && row.working_ms > 0) out[t.at].workingTime = row.working_ms;
      out[t.at].updateTime = row.update_ms;
      if (row.prevented_match_id !== null && row.prevented_match_id !== undefined) {
        out[t.at].preventedMatchId = row.prevented_match_id;
        out[t.at].preventedQuantity = qty_str(engine.markets[t.market], t.prevented_lots);
      }
    });
    return out.sort((a, b) => a.orderId - b.orderId);
  });

  /** fromId / orderId, startTime, endTime, limit (default 500, at most 1,000) as Binance reads them. */
  const range = (p: Params, id_name: string) => ({
    from_id: integer(p, id_name, 0, Number.MAX_SAFE_INTEGER),
    start_ms: integer(p, "startTime", 0, Number.MAX_SAFE_INTEGER),
    end_ms: integer(p, "endTime", 0, Number.MAX_SAFE_INTEGER),
    limit: integer(p, "limit", 1, HISTORY_LIMIT_MAX) ?? 500,
  });

  route(
    "GET",
    "/api/v3/order",
    ["symbol", "orderId", "origClientOrderId", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("read", p, request, raw).account;
      const m = market_of(p);
      const { order_id, client_id } = order_ref(p);
      const row = await history.order(account, m.id, order_id, order_id === null ? client_id : null);
      if (row === null || (client_id !== null && row.client_order_id !== client_id))
        throw bad(-2013, "Order does not exist.");
      return order_json(market_format(engine, m), row);
    },
  );

  route(
    "GET",
    "/api/v3/allOrders",
    ["symbol", "orderId", "startTime", "endTime", "limit", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("read", p, request, raw).account;
      const m = market_of(p);
      return new RawJson(
        await history.all_orders_text(account, m.id, range(p, "orderId"), market_format(engine, m)),
      );
    },
  );

  route(
    "GET",
    "/api/v3/myTrades",
    ["symbol", "orderId", "fromId", "startTime", "endTime", "limit", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("read", p, request, raw).account;
      const m = market_of(p);
      // orderId: that order's trades (it used to filter the account's latest `limit` trades, which
      // missed every trade of an older order)
      const order_id = integer(p, "orderId", 1, Number.MAX_SAFE_INTEGER);
      return new RawJson(
        await history.my_trades_text(
          account,
          m.id,
          order_id ?? null,
          range(p, "fromId"),
          market_format(engine, m),
        ),
      );
    },
  );

  route(
    "GET",
    "/api/v3/order/amendments",
    ["symbol", "orderId", "fromExecutionId", "limit", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("read", p, request, raw).account;
      const m = market_of(p);
      const order_id = integer(p, "orderId", 1, Number.MAX_SAFE_INTEGER);
      if (order_id === undefined)
        throw bad(-1102, "Mandatory parameter 'orderId' was not sent, was empty/null, or malformed.");
      const q = {
        from_id: integer(p, "fromExecutionId", 0, Number.MAX_SAFE_INTEGER) ?? 0,
        limit: integer(p, "limit", 1, HISTORY_LIMIT_MAX) ?? 500,
      };
      return new RawJson(await history.amendments_text(account, m.id, order_id, q, market_format(engine, m)));
    },
  );

  // The account's self-trades that prevention stopped: one by preventedMatchId, or one order's (from
  // fromPreventedMatchId on, at most `limit`), the combinations Binance takes.
  route(
    "GET",
    "/api/v3/myPreventedMatches",
    ["symbol", "preventedMatchId", "orderId", "fromPreventedMatchId", "limit", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("read", p, request, raw).account;
      const m = market_of(p);
      const prevented_match_id = integer(p, "preventedMatchId", 0, Number.MAX_SAFE_INTEGER);
      const order_id = integer(p, "orderId", 1, Number.MAX_SAFE_INTEGER);
      const from_id = integer(p, "fromPreventedMatchId", 0, Number.MAX_SAFE_INTEGER);
      const limit = integer(p, "limit", 1, HISTORY_LIMIT_MAX);
      const by_id = prevented_match_id !== undefined;
      if (by_id === (order_id !== undefined) || (by_id && (from_id !== undefined || limit !== undefined)))
        throw bad(-1128, "Combination of optional parameters invalid.");
      const q = by_id
        ? { prevented_match_id }
        : { order_id: order_id as number, from_id: from_id ?? 0, limit: limit ?? 500 };
      return new RawJson(await history.prevented_matches_text(account, m.id, q, market_format(engine, m)));
    },
  );

  route("GET", "/api/v3/account", ["omitZeroBalances", ...SIGNED], (p, request, raw) => {
    const account = signed("read", p, request, raw).account;
    const omit = p.values.get("omitZeroBalances") === "true";
    // one rate for the account (Binance's are account-wide): the first market's, the account's own if set
    const fee = engine.markets.length === 0 ? undefined : engine.fee_rates(account, 0);
    const bps = (ppm: number | undefined): number => Math.round((ppm ?? 0) / 100);
    const rate = (ppm: number | undefined): string => fee_rate(ppm ?? 0);
    return {
      makerCommission: bps(fee?.maker_fee_ppm),
      takerCommission: bps(fee?.taker_fee_ppm),
      buyerCommission: 0,
      sellerCommission: 0,
      commissionRates: {
        maker: rate(fee?.maker_fee_ppm),
        taker: rate(fee?.taker_fee_ppm),
        buyer: "0.00000000",
        seller: "0.00000000",
      },
      canTrade: true,
      canWithdraw: false,
      canDeposit: true,
      brokered: false,
      requireSelfTradePrevention: false,
      preventSor: false,
      // the command time of its last balance change (engine state, so every replica says the same)
      updateTime: engine.ledger.updated_ms(account),
      accountType: "SPOT",
      balances: engine.assets
        .map((a) => ({
          asset: a.name,
          free: units(engine, a.id, engine.ledger.free(account, a.id)),
          locked: units(engine, a.id, engine.ledger.locked(account, a.id)),
        }))
        .filter(
          (_b, i) => !omit || engine.ledger.free(account, i) > 0 || engine.ledger.locked(account, i) > 0,
        ),
      permissions: ["SPOT"],
      uid: account,
    };
  });

  // The account's order counts against its key's limits (Binance: "unfilled order count").
  route("GET", "/api/v3/rateLimit/order", [...SIGNED], (p, request, raw) => {
    const key = signed("read", p, request, raw);
    return limiter.order_usage(key.account, key.tier);
  });

  // A market's fees, as Binance's per-symbol commission endpoints report them. Holdfast's fees are
  // set per market (add_market) and are the same for every account; no discounts, no tax.
  const zero = "0.00000000";
  route("GET", "/api/v3/myFilters", ["symbol", ...SIGNED], (p, request, raw) => {
    signed("read", p, request, raw);
    return my_filters(engine, market_of(p));
  });

  route("GET", "/api/v3/account/commission", ["symbol", ...SIGNED], (p, request, raw) => {
    const account = signed("read", p, request, raw).account;
    const m = market_of(p);
    const c = engine.fee_rates(account, m.id);
    const none = { maker: zero, taker: zero, buyer: zero, seller: zero };
    return {
      symbol: m.config.symbol,
      standardCommission: { ...none, maker: fee_rate(c.maker_fee_ppm), taker: fee_rate(c.taker_fee_ppm) },
      specialCommission: none,
      taxCommission: none,
      discount: NO_DISCOUNT,
    };
  });
  // Binance's wallet endpoints: fees (as ccxt's fetchTradingFee calls them), assets, key permissions
  register_wallet(route, {
    engine,
    history,
    market_of,
    signed,
    key_only: (request) => auth.key_only(request.headers, request.ip),
  });
  // users' withdrawals (the engine's safeguards decide) and the withdrawal history
  register_withdrawals(route, {
    engine,
    history,
    market_of,
    signed,
    key_only: (request) => auth.key_only(request.headers, request.ip),
    admit,
    submit,
  });

  // Proof of reserves: the audits' figures (public) and the caller's own inclusion proof (signed)
  register_reserves(route, { engine, history, signed });

  register_order_lists(route, {
    engine,
    history,
    market_of,
    signed,
    admit,
    submit,
    refusal,
    count_order,
    cancelled: (m, slot) => {
      const before = describe(slot, m);
      return (events, transact_ms) => {
        const update = events.find((x) => x.kind === "order_update" && x.order_id === before.orderId);
        if (update === undefined || update.kind !== "order_update")
          throw new Error("a cancel without its update");
        return cancelled_json(m, before, update, transact_ms, undefined);
      };
    },
  });
}

/** No fee discount (Binance's is for paying fees in BNB, which this exchange does not have). */
const NO_DISCOUNT = {
  enabledForAccount: false,
  enabledForSymbol: false,
  discountAsset: "",
  discount: "0.00000000",
} as const;

/** order/test's `computeCommissionRates` (BOOLEAN, default false). */
function compute_commission_rates(p: Params): boolean {
  const v = p.values.get("computeCommissionRates");
  if (v === undefined || v === "false") return false;
  if (v === "true") return true;
  throw bad(
    -1100,
    "Illegal characters found in parameter 'computeCommissionRates'; legal range is 'true, false'.",
  );
}

/**
 * What order/test answers with `computeCommissionRates=true`: the rates the account's order would pay
 * on this market (Engine.fee_rates; no special or tax rates, no discount).
 */
function commission_rates(c: { maker_fee_ppm: number; taker_fee_ppm: number }) {
  const none = { maker: "0.00000000", taker: "0.00000000" };
  return {
    standardCommissionForOrder: {
      maker: fee_rate(c.maker_fee_ppm),
      taker: fee_rate(c.taker_fee_ppm),
    },
    specialCommissionForOrder: none,
    taxCommissionForOrder: none,
    discount: NO_DISCOUNT,
  };
}

/** An order's peg fields as read before it changed (describe), for the answer after. */
function kept_peg_fields(before: ReturnType<typeof peg_fields>): ReturnType<typeof peg_fields> {
  if (before.pegPriceType === undefined) return {};
  const { pegPriceType, pegOffsetType, pegOffsetValue, peggedPrice } = before;
  return {
    pegPriceType,
    ...(pegOffsetType === undefined ? {} : { pegOffsetType, pegOffsetValue }),
    ...(peggedPrice === undefined ? {} : { peggedPrice }),
  };
}

/** Binance's conditional icebergQty: only for an iceberg order (lots undefined or -1: none). */
function iceberg_field(m: Market, lots: number | undefined): { icebergQty?: string } {
  return lots === undefined || lots === -1 ? {} : { icebergQty: qty_str(m, lots) };
}

/** Binance: FULL for MARKET and LIMIT, ACK for the other types. */
function default_resp(order_type: number): string {
  return order_type === TYPE_MARKET || order_type === TYPE_LIMIT ? "FULL" : "ACK";
}

/**
 * An order's answer (ACK, RESULT, FULL) from the events of the command that placed it: the first
 * order it created, or the one with `order_id` (an order list's), in list `order_list_id` (-1: none).
 */
export function order_response(
  e: Engine,
  m: Market,
  events: readonly EngineEvent[],
  o: {
    client_order_id: string;
    resp_type: string;
    transact_ms: number;
    stp: string;
    order_id?: number;
    order_list_id?: number;
    /** An OTO's pending order: shown as placed (PENDING_NEW), even if placed by the same command. */
    pending?: boolean;
  },
) {
  const { client_order_id, resp_type, transact_ms } = o;
  const created = events.find(
    (x) => x.kind === "order_new" && (o.order_id === undefined || x.order_id === o.order_id),
  );
  if (created === undefined || created.kind !== "order_new")
    throw new Error("order accepted without order_new");
  const id = created.order_id;
  const ack = {
    symbol: m.config.symbol,
    orderId: id,
    orderListId: o.order_list_id ?? -1,
    clientOrderId: client_order_id,
    transactTime: transact_ms,
  };
  if (resp_type === "ACK") return ack;
  let status: number = STATUS_NEW;
  let executed = 0;
  let quote = 0;
  const fills = [];
  const prevented = [];
  /** All self-trade prevention took from this order, and by which match last (-1: none). */
  let prevented_lots = -1;
  let prevented_by = -1;
  let triggered = false;
  let trailing_ms = -1;
  let end = -1;
  /** A pegged order's peg, its pegged price once known (the last order_pegged event says). */
  let peg: Extract<EngineEvent, { kind: "order_pegged" }> | null = null;
  for (const x of events) {
    if (x.kind === "order_activated" && x.order_id === id && o.pending === true) break;
    if (x.kind === "order_pegged" && x.order_id === id) peg = x;
    if (x.kind === "order_triggered" && x.order_id === id) triggered = true;
    if (x.kind === "trailing_started" && x.order_id === id) trailing_ms = x.time_ms;
    if (x.kind === "prevented_match" && x.taker_order_id === id) {
      prevented.push({
        preventedMatchId: x.prevented_match_id,
        makerOrderId: x.maker_order_id,
        price: price_str(m, x.price_ticks),
        ...(x.taker_prevented_lots >= 0
          ? { takerPreventedQuantity: qty_str(m, x.taker_prevented_lots) }
          : {}),
        ...(x.maker_prevented_lots >= 0
          ? { makerPreventedQuantity: qty_str(m, x.maker_prevented_lots) }
          : {}),
      });
      if (x.taker_prevented_lots >= 0) {
        prevented_lots = x.taker_prevented_total_lots;
        prevented_by = x.prevented_match_id;
      }
    }
    if (x.kind === "order_update" && x.order_id === id) {
      status = x.status;
      executed = x.executed_lots;
      quote = x.cumulative_quote_units;
      end = x.end_reason;
    }
    if (x.kind === "trade" && x.taker_order_id === id) {
      const fee_asset = x.taker_side === SIDE_BUY ? m.config.base : m.config.quote;
      fills.push({
        price: price_str(m, x.price_ticks),
        qty: qty_str(m, x.quantity_lots),
        commission: units(e, fee_asset, x.taker_fee_units),
        commissionAsset: e.assets[fee_asset].name,
        tradeId: x.trade_id,
      });
    }
  }
  const result = {
    ...ack,
    price: price_str(m, created.price_ticks),
    origQty: qty_str(m, created.quantity_lots),
    executedQty: qty_str(m, executed),
    origQuoteOrderQty: units(e, m.config.quote, created.quote_units),
    cummulativeQuoteQty: units(e, m.config.quote, quote),
    status: ORDER_STATUS_NAMES[status],
    timeInForce: TIF_NAMES[created.tif],
    type: ORDER_TYPE_NAMES[created.order_type],
    side: created.side === SIDE_BUY ? "BUY" : "SELL",
    // Binance's conditional stopPrice (stop types), and a trailing stop's delta and tracking time
    ...(is_stop_type(created.order_type) ? { stopPrice: price_str(m, created.stop_price_ticks) } : {}),
    ...trailing_fields(created.trailing_delta_bips, trailing_ms),
    ...iceberg_field(m, created.iceberg_lots),
    ...(peg === null
      ? {}
      : peg_fields(
          peg.peg_type,
          peg.peg_offset_levels,
          peg.pegged_price_ticks > 0 ? price_str(m, peg.pegged_price_ticks) : null,
        )),
    // a stop order is not working until it triggers, nor a pending order until it is placed
    workingTime:
      (is_stop_type(created.order_type) && !triggered) || status === STATUS_PENDING_NEW ? -1 : transact_ms,
    selfTradePreventionMode: o.stp,
    ...strategy_fields(created.strategy_id, created.strategy_type),
    ...expiry_field(expiry_reason(status, end, created.order_type, created.tif)),
  };
  // Binance's conditional fields: RESULT names the (last) match that expired or reduced the order;
  // FULL lists every match the order was kept from (those that expired or reduced only resting
  // orders too) beside its fills. preventedQuantity: all prevention took from it.
  const taken = prevented_lots >= 0 ? { preventedQuantity: qty_str(m, prevented_lots) } : {};
  if (resp_type === "RESULT")
    return prevented_lots >= 0 ? { ...result, preventedMatchId: prevented_by, ...taken } : result;
  return { ...result, fills, ...(prevented.length > 0 ? { preventedMatches: prevented } : {}), ...taken };
}
