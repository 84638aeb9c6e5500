/**
 * Order lists (Binance Spot): POST /api/v3/orderList/oco, DELETE /api/v3/orderList, GET
 * /api/v3/orderList, GET /api/v3/allOrderList, GET /api/v3/openOrderList. An OCO's two orders are
 * checked as POST order checks one (validate_order, each under its above… or below… names) before
 * anything reaches the journal; the engine decides the rest (prices against the last price, funds,
 * limits) and answers with journaled refusals.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ApiKeyRecord } from "../engine/api_keys.js";
import type { Command, OrderSpec, PlaceOrderList } from "../engine/commands.js";
import type { Engine, OrderList } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";
import type { Market } from "../engine/market.js";
import { LIST_ALL_DONE, LIST_EXECUTING, STP_NAMES } from "../engine/types.js";
import type { History } from "../projections/history.js";
import type { OrderListRow } from "../projections/history_queries.js";
import { CLIENT_ORDER_ID_PATTERN, validate_order } from "../validation/order.js";
import type { Need } from "./auth.js";
import { ApiError, bad, integer, type Params } from "./params.js";
import { new_client_id, order_response, type Route } from "./trading.js";

const SIGNED = ["timestamp", "recvWindow", "signature"];
const CLIENT_ID_RE = new RegExp(CLIENT_ORDER_ID_PATTERN);
/** allOrderList's limit (Binance: default 500, at most 1,000). */
const LIST_LIMIT_MAX = 1000;
/** An OCO leg's parameters under their POST order names (above… and below… take these suffixes). */
const LEG_PARAMS: Record<string, string> = {
  Type: "type",
  ClientOrderId: "newClientOrderId",
  IcebergQty: "icebergQty",
  Price: "price",
  StopPrice: "stopPrice",
  TrailingDelta: "trailingDelta",
  TimeInForce: "timeInForce",
  StrategyId: "strategyId",
  StrategyType: "strategyType",
};
const LEG_TYPES = ["STOP_LOSS_LIMIT", "STOP_LOSS", "LIMIT_MAKER"];
const OCO_PARAMS = [
  "symbol",
  "listClientOrderId",
  "side",
  "quantity",
  "newOrderRespType",
  "selfTradePreventionMode",
  ...["above", "below"].flatMap((leg) => Object.keys(LEG_PARAMS).map((k) => `${leg}${k}`)),
];

/** What register_trading shares with these endpoints. */
export interface TradingContext {
  engine: Engine;
  history: History;
  market_of: (p: Params) => Market;
  signed: (
    need: Need,
    p: Params,
    request: FastifyRequest,
    raw: { query: string; body: string },
  ) => ApiKeyRecord;
  admit: () => void;
  submit: (command: Command) => Promise<{ events: EngineEvent[]; timestamp_ms: number }>;
  refusal: (events: EngineEvent[], fallback_code: number) => ApiError | null;
  count_order: (key: ApiKeyRecord, reply: FastifyReply) => void;
  /** Binance's answer for a cancelled order (trading.ts cancelled_json over describe). */
  cancelled: (m: Market, slot: number) => (events: EngineEvent[], transact_ms: number) => unknown;
}

/** One leg of an OCO: its parameters under POST order's names, validated as POST order validates. */
function leg_spec(p: Params, leg: "above" | "below", m: Market, e: Engine): OrderSpec {
  const type = p.values.get(`${leg}Type`);
  if (type === undefined || type === "")
    throw bad(-1102, `Mandatory parameter '${leg}Type' was not sent, was empty/null, or malformed.`);
  if (!LEG_TYPES.includes(type))
    throw bad(
      -1100,
      `Illegal characters found in parameter '${leg}Type'; legal range is '${LEG_TYPES.join(", ")}'.`,
    );
  const params: Record<string, string> = {};
  for (const name of ["side", "quantity", "selfTradePreventionMode"]) {
    const v = p.values.get(name);
    if (v !== undefined) params[name] = v;
  }
  for (const [suffix, name] of Object.entries(LEG_PARAMS)) {
    const v = p.values.get(`${leg}${suffix}`);
    if (v !== undefined) params[name] = v;
  }
  const v = validate_order(params, {
    config: m.config,
    base_decimals: e.assets[m.config.base].decimals,
    quote_decimals: e.assets[m.config.quote].decimals,
  });
  if (!v.ok) {
    // the message names the OCO's parameter ('abovePrice'), not POST order's ('price')
    let msg = v.error.msg;
    for (const [suffix, name] of Object.entries(LEG_PARAMS))
      msg = msg.replaceAll(`'${name}'`, `'${leg}${suffix}'`);
    throw new ApiError(400, { code: v.error.code, msg });
  }
  return { ...v.spec, client_order_id: v.spec.client_order_id ?? new_client_id() };
}

/** Binance's list fields: EXEC_STARTED/EXECUTING while pending, ALL_DONE once resolved. */
function list_json(
  symbol: string,
  l: { id: number; status: number; client_id: string | null; time_ms: number },
  orders: { id: number; client_id: string }[],
) {
  const pending = l.status === LIST_EXECUTING;
  return {
    orderListId: l.id,
    contingencyType: "OCO",
    listStatusType: pending ? "EXEC_STARTED" : "ALL_DONE",
    listOrderStatus: pending ? "EXECUTING" : "ALL_DONE",
    listClientOrderId: l.client_id ?? "",
    transactionTime: l.time_ms,
    symbol,
    orders: orders.map((o) => ({ symbol, orderId: o.id, clientOrderId: o.client_id })),
  };
}

function row_json(e: Engine, r: OrderListRow) {
  return list_json(
    e.markets[r.market].config.symbol,
    { id: r.list_id, status: r.status, client_id: r.list_client_order_id, time_ms: r.update_ms },
    [
      { id: r.above_order_id, client_id: r.above_client_order_id ?? "" },
      { id: r.below_order_id, client_id: r.below_client_order_id ?? "" },
    ],
  );
}

export function register_order_lists(route: Route, ctx: TradingContext): void {
  const { engine, history, signed, submit } = ctx;

  /** A pending list's two orders, from the engine. */
  const pending_orders = (l: OrderList) =>
    [l.above_id, l.below_id].map((id) => {
      const slot = engine.orders.by_id.get(id);
      return { id, client_id: slot === 0 ? "" : (engine.orders.client_order_id(slot) ?? "") };
    });

  route("POST", "/api/v3/orderList/oco", [...OCO_PARAMS, ...SIGNED], async (p, request, raw, reply) => {
    ctx.admit();
    const key = signed("trade", p, request, raw);
    // an OCO counts as two orders against the order limits
    ctx.count_order(key, reply);
    ctx.count_order(key, reply);
    const m = ctx.market_of(p);
    for (const name of ["side", "quantity"])
      if (!p.values.has(name) || p.values.get(name) === "")
        throw bad(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
    const resp_type = p.values.get("newOrderRespType") ?? "FULL";
    if (!["ACK", "RESULT", "FULL"].includes(resp_type))
      throw bad(
        -1100,
        "Illegal characters found in parameter 'newOrderRespType'; legal range is 'ACK, RESULT, FULL'.",
      );
    const list_cid = p.values.get("listClientOrderId") ?? new_client_id();
    if (!CLIENT_ID_RE.test(list_cid))
      throw bad(
        -1100,
        `Illegal characters found in parameter 'listClientOrderId'; legal range is '${CLIENT_ORDER_ID_PATTERN}'.`,
      );
    const above = leg_spec(p, "above", m, engine);
    const below = leg_spec(p, "below", m, engine);
    const command: PlaceOrderList = {
      type: "place_order_list",
      ts_ms: 0,
      account: key.account,
      market: m.id,
      list_client_order_id: list_cid,
      above,
      below,
    };
    const applied = await submit(command);
    const refused = ctx.refusal(applied.events, -2010);
    if (refused !== null) throw refused;
    const placed = applied.events.find((x) => x.kind === "order_list");
    if (placed === undefined || placed.kind !== "order_list")
      throw new Error("order list accepted without order_list");
    const stp = STP_NAMES[above.stp === -1 ? m.config.stp_default : above.stp];
    const legs = [
      { id: placed.above_order_id, client_id: above.client_order_id ?? "" },
      { id: placed.below_order_id, client_id: below.client_order_id ?? "" },
    ];
    const list = list_json(
      m.config.symbol,
      { id: placed.list_id, status: LIST_EXECUTING, client_id: list_cid, time_ms: applied.timestamp_ms },
      legs,
    );
    if (resp_type === "ACK") return list;
    return {
      ...list,
      orderReports: legs.map((leg) =>
        order_response(engine, m, applied.events, {
          client_order_id: leg.client_id,
          resp_type,
          transact_ms: applied.timestamp_ms,
          stp,
          order_id: leg.id,
          order_list_id: placed.list_id,
        }),
      ),
    };
  });

  /** The list a request names by orderListId or its list client id (one is required). */
  const list_ref = (p: Params, client_name: string) => {
    const list_id = integer(p, "orderListId", 0, Number.MAX_SAFE_INTEGER) ?? null;
    const client_id = p.values.get(client_name) ?? null;
    if (list_id === null && client_id === null)
      throw bad(-1102, `Param '${client_name}' or 'orderListId' must be sent, but both were empty/null!`);
    return { list_id, client_id };
  };

  route(
    "DELETE",
    "/api/v3/orderList",
    ["symbol", "orderListId", "listClientOrderId", "newClientOrderId", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("trade", p, request, raw).account;
      const m = ctx.market_of(p);
      const { list_id, client_id } = list_ref(p, "listClientOrderId");
      const list = engine.find_order_list(account, m.id, list_id, client_id);
      if (list === null) throw bad(-2011, "Order list does not exist.");
      const orders = pending_orders(list);
      // cancelling one order of a pending list cancels both
      const slot = engine.orders.by_id.get(list.above_id);
      const answers = orders.map((o) => ctx.cancelled(m, engine.orders.by_id.get(o.id)));
      const applied = await submit({
        type: "cancel_order",
        ts_ms: 0,
        account,
        market: m.id,
        order_id: list.above_id,
        client_order_id: null,
      });
      const refused = ctx.refusal(applied.events, -2011);
      if (refused !== null || slot === 0) throw refused ?? bad(-2011, "Order list does not exist.");
      return {
        ...list_json(
          m.config.symbol,
          { id: list.id, status: LIST_ALL_DONE, client_id: list.client_id, time_ms: applied.timestamp_ms },
          orders,
        ),
        orderReports: answers.map((answer) => answer(applied.events, applied.timestamp_ms)),
      };
    },
  );

  route(
    "GET",
    "/api/v3/orderList",
    ["orderListId", "origClientOrderId", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("read", p, request, raw).account;
      const { list_id, client_id } = list_ref(p, "origClientOrderId");
      const row = await history.order_list(account, list_id, list_id === null ? client_id : null);
      if (row === null) throw bad(-2011, "Order list does not exist.");
      return row_json(engine, row);
    },
  );

  route(
    "GET",
    "/api/v3/allOrderList",
    ["fromId", "startTime", "endTime", "limit", ...SIGNED],
    async (p, request, raw) => {
      const account = signed("read", p, request, raw).account;
      const from_id = integer(p, "fromId", 0, Number.MAX_SAFE_INTEGER);
      const start_ms = integer(p, "startTime", 0, Number.MAX_SAFE_INTEGER);
      const end_ms = integer(p, "endTime", 0, Number.MAX_SAFE_INTEGER);
      if (from_id !== undefined && (start_ms !== undefined || end_ms !== undefined))
        throw bad(-1128, "Combination of optional parameters invalid.");
      const limit = integer(p, "limit", 1, LIST_LIMIT_MAX) ?? 500;
      const rows = await history.order_lists(account, { from_id, start_ms, end_ms, limit });
      return rows.map((r) => row_json(engine, r));
    },
  );

  route("GET", "/api/v3/openOrderList", SIGNED, (p, request, raw) => {
    const account = signed("read", p, request, raw).account;
    return [...engine.order_lists.values()]
      .filter((l) => l.account === account)
      .sort((a, b) => a.id - b.id)
      .map((l) =>
        list_json(
          engine.markets[l.market].config.symbol,
          { id: l.id, status: LIST_EXECUTING, client_id: l.client_id, time_ms: l.time_ms },
          pending_orders(l),
        ),
      );
  });
}
