/**
 * Webhook subscribers, Standard Webhooks 1.0: a kill -9 of the exchange reaches a receiver that
 * verifies the headers with the `standardwebhooks` package, carrying an update whose Ed25519
 * signature verifies; Retry-After is honoured; 410 disables; internal addresses are refused.
 * The status service killed -9 in the middle of deliveries loses none after its restart, and sends
 * none twice beyond the ones in flight when it died (same webhook-id: the receiver's idempotency key).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { admin_request } from "../../src/admin/client.js";
import { check_webhook_url } from "../../src/status/notify.js";
import type { RunningStatus } from "../../src/status/service.js";
import { verify_document } from "../../src/status/signing.js";
import { StatusStore } from "../../src/status/store.js";
import { BIN, spawn_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";
import { until } from "../helpers/wait.js";

type Received = { id: string; path: string; body: Record<string, unknown>; verified: boolean };

/** A receiver: verifies every request with the secret of its path; behaviour per path. */
function receiver(
  secrets: Map<string, string>,
  behave: (
    path: string,
    id: string,
  ) => { status: number; delay_ms?: number; headers?: Record<string, string> },
) {
  const received: Received[] = [];
  const started: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const path = request.url ?? "";
      const id = String(request.headers["webhook-id"]);
      started.push(id);
      let verified = false;
      try {
        new Webhook(secrets.get(path) as string).verify(text, request.headers as Record<string, string>);
        verified = true;
      } catch {
        verified = false;
      }
      const b = behave(path, id);
      setTimeout(() => {
        if (b.status >= 200 && b.status < 300)
          received.push({ id, path, body: JSON.parse(text) as Record<string, unknown>, verified });
        response.writeHead(b.status, b.headers ?? {});
        response.end();
      }, b.delay_ms ?? 0);
    });
  });
  return {
    received,
    started,
    server,
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, "127.0.0.1", () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
  };
}

describe("webhook subscribers", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-hooks-"));
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses internal and malformed targets unless allowed", async () => {
    for (const url of [
      "http://127.0.0.1/x",
      "http://10.1.2.3/x",
      "http://192.168.1.1/x",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/x",
      "http://localhost/x",
      "http://0.0.0.0/x",
    ])
      assert.match(String(await check_webhook_url(url, false)), /internal address/, url);
    assert.match(String(await check_webhook_url("ftp://example.com/x", false)), /only http and https/);
    assert.match(String(await check_webhook_url("http://u:p@example.com/x", false)), /no credentials/);
    assert.match(String(await check_webhook_url("not a url", false)), /not a URL/);
    assert.match(String(await check_webhook_url(`http://x.com/${"a".repeat(3000)}`, false)), /longer than/);
    assert.equal(await check_webhook_url("http://127.0.0.1/x", true), null);
  });

  it("an outage reaches a verifying receiver with a signed update; Retry-After honoured; 410 disables", async () => {
    const exchange_dir = join(dir, "exchange");
    const started = await spawn_node(exchange_dir);
    const node: ChildProcess = started.child;
    cleanup.push(() => node.kill("SIGKILL"));
    const secrets = new Map<string, string>();
    const flaky_seen = new Set<string>();
    const r = receiver(secrets, (path, id) => {
      if (path === "/gone") return { status: 410 };
      if (path === "/flaky" && !flaky_seen.has(id)) {
        flaky_seen.add(id);
        return { status: 503, headers: { "retry-after": "1" } };
      }
      return { status: 200 };
    });
    const base = await r.listen();
    cleanup.push(() => new Promise((resolve) => r.server.close(resolve)));
    const status: RunningStatus = await test_status(join(dir, "status"), `http://127.0.0.1:${started.port}`, {
      allow_internal_webhooks: true,
      retry_schedule_ms: [0, 300, 600, 1200],
    });
    cleanup.push(() => status.close());
    for (const path of ["/ok", "/gone", "/flaky"]) {
      const added = await admin_request(status.admin_socket, "POST", "/v1/webhooks", {
        url: `${base}${path}`,
      });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      const secret = (added.body as { secret: string }).secret;
      assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      secrets.set(path, secret);
    }

    node.kill("SIGKILL");
    const killed_at = Date.now();
    const first = await until(
      "a webhook about the outage",
      15_000,
      () =>
        r.received.find(
          (x) =>
            x.path === "/ok" &&
            (x.body.update as { incident_name?: string }).incident_name === "Exchange unreachable",
        ) ?? null,
    );
    assert.ok(Date.now() - killed_at <= 15_000);
    assert.ok(first.verified, "Standard Webhooks signature verifies with the subscriber's secret");
    assert.equal(first.body.type, "incident.updated");
    assert.equal((first.body.update as { status: string }).status, "investigating");
    const key = createPublicKey(
      (
        (await (await fetch(`http://127.0.0.1:${status.port}/api/v2/signing-key.json`)).json()) as {
          public_key_pem: string;
        }
      ).public_key_pem,
    );
    const checks = verify_document(first.body, key);
    assert.ok(checks.length >= 2 && checks.every((c) => c.ok), JSON.stringify(checks));

    const flaky = await until(
      "the flaky receiver, after its 503 + Retry-After",
      10_000,
      () => r.received.find((x) => x.path === "/flaky") ?? null,
    );
    assert.ok(flaky.verified);
    const hooks = (await admin_request(status.admin_socket, "GET", "/v1/webhooks")).body as {
      url: string;
      disabled_reason: string | null;
    }[];
    assert.equal(
      hooks.find((h) => h.url.endsWith("/gone"))?.disabled_reason,
      "the endpoint answered 410 Gone",
    );
    assert.equal(hooks.find((h) => h.url.endsWith("/ok"))?.disabled_reason, null);
  });

  it("a status service killed -9 mid-delivery delivers every notice after restart, none twice beyond those in flight", async () => {
    const status_dir = join(dir, "status-kill");
    const secrets = new Map<string, string>();
    const r = receiver(secrets, () => ({ status: 200, delay_ms: 700 }));
    const base = await r.listen();
    cleanup.push(() => new Promise((resolve) => r.server.close(resolve)));
    const start = () =>
      new Promise<{ child: ChildProcess; port: number }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            BIN,
            "status",
            "--watch",
            "http://127.0.0.1:9",
            "--data-dir",
            status_dir,
            "--port",
            "0",
            "--allow-internal-webhooks",
            "--retry-schedule-ms",
            "0,300,600,1200,2400",
          ],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        let out = "";
        child.stdout.on("data", (b: Buffer) => {
          out += b.toString();
          const m = /ready at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
          if (m !== null) resolve({ child, port: Number(m[1]) });
        });
        child.on("exit", (code) => reject(new Error(`status exited ${code}`)));
      });
    let svc = await start();
    cleanup.push(() => svc.child.kill("SIGKILL"));
    const socket = join(status_dir, "admin.sock");
    const added = await admin_request(socket, "POST", "/v1/webhooks", { url: `${base}/slow` });
    secrets.set("/slow", (added.body as { secret: string }).secret);
    const opened: string[] = [];
    for (let i = 0; i < 6; i++) {
      const o = await admin_request(socket, "POST", "/v1/incidents", {
        name: `Incident ${i}`,
        body: `Update ${i}`,
      });
      opened.push((o.body as { id: string }).id);
    }
    // some deliveries are in flight (the receiver holds each 700 ms): kill the service now
    await until("deliveries in flight", 5000, () => (r.started.length > 0 ? true : null));
    svc.child.kill("SIGKILL");
    await new Promise((resolve) => svc.child.once("exit", resolve));
    const in_flight_at_kill = r.started.length - r.received.length;
    svc = await start();
    const unique = await until("all six notices", 20_000, () => {
      const ids = new Set(r.received.map((x) => x.id));
      return ids.size >= 6 ? ids : null;
    });
    assert.equal(unique.size, 6);
    assert.ok(r.received.every((x) => x.verified));
    const names = new Set(r.received.map((x) => (x.body.update as { incident_name: string }).incident_name));
    assert.deepEqual([...names].sort(), opened.map((_, i) => `Incident ${i}`).sort());
    const duplicates = r.received.length - unique.size;
    assert.ok(
      duplicates <= in_flight_at_kill,
      `${duplicates} repeats, ${in_flight_at_kill} in flight at the kill`,
    );
    const store = new StatusStore(join(status_dir, "status.sqlite"));
    await until("all marked delivered", 5000, () =>
      store.notices().every((n) => n.state === "delivered") ? true : null,
    );
    store.close();
    svc.child.kill("SIGTERM");
  });
});
