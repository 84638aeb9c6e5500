/**
 * Checks of what the user typed, before anything is sent: a well-formed positive decimal, no more
 * digits than the market allows, a multiple of the tick or step, within the market's bounds. The
 * exchange checks all of this again; checking here gives a clear message next to the field and
 * keeps malformed input off the wire.
 */
import { cmp, mul, to_scaled } from "./decimal";
import type { MarketInfo } from "./markets";

const PLAIN_DECIMAL = /^[0-9]+(\.[0-9]+)?$/;
const INPUT_LENGTH_MAX = 40;

export type Check = { ok: true; value: string } | { ok: false; error: string };

function decimal_check(
  text: string,
  what: string,
  step: string,
  min: string,
  max: string,
  unit: string,
): Check {
  const t = text.trim();
  if (t === "") return { ok: false, error: `Enter ${what}.` };
  if (t.length > INPUT_LENGTH_MAX) return { ok: false, error: `${cap(what)} is too long.` };
  if (t.startsWith("-")) return { ok: false, error: `${cap(what)} must be positive.` };
  if (!PLAIN_DECIMAL.test(t))
    return { ok: false, error: `${cap(what)} must be a number like 12.5 (digits and one point).` };
  if (cmp(t, "0") <= 0) return { ok: false, error: `${cap(what)} must be more than zero.` };
  const step_digits = (step.split(".")[1] ?? "").replace(/0+$/, "").length;
  const digits = (t.split(".")[1] ?? "").replace(/0+$/, "").length;
  if (digits > step_digits)
    return {
      ok: false,
      error: `${cap(what)} can have at most ${step_digits} decimal${step_digits === 1 ? "" : "s"} in this market.`,
    };
  const scaled = to_scaled(t, 18);
  const step_scaled = to_scaled(step, 18);
  if (scaled !== null && step_scaled !== null && step_scaled > 0n && scaled % step_scaled !== 0n)
    return { ok: false, error: `${cap(what)} must be a multiple of ${trim(step)} ${unit}.` };
  if (cmp(t, min) < 0) return { ok: false, error: `${cap(what)} must be at least ${trim(min)} ${unit}.` };
  if (cmp(max, "0") > 0 && cmp(t, max) > 0)
    return { ok: false, error: `${cap(what)} must be at most ${trim(max)} ${unit}.` };
  return { ok: true, value: t };
}

export const check_price = (text: string, m: MarketInfo, what = "a price"): Check =>
  decimal_check(text, what, m.tick_size, m.min_price, m.max_price, m.quote);

export const check_qty = (text: string, m: MarketInfo): Check =>
  decimal_check(text, "an amount", m.step_size, m.min_qty, m.max_qty, m.base);

/** A quote amount (market buy by total): the quote asset's precision, no step. */
export function check_total(text: string, m: MarketInfo): Check {
  const step = m.quote_decimals === 0 ? "1" : `0.${"0".repeat(m.quote_decimals - 1)}1`;
  return decimal_check(text, "a total", step, m.min_notional, "0", m.quote);
}

export function check_notional(price: string, qty: string, m: MarketInfo): string | null {
  if (cmp(mul(price, qty), m.min_notional) < 0)
    return `The order's total must be at least ${trim(m.min_notional)} ${m.quote}.`;
  return null;
}

function cap(s: string): string {
  const t = s.replace(/^(a|an) /, "");
  return t.charAt(0).toUpperCase() + t.slice(1);
}

export function trim(d: string): string {
  return d.includes(".") ? d.replace(/0+$/, "").replace(/\.$/, "") : d;
}
