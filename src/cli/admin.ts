/**
 * `holdfast admin …`: operator commands for a running node, through its admin interface (the Unix
 * socket in its data directory). Human-readable output by default, `--json` for scripts.
 */
import type { Command } from "commander";
import { AdminUnreachableError, admin_call, admin_socket_path } from "../admin/client.js";
import type { MarketsView, NodeStatus } from "../admin/server.js";
import { FEE_PPM_DEFAULT } from "../engine/config.js";
import {
  INTERVAL_HEAD,
  interval_line,
  interval_of,
  type MetricJson,
  summary_lines,
} from "../metrics/summary.js";
import { mb } from "../node/disk_guard.js";
import { register_reopen } from "./reopen.js";
import { register_reserves_admin_cli } from "./reserves.js";
import { register_withdrawals_cli } from "./withdrawals.js";

/** GET /v1/accounts/:account (src/admin/server.ts). */
interface AccountView {
  account: number;
  email: string | null;
  updated_ms: number;
  fees: { maker_fee_ppm: number; taker_fee_ppm: number } | null;
  listen_key: { nonce: number; expires_ms: number } | null;
  balances: { asset: string; free: string; locked: string }[];
  open_orders: { symbol: string; open: number; stops: number }[];
  api_keys: {
    api_key: string;
    kind: string;
    trade: boolean;
    withdraw: boolean;
    ip_allow: string[];
    tier: string;
    created_ms: number;
  }[];
}

interface Common {
  dataDir: string;
  socket?: string;
  json?: boolean;
}

async function call(
  opts: Common,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
): Promise<unknown> {
  try {
    return await admin_call(opts.socket ?? admin_socket_path(opts.dataDir))(method, path, body);
  } catch (error) {
    if (error instanceof AdminUnreachableError) throw new Error(`holdfast admin: ${error.message}`);
    throw error;
  }
}

type Outcome = { seq: number; applied: boolean; reason?: string; message?: string };

function print_outcome(opts: Common, what: string, o: Outcome): void {
  if (opts.json) console.log(JSON.stringify(o));
  else if (o.applied) console.log(`${what}: done (journal sequence ${o.seq})`);
  else console.log(`${what}: refused by the engine: ${o.message} (journal sequence ${o.seq})`);
  if (!o.applied) process.exitCode = 1;
}

const on_off = (v: string): boolean => {
  if (v === "on") return true;
  if (v === "off") return false;
  throw new Error(`expected on or off, got ${v}`);
};

/** A CLI option that must be a whole number (the node's schema checks its range). */
function whole_number(text: string, option: string): number {
  if (!/^[0-9]{1,15}$/.test(text)) throw new Error(`${option}: expected a whole number, got ${text}`);
  return Number(text);
}

export function register_admin(program: Command): void {
  const admin = program
    .command("admin")
    .description("operator commands for a running node (through its admin socket)");
  const common = (c: Command): Command =>
    c
      .option("--data-dir <dir>", "the running node's data directory", "holdfast-data")
      .option("--socket <path>", "its admin socket, if not DATA_DIR/admin.sock")
      .option("--json", "print JSON instead of text");

  common(admin.command("status").description("what the node is doing: sequence, snapshot, markets")).action(
    async (opts: Common) => {
      const s = (await call(opts, "GET", "/v1/status")) as NodeStatus;
      if (opts.json) return console.log(JSON.stringify(s));
      console.log(`node pid ${s.pid}, data ${s.data_dir}, up since ${s.started_at}`);
      console.log(`  applied sequence: ${s.applied_seq.toLocaleString("en-US")}`);
      console.log(
        `  last snapshot:    ${s.last_snapshot === null ? "none yet" : `${s.last_snapshot.name} (sequence ${s.last_snapshot.seq.toLocaleString("en-US")})`}`,
      );
      const flags = Object.entries(s.exchange)
        .filter(([, v]) => v)
        .map(([k]) => k);
      console.log(`  exchange:         ${flags.length === 0 ? "normal" : flags.join(", ")}`);
      console.log(`  accounts:         ${s.accounts.toLocaleString("en-US")}`);
      console.log(
        `  client order ids: ${s.client_ids.retained.toLocaleString("en-US")} retained (24 h window) of at most ${s.client_ids.retained_max.toLocaleString("en-US")}`,
      );
      console.log(`  order entry:      ${s.order_entry.open ? "open" : `PAUSED: ${s.order_entry.reason}`}`);
      console.log(`  disk free:        ${s.disk_free_bytes === null ? "unknown" : mb(s.disk_free_bytes)}`);
      for (const m of s.markets)
        console.log(
          `  ${m.symbol.padEnd(10)} ${m.status.padEnd(12)} ${m.bid_levels} bid levels, ${m.ask_levels} ask levels`,
        );
    },
  );

  common(
    admin
      .command("account <account>")
      .description(
        "one account (its number, or a web user's e-mail address): balances, open orders, fees, API keys",
      ),
  ).action(async (account: string, opts: Common) => {
    const a = (await call(opts, "GET", `/v1/accounts/${encodeURIComponent(account)}`)) as AccountView;
    if (opts.json) return console.log(JSON.stringify(a));
    const when = a.updated_ms === 0 ? "never" : new Date(a.updated_ms).toISOString();
    console.log(
      `account ${a.account}${a.email === null ? "" : ` (web user ${a.email})`} (last balance change: ${when})`,
    );
    console.log(`  ${"asset".padEnd(8)} ${"free".padStart(24)} ${"locked".padStart(24)}`);
    for (const b of a.balances)
      console.log(`  ${b.asset.padEnd(8)} ${b.free.padStart(24)} ${b.locked.padStart(24)}`);
    const open = a.open_orders.filter((o) => o.open > 0);
    console.log(
      `  open orders: ${open.length === 0 ? "none" : open.map((o) => `${o.symbol} ${o.open}${o.stops > 0 ? ` (${o.stops} stops)` : ""}`).join(", ")}`,
    );
    const own = (ppm: number) => (ppm < 0 ? "the market's" : `${ppm} ppm`);
    console.log(
      `  fees: ${a.fees === null ? "each market's" : `maker ${own(a.fees.maker_fee_ppm)}, taker ${own(a.fees.taker_fee_ppm)} in every market`}`,
    );
    const k = a.listen_key;
    const ends = (ms: number) => new Date(ms).toISOString();
    console.log(
      `  user data stream key: ${k === null ? "never made" : k.expires_ms === -1 ? `closed (key ${k.nonce})` : k.expires_ms >= Date.now() ? `live until ${ends(k.expires_ms)} unless kept alive (key ${k.nonce})` : `expired at ${ends(k.expires_ms)} (key ${k.nonce})`}`,
    );
    if (a.api_keys.length === 0) console.log("  API keys: none");
    for (const k of a.api_keys)
      console.log(
        `  API key ${k.api_key.slice(0, 8)}… ${k.kind}, ${k.trade ? "read + trade" : "read only"}${k.withdraw ? " + withdraw" : ""}, tier ${k.tier}${k.ip_allow.length > 0 ? `, from ${k.ip_allow.join(", ")}` : ""}`,
      );
  });

  common(
    admin
      .command("metrics")
      .description("the node's metrics at a glance: acks, journal writes, requests, connections, process")
      .option("--prometheus", "print Prometheus's text format (what --metrics-port serves)")
      .option(
        "--every <seconds>",
        "a line every N seconds of what happened in it: rates, the interval's ack and order p99 (until Ctrl-C)",
      )
      .option("--count <n>", "with --every: stop after N lines"),
  ).action(async (opts: Common & { prometheus?: boolean; every?: string; count?: string }) => {
    if (opts.prometheus) return void process.stdout.write(String(await call(opts, "GET", "/v1/metrics")));
    const read = async (): Promise<MetricJson[]> =>
      (await call(opts, "GET", "/v1/metrics?format=json")) as MetricJson[];
    if (opts.every !== undefined) {
      const every_s = Number(opts.every);
      const count = opts.count === undefined ? Number.POSITIVE_INFINITY : Number(opts.count);
      if (!(every_s >= 0.1 && every_s <= 3600) || !(count >= 1))
        throw new Error("--every takes seconds, 0.1 to 3600; --count a number of lines, at least 1");
      if (!opts.json) console.log(INTERVAL_HEAD);
      let before = await read();
      let before_ms = performance.now();
      for (let lines = 0; lines < count; lines++) {
        await new Promise((r) => setTimeout(r, every_s * 1000));
        const after = await read();
        const after_ms = performance.now();
        const i = interval_of(before, after, (after_ms - before_ms) / 1000);
        console.log(
          opts.json ? JSON.stringify({ time: new Date().toISOString(), ...i }) : interval_line(new Date(), i),
        );
        before = after;
        before_ms = after_ms;
      }
      return;
    }
    const metrics = await read();
    if (opts.json) return console.log(JSON.stringify(metrics));
    for (const line of summary_lines(metrics)) console.log(line);
  });

  common(admin.command("snapshot").description("write a snapshot now")).action(async (opts: Common) => {
    const r = (await call(opts, "POST", "/v1/snapshot")) as { name: string; seq: number };
    if (opts.json) console.log(JSON.stringify(r));
    else console.log(`snapshot ${r.name} written (sequence ${r.seq.toLocaleString("en-US")})`);
  });

  common(
    admin
      .command("market-status <symbol> <status>")
      .description("set a market's mode: TRADING, POST_ONLY, CANCEL_ONLY, HALT or BREAK"),
  ).action(async (symbol: string, status: string, opts: Common) => {
    const o = (await call(opts, "POST", "/v1/market-status", {
      symbol,
      status: status.toUpperCase(),
    })) as Outcome;
    print_outcome(opts, `${symbol} → ${status.toUpperCase()}`, o);
  });

  common(
    admin
      .command("flags")
      .description("exchange-wide switches")
      .option("--maintenance <on|off>", "maintenance: refuses orders, cancels, deposits, withdrawals")
      .option("--deposits-paused <on|off>", "pause deposits")
      .option("--withdrawals-paused <on|off>", "pause withdrawals"),
  ).action(
    async (opts: Common & { maintenance?: string; depositsPaused?: string; withdrawalsPaused?: string }) => {
      const body: Record<string, boolean> = {};
      if (opts.maintenance !== undefined) body.maintenance = on_off(opts.maintenance);
      if (opts.depositsPaused !== undefined) body.deposits_paused = on_off(opts.depositsPaused);
      if (opts.withdrawalsPaused !== undefined) body.withdrawals_paused = on_off(opts.withdrawalsPaused);
      if (Object.keys(body).length === 0)
        throw new Error(
          "holdfast admin flags: name at least one of --maintenance, --deposits-paused, --withdrawals-paused",
        );
      print_outcome(
        opts,
        "exchange flags",
        (await call(opts, "POST", "/v1/exchange-flags", body)) as Outcome,
      );
    },
  );

  common(
    admin
      .command("price-range <symbol>")
      .description(
        "a market's reference price (mean trade price over buckets) and PRICE_RANGE rule: takers trade only within the multipliers around it",
      )
      .option("--up <x>", "highest trade price as a multiple of the reference, both sides (e.g. 1.15)")
      .option("--down <x>", "lowest trade price as a multiple of the reference, both sides (e.g. 0.85)")
      .option("--bid-up <x>", "for buy orders (overrides --up)")
      .option("--bid-down <x>", "for buy orders (overrides --down)")
      .option("--ask-up <x>", "for sell orders (overrides --up)")
      .option("--ask-down <x>", "for sell orders (overrides --down)")
      .option("--buckets <n>", "buckets in the moving window", "80")
      .option("--bucket-width-ms <ms>", "width of one bucket", "3750")
      .option("--off", "remove the reference price and the rule"),
  ).action(
    async (
      symbol: string,
      opts: Common & {
        up?: string;
        down?: string;
        bidUp?: string;
        bidDown?: string;
        askUp?: string;
        askDown?: string;
        buckets: string;
        bucketWidthMs: string;
        off?: boolean;
      },
    ) => {
      const body: Record<string, string | number> = {
        symbol,
        bucket_count: opts.off === true ? 0 : Number(opts.buckets),
        bucket_width_ms: Number(opts.bucketWidthMs),
      };
      const sides = {
        bid_up: opts.bidUp ?? opts.up,
        bid_down: opts.bidDown ?? opts.down,
        ask_up: opts.askUp ?? opts.up,
        ask_down: opts.askDown ?? opts.down,
      };
      for (const [k, v] of Object.entries(sides)) if (v !== undefined && opts.off !== true) body[k] = v;
      const what =
        opts.off === true
          ? `${symbol}: no price range`
          : `${symbol}: price range ${sides.bid_down ?? "-"}..${sides.bid_up ?? "-"} (bids), ${sides.ask_down ?? "-"}..${sides.ask_up ?? "-"} (asks) × the mean of ${opts.buckets} × ${opts.bucketWidthMs} ms`;
      print_outcome(opts, what, (await call(opts, "POST", "/v1/price-range", body)) as Outcome);
    },
  );

  common(
    admin
      .command("expire-orders <symbol>")
      .description("expire every open order of a market (EXCHANGE_CANCELED)"),
  ).action(async (symbol: string, opts: Common) => {
    print_outcome(
      opts,
      `${symbol}: expire all orders`,
      (await call(opts, "POST", "/v1/expire-orders", { symbol })) as Outcome,
    );
  });

  common(
    admin
      .command("add-asset <asset>")
      .description("list an asset (a coin or token), e.g. add-asset SOL --decimals 8")
      .requiredOption("--decimals <n>", "digits after the point of its smallest unit (0-18; Binance uses 8)")
      .option(
        "--supply-max <amount>",
        "cap on deposits minus withdrawals, in whole units (default: the most its units can count exactly)",
      ),
  ).action(async (asset: string, opts: Common & { decimals: string; supplyMax?: string }) => {
    const body = {
      asset: asset.toUpperCase(),
      decimals: whole_number(opts.decimals, "--decimals"),
      ...(opts.supplyMax === undefined ? {} : { supply_max: opts.supplyMax }),
    };
    print_outcome(opts, `asset ${body.asset}`, (await call(opts, "POST", "/v1/assets", body)) as Outcome);
  });

  common(
    admin
      .command("add-market <symbol>")
      .description(
        "list a market on two listed assets; it opens in BREAK (visible, not trading) unless --status says otherwise",
      )
      .requiredOption("--base <asset>", "the asset bought and sold, e.g. SOL")
      .requiredOption("--quote <asset>", "the asset prices are in, e.g. USDT")
      .requiredOption("--tick-size <price>", "price step (PRICE_FILTER tickSize), e.g. 0.01")
      .requiredOption("--step-size <qty>", "quantity step (LOT_SIZE stepSize), e.g. 0.001")
      .requiredOption("--max-price <price>", "highest price an order may have")
      .requiredOption("--max-qty <qty>", "largest quantity of one order")
      .option("--min-price <price>", "lowest price an order may have (default: one tick)")
      .option("--min-qty <qty>", "smallest quantity of one order (default: one step)")
      .option(
        "--min-notional <amount>",
        "smallest price × quantity, in the quote asset (NOTIONAL; default 0)",
      )
      .option("--maker-fee-ppm <n>", `maker fee, parts per million (default ${FEE_PPM_DEFAULT}: 0.1%)`)
      .option("--taker-fee-ppm <n>", `taker fee, parts per million (default ${FEE_PPM_DEFAULT}: 0.1%)`)
      .option("--status <status>", "TRADING, POST_ONLY, CANCEL_ONLY, HALT or BREAK", "BREAK")
      .option("--stp-default <mode>", "self-trade prevention when an order names none", "EXPIRE_MAKER"),
  ).action(async (symbol: string, opts: Common & Record<string, string>) => {
    const body: Record<string, string | number> = {
      symbol: symbol.toUpperCase(),
      base: opts.base.toUpperCase(),
      quote: opts.quote.toUpperCase(),
      tick_size: opts.tickSize,
      step_size: opts.stepSize,
      max_price: opts.maxPrice,
      max_qty: opts.maxQty,
      status: opts.status.toUpperCase(),
      stp_default: opts.stpDefault.toUpperCase(),
    };
    if (opts.minPrice !== undefined) body.min_price = opts.minPrice;
    if (opts.minQty !== undefined) body.min_qty = opts.minQty;
    if (opts.minNotional !== undefined) body.min_notional = opts.minNotional;
    if (opts.makerFeePpm !== undefined)
      body.maker_fee_ppm = whole_number(opts.makerFeePpm, "--maker-fee-ppm");
    if (opts.takerFeePpm !== undefined)
      body.taker_fee_ppm = whole_number(opts.takerFeePpm, "--taker-fee-ppm");
    const o = (await call(opts, "POST", "/v1/markets", body)) as Outcome;
    print_outcome(opts, `market ${body.symbol} (${body.base}/${body.quote}, ${body.status})`, o);
    if (o.applied && !opts.json && body.status !== "TRADING")
      console.log(`  open it with: holdfast admin market-status ${body.symbol} TRADING`);
  });

  common(
    admin
      .command("account-fees <account>")
      .description(
        "an account's own fees in every market (a market maker's, a VIP tier), in place of each market's",
      )
      .option("--maker-fee-ppm <n>", "maker fee, parts per million (-1: the market's)")
      .option("--taker-fee-ppm <n>", "taker fee, parts per million (-1: the market's)")
      .option("--clear", "pay each market's fees again"),
  ).action(
    async (
      account: string,
      opts: Common & { makerFeePpm?: string; takerFeePpm?: string; clear?: boolean },
    ) => {
      const fee = (text: string, option: string) => (text === "-1" ? -1 : whole_number(text, option));
      const body: Record<string, number | boolean> = { account: whole_number(account, "account") };
      if (opts.makerFeePpm !== undefined) body.maker_fee_ppm = fee(opts.makerFeePpm, "--maker-fee-ppm");
      if (opts.takerFeePpm !== undefined) body.taker_fee_ppm = fee(opts.takerFeePpm, "--taker-fee-ppm");
      if (opts.clear === true) body.clear = true;
      if (Object.keys(body).length === 1)
        throw new Error("holdfast admin account-fees: name --maker-fee-ppm, --taker-fee-ppm or --clear");
      const o = (await call(opts, "POST", "/v1/account-fees", body)) as Outcome;
      const what =
        opts.clear === true
          ? "each market's fees"
          : [
              ...(body.maker_fee_ppm === undefined ? [] : [`maker ${body.maker_fee_ppm} ppm`]),
              ...(body.taker_fee_ppm === undefined ? [] : [`taker ${body.taker_fee_ppm} ppm`]),
            ].join(", ");
      print_outcome(opts, `account ${account} fees: ${what}`, o);
    },
  );

  common(
    admin
      .command("market-fees <symbol>")
      .description("change a market's fees; every later fill pays them, open orders' included")
      .option("--maker-fee-ppm <n>", "maker fee, parts per million (1000 = 0.1%)")
      .option("--taker-fee-ppm <n>", "taker fee, parts per million"),
  ).action(async (symbol: string, opts: Common & { makerFeePpm?: string; takerFeePpm?: string }) => {
    const body: Record<string, string | number> = { symbol: symbol.toUpperCase() };
    if (opts.makerFeePpm !== undefined)
      body.maker_fee_ppm = whole_number(opts.makerFeePpm, "--maker-fee-ppm");
    if (opts.takerFeePpm !== undefined)
      body.taker_fee_ppm = whole_number(opts.takerFeePpm, "--taker-fee-ppm");
    if (Object.keys(body).length === 1)
      throw new Error("holdfast admin market-fees: name --maker-fee-ppm, --taker-fee-ppm or both");
    const o = (await call(opts, "POST", "/v1/market-fees", body)) as Outcome;
    const named = [
      ...(body.maker_fee_ppm === undefined ? [] : [`maker ${body.maker_fee_ppm} ppm`]),
      ...(body.taker_fee_ppm === undefined ? [] : [`taker ${body.taker_fee_ppm} ppm`]),
    ];
    print_outcome(opts, `${body.symbol} fees: ${named.join(", ")}`, o);
  });

  common(
    admin.command("markets").description("listed assets and markets, with their filters and fees"),
  ).action(async (opts: Common) => {
    const v = (await call(opts, "GET", "/v1/markets")) as MarketsView;
    if (opts.json) return console.log(JSON.stringify(v));
    if (v.assets.length === 0) console.log("no assets listed (add-asset, then add-market)");
    for (const a of v.assets)
      console.log(`asset ${a.asset.padEnd(8)} ${a.decimals} decimals, supply at most ${a.supply_max}`);
    for (const m of v.markets) {
      console.log(`${m.symbol} (${m.base}/${m.quote}) ${m.status}`);
      console.log(
        `  price ${m.min_price}..${m.max_price} by ${m.tick_size}; quantity ${m.min_qty}..${m.max_qty} by ${m.step_size}; min notional ${m.min_notional} ${m.quote}`,
      );
      console.log(
        `  fees: maker ${m.maker_fee_ppm / 10_000}%, taker ${m.taker_fee_ppm / 10_000}%; self-trade prevention ${m.stp_default}; price range rule ${m.price_range ? "on" : "off"}`,
      );
    }
  });

  common(
    admin
      .command("create-user")
      .description("a new account with an HMAC API key (read + trade); the secret is printed once")
      .option("--request-id <id>", "idempotency key: a retry returns the same account"),
  ).action(async (opts: Common & { requestId?: string }) => {
    const body = opts.requestId === undefined ? {} : { request_id: opts.requestId };
    const r = (await call(opts, "POST", "/v1/users", body)) as {
      account: number;
      apiKey: string;
      secretKey: string;
    };
    if (opts.json) return console.log(JSON.stringify(r));
    console.log(`account ${r.account}`);
    console.log(`  API key:    ${r.apiKey}`);
    console.log(`  secret key: ${r.secretKey}   (shown once; the node keeps it only sealed)`);
  });

  common(
    admin
      .command("create-key <account>")
      .description("another API key for an account")
      .option("--kind <kind>", "HMAC, ED25519 or RSA", "HMAC")
      .option("--public-key <file>", "the public key (PEM) for ED25519 or RSA")
      .option("--read-only", "without the trade permission")
      .option("--withdraw", "with the withdraw permission (needs --ip, as on Binance)")
      .option("--ip <list>", "comma-separated IP addresses allowed to use the key")
      .option("--tier <name>", "rate-limit tier of the key (configured with start --limits)", "default"),
  ).action(
    async (
      account: string,
      opts: Common & {
        kind: string;
        publicKey?: string;
        readOnly?: boolean;
        withdraw?: boolean;
        ip?: string;
        tier: string;
      },
    ) => {
      const { readFileSync } = await import("node:fs");
      const body = {
        account: Number(account),
        kind: opts.kind.toUpperCase(),
        ...(opts.publicKey === undefined ? {} : { public_key: readFileSync(opts.publicKey, "utf8") }),
        trade: opts.readOnly !== true,
        withdraw: opts.withdraw === true,
        ...(opts.ip === undefined ? {} : { ip_allow: opts.ip.split(",").map((x) => x.trim()) }),
        tier: opts.tier,
      };
      const r = (await call(opts, "POST", "/v1/api-keys", body)) as { apiKey: string; secretKey?: string };
      if (opts.json) return console.log(JSON.stringify(r));
      console.log(`API key: ${r.apiKey}`);
      if (r.secretKey !== undefined) console.log(`secret key: ${r.secretKey}   (shown once)`);
    },
  );

  common(admin.command("revoke-key <account> <api-key>").description("revoke an API key")).action(
    async (account: string, api_key: string, opts: Common) => {
      const o = (await call(
        opts,
        "DELETE",
        `/v1/api-keys/${encodeURIComponent(api_key)}?account=${Number(account)}`,
      )) as Outcome;
      print_outcome(opts, "revoke key", o);
    },
  );

  for (const type of ["deposit", "withdraw"] as const) {
    common(
      admin
        .command(`${type} <account> <asset> <amount>`)
        .description(`test ${type} (custody comes later), e.g. ${type} 3 USDT 1000.5`)
        .option("--request-id <id>", "idempotency key: a retry is applied once"),
    ).action(
      async (account: string, asset: string, amount: string, opts: Common & { requestId?: string }) => {
        const body = {
          account: Number(account),
          asset: asset.toUpperCase(),
          amount,
          ...(opts.requestId === undefined ? {} : { request_id: opts.requestId }),
        };
        const o = (await call(opts, "POST", `/v1/${type}`, body)) as Outcome;
        print_outcome(opts, `${type} ${amount} ${asset.toUpperCase()} for account ${account}`, o);
      },
    );
  }

  common(
    admin
      .command("limits")
      .description(
        "the engine's limits (open, stop, trailing and iceberg orders; the PERCENT_PRICE_BY_SIDE band; sizes); --set changes one while the exchange runs",
      )
      .option(
        "--set <name=value>",
        "change a settable limit (journaled), e.g. --set open_orders_per_account_max=2000",
      ),
  ).action(async (opts: Common & { set?: string }) => {
    if (opts.set !== undefined) {
      const m = /^([a-z_]{1,64})=([0-9]{1,15})$/.exec(opts.set);
      if (m === null) throw new Error(`--set: expected name=value (a whole number), got ${opts.set}`);
      const { settable } = (await call(opts, "GET", "/v1/limits")) as { settable: string[] };
      if (!settable.includes(m[1]))
        throw new Error(
          `--set: ${m[1]} cannot change while the exchange runs (the engine's structures were built with it); settable: ${settable.join(", ")}`,
        );
      const o = (await call(opts, "POST", "/v1/limits", { name: m[1], value: Number(m[2]) })) as Outcome;
      print_outcome(opts, `${m[1]} → ${Number(m[2]).toLocaleString("en-US")}`, o);
      return;
    }
    const r = (await call(opts, "GET", "/v1/limits")) as {
      limits: Record<string, number>;
      settable: string[];
    };
    if (opts.json) return console.log(JSON.stringify(r));
    const width = Math.max(...Object.keys(r.limits).map((k) => k.length));
    for (const [k, v] of Object.entries(r.limits))
      console.log(
        `${k.padEnd(width)}  ${v.toLocaleString("en-US").padStart(13)}${r.settable.includes(k) ? "  (settable)" : ""}`,
      );
  });

  register_reopen(admin, common, (opts) => (method, path, body) => call(opts, method, path, body));
  register_reserves_admin_cli(admin, common, call);
  register_withdrawals_cli(admin, common, call, print_outcome);
}
