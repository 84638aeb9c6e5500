import { pct_change } from "../decimal";
import { tickers } from "../feed";
import { markets } from "../markets";
import { useStore } from "../store";
import { Link } from "./Link";
import { Num } from "./Num";

export function MarketList(props: { current: string }) {
  const list = useStore(markets);
  const ticks = useStore(tickers);
  return (
    <>
      <h2>Markets</h2>
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Market</th>
            <th scope="col" className="num">
              Last
            </th>
            <th scope="col" className="num">
              24h
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((m) => {
            const t = ticks.get(m.symbol);
            const change = t ? pct_change(t.open, t.close) : "0.00";
            return (
              <tr key={m.symbol} className={m.symbol === props.current ? "current" : ""}>
                <th scope="row">
                  <Link to={`/trade/${m.symbol}`}>
                    {m.base}/{m.quote}
                  </Link>
                </th>
                <td className="num">
                  <Num value={t?.close} decimals={m.price_decimals} />
                </td>
                <td className={`num ${change.startsWith("+") ? "up" : change.startsWith("-") ? "down" : ""}`}>
                  {change}%
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
