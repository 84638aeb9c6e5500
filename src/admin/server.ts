/**
 * The admin interface: how operator commands reach a running node (never by opening its files). It
 * listens on a Unix socket inside the data directory (`DIR/admin.sock`, mode 0600), so only the
 * node's own user on its own machine can reach it and nothing is exposed on the network. Every
 * state change goes through the journal like any other command.
 */

import { createPublicKey, randomBytes } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import Fastify, { type FastifyInstance } from "fastify";
import { KEY_ED25519, KEY_HMAC, KEY_RSA, PERMISSION_TRADE } from "../engine/api_keys.js";
import type { Command } from "../engine/commands.js";
import { decimal_to_units } from "../engine/decimal.js";
import type { EngineEvent } from "../engine/events.js";
import { reason_message, reason_name } from "../engine/reasons.js";
import { MARKET_STATUS_NAMES, type MarketStatus } from "../engine/types.js";
import type { MasterKey } from "../gateway/master_key.js";
import type { EngineNode } from "../node/runtime.js";

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
}

export function node_status(node: EngineNode, data_dir: string, started_at: Date): NodeStatus {
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
  node: EngineNode,
  data_dir: string,
  socket_path: string,
  master: MasterKey,
): Promise<FastifyInstance> {
  if (Buffer.byteLength(socket_path) > SOCKET_PATH_MAX)
    throw new Error(
      `admin socket path ${socket_path} is longer than ${SOCKET_PATH_MAX} bytes; use a shorter --data-dir or --admin-socket`,
    );
  const started_at = new Date();
  const app = Fastify({ bodyLimit: BODY_BYTES_MAX, logger: false });
  const submit = async (command: Command) => {
    const applied = await node.submit(command);
    return outcome(applied.seq, applied.events);
  };
  const market_id = (symbol: string): number | undefined => node.engine.market_by_symbol.get(symbol);

  app.get("/v1/status", async () => node_status(node, data_dir, started_at));

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

  const asset_id = (name: string): number => node.engine.assets.findIndex((a) => a.name === name);

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
      const created = await node.submit({
        type: "create_account",
        ts_ms: 0,
        request_id: request.body?.request_id ?? null,
      });
      const event = created.events.find(
        (e) => e.kind === "account_created" || e.kind === "duplicate_request",
      );
      if (event === undefined) return reply.code(409).send(outcome(created.seq, created.events));
      const account =
        event.kind === "account_created"
          ? event.account
          : event.kind === "duplicate_request"
            ? event.result
            : -1;
      const key = await create_hmac_key(account, PERMISSION_TRADE, "");
      if ("error" in key) return reply.code(409).send(key);
      return { account, ...key };
    },
  );

  const create_hmac_key = async (account: number, permissions: number, ip_allow: string) => {
    const api_key = randomBytes(48).toString("base64url").replace(/[-_]/g, "").slice(0, 64).padEnd(64, "0");
    const secret = randomBytes(48).toString("base64url").replace(/[-_]/g, "").slice(0, 64).padEnd(64, "0");
    const added = await node.submit({
      type: "add_api_key",
      ts_ms: 0,
      account,
      api_key,
      kind: KEY_HMAC,
      material: master.seal(secret),
      permissions,
      ip_allow,
    });
    const o = outcome(added.seq, added.events);
    if (!o.applied) return { error: o.message ?? "refused" };
    return { apiKey: api_key, secretKey: secret, kind: "HMAC_SHA256" };
  };

  app.post<{
    Body: { account: number; kind: string; public_key?: string; trade?: boolean; ip_allow?: string[] };
  }>(
    "/v1/api-keys",
    {
      schema: {
        body: {
          type: "object",
          required: ["account", "kind"],
          additionalProperties: false,
          properties: {
            account: { type: "integer", minimum: 0 },
            kind: { type: "string", enum: ["HMAC", "ED25519", "RSA"] },
            public_key: { type: "string", maxLength: 4096 },
            trade: { type: "boolean" },
            ip_allow: { type: "array", maxItems: 30, items: { type: "string", maxLength: 45 } },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const permissions = b.trade === false ? 0 : PERMISSION_TRADE;
      const ip_allow = (b.ip_allow ?? []).join(",");
      if (b.kind === "HMAC") {
        const key = await create_hmac_key(b.account, permissions, ip_allow);
        return "error" in key ? reply.code(409).send(key) : { account: b.account, ...key };
      }
      if (b.public_key === undefined)
        return reply.code(400).send({ error: "public_key is required for ED25519 and RSA" });
      let kind: number;
      try {
        const k = createPublicKey(b.public_key);
        kind = k.asymmetricKeyType === "ed25519" ? KEY_ED25519 : k.asymmetricKeyType === "rsa" ? KEY_RSA : -1;
      } catch {
        kind = -1;
      }
      if (kind !== (b.kind === "ED25519" ? KEY_ED25519 : KEY_RSA))
        return reply.code(400).send({ error: `public_key is not a valid ${b.kind} public key (PEM)` });
      const api_key = randomBytes(48).toString("base64url").replace(/[-_]/g, "").slice(0, 64).padEnd(64, "0");
      const added = await node.submit({
        type: "add_api_key",
        ts_ms: 0,
        account: b.account,
        api_key,
        kind,
        material: b.public_key,
        permissions,
        ip_allow,
      });
      const o = outcome(added.seq, added.events);
      return o.applied
        ? { account: b.account, apiKey: api_key, kind: b.kind }
        : reply.code(409).send({ error: o.message });
    },
  );

  app.delete<{ Params: { api_key: string }; Querystring: { account: string } }>(
    "/v1/api-keys/:api_key",
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
              account: { type: "integer", minimum: 0 },
              asset: { type: "string", maxLength: 20 },
              amount: { type: "string", maxLength: 42 },
              request_id: { type: "string", minLength: 1, maxLength: 100 },
            },
          },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const asset = asset_id(b.asset);
        if (asset < 0) return reply.code(404).send({ error: `unknown asset ${b.asset}` });
        const units = decimal_to_units(b.amount, node.engine.assets[asset].decimals);
        if (!units.ok) return reply.code(400).send({ error: `amount ${b.amount}: ${units.error}` });
        return submit({
          type,
          ts_ms: 0,
          account: b.account,
          asset,
          amount_units: units.units,
          request_id: b.request_id ?? null,
        });
      },
    );
  }

  // A socket file left by a crashed node: the data directory's LOCK says no live node owns it.
  rmSync(socket_path, { force: true });
  await app.listen({ path: socket_path });
  chmodSync(socket_path, 0o600);
  return app;
}
