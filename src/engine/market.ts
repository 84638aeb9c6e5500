/** One market's runtime state: configuration, mode, both book sides, stop and trailing orders, id counters. */
import { BookSide, type LevelPool } from "./book.js";
import type { MarketConfig } from "./config.js";
import type { PriceRange } from "./reference.js";
import { StopBook } from "./stops.js";
import { TrailingBook } from "./trailing.js";
import { type MarketStatus, SIDE_BUY, SIDE_SELL } from "./types.js";

export class Market {
  readonly bids: BookSide;
  readonly asks: BookSide;
  readonly stops = new StopBook();
  /** Untriggered trailing stops (their own list: their trigger prices move). */
  readonly trailing = new TrailingBook();
  status: MarketStatus;
  /** Price of the last trade (0 before the first); stop orders trigger on it. */
  last_price_ticks = 0;
  /**
   * The highest and lowest trade prices of the order command being applied (0: no trade yet): plain
   * stop orders trigger on them too (a sweep can pass a stop and end on its other side). Not state:
   * reset by every order command.
   */
  sweep_high_ticks = 0;
  sweep_low_ticks = 0;
  next_trade_id = 1;
  /** Last book update id; every level change takes the next one, so ids are contiguous. */
  book_update_id = 0;
  /** Next id of a prevented self-trade (Binance's preventedMatchId: per symbol, from 0). */
  next_prevented_match_id = 0;
  /**
   * The reference price calculation and PRICE_RANGE execution rule (set_price_range), or null:
   * none, so no rule and the percent price filter against the last price.
   */
  price_range: PriceRange | null = null;

  constructor(
    readonly id: number,
    /** Replaced (never mutated) by set_market_fees; the rest of it is fixed at listing. */
    public config: MarketConfig,
    levels_per_side_max: number,
    pool: LevelPool,
  ) {
    this.status = config.add_market.status;
    this.bids = new BookSide(SIDE_BUY, levels_per_side_max, pool);
    this.asks = new BookSide(SIDE_SELL, levels_per_side_max, pool);
  }
}
