/** Cluster nodes as real `holdfast start --journal etcd` processes, for the cluster tests. */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { BIN } from "./nodes.js";

/** The cluster's shared master key (configuration: every node must hold the same one). */
export const CLUSTER_MASTER_KEY = randomBytes(32).toString("base64");

export interface ClusterProcess {
  child: ChildProcess;
  port: number;
  admin_socket: string;
  /** What the node has written to stderr (its log), the last 200 KB. */
  logs(): string;
}

export function start_cluster_node(
  dir: string,
  id: string,
  etcd: string[],
  extra: string[] = [],
  /** 0: any free port (a restarted node then has a new address). */
  port = 0,
): Promise<ClusterProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        "start",
        "--data-dir",
        dir,
        "--port",
        String(port),
        "--demo",
        "--journal",
        "etcd",
        "--etcd",
        etcd.join(","),
        "--node-id",
        id,
        "--etcd-prefix",
        "/proc",
        ...extra,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOLDFAST_MASTER_KEY: CLUSTER_MASTER_KEY } },
    );
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`node ${id} did not start: ${err}`)), 60_000);
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /node ready at http:\/\/127\.0\.0\.1:(\d+) .*admin socket (\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), admin_socket: m[2], logs: () => err });
      }
    });
    child.stderr?.on("data", (b: Buffer) => {
      err = (err + b.toString()).slice(-200_000);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${id} exited with ${code}: ${err}`));
    });
  });
}

/** A signed REST query string (HMAC-SHA256), with a fresh timestamp. */
export function signed_query(params: Record<string, string>, secret: string): string {
  const q = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
  return `${q}&signature=${createHmac("sha256", secret).update(q).digest("hex")}`;
}

/** How many times each client order id appears in BTCUSDT's allOrders of these users on one node. */
export async function client_order_ids(
  port: number,
  users: { apiKey: string; secretKey: string }[],
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (const user of users) {
    let from_id = 0;
    for (;;) {
      const q = signed_query({ symbol: "BTCUSDT", orderId: String(from_id), limit: "1000" }, user.secretKey);
      const r = await fetch(`http://127.0.0.1:${port}/api/v3/allOrders?${q}`, {
        headers: { "X-MBX-APIKEY": user.apiKey },
      });
      const page = (await r.json()) as { orderId: number; clientOrderId: string }[];
      for (const o of page) seen.set(o.clientOrderId, (seen.get(o.clientOrderId) ?? 0) + 1);
      if (page.length < 1000) break;
      from_id = page[page.length - 1].orderId + 1;
    }
  }
  return seen;
}
