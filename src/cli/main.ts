/**
 * The `holdfast` command. Human-readable output by default, `--json` on request; long-running
 * commands print progress.
 */
import { Command } from "commander";
import { run_demo } from "../demo/engine_demo.js";
import { register_admin } from "./admin.js";
import { register_cluster } from "./cluster.js";
import { register_journal } from "./journal.js";
import { register_reserves_cli } from "./reserves.js";
import { register_start } from "./start.js";
import { register_status } from "./status.js";

const program = new Command();
program
  .name("holdfast")
  .description("Holdfast: a spot crypto exchange that keeps trading when a server dies");
program.version("0.1.0");

program
  .command("demo")
  .description("run the matching engine on a seeded random market and print what it did")
  .option("--seconds <n>", "how long to run", "5")
  .option("--seed <n>", "random seed", "1")
  .option("--accounts <n>", "number of demo accounts", "50")
  .option("--json", "print one JSON object instead of text")
  .action((opts: { seconds: string; seed: string; accounts: string; json?: boolean }) => {
    const seconds = Number(opts.seconds);
    const seed = Number(opts.seed);
    const accounts = Number(opts.accounts);
    if (
      !(seconds > 0 && seconds <= 3600) ||
      !Number.isInteger(seed) ||
      !(accounts >= 2 && accounts <= 100_000)
    ) {
      console.error("holdfast demo: --seconds must be 0..3600, --seed an integer, --accounts 2..100000");
      process.exitCode = 2;
      return;
    }
    if (!opts.json) console.log(`Holdfast engine demo: ${seconds} s, seed ${seed}, ${accounts} accounts`);
    const result = run_demo({
      seconds,
      seed,
      accounts,
      progress: (p) => {
        const line = `  ${p.elapsed_s.toFixed(0)} s: ${p.commands.toLocaleString("en-US")} commands (${p.commands_per_s.toLocaleString("en-US")}/s), ${p.trades.toLocaleString("en-US")} trades`;
        if (opts.json) console.error(line);
        else console.log(line);
      },
    });
    if (opts.json) {
      console.log(JSON.stringify(result));
      return;
    }
    console.log("");
    for (const t of result.top_of_book) {
      console.log(
        `  ${t.symbol.padEnd(8)} bid ${t.bid} x ${t.bid_qty}   ask ${t.ask} x ${t.ask_qty}   last ${t.last}`,
      );
    }
    console.log(`  resting orders: ${result.resting_orders.toLocaleString("en-US")}`);
    console.log(`  state hash:     ${result.state_hash}`);
    console.log(
      result.invariant_problems.length === 0
        ? "  invariants:     all hold (balances add up, no negative balance, locks match orders, no crossed book)"
        : `  invariants:     BROKEN: ${result.invariant_problems.join("; ")}`,
    );
    console.log("\nThe HTTP/WebSocket server comes with step 3; see README.md.");
    if (result.invariant_problems.length > 0) process.exitCode = 1;
  });

register_start(program);
register_cluster(program);
register_status(program);
register_admin(program);
register_journal(program);
register_reserves_cli(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
