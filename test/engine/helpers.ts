/** Builders shared by the engine tests: a BTC/USDT market and order commands in engine units. */
import type { Command, OrderSpec, PlaceOrder } from "../../src/engine/commands.js";
import type { EngineLimits } from "../../src/engine/config.js";
import { Engine } from "../../src/engine/engine.js";
import type { EngineEvent } from "../../src/engine/events.js";
import { check_invariants } from "../../src/engine/invariants.js";
import {
  type OrderType,
  SIDE_BUY,
  SIDE_SELL,
  type Side,
  type StpMode,
  TIF_GTC,
  type TimeInForce,
  TYPE_LIMIT,
} from "../../src/engine/types.js";
import { btc_asset, btcusdt, usdt_asset } from "../../src/sim/fixtures.js";

export const BTC = 0;
export const USDT = 1;
export const BTCUSDT = 0;
/** BTCUSDT: tick 0.01 USDT, step 0.00001 BTC; one lot at one tick is 10 USDT units (8 decimals). */
export const K = 10;
export const LOT = 1000; // base units per lot

export function market_commands(maker_fee_ppm = 1000, taker_fee_ppm = 2000): Command[] {
  return [btc_asset(), usdt_asset(), btcusdt({ maker_fee_ppm, taker_fee_ppm })];
}

export interface Fixture {
  engine: Engine;
  /** Applies a command, asserts the invariants, returns the events. */
  run(cmd: Command): EngineEvent[];
  now: number;
}

/** An engine with BTCUSDT and `accounts` accounts, each funded with 10 BTC and 1,000,000 USDT. */
export function fixture(
  accounts = 3,
  limits: Partial<EngineLimits> = {},
  fees: [number, number] = [1000, 2000],
): Fixture {
  const engine = new Engine(limits);
  const f: Fixture = {
    engine,
    now: 1_000,
    run(cmd: Command): EngineEvent[] {
      const events = engine.apply(cmd);
      const problems = check_invariants(engine);
      if (problems.length > 0) throw new Error(`invariants broken after ${cmd.type}: ${problems.join("; ")}`);
      return events;
    },
  };
  for (const c of market_commands(fees[0], fees[1])) f.run(c);
  for (let a = 0; a < accounts; a++) {
    f.run({ type: "create_account", ts_ms: f.now });
    f.run({ type: "deposit", ts_ms: f.now, account: a, asset: BTC, amount_units: 10 * 1e8 });
    f.run({ type: "deposit", ts_ms: f.now, account: a, asset: USDT, amount_units: 1_000_000 * 1e8 });
  }
  return f;
}

export function spec(over: Partial<OrderSpec> = {}): OrderSpec {
  return {
    side: SIDE_BUY,
    order_type: TYPE_LIMIT,
    tif: TIF_GTC,
    price_ticks: 0,
    quantity_lots: 0,
    quote_units: 0,
    stop_price_ticks: 0,
    client_order_id: null,
    stp: -1,
    ...over,
  };
}

export function order(
  account: number,
  side: Side,
  order_type: OrderType,
  price_ticks: number,
  quantity_lots: number,
  over: Partial<OrderSpec> & { ts_ms?: number } = {},
): PlaceOrder {
  const { ts_ms, ...rest } = over;
  return {
    type: "place_order",
    ts_ms: ts_ms ?? 1_000,
    account,
    market: BTCUSDT,
    ...spec({ side, order_type, price_ticks, quantity_lots, ...rest }),
  };
}

export function limit(
  account: number,
  side: Side,
  price_ticks: number,
  quantity_lots: number,
  tif: TimeInForce = TIF_GTC,
  stp: StpMode | -1 = -1,
  client_order_id: string | null = null,
): PlaceOrder {
  return order(account, side, TYPE_LIMIT, price_ticks, quantity_lots, { tif, stp, client_order_id });
}

export function of_kind<K extends EngineEvent["kind"]>(
  events: EngineEvent[],
  kind: K,
): Extract<EngineEvent, { kind: K }>[] {
  return events.filter((e) => e.kind === kind) as Extract<EngineEvent, { kind: K }>[];
}

export function balance(f: Fixture, account: number, asset: number): { free: number; locked: number } {
  return { free: f.engine.ledger.free(account, asset), locked: f.engine.ledger.locked(account, asset) };
}

export function reasons(events: EngineEvent[]): number[] {
  return of_kind(events, "rejected").map((e) => e.reason);
}

export function last_status(events: EngineEvent[], order_id: number): number | undefined {
  const updates = of_kind(events, "order_update").filter((u) => u.order_id === order_id);
  return updates.length === 0 ? undefined : updates[updates.length - 1].status;
}

export function new_id(events: EngineEvent[]): number {
  const n = of_kind(events, "order_new");
  if (n.length === 0) throw new Error(`no order_new in ${JSON.stringify(events)}`);
  return n[0].order_id;
}

/** An order of an order list: GTC unless `over` says otherwise, no client order id, the market's STP mode. */
export function list_leg(
  side: Side,
  order_type: number,
  price_ticks: number,
  stop_price_ticks: number,
  lots: number,
  over: Partial<OrderSpec> = {},
): OrderSpec {
  return spec({
    side,
    order_type: order_type as OrderType,
    price_ticks,
    quantity_lots: lots,
    stop_price_ticks,
    ...over,
  });
}

/** A market whose last price is `price_ticks` (accounts 1 and 2 traded a lot there). */
export function traded_at(price_ticks: number): Fixture {
  const f = fixture();
  f.run(limit(1, SIDE_SELL, price_ticks, 1));
  f.run(limit(2, SIDE_BUY, price_ticks, 1));
  return f;
}
