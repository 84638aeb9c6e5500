/**
 * API keys, as journaled state so every node knows them (DESIGN, "State outside the engine"). The
 * engine only stores them: it never sees a secret in clear (an HMAC secret arrives sealed by the
 * gateway under the master key; Ed25519 and RSA keys are public keys) and does no cryptography.
 * Bounded engine-wide and per account.
 */
export const KEY_HMAC = 0;
export const KEY_ED25519 = 1;
export const KEY_RSA = 2;
export type KeyKind = typeof KEY_HMAC | typeof KEY_ED25519 | typeof KEY_RSA;
export const KEY_KIND_NAMES = ["HMAC_SHA256", "ED25519", "RSA"] as const;

export const PERMISSION_TRADE = 1;
export const PERMISSION_WITHDRAW = 2;

export const API_KEY_RE = /^[A-Za-z0-9]{16,64}$/;
export const KEY_MATERIAL_LENGTH_MAX = 4096;
export const IP_ALLOW_LENGTH_MAX = 1024;

/** Keys made before command format 3 have this tier. */
export const TIER_DEFAULT = "default";
const TIER_RE = /^[a-z0-9_-]{1,32}$/;

export interface ApiKeyRecord {
  api_key: string;
  account: number;
  kind: KeyKind;
  /** HMAC: the sealed secret (the gateway opens it); Ed25519/RSA: the public key, PEM. */
  material: string;
  /** PERMISSION_* bits; reading is always allowed. */
  permissions: number;
  /** Comma-separated IP addresses allowed to use the key; "" allows any. */
  ip_allow: string;
  /** Rate-limit tier name; what it allows is gateway configuration. */
  tier: string;
  created_ms: number;
}

export class ApiKeys {
  readonly by_key = new Map<string, ApiKeyRecord>();
  /** Each account's keys, for its key list and its per-account bound. */
  private readonly per_account = new Map<number, Set<string>>();

  constructor(
    readonly capacity: number,
    readonly per_account_max: number,
  ) {}

  /** Why `r` cannot be added, or null. */
  check(r: ApiKeyRecord): string | null {
    if (typeof r.api_key !== "string" || !API_KEY_RE.test(r.api_key))
      return "api key must be 16-64 letters/digits";
    if (this.by_key.has(r.api_key)) return "api key exists";
    if (r.kind !== KEY_HMAC && r.kind !== KEY_ED25519 && r.kind !== KEY_RSA) return "unknown key kind";
    if (
      typeof r.material !== "string" ||
      r.material.length === 0 ||
      r.material.length > KEY_MATERIAL_LENGTH_MAX
    )
      return "key material missing or too long";
    if (!Number.isInteger(r.permissions) || r.permissions < 0 || r.permissions > 3) return "bad permissions";
    if (typeof r.ip_allow !== "string" || r.ip_allow.length > IP_ALLOW_LENGTH_MAX)
      return "ip allow-list too long";
    if (typeof r.tier !== "string" || !TIER_RE.test(r.tier)) return "tier must be 1-32 of a-z 0-9 _ -";
    if (this.by_key.size >= this.capacity) return "api keys full";
    if ((this.per_account.get(r.account)?.size ?? 0) >= this.per_account_max)
      return "too many api keys for this account";
    return null;
  }

  add(r: ApiKeyRecord): void {
    this.by_key.set(r.api_key, r);
    let keys = this.per_account.get(r.account);
    if (keys === undefined) {
      keys = new Set();
      this.per_account.set(r.account, keys);
    }
    keys.add(r.api_key);
  }

  remove(api_key: string): void {
    const r = this.by_key.get(api_key);
    if (r === undefined) return;
    this.by_key.delete(api_key);
    const keys = this.per_account.get(r.account);
    keys?.delete(api_key);
    if (keys?.size === 0) this.per_account.delete(r.account);
  }

  /** An account's keys, oldest first. */
  of_account(account: number): ApiKeyRecord[] {
    const out: ApiKeyRecord[] = [];
    for (const k of this.per_account.get(account) ?? []) {
      const r = this.by_key.get(k);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  /** In insertion order, for snapshots. */
  entries(): IterableIterator<ApiKeyRecord> {
    return this.by_key.values();
  }
}
