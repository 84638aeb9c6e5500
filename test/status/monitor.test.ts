/** The status service's rules with a fake clock: hysteresis, grouping, monitoring, resolution, relapse, restart. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Action, type ComponentDef, type ComponentStatus, Monitor } from "../../src/status/monitor.js";

const DEFS: ComponentDef[] = [
  { id: "rest-api", name: "REST API", position: 1 },
  { id: "websocket-streams", name: "WebSocket streams", position: 2 },
  { id: "matching-btcusdt", name: "Matching BTCUSDT", position: 10 },
];
const seen = (statuses: Record<string, ComponentStatus>) =>
  new Map(
    DEFS.filter((d) => d.id in statuses).map((d) => [
      d.id,
      { def: d, status: statuses[d.id], detail: "probe says so" },
    ]),
  );
const all = (s: ComponentStatus) => seen({ "rest-api": s, "websocket-streams": s, "matching-btcusdt": s });
const fresh = () =>
  new Monitor(
    { rounds_to_change: 2, quiet_ms: 10_000 },
    DEFS.map((d) => ({ ...d, status: "operational" as const })),
    [],
  );
const kinds = (actions: Action[]) =>
  actions.map((a) => (a.kind === "update" ? `update:${a.status}` : a.kind));

describe("status monitor", () => {
  it("one bad round changes nothing; two in a row change the status and open one incident for all", () => {
    const m = fresh();
    assert.deepEqual(m.observe(0, all("major_outage")), []);
    assert.deepEqual(m.observe(2000, all("operational")), [], "a good round resets the streak");
    assert.deepEqual(m.observe(4000, all("major_outage")), []);
    const actions = m.observe(6000, all("major_outage"));
    assert.deepEqual(kinds(actions), ["component", "component", "component", "open"]);
    const open = actions.at(-1) as Extract<Action, { kind: "open" }>;
    assert.equal(open.name, "Exchange unreachable");
    assert.equal(open.impact, "critical");
    assert.deepEqual(
      open.changes.map((c) => [c.id, c.old_status, c.new_status]),
      DEFS.map((d) => [d.id, "operational", "major_outage"]),
    );
    assert.match(open.body, /REST API down \(probe says so\)/);
  });

  it("recovery → monitoring; quiet period → resolved; a relapse in monitoring → investigating", () => {
    const m = fresh();
    m.observe(0, all("major_outage"));
    m.observe(1000, all("major_outage"));
    m.observe(2000, all("operational"));
    assert.deepEqual(kinds(m.observe(3000, all("operational"))), [
      "component",
      "component",
      "component",
      "update:monitoring",
    ]);
    // relapse of one component before the quiet period ends
    m.observe(4000, seen({ "rest-api": "major_outage" }));
    assert.deepEqual(kinds(m.observe(5000, seen({ "rest-api": "major_outage" }))), [
      "component",
      "update:investigating",
    ]);
    m.observe(6000, all("operational"));
    assert.deepEqual(kinds(m.observe(7000, all("operational"))), ["component", "update:monitoring"]);
    assert.deepEqual(m.observe(16_999, all("operational")), [], "not before the quiet period has passed");
    assert.deepEqual(kinds(m.observe(17_000, all("operational"))), ["update:resolved"]);
    assert.equal(m.open_incidents().length, 0);
  });

  it("a component that fails later opens an incident of its own: several at once", () => {
    const m = fresh();
    m.observe(0, seen({ "matching-btcusdt": "major_outage" }));
    const first = m.observe(1000, seen({ "matching-btcusdt": "major_outage" }));
    assert.equal((first.at(-1) as Extract<Action, { kind: "open" }>).name, "Matching BTCUSDT down");
    m.observe(
      2000,
      seen({ "websocket-streams": "degraded_performance", "matching-btcusdt": "major_outage" }),
    );
    const second = m.observe(3000, seen({ "websocket-streams": "degraded_performance" }));
    const open = second.at(-1) as Extract<Action, { kind: "open" }>;
    assert.equal(open.kind, "open");
    assert.equal(open.name, "WebSocket streams degraded");
    assert.equal(open.impact, "minor");
    assert.equal(m.open_incidents().length, 2);
  });

  it("maintenance changes the component but opens no incident", () => {
    const m = fresh();
    m.observe(0, seen({ "matching-btcusdt": "under_maintenance" }));
    assert.deepEqual(kinds(m.observe(1000, seen({ "matching-btcusdt": "under_maintenance" }))), [
      "component",
    ]);
    assert.equal(m.open_incidents().length, 0);
  });

  it("a restarted monitor carries on with the incidents and statuses it is given", () => {
    const m = new Monitor(
      { rounds_to_change: 2, quiet_ms: 10_000 },
      DEFS.map((d) => ({ ...d, status: "major_outage" as const })),
      [{ key: "auto-7", components: DEFS.map((d) => d.id), status: "investigating", recovered_ms: null }],
    );
    m.observe(0, all("operational"));
    const actions = m.observe(1000, all("operational"));
    const update = actions.at(-1) as Extract<Action, { kind: "update" }>;
    assert.equal(update.key, "auto-7");
    assert.equal(update.status, "monitoring");
    m.observe(2000, seen({ "rest-api": "major_outage" }));
    m.observe(3000, seen({ "rest-api": "major_outage" }));
    // a new problem after the restart gets a key the old ones do not use
    m.observe(20_000, all("operational"));
    m.observe(21_000, all("operational"));
    m.observe(40_000, all("operational"));
    m.observe(41_000, seen({ "websocket-streams": "major_outage" }));
    const opened = m.observe(42_000, seen({ "websocket-streams": "major_outage" })).at(-1) as Extract<
      Action,
      { kind: "open" }
    >;
    assert.equal(opened.kind, "open");
    assert.equal(opened.key, "auto-8");
  });
});
