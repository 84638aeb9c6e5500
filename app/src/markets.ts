/** Markets as exchangeInfo describes them, with what the app needs to format and check input. */
import { binance } from "./api";
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
