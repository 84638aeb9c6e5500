/**
 * `holdfast demo`: runs the engine on a seeded random market for a few seconds and prints what it
 * did. Until the server exists (step 3) this is what `npm start` shows.
 */
import { price_text, quantity_text } from "../engine/config.js";
import { Engine } from "../engine/engine.js";
import { NullSink } from "../engine/events.js";
import { check_invariants } from "../engine/invariants.js";
import { state_hash } from "../engine/snapshot.js";
import { SIDE_BUY, SIDE_SELL, TIF_GTC, TIF_IOC, TYPE_LIMIT } from "../engine/types.js";
import { Prng } from "../sim/prng.js";
import { DEMO_SETUP } from "./markets.js";

export interface DemoOptions {
  seconds: number;
  seed: number;
  accounts: number;
  progress: (line: DemoProgress) => void;
}

export interface DemoProgress {
  elapsed_s: number;
  commands: number;
  trades: number;
  commands_per_s: number;
}

export interface DemoResult {
  commands: number;
  trades: number;
  resting_orders: number;
  state_hash: string;
  invariant_problems: string[];
  top_of_book: { symbol: string; bid: string; bid_qty: string; ask: string; ask_qty: string; last: string }[];
}

export function run_demo(options: DemoOptions): DemoResult {
  const engine = new Engine({ open_orders_per_account_market_max: 1000, open_orders_per_account_max: 2000 });
  for (const cmd of DEMO_SETUP) engine.apply(cmd);
  const rng = new Prng(options.seed);
  // BTCUSDT mid 30,000.00 and ETHUSDT mid 2,000.00, in ticks of 0.01
  const mids = [3_000_000, 200_000];
  for (let a = 0; a < options.accounts; a++) {
    engine.apply({ type: "create_account", ts_ms: 0 });
    engine.apply({ type: "deposit", ts_ms: 0, account: a, asset: 0, amount_units: 100 * 1e8 });
    engine.apply({ type: "deposit", ts_ms: 0, account: a, asset: 1, amount_units: 2_000 * 1e8 });
    engine.apply({ type: "deposit", ts_ms: 0, account: a, asset: 2, amount_units: 10_000_000 * 1e8 });
  }
  const sink = new TradeCounter();
  engine.set_sink(sink);
  const started = Date.now();
  let commands = 0;
  let next_report = started + 1000;
  while (Date.now() - started < options.seconds * 1000) {
    for (let i = 0; i < 1000; i++) {
      const market = rng.below(2);
      // the mid wanders so the book moves
      mids[market] += rng.between(-2, 2);
      const aggressive = rng.chance(0.2);
      const side = rng.chance(0.5) ? SIDE_BUY : SIDE_SELL;
      const offset = aggressive ? -rng.between(1, 10) : rng.between(1, 100);
      const price = side === SIDE_BUY ? mids[market] - offset : mids[market] + offset;
      const account = rng.below(options.accounts);
      if (rng.chance(0.3)) {
        engine.execute({ type: "cancel_all", ts_ms: Date.now(), account, market });
      } else {
        engine.execute({
          type: "place_order",
          ts_ms: Date.now(),
          account,
          market,
          side,
          order_type: TYPE_LIMIT,
          tif: aggressive ? TIF_IOC : TIF_GTC,
          price_ticks: price,
          quantity_lots: rng.between(1, 500) * (market === 0 ? 10 : 100),
          quote_units: 0,
          stop_price_ticks: 0,
          client_order_id: null,
          stp: -1,
        });
      }
      commands++;
    }
    const now = Date.now();
    if (now >= next_report) {
      const elapsed_s = (now - started) / 1000;
      options.progress({
        elapsed_s,
        commands,
        trades: sink.trades,
        commands_per_s: Math.round(commands / elapsed_s),
      });
      next_report += 1000;
    }
  }
  return {
    commands,
    trades: sink.trades,
    resting_orders: engine.orders.live,
    state_hash: state_hash(engine),
    invariant_problems: check_invariants(engine),
    top_of_book: engine.markets.map((m) => {
      const cfg = m.config;
      const level_qty = (level: number) =>
        quantity_text(cfg, level === 0 ? 0 : engine.levels.quantity_lots[level]);
      return {
        symbol: cfg.symbol,
        bid: price_text(cfg, m.bids.best_price()),
        bid_qty: level_qty(m.bids.best_level()),
        ask: price_text(cfg, m.asks.best_price()),
        ask_qty: level_qty(m.asks.best_level()),
        last: price_text(cfg, m.last_price_ticks),
      };
    }),
  };
}

class TradeCounter extends NullSink {
  trades = 0;
  override trade(): void {
    this.trades++;
  }
}
