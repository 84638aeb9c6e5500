/**
 * Exact decimal text <-> integer units. Money never passes through floating point: a decimal string
 * such as "0.00100" is read digit by digit into an integer count of the smallest unit.
 */
import { UNITS_MAX } from "./assert.js";

/** Binance's pattern for decimal parameters: up to 20 integer and 20 fraction digits. */
const DECIMAL_RE = /^([0-9]{1,20})(\.[0-9]{1,20})?$/;

export interface ParsedDecimal {
  /** All significant digits as an integer. */
  readonly digits: bigint;
  /** Number of digits after the point in `digits`. */
  readonly scale: number;
}

export function parse_decimal(text: string): ParsedDecimal | null {
  if (!DECIMAL_RE.test(text)) return null;
  const point = text.indexOf(".");
  if (point < 0) return { digits: BigInt(text), scale: 0 };
  let fraction = text.slice(point + 1);
  // Trailing zeros carry no value; dropping them keeps "1.000" valid for an asset with 0 decimals.
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end--;
  fraction = fraction.slice(0, end);
  return { digits: BigInt(text.slice(0, point) + fraction), scale: fraction.length };
}

export type UnitsResult =
  | { ok: true; units: number }
  | { ok: false; error: "format" | "precision" | "range" };

/** "1.5" with decimals 8 -> 150000000 units. Refuses more fraction digits than `decimals`. */
export function decimal_to_units(text: string, decimals: number): UnitsResult {
  const parsed = parse_decimal(text);
  if (parsed === null) return { ok: false, error: "format" };
  if (parsed.scale > decimals) return { ok: false, error: "precision" };
  const units = parsed.digits * 10n ** BigInt(decimals - parsed.scale);
  if (units > BigInt(UNITS_MAX)) return { ok: false, error: "range" };
  return { ok: true, units: Number(units) };
}

/** Exact quotient of two decimals when it is a whole number (e.g. price / tick_size), else null. */
export function decimal_div_exact(numerator: ParsedDecimal, denominator: ParsedDecimal): bigint | null {
  if (denominator.digits === 0n) return null;
  // n/10^a / (d/10^b) = n*10^b / (d*10^a)
  const top = numerator.digits * 10n ** BigInt(denominator.scale);
  const bottom = denominator.digits * 10n ** BigInt(numerator.scale);
  if (top % bottom !== 0n) return null;
  return top / bottom;
}

/** 150000000 units with decimals 8 -> "1.50000000" (Binance prints fixed precision). */
export function units_to_decimal(units: number, decimals: number): string {
  const negative = units < 0;
  const digits = String(negative ? -units : units);
  if (decimals === 0) return (negative ? "-" : "") + digits;
  const padded = digits.padStart(decimals + 1, "0");
  const cut = padded.length - decimals;
  return `${negative ? "-" : ""}${padded.slice(0, cut)}.${padded.slice(cut)}`;
}
