/**
 * The public HTTP server (Binance Spot API, step 3). Today: the connectivity endpoints a client
 * checks first; the rest of /api/v3 and the WebSocket streams are built on this server.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { EngineNode } from "../node/runtime.js";

export interface PublicServerOptions {
  host: string;
  port: number;
  /** Wall clock for /api/v3/time (the engine has none). */
  clock_ms: () => number;
}

export async function start_public_server(
  node: EngineNode,
  options: PublicServerOptions,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  app.get("/api/v3/ping", async () => ({}));
  app.get("/api/v3/time", async () => ({ serverTime: options.clock_ms() }));
  app.get("/sapi/v1/system/status", async () =>
    node.engine.maintenance ? { status: 1, msg: "system maintenance" } : { status: 0, msg: "normal" },
  );
  await app.listen({ host: options.host, port: options.port });
  return app;
}
