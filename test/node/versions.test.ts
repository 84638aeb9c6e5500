/**
 * Old journals still replay: test/fixtures/journal-v1 was written by command format version 1 (before
 * request ids). A node opens it, reaches the same state as applying the same commands directly, and
 * goes on appending version 2 commands; the mixed journal replays after a restart.
 * test/fixtures/journal-v6 was written by format 6 with orders that meet each rule format 7 changed:
 * replayed, every command has the outcome the build that wrote it gave (its make.mjs).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Command } from "../../src/engine/commands.js";
import { Engine } from "../../src/engine/engine.js";
import type { EngineEvent } from "../../src/engine/events.js";
import { state_hash } from "../../src/engine/snapshot.js";
import { read_commands, scan_journal } from "../../src/journal/scan.js";
import { FsStorage } from "../../src/journal/storage.js";
import { EngineNode } from "../../src/node/runtime.js";

const FIXTURE = fileURLToPath(new URL("../../../test/fixtures/journal-v1/", import.meta.url));
const FIXTURE_V6 = fileURLToPath(new URL("../../../test/fixtures/journal-v6/", import.meta.url));

/** What a command's events say, in fields every build since format 6 has (as make.mjs records them). */
function digest(events: readonly EngineEvent[]): string[] {
  return events.map((e) => {
    switch (e.kind) {
      case "order_new":
        return `new ${e.order_id} ${e.account}`;
      case "order_update":
        return `update ${e.order_id} ${e.status} ${e.executed_lots} ${e.end_reason}`;
      case "order_triggered":
        return `triggered ${e.order_id}`;
      case "trade":
        return `trade ${e.trade_id} ${e.price_ticks} ${e.quantity_lots} ${e.taker_order_id} ${e.maker_order_id}`;
      case "prevented_match":
        return `prevented ${e.taker_order_id} ${e.maker_order_id} ${e.taker_prevented_lots} ${e.maker_prevented_lots} ${e.stp}`;
      case "balance":
        return `balance ${e.account} ${e.asset} ${e.free_units} ${e.locked_units}`;
      case "book":
        return `book ${e.update_id} ${e.side} ${e.price_ticks} ${e.quantity_lots}`;
      case "rejected":
        return `rejected ${e.reason}`;
      default:
        return e.kind;
    }
  });
}
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

  it("a format 6 journal replays by format 6's rules: every command's outcome is the one the build that wrote it gave", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-v6-"));
    try {
      const segment = "segment-00000000000000000001.hfj";
      cpSync(join(FIXTURE_V6, segment), join(dir, "journal", segment));
      const expected = JSON.parse(readFileSync(join(FIXTURE_V6, "expected.json"), "utf8")) as {
        last_seq: number;
        rule_commands: Record<string, number>;
        digests: string[][];
      };
      const node = await EngineNode.open({ data_dir: dir, snapshot_every_commands: 1e9, ...quiet });
      assert.equal(node.last_applied_seq, expected.last_seq);
      const hash = node.state_hash();
      await node.close();

      // the journal's commands, each applied as replay applies it, and as today's rules would
      const storage = new FsStorage(join(dir, "journal"));
      const old_rules = new Engine();
      const today = new Engine();
      const now_digests: string[][] = [];
      let i = 0;
      for await (const { timestamp_ms, command } of read_commands(storage, await scan_journal(storage), 1)) {
        command.ts_ms = timestamp_ms;
        const current = structuredClone(command) as Command & {
          format?: number;
          order?: { format?: number };
        };
        if (command.type === "place_order")
          assert.equal(command.format, 6, `command ${i}: decoded as format 6`);
        delete current.format;
        assert.deepEqual(digest(old_rules.apply(command)), expected.digests[i], `command ${i}`);
        now_digests.push(digest(today.apply(current)));
        i++;
      }
      assert.equal(i, expected.last_seq);
      assert.equal(hash, state_hash(old_rules), "the node's replay is that state");
      // the fixture does meet each rule: today's rules answer those commands otherwise
      const { stp_decrement, stp_transfer_default, ...rules } = expected.rule_commands;
      for (const [rule, at] of Object.entries(rules))
        assert.notDeepEqual(now_digests[at], expected.digests[at], `${rule}: command ${at}`);
      // modes 4 and 5 did not exist in format 6: decoded as no mode at all, refused as they were
      assert.deepEqual(
        [expected.digests[stp_decrement], expected.digests[stp_transfer_default]].map((d) => d[0]),
        ["rejected 28", "rejected 25"],
      );
      assert.deepEqual(now_digests[stp_decrement], expected.digests[stp_decrement]);
      assert.notEqual(state_hash(today), hash);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
