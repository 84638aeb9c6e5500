/**
 * `npm run bench:web [-- --runs N]`: the web app's first load, as a browser sees it. Starts a demo
 * node (with its market maker), opens the trading page in headless Chromium with an empty cache, and
 * counts the bytes actually transferred (compressed, as served) per kind, and the time until the order
 * book shows its first level. The budget is 300 KB of compressed JavaScript for the initial load; the
 * time is shown against the same page's load of the bare `index.html` (a baseline in the same run:
 * what the network and browser cost without the app). Progress on stderr; the last stdout line is JSON.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start_node } from "../../src/server/start.js";
import { launch_browser } from "../../test/helpers/browser.js";

const args = process.argv.slice(2);
const RUNS = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 5;
const JS_BUDGET_BYTES = 300 * 1000;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), "hf-bench-web-"));
const node = await start_node({
  data_dir: dir,
  host: "127.0.0.1",
  port: 0,
  admin_socket: null,
  demo: true,
  log: () => {},
});
const base = `http://127.0.0.1:${node.port}`;
const browser = await launch_browser();
try {
  const bytes: Record<string, number> = {};
  const loads_ms: number[] = [];
  const bare_ms: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext(); // an empty cache each run
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    const kinds = new Map<string, string>();
    const sizes: Record<string, number> = {};
    cdp.on("Network.responseReceived", (e) => kinds.set(e.requestId, e.type));
    cdp.on("Network.loadingFinished", (e) => {
      const kind = (kinds.get(e.requestId) ?? "Other").toLowerCase();
      sizes[kind] = (sizes[kind] ?? 0) + e.encodedDataLength;
    });
    const start = performance.now();
    await page.goto(`${base}/trade/BTCUSDT`);
    await page.getByTestId("bids").locator("tr").first().waitFor();
    loads_ms.push(performance.now() - start);
    if (run === 0) Object.assign(bytes, sizes);
    await context.close();
    // the baseline: a cold context fetching only the HTML document, no app
    const bare = await browser.newContext();
    const bare_page = await bare.newPage();
    await bare_page.route("**/assets/**", (r) => r.abort());
    const bare_start = performance.now();
    await bare_page.goto(`${base}/index.html`, { waitUntil: "load" });
    bare_ms.push(performance.now() - bare_start);
    await bare.close();
    log(`run ${run + 1}/${RUNS}: book shown after ${loads_ms.at(-1)?.toFixed(0)} ms`);
  }
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const js = bytes.script ?? 0;
  const result = {
    bench: "web",
    date: new Date().toISOString(),
    runs: RUNS,
    transferred_bytes: bytes,
    initial_js_compressed_bytes: js,
    js_budget_bytes: JS_BUDGET_BYTES,
    js_within_budget: js <= JS_BUDGET_BYTES,
    book_shown_ms_median: Math.round(median(loads_ms)),
    bare_index_ms_median: Math.round(median(bare_ms)),
  };
  console.log(
    `initial JavaScript transferred: ${(js / 1000).toFixed(1)} KB (budget ${JS_BUDGET_BYTES / 1000} KB: ${
      result.js_within_budget ? "within" : "OVER"
    }); everything: ${Object.entries(bytes)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} KB`)
      .join(", ")}`,
  );
  console.log(
    `trading page to first book level: median ${result.book_shown_ms_median} ms over ${RUNS} cold loads (bare index.html: ${result.bare_index_ms_median} ms)`,
  );
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  await node.close();
  rmSync(dir, { recursive: true, force: true });
}
