import { useState } from "react";
import { account_data, type Order, refresh_account } from "../account_data";
import { binance } from "../api";
import { cmp, fmt } from "../decimal";
import type { MarketInfo } from "../markets";
import { me } from "../session";
import { useStore } from "../store";
import { BalancesTable } from "./BalancesTable";

type Tab = "open" | "history" | "trades" | "balances";
const TABS: [Tab, string][] = [
  ["open", "Open orders"],
  ["history", "Order history"],
  ["trades", "Trade history"],
  ["balances", "Balances"],
];

const nice = (s: string) => s.replace(/_/g, " ").toLowerCase();

export function MyOrders(props: { market: MarketInfo }) {
  const m = props.market;
  const user = useStore(me);
  const data = useStore(account_data);
  const [tab, set_tab] = useState<Tab>("open");
  const [message, set_message] = useState("");
  if (!user) return null;

  const cancel = async (o: Order) => {
    set_message("");
    try {
      await binance("DELETE", "order", { symbol: m.symbol, orderId: o.orderId });
      set_message(`Cancelled order ${o.orderId}.`);
    } catch (error) {
      set_message(`Could not cancel order ${o.orderId}: ${(error as Error).message}`);
    }
    await refresh_account(m.symbol);
  };
  const cancel_all = async () => {
    try {
      await binance("DELETE", "openOrders", { symbol: m.symbol });
      set_message(`Cancelled every open ${m.symbol} order.`);
    } catch (error) {
      set_message((error as Error).message);
    }
    await refresh_account(m.symbol);
  };
  // a pegged order (placed by an API client) shows the price the book gave it
  const price = (o: Order) =>
    o.peggedPrice !== undefined
      ? fmt(o.peggedPrice, m.price_decimals)
      : cmp(o.price, "0") === 0
        ? "market"
        : fmt(o.price, m.price_decimals);
  const order_cells = (o: Order) => (
    <>
      <td>{new Date(o.time).toLocaleString()}</td>
      <td>{nice(o.type)}</td>
      <td className={o.side === "BUY" ? "up" : "down"}>{o.side === "BUY" ? "Buy" : "Sell"}</td>
      <td className="num">{price(o)}</td>
      <td className="num">{cmp(o.stopPrice, "0") === 0 ? "–" : fmt(o.stopPrice, m.price_decimals)}</td>
      <td className="num">{cmp(o.origQty, "0") === 0 ? "–" : fmt(o.origQty, m.qty_decimals)}</td>
      <td className="num">{fmt(o.executedQty, m.qty_decimals)}</td>
    </>
  );
  const order_head = (
    <>
      <th scope="col">Time</th>
      <th scope="col">Type</th>
      <th scope="col">Side</th>
      <th scope="col" className="num">
        Price
      </th>
      <th scope="col" className="num">
        Stop
      </th>
      <th scope="col" className="num">
        Amount
      </th>
      <th scope="col" className="num">
        Filled
      </th>
    </>
  );

  return (
    <>
      <div className="tabs" role="tablist" aria-label="Your account">
        {TABS.map(([t, label]) => (
          <button
            type="button"
            role="tab"
            key={t}
            id={`tab-${t}`}
            aria-selected={t === tab}
            aria-controls={`panel-${t}`}
            className={t === tab ? "on" : ""}
            onClick={() => set_tab(t)}
          >
            {label}
            {t === "open" && data.open.length > 0 ? ` (${data.open.length})` : ""}
          </button>
        ))}
      </div>
      <p role="status" className="small">
        {message}
      </p>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="scroll">
        {tab === "open" ? (
          <table className="grid" data-testid="open-orders">
            <thead>
              <tr>
                {order_head}
                <th scope="col">
                  {data.open.length > 0 ? (
                    <button type="button" className="link" onClick={() => void cancel_all()}>
                      Cancel all
                    </button>
                  ) : null}
                </th>
              </tr>
            </thead>
            <tbody>
              {data.open.map((o) => (
                <tr key={o.orderId} data-client-order-id={o.clientOrderId}>
                  {order_cells(o)}
                  <td>
                    <button type="button" className="link" onClick={() => void cancel(o)}>
                      Cancel<span className="sr-only"> order {o.orderId}</span>
                    </button>
                  </td>
                </tr>
              ))}
              {data.open.length === 0 ? (
                <tr>
                  <td colSpan={8} className="muted">
                    No open orders in {m.symbol}.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        ) : tab === "history" ? (
          <table className="grid" data-testid="order-history">
            <thead>
              <tr>
                {order_head}
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {data.history.map((o) => (
                <tr key={o.orderId}>
                  {order_cells(o)}
                  <td>{nice(o.status)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : tab === "trades" ? (
          <table className="grid" data-testid="trade-history">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Side</th>
                <th scope="col" className="num">
                  Price
                </th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col" className="num">
                  Fee
                </th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {data.trades.map((t) => (
                <tr key={t.id}>
                  <td>{new Date(t.time).toLocaleString()}</td>
                  <td className={t.isBuyer ? "up" : "down"}>{t.isBuyer ? "Buy" : "Sell"}</td>
                  <td className="num">{fmt(t.price, m.price_decimals)}</td>
                  <td className="num">{fmt(t.qty, m.qty_decimals)}</td>
                  <td className="num">
                    {fmt(t.commission, 8)} {t.commissionAsset}
                  </td>
                  <td>{t.isMaker ? "maker" : "taker"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <BalancesTable balances={data.balances} testid="balances" />
        )}
      </div>
    </>
  );
}
