/**
 * The logged-in user's orders, trades and balances for the market on screen, read from the Binance
 * REST API with the session. Re-read whenever the user's stream reports something, when the node
 * comes back, and after every order the app places: REST is the truth; the stream only says when
 * to look.
 */
import { binance, wallet } from "./api";
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

/** A deposit or a withdrawal, from the wallet's histories (Binance's shapes, reduced to what shows). */
export interface Transfer {
  id: string;
  kind: "deposit" | "withdrawal";
  coin: string;
  amount: string;
  time_ms: number;
  /** A withdrawal's state in words ("Completed", "Awaiting approval"…), its txid and why it waits or failed. */
  status: string;
  txid: string;
  info: string;
}

/** Binance's withdraw history statuses (src/engine/withdrawals.ts). */
const WITHDRAW_STATUS: Record<number, string> = {
  2: "Awaiting approval",
  3: "Rejected",
  4: "Processing",
  5: "Failed",
  6: "Completed",
};

interface DepositRecord {
  id: string;
  coin: string;
  amount: string;
  insertTime: number;
}
interface WithdrawalRecord {
  id: string;
  coin: string;
  amount: string;
  applyTime: string;
  status: number;
  txId: string;
  info: string;
}

export interface AccountData {
  symbol: string;
  open: Order[];
  history: Order[];
  trades: MyTrade[];
  balances: Balance[];
  /** The last 90 days' deposits and withdrawals, newest first. */
  transfers: Transfer[];
  loaded: boolean;
}

export const account_data = new Store<AccountData>({
  symbol: "",
  open: [],
  history: [],
  trades: [],
  balances: [],
  transfers: [],
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
        ...account_data.get(),
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

/** Re-reads the deposits and withdrawals (the account page shows them; the trading page does not). */
const id_number = (id: string): number => Number(id.replace(/^w/, ""));

export async function refresh_transfers(): Promise<void> {
  try {
    const [deposits, withdrawals] = await Promise.all([
      wallet<DepositRecord[]>("capital/deposit/hisrec", { limit: 100 }),
      wallet<WithdrawalRecord[]>("capital/withdraw/history", { limit: 100 }),
    ]);
    const transfers: Transfer[] = [
      ...deposits.map((d) => ({
        id: d.id,
        kind: "deposit" as const,
        coin: d.coin,
        amount: d.amount,
        time_ms: d.insertTime,
        status: "Completed",
        txid: "",
        info: "",
      })),
      ...withdrawals.map((w) => ({
        id: w.id,
        kind: "withdrawal" as const,
        coin: w.coin,
        amount: w.amount,
        // Binance writes a withdrawal's time as "2019-10-12 11:12:02", UTC
        time_ms: Date.parse(`${w.applyTime.replace(" ", "T")}Z`),
        status: WITHDRAW_STATUS[w.status] ?? String(w.status),
        txid: w.txId,
        info: w.info,
      })),
    ];
    account_data.set({
      ...account_data.get(),
      // newest first; ids (sequence numbers; a user's withdrawal's "w" and its number) order those
      // of the same second
      transfers: transfers.sort((a, b) => b.time_ms - a.time_ms || id_number(b.id) - id_number(a.id)),
    });
  } catch {
    // unreachable or logged out: the banners and the session say so; keep what we had
  }
}
