/** A tiny cookie-keeping client of the web API (/web/v1), as a browser would be: session cookie, CSRF token. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  cookie: string | null;
}

export class Client {
  cookie = "";
  csrf = "";
  constructor(private readonly base: string) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie !== "") h.cookie = this.cookie;
    if (this.csrf !== "" && h["x-csrf-token"] === undefined) h["x-csrf-token"] = this.csrf;
    let payload: string | undefined;
    if (body !== undefined) {
      h["content-type"] ??= "application/json";
      payload = typeof body === "string" ? body : JSON.stringify(body);
    }
    const r = await fetch(`${this.base}${path}`, { method, headers: h, body: payload });
    const set = r.headers.get("set-cookie");
    if (set !== null) this.cookie = set.split(";")[0];
    const text = await r.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { text };
    }
    if (typeof parsed.csrf === "string") this.csrf = parsed.csrf;
    return { status: r.status, body: parsed, cookie: set };
  }
}
