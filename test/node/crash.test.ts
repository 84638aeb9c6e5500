/**
 * Crash test: a child process runs a node; commands are driven at it as fast as it answers (orders,
 * cancels, deposits from many accounts) and every acknowledgement recorded; SIGKILL at random moments;
 * restart. Afterwards every acknowledged command is in the journal exactly once, the node's state
 * (snapshot + replay) hashes the same as a fresh replay of the whole journal, and the invariants hold.
 * HOLDFAST_CRASH_CYCLES sets the number of kills (npm run soak:crash -- --cycles 500 runs a long one).
 */
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ByteWriter } from "../../src/engine/bytes.js";
import type { Command } from "../../src/engine/commands.js";
import { Engine } from "../../src/engine/engine.js";
import { check_invariants } from "../../src/engine/invariants.js";
import { state_hash } from "../../src/engine/snapshot.js";
import { LIST_EXECUTING } from "../../src/engine/types.js";
import { encode_command } from "../../src/journal/codec.js";
import { FileJournal } from "../../src/journal/file_journal.js";
import { FsStorage } from "../../src/journal/storage.js";
import { EngineNode } from "../../src/node/runtime.js";
import { btc_asset, btcusdt, usdt_asset } from "../../src/sim/fixtures.js";
import { Prng } from "../../src/sim/prng.js";
import { seed } from "../engine/gen.js";

const CHILD = join(import.meta.dirname, "crash_child.js");
const CYCLES = Number(process.env.HOLDFAST_CRASH_CYCLES ?? 20);
const ACCOUNTS = 20;
const LIMITS = { open_orders_per_account_market_max: 10_000, open_orders_per_account_max: 10_000 };

function setup(): Command[] {
  const cmds: Command[] = [btc_asset(), usdt_asset(), btcusdt()];
  for (let a = 0; a < ACCOUNTS; a++) cmds.push({ type: "create_account", ts_ms: 0 });
  return cmds;
}

/** Random traffic; each command is unique (client order id, deposit amount, key lifetime) so duplicates show. */
function traffic(rng: Prng, n: number): Command {
  const account = rng.below(ACCOUNTS);
  const r = rng.below(10);
  if (r < 2)
    return { type: "deposit", ts_ms: 0, account, asset: rng.below(2), amount_units: 1_000_000_000 + n };
  if (r < 4)
    return {
      type: "cancel_order",
      ts_ms: 0,
      account,
      market: 0,
      order_id: rng.between(1, n),
      client_order_id: null,
    };
  const side = rng.below(2) as 0 | 1;
  if (r === 4) {
    // an order list (unique list client id): an OTO, an OTOCO or an OPO, its working order near
    // the mid, so that some fill and place their pending orders (snapshots catch some waiting)
    const order = (
      s: 0 | 1,
      type: 0 | 2 | 3,
      price_ticks: number,
      stop_price_ticks: number,
      lots: number,
    ) => ({
      side: s,
      order_type: type,
      tif: 0 as const,
      price_ticks,
      quantity_lots: lots,
      quote_units: 0,
      stop_price_ticks,
      client_order_id: null,
      stp: -1 as const,
    });
    const lots = rng.between(1, 50);
    const kind = rng.below(3);
    const pays = kind === 2;
    const w_side = pays ? 0 : side;
    const pending_lots = pays ? 0 : lots;
    return {
      type: "place_oto",
      ts_ms: 0,
      account,
      market: 0,
      list_client_order_id: `l${n}`,
      working: order(w_side, 0, 2_000_000 + (w_side === 0 ? -1 : 1) * rng.between(-5, 50), 0, lots),
      // a SELL take-profit above and stop-loss below (the pair), or one SELL limit maker
      pending: {
        ...order(1, 2, 2_000_000 + rng.between(60, 90), 0, pending_lots),
        // sometimes pegged: its price taken from the book when it is placed
        ...(rng.chance(0.2) ? { peg_type: 1 } : {}),
      },
      pending_below: kind === 1 ? order(1, 3, 0, 1_000_000, pending_lots) : null,
      ...(pays ? { pays: true } : {}),
    };
  }
  if (r === 5)
    // a user data stream's key opened, kept alive or closed (often naming a nonce that is not the
    // live one: refused, journaled all the same); lifetimes from a millisecond to minutes, so that
    // snapshots and replays meet keys live, expired and closed. The lifetime is unique (n + 1).
    return {
      type: "listen_key",
      ts_ms: 0,
      account,
      action: rng.below(3) as 0 | 1 | 2,
      nonce: rng.between(1, 3),
      ttl_ms: n + 1,
    };
  return {
    type: "place_order",
    ts_ms: 0,
    account,
    market: 0,
    side,
    order_type: 0,
    tif: rng.chance(0.2) ? 1 : 0,
    price_ticks: 2_000_000 + (side === 0 ? -1 : 1) * rng.between(-5, 50),
    quantity_lots: rng.between(1, 50),
    quote_units: 0,
    stop_price_ticks: 0,
    client_order_id: `c${n}`,
    stp: -1,
    // some pegged (a price from the book: snapshots and replays must keep the peg and its price)
    ...(rng.chance(0.1)
      ? { price_ticks: 0, peg_type: rng.between(1, 2), peg_offset_levels: rng.below(3) }
      : {}),
  };
}

const key = (c: Command): string => {
  const w = new ByteWriter();
  encode_command(w, { ...c, ts_ms: 0 });
  return Buffer.from(w.bytes()).toString("base64");
};

function start(dir: string): Promise<{ child: ChildProcess; ready: { applied_seq: number; hash: string } }> {
  const child = fork(CHILD, [dir, "300"], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", (m: { ready: boolean; applied_seq: number; hash: string }) =>
      resolve({ child, ready: m }),
    );
    child.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
  });
}

describe("crash test (SIGKILL at random moments)", () => {
  it(`${CYCLES} kill cycles lose no acknowledged command and double none`, {
    timeout: 24 * 3600_000,
  }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-crash-"));
    const rng = new Prng(seed());
    const acked = new Map<number, string>(); // seq -> command key
    // Highest acknowledged sequence (not Math.max(...acked.keys()): a 500-cycle soak acknowledges
    // ~600,000 commands, more arguments than the call stack holds).
    let acked_max = 0;
    let n = 0;
    try {
      for (let cycle = 0; cycle <= CYCLES; cycle++) {
        const { child, ready } = await start(dir);
        assert.ok(ready.applied_seq >= acked_max, `cycle ${cycle}: restarted behind an ack`);
        if (cycle === CYCLES) {
          child.kill("SIGTERM");
          await new Promise((r) => child.once("exit", r));
          break;
        }
        const pending = new Map<number, string>();
        child.on("message", (m: { id: number; seq?: number; error?: string }) => {
          const k = pending.get(m.id);
          if (k !== undefined && m.seq !== undefined) {
            assert.ok(!acked.has(m.seq), `sequence ${m.seq} acknowledged twice`);
            acked.set(m.seq, k);
            if (m.seq > acked_max) acked_max = m.seq;
          }
          pending.delete(m.id);
        });
        const send = (command: Command): void => {
          const id = ++n;
          pending.set(id, key(command));
          child.send({ id, command });
        };
        if (ready.applied_seq === 0) for (const c of setup()) send(c);
        if (cycle % 50 === 0 && CYCLES > 50)
          console.error(`crash soak: cycle ${cycle}/${CYCLES}, ${acked.size} acknowledged`);
        const kill_at = Date.now() + rng.between(20, 250);
        const exited = new Promise((r) => child.once("exit", r));
        while (Date.now() < kill_at) {
          while (pending.size < 200) send(traffic(rng, n));
          await new Promise((r) => setTimeout(r, 1));
        }
        child.kill("SIGKILL");
        await exited;
      }
      // Every acknowledged command is in the journal, at its sequence, exactly once.
      const journal = await FileJournal.open(new FsStorage(join(dir, "journal")), { log: () => {} });
      const fresh = new Engine(LIMITS);
      const seen = new Set<string>();
      let count = 0;
      let lists_placed = 0;
      let pending_placed = 0;
      let listen_keys = 0;
      for await (const c of journal.read_from(1)) {
        const k = key(c.command);
        // orders and lists (unique client ids), deposits (unique amounts) and listen keys (unique
        // lifetimes) must never appear twice
        if (
          c.command.type === "place_order" ||
          c.command.type === "deposit" ||
          c.command.type === "place_oto" ||
          c.command.type === "listen_key"
        ) {
          assert.ok(!seen.has(k), `command at ${c.seq} journaled twice`);
          seen.add(k);
        }
        const expected = acked.get(c.seq);
        if (expected !== undefined) assert.equal(k, expected, `sequence ${c.seq} holds another command`);
        if (c.command.type === "listen_key") listen_keys++;
        c.command.ts_ms = c.timestamp_ms;
        for (const e of fresh.apply(c.command)) {
          if (e.kind === "order_list" && e.status === LIST_EXECUTING) lists_placed++;
          if (e.kind === "order_activated") pending_placed++;
        }
        count++;
      }
      await journal.close();
      for (const seq of acked.keys())
        assert.ok(seq <= count, `acknowledged sequence ${seq} missing (journal has ${count})`);
      assert.ok(acked.size > CYCLES * 5, `only ${acked.size} acknowledgements in ${CYCLES} cycles`);
      assert.ok(lists_placed > 0, "no order list was placed");
      assert.ok(listen_keys > 0, "no listen key command was journaled");
      // The node (newest snapshot + replay) equals a fresh replay of the whole journal.
      const node = await EngineNode.open({ data_dir: dir, engine_limits: LIMITS, log: () => {} });
      assert.equal(node.last_applied_seq, count);
      assert.equal(node.state_hash(), state_hash(fresh));
      assert.deepEqual(check_invariants(node.engine), []);
      await node.close();
      t.diagnostic(
        `${CYCLES} kills, ${acked.size} acknowledged commands, ${count} journaled (order lists placed ${lists_placed}, pending orders placed ${pending_placed}, listen key commands ${listen_keys}), final state ${state_hash(fresh).slice(0, 16)}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
