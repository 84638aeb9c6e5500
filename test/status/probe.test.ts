/**
 * The probe against a watched node that misbehaves: what it sends is never trusted to be well formed.
 * A broken node is exactly what the status service watches for; it must say so, not crash.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { WebSocketServer } from "ws";
import { probe_round } from "../../src/status/probe.js";

/** A server that answers every REST path with `body` and every stream message/subscription with `frames`. */
async function broken_node(
  body: string,
  frames: string[],
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) => {
    for (const f of frames) ws.send(f);
    ws.on("message", () => {
      for (const f of frames) ws.send(f);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}

describe("status probe against a broken node", () => {
  for (const [body, frames] of [
    ["null", ["null"]],
    ["not json", ["not json"]],
    ["5", ["[1,2]", '"x"', "{}"]],
    ['{"symbols":7}', ['{"E":"soon"}']],
  ] as const) {
    it(`REST answering ${body}, streams sending ${frames.join(" ")}: components out, no crash`, async () => {
      const node = await broken_node(body, [...frames]);
      try {
        for (const symbols of [[], ["BTCUSDT"]]) {
          const { seen } = await probe_round([node.url], symbols);
          const ws = seen.get("websocket-streams");
          assert.equal(ws?.status, "major_outage", JSON.stringify(ws));
          // a system status or exchangeInfo that is not the API's shape: not answering as an exchange
          const rest = seen.get("rest-api");
          assert.equal(rest?.status, "major_outage", JSON.stringify(rest));
        }
      } finally {
        await node.close();
      }
    });
  }
});
