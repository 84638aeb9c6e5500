import type { Balance } from "../account_data";
import { fmt } from "../decimal";

/** Free and locked per asset, to the smallest unit (8 decimals). */
export function BalancesTable(props: { balances: Balance[]; testid: string }) {
  return (
    <table className="grid" data-testid={props.testid}>
      <thead>
        <tr>
          <th scope="col">Asset</th>
          <th scope="col" className="num">
            Available
          </th>
          <th scope="col" className="num">
            In orders
          </th>
        </tr>
      </thead>
      <tbody>
        {props.balances.map((b) => (
          <tr key={b.asset} data-asset={b.asset}>
            <th scope="row">{b.asset}</th>
            <td className="num">{fmt(b.free, 8)}</td>
            <td className="num">{fmt(b.locked, 8)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
