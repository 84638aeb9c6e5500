/**
 * Exact decimal arithmetic for what the user types and what the exchange sends: amounts are
 * strings, compared and multiplied as scaled BigInts, never as floating point (a price of 0.1 +
 * 0.2 must not become 0.30000000000000004 on its way to the exchange).
 */

export const DECIMAL_RE = /^(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?$/;

/** Digits after the point of a step such as "0.00100000" → 3. */
export function step_decimals(step: string): number {
  const trimmed = step.includes(".") ? step.replace(/0+$/, "") : step;
  const dot = trimmed.indexOf(".");
  return dot < 0 ? 0 : trimmed.length - dot - 1;
}

/** value × 10^scale as a BigInt; null when `value` has more than `scale` decimals or is malformed. */
export function to_scaled(value: string, scale: number): bigint | null {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(value);
  if (m === null) return null;
  const frac = (m[3] ?? "").replace(/0+$/, "");
  if (frac.length > scale) return null;
  const n = BigInt(m[2] + frac.padEnd(scale, "0"));
  return m[1] === "-" ? -n : n;
}

export function from_scaled(n: bigint, scale: number): string {
  const neg = n < 0n;
  const s = (neg ? -n : n).toString().padStart(scale + 1, "0");
  const out = scale === 0 ? s : `${s.slice(0, -scale)}.${s.slice(-scale)}`;
  return neg ? `-${out}` : out;
}

/** An exchange decimal ("12.34000000") shown with exactly `decimals` digits, with thousands separators. */
export function fmt(value: string | undefined, decimals: number): string {
  if (value === undefined || value === "") return "–";
  const scaled = to_scaled(value, 18);
  if (scaled === null) return value;
  // round half up to `decimals`
  const drop = 10n ** BigInt(18 - decimals);
  const abs = scaled < 0n ? -scaled : scaled;
  const rounded = (abs + drop / 2n) / drop;
  const text = from_scaled(rounded, decimals);
  const [int, frac] = text.split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${scaled < 0n && rounded !== 0n ? "-" : ""}${grouped}${frac === undefined ? "" : `.${frac}`}`;
}

/** a × b, exactly, as a decimal string with up to 18 digits after the point. */
export function mul(a: string, b: string): string {
  const x = to_scaled(a, 18);
  const y = to_scaled(b, 18);
  if (x === null || y === null) return "0";
  return from_scaled((x * y) / 10n ** 18n, 18);
}

export function cmp(a: string, b: string): number {
  const x = to_scaled(a, 18) ?? 0n;
  const y = to_scaled(b, 18) ?? 0n;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Percent change from `open` to `last`, to two decimals ("+1.23"), exact. */
export function pct_change(open: string, last: string): string {
  const o = to_scaled(open, 18);
  const l = to_scaled(last, 18);
  if (o === null || l === null || o === 0n) return "0.00";
  const bp = ((l - o) * 10000n) / o;
  const s = from_scaled(bp, 2);
  return bp > 0n ? `+${s}` : s;
}

/** a + b, exactly. */
export function add(a: string, b: string): string {
  return from_scaled((to_scaled(a, 18) ?? 0n) + (to_scaled(b, 18) ?? 0n), 18);
}
