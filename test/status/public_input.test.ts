/**
 * Bad input on the status service's public side, property-based: subscription requests (JSON and
 * form, any body), confirmation and unsubscribe links with any token, the verify box with anything
 * pasted, the operator page's log-in and actions without a session, incident paths and any other
 * path, query or method. The page is the one thing users read
 * while the exchange is in trouble: no input may take it down. Every answer is below 500 and the
 * service still serves its documents afterwards.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { seed } from "../engine/gen.js";
import { test_status } from "../helpers/status.js";

const text = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.constantFrom("a@b.co", "ＡＢ@例え.jp", "x".repeat(5000), "\u0000", "%", "../../etc/passwd", "__proto__"),
);
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

const request = fc.oneof(
  fc.record({
    method: fc.constant("POST"),
    path: fc.constant("/api/v2/subscriptions"),
    type: fc.constantFrom("application/json", "application/x-www-form-urlencoded", "text/plain"),
    body: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ""),
      text.map((t) => form({ email: t })),
      text,
    ),
  }),
  fc.record({
    method: fc.constantFrom("GET", "POST"),
    path: fc
      .tuple(fc.constantFrom("/subscriptions/confirm", "/subscriptions/unsubscribe"), text)
      .map(([p, t]) => `${p}?token=${encodeURIComponent(t)}`),
    type: fc.constant("application/x-www-form-urlencoded"),
    body: fc.constant(""),
  }),
  fc.record({
    method: fc.constant("POST"),
    path: fc.constant("/verify"),
    type: fc.constantFrom("application/x-www-form-urlencoded", "application/json"),
    body: fc.oneof(
      text.map((t) => form({ json: t })),
      fc.jsonValue({ maxDepth: 3 }).map((v) => form({ json: JSON.stringify(v) ?? "" })),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ json: v })),
    ),
  }),
  // the operator's page: log-in and actions without a session
  fc.record({
    method: fc.constant("POST"),
    path: fc.constantFrom("/admin/login", "/admin/act", "/admin/logout"),
    type: fc.constantFrom("application/x-www-form-urlencoded", "application/json"),
    body: fc.oneof(
      fc.tuple(text, text, text).map(([u, p, a]) => form({ username: u, password: p, action: a, csrf: p })),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ""),
    ),
  }),
  fc.record({
    method: fc.constantFrom("GET", "HEAD", "DELETE", "PUT", "OPTIONS"),
    path: fc.oneof(
      text.map((t) => `/api/v2/incidents/${encodeURIComponent(t)}`),
      text.map((t) => `/incidents/${encodeURIComponent(t)}`),
      text.map((t) => `/holdfast/v1/reserves?audit=${encodeURIComponent(t)}`),
      text.map((t) => `/${encodeURIComponent(t)}?${encodeURIComponent(t)}=${encodeURIComponent(t)}`),
      fc.constantFrom("/api/v2/summary.json", "/history.atom", "/history.rss", "/api/v2/stream"),
    ),
    type: fc.constant("application/json"),
    body: fc.constant(""),
  }),
);

describe("status page: bad input (property)", () => {
  it("every request gets an answer below 500; the page still serves its documents", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-status-input-"));
    // watching an address where nothing listens: the service runs as during an outage
    const status = await test_status(dir, "http://127.0.0.1:9");
    const base = `http://127.0.0.1:${status.port}`;
    try {
      await fc.assert(
        fc.asyncProperty(request, async ({ method, path, type, body }) => {
          // an answer that never comes (its headers included) fails the run, not the suite's clock
          const controller = new AbortController();
          const timer = setTimeout(
            () => controller.abort(new Error(`no answer in 10 s: ${method} ${path}`)),
            10_000,
          );
          const answer = await fetch(`${base}${path}`, {
            method,
            headers: { "content-type": type, "if-none-match": "x" },
            body: method === "GET" || method === "HEAD" || body === "" ? undefined : body,
            signal: controller.signal,
          });
          clearTimeout(timer);
          // the live stream never ends: its head is the answer
          controller.abort();
          assert.ok(answer.status < 500, `${method} ${path} ${body.slice(0, 200)} → ${answer.status}`);
        }),
        { seed: seed(), numRuns: Number(process.env.HOLDFAST_PROPERTY_RUNS ?? 300) },
      );
      // found by this test: HEAD on the live stream was never answered
      const head = await fetch(`${base}/api/v2/stream`, {
        method: "HEAD",
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(head.status, 200);
      assert.match(head.headers.get("content-type") ?? "", /^text\/event-stream/);
      for (const doc of ["/api/v2/summary.json", "/api/v2/status.json"])
        assert.equal((await fetch(`${base}${doc}`)).status, 200);
    } finally {
      await status.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
