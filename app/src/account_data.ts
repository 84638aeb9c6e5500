/**
 * The logged-in user's orders, trades and balances for the market on screen, read from the Binance
 * REST API with the session. Re-read whenever the user's stream reports something, when the node
 * comes back, and after every order the app places: REST is the truth; the stream only says when
 * to look.
 */
import { binance } from "./api";
import { Store } from "./store";

export interface Order {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  price: string;
  origQty: string;
  executedQty: string;
  cummulativeQuoteQty: string;
  status: string;
  timeInForce: string;
  type: string;
  side: string;
  stopPrice: string;
  time: number;
  updateTime: number;
  origQuoteOrderQty: string;
  /** A pegged order's price taken from the book (Binance's peggedPrice), once known. */
  peggedPrice?: string;
}
export interface MyTrade {
  id: number;
  orderId: number;
  price: string;
  qty: string;
  quoteQty: string;
  commission: string;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}
export interface Balance {
  asset: string;
  free: string;
  locked: string;
}

export interface AccountData {
  symbol: string;
  open: Order[];
  history: Order[];
  trades: MyTrade[];
  balances: Balance[];
  loaded: boolean;
}

export const account_data = new Store<AccountData>({
  symbol: "",
  open: [],
  history: [],
  trades: [],
  balances: [],
  loaded: false,
});

let pending: Promise<void> | null = null;
let again = false;

/** Re-reads everything; calls that arrive while one runs collapse into one more. */
export function refresh_account(symbol: string): Promise<void> {
  if (pending !== null) {
    again = true;
    return pending;
  }
  pending = (async () => {
    try {
      const [open, history, trades, account] = await Promise.all([
        binance<Order[]>("GET", "openOrders", { symbol }),
        binance<Order[]>("GET", "allOrders", { symbol, limit: 100 }),
        binance<MyTrade[]>("GET", "myTrades", { symbol, limit: 100 }),
        binance<{ balances: Balance[] }>("GET", "account", { omitZeroBalances: false }),
      ]);
      account_data.set({
        symbol,
        open: open.sort((a, b) => b.time - a.time),
        history: history.sort((a, b) => b.updateTime - a.updateTime),
        trades: trades.sort((a, b) => b.time - a.time),
        balances: account.balances,
        loaded: true,
      });
    } catch {
      // unreachable or logged out: the banners and the session say so; keep what we had
    }
  })().finally(() => {
    pending = null;
    if (again) {
      again = false;
      void refresh_account(account_data.get().symbol || symbol);
    }
  });
  return pending;
}
