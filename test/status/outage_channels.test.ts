/**
 * The acceptance run, every channel at once: kill -9 the exchange; within 10 s the summary
 * shows the outage and an open incident; within 15 s a webhook (headers verified with
 * `standardwebhooks`), an email (through a real SMTP server) and a Telegram request (checked against
 * the Bot API's format) arrive, each carrying or linking the update, whose Ed25519 signature
 * verifies. Restart the exchange: the incident goes to monitoring, then resolved, and every
 * subscriber hears both.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import { type RunningStatus, start_status } from "../../src/status/service.js";
import { verify_document } from "../../src/status/signing.js";
import { smtp_receiver, telegram_api, webhook_receiver } from "../helpers/channels.js";
import { spawn_node } from "../helpers/nodes.js";
import { until } from "../helpers/wait.js";

const TOKEN = "654321:XYZ-abc1234ghIkl-zyx57W2v1u123ew22";

describe("an outage, told on every channel", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-outage-"));
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it("kill -9 → summary in 10 s, webhook + email + Telegram in 15 s, signed; restart → monitoring, resolved, heard", async () => {
    let secret = "";
    const hooks = await webhook_receiver(() => secret);
    const smtp = await smtp_receiver();
    const telegram = await telegram_api(TOKEN);
    cleanup.push(
      () => hooks.close(),
      () => smtp.close(),
      () => telegram.close(),
    );
    const exchange_dir = join(dir, "exchange");
    const first = await spawn_node(exchange_dir);
    let node: ChildProcess = first.child;
    cleanup.push(() => node.kill("SIGKILL"));
    const options = (port: number) => ({
      data_dir: join(dir, "status"),
      host: "127.0.0.1",
      port: 0,
      watch: [`http://127.0.0.1:${port}`],
      probe_interval_ms: 500,
      rounds_to_change: 2,
      quiet_ms: 2000,
      name: "Holdfast",
      allow_internal_webhooks: true,
      smtp_url: smtp.url,
      telegram_token: TOKEN,
      telegram_api: telegram.url,
      log: () => {},
    });
    let status: RunningStatus = await start_status(options(first.port));
    cleanup.push(() => status.close());
    const base = () => `http://127.0.0.1:${status.port}`;

    // subscribers: a webhook, a confirmed email address, a Telegram chat
    secret = (
      (await admin_request(status.admin_socket, "POST", "/v1/webhooks", { url: `${hooks.url}/hook` }))
        .body as { secret: string }
    ).secret;
    await fetch(`${base()}/api/v2/subscriptions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "ops@example.test" }),
    });
    const confirm = await until("confirmation", 5000, () => smtp.mails[0] ?? null);
    const link = /http:\/\/\S+\/subscriptions\/confirm\?token=[A-Za-z0-9_-]+/.exec(
      confirm.text ?? "",
    )?.[0] as string;
    assert.equal((await fetch(link)).status, 200);
    await admin_request(status.admin_socket, "POST", "/v1/telegram-chats", { chat_id: "-1001234567890" });
    const key = createPublicKey(
      ((await (await fetch(`${base()}/api/v2/signing-key.json`)).json()) as { public_key_pem: string })
        .public_key_pem,
    );

    node.kill("SIGKILL");
    const killed_at = Date.now();
    await until("the summary to show the outage", 10_000, async () => {
      const s = (await (await fetch(`${base()}/api/v2/summary.json`)).json()) as {
        status: { indicator: string };
        incidents: { name: string }[];
      };
      return s.status.indicator === "critical" && s.incidents.some((i) => i.name === "Exchange unreachable")
        ? s
        : null;
    });
    const summary_ms = Date.now() - killed_at;

    const about = (status_name: string) => ({
      hook: () =>
        hooks.received.find((h) => {
          const u = h.body.update as { incident_name: string; status: string };
          return u.incident_name === "Exchange unreachable" && u.status === status_name;
        }) ?? null,
      mail: () =>
        smtp.mails.find((m) => m.subject === `[Holdfast status] Exchange unreachable: ${status_name}`) ??
        null,
      telegram: () =>
        telegram.requests.find((r) => r.text.startsWith(`<b>Exchange unreachable</b>: ${status_name}`)) ??
        null,
    });
    const investigating = about("investigating");
    const hook = await until("the webhook", 15_000, investigating.hook);
    const mail = await until("the email", 15_000, investigating.mail);
    const tg = await until("the Telegram message", 15_000, investigating.telegram);
    const channels_ms = Date.now() - killed_at;
    assert.ok(
      summary_ms <= 10_000 && channels_ms <= 15_000,
      `summary ${summary_ms} ms, channels ${channels_ms} ms`,
    );

    assert.ok(hook.verified, "Standard Webhooks headers verify");
    assert.ok(verify_document(hook.body, key).every((c) => c.ok));
    const attached = mail.attachments.find((a) => a.filename === "update.json");
    assert.ok(attached !== undefined);
    const mail_checks = verify_document(JSON.parse(attached.content.toString("utf8")), key);
    assert.ok(mail_checks.length >= 2 && mail_checks.every((c) => c.ok));
    const signed_url = /<a href="([^"]+\.json)">signed update<\/a>/.exec(tg.text)?.[1] as string;
    const linked = (await (await fetch(signed_url)).json()) as Record<string, unknown>;
    const tg_checks = verify_document(linked, key);
    assert.ok(tg_checks.length >= 1 && tg_checks.every((c) => c.ok));

    // the exchange comes back (a restarted node takes a new port in tests): monitoring, then resolved
    const again = await spawn_node(exchange_dir);
    node = again.child;
    await status.close();
    status = await start_status(options(again.port));
    for (const phase of ["monitoring", "resolved"]) {
      const a = about(phase);
      await until(`the webhook: ${phase}`, 15_000, a.hook);
      await until(`the email: ${phase}`, 15_000, a.mail);
      await until(`the Telegram message: ${phase}`, 15_000, a.telegram);
    }
    assert.ok(hooks.received.every((h) => h.verified));
    assert.ok(telegram.requests.every((r) => r.status === 200));
  });
});
