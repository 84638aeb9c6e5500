/**
 * Old journals still replay: test/fixtures/journal-v1 was written by command format version 1 (before
 * request ids). A node opens it, reaches the same state as applying the same commands directly, and
 * goes on appending version 2 commands; the mixed journal replays after a restart.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Command } from "../../src/engine/commands.js";
import { Engine } from "../../src/engine/engine.js";
import { state_hash } from "../../src/engine/snapshot.js";
import { EngineNode } from "../../src/node/runtime.js";

const FIXTURE = fileURLToPath(new URL("../../../test/fixtures/journal-v1/", import.meta.url));
const quiet = { log: () => {} };

describe("command format versions", () => {
  it("a version 1 journal replays to the state its commands define, and takes version 2 commands", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-v1-"));
    try {
      cpSync(
        join(FIXTURE, "segment-00000000000000000001.hfj"),
        join(dir, "journal", "segment-00000000000000000001.hfj"),
      );
      const commands = JSON.parse(readFileSync(join(FIXTURE, "commands.json"), "utf8")) as Command[];
      const expected = JSON.parse(readFileSync(join(FIXTURE, "expected.json"), "utf8")) as {
        last_seq: number;
      };
      const direct = new Engine();
      for (const c of commands) direct.apply(c);

      const opts = { data_dir: dir, snapshot_every_commands: 1e9, ...quiet };
      let node = await EngineNode.open(opts);
      assert.equal(node.last_applied_seq, expected.last_seq);
      assert.equal(commands.length, expected.last_seq);
      assert.equal(node.state_hash(), state_hash(direct));
      const dep: Command = {
        type: "deposit",
        ts_ms: 0,
        account: 1,
        asset: 1,
        amount_units: 5,
        request_id: "v2-tx",
      };
      await node.submit(dep);
      const again = await node.submit({ ...dep });
      assert.equal(again.events[0].kind, "duplicate_request");
      const hash = node.state_hash();
      await node.close();
      node = await EngineNode.open(opts);
      assert.equal(node.last_applied_seq, expected.last_seq + 2);
      assert.equal(node.state_hash(), hash);
      await node.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
