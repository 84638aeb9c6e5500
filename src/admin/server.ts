/**
 * The admin interface: how operator commands reach a running node (never by opening its files). It
 * listens on a Unix socket inside the data directory (`DIR/admin.sock`, mode 0600), so only the
 * node's own user on its own machine can reach it and nothing is exposed on the network. Every
 * state change goes through the journal like any other command.
 */

import { chmodSync, rmSync } from "node:fs";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { KEY_KIND_NAMES, PERMISSION_TRADE, PERMISSION_WITHDRAW, TIER_DEFAULT } from "../engine/api_keys.js";
import { UNITS_MAX } from "../engine/assert.js";
import { type AddMarket, type Command, SETTABLE_LIMITS } from "../engine/commands.js";
import { FEE_PPM_DEFAULT, FEE_PPM_MAX } from "../engine/config.js";
import { decimal_to_units, units_to_decimal } from "../engine/decimal.js";
import type { Engine } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";
import { reason_message, reason_name } from "../engine/reasons.js";
import { MARKET_STATUS_NAMES, type MarketStatus, STP_NAMES, type StpMode } from "../engine/types.js";
import type { MasterKey } from "../gateway/master_key.js";
import { UnencodableCommand } from "../journal/journal.js";
import type { Metrics } from "../metrics/metrics.js";
import { free_bytes } from "../node/disk_guard.js";
import { type ExchangeNode, WritesRefused } from "../node/exchange_node.js";
import type { History } from "../projections/history.js";
import { register_reserves_admin } from "./reserves.js";
import { add_hmac_key, add_public_key, create_account, move_funds } from "./users.js";
import { register_withdrawals_admin } from "./withdrawals.js";

/** Longest path a Unix socket may have on Linux (sun_path is 108 bytes with the terminator). */
const SOCKET_PATH_MAX = 107;
const BODY_BYTES_MAX = 16 * 1024;

export interface NodeStatus {
  pid: number;
  data_dir: string;
  started_at: string;
  applied_seq: number;
  last_snapshot: { name: string; seq: number } | null;
  exchange: { maintenance: boolean; deposits_paused: boolean; withdrawals_paused: boolean };
  markets: { symbol: string; status: string; bid_levels: number; ask_levels: number }[];
  accounts: number;
  /**
   * Client order ids held by the retention window (every order's, generated ones included: 24 hours
   * of command time) against its bound: what the engine's memory grows with as orders come in.
   */
  client_ids: { retained: number; retained_max: number };
  /** Whether this node takes new commands now, and if not why (a nearly full disk, a failed journal write). */
  order_entry: { open: boolean; reason: string | null };
  /** Free space on the data directory's disk. */
  disk_free_bytes: number | null;
}

export function node_status(node: ExchangeNode, data_dir: string, started_at: Date): NodeStatus {
  const e = node.engine;
  return {
    pid: process.pid,
    data_dir,
    started_at: started_at.toISOString(),
    applied_seq: node.last_applied_seq,
    last_snapshot: node.last_snapshot,
    exchange: {
      maintenance: e.maintenance,
      deposits_paused: e.deposits_paused,
      withdrawals_paused: e.withdrawals_paused,
    },
    markets: e.markets.map((m) => ({
      symbol: m.config.add_market.symbol,
      status: MARKET_STATUS_NAMES[m.status],
      bid_levels: m.bids.count,
      ask_levels: m.asks.count,
    })),
    accounts: e.accounts.length,
    client_ids: { retained: e.client_ids.size, retained_max: e.limits.client_ids_retained_max },
    order_entry: { open: node.writes_refused === null, reason: node.writes_refused },
    disk_free_bytes: free_bytes(data_dir),
  };
}

/** "1.15" → 11,500 (1/10,000ths; the schema allows at most four decimals); absent: 0, not set. */
function multiplier_e4(text: string | undefined): number {
  if (text === undefined) return 0;
  const [whole, fraction = ""] = text.split(".");
  return Number(whole) * 10_000 + Number(fraction.padEnd(4, "0"));
}

/** An account number: the engine refuses one it does not know; the journal holds a u32. */
const ACCOUNT_SCHEMA = { type: "integer", minimum: 0, maximum: 4_294_967_295 };
/** Asset and symbol names as the engine takes them (config.ts NAME_RE). */
const NAME_PATTERN = "^[A-Z0-9]{1,20}$";
/** A decimal as Binance's parameters write it (decimal.ts): up to 20 digits each side of the point. */
const DECIMAL_SCHEMA = { type: "string", pattern: "^[0-9]{1,20}([.][0-9]{1,20})?$" };

/** "00.0100" → "0.01": the form exchangeInfo prints (padded to 8 places), whatever the operator typed. */
export function canonical_decimal(text: string): string {
  const [whole, fraction = ""] = text.split(".");
  const w = whole.replace(/^0+(?=[0-9])/, "");
  const f = fraction.replace(/0+$/, "");
  return f === "" ? w : `${w}.${f}`;
}

interface MarketBody {
  symbol: string;
  base: string;
  quote: string;
  tick_size: string;
  step_size: string;
  min_price?: string;
  max_price: string;
  min_qty?: string;
  max_qty: string;
  min_notional?: string;
  maker_fee_ppm?: number;
  taker_fee_ppm?: number;
  status?: string;
  stp_default?: string;
}

/**
 * The add_market command for a listing. A new market opens in BREAK unless told otherwise: listed,
 * visible in exchangeInfo, its book closed until the operator opens it (market-status … TRADING), as
 * an exchange announces a listing before trading starts. The lowest price and quantity default to
 * one tick and one step, the minimum notional to none; whether the numbers fit the assets is the
 * engine's check (config.ts build_market), journaled as its outcome.
 */
export function add_market_command(b: MarketBody): Command {
  const d = canonical_decimal;
  return {
    type: "add_market",
    ts_ms: 0,
    symbol: b.symbol,
    base: b.base,
    quote: b.quote,
    tick_size: d(b.tick_size),
    step_size: d(b.step_size),
    min_price: d(b.min_price ?? b.tick_size),
    max_price: d(b.max_price),
    min_qty: d(b.min_qty ?? b.step_size),
    max_qty: d(b.max_qty),
    min_notional: d(b.min_notional ?? "0"),
    maker_fee_ppm: b.maker_fee_ppm ?? FEE_PPM_DEFAULT,
    taker_fee_ppm: b.taker_fee_ppm ?? FEE_PPM_DEFAULT,
    status: MARKET_STATUS_NAMES.indexOf(
      (b.status ?? "BREAK") as (typeof MARKET_STATUS_NAMES)[number],
    ) as MarketStatus,
    stp_default: STP_NAMES.indexOf(
      (b.stp_default ?? "EXPIRE_MAKER") as (typeof STP_NAMES)[number],
    ) as StpMode,
  };
}

/** GET /v1/markets: every asset and market as configured. */
export interface MarketsView {
  assets: { asset: string; decimals: number; supply_max: string }[];
  /** Each market's listing as journaled (fees as now), its status and STP default by name. */
  markets: (Omit<AddMarket, "type" | "ts_ms" | "status" | "stp_default"> & {
    status: string;
    stp_default: string;
    price_range: boolean;
  })[];
}

function markets_view(e: Engine): MarketsView {
  return {
    assets: e.assets.map((a) => ({
      asset: a.name,
      decimals: a.decimals,
      supply_max: units_to_decimal(a.supply_max_units, a.decimals),
    })),
    markets: e.markets.map((m) => {
      const {
        type: _type,
        ts_ms: _ts_ms,
        status: _status,
        stp_default: _stp,
        ...listing
      } = m.config.add_market;
      return {
        ...listing,
        status: MARKET_STATUS_NAMES[m.status],
        stp_default: STP_NAMES[m.config.stp_default],
        price_range: m.price_range !== null,
      };
    }),
  };
}

/** What an admin command did: its sequence and either "applied" or the engine's refusal. */
function outcome(seq: number, events: EngineEvent[]) {
  const rejected = events.find((e) => e.kind === "rejected");
  return rejected === undefined
    ? { seq, applied: true as const }
    : {
        seq,
        applied: false as const,
        reason: reason_name(rejected.reason),
        message: reason_message(rejected.reason) + (rejected.detail ? ` (${rejected.detail})` : ""),
      };
}

export async function start_admin_server(
  node: ExchangeNode,
  data_dir: string,
  socket_path: string,
  master: MasterKey,
  /** The configured rate-limit tiers: a new key may name only these. */
  tier_names: readonly string[] = ["default"],
  /** The node's metrics (GET /v1/metrics: Prometheus's text; ?format=json: prom-client's JSON). */
  metrics: Metrics | null = null,
  /** The node's history (proof-of-reserves audits live there); without it, no /v1/reserves. */
  history: History | null = null,
): Promise<FastifyInstance> {
  if (Buffer.byteLength(socket_path) > SOCKET_PATH_MAX)
    throw new Error(
      `admin socket path ${socket_path} is longer than ${SOCKET_PATH_MAX} bytes; use a shorter --data-dir or --admin-socket`,
    );
  const started_at = new Date();
  // removeAdditional off: an unknown field is refused, not silently dropped (Fastify's default drops it).
  // coerceTypes off: a value of the wrong type is refused, not converted; Ajv turned the string "99…9"
  // (400 digits) into Infinity, which passed an integer's maximum and reached the journal's encoder.
  const app = Fastify({
    bodyLimit: BODY_BYTES_MAX,
    logger: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  // A command the journal cannot hold is the request's fault (400); a node refusing writes (a full
  // disk, a stopped journal) is unavailable for now (503); each says why, as the CLI prints it.
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    if (error instanceof UnencodableCommand) return reply.code(400).send({ error: error.message });
    if (error instanceof WritesRefused) return reply.code(503).send({ error: error.message });
    const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
    return reply.code(status).send({ error: error.message });
  });
  const submit = async (command: Command) => {
    const applied = await node.submit(command);
    return outcome(applied.seq, applied.events);
  };
  const market_id = (symbol: string): number | undefined => node.engine.market_by_symbol.get(symbol);

  // ?hash=1 adds the engine's state hash (O(state): an operator's or a test's check that replicas agree)
  if (history !== null)
    register_reserves_admin(app, node, history, submit, {
      name_pattern: NAME_PATTERN,
      decimal: DECIMAL_SCHEMA,
    });

  register_withdrawals_admin(app, () => node.engine, submit, {
    name_pattern: NAME_PATTERN,
    decimal: DECIMAL_SCHEMA,
  });

  app.get<{ Querystring: { hash?: string } }>("/v1/status", async (request) => ({
    ...node_status(node, data_dir, started_at),
    ...(request.query.hash === "1" ? { state_hash: node.state_hash() } : {}),
  }));

  // One account as the engine holds it: balances (exact decimals), open orders per market, API keys
  // (the key itself, never a secret), the command time of its last balance change.
  app.get<{ Params: { account: string } }>("/v1/accounts/:account", async (request, reply) => {
    const e = node.engine;
    const text = request.params.account;
    // an account number, or the e-mail address a web user signed up with (what a user tells support)
    const account = /^[0-9]{1,15}$/.test(text)
      ? Number(text)
      : (e.web_users.by_email.get(text.toLowerCase())?.account ?? -1);
    if (account < 0 || account >= e.accounts.length)
      return reply.code(404).send({ error: `unknown account ${text}` });
    return {
      account,
      email: e.web_users.by_account.get(account)?.email ?? null,
      updated_ms: e.ledger.updated_ms(account),
      // its own fees in every market (-1: the market's), or null: the markets' fees
      fees: e.account_fees.get(account) ?? null,
      // its user data stream key's state (the key itself is not shown): when it expires, -1 closed
      listen_key: e.listen_keys.get(account) ?? null,
      balances: e.assets.map((a) => ({
        asset: a.name,
        free: units_to_decimal(e.ledger.free(account, a.id), a.decimals),
        locked: units_to_decimal(e.ledger.locked(account, a.id), a.decimals),
      })),
      open_orders: e.markets.map((m, i) => ({
        symbol: m.config.symbol,
        open: e.ledger.open_count(account, i),
        stops: e.ledger.stop_count(account, i),
      })),
      api_keys: e.api_keys.of_account(account).map((k) => ({
        api_key: k.api_key,
        kind: KEY_KIND_NAMES[k.kind],
        trade: (k.permissions & PERMISSION_TRADE) !== 0,
        withdraw: (k.permissions & PERMISSION_WITHDRAW) !== 0,
        ip_allow: k.ip_allow === "" ? [] : k.ip_allow.split(","),
        tier: k.tier,
        created_ms: k.created_ms,
      })),
    };
  });

  app.get<{ Querystring: { format?: string } }>("/v1/metrics", async (request, reply) => {
    if (metrics === null) return reply.code(404).send({ error: "this node keeps no metrics" });
    if (request.query.format === "json") return metrics.json();
    reply.type(metrics.content_type);
    return metrics.text();
  });

  // A full garbage collection now, and the heap in use after it: what is live, for a memory soak
  // (`npm run soak:memory`). Only a node started with node's --expose-gc has it.
  app.post("/v1/gc", async (_request, reply) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (typeof gc !== "function")
      return reply.code(404).send({ error: "start the node with node --expose-gc" });
    gc();
    return { heap_used_bytes: process.memoryUsage().heapUsed };
  });

  app.post("/v1/snapshot", async () => {
    const name = await node.snapshot();
    return { name, seq: Number(name.slice(9, 29)) };
  });

  app.post<{ Body: { symbol: string; status: string } }>(
    "/v1/market-status",
    {
      schema: {
        body: {
          type: "object",
          required: ["symbol", "status"],
          additionalProperties: false,
          properties: {
            symbol: { type: "string", maxLength: 20 },
            status: { type: "string", enum: [...MARKET_STATUS_NAMES] },
          },
        },
      },
    },
    async (request, reply) => {
      const market = market_id(request.body.symbol);
      if (market === undefined)
        return reply.code(404).send({ error: `unknown market ${request.body.symbol}` });
      const status = MARKET_STATUS_NAMES.indexOf(
        request.body.status as (typeof MARKET_STATUS_NAMES)[number],
      ) as MarketStatus;
      return submit({ type: "set_market_status", ts_ms: 0, market, status });
    },
  );

  app.post<{ Body: { maintenance?: boolean; deposits_paused?: boolean; withdrawals_paused?: boolean } }>(
    "/v1/exchange-flags",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          minProperties: 1,
          properties: {
            maintenance: { type: "boolean" },
            deposits_paused: { type: "boolean" },
            withdrawals_paused: { type: "boolean" },
          },
        },
      },
    },
    async (request) => {
      const e = node.engine;
      // Flags not named keep their current value (the command sets all three).
      return submit({
        type: "set_exchange_flags",
        ts_ms: 0,
        maintenance: request.body.maintenance ?? e.maintenance,
        deposits_paused: request.body.deposits_paused ?? e.deposits_paused,
        withdrawals_paused: request.body.withdrawals_paused ?? e.withdrawals_paused,
      });
    },
  );

  // A market's reference price calculation and PRICE_RANGE rule (engine/reference.ts); multipliers as
  // Binance shows them ("1.1500"), "0" or absent: not set; bucket_count 0: none at all
  const multiplier = { type: "string", pattern: "^[0-9]{1,4}([.][0-9]{1,4})?$" };
  app.post<{
    Body: {
      symbol: string;
      bucket_count: number;
      bucket_width_ms: number;
      bid_up?: string;
      bid_down?: string;
      ask_up?: string;
      ask_down?: string;
    };
  }>(
    "/v1/price-range",
    {
      schema: {
        body: {
          type: "object",
          required: ["symbol", "bucket_count", "bucket_width_ms"],
          additionalProperties: false,
          properties: {
            symbol: { type: "string", maxLength: 20 },
            bucket_count: { type: "integer", minimum: 0, maximum: 1_000_000 },
            bucket_width_ms: { type: "integer", minimum: 0, maximum: 1_000_000_000 },
            bid_up: multiplier,
            bid_down: multiplier,
            ask_up: multiplier,
            ask_down: multiplier,
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const market = market_id(b.symbol);
      if (market === undefined) return reply.code(404).send({ error: `unknown market ${b.symbol}` });
      return submit({
        type: "set_price_range",
        ts_ms: 0,
        market,
        bucket_count: b.bucket_count,
        bucket_width_ms: b.bucket_width_ms,
        bid_up_e4: multiplier_e4(b.bid_up),
        bid_down_e4: multiplier_e4(b.bid_down),
        ask_up_e4: multiplier_e4(b.ask_up),
        ask_down_e4: multiplier_e4(b.ask_down),
      });
    },
  );

  app.post<{ Body: { symbol: string } }>(
    "/v1/expire-orders",
    {
      schema: {
        body: {
          type: "object",
          required: ["symbol"],
          additionalProperties: false,
          properties: { symbol: { type: "string", maxLength: 20 } },
        },
      },
    },
    async (request, reply) => {
      const market = market_id(request.body.symbol);
      if (market === undefined)
        return reply.code(404).send({ error: `unknown market ${request.body.symbol}` });
      return submit({ type: "expire_market_orders", ts_ms: 0, market });
    },
  );

  // Listing: an asset, then markets on assets. A node started without --demo has none; these are how an
  // operator lists them on a running exchange (every node of a cluster applies them from the log).
  app.get("/v1/markets", async () => markets_view(node.engine));

  // The engine's limits: every one, and which an operator may change while the exchange runs
  // (engine command set_limit; the rest are the sizes its structures were built with)
  app.get("/v1/limits", async () => ({
    limits: node.engine.limits,
    settable: SETTABLE_LIMITS,
  }));
  app.post<{ Body: { name: string; value: number } }>(
    "/v1/limits",
    {
      schema: {
        body: {
          type: "object",
          required: ["name", "value"],
          additionalProperties: false,
          properties: {
            name: { type: "string", enum: [...SETTABLE_LIMITS] },
            // the engine checks the range (validate_limits); this only keeps the number whole
            value: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
          },
        },
      },
    },
    async (request) =>
      submit({
        type: "set_limit",
        ts_ms: 0,
        limit: SETTABLE_LIMITS.indexOf(request.body.name as (typeof SETTABLE_LIMITS)[number]),
        value: request.body.value,
      }),
  );

  app.post<{ Body: { asset: string; decimals: number; supply_max?: string } }>(
    "/v1/assets",
    {
      schema: {
        body: {
          type: "object",
          required: ["asset", "decimals"],
          additionalProperties: false,
          properties: {
            asset: { type: "string", pattern: NAME_PATTERN },
            decimals: { type: "integer", minimum: 0, maximum: 18 },
            supply_max: DECIMAL_SCHEMA,
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      let supply_max_units = UNITS_MAX;
      if (b.supply_max !== undefined) {
        const units = decimal_to_units(b.supply_max, b.decimals);
        if (!units.ok || units.units < 1)
          return reply.code(400).send({
            error: `supply_max ${b.supply_max}: ${units.ok ? "must be positive" : units.error} (at most ${units_to_decimal(UNITS_MAX, b.decimals)} with ${b.decimals} decimals)`,
          });
        supply_max_units = units.units;
      }
      return submit({ type: "add_asset", ts_ms: 0, asset: b.asset, decimals: b.decimals, supply_max_units });
    },
  );

  app.post<{ Body: MarketBody }>(
    "/v1/markets",
    {
      schema: {
        body: {
          type: "object",
          required: ["symbol", "base", "quote", "tick_size", "step_size", "max_price", "max_qty"],
          additionalProperties: false,
          properties: {
            symbol: { type: "string", pattern: NAME_PATTERN },
            base: { type: "string", pattern: NAME_PATTERN },
            quote: { type: "string", pattern: NAME_PATTERN },
            tick_size: DECIMAL_SCHEMA,
            step_size: DECIMAL_SCHEMA,
            min_price: DECIMAL_SCHEMA,
            max_price: DECIMAL_SCHEMA,
            min_qty: DECIMAL_SCHEMA,
            max_qty: DECIMAL_SCHEMA,
            min_notional: DECIMAL_SCHEMA,
            maker_fee_ppm: { type: "integer", minimum: 0, maximum: FEE_PPM_MAX },
            taker_fee_ppm: { type: "integer", minimum: 0, maximum: FEE_PPM_MAX },
            status: { type: "string", enum: [...MARKET_STATUS_NAMES] },
            stp_default: { type: "string", enum: [...STP_NAMES] },
          },
        },
      },
    },
    async (request) => submit(add_market_command(request.body)),
  );

  // An account's own fees in every market (-1: the market's); a fee not named keeps its value; clear:
  // the markets' fees again
  app.post<{ Body: { account: number; maker_fee_ppm?: number; taker_fee_ppm?: number; clear?: boolean } }>(
    "/v1/account-fees",
    {
      schema: {
        body: {
          type: "object",
          required: ["account"],
          additionalProperties: false,
          minProperties: 2,
          properties: {
            account: ACCOUNT_SCHEMA,
            maker_fee_ppm: { type: "integer", minimum: -1, maximum: FEE_PPM_MAX },
            taker_fee_ppm: { type: "integer", minimum: -1, maximum: FEE_PPM_MAX },
            clear: { type: "boolean", const: true },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (b.clear === true && (b.maker_fee_ppm !== undefined || b.taker_fee_ppm !== undefined))
        return reply.code(400).send({ error: "clear takes no fees with it" });
      const now = node.engine.account_fees.get(b.account);
      return submit({
        type: "set_account_fees",
        ts_ms: 0,
        account: b.account,
        maker_fee_ppm: b.clear === true ? -1 : (b.maker_fee_ppm ?? now?.maker_fee_ppm ?? -1),
        taker_fee_ppm: b.clear === true ? -1 : (b.taker_fee_ppm ?? now?.taker_fee_ppm ?? -1),
      });
    },
  );

  // A market's fees from now on (each fill pays the fees of its time); a fee not named keeps its value
  app.post<{ Body: { symbol: string; maker_fee_ppm?: number; taker_fee_ppm?: number } }>(
    "/v1/market-fees",
    {
      schema: {
        body: {
          type: "object",
          required: ["symbol"],
          additionalProperties: false,
          minProperties: 2,
          properties: {
            symbol: { type: "string", maxLength: 20 },
            maker_fee_ppm: { type: "integer", minimum: 0, maximum: FEE_PPM_MAX },
            taker_fee_ppm: { type: "integer", minimum: 0, maximum: FEE_PPM_MAX },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const market = market_id(b.symbol);
      if (market === undefined) return reply.code(404).send({ error: `unknown market ${b.symbol}` });
      const config = node.engine.markets[market].config;
      return submit({
        type: "set_market_fees",
        ts_ms: 0,
        market,
        maker_fee_ppm: b.maker_fee_ppm ?? config.maker_fee_ppm,
        taker_fee_ppm: b.taker_fee_ppm ?? config.taker_fee_ppm,
      });
    },
  );

  const refused = (reply: FastifyReply, error: string) => reply.code(409).send({ error });

  /** A user: an account with an HMAC key (read + trade). The secret is shown here once, then only sealed. */
  app.post<{ Body: { request_id?: string } }>(
    "/v1/users",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          properties: { request_id: { type: "string", minLength: 1, maxLength: 100 } },
        },
      },
    },
    async (request, reply) => {
      const made = await create_account(node, request.body?.request_id ?? null);
      if (!made.ok) return refused(reply, made.error);
      const key = await add_hmac_key(node, master, made.account, {
        permissions: PERMISSION_TRADE,
        ip_allow: "",
        tier: TIER_DEFAULT,
      });
      if (!key.ok) return refused(reply, key.error);
      return { account: made.account, apiKey: key.apiKey, secretKey: key.secretKey, kind: "HMAC_SHA256" };
    },
  );

  app.post<{
    Body: {
      account: number;
      kind: "HMAC" | "ED25519" | "RSA";
      public_key?: string;
      trade?: boolean;
      withdraw?: boolean;
      ip_allow?: string[];
      tier?: string;
    };
  }>(
    "/v1/api-keys",
    {
      schema: {
        body: {
          type: "object",
          required: ["account", "kind"],
          additionalProperties: false,
          properties: {
            account: ACCOUNT_SCHEMA,
            kind: { type: "string", enum: ["HMAC", "ED25519", "RSA"] },
            public_key: { type: "string", maxLength: 4096 },
            trade: { type: "boolean" },
            withdraw: { type: "boolean" },
            ip_allow: { type: "array", maxItems: 30, items: { type: "string", maxLength: 45 } },
            tier: { type: "string", minLength: 1, maxLength: 32 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      // as on Binance, a key that may withdraw must be bound to the addresses allowed to use it
      if (b.withdraw === true && (b.ip_allow ?? []).length === 0)
        return reply.code(400).send({ error: "a key that may withdraw needs an IP allow-list (ip_allow)" });
      const permissions =
        (b.trade === false ? 0 : PERMISSION_TRADE) | (b.withdraw === true ? PERMISSION_WITHDRAW : 0);
      const tier = b.tier ?? TIER_DEFAULT;
      if (!tier_names.includes(tier))
        return reply
          .code(400)
          .send({ error: `unknown tier "${tier}"; configured: ${tier_names.join(", ")}` });
      const options = { permissions, ip_allow: (b.ip_allow ?? []).join(","), tier };
      if (b.kind === "HMAC") {
        const key = await add_hmac_key(node, master, b.account, options);
        if (!key.ok) return refused(reply, key.error);
        return { account: b.account, apiKey: key.apiKey, secretKey: key.secretKey, kind: "HMAC_SHA256" };
      }
      if (b.public_key === undefined)
        return reply.code(400).send({ error: "public_key is required for ED25519 and RSA" });
      const key = await add_public_key(node, b.account, b.kind, b.public_key, options);
      if (!key.ok) return refused(reply, key.error);
      return { account: b.account, apiKey: key.apiKey, kind: b.kind };
    },
  );

  app.delete<{ Params: { api_key: string }; Querystring: { account: string } }>(
    "/v1/api-keys/:api_key",
    {
      schema: {
        params: { type: "object", properties: { api_key: { type: "string", maxLength: 128 } } },
        querystring: {
          type: "object",
          required: ["account"],
          properties: { account: { type: "string", pattern: "^[0-9]{1,9}$" } },
        },
      },
    },
    async (request) => {
      const account = Number(request.query.account);
      return submit({ type: "revoke_api_key", ts_ms: 0, account, api_key: request.params.api_key });
    },
  );

  /** Test deposits and withdrawals (custody comes later): decimal amounts in the asset's units. */
  for (const type of ["deposit", "withdraw"] as const) {
    app.post<{ Body: { account: number; asset: string; amount: string; request_id?: string } }>(
      `/v1/${type}`,
      {
        schema: {
          body: {
            type: "object",
            required: ["account", "asset", "amount"],
            additionalProperties: false,
            properties: {
              account: ACCOUNT_SCHEMA,
              asset: { type: "string", maxLength: 20 },
              amount: { type: "string", maxLength: 42 },
              request_id: { type: "string", minLength: 1, maxLength: 100 },
            },
          },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const r = await move_funds(node, type, b.account, b.asset, b.amount, b.request_id ?? null);
        return r.ok ? { seq: r.seq, applied: true } : refused(reply, r.error);
      },
    );
  }

  // A socket file left by a crashed node: the data directory's LOCK says no live node owns it.
  rmSync(socket_path, { force: true });
  await app.listen({ path: socket_path });
  chmodSync(socket_path, 0o600);
  return app;
}
