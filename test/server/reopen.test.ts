/**
 * The staged reopening after an incident: the plan (src/admin/reopen.ts) from each kind of incident
 * state, and `holdfast admin reopen` (src/cli/reopen.ts) as a real CLI process against a running
 * node, watched from the node's side: every stage in order, nothing opened early, and a stop when
 * someone else changes what an earlier stage set.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import { reopen_plan, type State, stage_drift } from "../../src/admin/reopen.js";
import { node_status } from "../../src/admin/server.js";
import { demo_node } from "../helpers/nodes.js";
import { cli, until } from "../helpers/wait.js";

const state = (exchange: Partial<State["exchange"]>, markets: Record<string, string>): State => ({
  exchange: { maintenance: false, deposits_paused: false, withdrawals_paused: false, ...exchange },
  markets: Object.entries(markets).map(([symbol, status]) => ({
    symbol,
    status,
    bid_levels: 0,
    ask_levels: 0,
  })),
});

describe("reopen plan", () => {
  it("nothing to reopen on a normal exchange (BREAK markets are planned closures)", () => {
    assert.equal(
      reopen_plan(state({}, { BTCUSDT: "TRADING", NEWUSDT: "BREAK", MAKERUSDT: "POST_ONLY" }), null),
      null,
    );
  });

  it("from maintenance: markets close before maintenance ends; deposits, cancel-only, trading, withdrawals", () => {
    const plan = reopen_plan(
      state(
        { maintenance: true },
        {
          BTCUSDT: "TRADING",
          ETHUSDT: "POST_ONLY",
          NEWUSDT: "BREAK",
          ETHBTC: "HALT",
          SOLUSDT: "CANCEL_ONLY",
        },
      ),
      null,
    );
    assert.deepEqual(plan?.markets, [
      { symbol: "BTCUSDT", from: "TRADING", to: "TRADING" },
      { symbol: "ETHUSDT", from: "POST_ONLY", to: "POST_ONLY" },
      { symbol: "ETHBTC", from: "HALT", to: "TRADING" },
      { symbol: "SOLUSDT", from: "CANCEL_ONLY", to: "TRADING" },
    ]);
    assert.deepEqual(
      plan?.stages.map((s) => [s.name, s.actions]),
      [
        [
          "deposits",
          [
            { kind: "market", symbol: "BTCUSDT", status: "HALT" },
            { kind: "market", symbol: "ETHUSDT", status: "HALT" },
            { kind: "flags", maintenance: false, withdrawals_paused: true },
          ],
        ],
        [
          "cancel-only",
          [
            { kind: "market", symbol: "BTCUSDT", status: "CANCEL_ONLY" },
            { kind: "market", symbol: "ETHUSDT", status: "CANCEL_ONLY" },
            { kind: "market", symbol: "ETHBTC", status: "CANCEL_ONLY" },
          ],
        ],
        [
          "trading",
          [
            { kind: "market", symbol: "BTCUSDT", status: "TRADING" },
            { kind: "market", symbol: "ETHUSDT", status: "POST_ONLY" },
            { kind: "market", symbol: "ETHBTC", status: "TRADING" },
            { kind: "market", symbol: "SOLUSDT", status: "TRADING" },
          ],
        ],
        ["withdrawals", [{ kind: "flags", withdrawals_paused: false }]],
      ],
    );
  });

  it("one market's incident leaves deposits and withdrawals alone", () => {
    const plan = reopen_plan(state({}, { BTCUSDT: "TRADING", ETHBTC: "HALT" }), null);
    assert.deepEqual(
      plan?.stages.map((s) => [
        s.name,
        s.actions.map((a) => (a.kind === "market" ? `${a.symbol} ${a.status}` : a)),
      ]),
      [
        ["deposits", []],
        ["cancel-only", ["ETHBTC CANCEL_ONLY"]],
        ["trading", ["ETHBTC TRADING"]],
      ],
    );
  });

  it("named markets (a BREAK one included), paused switches, withdrawals kept paused; unknown names refused", () => {
    const s = state(
      { deposits_paused: true, withdrawals_paused: true },
      { BTCUSDT: "TRADING", NEWUSDT: "BREAK" },
    );
    const plan = reopen_plan(s, ["NEWUSDT", "NEWUSDT"], { keep_withdrawals_paused: true });
    assert.deepEqual(
      plan?.stages.map((x) => [x.name, x.actions]),
      [
        [
          "deposits",
          [
            { kind: "market", symbol: "NEWUSDT", status: "HALT" },
            { kind: "flags", deposits_paused: false },
          ],
        ],
        ["cancel-only", [{ kind: "market", symbol: "NEWUSDT", status: "CANCEL_ONLY" }]],
        ["trading", [{ kind: "market", symbol: "NEWUSDT", status: "TRADING" }]],
      ],
    );
    // only paused withdrawals: the plan is to open them last
    assert.deepEqual(
      reopen_plan(state({ withdrawals_paused: true }, { BTCUSDT: "TRADING" }), null)?.stages.map((x) => [
        x.name,
        x.actions.length,
      ]),
      [
        ["deposits", 0],
        ["cancel-only", 0],
        ["trading", 0],
        ["withdrawals", 1],
      ],
    );
    assert.equal(
      reopen_plan(state({ withdrawals_paused: true }, { BTCUSDT: "TRADING" }), null, {
        keep_withdrawals_paused: true,
      }),
      null,
    );
    assert.throws(() => reopen_plan(s, ["BTCUSDT", "DOGEUSDT"]), /the node lists no market DOGEUSDT/);
  });

  it("drift: what an earlier stage set, changed by someone else", () => {
    const plan = reopen_plan(state({ maintenance: true }, { BTCUSDT: "TRADING" }), null);
    assert.ok(plan !== null);
    assert.deepEqual(
      stage_drift(plan, 1, state({ withdrawals_paused: true }, { BTCUSDT: "CANCEL_ONLY" })),
      [],
    );
    assert.deepEqual(
      stage_drift(plan, 1, state({ maintenance: true, withdrawals_paused: true }, { BTCUSDT: "HALT" })),
      ["BTCUSDT is HALT, not CANCEL_ONLY", "maintenance is on, not off"],
    );
  });
});

describe("holdfast admin reopen against a running node", () => {
  let handle: Awaited<ReturnType<typeof demo_node>>;
  before(async () => {
    handle = await demo_node("hf-reopen-");
  });
  after(async () => {
    await handle.remove();
  });
  const admin = async (path: string, body: unknown) => {
    const r = await admin_request(handle.running.admin_socket, "POST", path, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  /** The node's state in one line: switches, then each market's mode. */
  const now = (): string => {
    const s = node_status(handle.running.node, handle.dir, new Date());
    const on = (b: boolean) => (b ? "on" : "off");
    return `maintenance ${on(s.exchange.maintenance)}, deposits paused ${on(s.exchange.deposits_paused)}, withdrawals paused ${on(s.exchange.withdrawals_paused)}; ${s.markets.map((m) => `${m.symbol} ${m.status}`).join(", ")}`;
  };

  it("prints the plan and changes nothing without --yes; carries out every stage in order with it", async () => {
    await admin("/v1/exchange-flags", { maintenance: true });
    await admin("/v1/market-status", { symbol: "ETHBTC", status: "HALT" });
    await admin("/v1/market-status", { symbol: "ETHUSDT", status: "BREAK" });
    const start = now();
    assert.equal(
      start,
      "maintenance on, deposits paused off, withdrawals paused off; BTCUSDT TRADING, ETHUSDT BREAK, ETHBTC HALT",
    );
    const seq = handle.running.node.last_applied_seq;
    const dry = await cli(["admin", "reopen", "--data-dir", handle.dir]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /markets: BTCUSDT \(TRADING, closed by maintenance → TRADING\), ETHBTC \(HALT → TRADING\)/,
    );
    assert.match(dry.stdout, /nothing changed: run again with --yes/);
    assert.equal(handle.running.node.last_applied_seq, seq);

    // watch the node's state while the CLI runs (1 s between stages)
    const seen: string[] = [start];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const s = now();
        if (s !== seen.at(-1)) seen.push(s);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const run = await cli([
      "admin",
      "reopen",
      "--data-dir",
      handle.dir,
      "--yes",
      "--stage-seconds",
      "1",
      "--json",
    ]);
    watching = false;
    await watcher;
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.filter((l) => l.stage !== undefined).map((l) => l.stage),
      ["deposits", "cancel-only", "trading", "withdrawals"],
    );
    assert.deepEqual(lines.at(-1), {
      reopened: true,
      markets: [
        { symbol: "BTCUSDT", from: "TRADING", to: "TRADING" },
        { symbol: "ETHBTC", from: "HALT", to: "TRADING" },
      ],
    });

    // every stage's state held for its second, in this order; the states between them are the
    // single commands of a stage landing one by one
    const stage_ends = [
      "maintenance off, deposits paused off, withdrawals paused on; BTCUSDT HALT, ETHUSDT BREAK, ETHBTC HALT",
      "maintenance off, deposits paused off, withdrawals paused on; BTCUSDT CANCEL_ONLY, ETHUSDT BREAK, ETHBTC CANCEL_ONLY",
      "maintenance off, deposits paused off, withdrawals paused on; BTCUSDT TRADING, ETHUSDT BREAK, ETHBTC TRADING",
      "maintenance off, deposits paused off, withdrawals paused off; BTCUSDT TRADING, ETHUSDT BREAK, ETHBTC TRADING",
    ];
    assert.deepEqual(
      seen.filter((s) => stage_ends.includes(s)),
      stage_ends,
      seen.join("\n"),
    );
    for (const s of seen.slice(1)) {
      // nothing opened early: no market trades before every one is out of HALT (and maintenance is
      // off), no withdrawal before trading, the BREAK market never touched
      if (/(BTCUSDT|ETHBTC) TRADING/.test(s))
        assert.ok(!s.includes("HALT") && s.startsWith("maintenance off"), s);
      if (s.startsWith("maintenance off") && s.includes("withdrawals paused off"))
        assert.equal(s, stage_ends[3]);
      assert.match(s, /ETHUSDT BREAK/);
    }
    assert.equal(now(), stage_ends[3]);
    const again = await cli(["admin", "reopen", "--data-dir", handle.dir]);
    assert.match(again.stdout, /^nothing to reopen/);
  });

  it("stops when someone else changes what an earlier stage set, and a second run resumes", async () => {
    await admin("/v1/exchange-flags", { maintenance: true });
    const run = cli(["admin", "reopen", "--data-dir", handle.dir, "--yes", "--stage-seconds", "2"]);
    await until("the cancel-only stage", 15_000, () => (now().includes("BTCUSDT CANCEL_ONLY") ? true : null));
    await admin("/v1/market-status", { symbol: "BTCUSDT", status: "HALT" });
    const stopped = await run;
    assert.equal(stopped.code, 1);
    assert.match(
      stopped.stdout,
      /stopped before trading: changed meanwhile by someone else: BTCUSDT is HALT, not CANCEL_ONLY/,
    );
    assert.equal(
      now(),
      "maintenance off, deposits paused off, withdrawals paused on; BTCUSDT HALT, ETHUSDT BREAK, ETHBTC CANCEL_ONLY",
    );
    const resumed = await cli(["admin", "reopen", "--data-dir", handle.dir, "--yes", "--stage-seconds", "0"]);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout, /markets: BTCUSDT \(HALT → TRADING\), ETHBTC \(CANCEL_ONLY → TRADING\)/);
    assert.match(resumed.stdout, /reopened$/m);
    assert.equal(
      now(),
      "maintenance off, deposits paused off, withdrawals paused off; BTCUSDT TRADING, ETHUSDT BREAK, ETHBTC TRADING",
    );
  });
});
