/**
 * A flood of idle connections cannot take the file descriptors the node needs for itself: past
 * `open-files limit − FD_RESERVE` connections the public server closes new ones at once, so the
 * journal, snapshots and the admin socket keep working and the clients already connected are served.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Pool } from "undici";
import WebSocket from "ws";
import { admin_request } from "../../src/admin/client.js";
import { DEFAULT_TIERS, DEMO_LIMITS } from "../../src/gateway/limits.js";
import { FD_RESERVE } from "../../src/server/connections.js";
import { demo_node, spawn_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";

/** Whether a new connection is served: a ping on it answered, or the server closed it. */
function ping_fresh(port: number, from = "127.0.0.1", path = "/api/v3/ping"): Promise<"served" | "closed"> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress: from }, () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let got = "";
    socket.on("data", (d) => {
      got += d.toString();
    });
    socket.on("close", () => resolve(got.startsWith("HTTP/1.1 200") ? "served" : "closed"));
    socket.on("error", () => undefined);
  });
}

describe("connection flood", () => {
  it("past the cap new connections are closed; the node keeps journaling, snapshotting and serving", {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-conns-"));
    const NOFILE = 900;
    const { child, port } = await spawn_node(dir, 0, [], ["prlimit", `--nofile=${NOFILE}`]);
    const flood: Socket[] = [];
    // a client connected before the flood, on one keep-alive connection
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1, keepAliveTimeout: 60_000 });
    try {
      assert.equal((await pool.request({ path: "/api/v3/ping", method: "GET" })).statusCode, 200);
      // more idle connections than the node has file descriptors
      for (let i = 0; i < NOFILE + 100; i++) {
        const s = connect(port, "127.0.0.1");
        s.on("error", () => undefined);
        flood.push(s);
      }
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(await ping_fresh(port), "closed", "a connection past the cap is closed at once");
      // the node's own files and sockets still open: a snapshot (a new file) and journaled commands
      const socket = join(dir, "admin.sock");
      const snap = await admin_request(socket, "POST", "/v1/snapshot", {});
      assert.equal(snap.status, 200, JSON.stringify(snap.body));
      const user = await admin_request(socket, "POST", "/v1/users", {});
      assert.equal(user.status, 200, JSON.stringify(user.body));
      // and the client connected before is served
      const r = await pool.request({ path: "/api/v3/ping", method: "GET" });
      assert.equal(r.statusCode, 200);
      await r.body.dump();
      // once the flood is gone, new connections are served again
      for (const s of flood) s.destroy();
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await ping_fresh(port), "served");
      assert.ok(NOFILE - FD_RESERVE > 64);
    } finally {
      for (const s of flood) s.destroy();
      await pool.close();
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("one address holds at most --connections-per-ip connections, on the exchange and the status page; other addresses are not affected", async () => {
    const handle = await demo_node("hf-per-ip-", { connections_per_ip: 20 });
    const status_dir = mkdtempSync(join(tmpdir(), "hf-per-ip-status-"));
    // watching nothing: its probes would otherwise hold connections from 127.0.0.1 to the node
    const status = await test_status(status_dir, "http://127.0.0.1:9", {
      connections_per_ip: 20,
    });
    const held: Socket[] = [];
    try {
      for (const [port, path] of [
        [handle.running.port, "/api/v3/ping"],
        [status.port, "/api/v2/status.json"],
      ] as const) {
        for (let i = 0; i < 20; i++) {
          const s = connect(port, "127.0.0.1");
          s.on("error", () => undefined);
          held.push(s);
        }
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(
          await ping_fresh(port, "127.0.0.1", path),
          "closed",
          `${path}: the 21st is closed at once`,
        );
        assert.equal(
          await ping_fresh(port, "127.0.0.2", path),
          "served",
          `${path}: another address is served`,
        );
        held.pop()?.destroy();
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(
          await ping_fresh(port, "127.0.0.1", path),
          "served",
          `${path}: a slot freed serves again`,
        );
      }
    } finally {
      for (const s of held) s.destroy();
      await status.close();
      await handle.remove();
      rmSync(status_dir, { recursive: true, force: true });
    }
  });

  it("behind a trusted proxy, limits and API keys' IP allow-lists see the forwarded client address; otherwise the header is ignored", async () => {
    const admin_dir = mkdtempSync(join(tmpdir(), "hf-proxy-admin-"));
    const admin_socket = join(admin_dir, "admin.sock");
    // two WebSocket connection attempts per address per 5 minutes, to see whose address counts
    const limit_tiers = { ...DEFAULT_TIERS, demo: { ...DEMO_LIMITS, connections_per_5m: 2 } };
    const trusted = await demo_node("hf-proxy-", { trust_proxy: "127.0.0.1", admin_socket, limit_tiers });
    const plain = await demo_node("hf-noproxy-", { limit_tiers });
    const status_dir = mkdtempSync(join(tmpdir(), "hf-proxy-status-"));
    const status = await test_status(status_dir, "http://127.0.0.1:9", {
      connections_per_ip: 20,
      trust_proxy: "127.0.0.1",
    });
    const sockets: WebSocket[] = [];
    try {
      // an HMAC key usable only from 203.0.113.7
      const made = await admin_request(admin_socket, "POST", "/v1/users", {});
      const account = (made.body as { account: number }).account;
      const key = (await admin_request(admin_socket, "POST", "/v1/api-keys", {
        account,
        kind: "HMAC",
        ip_allow: ["203.0.113.7"],
      })) as { status: number; body: { apiKey: string; secretKey: string } };
      assert.equal(key.status, 200, JSON.stringify(key.body));
      const account_call = async (port: number, forwarded: string | null) => {
        const text = `timestamp=${Date.now()}`;
        const { createHmac } = await import("node:crypto");
        const signature = createHmac("sha256", key.body.secretKey).update(text).digest("hex");
        const headers: Record<string, string> = { "X-MBX-APIKEY": key.body.apiKey };
        if (forwarded !== null) headers["X-Forwarded-For"] = forwarded;
        const r = await fetch(`http://127.0.0.1:${port}/api/v3/account?${text}&signature=${signature}`, {
          headers,
        });
        return { status: r.status, body: (await r.json()) as { code?: number } };
      };
      const port = trusted.running.port;
      assert.equal(
        (await account_call(port, "203.0.113.7")).status,
        200,
        "the allowed client, through the proxy",
      );
      assert.equal((await account_call(port, "198.51.100.1")).body.code, -2015, "another client");
      // a client cannot claim an address by putting it first: the proxy appends what it saw
      assert.equal((await account_call(port, "203.0.113.7, 198.51.100.1")).body.code, -2015);
      assert.equal((await account_call(port, null)).body.code, -2015, "the proxy itself");
      // Without --trust-proxy the header proves nothing: the key was made on the other node, so ask
      // its weight instead: two forwarded addresses share the socket's counter.
      const weight = async (p: number, forwarded: string) =>
        Number(
          (
            await fetch(`http://127.0.0.1:${p}/api/v3/ping`, { headers: { "X-Forwarded-For": forwarded } })
          ).headers.get("x-mbx-used-weight-1m"),
        );
      assert.equal(await weight(port, "192.0.2.1"), 1);
      assert.equal(await weight(port, "192.0.2.2"), 1, "each client its own weight");
      assert.equal(await weight(plain.running.port, "192.0.2.1"), 1);
      assert.equal(
        await weight(plain.running.port, "192.0.2.2"),
        2,
        "untrusted: one counter for the socket's address",
      );

      // WebSocket connection attempts per address: the forwarded one behind the trusted proxy
      const attempt = (p: number, forwarded: string) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${p}/ws/btcusdt@trade`, {
            headers: { "X-Forwarded-For": forwarded },
          });
          sockets.push(ws);
          ws.on("open", () => resolve(101));
          ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
          ws.on("error", () => resolve(0));
        });
      assert.deepEqual(
        [
          await attempt(port, "192.0.2.9"),
          await attempt(port, "192.0.2.9"),
          await attempt(port, "192.0.2.9"),
        ],
        [101, 101, 429],
      );
      assert.equal(await attempt(port, "192.0.2.10"), 101, "another client behind the same proxy");
      const p2 = plain.running.port;
      assert.deepEqual(
        [await attempt(p2, "192.0.2.9"), await attempt(p2, "192.0.2.10"), await attempt(p2, "192.0.2.11")],
        [101, 101, 429],
        "untrusted: every attempt is the socket's address",
      );

      // The status page behind its proxy: the proxy's connections are not capped per address
      const held: Socket[] = [];
      try {
        for (let i = 0; i < 25; i++) {
          const s = connect(status.port, "127.0.0.1");
          s.on("error", () => undefined);
          held.push(s);
        }
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await ping_fresh(status.port, "127.0.0.1", "/api/v2/status.json"), "served");
      } finally {
        for (const s of held) s.destroy();
      }
    } finally {
      for (const ws of sockets) ws.terminate();
      await status.close();
      await trusted.remove();
      await plain.remove();
      rmSync(status_dir, { recursive: true, force: true });
      rmSync(admin_dir, { recursive: true, force: true });
    }
  });
});
