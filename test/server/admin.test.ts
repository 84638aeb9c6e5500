/**
 * The admin interface, end to end: a real `holdfast start` process and the `holdfast admin` CLI
 * talking to it over its Unix socket. Operator commands go through the journal and survive a restart.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { signed_query } from "../helpers/cluster.js";
import { BIN, spawn_node } from "../helpers/nodes.js";
import { until } from "../helpers/wait.js";

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const children = new Set<ChildProcess>();

/** Starts a node and resolves once it printed its ready line. */
async function start(dir: string, demo = true): Promise<{ child: ChildProcess; port: number }> {
  const started = await spawn_node(dir, 0, [], [], demo);
  children.add(started.child);
  return started;
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

describe("admin interface", () => {
  it("operator commands reach a running node through its socket, are journaled and survive a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-admin-"));
    try {
      let { child, port } = await start(dir);
      assert.equal(statSync(join(dir, "admin.sock")).mode & 0o777, 0o600);
      const ping = await fetch(`http://127.0.0.1:${port}/api/v3/ping`);
      assert.deepEqual(await ping.json(), {});

      const status = JSON.parse((await cli("admin", "status", "--data-dir", dir, "--json")).stdout);
      const base = status.applied_seq as number;
      assert.ok(base > 5, "demo markets, users and funds are journaled");
      assert.deepEqual(
        status.markets.map((m: { symbol: string; status: string }) => `${m.symbol}:${m.status}`),
        ["BTCUSDT:TRADING", "ETHUSDT:TRADING", "ETHBTC:TRADING"],
      );
      assert.deepEqual(status.order_entry, { open: true, reason: null });
      assert.ok(status.disk_free_bytes > 0);
      const text = await cli("admin", "status", "--data-dir", dir);
      assert.match(text.stdout, new RegExp(`applied sequence: ${base.toLocaleString("en-US")}`));
      assert.match(text.stdout, /order entry: {6}open\n {2}disk free: {8}[\d,]+ MB/);
      // the client-order-id window's fill against its bound (the demo's setup placed no orders)
      assert.deepEqual(status.client_ids, { retained: 0, retained_max: 4_000_000 });
      assert.match(text.stdout, /client order ids: 0 retained \(24 h window\) of at most 4,000,000/);

      // users, keys and test deposits from the CLI; each a journaled command
      const user = JSON.parse((await cli("admin", "create-user", "--data-dir", dir, "--json")).stdout);
      assert.match(user.apiKey, /^[A-Za-z0-9]{64}$/);
      const dep = await cli("admin", "deposit", String(user.account), "usdt", "12.5", "--data-dir", dir);
      assert.match(dep.stdout, /deposit 12.5 USDT for account \d+: done/);
      const bad_amount = await cli(
        "admin",
        "deposit",
        String(user.account),
        "USDT",
        "1e5",
        "--data-dir",
        dir,
      );
      assert.equal(bad_amount.code, 1);
      assert.match(bad_amount.stderr, /amount 1e5: format/);
      // one account as the engine holds it: balances, open orders, keys (human and --json)
      const view = JSON.parse(
        (await cli("admin", "account", String(user.account), "--data-dir", dir, "--json")).stdout,
      );
      assert.equal(view.account, user.account);
      assert.deepEqual(
        view.balances.find((b: { asset: string }) => b.asset === "USDT"),
        { asset: "USDT", free: "12.50000000", locked: "0.00000000" },
      );
      assert.deepEqual(
        view.api_keys.map((k: { api_key: string; kind: string; trade: boolean }) => [
          k.api_key,
          k.kind,
          k.trade,
        ]),
        [[user.apiKey, "HMAC_SHA256", true]],
      );
      assert.ok(view.open_orders.every((o: { open: number }) => o.open === 0));
      const shown = (await cli("admin", "account", String(user.account), "--data-dir", dir)).stdout;
      assert.match(shown, new RegExp(`account ${user.account} \\(last balance change: \\d{4}-`));
      assert.match(shown, /\n {2}USDT {12,}12\.50000000 {13,}0\.00000000\n/);
      assert.match(shown, /open orders: none/);
      assert.match(
        shown,
        new RegExp(`API key ${user.apiKey.slice(0, 8)}… HMAC_SHA256, read \\+ trade, tier`),
      );
      const nobody = await cli("admin", "account", "999999", "--data-dir", dir);
      assert.equal(nobody.code, 1);
      assert.match(nobody.stderr, /unknown account 999999/);
      const revoke = await cli("admin", "revoke-key", String(user.account), user.apiKey, "--data-dir", dir);
      assert.match(revoke.stdout, /revoke key: done/);
      const halt = await cli("admin", "market-status", "BTCUSDT", "halt", "--data-dir", dir);
      assert.equal(halt.code, 0);
      assert.match(halt.stdout, new RegExp(`BTCUSDT → HALT: done \\(journal sequence ${base + 5}\\)`));
      const maint = JSON.parse(
        (await cli("admin", "flags", "--maintenance", "on", "--data-dir", dir, "--json")).stdout,
      );
      assert.deepEqual(maint, { seq: base + 6, applied: true });
      const sys = await fetch(`http://127.0.0.1:${port}/sapi/v1/system/status`);
      assert.deepEqual(await sys.json(), { status: 1, msg: "system_maintenance" });
      // an engine limit changed while the node runs (journaled), in exchangeInfo at once; one the
      // engine's structures were built with is refused without reaching the node
      const raised = await cli(
        "admin",
        "limits",
        "--set",
        "open_orders_per_account_max=2500",
        "--data-dir",
        dir,
      );
      assert.match(
        raised.stdout,
        new RegExp(`open_orders_per_account_max → 2,500: done \\(journal sequence ${base + 7}\\)`),
      );
      const fixed = await cli("admin", "limits", "--set", "orders_max=5", "--data-dir", dir);
      assert.equal(fixed.code, 1);
      assert.match(fixed.stderr, /orders_max cannot change while the exchange runs/);
      const info = (await (
        await fetch(`http://127.0.0.1:${port}/api/v3/exchangeInfo?symbol=BTCUSDT`)
      ).json()) as {
        exchangeFilters: unknown;
      };
      assert.deepEqual(info.exchangeFilters, [{ filterType: "EXCHANGE_MAX_NUM_ORDERS", maxNumOrders: 2500 }]);
      assert.match(
        (await cli("admin", "limits", "--data-dir", dir)).stdout,
        /\nopen_orders_per_account_max +2,500 {2}\(settable\)\n/,
      );

      // bad input: clear errors, nothing journaled
      const unknown = await cli("admin", "market-status", "NOPE", "HALT", "--data-dir", dir);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /unknown market NOPE/);
      const bad = await cli("admin", "market-status", "BTCUSDT", "SIDEWAYS", "--data-dir", dir);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /must be equal to one of the allowed values/);
      const snap = JSON.parse((await cli("admin", "snapshot", "--data-dir", dir, "--json")).stdout);
      assert.equal(snap.seq, base + 7);

      // a second node on the same directory is refused, naming the running one
      const second = await cli("start", "--data-dir", dir, "--port", "0");
      assert.equal(second.code, 1);
      assert.match(second.stderr, new RegExp(`in use by process ${child.pid}`));

      assert.equal(await stop(child), 0);
      const gone = await cli("admin", "status", "--data-dir", dir);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /no node is running/);

      ({ child, port } = await start(dir));
      const after = JSON.parse((await cli("admin", "status", "--data-dir", dir, "--json")).stdout);
      assert.equal(after.applied_seq, base + 7, "a restart in demo mode journals nothing new");
      assert.equal(after.markets[0].status, "HALT");
      assert.equal(after.exchange.maintenance, true);
      assert.deepEqual(after.last_snapshot, { name: snap.name, seq: base + 7 });
      const limits = JSON.parse((await cli("admin", "limits", "--data-dir", dir, "--json")).stdout);
      assert.equal(limits.limits.open_orders_per_account_max, 2500);
      assert.equal(await stop(child), 0);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("a node started without --demo lists assets and markets from the CLI, trades on them and keeps them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-listing-"));
    writeFileSync(join(dir, "master.key"), randomBytes(32).toString("base64"));
    const d = ["--data-dir", dir];
    const json = async (...args: string[]) => {
      const r = await cli(...args, ...d, "--json");
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const seq = async (): Promise<number> => (await json("admin", "status")).applied_seq;
    /** `admin add-market` of SOLUSDT (SOL/USDT, tick 0.01, step 0.001, at most 10000 × 1000), `over` changed. */
    const market = (over: Record<string, string> = {}): string[] => {
      const o: Record<string, string> = {
        symbol: "SOLUSDT",
        base: "SOL",
        quote: "USDT",
        "tick-size": "0.01",
        "step-size": "0.001",
        "max-price": "10000",
        "max-qty": "1000",
        ...over,
      };
      const { symbol, ...options } = o;
      return ["add-market", symbol, ...Object.entries(options).flatMap(([k, v]) => [`--${k}`, v])];
    };
    try {
      let { child, port } = await start(dir, false);
      let url = `http://127.0.0.1:${port}`;
      const get = async <T>(path: string): Promise<T> => (await fetch(`${url}${path}`)).json() as Promise<T>;
      type Info = {
        symbols: { status: string; quoteAssetPrecision: number; filters: Record<string, string>[] }[];
      };
      assert.deepEqual(await json("admin", "markets"), { assets: [], markets: [] });
      assert.deepEqual((await get<Info>("/api/v3/exchangeInfo")).symbols, []);

      const sol = await cli("admin", "add-asset", "sol", "--decimals", "8", ...d);
      assert.match(sol.stdout, /asset SOL: done \(journal sequence 1\)/);
      assert.deepEqual(
        await json("admin", "add-asset", "USDT", "--decimals", "6", "--supply-max", "5000000000"),
        {
          seq: 2,
          applied: true,
        },
      );

      // refused before the journal: the sequence does not move
      const refusals: [string[], RegExp][] = [
        [["add-asset", "BAD", "--decimals", "19"], /decimals must be <= 18/],
        [["add-asset", "BAD", "--decimals", "x"], /--decimals: expected a whole number, got x/],
        [["add-asset", "BAD", "--decimals", "2", "--supply-max", "1e5"], /supply_max must match pattern/],
        [["add-asset", "BAD", "--decimals", "8", "--supply-max", "100000000"], /supply_max 100000000: range/],
        [["add-asset", "BAD-1", "--decimals", "8"], /asset must match pattern/],
        [
          ["add-market", "SOLUSDT", "--base", "SOL", "--quote", "USDT", "--tick-size", "1e-2"],
          /required option '--step-size <qty>' not specified/,
        ],
        [market({ "tick-size": "1e-2" }), /tick_size must match pattern/],
        [market({ "taker-fee-ppm": "200000" }), /taker_fee_ppm must be <= 100000/],
        [market({ status: "OPEN" }), /status must be equal to one of the allowed values/],
      ];
      for (const [args, why] of refusals) {
        const r = await cli("admin", ...args, ...d);
        assert.equal(r.code, 1, args.join(" "));
        assert.match(r.stderr, why, args.join(" "));
      }
      assert.equal(await seq(), 2, "nothing reached the journal");

      const listed = await cli(
        "admin",
        ...market({ symbol: "solusdt", quote: "usdt", "tick-size": "0.010", "min-notional": "05" }),
        ...d,
      );
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /market SOLUSDT \(SOL\/USDT, BREAK\): done \(journal sequence 3\)/);
      assert.match(listed.stdout, /open it with: holdfast admin market-status SOLUSDT TRADING/);
      // what the engine decides is journaled as its outcome, and moves nothing
      const again = await cli("admin", ...market(), ...d);
      assert.equal(again.code, 1);
      assert.match(
        again.stdout,
        /refused by the engine: Invalid configuration. \(symbol exists\) \(journal sequence 4\)/,
      );
      const unknown = await cli("admin", ...market({ symbol: "XUSDT", base: "X" }), ...d);
      assert.match(unknown.stdout, /unknown base asset X/);
      const too_big = await cli(
        "admin",
        ...market({ symbol: "SOLUSDT2", "max-price": "1000000", "max-qty": "100000" }),
        ...d,
      );
      assert.match(too_big.stdout, /max_price \* max_qty overflows 2\^53-1 quote units/);

      const view = await json("admin", "markets");
      assert.deepEqual(view.assets, [
        { asset: "SOL", decimals: 8, supply_max: "90071992.54740991" },
        { asset: "USDT", decimals: 6, supply_max: "5000000000.000000" },
      ]);
      assert.deepEqual(view.markets, [
        {
          symbol: "SOLUSDT",
          base: "SOL",
          quote: "USDT",
          status: "BREAK",
          tick_size: "0.01",
          step_size: "0.001",
          min_price: "0.01",
          max_price: "10000",
          min_qty: "0.001",
          max_qty: "1000",
          min_notional: "5",
          maker_fee_ppm: 1000,
          taker_fee_ppm: 1000,
          stp_default: "EXPIRE_MAKER",
          price_range: false,
        },
      ]);
      const shown = (await cli("admin", "markets", ...d)).stdout;
      assert.match(
        shown,
        /SOLUSDT \(SOL\/USDT\) BREAK\n {2}price 0\.01\.\.10000 by 0\.01; quantity 0\.001\.\.1000 by 0\.001; min notional 5 USDT/,
      );
      const info = (await get<Info>("/api/v3/exchangeInfo?symbol=SOLUSDT")).symbols[0];
      assert.equal(info.status, "BREAK");
      assert.equal(info.quoteAssetPrecision, 6);
      const filter = (type: string) => info.filters.find((f) => f.filterType === type) ?? {};
      assert.equal(filter("PRICE_FILTER").tickSize, "0.01000000");
      assert.equal(filter("LOT_SIZE").stepSize, "0.00100000");
      assert.equal(filter("NOTIONAL").minNotional, "5.00000000");

      // two traders; an order on a market in BREAK is refused, then the market opens
      const buyer = await json("admin", "create-user");
      const seller = await json("admin", "create-user");
      await json("admin", "deposit", String(buyer.account), "USDT", "1000");
      await json("admin", "deposit", String(seller.account), "SOL", "10");
      const order = async (user: { apiKey: string; secretKey: string }, side: string) => {
        const q = signed_query(
          {
            symbol: "SOLUSDT",
            side,
            type: "LIMIT",
            timeInForce: "GTC",
            quantity: "1",
            price: "150.00",
            newOrderRespType: "FULL",
          },
          user.secretKey,
        );
        const r = await fetch(`${url}/api/v3/order?${q}`, {
          method: "POST",
          headers: { "X-MBX-APIKEY": user.apiKey },
        });
        return {
          status: r.status,
          body: (await r.json()) as { status?: string; fills?: Record<string, string>[] },
        };
      };
      const closed = await order(seller, "SELL");
      assert.equal(closed.status, 400);
      assert.deepEqual(closed.body, { code: -2010, msg: "Market is closed." });
      const opened = await cli("admin", "market-status", "SOLUSDT", "TRADING", ...d);
      assert.equal(opened.code, 0, opened.stderr);

      // the new market's streams, trades, candles and ticker work like the demo markets'
      const ws = new WebSocket(`ws://127.0.0.1:${port}/stream?streams=solusdt@trade/solusdt@depth@100ms`);
      const frames: { stream: string; data: Record<string, unknown> }[] = [];
      ws.on("message", (m) => frames.push(JSON.parse(m.toString())));
      await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
      const sell = await order(seller, "SELL");
      assert.equal(sell.status, 200, JSON.stringify(sell.body));
      const buy = await order(buyer, "BUY");
      assert.equal(buy.body.status, "FILLED");
      assert.deepEqual(
        (buy.body.fills ?? []).map((f) => [f.price, f.qty, f.commission, f.commissionAsset]),
        [["150.00000000", "1.00000000", "0.00100000", "SOL"]],
      );
      const trade = await until(
        "the trade on the stream",
        10_000,
        () => frames.find((f) => f.stream === "solusdt@trade") ?? null,
      );
      assert.equal(trade.data.p, "150.00000000");
      assert.equal(trade.data.s, "SOLUSDT");
      await until(
        "a depth update",
        10_000,
        () => frames.find((f) => f.stream === "solusdt@depth@100ms") ?? null,
      );
      ws.close();
      const trades = await get<Record<string, string>[]>("/api/v3/trades?symbol=SOLUSDT");
      assert.deepEqual(
        trades.map((t) => [t.price, t.qty, t.quoteQty]),
        [["150.00000000", "1.00000000", "150.00000000"]],
      );
      const candle = await until("the trade's candle", 10_000, async () => {
        const k = await get<string[][]>("/api/v3/klines?symbol=SOLUSDT&interval=1m");
        return k.length === 1 ? k[0] : null;
      });
      assert.deepEqual([candle[1], candle[4], candle[5]], ["150.00000000", "150.00000000", "1.00000000"]);
      const ticker = await get<{ lastPrice: string }>("/api/v3/ticker/24hr?symbol=SOLUSDT");
      assert.equal(ticker.lastPrice, "150.00000000");
      const balances = (await json("admin", "account", String(buyer.account))).balances;
      assert.deepEqual(balances, [
        { asset: "SOL", free: "0.99900000", locked: "0.00000000" },
        { asset: "USDT", free: "850.000000", locked: "0.000000" },
      ]);

      // new fees: the next fill pays them (the seller's resting order was placed before the change)
      const fees = await cli(
        "admin",
        "market-fees",
        "SOLUSDT",
        "--taker-fee-ppm",
        "0",
        "--maker-fee-ppm",
        "500",
        ...d,
      );
      assert.match(fees.stdout, /SOLUSDT fees: maker 500 ppm, taker 0 ppm: done/);
      const no_fee = await cli("admin", "market-fees", "SOLUSDT", ...d);
      assert.equal(no_fee.code, 1);
      assert.match(no_fee.stderr, /name --maker-fee-ppm, --taker-fee-ppm or both/);
      const nowhere = await cli("admin", "market-fees", "NOPE", "--taker-fee-ppm", "1", ...d);
      assert.match(nowhere.stderr, /unknown market NOPE/);
      /** A user's standard maker and taker rates on SOLUSDT, as account/commission shows them. */
      const rates = async (user: { apiKey: string; secretKey: string }): Promise<string[]> => {
        const q = signed_query({ symbol: "SOLUSDT" }, user.secretKey);
        const r = (await (
          await fetch(`${url}/api/v3/account/commission?${q}`, { headers: { "X-MBX-APIKEY": user.apiKey } })
        ).json()) as { standardCommission: { maker: string; taker: string } };
        return [r.standardCommission.maker, r.standardCommission.taker];
      };
      assert.deepEqual(await rates(buyer), ["0.00050000", "0.00000000"]);
      assert.equal((await order(seller, "SELL")).status, 200);
      const cheaper = await order(buyer, "BUY");
      assert.deepEqual(
        (cheaper.body.fills ?? []).map((f) => [f.price, f.qty, f.commission, f.commissionAsset]),
        [["150.00000000", "1.00000000", "0.00000000", "SOL"]],
      );
      const seller_usdt = (await json("admin", "account", String(seller.account))).balances[1];
      // 150 less 0.1% for the first fill, 150 less 0.05% for the second
      assert.deepEqual(seller_usdt, { asset: "USDT", free: "299.775000", locked: "0.000000" });

      // the seller's own fees (a market maker's programme): no maker fee, in every market
      const own = await cli("admin", "account-fees", String(seller.account), "--maker-fee-ppm", "0", ...d);
      assert.match(own.stdout, new RegExp(`account ${seller.account} fees: maker 0 ppm: done`));
      const seller_view = await cli("admin", "account", String(seller.account), ...d);
      assert.match(seller_view.stdout, /fees: maker 0 ppm, taker the market's in every market/);
      // the user data stream key's state (its key not shown), for an operator asked why a stream stopped
      assert.match(seller_view.stdout, /user data stream key: never made/);
      await fetch(`${url}/api/v3/userDataStream`, {
        method: "POST",
        headers: { "X-MBX-APIKEY": seller.apiKey },
      });
      const streaming = await cli("admin", "account", String(seller.account), ...d);
      assert.match(streaming.stdout, /user data stream key: live until \S+ unless kept alive \(key 1\)/);
      assert.equal((await json("admin", "account", String(seller.account))).listen_key.nonce, 1);
      assert.deepEqual(await rates(seller), ["0.00000000", "0.00000000"]);
      assert.equal((await order(seller, "SELL")).status, 200);
      assert.equal((await order(buyer, "BUY")).body.status, "FILLED");
      const seller_usdt2 = (await json("admin", "account", String(seller.account))).balances[1];
      assert.deepEqual(
        seller_usdt2,
        { asset: "USDT", free: "449.775000", locked: "0.000000" },
        "the third fill: no fee",
      );
      const bad_fee = await cli(
        "admin",
        "account-fees",
        String(seller.account),
        "--clear",
        "--taker-fee-ppm",
        "5",
        ...d,
      );
      assert.match(bad_fee.stderr, /clear takes no fees with it/);
      const cleared = await json("admin", "account-fees", String(seller.account), "--clear");
      assert.equal(cleared.applied, true);
      assert.equal((await json("admin", "account", String(seller.account))).fees, null);

      // everything listed is journaled: a restart has it all
      const before = await seq();
      assert.equal(await stop(child), 0);
      ({ child, port } = await start(dir, false));
      url = `http://127.0.0.1:${port}`;
      assert.equal(await seq(), before);
      const after = await json("admin", "markets");
      assert.deepEqual(after, {
        ...view,
        markets: [{ ...view.markets[0], status: "TRADING", maker_fee_ppm: 500, taker_fee_ppm: 0 }],
      });
      const trades_after = await get<unknown[]>("/api/v3/trades?symbol=SOLUSDT");
      assert.equal(trades_after.length, 3);
      assert.equal(await stop(child), 0);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
