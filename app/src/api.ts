/**
 * Talking to the node: the Binance REST API (/api/v3, with the session cookie and CSRF header in
 * place of an API key and signature) and the web app's own API (/web/v1). Every failure becomes an
 * ApiFailure with a message fit to show; `network` marks the ones where the node did not answer at
 * all, which is what the reconnect and order-retry logic look at.
 */

export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** Binance error code (-2010…), when the answer was {code,msg}. */
    readonly code: number | null = null,
    /** The form field the web API blamed, if any. */
    readonly field: string | null = null,
    readonly network = false,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

let csrf_token = "";
/** Set after login or /web/v1/me: sent on every request (reads too; it is harmless there). */
export function set_csrf(token: string): void {
  csrf_token = token;
}

const REQUEST_TIMEOUT_MS = 10_000;

async function request(method: string, url: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (csrf_token !== "") headers["x-csrf-token"] = csrf_token;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    throw new ApiFailure("The exchange did not answer.", 0, null, null, true);
  }
  const text = await response.text().catch(() => "");
  let json: unknown = null;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (response.ok) return json;
  const o = (json ?? {}) as { code?: number; msg?: string; error?: string; field?: string };
  // 502-504 come from a proxy in front of a dead node: as good as no answer
  const network = response.status >= 502 && response.status <= 504;
  throw new ApiFailure(
    o.msg ?? o.error ?? `HTTP ${response.status}`,
    response.status,
    o.code ?? null,
    o.field ?? null,
    network,
    (json ?? {}) as Record<string, unknown>,
  );
}

type Query = Record<string, string | number | boolean | undefined>;

function query_string(params: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

/** Binance REST: parameters in the query string, as Binance takes them for every method. */
export function binance<T>(method: "GET" | "POST" | "DELETE" | "PUT", path: string, params: Query = {}) {
  return request(method, `/api/v3/${path}${query_string(params)}`) as Promise<T>;
}

/** Binance's wallet endpoints (/sapi/v1), with the session as for /api/v3. */
export function wallet<T>(path: string, params: Query = {}) {
  return request("GET", `/sapi/v1/${path}${query_string(params)}`) as Promise<T>;
}

/** Holdfast's own public reads (/holdfast/v1): what Binance's API has no place for, e.g. modes. */
export function holdfast<T>(path: string) {
  return request("GET", `/holdfast/v1/${path}`) as Promise<T>;
}

/** The web app's own API. */
export function web<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown) {
  return request(method, `/web/v1/${path}`, body ?? (method === "POST" ? {} : undefined)) as Promise<T>;
}

export interface Me {
  email: string;
  account: number;
  totp_enabled: boolean;
  csrf: string;
  expires_ms: number;
}

export interface WebConfig {
  demo: boolean;
  status_url: string | null;
  password_length_min: number;
}
