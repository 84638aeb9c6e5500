/**
 * Users and API keys, for the admin interface and the demo: each step is a journaled command, so
 * every node (and every restart) knows the same users and keys. An HMAC secret leaves this module
 * once, in clear, to the operator; the journal only ever holds it sealed under the master key.
 */
import { createPublicKey, randomBytes } from "node:crypto";
import { KEY_ED25519, KEY_HMAC, KEY_RSA } from "../engine/api_keys.js";
import type { Command } from "../engine/commands.js";
import { decimal_to_units } from "../engine/decimal.js";
import { reason_message } from "../engine/reasons.js";
import type { MasterKey } from "../gateway/master_key.js";
import type { ExchangeNode } from "../node/exchange_node.js";

export type Result<T> = ({ ok: true } & T) | { ok: false; error: string };

/** 64 letters and digits, like Binance's keys. */
export function new_key_text(): string {
  let out = "";
  while (out.length < 64)
    out += randomBytes(48)
      .toString("base64")
      .replace(/[^A-Za-z0-9]/g, "");
  return out.slice(0, 64);
}

async function run(node: ExchangeNode, command: Command): Promise<Result<{ seq: number }>> {
  const applied = await node.submit(command);
  const r = applied.events.find((e) => e.kind === "rejected");
  if (r !== undefined && r.kind === "rejected")
    return { ok: false, error: reason_message(r.reason) + (r.detail ? ` (${r.detail})` : "") };
  return { ok: true, seq: applied.seq };
}

/** A new account; with a request id, a retry answers with the account the first one made. */
export async function create_account(
  node: ExchangeNode,
  request_id: string | null,
): Promise<Result<{ account: number }>> {
  // Already applied: answer from the replica without journaling a duplicate.
  const known = request_id === null ? undefined : node.engine.request_ids.get(request_id);
  if (known !== undefined) return { ok: true, account: known };
  const applied = await node.submit({ type: "create_account", ts_ms: 0, request_id });
  for (const e of applied.events) {
    if (e.kind === "account_created") return { ok: true, account: e.account };
    if (e.kind === "duplicate_request") return { ok: true, account: e.result };
    if (e.kind === "rejected") return { ok: false, error: reason_message(e.reason) };
  }
  return { ok: false, error: "no account created" };
}

/** What a new key may do: PERMISSION_* bits, comma-separated allowed IPs ("" any), rate-limit tier. */
export interface KeyOptions {
  permissions: number;
  ip_allow: string;
  tier: string;
}

export async function add_hmac_key(
  node: ExchangeNode,
  master: MasterKey,
  account: number,
  options: KeyOptions,
): Promise<Result<{ apiKey: string; secretKey: string }>> {
  const api_key = new_key_text();
  const secret = new_key_text();
  const r = await run(node, {
    type: "add_api_key",
    ts_ms: 0,
    account,
    api_key,
    kind: KEY_HMAC,
    material: master.seal(secret),
    ...options,
  });
  return r.ok ? { ok: true, apiKey: api_key, secretKey: secret } : r;
}

/** Registers an Ed25519 or RSA public key (PEM). */
export async function add_public_key(
  node: ExchangeNode,
  account: number,
  kind_name: "ED25519" | "RSA",
  pem: string,
  options: KeyOptions,
): Promise<Result<{ apiKey: string }>> {
  let kind = -1;
  try {
    const k = createPublicKey(pem);
    kind = k.asymmetricKeyType === "ed25519" ? KEY_ED25519 : k.asymmetricKeyType === "rsa" ? KEY_RSA : -1;
  } catch {
    kind = -1;
  }
  if (kind !== (kind_name === "ED25519" ? KEY_ED25519 : KEY_RSA))
    return { ok: false, error: `public_key is not a valid ${kind_name} public key (PEM)` };
  const api_key = new_key_text();
  const r = await run(node, {
    type: "add_api_key",
    ts_ms: 0,
    account,
    api_key,
    kind,
    material: pem,
    ...options,
  });
  return r.ok ? { ok: true, apiKey: api_key } : r;
}

/** A test deposit or withdrawal of a decimal amount ("1.5" BTC). */
export async function move_funds(
  node: ExchangeNode,
  type: "deposit" | "withdraw",
  account: number,
  asset_name: string,
  amount: string,
  request_id: string | null,
): Promise<Result<{ seq: number }>> {
  if (request_id !== null && node.engine.request_ids.get(request_id) !== undefined)
    return { ok: true, seq: node.last_applied_seq };
  const asset = node.engine.assets.findIndex((a) => a.name === asset_name);
  if (asset < 0) return { ok: false, error: `unknown asset ${asset_name}` };
  const units = decimal_to_units(amount, node.engine.assets[asset].decimals);
  if (!units.ok) return { ok: false, error: `amount ${amount}: ${units.error}` };
  // a stateless refusal, so never journaled (DESIGN invariant 6)
  if (units.units < 1) return { ok: false, error: `amount ${amount}: must be positive` };
  return run(node, { type, ts_ms: 0, account, asset, amount_units: units.units, request_id });
}
