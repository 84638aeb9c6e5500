/**
 * `holdfast admin metrics`: the node's metrics (prom-client's JSON, from the admin socket) as a few
 * lines an operator reads at a glance. Percentiles come from histogram buckets, so they are upper
 * bounds ("≤ 2.5 ms"): the bucket the quantile falls in.
 */

/** One metric as prom-client's getMetricsAsJSON gives it. */
export interface MetricJson {
  name: string;
  type: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

function find(metrics: readonly MetricJson[], name: string): MetricJson | undefined {
  return metrics.find((m) => m.name === name);
}

/** Whether a series' labels include every one of `labels`. */
function has_labels(series: MetricJson["values"][number], labels: Record<string, string | number>): boolean {
  return Object.entries(labels).every(([k, want]) => String(series.labels[k]) === String(want));
}

/** The value of a metric's series whose labels include `labels` (the first such), or null. */
export function value_of(
  metrics: readonly MetricJson[],
  name: string,
  labels: Record<string, string | number> = {},
): number | null {
  const m = find(metrics, name);
  const v = m?.values.find((x) => has_labels(x, labels));
  return v === undefined ? null : v.value;
}

/** Sum of a metric's series whose labels include `labels`. */
export function sum_of(
  metrics: readonly MetricJson[],
  name: string,
  labels: Record<string, string | number> = {},
): number {
  const m = find(metrics, name);
  let total = 0;
  for (const x of m?.values ?? []) if (x.metricName === undefined && has_labels(x, labels)) total += x.value;
  return total;
}

/**
 * A histogram's count and the upper bounds of the buckets its quantiles fall in (seconds;
 * Infinity past the last bucket), over the series whose labels include `labels`.
 */
export function histogram_of(
  metrics: readonly MetricJson[],
  name: string,
  labels: Record<string, string | number> = {},
  /** An earlier reading of the same metrics: what was observed since then. */
  since: readonly MetricJson[] = [],
): { count: number; sum: number; quantile: (q: number) => number } {
  const cumulative = new Map<number, number>();
  let count = 0;
  let sum = 0;
  const add = (from: readonly MetricJson[], sign: number): void => {
    for (const x of find(from, name)?.values ?? []) {
      if (!has_labels(x, labels)) continue;
      if (x.metricName === `${name}_bucket`) {
        const le = x.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(x.labels.le);
        cumulative.set(le, (cumulative.get(le) ?? 0) + sign * x.value);
      } else if (x.metricName === `${name}_count`) count += sign * x.value;
      else if (x.metricName === `${name}_sum`) sum += sign * x.value;
    }
  };
  add(metrics, 1);
  add(since, -1);
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  return {
    count,
    sum,
    quantile: (q) => {
      const want = q * count;
      for (const le of bounds) if ((cumulative.get(le) ?? 0) >= want) return le;
      return Number.POSITIVE_INFINITY;
    },
  };
}

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

function ms(seconds: number): string {
  if (seconds === Number.POSITIVE_INFINITY) return "> 10 s";
  const v = seconds * 1000;
  return v >= 1000 ? `≤ ${v / 1000} s` : `≤ ${v} ms`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The lines `holdfast admin metrics` prints. */
export function summary_lines(metrics: readonly MetricJson[]): string[] {
  const lines: string[] = [];
  const seq = value_of(metrics, "holdfast_applied_sequence") ?? 0;
  const snapshot = value_of(metrics, "holdfast_snapshot_sequence") ?? 0;
  const open = value_of(metrics, "holdfast_order_entry_open") === 1;
  const history = value_of(metrics, "holdfast_history_written_sequence");
  const history_failed = value_of(metrics, "holdfast_history_failed") === 1;
  const free = value_of(metrics, "holdfast_data_dir_free_bytes");
  lines.push(
    `node       sequence ${n(seq)} · snapshot at ${snapshot === 0 ? "none" : n(snapshot)} · order entry ${open ? "open" : "PAUSED"}`,
  );
  lines.push(
    `state      ${n(value_of(metrics, "holdfast_orders_live") ?? 0)} live orders · ${n(value_of(metrics, "holdfast_accounts") ?? 0)} accounts` +
      (history === null
        ? ""
        : ` · history ${history_failed ? "STOPPED" : `written to ${n(history)} (${n(Math.max(0, seq - history))} behind)`}`) +
      (free === null ? "" : ` · ${mib(free)} free on the data disk`),
  );
  const switches = (find(metrics, "holdfast_exchange_switch")?.values ?? [])
    .filter((v) => v.value === 1)
    .map((v) => String(v.labels.switch));
  const markets = (find(metrics, "holdfast_market_status")?.values ?? [])
    .filter((v) => v.value === 1)
    .map((v) => `${v.labels.symbol} ${v.labels.status}`);
  lines.push(
    `markets    ${markets.join(" · ") || "none"}${switches.length > 0 ? ` · ON: ${switches.join(", ")}` : ""}`,
  );
  const by_type = (find(metrics, "holdfast_commands_applied_total")?.values ?? [])
    .filter((v) => v.value > 0)
    .sort((a, b) => b.value - a.value);
  const commands = by_type.reduce((t, v) => t + v.value, 0);
  lines.push(
    `commands   ${n(commands)} submitted here and applied since start` +
      (by_type.length === 0
        ? ""
        : ` (${by_type
            .slice(0, 5)
            .map((v) => `${v.labels.type} ${n(v.value)}`)
            .join(", ")}${by_type.length > 5 ? ", …" : ""})`),
  );
  const ack = histogram_of(metrics, "holdfast_command_ack_seconds");
  if (ack.count > 0)
    lines.push(
      `acks       p50 ${ms(ack.quantile(0.5))} · p99 ${ms(ack.quantile(0.99))} · p99.9 ${ms(ack.quantile(0.999))} (submitted → durable and applied)`,
    );
  const writes = histogram_of(metrics, "holdfast_journal_write_seconds");
  if (writes.count > 0) {
    const per = histogram_of(metrics, "holdfast_journal_write_commands");
    lines.push(
      `journal    ${n(writes.count)} durable writes, ${mib(value_of(metrics, "holdfast_journal_written_bytes_total") ?? 0)}, ${(per.sum / per.count).toFixed(1)} commands each · write p50 ${ms(writes.quantile(0.5))} · p99 ${ms(writes.quantile(0.99))}`,
    );
  }
  const http = find(metrics, "holdfast_http_requests_total")?.values ?? [];
  const classes = new Map<string, number>();
  for (const v of http) {
    const c = `${String(v.labels.status)[0]}xx`;
    classes.set(c, (classes.get(c) ?? 0) + v.value);
  }
  const http_total = [...classes.values()].reduce((a, b) => a + b, 0);
  const orders = histogram_of(metrics, "holdfast_http_request_seconds", {
    method: "POST",
    route: "/api/v3/order",
  });
  lines.push(
    `http       ${n(http_total)} requests` +
      ([...classes].length === 0
        ? ""
        : `: ${[...classes]
            .sort()
            .map(([c, k]) => `${c} ${n(k)}`)
            .join(" · ")}`) +
      (orders.count > 0
        ? ` · POST /api/v3/order p50 ${ms(orders.quantile(0.5))}, p99 ${ms(orders.quantile(0.99))}`
        : ""),
  );
  const ws_requests = sum_of(metrics, "holdfast_ws_api_requests_total");
  const ws_orders = histogram_of(metrics, "holdfast_ws_api_request_seconds", { method: "order.place" });
  lines.push(
    `websocket  ${n(value_of(metrics, "holdfast_websocket_connections", { endpoint: "streams" }) ?? 0)} stream connections (${n(value_of(metrics, "holdfast_websocket_subscriptions", { endpoint: "streams" }) ?? 0)} subscriptions) · ${n(value_of(metrics, "holdfast_websocket_connections", { endpoint: "ws_api" }) ?? 0)} WebSocket API sessions, ${n(ws_requests)} requests${ws_orders.count > 0 ? ` · order.place p50 ${ms(ws_orders.quantile(0.5))}, p99 ${ms(ws_orders.quantile(0.99))}` : ""}`,
  );
  const rss = value_of(metrics, "process_resident_memory_bytes");
  if (rss !== null) {
    const heap = value_of(metrics, "nodejs_heap_size_used_bytes") ?? 0;
    const lag = value_of(metrics, "nodejs_eventloop_lag_p99_seconds") ?? 0;
    const cpu = value_of(metrics, "process_cpu_seconds_total") ?? 0;
    lines.push(
      `process    ${mib(rss)} resident, ${mib(heap)} heap used · event-loop delay p99 ${(lag * 1000).toFixed(1)} ms · ${cpu.toFixed(1)} s CPU`,
    );
  }
  return lines;
}

/** What happened between two readings `seconds` apart: rates and the interval's percentiles. */
export interface Interval {
  seconds: number;
  applied_sequence: number;
  order_entry_open: boolean;
  commands_per_s: number;
  ack_p50_ms: number | null;
  ack_p99_ms: number | null;
  journal_writes_per_s: number;
  journal_write_p99_ms: number | null;
  http_per_s: number;
  http_4xx_per_s: number;
  http_5xx_per_s: number;
  order_p99_ms: number | null;
  ws_api_per_s: number;
  connections: number;
}

/** Counter series summed, those whose `label` starts with `prefix` (all when no label is given). */
function counted(metrics: readonly MetricJson[], name: string, label?: string, prefix = ""): number {
  let total = 0;
  for (const v of find(metrics, name)?.values ?? [])
    if (label === undefined || String(v.labels[label]).startsWith(prefix)) total += v.value;
  return total;
}

/** `holdfast admin metrics --every N`: from two readings of the same node. */
export function interval_of(
  before: readonly MetricJson[],
  after: readonly MetricJson[],
  seconds: number,
): Interval {
  const rate = (name: string, label?: string, prefix?: string): number =>
    (counted(after, name, label, prefix) - counted(before, name, label, prefix)) / seconds;
  const q = (name: string, p: number, labels: Record<string, string> = {}): number | null => {
    const h = histogram_of(after, name, labels, before);
    return h.count === 0 ? null : h.quantile(p) * 1000;
  };
  const writes = histogram_of(after, "holdfast_journal_write_seconds", {}, before);
  return {
    seconds,
    applied_sequence: value_of(after, "holdfast_applied_sequence") ?? 0,
    order_entry_open: value_of(after, "holdfast_order_entry_open") === 1,
    commands_per_s: rate("holdfast_commands_applied_total"),
    ack_p50_ms: q("holdfast_command_ack_seconds", 0.5),
    ack_p99_ms: q("holdfast_command_ack_seconds", 0.99),
    journal_writes_per_s: writes.count / seconds,
    journal_write_p99_ms: writes.count === 0 ? null : writes.quantile(0.99) * 1000,
    http_per_s: rate("holdfast_http_requests_total"),
    http_4xx_per_s: rate("holdfast_http_requests_total", "status", "4"),
    http_5xx_per_s: rate("holdfast_http_requests_total", "status", "5"),
    order_p99_ms: q("holdfast_http_request_seconds", 0.99, { method: "POST", route: "/api/v3/order" }),
    ws_api_per_s: rate("holdfast_ws_api_requests_total"),
    connections: sum_of(after, "holdfast_websocket_connections"),
  };
}

/** The interval view's column heads and one row. */
export const INTERVAL_HEAD =
  "time      sequence     cmds/s  ack p50  ack p99  writes/s  write p99  http/s   4xx/s  5xx/s  order p99  ws-api/s  ws conns  entry";

export function interval_line(at: Date, i: Interval): string {
  const bound = (v: number | null): string =>
    v === null ? "-" : v === Number.POSITIVE_INFINITY ? ">10 s" : `≤${+v.toPrecision(3)} ms`;
  const r = (v: number): string => (v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString("en-US"));
  return [
    at.toISOString().slice(11, 19),
    n(i.applied_sequence).padStart(11),
    r(i.commands_per_s).padStart(9),
    bound(i.ack_p50_ms).padStart(8),
    bound(i.ack_p99_ms).padStart(8),
    r(i.journal_writes_per_s).padStart(9),
    bound(i.journal_write_p99_ms).padStart(10),
    r(i.http_per_s).padStart(7),
    r(i.http_4xx_per_s).padStart(7),
    r(i.http_5xx_per_s).padStart(6),
    bound(i.order_p99_ms).padStart(10),
    r(i.ws_api_per_s).padStart(9),
    n(i.connections).padStart(9),
    i.order_entry_open ? "  open" : "  PAUSED",
  ].join(" ");
}
