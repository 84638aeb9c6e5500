/**
 * The status service's operator interface through the real CLI (`holdfast status admin …`): open,
 * update and resolve an incident, override a component and hand it back; bad input is refused with
 * nothing changed, and text that looks like markup is shown as text.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import type { RunningStatus } from "../../src/status/service.js";
import { demo_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";
import { cli, until } from "../helpers/wait.js";

type Summary = {
  components: { id: string; status: string }[];
  incidents: {
    id: string;
    name: string;
    status: string;
    impact: string;
    incident_updates: { status: string; body: string }[];
  }[];
};

describe("status service admin", () => {
  let node: Awaited<ReturnType<typeof demo_node>>;
  let status: RunningStatus;
  const dir = mkdtempSync(join(tmpdir(), "hf-status-admin-"));
  const admin = (args: string[]) => cli(["status", "admin", ...args, "--data-dir", dir]);
  const summary = async () =>
    (await (await fetch(`http://127.0.0.1:${status.port}/api/v2/summary.json`)).json()) as Summary;
  const shown = async (id: string) => (await summary()).components.find((c) => c.id === id)?.status;

  before(async () => {
    node = await demo_node("hf-status-admin-node-");
    status = await test_status(dir, `http://127.0.0.1:${node.running.port}`);
  });
  after(async () => {
    await status.close();
    await node.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opens, updates and resolves an incident; overrides a component and hands it back", async () => {
    assert.equal(statSync(status.admin_socket).mode & 0o777, 0o600);
    // live push: the current summary on connecting, a new one on every change
    const stream = await fetch(`http://127.0.0.1:${status.port}/api/v2/stream`);
    assert.match(stream.headers.get("content-type") ?? "", /text\/event-stream/);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const events: Summary[] = [];
    let buffer = "";
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += Buffer.from(value).toString("utf8");
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split("\n").find((l) => l.startsWith("data: "));
          if (frame.includes("event: summary") && data !== undefined)
            events.push(JSON.parse(data.slice(6)) as Summary);
          end = buffer.indexOf("\n\n");
        }
      }
    })();
    const opened = await admin([
      "open",
      "Slow withdrawals <script>alert(1)</script>",
      "--body",
      "Withdrawals are delayed while we rotate a hot wallet.",
      "--components",
      "withdrawals",
      "--component-status",
      "partial_outage",
      "--json",
    ]);
    assert.equal(opened.code, 0, opened.stderr);
    const { id } = JSON.parse(opened.stdout) as { id: string };
    let s = await summary();
    assert.equal(s.incidents[0].name, "Slow withdrawals <script>alert(1)</script>");
    assert.equal(s.incidents[0].impact, "minor");
    assert.equal(await shown("withdrawals"), "partial_outage");
    const pushed = await until(
      "the pushed summary",
      5000,
      () =>
        events.find((e) => e.incidents.some((i) => i.id === id && i.name.startsWith("Slow withdrawals"))) ??
        null,
    );
    assert.equal(pushed.components.find((c) => c.id === "withdrawals")?.status, "partial_outage");
    assert.equal(events[0].incidents.length, 0, "the first event is the summary at connection time");
    await reader.cancel();
    await pump.catch(() => undefined);
    const page = await (await fetch(`http://127.0.0.1:${status.port}/`)).text();
    assert.ok(page.includes("Slow withdrawals &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(!page.includes("<script>alert(1)"));

    const identified = await admin(["update", id, "identified", "--body", "A stuck signing queue."]);
    assert.equal(identified.code, 0, identified.stderr);
    assert.match(identified.stdout, /identified/);
    const resolved = await admin(["update", id, "resolved", "--body", "Withdrawals are flowing again."]);
    assert.equal(resolved.code, 0, resolved.stderr);
    s = await summary();
    assert.equal(s.incidents.length, 0, "no longer unresolved");
    assert.equal(
      await shown("withdrawals"),
      "operational",
      "resolving hands the component back to the probes",
    );
    const listed = await admin(["incidents"]);
    assert.match(listed.stdout, new RegExp(`${id}\\s+resolved`));

    assert.equal((await admin(["component", "websocket-streams", "under_maintenance"])).code, 0);
    assert.equal(await shown("websocket-streams"), "under_maintenance");
    const components = await admin(["components"]);
    assert.match(
      components.stdout,
      /websocket-streams\s+under_maintenance\s+\(override; probes say operational\)/,
    );
    assert.equal((await admin(["component", "websocket-streams", "auto"])).code, 0);
    assert.equal(await shown("websocket-streams"), "operational");
  });

  it("refuses bad input and changes nothing", async () => {
    const before_count = (
      (await admin_request(status.admin_socket, "GET", "/v1/incidents")).body as unknown[]
    ).length;
    const refusals: [string[], RegExp][] = [
      [["open", "x\u0007bell", "--body", "b"], /refused \(400\)/],
      [["open", "ok", "--body", "y".repeat(5001)], /refused \(400\)/],
      [["open", "ok", "--body", "b", "--components", "no-such-thing"], /unknown components: no-such-thing/],
      [["open", "ok", "--body", "b", "--status", "resolved"], /refused \(400\)/],
      [["open", "   ", "--body", "b"], /refused \(400\)/],
      [["update", "nosuchid", "resolved", "--body", "b"], /refused \(404\)/],
      [["update", "../../etc", "resolved", "--body", "b"], /refused \(400\)/],
      [["component", "rest-api", "exploded"], /refused \(400\)/],
      [["component", "nope", "operational"], /refused \(404\)/],
    ];
    for (const [args, expected] of refusals) {
      const r = await admin(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stdout}`);
      assert.match(r.stderr, expected, args.join(" "));
    }
    const raw = await admin_request(status.admin_socket, "POST", "/v1/incidents", {
      name: "x",
      body: "y",
      extra: 1,
    });
    assert.equal(raw.status, 400, "unknown fields are refused");
    const after_count = ((await admin_request(status.admin_socket, "GET", "/v1/incidents")).body as unknown[])
      .length;
    assert.equal(after_count, before_count);
    assert.equal(await shown("rest-api"), "operational");
  });
});
