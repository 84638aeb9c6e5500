import { type FormEvent, useCallback, useEffect, useState } from "react";
import { account_data, refresh_account, refresh_transfers } from "../account_data";
import { ApiFailure, type Me, web } from "../api";
import { UserFeed } from "../feed";
import { navigate } from "../router";
import { config, log_out, logged_in, me } from "../session";
import { useStore } from "../store";
import { BalancesTable } from "./BalancesTable";
import { DemoFunds } from "./DemoFunds";
import { Reserves } from "./Reserves";
import { TransfersTable } from "./TransfersTable";
import { Withdraw } from "./Withdraw";

export function AccountPage() {
  const user = useStore(me);
  const cfg = useStore(config);
  const data = useStore(account_data);
  useEffect(() => {
    document.title = "Account · Holdfast";
    void refresh_account("BTCUSDT");
  }, []);
  // read with the session, so once it is known (a page opened directly learns it after mounting),
  // and again on every event of the user's stream (a deposit or withdrawal brings a balanceUpdate)
  const logged = user !== null && user !== undefined;
  useEffect(() => {
    if (!logged) return;
    void refresh_transfers();
    const feed = new UserFeed(() => {
      void refresh_account(account_data.get().symbol || "BTCUSDT");
      void refresh_transfers();
    });
    return () => feed.close();
  }, [logged]);
  if (!user) return null;
  return (
    <div className="account">
      <h1>Your account</h1>
      <p className="muted">
        Logged in as <strong>{user.email}</strong> (account {user.account}).
      </p>
      <section className="card" aria-labelledby="balances-h">
        <h2 id="balances-h">Balances</h2>
        <BalancesTable balances={data.balances} testid="account-balances" />
        {cfg.demo ? <DemoFunds /> : null}
      </section>
      <Withdraw user={user} />
      <section className="card" aria-labelledby="transfers-h">
        <h2 id="transfers-h">Deposits and withdrawals</h2>
        <TransfersTable transfers={data.transfers} />
      </section>
      <Reserves />
      <TwoFactor user={user} />
      <ApiKeys />
      <section className="card" aria-labelledby="sessions-h">
        <h2 id="sessions-h">Sessions</h2>
        <p>Log out on every device and browser where you are logged in, this one included.</p>
        <button
          type="button"
          className="ghost"
          onClick={() => void log_out(true).then(() => navigate("/login"))}
        >
          Log out everywhere
        </button>
      </section>
    </div>
  );
}

interface Enrolment {
  secret: string;
  otpauth_uri: string;
  qr_png: string;
  enrolment: string;
}

function TwoFactor(props: { user: Me }) {
  const [enrolment, set_enrolment] = useState<Enrolment | null>(null);
  const [code, set_code] = useState("");
  const [message, set_message] = useState<{ error: boolean; text: string } | null>(null);
  const start = async () => {
    set_message(null);
    try {
      set_enrolment(await web<Enrolment>("POST", "totp/setup"));
    } catch (error) {
      set_message({ error: true, text: (error as Error).message });
    }
  };
  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    if (!/^[0-9]{6}$/.test(code.trim())) return set_message({ error: true, text: "Enter the 6-digit code." });
    try {
      const path = props.user.totp_enabled ? "totp/disable" : "totp/confirm";
      const body = props.user.totp_enabled
        ? { code: code.trim() }
        : { enrolment: enrolment?.enrolment, code: code.trim() };
      logged_in(await web<Me>("POST", path, body));
      set_enrolment(null);
      set_code("");
      set_message({
        error: false,
        text: props.user.totp_enabled ? "Two-factor login is off." : "Two-factor login is on.",
      });
    } catch (error) {
      set_message({ error: true, text: (error as Error).message });
    }
  };
  return (
    <section className="card" aria-labelledby="totp-h">
      <h2 id="totp-h">Two-factor login</h2>
      <p data-testid="totp-state">
        {props.user.totp_enabled
          ? "On: logging in needs a code from your authenticator app."
          : "Off: add a second step to logging in with an authenticator app (TOTP)."}
      </p>
      {!props.user.totp_enabled && enrolment === null ? (
        <button type="button" onClick={() => void start()}>
          Set up two-factor login
        </button>
      ) : null}
      {enrolment !== null ? (
        <div className="enrol">
          <img
            className="qr"
            src={enrolment.qr_png}
            width={200}
            height={200}
            alt="QR code for your authenticator app"
          />
          <p>
            Scan the code, or type this key into your app:{" "}
            <code data-testid="totp-secret">{enrolment.secret}</code>
          </p>
        </div>
      ) : null}
      {enrolment !== null || props.user.totp_enabled ? (
        <form onSubmit={(e) => void confirm(e)} noValidate>
          <div className="field">
            <label htmlFor="totp-code">
              {props.user.totp_enabled ? "Code to turn it off" : "Code from your app"}
            </label>
            <input
              id="totp-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={6}
              value={code}
              onChange={(e) => set_code(e.target.value)}
            />
          </div>
          <button type="submit">{props.user.totp_enabled ? "Turn off" : "Turn on"}</button>
        </form>
      ) : null}
      {message ? (
        <p role={message.error ? "alert" : "status"} className={message.error ? "form-error" : "ok"}>
          {message.text}
        </p>
      ) : null}
    </section>
  );
}

interface KeyRow {
  apiKey: string;
  type: string;
  trade: boolean;
  ip_allow: string[];
  created_ms: number;
}

function ApiKeys() {
  const [keys, set_keys] = useState<KeyRow[]>([]);
  const [type, set_type] = useState<"HMAC_SHA256" | "ED25519">("HMAC_SHA256");
  const [trade, set_trade] = useState(true);
  const [ips, set_ips] = useState("");
  const [pem, set_pem] = useState("");
  const [created, set_created] = useState<{ apiKey: string; secretKey?: string } | null>(null);
  const [message, set_message] = useState<{ error: boolean; text: string } | null>(null);
  const load = useCallback(async () => {
    try {
      set_keys(await web<KeyRow[]>("GET", "api-keys"));
    } catch {
      // keep the list
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  const create = async (event: FormEvent) => {
    event.preventDefault();
    set_message(null);
    const list = ips
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const bad = list.find((ip) => !/^[0-9a-fA-F:.]{2,45}$/.test(ip));
    if (bad !== undefined)
      return set_message({ error: true, text: `${bad.slice(0, 50)} is not an IP address.` });
    if (list.length > 10) return set_message({ error: true, text: "At most 10 IP addresses." });
    if (type === "ED25519" && !pem.includes("BEGIN PUBLIC KEY"))
      return set_message({
        error: true,
        text: "Paste your Ed25519 public key in PEM form (-----BEGIN PUBLIC KEY-----…).",
      });
    try {
      const body = { type, trade, ip_allow: list, ...(type === "ED25519" ? { public_key: pem.trim() } : {}) };
      set_created(await web<{ apiKey: string; secretKey?: string }>("POST", "api-keys", body));
      set_pem("");
      await load();
    } catch (error) {
      set_message({ error: true, text: error instanceof ApiFailure ? error.message : String(error) });
    }
  };
  const revoke = async (key: string) => {
    try {
      await web("DELETE", `api-keys/${encodeURIComponent(key)}`);
      set_message({ error: false, text: `Revoked ${key.slice(0, 8)}…` });
      if (created?.apiKey === key) set_created(null);
    } catch (error) {
      set_message({ error: true, text: (error as Error).message });
    }
    await load();
  };
  return (
    <section className="card" aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      <p className="muted small">
        For trading bots and tools that speak Binance's Spot API (ccxt, Binance's connectors): point them at
        this exchange's address. Reading is always allowed; trading only if you tick it.
      </p>
      <form onSubmit={(e) => void create(e)} noValidate className="key-form">
        <fieldset>
          <legend>Key type</legend>
          <label>
            <input
              type="radio"
              name="ktype"
              checked={type === "HMAC_SHA256"}
              onChange={() => set_type("HMAC_SHA256")}
            />{" "}
            HMAC (we make the secret)
          </label>
          <label>
            <input
              type="radio"
              name="ktype"
              checked={type === "ED25519"}
              onChange={() => set_type("ED25519")}
            />{" "}
            Ed25519 (you keep the private key)
          </label>
        </fieldset>
        {type === "ED25519" ? (
          <div className="field">
            <label htmlFor="pem">Ed25519 public key (PEM)</label>
            <textarea
              id="pem"
              rows={4}
              maxLength={1024}
              value={pem}
              onChange={(e) => set_pem(e.target.value)}
            />
          </div>
        ) : null}
        <label className="check">
          <input type="checkbox" checked={trade} onChange={(e) => set_trade(e.target.checked)} /> Allow
          trading
        </label>
        <div className="field">
          <label htmlFor="ips">Only from these IP addresses (optional, comma-separated)</label>
          <input id="ips" value={ips} maxLength={500} onChange={(e) => set_ips(e.target.value)} />
        </div>
        <button type="submit">Create key</button>
      </form>
      {created ? (
        <div className="secret-once" role="status" data-testid="new-key">
          <p>
            <strong>Your new key.</strong>{" "}
            {created.secretKey
              ? "Copy the secret now: it is shown only this once."
              : "Sign requests with your private key."}
          </p>
          <p>
            API key: <code data-testid="new-api-key">{created.apiKey}</code>
          </p>
          {created.secretKey ? (
            <p>
              Secret: <code data-testid="new-secret">{created.secretKey}</code>
            </p>
          ) : null}
          <button type="button" className="ghost" onClick={() => set_created(null)}>
            I have saved it
          </button>
        </div>
      ) : null}
      {message ? (
        <p role={message.error ? "alert" : "status"} className={message.error ? "form-error" : "ok"}>
          {message.text}
        </p>
      ) : null}
      <table className="grid" data-testid="api-keys">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Type</th>
            <th scope="col">Can trade</th>
            <th scope="col">IP addresses</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.apiKey} data-api-key={k.apiKey}>
              <td>
                <code>{k.apiKey.slice(0, 12)}…</code>
              </td>
              <td>{k.type === "ED25519" ? "Ed25519" : "HMAC"}</td>
              <td>{k.trade ? "yes" : "no"}</td>
              <td>{k.ip_allow.length === 0 ? "any" : k.ip_allow.join(", ")}</td>
              <td>{new Date(k.created_ms).toLocaleString()}</td>
              <td>
                <button type="button" className="link" onClick={() => void revoke(k.apiKey)}>
                  Revoke<span className="sr-only"> key {k.apiKey.slice(0, 12)}</span>
                </button>
              </td>
            </tr>
          ))}
          {keys.length === 0 ? (
            <tr>
              <td colSpan={6} className="muted">
                No API keys yet.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}
