/**
 * The operator's web page in real Chromium with JavaScript off: an operator created with
 * `holdfast status admin passwd` logs in, opens an incident and posts an update through the forms,
 * and the public summary shows them. Without a session the page sends you to the login; a POST
 * without the session's CSRF token is refused; failed logins are limited.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import type { RunningStatus } from "../../src/status/service.js";
import { launch_browser } from "../helpers/browser.js";
import { BIN, demo_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";

/** `holdfast status admin passwd`, the password on standard input. */
const passwd = (dir: string, user: string, password: string): Promise<number | null> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "status", "admin", "passwd", user, "--data-dir", dir], {
      stdio: ["pipe", "ignore", "inherit"],
    });
    child.stdin.end(`${password}\n`);
    child.on("exit", resolve);
  });

describe("status admin web page", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-admin-page-"));
  let node: Awaited<ReturnType<typeof demo_node>> | null = null;
  let status: RunningStatus | null = null;
  let browser: Browser | null = null;
  after(async () => {
    await browser?.close();
    await status?.close();
    await node?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("login, open and update an incident through the forms; CSRF and login limits", async () => {
    node = await demo_node("hf-admin-page-node-");
    const status_dir = join(dir, "status");
    status = await test_status(status_dir, `http://127.0.0.1:${node.running.port}`);
    const base = `http://127.0.0.1:${status.port}`;
    assert.equal(await passwd(status_dir, "ops", "short"), 1, "a password under 12 characters is refused");
    assert.equal(await passwd(status_dir, "ops", "correct horse battery staple"), 0);

    // no session: to the login page; a forged POST: refused
    const anonymous = await fetch(`${base}/admin`, { redirect: "manual" });
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.get("location"), "/admin/login");
    const forged = await fetch(`${base}/admin/act`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "action=open&name=x&body=y&csrf=guess",
    });
    assert.equal(forged.status, 403);

    browser = await launch_browser();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${base}/admin`);
    assert.ok(page.url().endsWith("/admin/login"));
    await page.getByLabel("Username").fill("ops");
    await page.getByLabel("Password").fill("wrong password here");
    await page.getByRole("button", { name: "Log in" }).click();
    assert.match((await page.getByRole("alert").textContent()) ?? "", /Wrong username or password/);
    await page.getByLabel("Username").fill("ops");
    await page.getByLabel("Password").fill("correct horse battery staple");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`${base}/admin`);
    const cookie = (await context.cookies()).find((c) => c.name === "hf_status_admin");
    assert.ok(cookie !== undefined);
    assert.ok(cookie.httpOnly && cookie.sameSite === "Strict" && cookie.path === "/admin");

    await page.getByLabel("Title").first().fill("Withdrawals delayed <b>");
    await page.getByLabel("First update").fill("A signing queue is stuck; funds are safe.");
    await page.getByLabel("Affected component").selectOption("withdrawals");
    await page.getByLabel("Show it as").selectOption("partial_outage");
    await page.getByRole("button", { name: "Open" }).click();
    assert.equal((await page.getByRole("status").textContent())?.trim(), "Done.");
    const summary = async () =>
      (await (await fetch(`${base}/api/v2/summary.json`)).json()) as {
        components: { id: string; status: string }[];
        incidents: { name: string; status: string; incident_updates: { body: string }[] }[];
      };
    let s = await summary();
    assert.deepEqual(
      s.incidents.map((i) => [i.name, i.status]),
      [["Withdrawals delayed <b>", "investigating"]],
    );
    assert.equal(s.components.find((c) => c.id === "withdrawals")?.status, "partial_outage");
    assert.ok(
      (await page.content()).includes("Withdrawals delayed &lt;b&gt;"),
      "escaped on the admin page too",
    );

    await page.getByLabel("New status").selectOption("identified");
    await page.getByLabel("Update", { exact: true }).fill("Found it: a full disk on the signer.");
    await page.getByRole("button", { name: "Post update" }).click();
    assert.equal((await page.getByRole("status").textContent())?.trim(), "Done.");
    s = await summary();
    assert.equal(s.incidents[0].status, "identified");
    assert.equal(s.incidents[0].incident_updates[0].body, "Found it: a full disk on the signer.");

    // a component override and a maintenance window through the page
    await page
      .locator("form", { hasText: "WebSocket streams (probes:" })
      .getByRole("combobox")
      .selectOption("degraded_performance");
    await page
      .locator("form", { hasText: "WebSocket streams (probes:" })
      .getByRole("button", { name: "Set" })
      .click();
    assert.equal(
      (await summary()).components.find((c) => c.id === "websocket-streams")?.status,
      "degraded_performance",
    );
    const form = page.locator("section", {
      has: page.getByRole("heading", { name: "Schedule maintenance" }),
    });
    await form.getByLabel("Title").fill("Disk upgrade");
    await form.getByLabel("Start (UTC, ISO 8601)").fill(new Date(Date.now() + 3_600_000).toISOString());
    await form.getByLabel("End (UTC, ISO 8601)").fill(new Date(Date.now() + 7_200_000).toISOString());
    await form.getByLabel("What users should know").fill("Ten minutes of cancel-only.");
    await form.getByRole("button", { name: "Schedule" }).click();
    assert.equal((await page.getByRole("status").textContent())?.trim(), "Done.");
    const upcoming = (await (await fetch(`${base}/api/v2/scheduled-maintenances/upcoming.json`)).json()) as {
      scheduled_maintenances: { name: string; status: string }[];
    };
    assert.deepEqual(
      upcoming.scheduled_maintenances.map((m) => [m.name, m.status]),
      [["Disk upgrade", "scheduled"]],
    );

    // an invalid action through the form is refused by the same checks as the CLI
    await page.getByLabel("Title").first().fill("   ");
    await page.getByLabel("First update").fill("x");
    await page.getByRole("button", { name: "Open" }).click();
    assert.match((await page.getByRole("status").textContent()) ?? "", /^Refused:/);

    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(`${base}/admin/login`);
    assert.equal(
      (
        await fetch(`${base}/admin`, {
          redirect: "manual",
          headers: { cookie: `hf_status_admin=${cookie.value}` },
        })
      ).status,
      303,
    );
    await context.close();

    // failed logins are limited per address
    let limited = false;
    for (let i = 0; i < 7 && !limited; i++) {
      const r = await fetch(`${base}/admin/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "username=ops&password=nope-nope-nope",
      });
      limited = r.status === 429;
    }
    assert.ok(limited);
  });
});
