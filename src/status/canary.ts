/**
 * The order-entry canary: with the key of a small account made for it, each probe round places a
 * LIMIT_MAKER buy that cannot fill (the lowest price the market allows, the smallest quantity its
 * notional filter accepts: a few units of quote currency locked for a moment) and cancels it, through
 * the public API like any client. Order entry is healthy when both are answered 200 in time: the
 * request went through authentication, validation, the journal and the engine and back.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

export interface CanaryKey {
  apiKey: string;
  secretKey: string;
  /**
   * Markets it may use, in order of preference: it uses the first one that is trading, so a halted
   * market shows on its own component and not on order entry too. (All quoted in what it holds.)
   */
  symbols: string[];
}

export function read_canary_key(file: string): CanaryKey {
  const k = JSON.parse(readFileSync(file, "utf8")) as Partial<CanaryKey>;
  if (
    typeof k.apiKey !== "string" ||
    typeof k.secretKey !== "string" ||
    !Array.isArray(k.symbols) ||
    k.symbols.length === 0 ||
    !k.symbols.every((s) => typeof s === "string")
  )
    throw new Error(`${file}: expected {"apiKey", "secretKey", "symbols": [...]}`);
  return k as CanaryKey;
}

interface Filters {
  minPrice: string;
  tickSize: string;
  minQty: string;
  maxQty: string;
  stepSize: string;
  minNotional: string;
}

/** Binance decimal strings (≤ 8 decimals) as integers of 1e-8. */
const E8 = 100_000_000n;
function units(text: string): bigint {
  const trimmed = text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  const m = /^(\d+)(?:\.(\d{1,8}))?$/.exec(trimmed);
  if (m === null) throw new Error(`not a decimal: ${text}`);
  return BigInt(m[1]) * E8 + BigInt((m[2] ?? "").padEnd(8, "0"));
}
const decimal = (u: bigint): string => `${u / E8}.${(u % E8).toString().padStart(8, "0")}`;
const ceil_div = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
const up_to = (x: bigint, step: bigint): bigint => (step === 0n ? x : ceil_div(x, step) * step);

/**
 * The price and quantity of an order that rests at the bottom of the book and meets every filter.
 * `floor`: the lowest price the PERCENT_PRICE_BY_SIDE filter leaves it now, with room (band_floor).
 */
export function canary_order(f: Filters, floor: string | null = null): { price: string; quantity: string } {
  const tick = units(f.tickSize);
  const step = units(f.stepSize);
  const notional = units(f.minNotional);
  // the lowest price allowed: minPrice on the tick grid, or one tick when minPrice is 0
  let price = up_to(units(f.minPrice), tick);
  if (price === 0n) price = tick;
  if (floor !== null && up_to(units(floor), tick) > price) price = up_to(units(floor), tick);
  let qty = up_to(ceil_div(notional * E8, price), step);
  if (qty < units(f.minQty)) qty = up_to(units(f.minQty), step);
  const max_qty = units(f.maxQty);
  if (qty > max_qty) {
    // too many units at the lowest price: the largest quantity at the lowest price that suffices
    qty = max_qty - (step === 0n ? 0n : max_qty % step);
    price = up_to(ceil_div(notional * E8, qty), tick);
  }
  return { price: decimal(price), quantity: decimal(qty) };
}

/**
 * Where a buy is safe from PERCENT_PRICE_BY_SIDE (a buy's price at least last × bidMultiplierDown):
 * halfway between that bound and the last price, so that the price moving meanwhile leaves it inside
 * (0.6 × the last price for Binance's 0.2); null with no last price (no band then).
 */
export function band_floor(last_price: string, bid_multiplier_down: string): string | null {
  const last = units(last_price);
  if (last === 0n) return null;
  const bound = (last * units(bid_multiplier_down)) / E8;
  return decimal(bound + (last - bound) / 2n);
}

/** The market's last price (GET /api/v3/ticker/price), or null if it cannot be read. */
async function last_price(base: string, symbol: string, timeout_ms: number): Promise<string | null> {
  try {
    const r = await fetch(`${base}/api/v3/ticker/price?symbol=${symbol}`, {
      signal: AbortSignal.timeout(timeout_ms),
    });
    const body = (await r.json()) as { price?: unknown };
    return r.status === 200 && typeof body.price === "string" ? body.price : null;
  } catch {
    return null;
  }
}

async function signed(
  base: string,
  key: CanaryKey,
  method: "POST" | "DELETE",
  path: string,
  params: Record<string, string>,
  timeout_ms: number,
): Promise<{ status: number; body: { code?: number; msg?: string } }> {
  const text = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
  const signature = createHmac("sha256", key.secretKey).update(text).digest("hex");
  const response = await fetch(`${base}${path}?${text}&signature=${signature}`, {
    method,
    headers: { "X-MBX-APIKEY": key.apiKey },
    signal: AbortSignal.timeout(timeout_ms),
  });
  return { status: response.status, body: (await response.json()) as { code?: number; msg?: string } };
}

/**
 * Nodes on which no canary order of this process can still rest: each one's cancel was confirmed,
 * or the canary's open orders were swept. A node not in it is swept before the next order: one this
 * process placed and could not cancel, or one a process before it left (the service restarted, the
 * node killed between placing and cancelling: the order was journaled but its answer never came).
 */
const clean = new Set<string>();

/** One canary order, placed and cancelled on the node at `base`. */
export async function run_canary(
  base: string,
  key: CanaryKey,
  symbols: readonly {
    symbol: string;
    status: string;
    orderTypes?: string[];
    filters: ({ filterType: string } & Record<string, unknown>)[];
  }[],
  timeout_ms: number,
): Promise<{ ok: boolean; ms: number; detail: string } | null> {
  const started = performance.now();
  const market = key.symbols
    .map((name) => symbols.find((s) => s.symbol === name))
    .find((s) => s !== undefined && s.status === "TRADING" && (s.orderTypes ?? []).includes("LIMIT_MAKER"));
  // no market of its own is trading: nothing to test order entry on (the markets' components say why)
  if (market === undefined) return null;
  const symbol = market.symbol;
  const filter = (type: string) => market.filters.find((x) => x.filterType === type) ?? {};
  const f = { ...filter("PRICE_FILTER"), ...filter("LOT_SIZE"), ...filter("NOTIONAL") } as unknown as Filters;
  // a market that has traded: its price band (PERCENT_PRICE_BY_SIDE) keeps the lowest price out
  const band = filter("PERCENT_PRICE_BY_SIDE") as { bidMultiplierDown?: unknown };
  let floor: string | null = null;
  if (typeof band.bidMultiplierDown === "string") {
    const last = await last_price(base, symbol, timeout_ms);
    if (last !== null) floor = band_floor(last, band.bidMultiplierDown);
  }
  const { price, quantity } = canary_order(f, floor);
  if (!clean.has(base)) {
    const swept = await signed(base, key, "DELETE", "/api/v3/openOrders", { symbol }, timeout_ms);
    if (swept.status === 200 || swept.body.code === -2011) clean.add(base);
  }
  const client_order_id = `canary-${Date.now()}`;
  // before the request: a node may journal the order and never answer
  clean.delete(base);
  const placed = await signed(
    base,
    key,
    "POST",
    "/api/v3/order",
    {
      symbol,
      side: "BUY",
      type: "LIMIT_MAKER",
      price,
      quantity,
      newClientOrderId: client_order_id,
      newOrderRespType: "ACK",
    },
    timeout_ms,
  );
  if (placed.status !== 200)
    return {
      ok: false,
      ms: performance.now() - started,
      detail: `order refused: ${placed.body.code} ${placed.body.msg}`,
    };
  const cancelled = await signed(
    base,
    key,
    "DELETE",
    "/api/v3/order",
    { symbol, origClientOrderId: client_order_id },
    timeout_ms,
  );
  if (cancelled.status !== 200)
    return {
      ok: false,
      ms: performance.now() - started,
      detail: `cancel refused: ${cancelled.body.code} ${cancelled.body.msg}`,
    };
  clean.add(base);
  return { ok: true, ms: performance.now() - started, detail: "" };
}
