/**
 * Delivering notices (the outbox, store.ts) to webhook subscribers, per Standard Webhooks 1.0:
 * headers webhook-id (the notice id: receivers use it as their idempotency key), webhook-timestamp
 * and webhook-signature ("v1," + HMAC-SHA256 under the subscriber's whsec_ secret, by the
 * `standardwebhooks` package). The payload itself carries the Ed25519-signed update (signing.ts),
 * so a receiver can also check who wrote it.
 *
 * At least once: a notice is marked delivered only after a 2xx, so a crash between the answer and
 * the mark sends it again, with the same webhook-id. Retries back off (RETRY_SCHEDULE_MS, with
 * jitter); 429/502/503/504 honour Retry-After; 410 Gone disables the subscriber; redirects are
 * failures (not followed). Addresses inside the network are refused unless allowed (SSRF).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { Webhook } from "standardwebhooks";
import type { NoticeRow, StatusStore } from "./store.js";
import { send_message, TELEGRAM_PER_CHAT_MS, type TelegramConfig } from "./telegram.js";

/** Delay before attempt n+1 (the first is immediate); after the last, the notice has failed. */
export const RETRY_SCHEDULE_MS = [
  0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000,
];
export const DELIVERY_TIMEOUT_MS = 15_000;
const BATCH_MAX = 20;
const TICK_MS = 250;
const RETRY_AFTER_MAX_MS = 3_600_000;
export const WEBHOOK_URL_LENGTH_MAX = 2000;

/** Whether an IP address is loopback, private, link-local, shared, unspecified or multicast. */
export function internal_address(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  if (isIP(v4) === 4) {
    const [a, b] = v4.split(".").map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      a >= 224
    );
  }
  const x = ip.toLowerCase();
  return x === "::" || x === "::1" || /^f[cd]/.test(x) || /^fe[89ab]/.test(x) || /^ff/.test(x);
}

/** Why `url` cannot be a webhook target, or null. Resolves the host: every address must be public. */
export async function check_webhook_url(url: string, allow_internal: boolean): Promise<string | null> {
  if (url.length > WEBHOOK_URL_LENGTH_MAX)
    return `the URL is longer than ${WEBHOOK_URL_LENGTH_MAX} characters`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "not a URL";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return "only http and https URLs";
  if (u.username !== "" || u.password !== "") return "no credentials in the URL";
  if (allow_internal) return null;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  try {
    addresses = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return `cannot resolve ${host}`;
  }
  if (addresses.some(internal_address)) return `${host} is an internal address`;
  return null;
}

/** An email, as nodemailer's sendMail takes it. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  headers?: Record<string, string>;
  messageId?: string;
  attachments?: { filename: string; content: string; contentType: string }[];
}

export interface NotifierOptions {
  /** Sends an email (nodemailer over SMTP); null when no SMTP server is configured. */
  mailer: { send(message: MailMessage): Promise<void> } | null;
  /** The email of a notice on the email channel; null when there is nothing to send any more. */
  email: (n: NoticeRow) => MailMessage | null;
  /** Telegram: the bot and the text of a notice; null when no bot token is configured. */
  telegram: { config: TelegramConfig; text: (n: NoticeRow) => string | null } | null;
  allow_internal: boolean;
  retry_schedule_ms: readonly number[];
  timeout_ms: number;
  log: (line: string) => void;
}

export class Notifier {
  private timer: NodeJS.Timeout | null = null;
  private readonly in_flight = new Set<string>();
  /** Telegram chat → when it may get its next message (about one a second per chat). */
  private readonly chat_next_ms = new Map<string, number>();
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly store: StatusStore,
    /** The payload of a notice (rendered when it is sent: the update it announces never changes). */
    private readonly payload: (n: NoticeRow) => string | null,
    private readonly options: NotifierOptions,
  ) {}

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      // An unforeseen failure (the store, a bug) ends this round, not the status service: a
      // rejection nobody handles would end the process. The notices stay due and are tried again.
      this.running = this.deliver_due()
        .catch((error: unknown) => this.options.log(`status: delivery round failed: ${String(error)}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, TICK_MS);
        });
    };
    tick();
  }

  /** Sends what is due now; resolves when those attempts have ended. */
  async deliver_due(): Promise<void> {
    const now = Date.now();
    const chats = new Set<string>();
    const due = this.store.due_notices(now, BATCH_MAX).filter((n) => {
      if (this.in_flight.has(n.id)) return false;
      if (n.channel !== "telegram") return true;
      // one message per chat at a time, at Telegram's pace
      if (chats.has(n.target_id) || (this.chat_next_ms.get(n.target_id) ?? 0) > now) return false;
      chats.add(n.target_id);
      return true;
    });
    await Promise.all(due.map((n) => this.deliver(n)));
  }

  private async deliver(n: NoticeRow): Promise<void> {
    this.in_flight.add(n.id);
    try {
      if (n.channel === "email") {
        await this.deliver_email(n);
        return;
      }
      if (n.channel === "telegram") {
        await this.deliver_telegram(n);
        return;
      }
      const hook = this.store.webhook(n.target_id);
      if (hook === null || hook.disabled_at !== null) {
        this.store.attempt_failed(n.id, "webhook removed", null);
        return;
      }
      const body = this.payload(n);
      if (body === null) {
        this.store.attempt_failed(n.id, "the update it announces no longer exists", null);
        return;
      }
      const refused = await check_webhook_url(hook.url, this.options.allow_internal);
      if (refused !== null) {
        this.retry(n, `refused: ${refused}`, null);
        return;
      }
      const now = new Date();
      const signature = new Webhook(hook.secret).sign(n.id, now, body);
      let response: Response;
      try {
        response = await fetch(hook.url, {
          method: "POST",
          redirect: "manual",
          headers: {
            "content-type": "application/json",
            "user-agent": "holdfast-status",
            "webhook-id": n.id,
            "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
            "webhook-signature": signature,
          },
          body,
          signal: AbortSignal.timeout(this.options.timeout_ms),
        });
        await response.arrayBuffer().catch(() => undefined);
      } catch (error) {
        const e = error as { name?: string; cause?: { code?: string }; message?: string };
        this.retry(
          n,
          e.name === "TimeoutError" ? "timed out" : (e.cause?.code ?? e.message ?? String(error)),
          null,
        );
        return;
      }
      if (response.status >= 200 && response.status < 300) {
        this.store.delivered(n.id, Date.now());
        return;
      }
      if (response.status === 410) {
        this.store.attempt_failed(n.id, "410 Gone", null);
        this.store.disable_webhook(hook.id, "the endpoint answered 410 Gone", Date.now());
        this.options.log(`status: webhook ${hook.id} disabled: 410 Gone`);
        return;
      }
      const retry_after = Number(response.headers.get("retry-after"));
      const honour =
        [429, 502, 503, 504].includes(response.status) && Number.isFinite(retry_after) && retry_after > 0;
      this.retry(
        n,
        `HTTP ${response.status}`,
        honour ? Math.min(retry_after * 1000, RETRY_AFTER_MAX_MS) : null,
      );
    } finally {
      this.in_flight.delete(n.id);
    }
  }

  private async deliver_telegram(n: NoticeRow): Promise<void> {
    const telegram = this.options.telegram;
    if (telegram === null) {
      this.retry(n, "no Telegram bot token configured", null);
      return;
    }
    const text = telegram.text(n);
    if (text === null) {
      this.store.attempt_failed(n.id, "the update it announces no longer exists", null);
      return;
    }
    const outcome = await send_message(telegram.config, n.target_id, text, this.options.timeout_ms);
    this.chat_next_ms.set(n.target_id, Date.now() + TELEGRAM_PER_CHAT_MS);
    if (outcome.kind === "sent") this.store.delivered(n.id, Date.now());
    else if (outcome.kind === "failed") this.store.attempt_failed(n.id, outcome.error, null);
    else {
      if (outcome.after_ms !== null) this.chat_next_ms.set(n.target_id, Date.now() + outcome.after_ms);
      this.retry(n, outcome.error, outcome.after_ms);
    }
  }

  private async deliver_email(n: NoticeRow): Promise<void> {
    const mailer = this.options.mailer;
    if (mailer === null) {
      this.retry(n, "no SMTP server configured", null);
      return;
    }
    const message = this.options.email(n);
    if (message === null) {
      this.store.attempt_failed(n.id, "nothing to send any more (unsubscribed or removed)", null);
      return;
    }
    try {
      await mailer.send(message);
      this.store.delivered(n.id, Date.now());
    } catch (error) {
      const e = error as { responseCode?: number; message?: string };
      // 5xx is the receiving server's final word (no such mailbox, refused): retrying will not help
      if (e.responseCode !== undefined && e.responseCode >= 500) {
        this.store.attempt_failed(n.id, `SMTP ${e.responseCode}: ${e.message ?? ""}`, null);
        return;
      }
      this.retry(n, e.message ?? String(error), null);
    }
  }

  /** Schedules the next attempt (the schedule's, or `after_ms`), or gives up after the last. */
  private retry(n: NoticeRow, error: string, after_ms: number | null): void {
    const schedule = this.options.retry_schedule_ms;
    const next = n.attempts + 1;
    if (next >= schedule.length) {
      this.store.attempt_failed(n.id, error, null);
      this.options.log(`status: notice ${n.id} failed after ${next} attempts: ${error}`);
      return;
    }
    // jitter: ±10 %, so that many receivers coming back at once are not hit at once
    const base = after_ms ?? schedule[next];
    const delay = Math.round(base * (0.9 + 0.2 * Math.random()));
    this.store.attempt_failed(n.id, error, Date.now() + delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running;
  }
}
