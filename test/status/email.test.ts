/**
 * Email subscribers against a real SMTP server (smtp-server) and a real parser (mailparser): double
 * opt-in, an update email with the List-Unsubscribe headers and the signed update attached (it
 * verifies), one-click unsubscribe (RFC 8058) that stops the next one, and refused bad addresses.
 */
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ParsedMail } from "mailparser";
import { admin_request } from "../../src/admin/client.js";
import type { RunningStatus } from "../../src/status/service.js";
import { verify_document } from "../../src/status/signing.js";
import { smtp_receiver } from "../helpers/channels.js";
import { demo_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";
import { until } from "../helpers/wait.js";

describe("email subscribers", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-email-"));
  let mails: ParsedMail[] = [];
  let smtp: Awaited<ReturnType<typeof smtp_receiver>>;
  let node: Awaited<ReturnType<typeof demo_node>>;
  let status: RunningStatus;
  let base = "";

  before(async () => {
    smtp = await smtp_receiver();
    mails = smtp.mails;
    node = await demo_node("hf-email-node-");
    status = await test_status(join(dir, "status"), `http://127.0.0.1:${node.running.port}`, {
      smtp_url: smtp.url,
      mail_from: "Holdfast test status <status@holdfast.test>",
      retry_schedule_ms: [0, 200, 400],
    });
    base = `http://127.0.0.1:${status.port}`;
  });
  after(async () => {
    await status.close();
    await node.remove();
    await smtp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const subscribe = (email: unknown) =>
    fetch(`${base}/api/v2/subscriptions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email }),
    });
  const to = (m: ParsedMail) => (Array.isArray(m.to) ? m.to[0] : m.to)?.value[0]?.address;

  it("double opt-in, a signed update by email, one-click unsubscribe", async () => {
    for (const bad of [
      "",
      "no-at-sign",
      "a@b",
      `${"x".repeat(250)}@example.test`,
      "<script>@example.test",
      42,
      "a b@example.test",
    ])
      assert.equal((await subscribe(bad)).status, 400, String(bad));
    const r = await subscribe("Trader@Example.TEST");
    assert.equal(r.status, 202);
    const confirm = await until(
      "the confirmation email",
      5000,
      () => mails.find((m) => to(m) === "Trader@example.test") ?? null,
    );
    assert.equal(confirm.subject, "Confirm your subscription to Holdfast test status");
    assert.equal(
      (Array.isArray(confirm.from) ? confirm.from[0] : confirm.from)?.value[0]?.address,
      "status@holdfast.test",
    );
    const link = /http:\/\/\S+\/subscriptions\/confirm\?token=[A-Za-z0-9_-]+/.exec(
      confirm.text ?? "",
    )?.[0] as string;
    assert.ok(link !== undefined, confirm.text);
    // nothing but the confirmation before it is opened
    await admin_request(status.admin_socket, "POST", "/v1/incidents", {
      name: "Before confirming",
      body: "x",
    });
    const confirmed = await fetch(link);
    assert.equal(confirmed.status, 200);
    assert.match(await confirmed.text(), /Subscribed/);
    assert.equal((await fetch(link)).status, 404, "a confirmation link works once");

    const opened = await admin_request(status.admin_socket, "POST", "/v1/incidents", {
      name: "Outage drill",
      body: "Testing how we tell you about outages.",
    });
    assert.equal(opened.status, 200);
    const update = await until(
      "the update email",
      5000,
      () => mails.find((m) => m.subject?.includes("Outage drill")) ?? null,
    );
    assert.equal(update.subject, "[Holdfast test status] Outage drill: investigating");
    assert.equal(to(update), "Trader@example.test");
    assert.match(update.text ?? "", /Testing how we tell you about outages\./);
    // raw header lines (mailparser turns List-Unsubscribe into an object)
    const header = (name: string) =>
      update.headerLines.find((h) => h.key === name)?.line.replace(/^[^:]+:\s*/, "") ?? "";
    const unsubscribe = header("list-unsubscribe");
    assert.match(
      unsubscribe,
      /^<http:\/\/127\.0\.0\.1:\d+\/subscriptions\/unsubscribe\?token=[A-Za-z0-9_-]+>$/,
    );
    assert.equal(header("list-unsubscribe-post"), "List-Unsubscribe=One-Click");
    const attachment = update.attachments.find((a) => a.filename === "update.json");
    assert.ok(attachment !== undefined);
    const key = createPublicKey(
      ((await (await fetch(`${base}/api/v2/signing-key.json`)).json()) as { public_key_pem: string })
        .public_key_pem,
    );
    const signed = JSON.parse(attachment.content.toString("utf8")) as Record<string, unknown>;
    const checks = verify_document(signed, key);
    assert.ok(checks.length >= 2 && checks.every((c) => c.ok));
    assert.ok(
      !mails.some((m) => m.subject?.includes("Before confirming")),
      "no update before the confirmation",
    );

    // one-click unsubscribe, as a mail client does it (RFC 8058)
    const url = unsubscribe.slice(1, -1);
    const page = await fetch(url);
    assert.match(await page.text(), /<form method="post"/, "GET shows a button, it does not unsubscribe");
    const left = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    assert.equal(left.status, 200);
    const count = mails.length;
    await admin_request(status.admin_socket, "POST", "/v1/incidents", { name: "After leaving", body: "y" });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(mails.length, count, "nothing after unsubscribing");
  });

  it("the page's form works without JavaScript; requests are rate-limited per address", async () => {
    const form = await fetch(`${base}/api/v2/subscriptions`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=form%40example.test",
    });
    assert.equal(form.status, 202);
    assert.match(await form.text(), /Check your inbox/);
    assert.match(
      await (await fetch(`${base}/`)).text(),
      /<form method="post" action="\/api\/v2\/subscriptions"/,
    );
    let limited = false;
    for (let i = 0; i < 12 && !limited; i++) limited = (await subscribe(`n${i}@example.test`)).status === 429;
    assert.ok(limited, "the 11th request in a minute from one address is refused");
  });
});
