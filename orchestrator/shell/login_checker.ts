/**
 * Checks login passwords against the replicated accounts (scrypt), behind a
 * throttle per user name and per source address. Unknown users are checked
 * against a dummy hash so that response time does not tell which names exist.
 * @module
 */
import {
  DUMMY_PASSWORD_HASH,
  generateToken,
  hashToken,
  verifyPassword,
} from "../../shared/auth/mod.ts";
import { LoginThrottle } from "../core/login_throttle.ts";
import type { UserRecord } from "../tasks/mod.ts";

export type LoginOutcome =
  | {
    kind: "ok";
    session: { token: string; tokenHash: string; expiresAtMs: number };
    /** The account's hash the password matched: the session opens only if it is still current. */
    checkedPasswordHash: string;
  }
  /** `checkedPasswordHash`: the account's hash the password was checked against (null: no account). */
  | { kind: "wrong"; checkedPasswordHash?: string | null }
  | { kind: "throttled"; retryAfterMs: number };

export class LoginChecker {
  readonly #users: () => ReadonlyMap<string, UserRecord>;
  readonly #tokenTtlMs: number;
  readonly #throttle = new LoginThrottle();

  /** @param users the current accounts (read at each attempt: they are replicated state). */
  constructor(users: () => ReadonlyMap<string, UserRecord>, tokenTtlMs: number) {
    this.#users = users;
    this.#tokenTtlMs = tokenTtlMs;
  }

  async check(user: string, password: string, sourceHost: string): Promise<LoginOutcome> {
    const keys = [`user:${user}`, `addr:${sourceHost}`];
    const waitMs = this.#throttle.waitMs(keys, Date.now());
    if (waitMs > 0) return { kind: "throttled", retryAfterMs: waitMs };
    const entry = this.#users().get(user);
    const matches = await verifyPassword(password, entry?.passwordHash ?? DUMMY_PASSWORD_HASH);
    if (!matches || entry === undefined) {
      this.#throttle.recordFailure(keys, Date.now());
      return { kind: "wrong", checkedPasswordHash: entry?.passwordHash ?? null };
    }
    this.#throttle.recordSuccess(keys);
    const token = generateToken();
    return {
      kind: "ok",
      session: { token, tokenHash: hashToken(token), expiresAtMs: Date.now() + this.#tokenTtlMs },
      checkedPasswordHash: entry.passwordHash,
    };
  }
}
