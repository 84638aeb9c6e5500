/** `holdfast start`: runs one node until SIGTERM/SIGINT. */
import type { Command } from "commander";
import { start_node } from "../server/start.js";

export function register_start(program: Command): void {
  program
    .command("start")
    .description("run a node: journal, engine, public API and admin interface")
    .option("--data-dir <dir>", "where the node keeps its journal and snapshots", "holdfast-data")
    .option("--host <host>", "address the public API listens on", "127.0.0.1")
    .option("--port <n>", "port of the public API (0: any free port)", "8080")
    .option("--admin-socket <path>", "Unix socket of the admin interface (default DATA_DIR/admin.sock)")
    .option("--demo", "demo markets, funded users (DATA_DIR/demo-credentials.json) and a market maker")
    .option("--no-market-maker", "in demo mode, do not run the market maker")
    .action(
      async (opts: {
        dataDir: string;
        host: string;
        port: string;
        adminSocket?: string;
        demo?: boolean;
        marketMaker: boolean;
      }) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          console.error("holdfast start: --port must be 0..65535");
          process.exitCode = 2;
          return;
        }
        const log = (line: string): void => console.error(`${new Date().toISOString()} ${line}`);
        const running = await start_node({
          data_dir: opts.dataDir,
          host: opts.host,
          port,
          admin_socket: opts.adminSocket ?? null,
          demo: opts.demo === true,
          market_maker: opts.marketMaker,
          log,
        });
        console.log(
          `holdfast: node ready at http://${opts.host}:${running.port} (sequence ${running.node.last_applied_seq}); admin socket ${running.admin_socket}`,
        );
        if (running.credentials_file !== null)
          console.log(`holdfast: demo users' API keys are in ${running.credentials_file}`);
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          log(`node: ${signal}: stopping`);
          running.close().then(
            () => {
              log("node: stopped cleanly");
              process.exit(0);
            },
            (error: unknown) => {
              log(`node: error while stopping: ${String(error)}`);
              process.exit(1);
            },
          );
        };
        process.on("SIGTERM", () => stop("SIGTERM"));
        process.on("SIGINT", () => stop("SIGINT"));
      },
    );
}
