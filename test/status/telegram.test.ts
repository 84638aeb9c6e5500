/**
 * Telegram through a local server that checks each request as the Bot API documents sendMessage
 * (POST /bot<token>/sendMessage, JSON, chat_id, text of 1-4096 characters, parse_mode HTML with only
 * Telegram's tags and entities) and answers as Telegram does: a 429 with parameters.retry_after is
 * waited out; "chat not found" is final. The message links the signed update, which verifies.
 */
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import type { RunningStatus } from "../../src/status/service.js";
import { verify_document } from "../../src/status/signing.js";
import { StatusStore } from "../../src/status/store.js";
import { update_text } from "../../src/status/telegram.js";
import { telegram_api } from "../helpers/channels.js";
import { demo_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";

const TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";

describe("Telegram", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-tg-"));
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sendMessage as the Bot API defines it; retry_after honoured; chat not found is final", async () => {
    let limited = false;
    const api = await telegram_api(TOKEN, (chat_id) => {
      if (chat_id === "-1009999") return 400;
      if (!limited) {
        limited = true;
        return 429;
      }
      return 200;
    });
    cleanup.push(() => api.close());
    const requests = api.requests;
    const node = await demo_node("hf-tg-node-");
    cleanup.push(() => node.remove());
    const status: RunningStatus = await test_status(
      join(dir, "status"),
      `http://127.0.0.1:${node.running.port}`,
      { telegram_token: TOKEN, telegram_api: api.url, retry_schedule_ms: [0, 200, 400, 800] },
    );
    cleanup.push(() => status.close());
    for (const chat of ["-1001234567890", "-1009999"])
      assert.equal(
        (await admin_request(status.admin_socket, "POST", "/v1/telegram-chats", { chat_id: chat })).status,
        200,
      );
    assert.equal(
      (await admin_request(status.admin_socket, "POST", "/v1/telegram-chats", { chat_id: "not a chat" }))
        .status,
      400,
    );

    const opened = await admin_request(status.admin_socket, "POST", "/v1/incidents", {
      name: "Deposits <delayed> & queued",
      body: 'A node lags: <b>"not bold"</b> & more.',
    });
    const id = (opened.body as { id: string }).id;
    const deadline = Date.now() + 10_000;
    while (!requests.some((r) => r.status === 200)) {
      assert.ok(Date.now() < deadline, JSON.stringify(requests));
      await new Promise((r) => setTimeout(r, 50));
    }
    const [first, ...rest] = requests.filter((r) => r.chat_id === "-1001234567890");
    assert.equal(first.status, 429);
    const sent = rest.find((r) => r.status === 200);
    assert.ok(sent !== undefined);
    assert.ok(sent.at - first.at >= 900, `waited ${sent.at - first.at} ms after retry_after 1`);
    assert.match(sent.text, /^<b>Deposits &lt;delayed&gt; &amp; queued<\/b>: investigating\n/);
    assert.match(sent.text, /A node lags: &lt;b&gt;&quot;not bold&quot;&lt;\/b&gt; &amp; more\./);
    const signed_url = /<a href="([^"]+\.json)">signed update<\/a>/.exec(sent.text)?.[1] as string;
    assert.equal(signed_url, `http://127.0.0.1:${status.port}/api/v2/incidents/${id}.json`);
    const signed = (await (await fetch(signed_url)).json()) as Record<string, unknown>;
    const key = createPublicKey(
      (
        (await (await fetch(`http://127.0.0.1:${status.port}/api/v2/signing-key.json`)).json()) as {
          public_key_pem: string;
        }
      ).public_key_pem,
    );
    const checks = verify_document(signed, key);
    assert.ok(checks.length >= 1 && checks.every((c) => c.ok));

    // the unknown chat: one request, then failed for good
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(requests.filter((r) => r.chat_id === "-1009999").length, 1);
    const store = new StatusStore(join(dir, "status", "status.sqlite"));
    const notices = store.notices().filter((n) => n.channel === "telegram");
    store.close();
    assert.deepEqual(notices.map((n) => [n.target_id, n.state]).sort(), [
      ["-1001234567890", "delivered"],
      ["-1009999", "failed"],
    ]);
  });

  it("a maintenance's statuses read as words: in progress, reopening (its staged end)", () => {
    const info = { name: "Holdfast", url: "https://status.example" };
    const text = (status: string) =>
      update_text(
        info,
        "maintenance",
        { incident_name: "Upgrade", incident_id: "m1", status, body: "b", created_at: "" },
        "k",
      ).split("\n")[0];
    assert.equal(text("in_progress"), "<b>Upgrade</b>: in progress");
    assert.equal(text("verifying"), "<b>Upgrade</b>: reopening");
    assert.equal(text("completed"), "<b>Upgrade</b>: completed");
  });
});
