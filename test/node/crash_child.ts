/**
 * A node in a child process for crash tests: receives commands over IPC, answers each once it is
 * durable and applied. The parent kills it with SIGKILL at random moments.
 */
import type { Command } from "../../src/engine/commands.js";
import { EngineNode } from "../../src/node/runtime.js";

const data_dir = process.argv[2];
const snapshot_every = Number(process.argv[3] ?? 500);
const node = await EngineNode.open({
  data_dir,
  snapshot_every_commands: snapshot_every,
  engine_limits: { open_orders_per_account_market_max: 10_000, open_orders_per_account_max: 10_000 },
  log: () => {},
});
process.on("message", (message: { id: number; command: Command }) => {
  node.submit(message.command).then(
    (applied) => process.send?.({ id: message.id, seq: applied.seq }),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
  );
});
process.send?.({ ready: true, applied_seq: node.last_applied_seq, hash: node.state_hash() });
