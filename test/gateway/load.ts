/** Trading load for stream tests: funded accounts and a random stream of orders and cancels on BTCUSDT. */
import type { Command } from "../../src/engine/commands.js";
import { STP_NONE, TIF_GTC, TIF_IOC } from "../../src/engine/types.js";
import type { ExchangeNode } from "../../src/node/exchange_node.js";
import { limit_order } from "../../src/sim/fixtures.js";
import type { Prng } from "../../src/sim/prng.js";

/** `n` new accounts with 1,000 BTC and 10,000,000 USDT each (demo assets: BTC 0, USDT 2). */
export async function funded_accounts(node: ExchangeNode, n: number): Promise<number[]> {
  const accounts: number[] = [];
  for (let i = 0; i < n; i++) {
    const made = await node.submit({ type: "create_account", ts_ms: 0 });
    const a = (made.events[0] as { account: number }).account;
    accounts.push(a);
    await node.submit({ type: "deposit", ts_ms: 0, account: a, asset: 0, amount_units: 10 ** 11 });
    await node.submit({ type: "deposit", ts_ms: 0, account: a, asset: 2, amount_units: 10 ** 15 });
  }
  return accounts;
}

/** For `seconds`: batches of 50 limit orders around a wandering mid (a fifth cross, IOC) and cancels. */
export async function activity(
  node: ExchangeNode,
  accounts: number[],
  seconds: number,
  rng: Prng,
): Promise<void> {
  const end = Date.now() + seconds * 1000;
  let mid = 5_000_000;
  while (Date.now() < end) {
    const batch: Command[] = [];
    for (let i = 0; i < 50; i++) {
      mid += rng.between(-3, 3);
      const side = rng.below(2) as 0 | 1;
      const account = accounts[rng.below(accounts.length)];
      if (rng.chance(0.15)) {
        batch.push({ type: "cancel_all", ts_ms: 0, account, market: 0 });
        continue;
      }
      const cross = rng.chance(0.2);
      const offset = cross ? -rng.between(0, 5) : rng.between(1, 60);
      const price = side === 0 ? mid - offset : mid + offset;
      batch.push(
        limit_order(account, 0, side, price, rng.between(1, 50), cross ? TIF_IOC : TIF_GTC, STP_NONE),
      );
    }
    await node.submit_batch(batch);
    await new Promise((r) => setTimeout(r, 5));
  }
}
