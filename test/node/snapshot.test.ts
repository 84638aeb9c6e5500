/**
 * Background snapshots: the snapshot worker's replica, fed the node's durable frames, writes exactly
 * the state the journal defines at the snapshot's sequence — while the node keeps taking commands.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Engine } from "../../src/engine/engine.js";
import { check_invariants } from "../../src/engine/invariants.js";
import { restore, state_hash } from "../../src/engine/snapshot.js";
import { read_commands, scan_journal } from "../../src/journal/scan.js";
import { FsStorage } from "../../src/journal/storage.js";
import { EngineNode } from "../../src/node/runtime.js";
import { list_snapshots, read_snapshot } from "../../src/node/snapshot_store.js";
import { ops, seed, setup_commands, to_commands } from "../engine/gen.js";

const quiet = { log: () => {} };

/** The state hash after replaying the journal in `dir` from the beginning up to `seq`. */
async function replayed_hash(dir: string, seq: number): Promise<string> {
  const storage = new FsStorage(join(dir, "journal"));
  const engine = new Engine();
  for await (const c of read_commands(storage, await scan_journal(storage), 1)) {
    if (c.seq > seq) break;
    c.command.ts_ms = c.timestamp_ms;
    engine.quietly(() => engine.execute(c.command));
  }
  return state_hash(engine);
}

describe("background snapshots", () => {
  it("are written by a replica whose state equals a replay of the journal, under concurrent load", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-snap-"));
    try {
      const commands = to_commands(fc.sample(ops(3000, 3000), { seed: seed(), numRuns: 1 })[0]);
      const node = await EngineNode.open({ data_dir: dir, snapshot_every_commands: 1e9, ...quiet });
      for (const c of setup_commands()) await node.submit(c);
      // Ask for snapshots while commands are in flight: each lands at or after the sequence asked for.
      const asked: Promise<string>[] = [];
      const acks: Promise<unknown>[] = [];
      for (let i = 0; i < commands.length; i++) {
        acks.push(node.submit(commands[i]));
        if (i % 700 === 350) {
          await acks.at(-1);
          const at = node.last_applied_seq;
          asked.push(
            node.snapshot().then((name) => {
              const seq = Number(name.slice(9, 29));
              assert.ok(seq >= at, `snapshot at ${seq} was asked for at ${at}`);
              return name;
            }),
          );
        }
      }
      await Promise.all(acks);
      const names = await Promise.all(asked);
      assert.equal(names.length, 4);
      // The last one, asked for with nothing in flight, is exactly the node's state.
      const last = await node.snapshot();
      const stored = read_snapshot(join(dir, "snapshots"), last);
      assert.ok(typeof stored !== "string");
      assert.equal(stored.last_seq, node.last_applied_seq);
      assert.equal(stored.state_hash, node.state_hash());
      await node.close();
      // Every kept snapshot equals a replay of the journal up to its sequence.
      const kept = list_snapshots(join(dir, "snapshots"));
      assert.equal(kept.length, 2);
      for (const s of kept) {
        const snap = read_snapshot(join(dir, "snapshots"), s.name);
        assert.ok(typeof snap !== "string");
        assert.equal(snap.state_hash, await replayed_hash(dir, s.last_seq), s.name);
        check_invariants(restore(snap.body));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("after a restart, the worker starts from the restored snapshot plus the journal's tail", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-snap-"));
    try {
      const commands = to_commands(fc.sample(ops(1200, 1200), { seed: seed() + 1, numRuns: 1 })[0]);
      const opts = { data_dir: dir, snapshot_every_commands: 1e9, ...quiet };
      let node = await EngineNode.open(opts);
      for (const c of setup_commands()) await node.submit(c);
      for (const c of commands.slice(0, 400)) await node.submit(c);
      await node.snapshot();
      for (const c of commands.slice(400, 800)) await node.submit(c);
      await node.close(); // the tail 400..800 is only in the journal
      node = await EngineNode.open(opts);
      await Promise.all(commands.slice(800).map((c) => node.submit(c)));
      const name = await node.snapshot();
      const stored = read_snapshot(join(dir, "snapshots"), name);
      assert.ok(typeof stored !== "string");
      assert.equal(stored.last_seq, node.last_applied_seq);
      assert.equal(stored.state_hash, node.state_hash());
      await node.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
