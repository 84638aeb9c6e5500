import { type FormEvent, useState } from "react";
import { account_data, refresh_account, refresh_transfers } from "../account_data";
import { ApiFailure, type Me, web } from "../api";
import { useStore } from "../store";

/**
 * Asking for a withdrawal from the web app: two-factor login must be on and a fresh code given
 * (POST /web/v1/withdraw, src/web/routes.ts); the exchange's safeguards may hold it for review. Its
 * progress shows in the deposits and withdrawals table.
 */
export function Withdraw(props: { user: Me }) {
  const data = useStore(account_data);
  const assets = data.balances.map((b) => b.asset);
  const [coin, set_coin] = useState("");
  const [amount, set_amount] = useState("");
  const [address, set_address] = useState("");
  const [code, set_code] = useState("");
  const [message, set_message] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, set_busy] = useState(false);
  const chosen = coin || assets[0] || "";
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    set_busy(true);
    try {
      const r = await web<{ id: string }>("POST", "withdraw", { coin: chosen, amount, address, code });
      set_message({ ok: true, text: `Withdrawal ${r.id} requested. Its status is below.` });
      set_amount("");
      set_code("");
      await Promise.all([refresh_transfers(), refresh_account(data.symbol || "BTCUSDT")]);
    } catch (error) {
      set_message({ ok: false, text: error instanceof ApiFailure ? error.message : String(error) });
    } finally {
      set_busy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="withdraw-h">
      <h2 id="withdraw-h">Withdraw</h2>
      {!props.user.totp_enabled ? (
        <p className="muted" data-testid="withdraw-needs-totp">
          Turn on two-factor login below to withdraw from here. Large withdrawals, and any within a day of a
          new withdrawal key, wait for the exchange's review; the amount stays locked meanwhile.
        </p>
      ) : (
        <form className="withdraw-form" onSubmit={(e) => void submit(e)} data-testid="withdraw-form">
          <label>
            Asset
            <select value={chosen} onChange={(e) => set_coin(e.target.value)} name="coin">
              {assets.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label>
            Amount
            <input
              name="amount"
              inputMode="decimal"
              required
              value={amount}
              onChange={(e) => set_amount(e.target.value.trim())}
            />
          </label>
          <label>
            Address
            <input
              name="address"
              required
              maxLength={128}
              value={address}
              onChange={(e) => set_address(e.target.value.trim())}
            />
          </label>
          <label>
            Two-factor code
            <input
              name="code"
              inputMode="numeric"
              pattern="[0-9]{6}"
              required
              value={code}
              onChange={(e) => set_code(e.target.value.trim())}
            />
          </label>
          <button type="submit" disabled={busy}>
            Withdraw
          </button>
        </form>
      )}
      {message !== null ? (
        <p role="status" className={message.ok ? "small ok" : "small form-error"}>
          {message.text}
        </p>
      ) : null}
    </section>
  );
}
