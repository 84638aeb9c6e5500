/** What the cluster benches share: one signed order, and waiting for the nodes to agree. */
import { createHmac } from "node:crypto";
import { Agent } from "undici";
import { admin_request } from "../../src/admin/client.js";
import type { DemoCredentials } from "../../src/demo/setup.js";
import type { ClusterProcess } from "../../test/helpers/cluster.js";

export type User = DemoCredentials["users"][number];

export const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 10_000 });
const REQUEST_TIMEOUT_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One signed IOC order (it rests nowhere, so accounts never run into open-order limits). */
export async function place(port: number, user: User, cid: string): Promise<"ok" | "duplicate" | "failed"> {
  const q = new URLSearchParams({
    symbol: "BTCUSDT",
    side: "BUY",
    type: "LIMIT",
    timeInForce: "IOC",
    price: "1000",
    quantity: "0.01",
    newClientOrderId: cid,
    newOrderRespType: "ACK",
    timestamp: String(Date.now()),
    recvWindow: "60000",
  }).toString();
  const sig = createHmac("sha256", user.secretKey).update(q).digest("hex");
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/v3/order?${q}&signature=${sig}`, {
      method: "POST",
      headers: { "X-MBX-APIKEY": user.apiKey },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      // @ts-expect-error undici's fetch takes a dispatcher
      dispatcher,
    });
    const body = (await r.json()) as { msg?: string };
    if (r.status === 200) return "ok";
    if (body.msg === "Duplicate order sent.") return "duplicate";
    return "failed";
  } catch {
    return "failed";
  }
}

/** Waits (up to 60 s) until every node reports the same sequence and state hash (admin socket). */
export async function wait_for_agreement(
  nodes: (ClusterProcess | null)[],
): Promise<{ agreed: boolean; statuses: { applied_seq: number; state_hash: string }[]; ms: number }> {
  const started = Date.now();
  let statuses: { applied_seq: number; state_hash: string }[] = [];
  while (Date.now() - started < 60_000) {
    statuses = await Promise.all(
      nodes.map(
        async (n) =>
          (await admin_request((n as ClusterProcess).admin_socket, "GET", "/v1/status?hash=1")).body as {
            applied_seq: number;
            state_hash: string;
          },
      ),
    );
    if (
      statuses.every(
        (x) => x.applied_seq === statuses[0].applied_seq && x.state_hash === statuses[0].state_hash,
      )
    )
      return { agreed: true, statuses, ms: Date.now() - started };
    await sleep(200);
  }
  return { agreed: false, statuses, ms: Date.now() - started };
}
