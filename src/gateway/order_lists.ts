/**
 * Order lists (Binance Spot): POST /api/v3/orderList/oco, /oto, /otoco, /opo and /opoco, DELETE
 * /api/v3/orderList, GET /api/v3/orderList, GET
 * /api/v3/allOrderList, GET /api/v3/openOrderList. A list's orders are each checked as POST order
 * checks one (validate_order, under the list's names for its parameters: above…, below…, working…,
 * pending…, pendingAbove…, pendingBelow…) before anything reaches the journal; the engine decides the
 * rest (prices against the last price, funds, limits) and answers with journaled refusals.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ApiKeyRecord } from "../engine/api_keys.js";
import type { Command, OrderSpec, PlaceOrderList, PlaceOto } from "../engine/commands.js";
import type { Engine, OrderList } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";
import type { Market } from "../engine/market.js";
import {
  CONTINGENCY_NAMES,
  CONTINGENCY_OCO,
  LIST_ALL_DONE,
  LIST_EXECUTING,
  STP_NAMES,
} from "../engine/types.js";
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
  PegPriceType: "pegPriceType",
  PegOffsetType: "pegOffsetType",
  PegOffsetValue: "pegOffsetValue",
};
/** An OCO's order types (one take-profit order and one stop-loss order: the engine checks). */
const LEG_TYPES = ["STOP_LOSS_LIMIT", "STOP_LOSS", "LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"];
const OCO_PARAMS = [
  "symbol",
  "listClientOrderId",
  "side",
  "quantity",
  "newOrderRespType",
  "selfTradePreventionMode",
  ...["above", "below"].flatMap((leg) => Object.keys(LEG_PARAMS).map((k) => `${leg}${k}`)),
];
/**
 * POST /api/v3/order/oco (Binance: deprecated, still served; what python-binance's create_oco_order,
 * the Ruby and Go connectors and older bots call): a LIMIT_MAKER (limit…) and a STOP_LOSS, or a
 * STOP_LOSS_LIMIT when stopLimitPrice is sent (stop…). POST order's names → this endpoint's.
 */
const OCO_LIMIT_NAMES: Record<string, string> = {
  side: "side",
  quantity: "quantity",
  selfTradePreventionMode: "selfTradePreventionMode",
  price: "price",
  newClientOrderId: "limitClientOrderId",
  icebergQty: "limitIcebergQty",
  strategyId: "limitStrategyId",
  strategyType: "limitStrategyType",
};
const OCO_STOP_NAMES: Record<string, string> = {
  side: "side",
  quantity: "quantity",
  selfTradePreventionMode: "selfTradePreventionMode",
  stopPrice: "stopPrice",
  price: "stopLimitPrice",
  trailingDelta: "trailingDelta",
  timeInForce: "stopLimitTimeInForce",
  newClientOrderId: "stopClientOrderId",
  icebergQty: "stopIcebergQty",
  strategyId: "stopStrategyId",
  strategyType: "stopStrategyType",
};
const OLD_OCO_PARAMS = [
  "symbol",
  "listClientOrderId",
  "newOrderRespType",
  ...new Set([...Object.values(OCO_LIMIT_NAMES), ...Object.values(OCO_STOP_NAMES)]),
];
/** An OTO's working order's parameters (working… takes these suffixes): a LIMIT or LIMIT_MAKER. */
const WORKING_PARAMS: Record<string, string> = {
  Type: "type",
  Side: "side",
  ClientOrderId: "newClientOrderId",
  Price: "price",
  Quantity: "quantity",
  IcebergQty: "icebergQty",
  TimeInForce: "timeInForce",
  StrategyId: "strategyId",
  StrategyType: "strategyType",
  PegPriceType: "pegPriceType",
  PegOffsetType: "pegOffsetType",
  PegOffsetValue: "pegOffsetValue",
};
const WORKING_TYPES = ["LIMIT", "LIMIT_MAKER"];
/** An OTO's pending order's (pending…): any type, a stop price and trailing delta too. */
const PENDING_PARAMS: Record<string, string> = {
  ...WORKING_PARAMS,
  StopPrice: "stopPrice",
  TrailingDelta: "trailingDelta",
};
const PENDING_TYPES = [
  "LIMIT",
  "MARKET",
  "STOP_LOSS",
  "STOP_LOSS_LIMIT",
  "TAKE_PROFIT",
  "TAKE_PROFIT_LIMIT",
  "LIMIT_MAKER",
];
const LIST_COMMON = ["symbol", "listClientOrderId", "newOrderRespType", "selfTradePreventionMode"];
const OTO_PARAMS = [
  ...LIST_COMMON,
  ...Object.keys(WORKING_PARAMS).map((k) => `working${k}`),
  ...Object.keys(PENDING_PARAMS).map((k) => `pending${k}`),
];
const OTOCO_PARAMS = [
  ...LIST_COMMON,
  ...Object.keys(WORKING_PARAMS).map((k) => `working${k}`),
  "pendingSide",
  "pendingQuantity",
  ...["pendingAbove", "pendingBelow"].flatMap((leg) => Object.keys(LEG_PARAMS).map((k) => `${leg}${k}`)),
];
/** An OPO's and OPOCO's: as an OTO's and OTOCO's, but no pendingQuantity (the proceeds decide it). */
const OPO_PARAMS = OTO_PARAMS.filter((name) => name !== "pendingQuantity");
const OPOCO_PARAMS = OTOCO_PARAMS.filter((name) => name !== "pendingQuantity");

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

/**
 * One order of a list, validated as POST order validates one, as a `type` order: `names` maps POST
 * order's name of each parameter (price, quantity…) to the list's (abovePrice, quantity…). Errors
 * name the list's parameters ('abovePrice', not 'price').
 */
function list_order(p: Params, type: string, names: Record<string, string>, m: Market, e: Engine): OrderSpec {
  const params: Record<string, string> = { type };
  for (const [name, from] of Object.entries(names)) {
    const v = p.values.get(from);
    if (v !== undefined) params[name] = v;
  }
  const v = validate_order(params, {
    config: m.config,
    base_decimals: e.assets[m.config.base].decimals,
    quote_decimals: e.assets[m.config.quote].decimals,
  });
  if (!v.ok) {
    let msg = v.error.msg;
    for (const [name, list_name] of Object.entries(names))
      msg = msg.replaceAll(`'${name}'`, `'${list_name}'`);
    throw new ApiError(400, { code: v.error.code, msg });
  }
  return { ...v.spec, client_order_id: v.spec.client_order_id ?? new_client_id() };
}

/**
 * One order of a list whose parameters are `prefix` + a suffix of `own` (aboveType, abovePrice…),
 * the type among `types`; `shared` maps POST order's name to the list's parameter for those its
 * orders share (an OCO's side and quantity).
 */
function leg_spec(
  p: Params,
  prefix: string,
  own: Record<string, string>,
  shared: Record<string, string>,
  types: string[],
  m: Market,
  e: Engine,
): OrderSpec {
  const type = p.values.get(`${prefix}Type`);
  if (type === undefined || type === "")
    throw bad(-1102, `Mandatory parameter '${prefix}Type' was not sent, was empty/null, or malformed.`);
  if (!types.includes(type))
    throw bad(
      -1100,
      `Illegal characters found in parameter '${prefix}Type'; legal range is '${types.join(", ")}'.`,
    );
  const names: Record<string, string> = {};
  for (const [suffix, name] of Object.entries(own)) if (name !== "type") names[name] = `${prefix}${suffix}`;
  // the shared names win: an OPO's pending order is validated with the working order's quantity
  return list_order(p, type, { ...names, ...shared }, m, e);
}

/** An OCO's order (above or below): side, quantity and STP mode are the list's. */
const oco_leg = (p: Params, leg: string, m: Market, e: Engine, side = "side", quantity = "quantity") =>
  leg_spec(
    p,
    leg,
    LEG_PARAMS,
    { side, quantity, selfTradePreventionMode: "selfTradePreventionMode" },
    LEG_TYPES,
    m,
    e,
  );

const STP_SHARED = { selfTradePreventionMode: "selfTradePreventionMode" };

/** Binance's list fields: EXEC_STARTED/EXECUTING while pending, ALL_DONE once resolved. */
export function list_json(
  symbol: string,
  l: { id: number; status: number; client_id: string | null; time_ms: number; contingency: number },
  orders: { id: number; client_id: string }[],
) {
  const pending = l.status === LIST_EXECUTING;
  return {
    orderListId: l.id,
    contingencyType: CONTINGENCY_NAMES[l.contingency] ?? "OCO",
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
    {
      id: r.list_id,
      status: r.status,
      client_id: r.list_client_order_id,
      time_ms: r.update_ms,
      contingency: r.contingency ?? CONTINGENCY_OCO,
    },
    [
      { id: r.working_order_id ?? 0, client_id: r.working_client_order_id ?? "" },
      { id: r.above_order_id, client_id: r.above_client_order_id ?? "" },
      { id: r.below_order_id, client_id: r.below_client_order_id ?? "" },
    ].filter((o) => o.id !== 0),
  );
}

/**
 * A pending list's orders and their client ids, from the engine as it is when called; an OTOCO's
 * working order, filled once its pair is placed, from the history.
 */
export function pending_orders(
  engine: Engine,
  history: History,
  l: OrderList,
): Promise<{ id: number; client_id: string }[]> {
  return Promise.all(
    [l.working_id, l.above_id, l.below_id]
      .filter((id) => id !== 0)
      .map(async (id) => {
        const slot = engine.orders.by_id.get(id);
        if (slot !== 0) return { id, client_id: engine.orders.client_order_id(slot) ?? "" };
        const row = await history.order(l.account, l.market, id, null).catch(() => null);
        return { id, client_id: row?.client_order_id ?? "" };
      }),
  );
}

export function register_order_lists(route: Route, ctx: TradingContext): void {
  const { engine, history, signed, submit } = ctx;

  /**
   * What every list request shares: authentication, the order count (`orders`: each of its orders
   * counts as one), the symbol, the response type and the list client id (generated if absent).
   */
  const list_head = (
    p: Params,
    request: FastifyRequest,
    raw: { query: string; body: string },
    reply: FastifyReply,
    orders: number,
  ) => {
    ctx.admit();
    const key = signed("trade", p, request, raw);
    for (let i = 0; i < orders; i++) ctx.count_order(key, reply);
    const m = ctx.market_of(p);
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
    return { key, m, resp_type, list_cid };
  };

  /** Parameters every order of the list needs (an OCO's side and quantity, an OTO's …Side). */
  const mandatory = (p: Params, names: string[]) => {
    for (const name of names)
      if (!p.values.has(name) || p.values.get(name) === "")
        throw bad(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
  };

  /**
   * Journals a list and answers as Binance does: the list (EXEC_STARTED), then each order's report
   * (RESULT or FULL; an OTO's pending orders as placed, PENDING_NEW). `specs`: the orders in the
   * order they were created (an OTO's working order first).
   */
  const place_list = async (
    command: PlaceOrderList | PlaceOto,
    m: Market,
    resp_type: string,
    list_cid: string,
    specs: OrderSpec[],
  ) => {
    const applied = await submit(command);
    const refused = ctx.refusal(applied.events, -2010);
    if (refused !== null) throw refused;
    const placed = applied.events.find((x) => x.kind === "order_list");
    if (placed === undefined || placed.kind !== "order_list")
      throw new Error("order list accepted without order_list");
    const ids = [placed.working_order_id, placed.above_order_id, placed.below_order_id].filter(
      (id) => id !== 0,
    );
    const legs = ids.map((id, i) => ({ id, client_id: specs[i].client_order_id ?? "", spec: specs[i] }));
    const list = list_json(
      m.config.symbol,
      {
        id: placed.list_id,
        status: LIST_EXECUTING,
        client_id: list_cid,
        time_ms: applied.timestamp_ms,
        contingency: placed.contingency,
      },
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
          stp: STP_NAMES[leg.spec.stp === -1 ? m.config.stp_default : leg.spec.stp],
          order_id: leg.id,
          order_list_id: placed.list_id,
          pending: placed.working_order_id !== 0 && leg.id !== placed.working_order_id,
        }),
      ),
    };
  };

  /** An OCO of `above` and `below` (both endpoints' orders as the engine takes them). */
  const place_oco = (
    account: number,
    m: Market,
    resp_type: string,
    list_cid: string,
    above: OrderSpec,
    below: OrderSpec,
  ) => {
    const command: PlaceOrderList = {
      type: "place_order_list",
      ts_ms: 0,
      account,
      market: m.id,
      list_client_order_id: list_cid,
      above,
      below,
    };
    return place_list(command, m, resp_type, list_cid, [above, below]);
  };

  route("POST", "/api/v3/orderList/oco", [...OCO_PARAMS, ...SIGNED], async (p, request, raw, reply) => {
    // an OCO counts as two orders against the order limits
    const { key, m, resp_type, list_cid } = list_head(p, request, raw, reply, 2);
    mandatory(p, ["side", "quantity"]);
    const above = oco_leg(p, "above", m, engine);
    const below = oco_leg(p, "below", m, engine);
    return place_oco(key.account, m, resp_type, list_cid, above, below);
  });

  route("POST", "/api/v3/order/oco", [...OLD_OCO_PARAMS, ...SIGNED], async (p, request, raw, reply) => {
    const { key, m, resp_type, list_cid } = list_head(p, request, raw, reply, 2);
    mandatory(p, ["side", "quantity", "price", "stopPrice"]);
    const limit = list_order(p, "LIMIT_MAKER", OCO_LIMIT_NAMES, m, engine);
    const stop_type = p.values.has("stopLimitPrice") ? "STOP_LOSS_LIMIT" : "STOP_LOSS";
    const stop = list_order(p, stop_type, OCO_STOP_NAMES, m, engine);
    // Binance's price rule (a SELL's limit price above the last price above its stop price, a BUY's
    // the other way) is the new endpoint's with the limit maker above for a SELL, below for a BUY
    const [above, below] = p.values.get("side") === "SELL" ? [limit, stop] : [stop, limit];
    return place_oco(key.account, m, resp_type, list_cid, above, below);
  });

  /**
   * OTO, OTOCO (`pair`: a pending OCO pair, pendingAbove… and pendingBelow…), and OPO, OPOCO
   * (`pays`: a BUY working order's proceeds pay its SELL pending orders, which come without a
   * quantity: validated with the working order's, placed with the proceeds').
   */
  const register_oto = (path: string, params: string[], pair: boolean, pays: boolean) =>
    route("POST", path, [...params, ...SIGNED], async (p, request, raw, reply) => {
      const { key, m, resp_type, list_cid } = list_head(p, request, raw, reply, pair ? 3 : 2);
      const quantity = pays ? "workingQuantity" : "pendingQuantity";
      // (a pegged working order's price is optional: the engine takes one from the book)
      const pegged = (p.values.get("workingPegPriceType") ?? "") !== "";
      mandatory(p, [
        "workingSide",
        ...(pegged ? [] : ["workingPrice"]),
        "workingQuantity",
        "pendingSide",
        quantity,
      ]);
      if (pays && (p.values.get("workingSide") !== "BUY" || p.values.get("pendingSide") !== "SELL"))
        throw bad(-1106, "OPO order lists need workingSide BUY and pendingSide SELL.");
      const working = leg_spec(p, "working", WORKING_PARAMS, STP_SHARED, WORKING_TYPES, m, engine);
      const sized = (spec: OrderSpec): OrderSpec => (pays ? { ...spec, quantity_lots: 0 } : spec);
      const pending = pair
        ? [
            oco_leg(p, "pendingAbove", m, engine, "pendingSide", quantity),
            oco_leg(p, "pendingBelow", m, engine, "pendingSide", quantity),
          ]
        : [
            leg_spec(
              p,
              "pending",
              PENDING_PARAMS,
              { ...STP_SHARED, ...(pays ? { quantity } : {}) },
              PENDING_TYPES,
              m,
              engine,
            ),
          ];
      const command: PlaceOto = {
        type: "place_oto",
        ts_ms: 0,
        account: key.account,
        market: m.id,
        list_client_order_id: list_cid,
        working,
        pending: sized(pending[0]),
        pending_below: pair ? sized(pending[1]) : null,
        ...(pays ? { pays: true } : {}),
      };
      const specs = [
        working,
        command.pending,
        ...(command.pending_below === null ? [] : [command.pending_below]),
      ];
      return place_list(command, m, resp_type, list_cid, specs);
    });
  register_oto("/api/v3/orderList/oto", OTO_PARAMS, false, false);
  register_oto("/api/v3/orderList/otoco", OTOCO_PARAMS, true, false);
  register_oto("/api/v3/orderList/opo", OPO_PARAMS, false, true);
  register_oto("/api/v3/orderList/opoco", OPOCO_PARAMS, true, true);

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
      const orders = await pending_orders(engine, history, list);
      const answers = orders
        .filter((o) => engine.orders.by_id.get(o.id) !== 0)
        .map((o) => ctx.cancelled(m, engine.orders.by_id.get(o.id)));
      // the engine cancels it whole if it is still pending when the command applies
      const applied = await submit({
        type: "cancel_order_list",
        ts_ms: 0,
        account,
        market: m.id,
        list_id: list.id,
      });
      const refused = ctx.refusal(applied.events, -2011);
      if (refused !== null) throw refused;
      return {
        ...list_json(
          m.config.symbol,
          {
            id: list.id,
            status: LIST_ALL_DONE,
            client_id: list.client_id,
            time_ms: applied.timestamp_ms,
            contingency: list.contingency,
          },
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
      // both given (Binance): the list with that id, if its list client order id is that one
      if (row === null || (client_id !== null && row.list_client_order_id !== client_id))
        throw bad(-2011, "Order list does not exist.");
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

  route("GET", "/api/v3/openOrderList", SIGNED, async (p, request, raw) => {
    const account = signed("read", p, request, raw).account;
    const lists = [...engine.order_lists.values()]
      .filter((l) => l.account === account)
      .sort((a, b) => a.id - b.id);
    // (what the engine holds now, before any await)
    const orders = lists.map((l) => pending_orders(engine, history, l));
    return Promise.all(
      lists.map(async (l, i) =>
        list_json(
          engine.markets[l.market].config.symbol,
          {
            id: l.id,
            status: LIST_EXECUTING,
            client_id: l.client_id,
            time_ms: l.time_ms,
            contingency: l.contingency,
          },
          await orders[i],
        ),
      ),
    );
  });
}
