/**
 * The market's depth: cumulative quantity bid (left) and asked (right) around the spread, drawn as
 * two areas. Drawing only: prices and quantities become floats here to place pixels.
 */
import type { Level } from "../feed";

const W = 300;
const H = 90;
const LEVELS = 50;

function steps(levels: Level[]): [number, number][] {
  let sum = 0;
  return levels.slice(0, LEVELS).map((l) => {
    sum += Number(l.qty);
    return [Number(l.price), sum];
  });
}

export function DepthChart(props: { bids: Level[]; asks: Level[]; label: string }) {
  const bids = steps(props.bids);
  const asks = steps(props.asks);
  if (bids.length === 0 && asks.length === 0) return null;
  const prices = [...bids, ...asks].map(([p]) => p);
  const lo = Math.min(...prices);
  const hi = Math.max(...prices);
  const top = Math.max(bids.at(-1)?.[1] ?? 0, asks.at(-1)?.[1] ?? 0) || 1;
  const x = (p: number) => (hi === lo ? W / 2 : ((p - lo) / (hi - lo)) * W);
  const y = (q: number) => H - (q / top) * (H - 4);
  const area = (pts: [number, number][]) => {
    if (pts.length === 0) return "";
    let d = `M${x(pts[0][0]).toFixed(1)},${H}`;
    for (const [p, q] of pts) d += ` L${x(p).toFixed(1)},${y(q).toFixed(1)}`;
    return `${d} L${x(pts[pts.length - 1][0]).toFixed(1)},${H} Z`;
  };
  return (
    <svg
      className="depth-chart"
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={props.label}
    >
      <path className="bid" d={area(bids)} />
      <path className="ask" d={area(asks)} />
    </svg>
  );
}
