/**
 * Demo mode (`holdfast start --demo`, what `npm start` runs): on a fresh data directory it creates
 * the demo markets, three funded users with HMAC and Ed25519 keys, and the market maker's accounts,
 * and writes DATA_DIR/demo-credentials.json (mode 0600). Every step is a journaled command with a
 * request id, so a crash half-way and a restart finish the job without doubling anything.
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { add_hmac_key, add_public_key, create_account, move_funds } from "../admin/users.js";
import { PERMISSION_TRADE } from "../engine/api_keys.js";

import type { MasterKey } from "../gateway/master_key.js";
import type { ExchangeNode } from "../node/exchange_node.js";
import { DEMO_SETUP } from "./markets.js";

export const DEMO_USERS = ["alice", "bob", "carol"];
/** In the data directory: the key the status service's canary uses (`holdfast status --canary-key`). */
export const CANARY_KEY_FILE = "canary-key.json";
/** The rate-limit tier of the demo users' keys (DEMO_LIMITS unless configured otherwise). */
const DEMO_TIER = "demo";
const USER_FUNDS: [string, string][] = [
  ["BTC", "10"],
  ["ETH", "100"],
  ["USDT", "1000000"],
];

export interface DemoCredentials {
  baseUrl: string;
  wsUrl: string;
  users: {
    name: string;
    apiKey: string;
    secretKey: string;
    ed25519: { apiKey: string; privateKeyPem: string };
  }[];
}

export interface DemoAccounts {
  maker: number;
  taker: number;
  credentials_file: string;
}

function must<T extends { ok: boolean }>(r: T | { ok: false; error: string }, what: string): T {
  if (!r.ok) throw new Error(`demo setup: ${what}: ${(r as { error: string }).error}`);
  return r as T;
}

export async function setup_demo(
  node: ExchangeNode,
  master: MasterKey,
  data_dir: string,
  urls: { baseUrl: string; wsUrl: string },
  log: (line: string) => void,
): Promise<DemoAccounts> {
  if (node.engine.markets.length === 0) {
    for (const c of DEMO_SETUP) await node.submit(structuredClone(c));
    log(`demo: markets ${node.engine.markets.map((m) => m.config.symbol).join(", ")}`);
  }
  const fund = async (account: number, tag: string, funds: [string, string][]) => {
    for (const [asset, amount] of funds)
      must(await move_funds(node, "deposit", account, asset, amount, `demo-${tag}-${asset}`), `fund ${tag}`);
  };
  const maker = must(await create_account(node, "demo-market-maker"), "market maker").account;
  await fund(maker, "maker", [
    ["BTC", "1000"],
    ["ETH", "20000"],
    ["USDT", "10000000"],
  ]);
  const taker = must(await create_account(node, "demo-market-taker"), "taker").account;
  await fund(taker, "taker", [
    ["BTC", "1000"],
    ["ETH", "20000"],
    ["USDT", "10000000"],
  ]);

  const file = join(data_dir, "demo-credentials.json");
  const first_setup = !existsSync(file);
  let credentials: DemoCredentials;
  if (!first_setup) {
    credentials = { ...(JSON.parse(readFileSync(file, "utf8")) as DemoCredentials), ...urls };
  } else {
    credentials = { ...urls, users: [] };
    for (const name of DEMO_USERS) {
      const account = must(await create_account(node, `demo-user-${name}`), name).account;
      await fund(account, name, USER_FUNDS);
      const options = { permissions: PERMISSION_TRADE, ip_allow: "", tier: DEMO_TIER };
      const hmac = must(await add_hmac_key(node, master, account, options), `${name} key`);
      const pair = generateKeyPairSync("ed25519");
      const pem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
      const ed = must(await add_public_key(node, account, "ED25519", pem, options), `${name} ed25519`);
      credentials.users.push({
        name,
        apiKey: hmac.apiKey,
        secretKey: hmac.secretKey,
        ed25519: {
          apiKey: ed.apiKey,
          privateKeyPem: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        },
      });
    }
    log(`demo: users ${DEMO_USERS.join(", ")} funded with 10 BTC, 100 ETH, 1,000,000 USDT each`);
  }
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });

  // the status service's order-entry canary: a small account of its own (src/status/canary.ts)
  const canary_file = join(data_dir, CANARY_KEY_FILE);
  if (!existsSync(canary_file)) {
    const account = must(await create_account(node, "demo-canary"), "canary").account;
    await fund(account, "canary", [["USDT", "1000"]]);
    const options = { permissions: PERMISSION_TRADE, ip_allow: "", tier: DEMO_TIER };
    const hmac = must(await add_hmac_key(node, master, account, options), "canary key");
    const key = { apiKey: hmac.apiKey, secretKey: hmac.secretKey, symbols: ["BTCUSDT", "ETHUSDT"] };
    writeFileSync(canary_file, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  }
  // A first proof-of-reserves audit, so that the account page has one to verify against. The demo's
  // "wallets" hold exactly what was deposited, so those are the reserves it declares.
  if (first_setup) {
    const reserves = node.engine.asset_totals.map((t, asset) => ({
      asset,
      units: t.deposits_units - t.withdrawals_units,
    }));
    await node.submit({ type: "reserves_audit", ts_ms: 0, reserves });
  }
  return { maker, taker, credentials_file: file };
}
