/**
 * Web app users (step 5), as journaled state so every node can log anyone in (DESIGN, "State outside
 * the engine"). Like API keys, the engine only stores what the gateway hands it: an argon2id password
 * hash (never a password), a TOTP secret sealed under the master key (never in clear), and a session
 * epoch that "log out everywhere" bumps, so every node refuses the session tokens signed before it.
 * One user per account; bounded by the engine's accounts_max.
 */
export const EMAIL_LENGTH_MAX = 254;
export const PASSWORD_HASH_LENGTH_MAX = 512;
export const TOTP_SEALED_LENGTH_MAX = 512;
/** Loose on purpose: the gateway validates addresses; this keeps garbage and control bytes out. */
const EMAIL_RE = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,189}$/u;

export interface WebUser {
  /** Lower-cased e-mail address: the login name. */
  email: string;
  account: number;
  /** PHC string ($argon2id$…); the engine never checks it. */
  password_hash: string;
  /** The TOTP secret sealed under the master key; "" while two-factor login is off. */
  totp_sealed: string;
  /** Sessions carry the epoch they were signed in; only the current one is valid. */
  session_epoch: number;
  created_ms: number;
}

export class WebUsers {
  readonly by_email = new Map<string, WebUser>();
  readonly by_account = new Map<number, WebUser>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.by_email.size;
  }

  /** Why a user with this e-mail and hash cannot be registered, or null. */
  check_new(email: unknown, password_hash: unknown): string | null {
    if (typeof email !== "string" || email.length > EMAIL_LENGTH_MAX || !EMAIL_RE.test(email))
      return "e-mail address malformed";
    if (email !== email.toLowerCase()) return "e-mail address must be lower case";
    if (this.by_email.has(email)) return "e-mail address already registered";
    if (
      typeof password_hash !== "string" ||
      !password_hash.startsWith("$argon2id$") ||
      password_hash.length > PASSWORD_HASH_LENGTH_MAX
    )
      return "password hash must be an argon2id PHC string";
    if (this.by_email.size >= this.capacity) return "users full";
    return null;
  }

  add(user: WebUser): void {
    this.by_email.set(user.email, user);
    this.by_account.set(user.account, user);
  }

  /** In e-mail order, for the snapshot (a canonical encoding needs a canonical order). */
  entries(): WebUser[] {
    return [...this.by_email.values()].sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
  }
}
