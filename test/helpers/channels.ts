/**
 * Local stand-ins for the status service's subscribers, each checking what it receives as the real
 * thing would: a webhook receiver verifying Standard Webhooks headers with the `standardwebhooks`
 * package; a real SMTP server (smtp-server) with a real parser (mailparser); a Telegram Bot API
 * server checking sendMessage as its docs define it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { Webhook } from "standardwebhooks";

const listen = (server: Server): Promise<string> =>
  new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
const closed = (server: { close(cb: () => void): unknown }): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
  });

export interface Hook {
  id: string;
  body: Record<string, unknown>;
  verified: boolean;
}

/** Answers 200 and keeps every request, with whether its signature verified under `secret()`. */
export async function webhook_receiver(secret: () => string) {
  const received: Hook[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let verified = false;
      try {
        new Webhook(secret()).verify(text, request.headers as Record<string, string>);
        verified = true;
      } catch {
        verified = false;
      }
      received.push({
        id: String(request.headers["webhook-id"]),
        body: JSON.parse(text) as Record<string, unknown>,
        verified,
      });
      response.writeHead(200);
      response.end();
    });
  });
  return { received, url: await listen(server), close: () => closed(server) };
}

export async function smtp_receiver() {
  const mails: ParsedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (m) => {
          mails.push(m);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", () => resolve()));
  return {
    mails,
    url: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
    close: () => closed(smtp),
  };
}

/** Telegram's HTML parse mode: these tags only, balanced; these entities only. */
export function telegram_html_ok(text: string): boolean {
  const tags = [
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "blockquote",
  ];
  const stack: string[] = [];
  for (const m of text.matchAll(/<(\/?)([a-z-]+)(?:\s+href="[^"<>]*")?\s*>/g)) {
    if (!tags.includes(m[2])) return false;
    if (m[1] === "") stack.push(m[2]);
    else if (stack.pop() !== m[2]) return false;
  }
  const stripped = text.replace(/<\/?[a-z-]+(?:\s+href="[^"<>]*")?\s*>/g, "");
  if (/[<>]/.test(stripped)) return false;
  return [...stripped.matchAll(/&[^;\s]*;?/g)].every((e) =>
    ["&lt;", "&gt;", "&amp;", "&quot;"].includes(e[0]),
  );
}

export interface TelegramRequest {
  at: number;
  chat_id: string;
  text: string;
  status: number;
}

/**
 * A Bot API server for `token`: POST /bot<token>/sendMessage with JSON, a chat_id, 1-4096 characters
 * of valid HTML. `answer` picks the reply per request: 200, 429 (retry_after 1) or 400 chat not found.
 */
export async function telegram_api(token: string, answer: (chat_id: string) => 200 | 429 | 400 = () => 200) {
  const requests: TelegramRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(body));
      };
      const bad = (description: string) =>
        reply(400, { ok: false, error_code: 400, description: `Bad Request: ${description}` });
      if (request.method !== "POST" || request.url !== `/bot${token}/sendMessage`)
        return reply(404, { ok: false, error_code: 404, description: "Not Found" });
      if (!(request.headers["content-type"] ?? "").startsWith("application/json")) return bad("content-type");
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        chat_id?: unknown;
        text?: unknown;
        parse_mode?: unknown;
      };
      if (typeof body.chat_id !== "string" && typeof body.chat_id !== "number")
        return bad("chat_id is empty");
      const text = body.text;
      if (typeof text !== "string" || text.length === 0 || text.length > 4096)
        return bad("message text is empty or too long");
      if (body.parse_mode !== "HTML" || !telegram_html_ok(text)) return bad("can't parse entities");
      const chat_id = String(body.chat_id);
      const status = answer(chat_id);
      requests.push({ at: Date.now(), chat_id, text, status });
      if (status === 400) return bad("chat not found");
      if (status === 429)
        return reply(429, {
          ok: false,
          error_code: 429,
          description: "Too Many Requests: retry after 1",
          parameters: { retry_after: 1 },
        });
      reply(200, {
        ok: true,
        result: {
          message_id: requests.length,
          date: Math.floor(Date.now() / 1000),
          chat: { id: Number(chat_id) },
          text,
        },
      });
    });
  });
  return { requests, url: await listen(server), close: () => closed(server) };
}
