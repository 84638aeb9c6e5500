/**
 * Crash through the API: a real `holdfast start` process takes signed orders from concurrent clients
 * and is killed with SIGKILL at a random moment, several times. After each restart every order a
 * client saw acknowledged is in the history exactly once, and an order whose answer was lost, retried
 * with the same client order id, is placed at most once.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Prng } from "../../src/sim/prng.js";
import { spawn_node as start } from "../helpers/nodes.js";

const CYCLES = Number(process.env.HOLDFAST_API_CRASH_CYCLES ?? 5);

describe("crash through the API", () => {
  it(`every acknowledged order survives ${CYCLES} SIGKILLs exactly once; lost answers retry at most once`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-api-crash-"));
    const children: ChildProcess[] = [];
    try {
      const rng = new Prng(20261126);
      let { child, port } = await start(dir);
      children.push(child);
      const creds = JSON.parse(readFileSync(join(dir, "demo-credentials.json"), "utf8")) as {
        users: { apiKey: string; secretKey: string }[];
      };
      const key = creds.users[0];
      const signed = (method: string, path: string, params: Record<string, string>) => {
        const text = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
        const sig = createHmac("sha256", key.secretKey).update(text).digest("hex");
        return fetch(`http://127.0.0.1:${port}${path}?${text}&signature=${sig}`, {
          method,
          headers: { "X-MBX-APIKEY": key.apiKey },
        });
      };
      // IOC buys far below any ask: each is journaled, applied and ends EXPIRED, nothing rests.
      const order = (cid: string) =>
        signed("POST", "/api/v3/order", {
          symbol: "BTCUSDT",
          side: "BUY",
          type: "LIMIT",
          timeInForce: "IOC",
          quantity: "0.01",
          price: "1000",
          newClientOrderId: cid,
          newOrderRespType: "ACK",
        });
      const acked = new Map<string, number>();
      const unanswered = new Set<string>();
      let n = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        let killed = false;
        const worker = async () => {
          while (!killed) {
            const cid = `c${cycle}-${n++}`;
            unanswered.add(cid);
            try {
              const r = await order(cid);
              const body = (await r.json()) as { orderId?: number };
              if (r.status === 200 && body.orderId !== undefined) {
                acked.set(cid, body.orderId);
                unanswered.delete(cid);
              }
            } catch {
              // connection reset by the kill: the answer is lost, the order may or may not exist
            }
          }
        };
        const workers = Array.from({ length: 8 }, worker);
        await new Promise((r) => setTimeout(r, 300 + rng.below(700)));
        child.kill("SIGKILL");
        killed = true;
        await Promise.all(workers);
        if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
        ({ child, port } = await start(dir));
        children.push(child);

        // every acknowledged order is there, once, with the id it was acknowledged with
        const seen = new Map<string, number>();
        let from = 0;
        for (;;) {
          const r = await signed("GET", "/api/v3/allOrders", {
            symbol: "BTCUSDT",
            orderId: String(from),
            limit: "1000",
          });
          const page = (await r.json()) as { orderId: number; clientOrderId: string }[];
          for (const o of page) {
            assert.ok(!seen.has(o.clientOrderId), `client order id ${o.clientOrderId} placed twice`);
            seen.set(o.clientOrderId, o.orderId);
          }
          if (page.length < 1000) break;
          from = page[page.length - 1].orderId + 1;
        }
        for (const [cid, id] of acked)
          assert.equal(seen.get(cid), id, `acknowledged ${cid} missing after restart`);
        // a lost answer retried with the same client order id: placed now, or refused as a duplicate
        for (const cid of unanswered) {
          let r = await order(cid);
          // a node still busy after its restart (or a loaded machine) sheds new orders with 429
          // -1003 and Retry-After, placing nothing: a client waits and sends the same order again
          for (let tries = 0; r.status === 429 && tries < 10; tries++) {
            await r.arrayBuffer();
            await new Promise((done) => setTimeout(done, 1000 * Number(r.headers.get("retry-after") ?? 1)));
            r = await order(cid);
          }
          const body = (await r.json()) as { orderId?: number; code?: number; msg?: string };
          if (seen.has(cid)) assert.deepEqual(body, { code: -2010, msg: "Duplicate order sent." });
          else {
            assert.equal(r.status, 200, JSON.stringify(body));
            acked.set(cid, body.orderId as number);
          }
        }
        unanswered.clear();
      }
      assert.ok(acked.size > 50, `enough load: ${acked.size} orders acknowledged`);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
