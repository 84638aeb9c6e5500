/**
 * Random command streams for property tests and simulations. Everything derives from a seed, so a
 * failing run can be replayed exactly (HOLDFAST_SEED=<seed>).
 */
import fc from "fast-check";
import {
  type Command,
  LISTEN_KEY_CLOSE,
  LISTEN_KEY_KEEP,
  LISTEN_KEY_OPEN,
  type OrderSpec,
} from "../../src/engine/commands.js";
import { MARKET_TRADING, STP_EXPIRE_MAKER } from "../../src/engine/types.js";
import { btc_asset, btcusdt, usdt_asset } from "../../src/sim/fixtures.js";

export const ACCOUNTS = 4;
const MIDS = [2_000_000, 50_000]; // BTCUSDT (ticks of 0.01), ETHBTC (ticks of 0.000001)

/** Assets BTC, USDT, ETH; markets BTCUSDT and ETHBTC (sharing BTC); ACCOUNTS funded accounts. */
export function setup_commands(): Command[] {
  const cmds: Command[] = [
    btc_asset(),
    usdt_asset(),
    { type: "add_asset", ts_ms: 0, asset: "ETH", decimals: 8, supply_max_units: 9_000_000_000_000_000 },
    btcusdt({ taker_fee_ppm: 2500 }),
    {
      type: "add_market",
      ts_ms: 0,
      symbol: "ETHBTC",
      base: "ETH",
      quote: "BTC",
      tick_size: "0.000001",
      step_size: "0.01",
      min_price: "0.000001",
      max_price: "10",
      min_qty: "0.01",
      max_qty: "10000",
      min_notional: "0.00001",
      maker_fee_ppm: 0,
      taker_fee_ppm: 777,
      status: MARKET_TRADING,
      stp_default: STP_EXPIRE_MAKER,
    },
  ];
  for (let a = 0; a < ACCOUNTS; a++) {
    cmds.push({ type: "create_account", ts_ms: 0, request_id: `signup-${a}` });
    cmds.push({ type: "deposit", ts_ms: 0, account: a, asset: 0, amount_units: 5 * 1e8, request_id: null });
    cmds.push({
      type: "deposit",
      ts_ms: 0,
      account: a,
      asset: 1,
      amount_units: 200_000 * 1e8,
      request_id: null,
    });
    cmds.push({
      type: "deposit",
      ts_ms: 0,
      account: a,
      asset: 2,
      amount_units: 50 * 1e8,
      request_id: `funding-${a}`,
    });
  }
  return cmds;
}

const account = fc.integer({ min: 0, max: ACCOUNTS - 1 });
const market = fc.integer({ min: 0, max: 1 });
const cid = fc.option(fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h"), { nil: null });
const order_ref = fc.integer({ min: 1, max: 400 });

/** One random operation; `dt` advances command time (sometimes by more than a day). */
const op = fc.record({
  dt: fc.oneof(
    { weight: 20, arbitrary: fc.constant(0) },
    { weight: 10, arbitrary: fc.integer({ min: 1, max: 60_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 86_000_000, max: 90_000_000 }) },
  ),
  what: fc.oneof(
    {
      weight: 80,
      arbitrary: fc.record({
        kind: fc.constant("place" as const),
        account,
        market,
        side: fc.constantFrom(0 as const, 1 as const),
        type: fc.constantFrom(0, 0, 0, 1, 2, 3, 4, 5, 6) as fc.Arbitrary<0 | 1 | 2 | 3 | 4 | 5 | 6>,
        tif: fc.constantFrom(0 as const, 0 as const, 1 as const, 2 as const),
        offset: fc.integer({ min: -30, max: 30 }),
        stop_offset: fc.integer({ min: -30, max: 30 }),
        lots: fc.integer({ min: 1, max: 400 }),
        by_quote: fc.boolean(),
        stp: fc.constantFrom(
          -1 as const,
          0 as const,
          1 as const,
          2 as const,
          3 as const,
          4 as const,
          5 as const,
        ),
        cid,
        // a stop type's trailing delta (0: none); ETHBTC's prices move enough for the small ones to
        // fire; 9 and 2001 are refused. Half the trailing ones have no stop price.
        trailing_bips: fc.constantFrom(0, 0, 0, 0, 10, 11, 12, 15, 9, 2001),
        trailing_stop: fc.boolean(),
        // an iceberg in about this many parts (0: not an iceberg; 11 is refused, as are icebergs of
        // types without a limit price or not GTC)
        iceberg_parts: fc.constantFrom(0, 0, 0, 0, 0, 2, 3, 5, 10, 11),
        // a peg (0: none; 1 PRIMARY_PEG, 2 MARKET_PEG, 254 refused: what the journal writes for any
        // value refused), with an offset in levels (-1: none; 254 refused), and sometimes no price of
        // its own
        peg: fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 2, 1, 2, 254),
        peg_offset: fc.constantFrom(-1, -1, 0, 1, 2, 254),
        peg_price: fc.boolean(),
      }),
    },
    {
      weight: 16,
      arbitrary: fc.record({
        kind: fc.constant("cancel" as const),
        account,
        market,
        order_ref,
        cid,
        restriction: fc.constantFrom(0, 0, 0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel_all" as const), account, market }) },
    {
      // a list cancel: list ids run at about a quarter of the orders placed
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("cancel_list" as const),
        account,
        market,
        list_ref: fc.integer({ min: 1, max: 120 }),
      }),
    },
    {
      // an OCO: a limit maker and a stop either side of the mid (a sell's maker above, a buy's
      // below; sometimes the wrong way round or too close, which is refused)
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("oco" as const),
        account,
        market,
        side: fc.constantFrom(0 as const, 1 as const),
        maker_offset: fc.integer({ min: 1, max: 30 }),
        stop_offset: fc.integer({ min: 1, max: 30 }),
        stop_limit: fc.boolean(),
        swapped: fc.constantFrom(false, false, false, false, true),
        lots: fc.integer({ min: 1, max: 300 }),
        stp: fc.constantFrom(-1 as const, 2 as const, 4 as const),
        list_cid: cid,
        // the stop a trailing one sometimes (ETHBTC's prices move enough for these to fire)
        trailing_bips: fc.constantFrom(0, 0, 0, 10, 12),
        // the take-profit order: a LIMIT_MAKER (0), TAKE_PROFIT (5) or TAKE_PROFIT_LIMIT (6)
        take_profit: fc.constantFrom(0, 0, 5, 6),
      }),
    },
    {
      // an OTO (a working order, and one pending order placed when it fills) or an OTOCO (a pending
      // OCO pair): the working order near the mid (sometimes crossing, sometimes IOC), the pending
      // order(s) mostly of the other side
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("oto" as const),
        account,
        market,
        side: fc.constantFrom(0 as const, 1 as const),
        working_maker: fc.constantFrom(false, false, true),
        working_offset: fc.integer({ min: -8, max: 8 }),
        working_ioc: fc.constantFrom(false, false, false, true),
        lots: fc.integer({ min: 1, max: 300 }),
        pair: fc.boolean(),
        same_side: fc.constantFrom(false, false, false, true),
        // the single pending order's type (any but by quote amount) and its offset from the mid
        pending_type: fc.constantFrom(0, 0, 1, 2, 3, 4, 5, 6) as fc.Arbitrary<0 | 1 | 2 | 3 | 4 | 5 | 6>,
        pending_offset: fc.integer({ min: -30, max: 30 }),
        maker_offset: fc.integer({ min: 1, max: 30 }),
        stop_offset: fc.integer({ min: 1, max: 30 }),
        take_profit: fc.constantFrom(0, 0, 5, 6),
        stp: fc.constantFrom(-1 as const, 2 as const, 4 as const),
        list_cid: cid,
        // an OPO / OPOCO: the BUY working order's proceeds pay SELL pending orders (no quantity)
        pays: fc.constantFrom(false, false, false, true),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("replace" as const),
        account,
        market,
        order_ref,
        allow: fc.boolean(),
        offset: fc.integer({ min: -30, max: 30 }),
        lots: fc.integer({ min: 1, max: 400 }),
        cid,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("amend" as const),
        account,
        market,
        order_ref,
        // mostly by an order id among the latest given (about two orders in five are accepted, so
        // ids run at 0.25-0.45 of the orders placed so far), sometimes by client order id
        at_percent: fc.integer({ min: 25, max: 45 }),
        cid: fc.oneof(
          { weight: 3, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h") },
        ),
        new_cid: fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h", "x1", "x2"),
        lots: fc.integer({ min: 0, max: 400 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constantFrom("deposit" as const, "withdraw" as const),
        account,
        asset: fc.integer({ min: 0, max: 2 }),
        amount: fc.integer({ min: 1, max: 10_000_000_000 }),
        // A few ids, often repeated: retries that must be applied once.
        request_id: fc.option(fc.constantFrom("tx-1", "tx-2", "tx-3", "tx-4", "tx-5"), { nil: null }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("status" as const),
        market,
        status: fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 2, 3, 4) as fc.Arbitrary<0 | 1 | 2 | 3 | 4>,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("flags" as const),
        maintenance: fc.constantFrom(false, false, false, true),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("expire" as const), market }) },
    {
      // an account's own fees (-1: the market's; both -1 ends them); 100,001 is refused
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("account_fees" as const),
        account,
        maker_fee_ppm: fc.constantFrom(-1, -1, 0, 0, 250, 100_000, 100_001),
        taker_fee_ppm: fc.constantFrom(-1, -1, 0, 500, 3000),
      }),
    },
    {
      // a user data stream's key: opened, kept alive or closed (a stale nonce is refused), for a
      // while (0 and above a day are refused)
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("listen_key" as const),
        account,
        action: fc.constantFrom(LISTEN_KEY_OPEN, LISTEN_KEY_OPEN, LISTEN_KEY_KEEP, LISTEN_KEY_CLOSE),
        nonce: fc.constantFrom(0, 1, 1, 2, 3),
        ttl_ms: fc.constantFrom(0, 50, 1000, 60_000, 86_400_001),
      }),
    },
    {
      // an operator's change of a settable limit (open orders per account and market, the percent
      // price band's top for buys); 0 and a band top under 1× are refused
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("set_limit" as const),
        limit: fc.constantFrom(0, 0, 6, 10),
        value: fc.constantFrom(0, 1, 2, 50, 200, 999_999, 3_000_000),
      }),
    },
    {
      // a user's withdrawal: locks its amount (refused: unknown asset 9, 0 or fractional units,
      // over the balance or the daily maximum, an empty address, a withdrawOrderId taken)
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("withdraw_request" as const),
        account,
        asset: fc.constantFrom(0, 1, 2, 9),
        amount_units: fc.constantFrom(1, 50_000_000, 100_000_000, 600_000_000, 0, 0.5),
        address: fc.constantFrom("bc1qexample", "0xabc", ""),
        client_id: fc.constantFrom("", "", "w1", "w2"),
      }),
    },
    {
      // an operator's review or the payout's outcome of withdrawal 1..6 (refused unless it waits
      // in that stage: review of AWAITING_APPROVAL, result of PROCESSING)
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constantFrom("withdraw_review" as const, "withdraw_result" as const),
        id: fc.integer({ min: 1, max: 6 }),
        yes: fc.boolean(),
      }),
    },
    {
      // an account's address allow-list: add or remove an address (or "", refused), on, off, 7 (refused)
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("withdraw_allowlist" as const),
        account,
        action: fc.constantFrom(0, 0, 1, 2, 3, 7),
        address: fc.constantFrom("bc1qexample", "0xabc", ""),
      }),
    },
    {
      // an asset's safeguards: review from 1 BTC (or every one), a daily maximum
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("withdraw_policy" as const),
        asset: fc.constantFrom(0, 1, 2, 9),
        review_min_units: fc.constantFrom(0, 100_000_000, -1),
        daily_max_units: fc.constantFrom(0, 200_000_000, 9_000_000_000_000),
      }),
    },
    {
      // a proof-of-reserves audit: changes nothing; refused for an unknown asset (9), a negative
      // or fractional amount, or an asset named twice
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("reserves_audit" as const),
        reserves: fc.array(
          fc.record({
            asset: fc.constantFrom(0, 1, 2, 9),
            units: fc.constantFrom(0, 1, 5_000_000_000, -1, 0.5),
          }),
          { maxLength: 3 },
        ),
      }),
    },
    {
      // new fees for later fills; 100,001 ppm is refused (above 10%)
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("fees" as const),
        market,
        maker_fee_ppm: fc.constantFrom(0, 0, 500, 1000, 100_000, 100_001),
        taker_fee_ppm: fc.constantFrom(0, 777, 1000, 2500, 99_999),
      }),
    },
    {
      // the reference price and PRICE_RANGE rule (reference.ts); multipliers close to 1, so that
      // ETHBTC's takers (mid 50,000 ticks: 1.0001 is 5 ticks) meet them; some refused
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("range" as const),
        market,
        bucket_count: fc.constantFrom(0, 1, 3, 80, 80, 80, 80, 1001),
        bucket_width_ms: fc.constantFrom(1, 100, 3750, 3750, 3750, 60_000),
        bid_up_e4: fc.constantFrom(0, 10_001, 10_001, 10_002, 10_005, 10_005, 10_005, 9_000),
        bid_down_e4: fc.constantFrom(0, 9_999, 9_998, 9_995, 9_995, 9_995, 9_995, 10_001),
        ask_up_e4: fc.constantFrom(0, 10_001, 10_003, 10_010),
        ask_down_e4: fc.constantFrom(0, 9_999, 9_997, 9_990),
      }),
    },
  ),
});

export type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

export function ops(min: number, max: number): fc.Arbitrary<Op[]> {
  return fc.array(op, { minLength: min, maxLength: max, size: "max" });
}

/** Turns abstract operations into commands with increasing timestamps. */
/**
 * An OCO pair about the mid: its take-profit order (`take_profit`: a LIMIT_MAKER, or a TAKE_PROFIT(_LIMIT)
 * stop) `maker_offset` away on the side `up` says (1: above), its stop-loss order the other side.
 */
function oco_pair(
  what: {
    side: 0 | 1;
    stp: -1 | 2 | 4;
    maker_offset: number;
    stop_offset: number;
    stop_limit: boolean;
    trailing_bips: number;
    take_profit: number;
  },
  mid: number,
  up: number,
  lots: number,
): [OrderSpec, OrderSpec] {
  const leg = {
    side: what.side,
    tif: 0 as const,
    quantity_lots: lots,
    quote_units: 0,
    client_order_id: null,
    stp: what.stp,
  };
  const maker_price = mid + up * what.maker_offset;
  const stop_price = mid - up * what.stop_offset;
  const tp = what.take_profit as 0 | 5 | 6;
  const maker: OrderSpec =
    tp === 0
      ? { ...leg, order_type: 2, price_ticks: maker_price, stop_price_ticks: 0 }
      : { ...leg, order_type: tp, price_ticks: tp === 6 ? maker_price : 0, stop_price_ticks: maker_price };
  const stop: OrderSpec = {
    ...leg,
    order_type: what.stop_limit ? 4 : 3,
    price_ticks: what.stop_limit ? stop_price - up * 2 : 0,
    stop_price_ticks: stop_price,
    ...(what.trailing_bips === 0 ? {} : { trailing_delta_bips: what.trailing_bips }),
  };
  return [maker, stop];
}

export function to_commands(list: Op[]): Command[] {
  let t = 1_000;
  const out: Command[] = [];
  /** Orders placed so far (an upper bound on the ids given: some are refused). */
  let placed = 0;
  for (const { dt, what } of list) {
    t += dt;
    switch (what.kind) {
      case "place": {
        placed++;
        const mid = MIDS[what.market];
        const by_quote = what.type === 1 && what.by_quote;
        const price_type = what.type === 0 || what.type === 2 || what.type === 4 || what.type === 6;
        const trailing = what.type >= 3 && what.trailing_bips !== 0;
        const trailing_alone = trailing && !what.trailing_stop;
        out.push({
          type: "place_order",
          ts_ms: t,
          account: what.account,
          market: what.market,
          side: what.side,
          order_type: what.type,
          tif: what.type === 0 || what.type === 4 || what.type === 6 ? what.tif : 0,
          price_ticks: price_type ? mid + what.offset : 0,
          quantity_lots: by_quote ? 0 : what.lots,
          quote_units: by_quote ? what.lots * mid * (what.market === 0 ? 10 : 1) : 0,
          stop_price_ticks: what.type >= 3 && !trailing_alone ? mid + what.stop_offset : 0,
          client_order_id: what.cid,
          stp: what.stp,
          ...(trailing ? { trailing_delta_bips: what.trailing_bips } : {}),
          ...(what.iceberg_parts === 0 || by_quote
            ? {}
            : { iceberg_lots: Math.max(1, Math.floor(what.lots / what.iceberg_parts)) }),
          ...(what.peg === 0 ? {} : { peg_type: what.peg }),
          ...(what.peg === 0 || what.peg_offset === -1 ? {} : { peg_offset_levels: what.peg_offset }),
        });
        // a pegged order may come without a price of its own
        const placed_order = out[out.length - 1] as { price_ticks: number };
        if (what.peg !== 0 && !what.peg_price) placed_order.price_ticks = 0;
        break;
      }
      case "cancel":
        out.push({
          type: "cancel_order",
          ts_ms: t,
          account: what.account,
          market: what.market,
          order_id: what.cid === null ? what.order_ref : 0,
          client_order_id: what.cid,
          ...(what.restriction === 0 ? {} : { restriction: what.restriction }),
        });
        break;
      case "cancel_all":
        out.push({ type: "cancel_all", ts_ms: t, account: what.account, market: what.market });
        break;
      case "cancel_list":
        out.push({
          type: "cancel_order_list",
          ts_ms: t,
          account: what.account,
          market: what.market,
          list_id: what.list_ref,
        });
        break;
      case "oco": {
        placed += 2;
        const mid = MIDS[what.market];
        // a sell's maker above the mid and its stop below; a buy's the other way round
        const up = (what.side === 1) !== what.swapped ? 1 : -1;
        const [maker, stop] = oco_pair(what, mid, up, what.lots);
        out.push({
          type: "place_order_list",
          ts_ms: t,
          account: what.account,
          market: what.market,
          list_client_order_id: what.list_cid,
          above: up === 1 ? maker : stop,
          below: up === 1 ? stop : maker,
        });
        break;
      }
      case "oto": {
        placed += what.pair ? 3 : 2;
        const mid = MIDS[what.market];
        const pays = what.pays;
        const working_side = pays ? 0 : what.side;
        const working: OrderSpec = {
          side: working_side,
          order_type: what.working_maker ? 2 : 0,
          tif: what.working_ioc && !what.working_maker ? 1 : 0,
          price_ticks: mid + (working_side === 0 ? -1 : 1) * what.working_offset,
          quantity_lots: what.lots,
          quote_units: 0,
          stop_price_ticks: 0,
          client_order_id: null,
          stp: what.stp,
        };
        const side = (pays ? 1 : what.same_side ? what.side : 1 - what.side) as 0 | 1;
        /** An OPO's pending orders come without a quantity. */
        const sized = (spec: OrderSpec): OrderSpec => (pays ? { ...spec, quantity_lots: 0 } : spec);
        const command = {
          type: "place_oto" as const,
          ts_ms: t,
          account: what.account,
          market: what.market,
          list_client_order_id: what.list_cid,
          working,
          ...(pays ? { pays: true } : {}),
        };
        if (what.pair) {
          const up = side === 1 ? 1 : -1;
          const [maker, stop] = oco_pair(
            { ...what, side, stop_limit: true, trailing_bips: 0 },
            mid,
            up,
            what.lots,
          );
          out.push({
            ...command,
            pending: sized(up === 1 ? maker : stop),
            pending_below: sized(up === 1 ? stop : maker),
          });
        } else {
          const type = what.pending_type;
          out.push({
            ...command,
            pending: sized({
              side,
              order_type: type,
              tif: type === 0 ? ((what.lots % 3) as 0 | 1 | 2) : 0,
              price_ticks: type === 1 || type === 3 || type === 5 ? 0 : mid + what.pending_offset,
              quantity_lots: what.lots,
              quote_units: 0,
              stop_price_ticks: type >= 3 ? mid + what.pending_offset + (what.lots % 2 === 0 ? 1 : -1) : 0,
              client_order_id: null,
              stp: what.stp,
            }),
            pending_below: null,
          });
        }
        break;
      }
      case "amend":
        out.push({
          type: "amend_order",
          ts_ms: t,
          account: what.account,
          market: what.market,
          order_id: what.cid === null ? Math.max(1, Math.round((placed * what.at_percent) / 100)) : 0,
          client_order_id: what.cid,
          new_client_order_id: what.new_cid,
          new_quantity_lots: what.lots,
        });
        break;
      case "replace":
        out.push({
          type: "cancel_replace",
          ts_ms: t,
          account: what.account,
          market: what.market,
          cancel_order_id: what.order_ref,
          cancel_client_order_id: null,
          allow_failure: what.allow,
          order: {
            side: 0,
            order_type: 0,
            tif: 0,
            price_ticks: MIDS[what.market] + what.offset,
            quantity_lots: what.lots,
            quote_units: 0,
            stop_price_ticks: 0,
            client_order_id: what.cid,
            stp: -1,
          },
        });
        break;
      case "deposit":
      case "withdraw":
        out.push({
          type: what.kind,
          ts_ms: t,
          account: what.account,
          asset: what.asset,
          amount_units: what.amount,
          request_id: what.request_id,
        });
        break;
      case "status":
        out.push({ type: "set_market_status", ts_ms: t, market: what.market, status: what.status });
        break;
      case "flags":
        out.push({
          type: "set_exchange_flags",
          ts_ms: t,
          maintenance: what.maintenance,
          deposits_paused: false,
          withdrawals_paused: false,
        });
        break;
      case "expire":
        out.push({ type: "expire_market_orders", ts_ms: t, market: what.market });
        break;
      case "account_fees":
        out.push({
          type: "set_account_fees",
          ts_ms: t,
          account: what.account,
          maker_fee_ppm: what.maker_fee_ppm,
          taker_fee_ppm: what.taker_fee_ppm,
        });
        break;
      case "set_limit":
        out.push({ type: "set_limit", ts_ms: t, limit: what.limit, value: what.value });
        break;
      case "withdraw_request":
        out.push({
          type: "withdraw_request",
          ts_ms: t,
          account: what.account,
          asset: what.asset,
          amount_units: what.amount_units,
          address: what.address,
          address_tag: "",
          network: "",
          client_id: what.client_id,
        });
        break;
      case "withdraw_review":
        out.push({ type: "withdraw_review", ts_ms: t, id: what.id, approve: what.yes });
        break;
      case "withdraw_result":
        out.push({
          type: "withdraw_result",
          ts_ms: t,
          id: what.id,
          ok: what.yes,
          note: what.yes ? "tx1" : "",
        });
        break;
      case "withdraw_allowlist":
        out.push({
          type: "withdraw_allowlist",
          ts_ms: t,
          account: what.account,
          action: what.action,
          address: what.address,
        });
        break;
      case "withdraw_policy":
        out.push({
          type: "withdraw_policy",
          ts_ms: t,
          asset: what.asset,
          review_min_units: what.review_min_units,
          daily_max_units: what.daily_max_units,
        });
        break;
      case "reserves_audit":
        // plain objects (fast-check's records have no prototype; a decoded command's do)
        out.push({
          type: "reserves_audit",
          ts_ms: t,
          reserves: what.reserves.map((r) => ({ asset: r.asset, units: r.units })),
        });
        break;
      case "listen_key":
        out.push({
          type: "listen_key",
          ts_ms: t,
          account: what.account,
          action: what.action,
          nonce: what.nonce,
          ttl_ms: what.ttl_ms,
        });
        break;
      case "fees":
        out.push({
          type: "set_market_fees",
          ts_ms: t,
          market: what.market,
          maker_fee_ppm: what.maker_fee_ppm,
          taker_fee_ppm: what.taker_fee_ppm,
        });
        break;
      case "range": {
        const { kind: _kind, ...rest } = what;
        out.push({ type: "set_price_range", ts_ms: t, ...rest });
        break;
      }
    }
  }
  return out;
}

/** Seed from HOLDFAST_SEED when replaying a failure, else a fixed default so CI is repeatable. */
export function seed(): number {
  const env = process.env.HOLDFAST_SEED;
  return env === undefined ? 20261126 : Number(env);
}
