/** `holdfast status`: runs the status service until SIGTERM/SIGINT (see src/status/service.ts). */
import type { Command } from "commander";
import { STATUS_DEFAULTS, start_status } from "../status/service.js";

export function register_status(program: Command): void {
  program
    .command("status")
    .description(
      "run the status service: probes the exchange from outside, opens incidents, serves the status page",
    )
    .requiredOption("--watch <urls>", "comma-separated base URLs of the exchange nodes' public APIs")
    .option("--data-dir <dir>", "the status service's own directory (its SQLite store)", "holdfast-status")
    .option("--host <host>", "address the status page listens on", "127.0.0.1")
    .option("--port <n>", "port of the status page and API", "8081")
    .option("--name <name>", "the page's name", STATUS_DEFAULTS.name)
    .option("--public-url <url>", "the page's public URL (incident links)")
    .option("--probe-interval-ms <n>", "time between probe rounds", String(STATUS_DEFAULTS.probe_interval_ms))
    .option(
      "--rounds <n>",
      "consecutive rounds that must agree to change a status",
      String(STATUS_DEFAULTS.rounds_to_change),
    )
    .option(
      "--quiet-s <n>",
      "seconds in monitoring without a relapse before an incident is resolved",
      String(STATUS_DEFAULTS.quiet_ms / 1000),
    )
    .action(
      async (opts: {
        watch: string;
        dataDir: string;
        host: string;
        port: string;
        name: string;
        publicUrl?: string;
        probeIntervalMs: string;
        rounds: string;
        quietS: string;
      }) => {
        const port = Number(opts.port);
        const interval = Number(opts.probeIntervalMs);
        const rounds = Number(opts.rounds);
        const quiet_s = Number(opts.quietS);
        if (!Number.isInteger(port) || port < 0 || port > 65535) return fail("--port must be 0..65535");
        if (!(interval >= 100 && interval <= 600_000)) return fail("--probe-interval-ms must be 100..600000");
        if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) return fail("--rounds must be 1..100");
        if (!(quiet_s >= 0 && quiet_s <= 86_400)) return fail("--quiet-s must be 0..86400");
        if (opts.name.length > 100) return fail("--name is at most 100 characters");
        const log = (line: string): void => console.error(`${new Date().toISOString()} ${line}`);
        let running: Awaited<ReturnType<typeof start_status>>;
        try {
          running = await start_status({
            data_dir: opts.dataDir,
            host: opts.host,
            port,
            watch: opts.watch
              .split(",")
              .map((u) => u.trim())
              .filter((u) => u !== ""),
            probe_interval_ms: interval,
            rounds_to_change: rounds,
            quiet_ms: quiet_s * 1000,
            name: opts.name,
            ...(opts.publicUrl === undefined ? {} : { public_url: opts.publicUrl }),
            log,
          });
        } catch (error) {
          return fail(error instanceof Error ? error.message : String(error));
        }
        console.log(`holdfast: status page ready at http://${opts.host}:${running.port}`);
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          log(`status: ${signal}: stopping`);
          running.close().then(
            () => process.exit(0),
            (error: unknown) => {
              log(`status: error while stopping: ${String(error)}`);
              process.exit(1);
            },
          );
        };
        process.on("SIGTERM", () => stop("SIGTERM"));
        process.on("SIGINT", () => stop("SIGINT"));
      },
    );
}

function fail(message: string): void {
  console.error(`holdfast status: ${message}`);
  process.exitCode = 2;
}
