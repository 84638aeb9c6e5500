/**
 * The benchmark's baselines, each run as its own process: `node baselines.js http|ws`.
 * http: a bare node:http server that reads the request and answers a fixed JSON (an order's ACK);
 * ws: a bare `ws` server that answers every message with a fixed JSON. Prints "port N" when ready.
 * They do none of the exchange's work, so the exchange's figure over theirs is the cost of that work
 * on this machine, with the same load generator and the same connections.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

const ACK = JSON.stringify({
  symbol: "BTCUSDT",
  orderId: 1,
  orderListId: -1,
  clientOrderId: "x-bench-000000000000000",
  transactTime: 1,
});

const kind = process.argv[2];
const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(ACK);
  });
});
server.keepAliveTimeout = 60_000;
if (kind === "ws") {
  const wss = new WebSocketServer({ server });
  const answer = JSON.stringify({ id: "x", status: 200, result: JSON.parse(ACK) });
  wss.on("connection", (ws) => ws.on("message", () => ws.send(answer)));
} else if (kind !== "http") {
  console.error("usage: baselines.js http|ws");
  process.exit(2);
}
server.listen(0, "127.0.0.1", () => {
  console.log(`port ${(server.address() as AddressInfo).port}`);
});
process.on("SIGTERM", () => process.exit(0));
