import assert from "node:assert/strict";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REASON_DUPLICATE_ORDER } from "../../src/engine/reasons.js";
import { SIDE_BUY, TIF_GTC } from "../../src/engine/types.js";
import { known_failure } from "../../src/gateway/params.js";
import { JournalCorruptionError } from "../../src/journal/file_journal.js";
import { UnencodableCommand } from "../../src/journal/journal.js";
import { scan_journal } from "../../src/journal/scan.js";
import { FsStorage } from "../../src/journal/storage.js";
import { DataDirLockedError } from "../../src/node/data_dir.js";
import { EngineNode } from "../../src/node/runtime.js";
import { limit, market_commands } from "../engine/helpers.js";

const quiet = { log: () => {} };

describe("node runtime", () => {
  it("refuses a second node on the same data directory, with a clear error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-node-"));
    try {
      const a = await EngineNode.open({ data_dir: dir, ...quiet });
      await assert.rejects(EngineNode.open({ data_dir: dir, ...quiet }), (e: unknown) => {
        assert.ok(e instanceof DataDirLockedError);
        assert.match(e.message, /in use by process \d+/);
        return true;
      });
      await a.close();
      const b = await EngineNode.open({ data_dir: dir, ...quiet });
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a batch the journal refuses for its size is refused alone: order entry goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-node-"));
    try {
      const node = await EngineNode.open({ data_dir: dir, journal: { batch_commands_max: 4 }, ...quiet });
      try {
        const accounts = Array.from({ length: 5 }, () => ({ type: "create_account" as const, ts_ms: 0 }));
        await assert.rejects(node.submit_batch(accounts), /an append holds 1\.\.4 commands/);
        assert.equal(node.writes_refused, null);
        assert.equal((await node.submit({ type: "create_account", ts_ms: 0 })).seq, 1);
      } finally {
        await node.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a command the journal cannot encode is refused alone, even among others of its run; the journal goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-node-"));
    try {
      const node = await EngineNode.open({ data_dir: dir, ...quiet });
      try {
        for (const c of market_commands()) await node.submit(c);
        await node.submit({ type: "create_account", ts_ms: 0 });
        const deposit = (account: number, n: number) =>
          ({ type: "deposit", ts_ms: 0, account, asset: 1, amount_units: n, request_id: null }) as const;
        const before = node.last_applied_seq;
        // one synchronous run: gathered into one append, the middle one's account holds no u32
        const run = [
          node.submit(deposit(0, 1)),
          node.submit(deposit(2 ** 40, 2)),
          node.submit(deposit(0, 3)),
        ];
        const settled = await Promise.allSettled(run);
        assert.deepEqual(
          settled.map((r) => r.status),
          ["fulfilled", "rejected", "fulfilled"],
        );
        const refused = settled[1] as PromiseRejectedResult;
        assert.ok(refused.reason instanceof UnencodableCommand, String(refused.reason));
        assert.match(refused.reason.message, /a command cannot be journaled: u32 out of range/);
        // through the API: that request alone fails, as a malformed parameter
        assert.equal(known_failure(refused.reason)?.http_status, 400);
        assert.equal(known_failure(refused.reason)?.error.code, -1102);
        assert.deepEqual(
          settled
            .filter((r) => r.status === "fulfilled")
            .map((r) => (r as PromiseFulfilledResult<{ seq: number }>).value.seq),
          [before + 1, before + 2],
        );
        // alone, and in a batch of its own: refused the same, order entry open
        await assert.rejects(node.submit(deposit(-1, 1)), UnencodableCommand);
        await assert.rejects(node.submit_batch([deposit(0, 4), deposit(2 ** 33, 1)]), UnencodableCommand);
        assert.equal(node.writes_refused, null);
        assert.equal((await node.submit(deposit(0, 5))).seq, before + 3);
        assert.equal(node.engine.ledger.free(0, 1), 1 + 3 + 5);
      } finally {
        await node.close();
      }
      const again = await EngineNode.open({ data_dir: dir, ...quiet });
      assert.equal(again.engine.ledger.free(0, 1), 9, "the journal holds exactly what was acknowledged");
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("replays while it checks: a torn tail is cut, a damaged earlier segment refuses the start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-node-"));
    // check_ahead_bytes_min 0: the frames' CRCs and hashes are checked ahead on a worker, as a large
    // journal's are
    const small = {
      journal: { segment_bytes_max: 1024, check_ahead_bytes_min: 0 },
      snapshot_every_commands: 1_000_000,
      ...quiet,
    };
    try {
      const node = await EngineNode.open({ data_dir: dir, ...small });
      for (const c of market_commands()) await node.submit(c);
      await node.submit({ type: "create_account", ts_ms: 0 });
      for (let i = 0; i < 60; i++)
        await node.submit({ type: "deposit", ts_ms: 0, account: 0, asset: 1, amount_units: 1 + i });
      const hash = node.state_hash();
      const last = node.last_applied_seq;
      await node.close();
      rmSync(join(dir, "snapshots"), { recursive: true, force: true });
      const journal = join(dir, "journal");
      const segments = readdirSync(journal).sort();
      assert.ok(segments.length >= 3, `${segments.length} segments`);
      // A torn tail: the first 50 bytes of a frame after the last one, in the space the journal had
      // zero-filled ahead of it. Cut, logged, and everything before it replayed.
      const tail = join(journal, segments.at(-1) as string);
      const frames_end = (await scan_journal(new FsStorage(journal))).segments.at(-1)?.valid_bytes ?? 0;
      const fd = openSync(tail, "r+");
      writeSync(fd, readFileSync(tail).subarray(0, 50), 0, 50, frames_end);
      closeSync(fd);
      const logs: string[] = [];
      const again = await EngineNode.open({ data_dir: dir, ...small, log: (l) => logs.push(l) });
      assert.equal(again.last_applied_seq, last);
      assert.equal(again.state_hash(), hash);
      assert.match(logs.join("\n"), /cut a torn tail of 50 bytes/);
      await again.close();
      // A flipped byte in the second segment: the frames before it were applied as they were checked,
      // but the node still refuses to start, naming the file.
      const second = join(journal, segments[1]);
      const bytes = readFileSync(second);
      bytes[bytes.length - 3] ^= 0xff;
      writeFileSync(second, bytes);
      await assert.rejects(EngineNode.open({ data_dir: dir, ...small }), (e: unknown) => {
        assert.ok(e instanceof JournalCorruptionError);
        assert.equal(e.problem.file, segments[1]);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers after applying, restarts from snapshot + tail, and skips a damaged snapshot", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-node-"));
    try {
      const node = await EngineNode.open({ data_dir: dir, snapshot_every_commands: 4, ...quiet });
      for (const c of market_commands()) await node.submit(c);
      const created = await node.submit({ type: "create_account", ts_ms: 0 });
      assert.equal(created.seq, 4);
      assert.deepEqual(created.events, [{ kind: "account_created", account: 0 }]);
      for (let i = 0; i < 2; i++)
        await node.submit({ type: "deposit", ts_ms: 0, account: 0, asset: 1, amount_units: 100 + i });
      const batch = await node.submit_batch(
        [102, 103, 104].map((amount_units) => ({
          type: "deposit",
          ts_ms: 0,
          account: 0,
          asset: 1,
          amount_units,
        })),
      );
      assert.deepEqual(
        batch.map((a) => a.seq),
        [7, 8, 9],
      );
      assert.deepEqual(batch[2].events[0], { kind: "ledger", account: 0, asset: 1, amount_units: 104 });
      const hash = node.state_hash();
      await node.close();
      const snapshots = readdirSync(join(dir, "snapshots"));
      assert.ok(snapshots.length >= 1);
      const again = await EngineNode.open({ data_dir: dir, ...quiet });
      assert.equal(again.last_applied_seq, 9);
      assert.equal(again.state_hash(), hash);
      await again.close();
      // damage the newest snapshot: the node falls back to an older one (or none) and replays more
      const newest = snapshots.sort().at(-1) as string;
      writeFileSync(join(dir, "snapshots", newest), "garbage");
      const logs: string[] = [];
      const third = await EngineNode.open({ data_dir: dir, log: (l) => logs.push(l) });
      assert.equal(third.state_hash(), hash);
      assert.match(logs.join("\n"), /skipping damaged snapshot/);
      await third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("retention drops journal segments that no kept snapshot needs, and restart still works", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-node-"));
    try {
      const opts = {
        data_dir: dir,
        snapshot_every_commands: 50,
        snapshots_kept: 2,
        journal: { segment_bytes_max: 2048 },
        ...quiet,
      };
      const node = await EngineNode.open(opts);
      for (const c of market_commands()) await node.submit(c);
      await node.submit({ type: "create_account", ts_ms: 0 });
      for (let i = 0; i < 400; i++)
        await node.submit({ type: "deposit", ts_ms: 0, account: 0, asset: 1, amount_units: 1 + i });
      await new Promise((r) => setTimeout(r, 50)); // retention runs after the snapshot is written
      const hash = node.state_hash();
      await node.close();
      const segments = readdirSync(join(dir, "journal")).sort();
      const first = Number(segments[0].slice(8, 28));
      assert.ok(first > 1, `old segments removed (first now starts at ${first})`);
      // snapshots after 350 and 400 are kept: the journal must still hold 351 onwards
      assert.ok(first <= 351, `segments needed by the older kept snapshot remain (first ${first})`);
      const again = await EngineNode.open(opts);
      assert.equal(again.state_hash(), hash);
      assert.equal(again.last_applied_seq, 404);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a retried client order id or request id is refused after a restart too (snapshot and replay both keep the window)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-node-"));
    try {
      for (const snapshot_every_commands of [1_000_000, 3]) {
        rmSync(dir, { recursive: true, force: true });
        const opts = { data_dir: dir, snapshot_every_commands, ...quiet };
        const node = await EngineNode.open(opts);
        for (const c of market_commands()) await node.submit(c);
        await node.submit({ type: "create_account", ts_ms: 0 });
        await node.submit({ type: "deposit", ts_ms: 0, account: 0, asset: 1, amount_units: 10 ** 12 });
        const order = () => ({ ...limit(0, SIDE_BUY, 100_000, 10, TIF_GTC, -1, "retry-1"), ts_ms: 0 });
        const first = await node.submit(order());
        assert.equal(first.events.filter((e) => e.kind === "order_new").length, 1);
        const deposit = () => ({
          type: "deposit" as const,
          ts_ms: 0,
          account: 0,
          asset: 1,
          amount_units: 77,
          request_id: "chain-tx-1",
        });
        await node.submit(deposit());
        const usdt = node.engine.ledger.free(0, 1);
        await node.close();
        const again = await EngineNode.open(opts);
        const retry = await again.submit(order());
        assert.deepEqual(
          retry.events.map((e) => (e.kind === "rejected" ? e.reason : e.kind)),
          [REASON_DUPLICATE_ORDER],
        );
        const retried_deposit = await again.submit(deposit());
        assert.deepEqual(retried_deposit.events, [
          { kind: "duplicate_request", request_id: "chain-tx-1", result: 0 },
        ]);
        assert.equal(again.engine.ledger.free(0, 1), usdt);
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("commands submitted one at a time in one run share journal appends, in submission order, with submit_batch between them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-node-"));
    try {
      // A journal batch limit below the gathering limit: a run of submits is split at it.
      const node = await EngineNode.open({ data_dir: dir, journal: { batch_commands_max: 100 }, ...quiet });
      for (const c of market_commands()) await node.submit(c);
      await node.submit({ type: "create_account", ts_ms: 0 });
      const before = node.last_applied_seq;
      const deposit = (n: number) =>
        ({ type: "deposit", ts_ms: 0, account: 0, asset: 1, amount_units: n, request_id: null }) as const;
      // 250 submits, a batch of 3, 50 more submits: all in one synchronous run.
      const singles = Array.from({ length: 250 }, (_, i) => node.submit(deposit(1 + i)));
      const batch = node.submit_batch([deposit(1001), deposit(1002), deposit(1003)]);
      const later = Array.from({ length: 50 }, (_, i) => node.submit(deposit(2001 + i)));
      const seqs = [
        ...(await Promise.all(singles)).map((a) => a.seq),
        ...(await batch).map((a) => a.seq),
        ...(await Promise.all(later)).map((a) => a.seq),
      ];
      assert.deepEqual(
        seqs,
        Array.from({ length: 303 }, (_, i) => before + 1 + i),
      );
      await node.close();
      // In the journal: the same order, in frames of at most 100 commands.
      const scan = await scan_journal(new FsStorage(join(dir, "journal")));
      assert.ok(scan.segments.every((s) => s.frames.every((f) => f.count <= 100)));
      const again = await EngineNode.open({ data_dir: dir, ...quiet });
      assert.equal(again.last_applied_seq, before + 303);
      await again.close();
      // A closed node refuses every submit of a run, not only the first.
      const closed = await EngineNode.open({ data_dir: dir, ...quiet });
      await closed.close();
      const refused = await Promise.allSettled([closed.submit(deposit(1)), closed.submit(deposit(2))]);
      assert.ok(refused.every((r) => r.status === "rejected"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
