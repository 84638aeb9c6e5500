import type { Transfer } from "../account_data";
import { fmt } from "../decimal";

/** The account's deposits and withdrawals of the last 90 days, newest first, to the smallest unit, with each withdrawal's status. */
export function TransfersTable(props: { transfers: Transfer[] }) {
  if (props.transfers.length === 0)
    return (
      <p className="muted" data-testid="transfers">
        No deposits or withdrawals in the last 90 days.
      </p>
    );
  return (
    <table className="grid" data-testid="transfers">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Type</th>
          <th scope="col">Asset</th>
          <th scope="col" className="num">
            Amount
          </th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {props.transfers.map((t) => (
          <tr key={`${t.kind}-${t.id}`} data-kind={t.kind} data-id={t.id}>
            <td>{new Date(t.time_ms).toLocaleString()}</td>
            <td>{t.kind === "deposit" ? "Deposit" : "Withdrawal"}</td>
            <th scope="row">{t.coin}</th>
            <td className="num">
              {t.kind === "deposit" ? "+" : "−"}
              {fmt(t.amount, 8)}
            </td>
            <td className="small" title={t.info || undefined}>
              {t.status}
              {t.txid ? <span className="muted"> · tx {t.txid}</span> : null}
              {t.info ? <div className="muted">{t.info}</div> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
