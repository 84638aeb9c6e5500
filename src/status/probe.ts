/**
 * One probe round: what the exchange looks like from outside, per component, across every watched
 * node. Each check has its own timeout, so a node that hangs costs one timeout, not the round.
 *  - REST API: GET /api/v3/ping, /sapi/v1/system/status and /api/v3/exchangeInfo answer.
 *  - WebSocket streams: a subscription to a market's @ticker stream delivers an event, and how old
 *    it is on arrival (lag; degraded over SLOW_MS).
 *  - Matching <SYMBOL>: the mode the exchange reports for the market (exchangeInfo status, with
 *    POST_ONLY from Holdfast's /holdfast/v1/modes, which names modes as the engine does).
 *  - Deposits, withdrawals: the exchange's switches (/holdfast/v1/modes) and maintenance.
 *  - Order entry: with a canary key, an order placed and cancelled through the API (canary.ts);
 *    without one, only whether the API answers and is not in maintenance.
 * With several nodes a component is operational when every node serves it, partially out when some
 * do, and down when none do: any node serves any client (cluster mode).
 */
import WebSocket from "ws";
import { type CanaryKey, run_canary } from "./canary.js";
import type { ComponentDef, ComponentStatus, Seen } from "./monitor.js";

export const PROBE_TIMEOUT_MS = 2000;
/** A ticker stream publishes every second: its first event is due within about one. */
const STREAM_TIMEOUT_MS = 2500;
/** Slower answers than this make a component degraded. */
export const SLOW_MS = 1000;

interface NodeView {
  url: string;
  rest: { ok: boolean; ms: number; detail: string };
  ws: { ok: boolean; ms: number; detail: string };
  maintenance: boolean;
  modes: Map<string, string>;
  deposits_paused: boolean;
  withdrawals_paused: boolean;
  /** The node says it refuses new commands (/holdfast/v1/modes order_entry "paused"). */
  order_entry_paused: boolean;
  /** The canary order's outcome; null when no canary key is configured or it could not run. */
  canary: { ok: boolean; ms: number; detail: string } | null;
}

async function get_json(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${new URL(url).pathname}`);
  return response.json();
}

const reason = (error: unknown): string => {
  const e = error as { cause?: { code?: string }; name?: string; message?: string };
  if (e.name === "TimeoutError" || e.name === "AbortError") return `no answer within ${PROBE_TIMEOUT_MS} ms`;
  return e.cause?.code ?? e.message ?? String(error);
};

async function view_node(
  url: string,
  canary: CanaryKey | null,
  stream_symbol: string | null,
): Promise<NodeView> {
  const view: NodeView = {
    url,
    rest: { ok: false, ms: 0, detail: "" },
    ws: { ok: false, ms: 0, detail: "" },
    maintenance: false,
    modes: new Map(),
    deposits_paused: false,
    withdrawals_paused: false,
    order_entry_paused: false,
    canary: null,
  };
  const started = performance.now();
  const rest = (async () => {
    try {
      await get_json(`${url}/api/v3/ping`);
      const system = (await get_json(`${url}/sapi/v1/system/status`)) as { status?: number };
      const info = (await get_json(`${url}/api/v3/exchangeInfo`)) as {
        symbols?: {
          symbol: string;
          status: string;
          orderTypes?: string[];
          filters: ({ filterType: string } & Record<string, unknown>)[];
        }[];
      };
      // answers that are not what the exchange's API answers (a broken or impostor node) are failures
      if (typeof system !== "object" || system === null || typeof system.status !== "number")
        throw new Error("malformed /sapi/v1/system/status answer");
      if (typeof info !== "object" || info === null || !Array.isArray(info.symbols))
        throw new Error("malformed /api/v3/exchangeInfo answer");
      view.rest = { ok: true, ms: performance.now() - started, detail: "" };
      view.maintenance = system.status === 1;
      for (const s of info.symbols) view.modes.set(s.symbol, s.status);
      try {
        const modes = (await get_json(`${url}/holdfast/v1/modes`)) as {
          deposits_paused: boolean;
          withdrawals_paused: boolean;
          order_entry?: string;
          markets: { symbol: string; mode: string }[];
        };
        view.deposits_paused = modes.deposits_paused === true;
        view.withdrawals_paused = modes.withdrawals_paused === true;
        view.order_entry_paused = modes.order_entry === "paused";
        for (const m of modes.markets ?? []) view.modes.set(m.symbol, m.mode);
      } catch {
        // an exchange without Holdfast's endpoint: exchangeInfo's statuses stand
      }
      if (canary !== null && !view.maintenance)
        view.canary = await run_canary(url, canary, info.symbols, PROBE_TIMEOUT_MS).catch(
          (error: unknown) => ({
            ok: false,
            ms: performance.now() - started,
            detail: reason(error),
          }),
        );
    } catch (error) {
      view.rest = { ok: false, ms: performance.now() - started, detail: reason(error) };
    }
  })();
  const ws = probe_ws(url, stream_symbol).then((r) => {
    view.ws = r;
  });
  await Promise.all([rest, ws]);
  return view;
}

/**
 * Stream liveness and lag: a client's subscription to `<symbol>@ticker`, which the exchange publishes
 * every second; lag is receive time minus the event's E. With no market known yet, liveness only: the
 * answer to LIST_SUBSCRIPTIONS on /ws.
 */
function probe_ws(url: string, symbol: string | null): Promise<{ ok: boolean; ms: number; detail: string }> {
  const started = performance.now();
  const timeout_ms = symbol === null ? PROBE_TIMEOUT_MS : STREAM_TIMEOUT_MS;
  return new Promise((resolve) => {
    const path = symbol === null ? "/ws" : `/ws/${symbol.toLowerCase()}@ticker`;
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}${path}`);
    const done = (ok: boolean, ms: number, detail: string): void => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on("error", () => {});
      ws.terminate();
      resolve({ ok, ms, detail });
    };
    const timer = setTimeout(
      () =>
        done(
          false,
          timeout_ms,
          symbol === null ? `no answer within ${timeout_ms} ms` : `no ticker event within ${timeout_ms} ms`,
        ),
      timeout_ms,
    );
    ws.on("open", () => {
      if (symbol === null) ws.send(JSON.stringify({ method: "LIST_SUBSCRIPTIONS", id: 1 }));
    });
    ws.on("message", (data) => {
      // What a watched node sends is not trusted to be well formed: a broken node is what this
      // watches for, and a throw here would end the status service (this runs outside any promise).
      let event: { id?: unknown; E?: unknown };
      try {
        const parsed: unknown = JSON.parse(data.toString());
        event = typeof parsed === "object" && parsed !== null ? parsed : {};
      } catch {
        done(false, performance.now() - started, "a stream message that is not JSON");
        return;
      }
      if (symbol === null && event.id === 1) done(true, performance.now() - started, "");
      // the event's age when it arrived: the stream's lag
      else if (symbol !== null && typeof event.E === "number")
        done(true, Math.max(0, Date.now() - event.E), "");
    });
    ws.on("error", (error) => done(false, performance.now() - started, reason(error)));
  });
}

const FIXED: ComponentDef[] = [
  { id: "rest-api", name: "REST API", position: 1 },
  { id: "websocket-streams", name: "WebSocket streams", position: 2 },
  { id: "order-entry", name: "Order entry", position: 3 },
  { id: "deposits", name: "Deposits", position: 100 },
  { id: "withdrawals", name: "Withdrawals", position: 101 },
];
export const market_component = (symbol: string, position: number): ComponentDef => ({
  id: `matching-${symbol.toLowerCase()}`,
  name: `Matching ${symbol}`,
  position: 10 + position,
});

/** Every node's view folded into one status per component. */
function fold(
  views: readonly NodeView[],
  judge: (v: NodeView) => { status: ComponentStatus; detail: string },
): Seen {
  const judged = views.map((v) => ({ v, ...judge(v) }));
  const bad = judged.filter((j) => j.status !== "operational");
  if (bad.length === 0) return { status: "operational", detail: "" };
  const where = (j: (typeof judged)[number]) => (views.length > 1 ? `${j.v.url}: ` : "");
  const detail = bad.map((j) => `${where(j)}${j.detail}`).join("; ");
  if (bad.length < judged.length) {
    // some nodes serve it: the service is there, with less capacity
    const worst = bad.some((j) => j.status === "major_outage") ? "partial_outage" : "degraded_performance";
    return { status: worst, detail };
  }
  // no node serves it fully: the mildest node's status is what a client gets at best
  const order: ComponentStatus[] = [
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
  ];
  const best = bad.reduce((a, b) => (order.indexOf(b.status) < order.indexOf(a.status) ? b : a));
  return { status: best.status, detail };
}

const MODE_STATUS: Record<string, { status: ComponentStatus; detail: string }> = {
  TRADING: { status: "operational", detail: "" },
  POST_ONLY: { status: "degraded_performance", detail: "post-only: resting orders only" },
  CANCEL_ONLY: { status: "degraded_performance", detail: "cancel-only: no new orders" },
  HALT: { status: "major_outage", detail: "trading halted" },
  BREAK: { status: "under_maintenance", detail: "trading break (planned)" },
};

/**
 * What a staged reopening at the end of a maintenance window has set so far (src/status/reopening.ts):
 * a market in the mode named here, or withdrawals paused, is the planned end of a maintenance, shown
 * as such rather than as an outage. Anything else (a market in another mode, a node down) is judged
 * as always.
 */
export interface Planned {
  markets: ReadonlyMap<string, string>;
  withdrawals_paused: boolean;
}

const REOPENING_WORDS: Record<string, string> = {
  HALT: "closed",
  CANCEL_ONLY: "cancel-only",
  POST_ONLY: "post-only",
};

/**
 * Probes every node once; the map has an entry per component. `known_symbols`: markets seen before,
 * judged even when no node answers (their matching is down with the exchange).
 */
export async function probe_round(
  urls: readonly string[],
  known_symbols: readonly string[],
  canary: CanaryKey | null = null,
  planned: Planned | null = null,
): Promise<{ seen: Map<string, Seen & { def: ComponentDef }>; mode: TradingMode }> {
  const views = await Promise.all(urls.map((u) => view_node(u, canary, known_symbols[0] ?? null)));
  const seen = new Map<string, Seen & { def: ComponentDef }>();
  const put = (def: ComponentDef, s: Seen) => seen.set(def.id, { ...s, def });
  const down = (v: NodeView) => ({
    status: "major_outage" as const,
    detail: v.rest.detail || "not answering",
  });
  const maintenance = { status: "under_maintenance" as const, detail: "exchange maintenance" };

  put(
    FIXED[0],
    fold(views, (v) =>
      !v.rest.ok
        ? down(v)
        : v.rest.ms > SLOW_MS
          ? { status: "degraded_performance", detail: `answers in ${Math.round(v.rest.ms)} ms` }
          : { status: "operational", detail: "" },
    ),
  );
  put(
    FIXED[1],
    fold(views, (v) =>
      !v.ws.ok
        ? { status: "major_outage", detail: v.ws.detail || "not answering" }
        : v.ws.ms > SLOW_MS
          ? { status: "degraded_performance", detail: `stream events ${Math.round(v.ws.ms)} ms late` }
          : { status: "operational", detail: "" },
    ),
  );
  put(
    FIXED[2],
    fold(views, (v) => {
      if (!v.rest.ok) return down(v);
      if (v.maintenance) return maintenance;
      if (v.order_entry_paused)
        return {
          status: "major_outage",
          detail: "order entry paused: the node cannot store new orders durably",
        };
      if (v.canary === null) return { status: "operational", detail: "" };
      if (!v.canary.ok) return { status: "major_outage", detail: v.canary.detail };
      return v.canary.ms > SLOW_MS
        ? { status: "degraded_performance", detail: `canary order took ${Math.round(v.canary.ms)} ms` }
        : { status: "operational", detail: "" };
    }),
  );
  /** `reopening`: a pause a staged reopening holds (Planned), shown as maintenance. */
  const flag = (paused: (v: NodeView) => boolean, what: string, reopening = false) =>
    fold(views, (v) =>
      !v.rest.ok
        ? down(v)
        : v.maintenance
          ? maintenance
          : paused(v)
            ? reopening
              ? { status: "under_maintenance", detail: `reopening after maintenance: ${what} open last` }
              : { status: "major_outage", detail: `${what} paused by the operator` }
            : { status: "operational", detail: "" },
    );
  put(
    FIXED[3],
    flag((v) => v.deposits_paused, "deposits"),
  );
  put(
    FIXED[4],
    flag((v) => v.withdrawals_paused, "withdrawals", planned?.withdrawals_paused === true),
  );

  // markets: those seen before and those any reachable node reports
  const symbols = new Set<string>(known_symbols);
  for (const v of views) for (const s of v.modes.keys()) symbols.add(s);
  let position = 0;
  for (const symbol of [...symbols].sort()) {
    put(
      market_component(symbol, position++),
      fold(views, (v) => {
        if (!v.rest.ok) return down(v);
        if (v.maintenance) return maintenance;
        const mode = v.modes.get(symbol);
        if (mode !== undefined && mode !== "TRADING" && planned?.markets.get(symbol) === mode)
          return {
            status: "under_maintenance",
            detail: `reopening after maintenance: ${REOPENING_WORDS[mode] ?? mode} for now`,
          };
        return mode === undefined
          ? { status: "major_outage", detail: "market not listed by this node" }
          : (MODE_STATUS[mode] ?? { status: "major_outage", detail: `unknown mode ${mode}` });
      }),
    );
  }
  return { seen, mode: trading_mode(views) };
}

/**
 * The exchange's trading mode as Kraken's SystemStatus names it (online | maintenance | cancel_only |
 * post_only), plus each market's mode as the exchange reports it. From the first node that answers:
 * every node serves the same log, so they agree; "unreachable" when none answers.
 */
export interface TradingMode {
  mode: "online" | "maintenance" | "cancel_only" | "post_only" | "unreachable";
  markets: { symbol: string; mode: string }[];
}

function trading_mode(views: readonly NodeView[]): TradingMode {
  const v = views.find((x) => x.rest.ok);
  if (v === undefined) return { mode: "unreachable", markets: [] };
  const markets = [...v.modes]
    .map(([symbol, mode]) => ({ symbol, mode }))
    .sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  const all = (m: string) => markets.length > 0 && markets.every((x) => x.mode === m);
  const mode = v.maintenance
    ? "maintenance"
    : all("CANCEL_ONLY")
      ? "cancel_only"
      : all("POST_ONLY")
        ? "post_only"
        : "online";
  return { mode, markets };
}
