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
import { admin_request } from "../../src/admin/client.js";
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
});
