/**
 * The admin interface: how operator commands reach a running node (never by opening its files). It
 * listens on a Unix socket inside the data directory (`DIR/admin.sock`, mode 0600), so only the
 * node's own user on its own machine can reach it and nothing is exposed on the network. Every
 * state change goes through the journal like any other command.
 */
import { chmodSync, rmSync } from "node:fs";
import Fastify, { type FastifyInstance } from "fastify";
import type { Command } from "../engine/commands.js";
import type { EngineEvent } from "../engine/events.js";
import { reason_message, reason_name } from "../engine/reasons.js";
import { MARKET_STATUS_NAMES, type MarketStatus } from "../engine/types.js";
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

  // A socket file left by a crashed node: the data directory's LOCK says no live node owns it.
  rmSync(socket_path, { force: true });
  await app.listen({ path: socket_path });
  chmodSync(socket_path, 0o600);
  return app;
}
