/**
 * `holdfast start`: one node of the exchange. Opens (and recovers) the data directory, configures the
 * demo markets on a fresh directory when asked, then serves the public API and the admin interface.
 * SIGTERM or SIGINT closes it cleanly: the servers stop taking requests, pending snapshots finish,
 * the journal closes and the data directory's lock is released.
 */
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { admin_socket_path } from "../admin/client.js";
import { start_admin_server } from "../admin/server.js";
import { DEMO_SETUP } from "../demo/markets.js";
import { Authenticator } from "../gateway/auth.js";
import { MasterKey } from "../gateway/master_key.js";
import { start_public_server } from "../gateway/public.js";
import { EngineNode } from "../node/runtime.js";

export interface StartOptions {
  data_dir: string;
  /** File holding the master key (base64); default DATA_DIR/master.key. HOLDFAST_MASTER_KEY wins. */
  master_key_file?: string;
  host: string;
  port: number;
  admin_socket: string | null;
  demo: boolean;
  log: (line: string) => void;
}

export interface RunningNode {
  node: EngineNode;
  port: number;
  admin_socket: string;
  close(): Promise<void>;
}

export async function start_node(options: StartOptions): Promise<RunningNode> {
  const node = await EngineNode.open({ data_dir: options.data_dir, log: options.log });
  const servers: FastifyInstance[] = [];
  const close = async (): Promise<void> => {
    for (const s of servers.reverse()) await s.close();
    await node.close();
  };
  try {
    if (options.demo && node.engine.markets.length === 0) {
      for (const c of DEMO_SETUP) await node.submit(structuredClone(c));
      options.log(
        `node: demo markets configured (${node.engine.markets.map((m) => m.config.add_market.symbol).join(", ")})`,
      );
    }
    const master = MasterKey.load(
      options.master_key_file ?? join(options.data_dir, "master.key"),
      options.demo,
      options.log,
    );
    const admin_socket = options.admin_socket ?? admin_socket_path(options.data_dir);
    servers.push(await start_admin_server(node, options.data_dir, admin_socket, master));
    const pub = await start_public_server(node, {
      host: options.host,
      port: options.port,
      clock_ms: Date.now,
      auth: new Authenticator(node.engine, master, Date.now),
    });
    servers.push(pub);
    const port = (pub.server.address() as AddressInfo).port;
    return { node, port, admin_socket, close };
  } catch (error) {
    await close();
    throw error;
  }
}
