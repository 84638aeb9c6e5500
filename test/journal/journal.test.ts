import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ByteReader, ByteWriter } from "../../src/engine/bytes.js";
import { COMMAND_VERSION, type Command, type PlaceOrder } from "../../src/engine/commands.js";
import { CheckAhead } from "../../src/journal/check_ahead.js";
import {
  CodecError,
  DecodeScratch,
  decode_command,
  decode_record_reusing,
  encode_command,
} from "../../src/journal/codec.js";
import { FileJournal, JournalCorruptionError } from "../../src/journal/file_journal.js";
import { type ScanResult, scan_journal } from "../../src/journal/scan.js";
import { FsStorage } from "../../src/journal/storage.js";
import { Prng } from "../../src/sim/prng.js";
import { ops, seed, setup_commands, to_commands } from "../engine/gen.js";
import { CrashedError, LossyStorage } from "./lossy_storage.js";

const deposit = (n: number): Command => ({
  type: "deposit",
  ts_ms: n,
  account: n % 7,
  asset: 1,
  amount_units: n + 1,
  request_id: n % 3 === 0 ? `deposit-${n}` : null,
});

async function read_all(journal: FileJournal): Promise<{ seq: number; command: Command }[]> {
  const out: { seq: number; command: Command }[] = [];
  for await (const c of journal.read_from(1)) out.push({ seq: c.seq, command: c.command });
  return out;
}

function temp_dir(): string {
  return mkdtempSync(join(tmpdir(), "holdfast-journal-"));
}

describe("command codec", () => {
  it("a market's price range round-trips; values no u32 holds are refused, never wrapped", () => {
    const range: Command = {
      type: "set_price_range",
      ts_ms: 9,
      market: 2,
      bucket_count: 80,
      bucket_width_ms: 3750,
      bid_up_e4: 11_500,
      bid_down_e4: 8_500,
      ask_up_e4: 0,
      ask_down_e4: 9_000,
    };
    const w = new ByteWriter();
    encode_command(w, range);
    assert.deepEqual(decode_command(w.bytes()), range);
    assert.throws(() => encode_command(new ByteWriter(), { ...range, bid_up_e4: -1 }));
    assert.throws(() => encode_command(new ByteWriter(), { ...range, bucket_width_ms: 1.5 }));
  });

  it("a market's new fees round-trip; a fee no u32 holds is refused, never wrapped", () => {
    const fees: Command = {
      type: "set_market_fees",
      ts_ms: 4,
      market: 1,
      maker_fee_ppm: 0,
      taker_fee_ppm: 750,
    };
    const w = new ByteWriter();
    encode_command(w, fees);
    assert.deepEqual(decode_command(w.bytes()), fees);
    assert.throws(() => encode_command(new ByteWriter(), { ...fees, maker_fee_ppm: -1 }));
    assert.throws(() => encode_command(new ByteWriter(), { ...fees, taker_fee_ppm: 2 ** 32 }));
  });

  it("an account's own fees round-trip, -1 (the market's) included", () => {
    for (const [maker, taker] of [
      [-1, -1],
      [0, 750],
      [100_000, -1],
    ]) {
      const fees: Command = {
        type: "set_account_fees",
        ts_ms: 4,
        account: 7,
        maker_fee_ppm: maker,
        taker_fee_ppm: taker,
      };
      const w = new ByteWriter();
      encode_command(w, fees);
      assert.deepEqual(decode_command(w.bytes()), fees);
    }
  });

  it("listen key commands round-trip; an unknown action is refused on decode, a nonce no u32 holds on encode", () => {
    const encode = (c: Command) => {
      const w = new ByteWriter();
      encode_command(w, c);
      return w.bytes().slice();
    };
    for (const action of [0, 1, 2] as const) {
      const c: Command = { type: "listen_key", ts_ms: 9, account: 4, action, nonce: 77, ttl_ms: 3_600_000 };
      assert.deepEqual(decode_command(encode(c)), c);
    }
    const close = encode({ type: "listen_key", ts_ms: 9, account: 4, action: 2, nonce: 7, ttl_ms: 0 });
    const keep = encode({ type: "listen_key", ts_ms: 9, account: 4, action: 1, nonce: 7, ttl_ms: 0 });
    const at = close.findIndex((b, i) => b !== keep[i]); // the action byte
    close[at] = 3;
    assert.throws(() => decode_command(close), /bad listen key action 3/);
    assert.throws(() =>
      encode({ type: "listen_key", ts_ms: 9, account: 4, action: 1, nonce: 2 ** 32, ttl_ms: 0 }),
    );
  });

  it("set_limit round-trips, whatever its index and value (the engine judges them)", () => {
    for (const [limit, value] of [
      [0, 1],
      [9, 5_000_000],
      [255, 1.5],
    ]) {
      const c: Command = { type: "set_limit", ts_ms: 11, limit, value };
      const w = new ByteWriter();
      encode_command(w, c);
      assert.deepEqual(decode_command(w.bytes().slice()), c);
    }
  });

  it("reserves_audit round-trips; more reserves than a byte counts cannot be encoded", () => {
    for (const reserves of [
      [],
      [{ asset: 0, units: 0 }],
      [
        { asset: 3, units: 2 ** 53 - 1 },
        { asset: 1, units: -1 },
      ],
    ]) {
      const c: Command = { type: "reserves_audit", ts_ms: 12, reserves };
      const w = new ByteWriter();
      encode_command(w, c);
      assert.deepEqual(decode_command(w.bytes().slice()), c);
    }
    const many = Array.from({ length: 256 }, (_, asset) => ({ asset, units: 1 }));
    assert.throws(() =>
      encode_command(new ByteWriter(), { type: "reserves_audit", ts_ms: 1, reserves: many }),
    );
  });

  it("withdrawal commands round-trip", () => {
    const commands: Command[] = [
      {
        type: "withdraw_request",
        ts_ms: 5,
        account: 3,
        asset: 1,
        amount_units: 2 ** 53 - 1,
        address: "bc1q…ünïcode",
        address_tag: "",
        network: "BTC",
        client_id: "w-1",
      },
      { type: "withdraw_review", ts_ms: 6, id: 42, approve: true },
      { type: "withdraw_review", ts_ms: 6, id: 43, approve: false },
      { type: "withdraw_result", ts_ms: 7, id: 42, ok: true, note: "0xfeed" },
      { type: "withdraw_result", ts_ms: 7, id: 44, ok: false, note: "" },
      { type: "withdraw_policy", ts_ms: 8, asset: 0, review_min_units: 0, daily_max_units: 2 ** 53 - 1 },
      { type: "withdraw_allowlist", ts_ms: 9, account: 1, action: 0, address: "bc1q" },
      { type: "withdraw_allowlist", ts_ms: 9, account: 1, action: 3, address: "" },
    ];
    for (const c of commands) {
      const w = new ByteWriter();
      encode_command(w, c);
      assert.deepEqual(decode_command(w.bytes().slice()), c);
    }
  });

  it("API keys round-trip with their tier; a version 2 key (no tier) decodes into the default tier", () => {
    const key: Command = {
      type: "add_api_key",
      ts_ms: 7,
      account: 3,
      api_key: "k".repeat(64),
      kind: 0,
      material: "sealed",
      permissions: 3,
      ip_allow: "127.0.0.1",
      tier: "default",
    };
    const w = new ByteWriter();
    encode_command(w, { ...key, tier: "bench" });
    assert.deepEqual(decode_command(w.bytes()), { ...key, tier: "bench" });
    const v3 = new ByteWriter();
    encode_command(v3, key);
    // version 2 wrote the same fields without the trailing tier string (u32 length + 7 bytes)
    const v2 = Uint8Array.from(v3.bytes().subarray(0, v3.bytes().length - 4 - 7));
    v2[0] = 2;
    assert.deepEqual(decode_command(v2), key);
  });

  it("orders' strategy labels (version 4), trailing delta (5) and iceberg quantity (6) round-trip; a version 3 order (none) decodes without them", () => {
    const order: Command = {
      type: "place_order",
      ts_ms: 9,
      account: 2,
      market: 0,
      side: 0,
      order_type: 0,
      tif: 0,
      stp: -1,
      price_ticks: 100,
      quantity_lots: 3,
      quote_units: 0,
      stop_price_ticks: 0,
      client_order_id: "c1",
    };
    const encoded = (c: Command): Uint8Array => {
      const w = new ByteWriter();
      encode_command(w, c);
      return w.bytes().slice();
    };
    for (const labels of [
      {},
      { strategy_id: 0 },
      { strategy_type: 1_000_000 },
      { strategy_id: Number.MAX_SAFE_INTEGER, strategy_type: 2_147_483_647 },
      { trailing_delta_bips: 10 },
      { strategy_type: 1_000_000, trailing_delta_bips: 2000 },
      { iceberg_lots: 25 },
      { strategy_id: 3, trailing_delta_bips: 10, iceberg_lots: 9_000_000_000 },
      { peg_type: 1 },
      { peg_type: 2, peg_offset_levels: 0 },
      { iceberg_lots: 3, peg_type: 1, peg_offset_levels: 100 },
    ]) {
      assert.deepEqual(decode_command(encoded({ ...order, ...labels })), { ...order, ...labels });
      const replace: Command = {
        type: "cancel_replace",
        ts_ms: 9,
        account: 2,
        market: 0,
        cancel_order_id: 7,
        cancel_client_order_id: null,
        allow_failure: false,
        order: { ...order, ...labels },
      };
      // (the embedded order carries its spec only)
      const { type: _t, ts_ms: _ts, account: _a, market: _m, ...spec } = { ...order, ...labels };
      assert.deepEqual(decode_command(encoded({ ...replace, order: spec })), { ...replace, order: spec });
    }
    // version 3 wrote no flag byte after the client order id
    const v4 = encoded(order);
    const v3 = Uint8Array.from(v4.subarray(0, v4.length - 1));
    v3[0] = 3;
    // an order from an older format says which: matching rules changed since apply as they were
    assert.deepEqual(decode_command(v3), { ...order, format: 3 });
    // a flag byte that names labels that are not there is refused, as any truncation; an unknown bit
    // too, and version 4 knew no trailing delta
    const bad = Uint8Array.from(v4);
    bad[bad.length - 1] = 4;
    assert.throws(() => decode_command(bad), CodecError);
    const v4_trailing = encoded({ ...order, trailing_delta_bips: 10 });
    v4_trailing[0] = 4;
    assert.throws(() => decode_command(v4_trailing), /order spec flags 4/);
    // version 5 knew no iceberg quantity
    const v5_iceberg = encoded({ ...order, iceberg_lots: 10 });
    v5_iceberg[0] = 5;
    assert.throws(() => decode_command(v5_iceberg), /order spec flags 8/);
    // a peg the engine refuses is journaled as one it refuses too (a replay decides the same)
    for (const [peg, decoded] of [
      [{ peg_type: 257 }, { peg_type: 254 }],
      [
        { peg_type: 1, peg_offset_levels: 257 },
        { peg_type: 1, peg_offset_levels: 254 },
      ],
      [
        { peg_type: 1, peg_offset_levels: 1.5 },
        { peg_type: 1, peg_offset_levels: 254 },
      ],
    ])
      assert.deepEqual(decode_command(encoded({ ...order, ...peg })), { ...order, ...decoded });
    // version 10 knew no peg
    const v10_peg = encoded({ ...order, peg_type: 1 });
    v10_peg[0] = 10;
    assert.throws(() => decode_command(v10_peg), /order spec flags 16/);
    bad[bad.length - 1] = 32;
    assert.throws(() => decode_command(bad), /order spec flags 32/);
  });

  it("version 7: STP modes DECREMENT and TRANSFER; in an older record they decode as a mode the engine refuses, as it did", () => {
    const order: Command = {
      type: "place_order",
      ts_ms: 9,
      account: 0,
      market: 0,
      side: 0,
      order_type: 0,
      tif: 0,
      stp: 4,
      price_ticks: 100,
      quantity_lots: 3,
      quote_units: 0,
      stop_price_ticks: 0,
      client_order_id: null,
    };
    const encoded = (c: Command): Uint8Array => {
      const w = new ByteWriter();
      encode_command(w, c);
      return w.bytes().slice();
    };
    for (const stp of [4, 5] as const) {
      const bytes = encoded({ ...order, stp });
      assert.deepEqual(decode_command(bytes), { ...order, stp }, "current format: no `format`");
      bytes[0] = 6;
      const old = decode_command(bytes) as PlaceOrder;
      assert.equal(old.format, 6);
      assert.ok(old.stp > 5, `format 6's mode ${stp} is no mode`);
      // the scratch decoder (replay) forgets the last record's format
      const scratch = new DecodeScratch();
      assert.equal((decode_record_reusing(new ByteReader(bytes), scratch) as PlaceOrder).format, 6);
      assert.equal(
        (decode_record_reusing(new ByteReader(encoded(order)), scratch) as PlaceOrder).format,
        undefined,
      );
    }
  });

  it("cancel restrictions round-trip (version 4); version 3 cancels decode without one", () => {
    const cancel: Command = {
      type: "cancel_order",
      ts_ms: 5,
      account: 1,
      market: 0,
      order_id: 42,
      client_order_id: null,
    };
    const encoded = (c: Command): Uint8Array => {
      const w = new ByteWriter();
      encode_command(w, c);
      return w.bytes().slice();
    };
    for (const extra of [{}, { restriction: 1 as const }, { restriction: 2 as const }])
      assert.deepEqual(decode_command(encoded({ ...cancel, ...extra })), { ...cancel, ...extra });
    const v4 = encoded(cancel);
    const v3 = Uint8Array.from(v4.subarray(0, v4.length - 1)); // version 3 had no restriction byte
    v3[0] = 3;
    assert.deepEqual(decode_command(v3), cancel);
    const bad = Uint8Array.from(v4);
    bad[bad.length - 1] = 3;
    assert.throws(() => decode_command(bad), /cancel restriction/);
    const replace: Command = {
      type: "cancel_replace",
      ts_ms: 5,
      account: 1,
      market: 0,
      cancel_order_id: 42,
      cancel_client_order_id: null,
      allow_failure: true,
      order: {
        side: 0,
        order_type: 0,
        tif: 0,
        stp: -1,
        price_ticks: 100,
        quantity_lots: 1,
        quote_units: 0,
        stop_price_ticks: 0,
        client_order_id: null,
      },
    };
    for (const extra of [{}, { cancel_restriction: 1 as const }, { cancel_restriction: 2 as const }])
      for (const allow_failure of [false, true])
        assert.deepEqual(decode_command(encoded({ ...replace, allow_failure, ...extra })), {
          ...replace,
          allow_failure,
          ...extra,
        });
  });

  it("web user commands round-trip", () => {
    const commands: Command[] = [
      { type: "register_user", ts_ms: 1, email: "a@b.example", password_hash: "$argon2id$v=19$x" },
      { type: "set_user_totp", ts_ms: 2, account: 4, totp_sealed: "sealed" },
      { type: "set_user_totp", ts_ms: 3, account: 4, totp_sealed: "" },
      { type: "end_user_sessions", ts_ms: 4, account: 4 },
    ];
    for (const c of commands) {
      const w = new ByteWriter();
      encode_command(w, c);
      assert.deepEqual(decode_command(w.bytes()), c);
    }
  });

  it("round-trips every command kind exactly", () => {
    fc.assert(
      fc.property(ops(1, 60), (list) => {
        const commands = [...setup_commands(), ...to_commands(list)];
        for (const c of commands) {
          const w = new ByteWriter();
          encode_command(w, c);
          assert.deepEqual(decode_command(w.bytes()), c);
        }
      }),
      { seed: seed(), numRuns: 100 },
    );
  });

  it("refuses unknown versions, unknown kinds, truncation and trailing bytes", () => {
    const w = new ByteWriter();
    encode_command(w, deposit(5));
    const good = w.bytes().slice();
    const next = COMMAND_VERSION + 1;
    assert.throws(
      () => decode_command(Uint8Array.from([next, ...good.subarray(1)])),
      new RegExp(`version ${next}`),
    );
    assert.throws(
      () => decode_command(Uint8Array.from([1, 200, ...good.subarray(2)])),
      /unknown command kind/,
    );
    for (let cut = 0; cut < good.length; cut++) assert.throws(() => decode_command(good.subarray(0, cut)));
    assert.throws(() => decode_command(Uint8Array.from([...good, 0])), /trailing/);
  });
});

describe("file journal", () => {
  it("a backlog of appends drains in order, in frames of at most batch_commands_max", async () => {
    const dir = temp_dir();
    try {
      const journal = await FileJournal.open(new FsStorage(dir), { batch_commands_max: 100 });
      // 20,000 appends of 1-3 commands queued at once: the queue is consumed from its head.
      const sizes = Array.from({ length: 20_000 }, (_, i) => 1 + (i % 3));
      let n = 0;
      const appended = await Promise.all(
        sizes.map((size) => journal.append(Array.from({ length: size }, () => deposit(n++)))),
      );
      let expected = 1;
      for (let i = 0; i < sizes.length; i++) {
        assert.equal(appended[i].first_seq, expected, `append ${i}`);
        expected += sizes[i];
      }
      await journal.close();
      const reopened = await FileJournal.open(new FsStorage(dir));
      const all = await read_all(reopened);
      assert.equal(all.length, n);
      assert.deepEqual(
        all.map((c) => c.command),
        Array.from({ length: n }, (_, i) => deposit(i)),
      );
      const scan = await scan_journal(new FsStorage(dir));
      assert.ok(scan.segments.every((segment) => segment.frames.every((f) => f.count <= 100)));
      assert.ok(scan.frames >= Math.ceil(n / 100));
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("appends, group-commits concurrent appends, and reads back in order after reopening", async () => {
    const dir = temp_dir();
    try {
      const storage = new FsStorage(dir);
      let t = 1000;
      const journal = await FileJournal.open(storage, { clock_ms: () => t++, segment_bytes_max: 4096 });
      const results = await Promise.all(Array.from({ length: 300 }, (_, i) => journal.append([deposit(i)])));
      assert.deepEqual(
        results.map((r) => r.first_seq),
        Array.from({ length: 300 }, (_, i) => i + 1),
      );
      for (let i = 1; i < results.length; i++)
        assert.ok(results[i].timestamp_ms >= results[i - 1].timestamp_ms);
      await journal.close();
      const segments = readdirSync(dir)
        .filter((n) => n.endsWith(".hfj"))
        .sort();
      assert.ok(segments.length > 1, "small segments roll over");
      const reopened = await FileJournal.open(storage);
      const all = await read_all(reopened);
      assert.equal(all.length, 300);
      for (const [i, c] of all.entries()) assert.deepEqual(c, { seq: i + 1, command: deposit(i) });
      assert.equal((await reopened.append([deposit(300)])).first_seq, 301);
      await reopened.close();
      const scan = await scan_journal(storage);
      assert.ok(scan.frames < 301, `group commit: ${scan.frames} frames for 301 appends`);
      // A restart after a snapshot reads only the segments it needs; a full verify reads them all.
      const first = join(dir, segments[0]);
      const damaged = readFileSync(first);
      damaged[100] ^= 0xff;
      writeFileSync(first, damaged);
      const tail_from = 295;
      const tail = await FileJournal.open(storage, { log: () => {} }, tail_from);
      const got: number[] = [];
      for await (const c of tail.read_from(tail_from)) got.push(c.seq);
      assert.deepEqual(got, [295, 296, 297, 298, 299, 300, 301]);
      await tail.close();
      await assert.rejects(FileJournal.open(storage, { log: () => {} }), JournalCorruptionError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("cuts a torn tail at every possible length and keeps every complete frame (plain appends)", async () => {
    const dir = temp_dir();
    try {
      const journal = await FileJournal.open(new FsStorage(dir), { zero_fill_bytes: 0 });
      for (let i = 0; i < 3; i++) await journal.append([deposit(2 * i), deposit(2 * i + 1)]);
      await journal.close();
      const [name] = readdirSync(dir);
      const full = readFileSync(join(dir, name));
      const scan = await scan_journal(new FsStorage(dir));
      const last = scan.segments[0].frames[2];
      for (let cut = last.offset; cut < full.length; cut++) {
        writeFileSync(join(dir, name), full.subarray(0, cut));
        const logs: string[] = [];
        const j = await FileJournal.open(new FsStorage(dir), { log: (l) => logs.push(l) });
        const all = await read_all(j);
        await j.close();
        assert.equal(all.length, 4, `cut at ${cut}`);
        if (cut > last.offset) assert.match(logs.join("\n"), /cut a torn tail/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a torn frame in zero-filled space is cut; the zeros after the last frame are space, not damage", async () => {
    const dir = temp_dir();
    try {
      const journal = await FileJournal.open(new FsStorage(dir), { zero_fill_bytes: 4096 });
      for (let i = 0; i < 3; i++) await journal.append([deposit(2 * i), deposit(2 * i + 1)]);
      await journal.close();
      const [name] = readdirSync(dir);
      const full = readFileSync(join(dir, name));
      const scan = await scan_journal(new FsStorage(dir));
      const last = scan.segments[0].frames[2];
      const end = last.offset + last.length;
      assert.ok(full.length > end, `zero-filled ahead: ${full.length} bytes, frames end at ${end}`);
      assert.ok(full.subarray(end).every((b) => b === 0));
      assert.equal(scan.torn, null);
      assert.equal(scan.segments[0].valid_bytes, end);
      // A crash mid-write leaves the last frame's first `cut` bytes in the filled space.
      for (let cut = last.offset; cut <= end; cut++) {
        const damaged = Buffer.from(full);
        damaged.fill(0, cut, end);
        writeFileSync(join(dir, name), damaged);
        const logs: string[] = [];
        const j = await FileJournal.open(new FsStorage(dir), {
          zero_fill_bytes: 4096,
          log: (l) => logs.push(l),
        });
        const all = await read_all(j);
        assert.equal(all.length, cut === end ? 6 : 4, `cut at ${cut}`);
        // Written after the cut (or the zeros), and read back whole after another reopen.
        assert.equal((await j.append([deposit(99)])).first_seq, all.length + 1);
        await j.close();
        const again = await FileJournal.open(new FsStorage(dir), { zero_fill_bytes: 4096, log: () => {} });
        const after = await read_all(again);
        await again.close();
        assert.deepEqual(after.at(-1), { seq: all.length + 1, command: deposit(99) }, `cut at ${cut}`);
        const torn = logs.join("\n");
        // Bytes of the torn frame that happen to be zero look like space: a cut is logged only if
        // something of the frame is there.
        if (damaged.subarray(last.offset, end).some((b) => b !== 0) && cut < end)
          assert.match(torn, /cut a torn tail/, `cut at ${cut}`);
        else assert.equal(torn, "", `cut at ${cut}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fills the open segment ahead of its frames, cuts finished segments back to them, and continues after reopening", async () => {
    const dir = temp_dir();
    try {
      const options = { segment_bytes_max: 8192, zero_fill_bytes: 1024, log: () => {} };
      const journal = await FileJournal.open(new FsStorage(dir), options);
      for (let i = 0; i < 150; i++) await journal.append([deposit(i)]);
      await journal.close();
      const scan = await scan_journal(new FsStorage(dir));
      assert.ok(scan.segments.length >= 3, `${scan.segments.length} segments`);
      for (const segment of scan.segments.slice(0, -1))
        assert.equal(segment.size, segment.valid_bytes, `${segment.name} cut back to its frames`);
      const open_segment = scan.segments.at(-1) as (typeof scan.segments)[number];
      assert.ok(open_segment.size > open_segment.valid_bytes, "the open segment is filled ahead");
      assert.ok(open_segment.size - open_segment.valid_bytes <= 1024 + 1024 / 2);
      assert.equal(scan.torn, null);
      const reopened = await FileJournal.open(new FsStorage(dir), options);
      for (let i = 150; i < 300; i++) await reopened.append([deposit(i)]);
      await reopened.close();
      const last = await FileJournal.open(new FsStorage(dir), options);
      assert.deepEqual(
        (await read_all(last)).map((c) => c.command),
        Array.from({ length: 300 }, (_, i) => deposit(i)),
      );
      await last.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const zero_fill_bytes of [0, 4096]) {
    it(`a flipped bit anywhere is either cut as a torn last frame or refused with file, offset and sequence (zero_fill_bytes ${zero_fill_bytes})`, async () => {
      const dir = temp_dir();
      try {
        const journal = await FileJournal.open(new FsStorage(dir), { zero_fill_bytes });
        const written: Command[] = [];
        for (let i = 0; i < 3; i++) {
          const batch = [deposit(10 * i), deposit(10 * i + 1)];
          written.push(...batch);
          await journal.append(batch);
        }
        await journal.close();
        const [name] = readdirSync(dir);
        const full = readFileSync(join(dir, name));
        let refused = 0;
        let cut = 0;
        // Every byte of the frames, and the zero-filled space just after them.
        const frames_end = (await scan_journal(new FsStorage(dir))).segments[0].valid_bytes;
        for (let at = 0; at < Math.min(full.length, frames_end + 128); at++) {
          const damaged = Buffer.from(full);
          damaged[at] ^= 1 << (at % 8);
          writeFileSync(join(dir, name), damaged);
          try {
            const j = await FileJournal.open(new FsStorage(dir), { log: () => {} });
            const all = (await read_all(j)).map((c) => c.command);
            await j.close();
            // never a wrong state: what survives is an exact prefix of what was written
            assert.deepEqual(all, written.slice(0, all.length), `flip at ${at}`);
            assert.ok(all.length >= 4, `flip at ${at} lost more than the last frame`);
            cut++;
          } catch (error) {
            assert.ok(error instanceof JournalCorruptionError, `flip at ${at}: ${String(error)}`);
            assert.match(error.message, new RegExp(`${name} at byte offset \\d+ \\(sequence \\d+\\)`));
            refused++;
          }
        }
        assert.ok(refused > 0 && cut > 0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("checking ahead on a worker thread", () => {
  it("finds exactly what the opening thread alone finds, for damage anywhere", async () => {
    const dir = temp_dir();
    try {
      const journal = await FileJournal.open(new FsStorage(dir), { segment_bytes_max: 700 });
      for (let i = 0; i < 12; i++) await journal.append([deposit(10 * i), deposit(10 * i + 1)]);
      await journal.close();
      const names = readdirSync(dir).sort();
      assert.ok(names.length >= 3, `${names.length} segments`);
      const outcome = (r: ScanResult) => ({
        corruption: r.corruption,
        torn: r.torn,
        next_seq: r.next_seq,
        last_hash: Buffer.from(r.last_hash).toString("hex"),
      });
      const with_worker = async (): Promise<ScanResult> => {
        const ahead = new CheckAhead(dir);
        try {
          for (const name of names) ahead.start(name);
          // Wait for the worker's walk of every segment, so the scan takes its results throughout.
          const deadline = Date.now() + 5000;
          while (!names.every((n) => ahead.finished(n)) && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 2));
          assert.ok(
            names.every((n) => ahead.finished(n)),
            "worker finished",
          );
          return await scan_journal(new FsStorage(dir), 1, null, ahead);
        } finally {
          ahead.close();
        }
      };
      assert.deepEqual(outcome(await with_worker()), outcome(await scan_journal(new FsStorage(dir))));
      // A flipped bit at every 11th byte of the middle segment (headers, hashes, CRCs and payload; a
      // worker per scan makes each try ~0.1 s).
      const name = names[1];
      const full = readFileSync(join(dir, name));
      let refused = 0;
      for (let at = 0; at < full.length; at += 11) {
        const damaged = Buffer.from(full);
        damaged[at] ^= 1 << (at % 8);
        writeFileSync(join(dir, name), damaged);
        const alone = outcome(await scan_journal(new FsStorage(dir)));
        assert.deepEqual(outcome(await with_worker()), alone, `flip at ${at}`);
        if (alone.corruption !== null) refused++;
      }
      assert.ok(refused > full.length / 22, `${refused} refused`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("lost writes (simulated power loss)", () => {
  it("every acknowledged command survives a crash at a random point", async () => {
    const rng = new Prng(seed());
    // Plain appends; each segment zero-filled whole when created; filled ahead 512 bytes at a time.
    const configs = [
      { segment_bytes_max: 2048, zero_fill_bytes: 0 },
      { segment_bytes_max: 2048 },
      { segment_bytes_max: 4096, zero_fill_bytes: 512 },
    ];
    const torn_cuts = [0, 0, 0];
    for (let trial = 0; trial < 240; trial++) {
      const storage = new LossyStorage(rng);
      const journal = await FileJournal.open(storage, { ...configs[trial % 3], log: () => {} });
      const acked = new Map<number, Command>();
      // Half the trials crash right after an acknowledgement (between writes), half after a random
      // number of event-loop turns, which can land between a write and its sync (a torn frame).
      const at_ack = rng.chance(0.5);
      const crash_after = at_ack ? rng.between(0, 150) : -1;
      let crashed = false;
      const crash = (): void => {
        if (!crashed) storage.crash();
        crashed = true;
      };
      if (!at_ack) {
        let turns = rng.between(1, 120);
        const tick = (): void => {
          if (--turns <= 0) crash();
          else setImmediate(tick);
        };
        setImmediate(tick);
      }
      let done = 0;
      const inflight: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        const batch = Array.from({ length: rng.between(1, 4) }, (_, k) => deposit(i * 10 + k));
        inflight.push(
          journal.append(batch).then(
            (r) => {
              for (const [k, c] of batch.entries()) acked.set(r.first_seq + k, c);
              if (++done === crash_after) crash();
            },
            (error) => assert.ok(error instanceof CrashedError, String(error)),
          ),
        );
        if (rng.chance(0.3)) await new Promise((r) => setImmediate(r));
      }
      await Promise.allSettled(inflight);
      while (!at_ack && !crashed) await new Promise((r) => setImmediate(r));
      crash();
      storage.restart();
      const recovered = await FileJournal.open(storage, {
        log: (line) => {
          if (/cut a torn tail/.test(line)) torn_cuts[trial % 3]++;
        },
      }).catch((error: unknown) => {
        throw new Error(`trial ${trial} (${JSON.stringify(configs[trial % 3])}): ${String(error)}`);
      });
      const all = await read_all(recovered);
      for (const [i, c] of all.entries()) assert.equal(c.seq, i + 1);
      for (const [seq, command] of acked)
        assert.deepEqual(all[seq - 1]?.command, command, `trial ${trial}: seq ${seq} lost`);
      assert.equal((await recovered.append([deposit(1)])).first_seq, all.length + 1);
    }
    // Every configuration met torn frames (in appended and in zero-filled space) and recovered.
    assert.ok(
      torn_cuts.every((n) => n > 0),
      `torn tails cut per configuration: ${torn_cuts}`,
    );
  });
});
