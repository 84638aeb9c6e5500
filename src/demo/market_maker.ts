/**
 * The demo's market maker, so the app and the clients see a live exchange: every tick (a second, or
 * at once when a market's side has been emptied) it requotes a
 * ladder of bids and asks around a wandering mid in each market (cancel_all + new orders, one
 * journal append), and now and then a second account takes a little liquidity so trades happen and
 * candles move. It trades from its own accounts, funded at start; they are not in the demo
 * credentials. Randomness lives here, outside the engine: the engine only sees ordinary commands.
 */
import type { Command } from "../engine/commands.js";
import { MARKET_TRADING, SIDE_BUY, SIDE_SELL, TIF_GTC, TIF_IOC } from "../engine/types.js";
import type { ExchangeNode } from "../node/exchange_node.js";
import { limit_order } from "../sim/fixtures.js";
import { Prng } from "../sim/prng.js";
import { DEMO_MIDS_TICKS } from "./markets.js";

const LEVELS = 5;
const TICK_MS = 1000;
/**
 * How often it looks for a market with an empty side: a bot that sells in a loop can take every bid
 * between two ticks, and a book with one side is no book to trade against; it then requotes at once.
 */
const CHECK_MS = 100;
/** The soonest it requotes again for an emptied side (each requote is a journal append). */
const EARLY_MS = 250;

export interface MarketMaker {
  stop(): Promise<void>;
}

export function start_market_maker(
  node: Pick<ExchangeNode, "engine" | "submit_batch">,
  maker_account: number,
  taker_account: number,
  log: (line: string) => void,
  seed = Date.now(),
): MarketMaker {
  const e = node.engine;
  const rng = new Prng(seed % 2 ** 31);
  const mids = e.markets.map((m) => m.last_price_ticks || DEMO_MIDS_TICKS[m.config.symbol] || 0);
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const tick = async (): Promise<void> => {
    const commands: Command[] = [];
    for (const m of e.markets) {
      const mid = mids[m.id];
      if (mid <= 0) continue;
      const cfg = m.config;
      // wander by up to 0.05% a tick, stay inside the price filter
      const step = Math.max(1, Math.round(mid / 2000));
      mids[m.id] = Math.min(
        cfg.max_price_ticks / 2,
        Math.max(cfg.min_price_ticks * 100, mid + rng.between(-step, step)),
      );
      commands.push({ type: "cancel_all", ts_ms: 0, account: maker_account, market: m.id });
      // notional of each quote: about 20× the minimum, in lots
      const lots = Math.max(
        cfg.min_qty_lots,
        Math.ceil((cfg.min_notional_units * 20) / (mids[m.id] * cfg.quote_units_per_tick_lot)),
      );
      for (let i = 1; i <= LEVELS; i++) {
        for (const side of [SIDE_BUY, SIDE_SELL] as const) {
          const price = side === SIDE_BUY ? mids[m.id] - i * step : mids[m.id] + i * step;
          commands.push(limit_order(maker_account, m.id, side, price, lots * rng.between(1, 3), TIF_GTC));
        }
      }
      if (rng.chance(0.5)) {
        const side = rng.chance(0.5) ? SIDE_BUY : SIDE_SELL;
        const price = side === SIDE_BUY ? mids[m.id] + 2 * step : mids[m.id] - 2 * step;
        commands.push(limit_order(taker_account, m.id, side, price, lots, TIF_IOC));
      }
    }
    if (commands.length > 0) await node.submit_batch(commands);
  };

  // The same failure every tick (order entry paused for a while) is logged once, then its end.
  let last_error: string | null = null;
  let last_tick_ms = 0;
  let busy = false;
  // only a trading market: one in BREAK or HALT refuses the quotes, and would be requoted for ever
  const one_sided = () =>
    e.markets.some(
      (m) => m.status === MARKET_TRADING && mids[m.id] > 0 && (m.bids.count === 0 || m.asks.count === 0),
    );
  const timer = setInterval(() => {
    if (stopped || busy) return;
    const now = Date.now();
    const due = now - last_tick_ms >= TICK_MS;
    // early only while quoting works (not while order entry is paused)
    if (!due && !(last_error === null && now - last_tick_ms >= EARLY_MS && one_sided())) return;
    last_tick_ms = now;
    busy = true;
    running = running
      .then(tick)
      .then(
        () => {
          if (last_error !== null) log("demo: market maker: quoting again");
          last_error = null;
        },
        (error: unknown) => {
          if (String(error) !== last_error) log(`demo: market maker: ${String(error)}`);
          last_error = String(error);
        },
      )
      .finally(() => {
        busy = false;
      });
  }, CHECK_MS);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
