import { type FormEvent, useEffect, useState } from "react";
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
          <Field label="Amount" name="amount" value={amount} set={set_amount} inputMode="decimal" />
          <Field label="Address" name="address" value={address} set={set_address} maxLength={128} />
          <Field
            label="Two-factor code"
            name="code"
            value={code}
            set={set_code}
            inputMode="numeric"
            pattern="[0-9]{6}"
          />
          <button type="submit" disabled={busy}>
            Withdraw
          </button>
        </form>
      )}
      <Message message={message} />
      {props.user.totp_enabled ? <AddressAllowlist /> : null}
    </section>
  );
}

/** GET /web/v1/withdraw-addresses (src/admin/withdrawals.ts allowlist_view). */
interface AllowlistView {
  on: boolean;
  off_ms: number;
  addresses: { address: string; added_ms: number; usable_ms: number }[];
}

/**
 * The account's withdrawal address allow-list: while on, withdrawals go only to listed addresses,
 * each usable a day after it was added; turning it off holds the next day's withdrawals for review.
 * Every change takes a fresh two-factor code.
 */
function AddressAllowlist() {
  const [view, set_view] = useState<AllowlistView | null>(null);
  const [address, set_address] = useState("");
  const [code, set_code] = useState("");
  const [message, set_message] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    web<AllowlistView>("GET", "withdraw-addresses").then(set_view, () => set_view(null));
  }, []);
  const change = async (action: "add" | "remove" | "on" | "off", target = address) => {
    try {
      const body =
        action === "add" || action === "remove" ? { action, address: target, code } : { action, code };
      set_view(await web<AllowlistView>("POST", "withdraw-addresses", body));
      set_message({ ok: true, text: action === "add" ? `Added ${target}: usable in 24 hours.` : "Done." });
      set_code("");
      if (action === "add") set_address("");
    } catch (error) {
      set_message({ ok: false, text: error instanceof ApiFailure ? error.message : String(error) });
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void change("add");
  };
  return (
    <div className="allowlist" data-testid="allowlist">
      <h3>Address allow-list: {view?.on ? "on" : "off"}</h3>
      <p className="muted small">
        While it is on, withdrawals go only to these addresses, each from 24 hours after it was added. Turning
        it off holds the next 24 hours' withdrawals for the exchange's review.
      </p>
      {view !== null && view.addresses.length > 0 ? (
        <ul>
          {view.addresses.map((a) => (
            <li key={a.address} data-address={a.address}>
              <code>{a.address}</code>{" "}
              <span className="muted small">
                {a.usable_ms > Date.now()
                  ? `usable from ${new Date(a.usable_ms).toLocaleString()}`
                  : "usable"}
              </span>{" "}
              <button type="button" className="ghost" onClick={() => void change("remove", a.address)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <form className="withdraw-form" onSubmit={submit}>
        <Field label="New address" name="allow-address" value={address} set={set_address} maxLength={128} />
        <Field
          label="Two-factor code"
          name="allow-code"
          value={code}
          set={set_code}
          inputMode="numeric"
          pattern="[0-9]{6}"
        />
        <button type="submit">Add address</button>
        <button type="button" className="ghost" onClick={() => void change(view?.on ? "off" : "on")}>
          {view?.on ? "Turn allow-list off" : "Turn allow-list on"}
        </button>
      </form>
      <Message message={message} />
    </div>
  );
}

/** A required text field of the form, trimmed as typed. */
function Field(props: {
  label: string;
  name: string;
  value: string;
  set: (v: string) => void;
  inputMode?: "decimal" | "numeric";
  pattern?: string;
  maxLength?: number;
}) {
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        required
        inputMode={props.inputMode}
        pattern={props.pattern}
        maxLength={props.maxLength}
        value={props.value}
        onChange={(e) => props.set(e.target.value.trim())}
      />
    </label>
  );
}

/** What the last action said: done (green) or why not (red). */
function Message(props: { message: { ok: boolean; text: string } | null }) {
  if (props.message === null) return null;
  return (
    <p role="status" className={props.message.ok ? "small ok" : "small form-error"}>
      {props.message.text}
    </p>
  );
}
