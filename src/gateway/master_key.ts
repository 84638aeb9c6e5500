/**
 * The master key that seals HMAC secrets before they are journaled (DESIGN: recoverable secrets are
 * stored encrypted under a key from configuration, never from the journal). AES-256-GCM; a sealed
 * secret is "v1." + base64(iv ‖ tag ‖ ciphertext).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class MasterKey {
  private constructor(private readonly key: Buffer) {}

  /** From base64 or hex text of 32 bytes. */
  static parse(text: string): MasterKey {
    const t = text.trim();
    const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
    if (key.length !== KEY_BYTES) throw new Error("the master key must be 32 bytes, as base64 or hex");
    return new MasterKey(key);
  }

  /**
   * HOLDFAST_MASTER_KEY if set, else `file`; when neither exists and `create` is set, a new key is
   * written to `file` (mode 0600): the demo's way to start on a fresh machine.
   */
  static load(file: string, create: boolean, log: (line: string) => void): MasterKey {
    const env = process.env.HOLDFAST_MASTER_KEY;
    if (env !== undefined && env !== "") return MasterKey.parse(env);
    if (existsSync(file)) return MasterKey.parse(readFileSync(file, "utf8"));
    if (!create)
      throw new Error(`no master key: set HOLDFAST_MASTER_KEY or put 32 bytes (base64) in ${file}`);
    writeFileSync(file, `${randomBytes(KEY_BYTES).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    log(`node: created a master key in ${file}; keep it safe and outside backups of the journal`);
    return MasterKey.parse(readFileSync(file, "utf8"));
  }

  /** A 32-byte key for one purpose (HKDF-SHA256), so no two uses ever share key material. */
  derive(purpose: string): Buffer {
    return Buffer.from(hkdfSync("sha256", this.key, Buffer.alloc(0), `holdfast ${purpose}`, KEY_BYTES));
  }

  seal(secret: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
    return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
  }

  /** The secret, or null when `sealed` was not sealed by this key. */
  open(sealed: string): string | null {
    if (!sealed.startsWith("v1.")) return null;
    const raw = Buffer.from(sealed.slice(3), "base64");
    if (raw.length < IV_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      return null;
    }
  }
}
