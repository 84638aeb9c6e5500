/**
 * Signed status updates. The status service holds an Ed25519 key (`STATUS_DIR/signing-key.pem`,
 * created on first start, mode 0600). Every incident update and every summary it publishes carries
 *   "signature": {"alg": "Ed25519", "key_id": "<16 hex>", "value": "<base64>"}
 * where value signs the RFC 8785 canonical JSON (the `canonicalize` package) of the same object
 * without its "signature" field. Canonical JSON makes the check independent of key order and
 * whitespace, so a copy re-serialised by any tool still verifies; changing any value does not.
 * key_id is the first 16 hex digits of SHA-256 over the public key's DER (SPKI) encoding.
 * Users pin the public key (it is on the page, at /api/v2/signing-key.json and printed by
 * `holdfast status key`) and check with `holdfast verify`.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import canonicalize from "canonicalize";

export interface Signature {
  alg: "Ed25519";
  key_id: string;
  value: string;
}

export const KEY_FILE = "signing-key.pem";
/** Bound on what verification walks: a hostile document cannot make it recurse without end. */
const DEPTH_MAX = 32;

export function key_id(public_key: KeyObject): string {
  return createHash("sha256")
    .update(public_key.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);
}

function canonical_bytes(o: Record<string, unknown>): Buffer {
  const { signature: _ignored, ...rest } = o;
  const text = canonicalize(rest);
  if (text === undefined) throw new Error("cannot canonicalize");
  return Buffer.from(text, "utf8");
}

export class Signer {
  readonly public_pem: string;
  readonly key_id: string;

  private constructor(private readonly private_key: KeyObject) {
    const pub = createPublicKey(private_key);
    this.public_pem = pub.export({ type: "spki", format: "pem" }).toString();
    this.key_id = key_id(pub);
  }

  /** The key in `dir`, created (exclusively, 0600) if there is none. */
  static open(dir: string): Signer {
    const file = join(dir, KEY_FILE);
    if (!existsSync(file)) {
      const pair = generateKeyPairSync("ed25519");
      writeFileSync(file, pair.privateKey.export({ type: "pkcs8", format: "pem" }), {
        mode: 0o600,
        flag: "wx",
      });
    }
    return new Signer(createPrivateKey(readFileSync(file, "utf8")));
  }

  /** `o` with a "signature" field over its canonical form. */
  sign<T extends Record<string, unknown>>(o: T): T & { signature: Signature } {
    const value = sign(null, canonical_bytes(o), this.private_key).toString("base64");
    return { ...o, signature: { alg: "Ed25519", key_id: this.key_id, value } };
  }
}

/** Whether `o`'s "signature" verifies under `public_key`. */
export function verify_signed(o: Record<string, unknown>, public_key: KeyObject): boolean {
  const s = o.signature as Partial<Signature> | undefined;
  if (s === undefined || s === null || s.alg !== "Ed25519" || typeof s.value !== "string") return false;
  try {
    return verify(null, canonical_bytes(o), public_key, Buffer.from(s.value, "base64"));
  } catch {
    return false;
  }
}

/** Every signed object in a JSON document, where it is, and whether it verifies. */
export function verify_document(doc: unknown, public_key: KeyObject): { path: string; ok: boolean }[] {
  const out: { path: string; ok: boolean }[] = [];
  const walk = (v: unknown, path: string, depth: number): void => {
    if (depth > DEPTH_MAX || typeof v !== "object" || v === null) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], `${path}[${i}]`, depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    if ("signature" in o)
      out.push({ path: path === "" ? "(document)" : path, ok: verify_signed(o, public_key) });
    for (const [k, x] of Object.entries(o))
      if (k !== "signature") walk(x, path === "" ? k : `${path}.${k}`, depth + 1);
  };
  walk(doc, "", 0);
  return out;
}
