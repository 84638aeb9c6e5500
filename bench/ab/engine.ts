/**
 * Same-process A/B of two builds of the engine: `node --expose-gc dist/bench/ab/engine.js OLD NEW
 * [mixed|insert] [rounds] [range]`, where OLD and NEW are checkouts with `dist/` built (e.g. `git worktree add
 * /tmp/old <commit> && (cd /tmp/old && npm ci && npx tsc -p tsconfig.json)`). Both are loaded into this
 * process and run the identical stream (built once, by OLD's workload code), alternating which goes
 * first; prints each build's median and runs. On this VM the speed drifts by tens of percent between
 * processes, so this is how an engine change is measured (docs/BENCHMARKS.md, "What was learned").
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DEMO_PRICE_RANGE } from "../../src/engine/reference.js";

interface Build {
  root: string;
  // biome-ignore lint/suspicious/noExplicitAny: modules of another build, loaded at run time
  Engine: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  RingSink: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  workload: any;
}

const [old_root, new_root, which = "mixed", rounds_text = "8", option = ""] = process.argv.slice(2);
/**
 * "range": the market gets a price range (80 × 3,750 ms, 0.85-1.15) before the stream, in both builds;
 * a build without set_price_range refuses it and runs as before, so OLD NEW range measures what the
 * rule costs when on.
 */
const with_range = option === "range";
if (old_root === undefined || new_root === undefined || (which !== "mixed" && which !== "insert")) {
  process.stderr.write(
    "usage: node --expose-gc dist/bench/ab/engine.js OLD NEW [mixed|insert] [rounds] [range]\n",
  );
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) process.stderr.write("(run with --expose-gc for steadier figures)\n");

async function load(root: string): Promise<Build> {
  const at = (file: string): string => pathToFileURL(resolve(root, "dist", file)).href;
  return {
    root,
    Engine: (await import(at("src/engine/engine.js"))).Engine,
    RingSink: (await import(at("bench/engine/ring_sink.js"))).RingSink,
    workload: await import(at("bench/engine/workload.js")),
  };
}

const builds = [await load(old_root), await load(new_root)];
const stream = builds[0].workload[which](42, 50_000, 1_000_000);

function run(b: Build): number {
  const e = new b.Engine(
    { ...b.workload.BENCH_LIMITS, orders_preallocated: stream.preload.length + stream.ops.length },
    new b.RingSink(),
  );
  for (const c of b.workload.setup_commands()) e.execute(c);
  if (with_range)
    e.execute({
      type: "set_price_range",
      ts_ms: 0,
      market: 0,
      ...DEMO_PRICE_RANGE,
    });
  for (let i = 0; i < stream.preload.length; i++) e.execute(stream.preload.command(i));
  gc?.();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < stream.ops.length; i++) e.execute(stream.ops.command(i));
  return Math.round((stream.ops.length * 1e9) / Number(process.hrtime.bigint() - t0));
}

const runs: number[][] = [[], []];
const rounds = Number(rounds_text);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? [0, 1] : [1, 0];
  for (const i of order) runs[i].push(run(builds[i]));
  process.stderr.write(`  round ${r + 1}/${rounds}: old ${runs[0][r]}, new ${runs[1][r]} ops/s\n`);
}
const median = (x: number[]): number => [...x].sort((a, b) => a - b)[x.length >> 1];
const ahead = runs[1].filter((v, i) => v > runs[0][i]).length;
console.log(
  JSON.stringify({
    workload: which,
    old: { root: old_root, median_ops_per_s: median(runs[0]), runs: runs[0] },
    new: { root: new_root, median_ops_per_s: median(runs[1]), runs: runs[1] },
    new_ahead_rounds: ahead,
    rounds,
  }),
);
