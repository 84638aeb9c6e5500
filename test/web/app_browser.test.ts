/**
 * The web app end to end, in real headless Chromium against a real node: sign up, enrol two-factor
 * login, log out and in with a TOTP code, add demo funds, place a limit order and see it in the
 * book and open orders, cancel it, cross the spread and see the fill, the trade and the balances
 * move; create an API key, use it for a signed REST call, revoke it and see the call refused. Bad
 * input in every form is refused on the page with a clear message and never sent.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Secret, TOTP } from "otpauth";
import type { Browser, Page } from "playwright-core";
import { admin_request } from "../../src/admin/client.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import { artifact, launch_browser } from "../helpers/browser.js";
import { demo_node } from "../helpers/nodes.js";
import { until } from "../helpers/wait.js";

const EMAIL = "trader@example.com";
const PASSWORD = "a long enough password";

function signed_url(base: string, path: string, params: Record<string, string>, secret: string): string {
  const q = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
  const signature = createHmac("sha256", secret).update(q).digest("hex");
  return `${base}${path}?${q}&signature=${signature}`;
}

describe("the web app in Chromium", () => {
  let node: Awaited<ReturnType<typeof demo_node>>;
  let browser: Browser;
  let page: Page;
  let base = "";
  /** Every order request the page sends: bad input must add none. */
  const order_posts: string[] = [];
  /** Every POST to the web API, by path. */
  const web_posts: string[] = [];
  let totp_secret = "";

  before(async () => {
    node = await demo_node("hf-web-");
    base = `http://127.0.0.1:${node.running.port}`;
    browser = await launch_browser();
    page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
    page.on("request", (r) => {
      const path = new URL(r.url()).pathname;
      if (r.method() === "POST" && path === "/api/v3/order") order_posts.push(r.url());
      if (r.method() === "POST" && path.startsWith("/web/v1/")) web_posts.push(path);
    });
  });
  after(async () => {
    await browser?.close();
    await node?.remove();
  });

  const totp_code = (offset_s: number): string =>
    new TOTP({ issuer: "Holdfast", label: EMAIL, secret: Secret.fromBase32(totp_secret) }).generate({
      timestamp: Date.now() + offset_s * 1000,
    });

  it("refuses bad sign-up input on the page, then signs up", async () => {
    await page.goto(`${base}/signup`);
    await page.fill("#email", "not an address");
    await page.fill("#password", PASSWORD);
    await page.click("button[type=submit]");
    await page.getByText("Enter your e-mail address, like name@example.com.").waitFor();
    await page.fill("#email", EMAIL);
    await page.fill("#password", "short");
    await page.click("button[type=submit]");
    await page.getByText("Choose a password of at least 10 characters.").waitFor();
    await page.fill("#email", "<script>alert(1)</script>");
    await page.click("button[type=submit]");
    await page.getByText("Enter your e-mail address, like name@example.com.").waitFor();
    await page.fill("#email", EMAIL);
    await page.fill("#password", "x".repeat(200));
    assert.equal((await page.inputValue("#password")).length, 128, "the field holds at most 128 characters");
    assert.deepEqual(web_posts, [], "nothing malformed was sent");
    await page.fill("#password", PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForURL(`${base}/account`);
    await page.getByTestId("user-email").getByText(EMAIL).waitFor();
    // the same address twice is refused by the node, and the page says so
    const again = await page.evaluate(async () => {
      const r = await fetch("/web/v1/signup", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "TRADER@example.com", password: "another long password" }),
      });
      return { status: r.status, body: (await r.json()) as { error?: string; code?: number } };
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, "that e-mail address is already registered");
  });

  it("enrols two-factor login with a real TOTP code, then logs in only with a code", async () => {
    await page.getByRole("button", { name: "Set up two-factor login" }).click();
    totp_secret = (await page.getByTestId("totp-secret").textContent()) ?? "";
    assert.match(totp_secret, /^[A-Z2-7]{32}$/);
    await page.fill("#totp-code", "12345x");
    await page.getByRole("button", { name: "Turn on" }).click();
    await page.getByText("Enter the 6-digit code.").waitFor();
    // kept: computed again later it would be the next step's code if a 30 s step ended meanwhile
    const enrol_code = totp_code(0);
    await page.fill("#totp-code", enrol_code);
    await page.getByRole("button", { name: "Turn on" }).click();
    await page.getByText("On: logging in needs a code").waitFor();
    await page.screenshot({ path: artifact("web-account.png"), fullPage: true });

    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await page.waitForURL(`${base}/login`);
    await page.fill("#email", EMAIL);
    await page.fill("#password", "a wrong password!");
    await page.click("button[type=submit]");
    await page.getByText("wrong e-mail address or password").waitFor();
    await page.fill("#password", PASSWORD);
    await page.click("button[type=submit]");
    await page.locator("#totp").waitFor();
    // the code just used to enrol cannot be used again; the next step's code (within the window) can
    await page.fill("#totp", enrol_code);
    await page.click("button[type=submit]");
    await page.getByText("wrong or already used two-factor code").waitFor();
    await page.fill("#totp", totp_code(30));
    await page.click("button[type=submit]");
    await page.waitForURL(`${base}/`);
    await page.getByTestId("user-email").getByText(EMAIL).waitFor();
  });

  it("adds demo funds, places a limit order, sees it in the book and open orders, cancels it", async () => {
    await page.goto(`${base}/trade/BTCUSDT`);
    await page.getByRole("button", { name: "Get demo funds" }).click();
    await page.getByText("Added 1 BTC, 20 ETH, 100000 USDT.").waitFor();
    await page.getByTestId("available").getByText("100,000.00000000").waitFor();

    await page.getByLabel("Price", { exact: true }).fill("50000.00");
    await page.getByLabel("Amount", { exact: true }).fill("0.01");
    await page.getByRole("button", { name: "Buy BTC" }).click();
    await page.getByTestId("order-notices").getByText("BUY limit BTCUSDT: new").waitFor();
    await page.getByTestId("bids").getByText("50,000.00").waitFor();
    const open_row = page.getByTestId("open-orders").locator("tbody tr").filter({ hasText: "50,000.00" });
    await open_row.waitFor();
    // 500 USDT locked by the order
    await page.getByTestId("available").getByText("99,500.00000000").waitFor();
    await page.screenshot({ path: artifact("web-trade.png") });

    await open_row.getByRole("button", { name: /Cancel/ }).click();
    await page.getByTestId("open-orders").getByText("No open orders in BTCUSDT.").waitFor();
    await until("the bid to leave the book", 5000, async () =>
      (await page.getByTestId("bids").textContent())?.includes("50,000.00") ? null : true,
    );
    await page.getByTestId("available").getByText("100,000.00000000").waitFor();
  });

  it("crosses the spread: the fill, the trade and the balances show", async () => {
    // alice (a demo user, over the REST API with her key) offers 0.02 BTC at 60,000
    const creds = JSON.parse(
      readFileSync(node.running.credentials_file as string, "utf8"),
    ) as DemoCredentials;
    const alice = creds.users[0];
    const offer = await fetch(
      signed_url(
        base,
        "/api/v3/order",
        {
          symbol: "BTCUSDT",
          side: "SELL",
          type: "LIMIT",
          timeInForce: "GTC",
          price: "60000",
          quantity: "0.02",
        },
        alice.secretKey,
      ),
      { method: "POST", headers: { "X-MBX-APIKEY": alice.apiKey } },
    );
    assert.equal(offer.status, 200, await offer.clone().text());
    await page.getByTestId("asks").getByText("60,000.00").waitFor();

    await page.getByLabel("Price", { exact: true }).fill("60000");
    await page.getByLabel("Amount", { exact: true }).fill("0.01");
    await page.getByRole("button", { name: "Buy BTC" }).click();
    await page.getByTestId("order-notices").getByText("BUY limit BTCUSDT: filled, filled 0.01").waitFor();
    await page.getByTestId("recent-trades").getByText("60,000.00").waitFor();
    // half of alice's offer is left in the book
    await page.getByTestId("asks").getByText("0.01000").waitFor();
    await page.getByRole("tab", { name: "Trade history" }).click();
    const trade = page.getByTestId("trade-history").locator("tbody tr").first();
    await trade.getByText("60,000.00").waitFor();
    assert.match((await trade.textContent()) ?? "", /Buy.*0\.01000.*0\.00001000 BTC.*taker/);
    await page.getByRole("tab", { name: "Balances" }).click();
    // 1 BTC + 0.01 bought − 0.1% fee (0.00001) = 1.00999; 100,000 − 600 USDT
    await page.getByTestId("balances").locator("tr[data-asset=BTC]").getByText("1.00999000").waitFor();
    await page.getByTestId("balances").locator("tr[data-asset=USDT]").getByText("99,400.00000000").waitFor();
    await page.getByRole("tab", { name: "Order history" }).click();
    await page.getByTestId("order-history").getByText("filled").first().waitFor();
  });

  it("refuses bad amounts in the order form with a clear message and sends nothing", async () => {
    await page.getByRole("radio", { name: "Limit", exact: true }).check();
    const price = page.getByLabel("Price", { exact: true });
    const amount = page.getByLabel("Amount", { exact: true });
    const sent = order_posts.length;
    const cases: [string, string, string][] = [
      ["50000", "0.123456789", "Amount can have at most 5 decimals in this market."],
      ["50000", "-1", "Amount must be positive."],
      ["50000", "abc", "Amount must be a number like 12.5 (digits and one point)."],
      ["50000", "<script>alert(1)</script>", "Amount must be a number like 12.5 (digits and one point)."],
      ["50000", "1e3", "Amount must be a number like 12.5 (digits and one point)."],
      ["50000", "99999999999999999999", "Amount must be at most 9 BTC."],
      ["50000", "0", "Amount must be more than zero."],
      ["50000.001", "0.01", "Price can have at most 2 decimals in this market."],
      ["9999999999", "0.01", "Price must be at most 1000000 USDT."],
      ["1", "0.001", "The order's total must be at least 5 USDT."],
    ];
    for (const [p, q, message] of cases) {
      await price.fill(p);
      await amount.fill(q);
      await page.getByRole("button", { name: "Buy BTC" }).click();
      await page.getByRole("alert").getByText(message, { exact: true }).waitFor({ timeout: 2000 });
    }
    // market by total and the stop forms check their own fields
    await page.getByRole("radio", { name: "Market", exact: true }).check();
    await page.getByRole("radio", { name: /Total/ }).check();
    await page.getByLabel("Total", { exact: true }).fill("12.123456789");
    await page.getByRole("button", { name: "Buy BTC" }).click();
    await page.getByRole("alert").getByText("Total can have at most 8 decimals in this market.").waitFor();
    await page.getByRole("radio", { name: "Stop-limit" }).check();
    await page.getByLabel("Stop price").fill("-5");
    await page.getByLabel("Limit price").fill("50000");
    await page.getByLabel("Amount", { exact: true }).fill("0.01");
    await page.getByRole("button", { name: "Buy BTC" }).click();
    await page.getByRole("alert").getByText("Stop price must be positive.").waitFor();
    assert.equal(order_posts.length, sent, "no malformed order reached the wire");
    await page.getByRole("radio", { name: "Limit", exact: true }).check();
  });

  it("order entry works from the keyboard alone", async () => {
    const limit = page.getByRole("radio", { name: "Limit", exact: true });
    await limit.focus();
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.getByRole("radio", { name: "Market", exact: true }).isChecked(), true);
    await page.keyboard.press("ArrowLeft");
    assert.equal(await limit.isChecked(), true);
    await page.getByLabel("Price", { exact: true }).focus();
    await page.keyboard.press("Control+A");
    await page.keyboard.type("45000");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("0.002");
    await page.keyboard.press("Enter");
    await page.getByTestId("order-notices").getByText("BUY limit BTCUSDT: new").first().waitFor();
    await page.getByTestId("bids").getByText("45,000.00").waitFor();
    await page.getByRole("tab", { name: /Open orders/ }).click();
    await page.getByTestId("open-orders").getByRole("button", { name: "Cancel all" }).click();
    await page.getByTestId("open-orders").getByText("No open orders in BTCUSDT.").waitFor();
  });

  it("an order whose answer is lost on the way is placed once, and the page says so", async () => {
    // the first try reaches the node (and is placed) but its answer never reaches the page
    let cut = 0;
    const lose_answer = async (route: import("playwright-core").Route) => {
      if (route.request().method() !== "POST" || cut > 0) return route.continue();
      cut++;
      await route.fetch();
      await route.abort("connectionreset");
    };
    const is_order = (url: URL) => url.pathname === "/api/v3/order";
    await page.route(is_order, lose_answer);
    await page.getByLabel("Price", { exact: true }).fill("44000");
    await page.getByLabel("Amount", { exact: true }).fill("0.002");
    await page.getByRole("button", { name: "Buy BTC" }).click();
    await page
      .getByTestId("order-notices")
      .getByText("BUY limit BTCUSDT: new (placed once; the retry was refused)")
      .waitFor({ timeout: 15_000 });
    await page.unroute(is_order, lose_answer);
    assert.equal(cut, 1);
    const at_44000 = await page.evaluate<number>(`(async () => {
      const me = await (await fetch("/web/v1/me")).json();
      const all = await (await fetch("/api/v3/allOrders?symbol=BTCUSDT", { headers: { "x-csrf-token": me.csrf } })).json();
      return all.filter((o) => o.price === "44000.00000000").length;
    })()`);
    assert.equal(at_44000, 1, "one order, though the page sent it twice");
    await page.getByTestId("open-orders").getByRole("button", { name: "Cancel all" }).click();
    await page.getByTestId("open-orders").getByText("No open orders in BTCUSDT.").waitFor();
  });

  it("labels every form control (trading and account pages)", async () => {
    const unlabelled = `[...document.querySelectorAll("input, select, textarea, button")]
      .filter((e) => e.type !== "hidden" && !(e.labels?.length > 0) && !e.getAttribute("aria-label") && !e.textContent.trim())
      .map((e) => e.outerHTML.slice(0, 80))`;
    assert.deepEqual(await page.evaluate<string[]>(unlabelled), []);
    for (const landmark of ["banner", "main", "navigation"])
      assert.equal((await page.getByRole(landmark as "main").count()) > 0, true, landmark);
    await page.goto(`${base}/account`);
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    assert.deepEqual(await page.evaluate<string[]>(unlabelled), []);
    await page.goto(`${base}/trade/BTCUSDT`);
    await page.getByRole("button", { name: "Buy BTC" }).waitFor();
  });

  it("switches to the dark theme and back", async () => {
    const bg = () => page.evaluate<string>("getComputedStyle(document.body).backgroundColor");
    const light = await bg();
    await page.getByRole("button", { name: "Switch to dark theme" }).click();
    assert.equal(await page.evaluate<string>("document.documentElement.dataset.theme"), "dark");
    assert.notEqual(await bg(), light);
    assert.equal(await bg(), "rgb(15, 18, 22)");
    await page.screenshot({ path: artifact("web-trade-dark.png") });
    await page.getByRole("button", { name: "Switch to light theme" }).click();
    assert.equal(await bg(), light);
  });

  it("a halt and each stage of a reopening show on the open page, without a reload", async () => {
    await page.goto(`${base}/trade/ETHUSDT`);
    const buy = page.getByRole("button", { name: "Buy ETH" });
    await buy.waitFor();
    // the button shows before the page knows who is logged on (disabled until then)
    await until("the order button to be enabled", 10_000, async () =>
      (await buy.isEnabled()) ? true : null,
    );
    assert.equal(await page.getByTestId("market-mode").count(), 0);
    const admin = async (path: string, body: unknown) => {
      const r = await admin_request(node.running.admin_socket, "POST", path, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const mode = async (status: string) => admin("/v1/market-status", { symbol: "ETHUSDT", status });
    const shows = async (badge: string, notice: RegExp) => {
      await page.getByTestId("market-mode").getByText(badge, { exact: true }).waitFor({ timeout: 10_000 });
      await page.getByTestId("mode-notice").getByText(notice).waitFor();
    };

    await mode("HALT");
    await shows("Halted", /Trading is halted: no orders or cancels/);
    assert.equal(await buy.isDisabled(), true);
    await page.screenshot({ path: artifact("web-trade-halted.png") });
    await mode("CANCEL_ONLY");
    await shows("Cancel-only", /no new orders; you can cancel your open orders/);
    assert.equal(await buy.isDisabled(), true);
    // post-only: the Post-only kind goes through, a plain limit does not
    await mode("POST_ONLY");
    await shows("Post-only", /only orders that rest on the book/);
    assert.equal(await buy.isDisabled(), true);
    await page.getByRole("radio", { name: "Post-only" }).check();
    assert.equal(await buy.isEnabled(), true);
    await page.getByRole("radio", { name: "Limit", exact: true }).check();
    await mode("TRADING");
    await until("the badge to go", 10_000, async () =>
      (await page.getByTestId("market-mode").count()) === 0 ? true : null,
    );
    assert.equal(await page.getByTestId("mode-notice").count(), 0);
    assert.equal(await buy.isEnabled(), true);
    // maintenance closes every market
    await admin("/v1/exchange-flags", { maintenance: true });
    await shows("Maintenance", /The exchange is in maintenance/);
    assert.equal(await buy.isDisabled(), true);
    await admin("/v1/exchange-flags", { maintenance: false });
    await until("the maintenance badge to go", 10_000, async () =>
      (await page.getByTestId("market-mode").count()) === 0 ? true : null,
    );
    assert.equal(await buy.isEnabled(), true);
  });

  it("creates an API key, uses it for a signed REST call, revokes it", async () => {
    await page.goto(`${base}/account`);
    // the demo funds, in the account's deposits (the wallet's history, read with the session)
    const transfers = page.getByTestId("transfers");
    await transfers
      .locator('tr[data-kind="deposit"]')
      .filter({ hasText: "USDT" })
      .getByText("+100,000.00000000")
      .waitFor();
    assert.deepEqual(
      await transfers
        .locator("tbody tr")
        .evaluateAll((rows) =>
          rows.map((r) => [r.getAttribute("data-kind"), r.querySelector("th")?.textContent]).sort(),
        ),
      [
        ["deposit", "BTC"],
        ["deposit", "ETH"],
        ["deposit", "USDT"],
      ],
    );
    // an operator's withdrawal shows at once: the page listens to the user's stream
    const account = Number(
      /account (\d+)/.exec((await page.locator("main p.muted").first().textContent()) ?? "")?.[1],
    );
    assert.ok(Number.isInteger(account), "the page names the account");
    const done = await admin_request(node.running.admin_socket, "POST", "/v1/withdraw", {
      account,
      asset: "ETH",
      amount: "0.5",
    });
    assert.equal((done.body as { applied?: boolean }).applied, true, JSON.stringify(done.body));
    await transfers
      .locator('tr[data-kind="withdrawal"]')
      .filter({ hasText: "ETH" })
      .getByText("−0.50000000")
      .waitFor();
    await transfers.screenshot({ path: artifact("web-account-transfers.png") });
    // a bad IP allow-list never leaves the page
    await page.getByLabel(/Only from these IP addresses/).fill("<img src=x onerror=alert(1)>");
    await page.getByRole("button", { name: "Create key" }).click();
    await page
      .getByRole("alert")
      .getByText(/is not an IP address/)
      .waitFor();
    await page.getByLabel(/Only from these IP addresses/).fill("");
    await page.getByRole("button", { name: "Create key" }).click();
    const api_key = (await page.getByTestId("new-api-key").textContent()) ?? "";
    const secret = (await page.getByTestId("new-secret").textContent()) ?? "";
    assert.match(api_key, /^[A-Za-z0-9]{64}$/);
    assert.match(secret, /^[A-Za-z0-9]{64}$/);
    await page.getByTestId("api-keys").locator(`tr[data-api-key="${api_key}"]`).waitFor();

    const call = () =>
      fetch(signed_url(base, "/api/v3/account", {}, secret), { headers: { "X-MBX-APIKEY": api_key } });
    const ok = await call();
    assert.equal(ok.status, 200);
    const balances = ((await ok.json()) as { balances: { asset: string; free: string }[] }).balances;
    assert.equal(
      balances.find((b) => b.asset === "BTC")?.free,
      "1.00999000",
      "the key acts for this account",
    );

    await page
      .getByTestId("api-keys")
      .locator(`tr[data-api-key="${api_key}"]`)
      .getByRole("button", { name: /Revoke/ })
      .click();
    await page.getByText(`Revoked ${api_key.slice(0, 8)}…`).waitFor();
    await page.getByTestId("api-keys").getByText("No API keys yet.").waitFor();
    const refused = await call();
    assert.equal(refused.status, 401);
    assert.deepEqual(await refused.json(), {
      code: -2015,
      msg: "Invalid API-key, IP, or permissions for action.",
    });
  });

  it("checks, in the browser, that the user's balances are in the latest reserves audit", async () => {
    const taken = await admin_request(node.running.admin_socket, "POST", "/v1/reserves", {
      reserves: { BTC: "5000", USDT: "30000000" },
    });
    assert.equal(taken.status, 200, JSON.stringify(taken.body));
    const audit = taken.body as { audit: number; root: string };
    await page.goto(`${base}/account`);
    const card = page.getByTestId("reserves");
    await card.getByText(`Audit ${audit.audit} of`).waitFor();
    assert.equal(await card.getByTestId("reserves-root").textContent(), `${audit.root.slice(0, 16)}…`);
    await card.getByRole("button", { name: "Verify my balances are included" }).click();
    const result = card.getByTestId("reserves-result");
    await result.getByText("Verified in your browser:").waitFor();
    // the balances it checked are the account's own, as the account endpoint has them (free + locked)
    const text = (await result.textContent()) ?? "";
    assert.match(
      text,
      new RegExp(`your balances at audit ${audit.audit} \\(BTC [0-9.]+, ETH [0-9.]+, USDT [0-9.]+\\)`),
    );
    // the proof it offers is the one the API gives, and verifies with the CLI too
    const href = await result.getByRole("link", { name: "Download the proof" }).getAttribute("href");
    assert.match(href ?? "", /^blob:/);
    await card.screenshot({ path: artifact("web-reserves.png") });
  });

  it("withdraws with a two-factor code; the withdrawal's status follows review and payout", async () => {
    await page.goto(`${base}/account`);
    const form = page.getByTestId("withdraw-form");
    await form.waitFor();
    await form.locator('select[name="coin"]').selectOption("BTC");
    await form.locator('input[name="amount"]').fill("0.01");
    await form.locator('input[name="address"]').fill("bc1qwebwithdrawal");
    // a wrong code is refused, nothing journaled
    const seq = node.running.node.last_applied_seq;
    await form.locator('input[name="code"]').fill("000000");
    await form.getByRole("button", { name: "Withdraw" }).click();
    await page.getByText("wrong or already used two-factor code").waitFor();
    assert.equal(node.running.node.last_applied_seq, seq);
    // the login used the code of the step after its own; this is a later step (tests ran meanwhile)
    await form.locator('input[name="code"]').fill(totp_code(30));
    await form.getByRole("button", { name: "Withdraw" }).click();
    const done = await page.getByText(/Withdrawal w\d+ requested/).textContent();
    const id = /w\d+/.exec(done ?? "")?.[0] as string;
    const row = page.locator(`tr[data-kind="withdrawal"][data-id="${id}"]`);
    // no policy for BTC here: every withdrawal waits for review
    await row.getByText("Awaiting approval").waitFor();
    const approve = await admin_request(node.running.admin_socket, "POST", "/v1/withdrawals/review", {
      id,
      approve: true,
    });
    assert.equal((approve.body as { applied: boolean }).applied, true);
    // no custody service on this node: the operator records a payout made by hand
    const paid = await admin_request(node.running.admin_socket, "POST", "/v1/withdrawals/result", {
      id,
      ok: true,
      note: "tx-from-cold-wallet",
    });
    assert.equal((paid.body as { applied: boolean }).applied, true);
    await page.goto(`${base}/account`);
    await row.getByText("Completed").waitFor();
    await row.getByText("tx tx-from-cold-wallet").waitFor();
    await page.getByTestId("transfers").screenshot({ path: artifact("web-withdrawal.png") });
    // the withdraw card with the address allow-list (two-factor login is on)
    await page.getByTestId("allowlist").getByText("Address allow-list: off").waitFor();
    await page
      .locator('section[aria-labelledby="withdraw-h"]')
      .screenshot({ path: artifact("web-withdraw.png") });
  });

  it("keeps the session's power to the page: no CSRF token, no trade; log out everywhere ends every session", async () => {
    const forged = await page.evaluate(async () => {
      const r = await fetch(
        "/api/v3/order?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&price=50000&quantity=0.01",
        {
          method: "POST",
        },
      );
      return { status: r.status, body: (await r.json()) as { error?: string; code?: number } };
    });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.code, -2014);
    // another browser holding a session of the same user (its cookie: the token itself, not a new login,
    // since a TOTP code is good once and the next one is 30 s away)
    const other = await browser.newContext();
    await other.addCookies(await page.context().cookies());
    const p2 = await other.newPage();
    await p2.goto(`${base}/`);
    assert.equal(await p2.evaluate(async () => (await fetch("/web/v1/me")).status), 200);
    await page.goto(`${base}/account`);
    await page.getByRole("button", { name: "Log out everywhere" }).click();
    await page.waitForURL(`${base}/login`);
    const me2 = await p2.evaluate(async () => (await fetch("/web/v1/me")).status);
    assert.equal(me2, 401, "the other browser's session ended too");
    await other.close();
  });
});
