/**
 * Replay A/B of two builds: `node dist/bench/ab/replay.js OLD NEW DATA_DIR [pairs]`. OLD and NEW are
 * checkouts with `dist/` built; DATA_DIR is a node's data directory without snapshots (e.g. the one
 * `npm run bench:journal -- --keep` leaves, after `rm -r DIR/node/snapshots`; pass DIR/node). Each
 * replay runs in a fresh process (as a restart does), alternating builds and which goes first; each
 * prints its rate and state hash, and both builds must reach the same state.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const args = process.argv.slice(2);

async function child(root: string, dir: string): Promise<void> {
  const at = (file: string): string => pathToFileURL(resolve(root, "dist", file)).href;
  const { EngineNode } = await import(at("src/node/runtime.js"));
  const { BENCH_LIMITS } = await import(at("bench/engine/workload.js"));
  const t0 = performance.now();
  const node = await EngineNode.open({
    data_dir: dir,
    engine_limits: { ...BENCH_LIMITS, orders_preallocated: 65_536 },
    snapshot_every_commands: Number.MAX_SAFE_INTEGER,
    snapshot_every_ms: Number.MAX_SAFE_INTEGER,
    journal_retention: false,
    log: () => {},
  });
  const s = (performance.now() - t0) / 1000;
  const out = {
    commands: node.last_applied_seq,
    s,
    per_s: Math.round(node.last_applied_seq / s),
    hash: node.state_hash(),
  };
  await node.close();
  console.log(JSON.stringify(out));
}

if (args[0] === "--child") {
  await child(args[1], args[2]);
} else {
  const [old_root, new_root, dir, pairs_text = "4"] = args;
  if (old_root === undefined || new_root === undefined || dir === undefined) {
    process.stderr.write("usage: node dist/bench/ab/replay.js OLD NEW DATA_DIR [pairs]\n");
    process.exit(2);
  }
  const snapshots = join(dir, "snapshots");
  if (existsSync(snapshots) && readdirSync(snapshots).some((name) => name.endsWith(".hfs"))) {
    process.stderr.write(`${snapshots} holds snapshots: a replay would start from one; remove them first\n`);
    process.exit(2);
  }
  const self = fileURLToPath(import.meta.url);
  const replay = (root: string): { per_s: number; hash: string } => {
    const out = execFileSync(process.execPath, ["--max-old-space-size=8192", self, "--child", root, dir], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    return JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
  };
  const runs: number[][] = [[], []];
  const hashes = new Set<string>();
  const roots = [old_root, new_root];
  const pairs = Number(pairs_text);
  for (let p = 0; p < pairs; p++) {
    for (const i of p % 2 === 0 ? [0, 1] : [1, 0]) {
      const r = replay(roots[i]);
      runs[i].push(r.per_s);
      hashes.add(r.hash);
    }
    process.stderr.write(`  pair ${p + 1}/${pairs}: old ${runs[0][p]}, new ${runs[1][p]} commands/s\n`);
  }
  if (hashes.size !== 1) throw new Error(`the builds reached different states: ${[...hashes].join(", ")}`);
  const median = (x: number[]): number => [...x].sort((a, b) => a - b)[x.length >> 1];
  console.log(
    JSON.stringify({
      old: { root: old_root, median_per_s: median(runs[0]), runs: runs[0] },
      new: { root: new_root, median_per_s: median(runs[1]), runs: runs[1] },
      new_ahead_pairs: runs[1].filter((v, i) => v > runs[0][i]).length,
      pairs,
    }),
  );
}
