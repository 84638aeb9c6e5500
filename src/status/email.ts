/**
 * Email subscribers: double opt-in (a confirmation link first), then one email per incident or
 * maintenance update, sent through SMTP by nodemailer (pooled, rate-limited). Every email carries an
 * unsubscribe link and the List-Unsubscribe and List-Unsubscribe-Post headers (RFC 8058 one-click),
 * and the signed update as an attachment (update.json) that `holdfast verify` checks.
 */
import nodemailer from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool/index.js";
import type { PageInfo } from "./api.js";
import type { MailMessage } from "./notify.js";
import { update_status_words } from "./page.js";
import type { EmailSubscriberRow, NoticeRow } from "./store.js";

export const EMAIL_LENGTH_MAX = 254;
/** A plain address: local part without spaces or markup, a dotted domain. Not every RFC 5322 form. */
const EMAIL_RE =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/** The address in canonical form, or null when it is not one we accept. */
export function normal_email(text: string): string | null {
  const t = text.trim();
  if (t.length === 0 || t.length > EMAIL_LENGTH_MAX || !EMAIL_RE.test(t)) return null;
  const at = t.lastIndexOf("@");
  return `${t.slice(0, at)}@${t.slice(at + 1).toLowerCase()}`;
}

/** A pooled, rate-limited SMTP sender (nodemailer). */
export interface Mailer {
  send(m: MailMessage): Promise<void>;
  /** Closes the pool's connections (a pool keeps them open while idle). */
  close(): void;
}

export function smtp_mailer(smtp_url: string, from: string): Mailer {
  const u = new URL(smtp_url);
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:")
    throw new Error(`--smtp-url ${smtp_url}: smtp:// or smtps://`);
  const options: SMTPPool.Options = {
    pool: true,
    host: u.hostname,
    port: u.port === "" ? (u.protocol === "smtps:" ? 465 : 25) : Number(u.port),
    secure: u.protocol === "smtps:",
    ...(u.username === ""
      ? {}
      : { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } }),
    maxConnections: 2,
    rateDelta: 1000,
    rateLimit: 20,
    connectionTimeout: 15_000,
    socketTimeout: 30_000,
  };
  const transport = nodemailer.createTransport(options);
  return {
    send: async (m) => {
      await transport.sendMail({ from, ...m });
    },
    close: () => transport.close(),
  };
}

export const unsubscribe_url = (info: PageInfo, token: string): string =>
  `${info.url}/subscriptions/unsubscribe?token=${encodeURIComponent(token)}`;

export function confirmation_email(info: PageInfo, s: EmailSubscriberRow): MailMessage {
  return {
    to: s.email,
    subject: `Confirm your subscription to ${info.name} status`,
    text: `Someone, hopefully you, asked to receive ${info.name} status updates at this address.

To confirm, open:
${info.url}/subscriptions/confirm?token=${encodeURIComponent(s.token)}

If it was not you, ignore this email: nothing will be sent without the confirmation.
`,
  };
}

/**
 * An update's email. `payload` is the notice's signed JSON (the same a webhook gets): attached as
 * update.json so the reader can check it came from the operator.
 */
export function update_email(
  info: PageInfo,
  s: EmailSubscriberRow,
  n: NoticeRow,
  payload: string,
  key_id: string,
): MailMessage {
  const p = JSON.parse(payload) as {
    update: { incident_name: string; status: string; body: string; created_at: string; incident_id: string };
  };
  const u = p.update;
  const link = n.kind === "maintenance" ? `${info.url}/` : `${info.url}/incidents/${u.incident_id}`;
  const leave = unsubscribe_url(info, s.token);
  return {
    to: s.email,
    subject: `[${info.name} status] ${u.incident_name}: ${update_status_words(u.status)}`,
    messageId: `<${n.id}@holdfast-status>`,
    headers: {
      "List-Unsubscribe": `<${leave}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
    text: `${u.incident_name}
Status: ${update_status_words(u.status)}
Time: ${u.created_at.replace("T", " ").slice(0, 19)} UTC

${u.body}

Details: ${link}

This update is signed with our Ed25519 key ${key_id}; the signed copy is attached (update.json).
Check it with: npx holdfast verify update.json --key <the key from ${info.url}/api/v2/signing-key.json>

Unsubscribe: ${leave}
`,
    attachments: [{ filename: "update.json", content: payload, contentType: "application/json" }],
  };
}
