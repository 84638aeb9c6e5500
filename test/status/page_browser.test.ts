/**
 * The status page in real headless Chromium, with JavaScript off: during an outage it renders the
 * outage banner, the open incident with its update, every component and the uptime bars; it is
 * structured for assistive technology (lang, one h1, landmarks, a live status banner); light and dark
 * follow the reader's setting. Screenshots are kept in test-artifacts/.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import type { RunningStatus } from "../../src/status/service.js";
import { artifact, launch_browser } from "../helpers/browser.js";
import { spawn_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";

describe("status page in Chromium", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-page-"));
  let node: ChildProcess | null = null;
  let status: RunningStatus | null = null;
  let browser: Browser | null = null;
  after(async () => {
    await browser?.close();
    node?.kill("SIGKILL");
    await status?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows the outage and its incident without JavaScript; accessible; light and dark", async () => {
    const started = await spawn_node(join(dir, "exchange"));
    node = started.child;
    status = await test_status(join(dir, "status"), `http://127.0.0.1:${started.port}`, {
      probe_interval_ms: 300,
      name: "Holdfast",
    });
    node.kill("SIGKILL");
    const url = `http://127.0.0.1:${status.port}/`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const s = (await (await fetch(`${url}api/v2/incidents/unresolved.json`)).json()) as {
        incidents: unknown[];
      };
      if (s.incidents.length > 0) break;
      assert.ok(Date.now() < deadline, "an incident within 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }

    browser = await launch_browser();
    for (const scheme of ["light", "dark"] as const) {
      const context = await browser.newContext({ javaScriptEnabled: false, colorScheme: scheme });
      const page = await context.newPage();
      const response = await page.goto(url);
      assert.equal(response?.status(), 200);
      assert.equal(await page.getAttribute("html", "lang"), "en");
      assert.equal(await page.locator("h1").count(), 1);
      assert.equal(await page.locator("main").count(), 1);
      const banner = page.getByRole("status");
      assert.equal((await banner.textContent())?.trim(), "Major System Outage");
      const open = page.locator("section", { has: page.getByRole("heading", { name: "Open incidents" }) });
      assert.ok(await open.getByRole("heading", { name: "Exchange unreachable" }).isVisible());
      assert.match(
        (await open.textContent()) ?? "",
        /investigating — Automated checks found a problem: REST API down/,
      );
      const components = page.locator("li.component");
      assert.equal(await components.count(), 8);
      assert.match((await components.first().textContent()) ?? "", /REST API\s*down/);
      assert.equal(await page.locator("svg.bars").count(), 8);
      const background = await page.evaluate("getComputedStyle(document.body).backgroundColor");
      assert.equal(background, scheme === "dark" ? "rgb(13, 17, 23)" : "rgb(255, 255, 255)");
      const shot = artifact(`status-page-${scheme}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(existsSync(shot) && statSync(shot).size > 10_000);
      await context.close();
    }

    // the verify box, without JavaScript: the summary as served is authentic; an altered copy is not
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const summary = await (await fetch(`${url}api/v2/summary.json`)).text();
    for (const [text, expected] of [
      [summary, /Authentic: every signature verifies/],
      [summary.replace("Exchange unreachable", "Scheduled maintenance"), /NOT AUTHENTIC: forged or altered/],
      ["{not json", /That is not JSON/],
    ] as [string, RegExp][]) {
      await page.goto(url);
      await page.getByLabel("Update, incident or summary (JSON)").fill(text);
      await page.getByRole("button", { name: "Check the signatures" }).click();
      await page.waitForURL(`${url}verify`);
      assert.match((await page.locator("main").textContent()) ?? "", expected);
    }
    await context.close();
  });
});
