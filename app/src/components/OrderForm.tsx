/**
 * Order entry for every order type of the engine: limit (GTC/IOC/FOK), market by amount or by
 * total, post-only (LIMIT_MAKER), stop-limit and stop-market (STOP_LOSS[_LIMIT] or
 * TAKE_PROFIT[_LIMIT], chosen from where the stop sits against the last price, as Binance's own
 * app does). Plain form controls: every field has a label, Tab moves through them, Enter submits.
 */
import { type FormEvent, useId, useState } from "react";
import { account_data, refresh_account } from "../account_data";
import { cmp, fmt, mul } from "../decimal";
import { trades } from "../feed";
import { type MarketInfo, mode_text, modes } from "../markets";
import { notices, type OrderRequest, place_order } from "../orders";
import { config, me } from "../session";
import { useStore } from "../store";
import { type Check, check_notional, check_price, check_qty, check_total } from "../validate";
import { DemoFunds } from "./DemoFunds";
import { Link } from "./Link";

type Kind = "limit" | "market" | "post_only" | "stop_limit" | "stop_market";
const KINDS: [Kind, string][] = [
  ["limit", "Limit"],
  ["market", "Market"],
  ["post_only", "Post-only"],
  ["stop_limit", "Stop-limit"],
  ["stop_market", "Stop-market"],
];

function Field(props: {
  label: string;
  unit: string;
  value: string;
  set: (v: string) => void;
  error: string | undefined;
  name: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <div className="with-unit">
        <input
          id={id}
          name={props.name}
          inputMode="decimal"
          autoComplete="off"
          spellCheck={false}
          maxLength={40}
          value={props.value}
          onChange={(e) => props.set(e.target.value)}
          aria-invalid={props.error !== undefined}
          aria-describedby={props.error ? `${id}-error` : undefined}
        />
        <span className="unit">{props.unit}</span>
      </div>
      {props.error ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

export function OrderForm(props: { market: MarketInfo }) {
  const m = props.market;
  const user = useStore(me);
  const cfg = useStore(config);
  const data = useStore(account_data);
  const last = useStore(trades)[0]?.price;
  const recent = useStore(notices);
  const [kind, set_kind] = useState<Kind>("limit");
  const [side, set_side] = useState<"BUY" | "SELL">("BUY");
  const [price, set_price] = useState("");
  const [stop, set_stop] = useState("");
  const [qty, set_qty] = useState("");
  const [total, set_total] = useState("");
  const [by_total, set_by_total] = useState(false);
  const [tif, set_tif] = useState("GTC");
  const [errors, set_errors] = useState<Record<string, string>>({});
  const [busy, set_busy] = useState(false);
  const now = useStore(modes);
  const mode_now = now?.markets[m.symbol] ?? m.status;
  const mode = mode_text(mode_now, now?.maintenance === true);
  // what the market takes now: nothing, post-only orders only, or everything
  const closed = now?.maintenance === true || (mode !== null && mode_now !== "POST_ONLY");
  const refused_here = closed || (mode_now === "POST_ONLY" && kind !== "post_only");

  const has_price = kind === "limit" || kind === "post_only" || kind === "stop_limit";
  const has_stop = kind === "stop_limit" || kind === "stop_market";
  const uses_total = kind === "market" && by_total;
  const spend_asset = side === "BUY" ? m.quote : m.base;
  const available = data.balances.find((b) => b.asset === spend_asset)?.free;

  const build = (): OrderRequest | null => {
    const e: Record<string, string> = {};
    const take = (name: string, c: Check): string => {
      if (!c.ok) e[name] = c.error;
      return c.ok ? c.value : "";
    };
    const p = has_price ? take("price", check_price(price, m)) : "";
    const s = has_stop ? take("stop", check_price(stop, m, "a stop price")) : "";
    const q = uses_total ? "" : take("qty", check_qty(qty, m));
    const t = uses_total ? take("total", check_total(total, m)) : "";
    if (p !== "" && q !== "") {
      const n = check_notional(p, q, m);
      if (n !== null) e.qty = n;
    }
    if (has_stop && s !== "" && last === undefined)
      e.stop = "No trade yet in this market: a stop has no price to follow.";
    set_errors(e);
    if (Object.keys(e).length > 0) return null;
    const req: OrderRequest = { symbol: m.symbol, side, type: "LIMIT" };
    if (kind === "limit") Object.assign(req, { type: "LIMIT", timeInForce: tif, price: p, quantity: q });
    else if (kind === "post_only") Object.assign(req, { type: "LIMIT_MAKER", price: p, quantity: q });
    else if (kind === "market")
      Object.assign(req, uses_total ? { type: "MARKET", quoteOrderQty: t } : { type: "MARKET", quantity: q });
    else {
      // A buy stop above the last price (or a sell stop below it) is a stop-loss; otherwise take-profit.
      const above = last !== undefined && cmp(s, last) > 0;
      const loss = side === "BUY" ? above : !above;
      const base_type = loss ? "STOP_LOSS" : "TAKE_PROFIT";
      if (kind === "stop_limit")
        Object.assign(req, {
          type: `${base_type}_LIMIT`,
          timeInForce: tif,
          price: p,
          stopPrice: s,
          quantity: q,
        });
      else Object.assign(req, { type: base_type, stopPrice: s, quantity: q });
    }
    return req;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const req = build();
    if (req === null) return;
    set_busy(true);
    try {
      await place_order(req);
      await refresh_account(m.symbol);
    } finally {
      set_busy(false);
    }
  };

  if (user === null)
    return (
      <div className="form-login">
        <h2>Trade {m.base}</h2>
        <p>
          <Link to="/login">Log in</Link> or <Link to="/signup">sign up</Link> to trade.
        </p>
      </div>
    );

  const estimate = has_price && price !== "" && qty !== "" ? mul(price.trim(), qty.trim()) : null;
  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label="Order entry">
      <div className="tabs" role="radiogroup" aria-label="Order type">
        {KINDS.map(([k, label]) => (
          <label key={k} className={k === kind ? "on" : ""}>
            <input type="radio" name="kind" value={k} checked={k === kind} onChange={() => set_kind(k)} />
            {label}
          </label>
        ))}
      </div>
      <div className="sides" role="radiogroup" aria-label="Side">
        {(["BUY", "SELL"] as const).map((s) => (
          <label key={s} className={`${s === side ? "on" : ""} ${s === "BUY" ? "buy" : "sell"}`}>
            <input type="radio" name="side" value={s} checked={s === side} onChange={() => set_side(s)} />
            {s === "BUY" ? "Buy" : "Sell"}
          </label>
        ))}
      </div>
      <p className="muted small">
        Available: <span data-testid="available">{fmt(available, 8)}</span> {spend_asset}
      </p>
      {has_stop ? (
        <Field
          label="Stop price"
          name="stop"
          unit={m.quote}
          value={stop}
          set={set_stop}
          error={errors.stop}
        />
      ) : null}
      {has_price ? (
        <Field
          label={kind === "stop_limit" ? "Limit price" : "Price"}
          name="price"
          unit={m.quote}
          value={price}
          set={set_price}
          error={errors.price}
        />
      ) : null}
      {kind === "market" ? (
        <div className="toggle" role="radiogroup" aria-label="Market order by">
          <label>
            <input type="radio" name="by" checked={!by_total} onChange={() => set_by_total(false)} /> Amount (
            {m.base})
          </label>
          <label>
            <input type="radio" name="by" checked={by_total} onChange={() => set_by_total(true)} /> Total (
            {m.quote})
          </label>
        </div>
      ) : null}
      {uses_total ? (
        <Field label="Total" name="total" unit={m.quote} value={total} set={set_total} error={errors.total} />
      ) : (
        <Field label="Amount" name="qty" unit={m.base} value={qty} set={set_qty} error={errors.qty} />
      )}
      {kind === "limit" || kind === "stop_limit" ? (
        <div className="field">
          <label htmlFor="tif">Time in force</label>
          <select id="tif" value={tif} onChange={(e) => set_tif(e.target.value)}>
            <option value="GTC">Good till cancelled</option>
            <option value="IOC">Immediate or cancel</option>
            <option value="FOK">Fill or kill</option>
          </select>
        </div>
      ) : null}
      {estimate !== null && cmp(estimate, "0") > 0 ? (
        <p className="muted small">
          Total ≈ {fmt(estimate, Math.min(m.quote_decimals, 2))} {m.quote}
        </p>
      ) : null}
      {mode !== null ? (
        <p className="notice warn" role="status" data-testid="mode-notice">
          {mode.says}
        </p>
      ) : null}
      <button
        type="submit"
        className={side === "BUY" ? "buy" : "sell"}
        disabled={busy || user === undefined || refused_here}
      >
        {side === "BUY" ? "Buy" : "Sell"} {m.base}
      </button>
      <ul className="notices" aria-live="polite" data-testid="order-notices">
        {recent.map((n) => (
          <li key={n.client_order_id} className={n.state}>
            {n.text}
          </li>
        ))}
      </ul>
      {cfg.demo ? <DemoFunds /> : null}
    </form>
  );
}
