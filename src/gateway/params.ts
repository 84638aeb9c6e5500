/**
 * Binance request parameters: from the query string and, for POST/PUT/DELETE, a form body (Binance
 * reads both; @binance/connector puts everything in the query string and sends an empty JSON body).
 * Duplicated parameters are refused (-1101), and so are parameters the endpoint does not read
 * (-1104), as Binance does. Errors are Binance's {code,msg} with HTTP 400.
 */
import { UnencodableCommand } from "../journal/journal.js";
import { WritesRefused } from "../node/exchange_node.js";
import { HistoryUnavailable } from "../projections/history.js";
import type { BinanceError } from "../validation/order.js";

export class ApiError extends Error {
  constructor(
    readonly http_status: number,
    readonly error: BinanceError,
    readonly headers: Record<string, string> = {},
  ) {
    super(error.msg);
  }
}

export const bad = (code: number, msg: string): ApiError => new ApiError(400, { code, msg });

/**
 * Binance's time unit choice (REST header X-MBX-TIME-UNIT; `timeUnit` in a WebSocket URL): Holdfast
 * answers in milliseconds only, Binance's default. A client asking for MICROSECOND is refused rather
 * than answered in milliseconds it would read as microseconds (every time off by 1,000). Null: fine.
 */
export function time_unit_refusal(
  name: string,
  value: string | string[] | null | undefined,
): ApiError | null {
  if (value === undefined || value === null || value === "MILLISECOND" || value === "millisecond")
    return null;
  return bad(
    -1100,
    `Illegal characters found in parameter '${name}'; legal range is 'MILLISECOND, millisecond'.`,
  );
}

/**
 * Binance's answer to a failure from below the gateway that is known to leave nothing done, or null
 * for one nothing foresaw (500 -1000: the outcome is unknown). The reason stays in the node's log.
 */
export function known_failure(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  // -1008 and 503: ccxt reads it as OperationFailed (try again); nothing reached the journal
  if (error instanceof WritesRefused && error.busy)
    return new ApiError(429, { code: -1003, msg: "Too many requests queued." }, { "Retry-After": "1" });
  if (error instanceof WritesRefused)
    return new ApiError(503, {
      code: -1008,
      msg: "Order entry is paused: this node cannot store new orders durably right now. Nothing was placed; please try again in a few minutes.",
    });
  // a moment's delay (reads queued behind slower ones, the writer behind): Binance's "server busy"
  if (error instanceof HistoryUnavailable && !error.stopped)
    return new ApiError(
      503,
      {
        code: -1008,
        msg: "Server is currently overloaded with other requests. Please try again in a few minutes.",
      },
      { "Retry-After": "1" },
    );
  // a value no command field holds (the validators should have refused it): that request alone fails
  if (error instanceof UnencodableCommand)
    return new ApiError(400, {
      code: -1102,
      msg: "A parameter was malformed: it holds a value this exchange cannot store. Nothing was placed.",
    });
  if (error instanceof HistoryUnavailable)
    return new ApiError(503, {
      code: -1001,
      msg: "Order and trade history is unavailable on this node; please try again later.",
    });
  return null;
}

export const PARAMS_MAX = 64;
export const PARAM_VALUE_BYTES_MAX = 4096;

export interface Params {
  /** Values by name. */
  values: Map<string, string>;
}

/** Adds `entries` to `values` under the limits every request meets (count, duplicates, length). */
function add_all(entries: Iterable<[string, string]>, values: Map<string, string>): void {
  let count = 0;
  for (const [name, value] of entries) {
    if (++count > PARAMS_MAX) throw bad(-1101, "Too many parameters sent for this endpoint.");
    if (values.has(name)) throw bad(-1101, "Duplicate values for a parameter detected.");
    if (value.length > PARAM_VALUE_BYTES_MAX)
      throw bad(-1100, `Illegal characters found in parameter '${name}'.`);
    values.set(name, value);
  }
}

/** `query`: the raw query string (without '?'); `form`: a raw form body or "". */
export function parse_params(query: string, form: string): Params {
  const values = new Map<string, string>();
  if (query.length > 0) add_all(new URLSearchParams(query), values);
  if (form.length > 0) add_all(new URLSearchParams(form), values);
  return { values };
}

/** Parameters that arrive already split (a WebSocket API request's `params`), under the same limits. */
export function params_of(entries: Iterable<[string, string]>): Params {
  const values = new Map<string, string>();
  add_all(entries, values);
  return { values };
}

/** Refuses any parameter the endpoint does not read (Binance -1104). */
export function check_read(params: Params, read: ReadonlySet<string>): void {
  const unread = [...params.values.keys()].filter((k) => !read.has(k));
  if (unread.length > 0)
    throw bad(
      -1104,
      `Not all sent parameters were read; read '${params.values.size - unread.length}' parameter(s) but was sent '${params.values.size}'.`,
    );
}

export function required(params: Params, name: string): string {
  const v = params.values.get(name);
  if (v === undefined || v === "")
    throw bad(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
  return v;
}

const INTEGER_RE = /^[0-9]{1,20}$/;

/** An optional non-negative integer parameter in [min, max]. */
export function integer(params: Params, name: string, min: number, max: number): number | undefined {
  const v = params.values.get(name);
  if (v === undefined) return undefined;
  if (!INTEGER_RE.test(v))
    throw bad(-1100, `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw bad(-1100, `Illegal characters found in parameter '${name}'; legal range is '${min} - ${max}'.`);
  return n;
}
