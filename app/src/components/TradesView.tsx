import { fmt } from "../decimal";
import { trades } from "../feed";
import type { MarketInfo } from "../markets";
import { useStore } from "../store";

const ROWS = 20;

export function TradesView(props: { market: MarketInfo }) {
  const list = useStore(trades).slice(0, ROWS);
  const m = props.market;
  return (
    <>
      <h2>Recent trades</h2>
      <table className="grid" data-testid="recent-trades">
        <thead>
          <tr>
            <th scope="col" className="num">
              Price
            </th>
            <th scope="col" className="num">
              Amount
            </th>
            <th scope="col" className="num">
              Time
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((t) => (
            <tr key={t.id}>
              <td className={`num ${t.buyer_maker ? "down" : "up"}`}>{fmt(t.price, m.price_decimals)}</td>
              <td className="num">{fmt(t.qty, m.qty_decimals)}</td>
              <td className="num muted">{new Date(t.time_ms).toLocaleTimeString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
