/**
 * `npm run bench:floor [-- --quick] [--dir DIR]`: what this machine itself allows, measured without
 * Holdfast, for two targets Holdfast misses here (docs/BENCHMARKS.md, "Floors"). Run it on another
 * machine first: if its floors are not well under the targets, no code can meet them there.
 *
 *  1. Fan-out (issue "Step 3": 5,000 clients on @depth@100ms, p99 of receive − E ≤ 50 ms): one
 *     WebSocket-sized frame (200 bytes) written to each of 5,000 loopback TCP connections from one
 *     thread, as the server writes a tick, while another process reads them all. The last subscriber
 *     cannot receive its frame before it is written, so the loop's time is a floor under the p99
 *     (before the receivers' own time). 10 ticks a second, like @depth@100ms.
 *  2. Disk and CPUs (issue "Step 2": ack p99 ≤ 5 ms at half load): 8 KiB O_DSYNC overwrites of a
 *     zero-filled file (what the journal does for each group commit), one at a time, first on a quiet
 *     machine, then with both cores kept busy by two spinning threads (a loaded node: its own thread
 *     and the load beside it). An acknowledgement waits at least one such write. The spinning threads
 *     also time the CPUs' own pauses (gaps in their clock readings), with and without the disk
 *     writing: every command that arrives in a pause waits it out.
 *
 * Last line: one JSON object.
 */
import { fork } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes("--quick");
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const CLIENTS = 5000;
const FRAME_BYTES = 200;
const TICKS = quick ? 20 : 100;
const TICK_MS = 100;
const DISK_MS = quick ? 3000 : 10_000;
const WRITE_BYTES = 8192;
const FILE_BYTES = 64 * 1024 * 1024;
const TMPFS_MAGIC = 0x01021994;

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** The receiving process: CLIENTS connections to `port`, every byte read and dropped. */
async function receivers(port: number): Promise<void> {
  const sockets: Socket[] = [];
  let bytes = 0;
  for (let i = 0; i < CLIENTS; i += 250) {
    const slice = await Promise.all(
      Array.from(
        { length: Math.min(250, CLIENTS - i) },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const s = connect(port, "127.0.0.1", () => resolve(s));
            s.on("data", (d) => {
              bytes += d.length;
            });
            s.on("error", reject);
          }),
      ),
    );
    sockets.push(...slice);
  }
  process.send?.({ connected: sockets.length });
  process.on("message", (m: string) => {
    if (m === "count") {
      process.send?.({ bytes });
      return;
    }
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
}

async function fan_out(): Promise<{
  median_ms: number;
  p99_ms: number;
  max_ms: number;
  per_write_us: number;
}> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    s.setNoDelay(true);
    sockets.push(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const child = fork(process.argv[1], ["--receivers", String(port)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code) => reject(new Error(`receivers exited (${code})`)));
  });
  while (sockets.length < CLIENTS) await new Promise((r) => setTimeout(r, 10));
  log(
    `fan-out: ${CLIENTS.toLocaleString("en-US")} loopback connections; ${TICKS} ticks of one ${FRAME_BYTES}-byte frame each`,
  );
  const frame = Buffer.alloc(FRAME_BYTES, 0x61);
  const loops: number[] = [];
  for (let t = 0; t < TICKS; t++) {
    const started = performance.now();
    for (const s of sockets) s.write(frame);
    loops.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  // every byte written was read (the writes were real), waiting up to 10 s for the last ones
  const expected = CLIENTS * TICKS * FRAME_BYTES;
  let received = 0;
  for (const deadline_ms = Date.now() + 10_000; received !== expected && Date.now() < deadline_ms; ) {
    received = await new Promise<number>((resolve) => {
      child.once("message", (m: { bytes: number }) => resolve(m.bytes));
      child.send("count");
    });
    if (received !== expected) await new Promise((r) => setTimeout(r, 100));
  }
  child.send("exit");
  if (received !== expected) throw new Error(`receivers read ${received} bytes, ${expected} were written`);
  for (const s of sockets) s.destroy();
  server.close();
  loops.sort((a, b) => a - b);
  const median_ms = percentile(loops, 50);
  return {
    median_ms,
    p99_ms: percentile(loops, 99),
    max_ms: loops[loops.length - 1],
    per_write_us: (median_ms * 1000) / CLIENTS,
  };
}

/**
 * One thread spinning until told to stop (a busy core), reading the clock as it goes: a gap of more
 * than 2 ms between two readings is time its CPU did not run it. It adds to `out` [gaps, ms in gaps,
 * the longest gap's ms] while flags[1] is 1.
 */
const SPIN = `
const { workerData } = require("node:worker_threads");
const flags = new Int32Array(workerData.flags);
const out = new Float64Array(workerData.out);
let last = performance.now();
while (Atomics.load(flags, 0) === 0) {
  const now = performance.now();
  const gap = now - last;
  last = now;
  if (gap > 2 && Atomics.load(flags, 1) === 1) {
    out[0] += 1;
    out[1] += gap;
    if (gap > out[2]) out[2] = gap;
  }
}
`;

interface Pauses {
  per_s: number;
  paused_pct: number;
  longest_ms: number;
}

/** Two spinning threads: both cores busy; `measure(fn)` counts the gaps they saw while fn ran. */
async function busy_cores() {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const outs = [0, 1].map(() => new Float64Array(new SharedArrayBuffer(24)));
  const workers = outs.map(
    (out) => new Worker(SPIN, { eval: true, workerData: { flags: flags.buffer, out: out.buffer } }),
  );
  await new Promise((r) => setTimeout(r, 200));
  return {
    async measure<T>(fn: () => Promise<T> | T): Promise<{ result: T; pauses: Pauses }> {
      for (const o of outs) o.fill(0);
      Atomics.store(flags, 1, 1);
      const t0 = performance.now();
      const result = await fn();
      const ms = performance.now() - t0;
      Atomics.store(flags, 1, 0);
      // what one core saw on average, and the longest either saw
      const gaps = (outs[0][0] + outs[1][0]) / 2;
      const paused_ms = (outs[0][1] + outs[1][1]) / 2;
      return {
        result,
        pauses: {
          per_s: (gaps * 1000) / ms,
          paused_pct: (100 * paused_ms) / ms,
          longest_ms: Math.max(outs[0][2], outs[1][2]),
        },
      };
    },
    async stop(): Promise<void> {
      Atomics.store(flags, 0, 1);
      await Promise.all(workers.map((w) => new Promise((r) => w.once("exit", r))));
    },
  };
}

function dsync_writes(file: string): { p50_ms: number; p99_ms: number; max_ms: number; per_s: number } {
  const fd = openSync(file, constants.O_WRONLY | constants.O_DSYNC);
  const block = Buffer.alloc(WRITE_BYTES, 7);
  const times: number[] = [];
  const t0 = performance.now();
  let at = 0;
  while (performance.now() - t0 < DISK_MS) {
    const started = performance.now();
    writeSync(fd, block, 0, WRITE_BYTES, at);
    times.push(performance.now() - started);
    at = (at + WRITE_BYTES) % FILE_BYTES;
  }
  closeSync(fd);
  const elapsed_s = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return {
    p50_ms: percentile(times, 50),
    p99_ms: percentile(times, 99),
    max_ms: times[times.length - 1],
    per_s: times.length / elapsed_s,
  };
}

async function disk(dir: string) {
  const file = join(dir, "floor-probe");
  // zero-filled and durable first, as the journal's segments are before it writes into them
  const fd = openSync(file, "w");
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < FILE_BYTES; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
  closeSync(fd);
  const sync = openSync(file, constants.O_WRONLY | constants.O_DSYNC);
  writeSync(sync, zeros, 0, 1, 0);
  closeSync(sync);
  log(
    `disk: 8 KiB O_DSYNC overwrites in ${dir}, ${DISK_MS / 1000} s quiet, then ${DISK_MS / 1000} s with both cores busy`,
  );
  const quiet = dsync_writes(file);
  const cores = await busy_cores();
  // the CPUs' own pauses: both cores busy without the disk, then with it (docs/BENCHMARKS.md, "The
  // VM's 100 ms pauses": this VM's host stopped both CPUs ~10 ms in 100 when they were busy while
  // the disk worked)
  const cpu_only = await cores.measure(() => new Promise((r) => setTimeout(r, DISK_MS)));
  const busy = await cores.measure(() => dsync_writes(file));
  await cores.stop();
  rmSync(file);
  return { quiet, busy: busy.result, pauses_cpu_only: cpu_only.pauses, pauses_cpu_and_disk: busy.pauses };
}

async function main(): Promise<void> {
  const receivers_port = arg("--receivers");
  if (receivers_port !== undefined) return receivers(Number(receivers_port));
  const base = arg("--dir") ?? process.cwd();
  if (statfsSync(base).type === TMPFS_MAGIC) {
    log(`refusing to run: ${base} is tmpfs, where nothing is durable; pass --dir on a real disk`);
    process.exitCode = 2;
    return;
  }
  const fan = await fan_out();
  log(
    `  one tick's writes: median ${fan.median_ms.toFixed(1)} ms, p99 ${fan.p99_ms.toFixed(1)} ms, max ${fan.max_ms.toFixed(1)} ms (${fan.per_write_us.toFixed(1)} µs a write); target for receive − E at p99: 50 ms`,
  );
  const dir = mkdtempSync(join(base, ".bench-floor-"));
  try {
    const d = await disk(dir);
    for (const [name, r] of [
      ["quiet", d.quiet],
      ["both cores busy", d.busy],
    ] as const)
      log(
        `  ${name.padEnd(16)} p50 ${r.p50_ms.toFixed(2)} ms, p99 ${r.p99_ms.toFixed(2)} ms, max ${r.max_ms.toFixed(1)} ms (${Math.round(r.per_s).toLocaleString("en-US")} writes/s); target for ack p99: 5 ms`,
      );
    for (const [name, p] of [
      ["cores busy", d.pauses_cpu_only],
      ["cores busy, disk writing", d.pauses_cpu_and_disk],
    ] as const)
      log(
        `  CPU pauses (> 2 ms), ${name}: ${p.per_s.toFixed(1)} a second, ${p.paused_pct.toFixed(1)}% of the time, longest ${p.longest_ms.toFixed(1)} ms`,
      );
    const r3 = (x: number): number => Number(x.toFixed(3));
    console.log(
      JSON.stringify({
        fanout_tick_write_median_ms: r3(fan.median_ms),
        fanout_tick_write_p99_ms: r3(fan.p99_ms),
        fanout_tick_write_max_ms: r3(fan.max_ms),
        fanout_write_us: r3(fan.per_write_us),
        disk_quiet_p50_ms: r3(d.quiet.p50_ms),
        disk_quiet_p99_ms: r3(d.quiet.p99_ms),
        disk_quiet_max_ms: r3(d.quiet.max_ms),
        disk_busy_p50_ms: r3(d.busy.p50_ms),
        disk_busy_p99_ms: r3(d.busy.p99_ms),
        disk_busy_max_ms: r3(d.busy.max_ms),
        cpu_pauses_per_s: r3(d.pauses_cpu_only.per_s),
        cpu_paused_pct: r3(d.pauses_cpu_only.paused_pct),
        cpu_disk_pauses_per_s: r3(d.pauses_cpu_and_disk.per_s),
        cpu_disk_paused_pct: r3(d.pauses_cpu_and_disk.paused_pct),
        cpu_disk_longest_pause_ms: r3(d.pauses_cpu_and_disk.longest_ms),
        quick,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  log(`bench:floor: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
