/**
 * Bootstrapping from peers when a peer misbehaves (src/cluster/peer.ts): a peer serving a damaged
 * snapshot is passed over for the next one; when none can give a good snapshot, nothing is written
 * and the caller hears why. The good peer here serves through the real peer routes (a real snapshot
 * directory and history database); the bad one flips one byte of a real snapshot.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Fastify from "fastify";
import { etcd_client } from "../../src/cluster/etcd_client.js";
import {
  bootstrap_from_peer,
  check_peer_auth,
  PEER_AUTH_WINDOW_MS,
  peer_auth_header,
  register_peer_routes,
  write_position,
} from "../../src/cluster/peer.js";
import { Engine } from "../../src/engine/engine.js";
import { snapshot, state_hash } from "../../src/engine/snapshot.js";
import { read_snapshot, write_snapshot } from "../../src/node/snapshot_store.js";
import { History } from "../../src/projections/history.js";
import { setup_commands } from "../engine/gen.js";
import { type EtcdCluster, start_etcd } from "../helpers/etcd.js";

const KEY = Buffer.alloc(32, 1);

describe("peer authentication", () => {
  it("accepts only a fresh header for this method and path under this key", () => {
    const now = 1_800_000_000_000;
    const good = peer_auth_header(KEY, "n1", "GET", "/cluster/v1/snapshot", now);
    assert.equal(check_peer_auth(KEY, good, "GET", "/cluster/v1/snapshot", now + 1000), null);
    assert.equal(
      check_peer_auth(KEY, undefined, "GET", "/cluster/v1/snapshot", now),
      "missing x-holdfast-peer",
    );
    assert.match(String(check_peer_auth(KEY, "n1.1.zz", "GET", "/x", now)), /malformed/);
    assert.match(String(check_peer_auth(KEY, `${good}0`, "GET", "/cluster/v1/snapshot", now)), /malformed/);
    assert.match(
      String(check_peer_auth(KEY, good, "GET", "/cluster/v1/snapshot", now + PEER_AUTH_WINDOW_MS + 1)),
      /stale/,
    );
    assert.match(String(check_peer_auth(KEY, good, "GET", "/cluster/v1/history", now)), /bad signature/);
    assert.match(
      String(check_peer_auth(Buffer.alloc(32, 2), good, "GET", "/cluster/v1/snapshot", now)),
      /bad signature/,
    );
    // another node's name with this node's signature
    assert.match(
      String(check_peer_auth(KEY, good.replace(/^n1/, "n2"), "GET", "/cluster/v1/snapshot", now)),
      /bad signature/,
    );
  });
});

describe("bootstrap from misbehaving peers", () => {
  let etcd: EtcdCluster;
  const root = mkdtempSync(join(tmpdir(), "hf-peer-"));
  const servers: { close(): unknown }[] = [];
  before(async () => {
    etcd = await start_etcd(1);
  });
  after(async () => {
    for (const s of servers) await s.close();
    await etcd?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("passes over a peer with a damaged snapshot; with no good peer it writes nothing", async () => {
    // a real state at sequence N, its snapshot and a history reaching it
    const engine = new Engine();
    const commands = setup_commands();
    for (const c of commands) engine.execute(c);
    const seq = commands.length;
    const good_dir = join(root, "good");
    const snapshots = join(good_dir, "snapshots");
    mkdirSync(snapshots, { recursive: true });
    const name = write_snapshot(snapshots, seq, snapshot(engine));
    write_position(snapshots, { seq, revision: 40, last_ts_ms: 5 });
    const history = new History(join(good_dir, "history.sqlite"));
    history.apply(seq, 5, []);
    const app = Fastify();
    register_peer_routes(app, { snapshots_dir: snapshots, history }, KEY, Date.now);
    await app.listen({ host: "127.0.0.1", port: 0 });
    servers.push(app, { close: () => history.close() });
    const good_url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    // the bad peer: the same snapshot with one byte of its body flipped, claiming a newer position
    const bytes = readFileSync(join(snapshots, name));
    bytes[bytes.length - 10] ^= 0x40;
    const bad: Server = createServer((_req, res) => {
      res.setHeader("x-holdfast-position", JSON.stringify({ seq, revision: 90, last_ts_ms: 5 }));
      res.end(bytes);
    });
    await new Promise<void>((r) => bad.listen(0, "127.0.0.1", r));
    servers.push({ close: () => new Promise((r) => bad.close(r)) });
    const bad_url = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;

    const client = etcd_client(etcd.urls);
    try {
      const publish = (id: string, revision: number, url: string) =>
        client.put(`/peer/nodes/${id}/snapshot`).value(JSON.stringify({ revision, seq, url })).exec();
      await publish("bad", 90, bad_url);
      const lines: string[] = [];
      const options = (dir: string) => ({
        data_dir: dir,
        client,
        prefix: "/peer",
        node_id: "new",
        key: KEY,
        log: (l: string) => lines.push(l),
      });

      // only the bad peer: refused, nothing written
      const lonely = join(root, "lonely");
      await assert.rejects(
        bootstrap_from_peer(options(lonely)),
        /no peer could give a snapshot: bad .*damaged/,
      );
      assert.deepEqual(
        existsSync(join(lonely, "snapshots")) ? readdirSync(join(lonely, "snapshots")) : [],
        [],
        "no snapshot written",
      );
      assert.ok(!existsSync(join(lonely, "history.sqlite")), "no history written");

      // the bad peer (newest) and the good one: the good one's snapshot and history are taken
      await publish("good", 40, good_url);
      const fresh = join(root, "fresh");
      const what = await bootstrap_from_peer(options(fresh));
      assert.match(String(what), new RegExp(`bootstrapped from good .*snapshot at sequence ${seq}`));
      assert.ok(
        lines.some((l) => /could not bootstrap from bad .*damaged/.test(l)),
        lines.join("\n"),
      );
      const stored = read_snapshot(join(fresh, "snapshots"), name);
      assert.ok(typeof stored !== "string", String(stored));
      assert.equal(stored.state_hash, state_hash(engine));
      assert.deepEqual(
        JSON.parse(
          readFileSync(join(fresh, "snapshots", `cluster-${String(seq).padStart(20, "0")}.json`), "utf8"),
        ),
        {
          seq,
          revision: 40,
          last_ts_ms: 5,
        },
      );
      const copied = new History(join(fresh, "history.sqlite"));
      assert.equal(copied.last_seq, seq);
      copied.close();

      // a directory that has a snapshot already is left alone
      assert.equal(await bootstrap_from_peer(options(fresh)), null);
    } finally {
      client.close();
    }
  });
});
