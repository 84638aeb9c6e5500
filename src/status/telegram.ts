/**
 * Telegram: every update goes to the configured chats through the Bot API's sendMessage
 * (POST {base}/bot<token>/sendMessage, JSON {chat_id, text, parse_mode: "HTML"}). The base URL is
 * configurable (tests point it at a local server that checks requests as Telegram's docs define
 * them). Telegram allows about one message a second per chat: the notifier keeps that pace per chat,
 * and a 429 answer's parameters.retry_after (seconds) is waited out before the next try.
 */
import { html_escape, update_status_words } from "./page.js";

export const TELEGRAM_API = "https://api.telegram.org";
export const TELEGRAM_TEXT_MAX = 4096;
export const TELEGRAM_PER_CHAT_MS = 1000;
const CHAT_ID_RE = /^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$/;

export const valid_chat_id = (id: string): boolean => CHAT_ID_RE.test(id);

export interface TelegramConfig {
  base_url: string;
  token: string;
}

/** The outcome of one sendMessage: sent; retry (after ms, or the schedule's); or failed for good. */
export type TelegramOutcome =
  | { kind: "sent" }
  | { kind: "retry"; after_ms: number | null; error: string }
  | { kind: "failed"; error: string };

export async function send_message(
  config: TelegramConfig,
  chat_id: string,
  text: string,
  timeout_ms: number,
): Promise<TelegramOutcome> {
  let response: Response;
  try {
    response = await fetch(`${config.base_url}/bot${config.token}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        chat_id,
        text,
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
      }),
      signal: AbortSignal.timeout(timeout_ms),
    });
  } catch (error) {
    const e = error as { name?: string; cause?: { code?: string }; message?: string };
    return {
      kind: "retry",
      after_ms: null,
      error: e.name === "TimeoutError" ? "timed out" : (e.cause?.code ?? e.message ?? "error"),
    };
  }
  let body: { ok?: boolean; description?: string; parameters?: { retry_after?: number } } = {};
  try {
    const parsed: unknown = await response.json();
    // anything but an object ("null", a number) is no Bot API answer: treated as an empty one
    if (typeof parsed === "object" && parsed !== null) body = parsed as typeof body;
  } catch {
    body = {};
  }
  if (response.ok && body.ok === true) return { kind: "sent" };
  const error = `Telegram ${response.status}: ${body.description ?? ""}`.trim();
  if (response.status === 429) {
    const s = body.parameters?.retry_after;
    return { kind: "retry", after_ms: typeof s === "number" && s > 0 ? s * 1000 : null, error };
  }
  // 400 (chat not found, bad request) and 403 (bot blocked or removed): retrying will not help
  if (response.status >= 400 && response.status < 500) return { kind: "failed", error };
  return { kind: "retry", after_ms: null, error };
}

/** The message for an update: what happened, the link to it, and where its signed copy is. */
export function update_text(
  info: { name: string; url: string },
  kind: string,
  update: { incident_name: string; incident_id: string; status: string; body: string; created_at: string },
  key_id: string,
): string {
  const page = kind === "maintenance" ? `${info.url}/` : `${info.url}/incidents/${update.incident_id}`;
  const signed =
    kind === "maintenance"
      ? `${info.url}/api/v2/scheduled-maintenances.json`
      : `${info.url}/api/v2/incidents/${update.incident_id}.json`;
  const head = `<b>${html_escape(update.incident_name)}</b>: ${html_escape(update_status_words(update.status))}\n`;
  const tail = `\n\n<a href="${html_escape(page)}">Details</a> · <a href="${html_escape(signed)}">signed update</a> (Ed25519 key ${html_escape(key_id)})`;
  const room = TELEGRAM_TEXT_MAX - head.length - tail.length - 1;
  const body = html_escape(update.body);
  // cut on a character boundary that leaves no half entity
  const cut = body.length <= room ? body : `${body.slice(0, room - 1).replace(/&[a-z#0-9]*$/, "")}…`;
  return `${head}${cut}${tail}`;
}
