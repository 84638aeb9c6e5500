import { add, cmp, fmt, mul } from "../decimal";
import { book, type Level, trades } from "../feed";
import type { MarketInfo } from "../markets";
import { useStore } from "../store";
import { DepthChart } from "./DepthChart";

const ROWS = 12;

/** The book with a depth bar per level (cumulative quantity), best prices next to the spread. */
export function OrderBookView(props: { market: MarketInfo }) {
  const b = useStore(book);
  const last = useStore(trades)[0];
  const m = props.market;
  const asks = b.asks.slice(0, ROWS);
  const bids = b.bids.slice(0, ROWS);
  const cumulative = (levels: Level[]) => {
    let sum = "0";
    return levels.map((l) => {
      sum = add(sum, l.qty);
      return sum;
    });
  };
  const ask_cum = cumulative(asks);
  const bid_cum = cumulative(bids);
  const max = [ask_cum.at(-1) ?? "0", bid_cum.at(-1) ?? "0"].sort(cmp).at(-1) ?? "0";
  const width = (q: string) => (cmp(max, "0") === 0 ? 0 : Math.round((Number(q) / Number(max)) * 100));
  const row = (l: Level, cum: string, side: "ask" | "bid") => (
    <tr key={l.price} className={side} style={{ "--depth": `${width(cum)}%` } as React.CSSProperties}>
      <td className={`num ${side === "ask" ? "down" : "up"}`}>{fmt(l.price, m.price_decimals)}</td>
      <td className="num">{fmt(l.qty, m.qty_decimals)}</td>
      <td className="num muted">{fmt(mul(l.price, l.qty), Math.min(m.quote_decimals, 2))}</td>
    </tr>
  );
  return (
    <>
      <h2>Order book {b.synced ? null : <span className="muted small">(syncing…)</span>}</h2>
      <table className="grid book-table" data-testid="order-book" aria-busy={!b.synced}>
        <thead>
          <tr>
            <th scope="col" className="num">
              Price ({m.quote})
            </th>
            <th scope="col" className="num">
              Amount ({m.base})
            </th>
            <th scope="col" className="num">
              Total
            </th>
          </tr>
        </thead>
        <tbody data-testid="asks">{asks.map((l, i) => row(l, ask_cum[i], "ask")).reverse()}</tbody>
        <tbody>
          <tr className="spread">
            <td colSpan={3} className={last ? (last.buyer_maker ? "down" : "up") : ""}>
              {last ? fmt(last.price, m.price_decimals) : "–"}
            </td>
          </tr>
        </tbody>
        <tbody data-testid="bids">{bids.map((l, i) => row(l, bid_cum[i], "bid"))}</tbody>
      </table>
      <DepthChart bids={b.bids} asks={b.asks} label={`Depth of ${m.symbol}: cumulative bids and asks`} />
    </>
  );
}
