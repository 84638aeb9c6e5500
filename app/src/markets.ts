/** Markets as exchangeInfo describes them, with what the app needs to format and check input. */
import { binance, holdfast } from "./api";
import { step_decimals } from "./decimal";
import { Store } from "./store";

export interface MarketInfo {
  symbol: string;
  base: string;
  quote: string;
  status: string;
  order_types: string[];
  tick_size: string;
  min_price: string;
  max_price: string;
  step_size: string;
  min_qty: string;
  max_qty: string;
  min_notional: string;
  price_decimals: number;
  qty_decimals: number;
  quote_decimals: number;
  base_decimals: number;
}

interface Filter {
  filterType: string;
  [k: string]: unknown;
}

interface RawSymbol {
  symbol: string;
  status: string;
  baseAsset: string;
  quoteAsset: string;
  baseAssetPrecision: number;
  quotePrecision: number;
  orderTypes: string[];
  filters: Filter[];
}

export async function load_markets(): Promise<MarketInfo[]> {
  const info = await binance<{ symbols: RawSymbol[] }>("GET", "exchangeInfo");
  return info.symbols.map((s) => {
    const f = (type: string) => s.filters.find((x) => x.filterType === type) ?? { filterType: type };
    const price = f("PRICE_FILTER") as Filter & { minPrice: string; maxPrice: string; tickSize: string };
    const lot = f("LOT_SIZE") as Filter & { minQty: string; maxQty: string; stepSize: string };
    const notional = f("NOTIONAL") as Filter & { minNotional?: string };
    return {
      symbol: s.symbol,
      base: s.baseAsset,
      quote: s.quoteAsset,
      status: s.status,
      order_types: s.orderTypes,
      tick_size: price.tickSize,
      min_price: price.minPrice,
      max_price: price.maxPrice,
      step_size: lot.stepSize,
      min_qty: lot.minQty,
      max_qty: lot.maxQty,
      min_notional: notional.minNotional ?? "0",
      price_decimals: step_decimals(price.tickSize),
      qty_decimals: step_decimals(lot.stepSize),
      quote_decimals: Math.min(s.quotePrecision, 8),
      base_decimals: Math.min(s.baseAssetPrecision, 8),
    };
  });
}

export const markets = new Store<MarketInfo[]>([]);

export async function refresh_markets(): Promise<void> {
  try {
    markets.set(await load_markets());
  } catch {
    // unreachable: keep the list we have
  }
}

/**
 * What the exchange is doing now, from /holdfast/v1/modes: each market's mode by its real name
 * (exchangeInfo shows a POST_ONLY market as TRADING) and the exchange-wide maintenance switch.
 * Polled while the trading page is open, so that a halt, a cancel-only stage of a reopening or the
 * reopening itself shows without a reload; null until first read.
 */
export interface Modes {
  maintenance: boolean;
  markets: Record<string, string>;
}
export const modes = new Store<Modes | null>(null);

/**
 * How often the trading page reads the modes: one small request (weight 1), skipped while the tab
 * is hidden; a change shows within this long.
 */
export const MODES_EVERY_MS = 5000;

export async function refresh_modes(): Promise<void> {
  if (document.hidden && modes.get() !== null) return;
  let read: { maintenance: boolean; markets: { symbol: string; mode: string }[] };
  try {
    read = await holdfast("modes");
  } catch {
    return; // unreachable: the reconnect logic and the status banner say so
  }
  const next: Modes = {
    maintenance: read.maintenance === true,
    markets: Object.fromEntries(read.markets.map((m) => [m.symbol, m.mode])),
  };
  const before = modes.get();
  modes.set(next);
  // a mode changed: exchangeInfo's status and order types changed with it (POST_ONLY allows
  // LIMIT_MAKER only), so read them again
  if (before !== null && JSON.stringify(before.markets) !== JSON.stringify(next.markets))
    await refresh_markets();
}

/** A market's mode as a trader reads it, or null when it trades normally. */
export function mode_text(
  mode: string | undefined,
  maintenance: boolean,
): { badge: string; says: string } | null {
  if (maintenance)
    return {
      badge: "Maintenance",
      says: "The exchange is in maintenance: no orders or cancels until it ends.",
    };
  switch (mode) {
    case "POST_ONLY":
      return {
        badge: "Post-only",
        says: "Post-only: only orders that rest on the book (the Post-only kind) are accepted.",
      };
    case "CANCEL_ONLY":
      return { badge: "Cancel-only", says: "Cancel-only: no new orders; you can cancel your open orders." };
    case "HALT":
      return { badge: "Halted", says: "Trading is halted: no orders or cancels until it reopens." };
    case "BREAK":
      return { badge: "Closed", says: "This market is closed: no orders or cancels until it opens." };
    default:
      return null;
  }
}
