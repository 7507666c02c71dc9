/**
 * Checks login passwords against the cluster file's scrypt hashes. Unknown
 * users are checked against a dummy hash so that response time does not tell
 * which user names exist.
 * @module
 */
import {
  DUMMY_PASSWORD_HASH,
  generateToken,
  hashToken,
  verifyPassword,
} from "../../shared/auth/mod.ts";
import type { UserEntry } from "../../shared/config/mod.ts";

export interface CheckedSession {
  token: string;
  tokenHash: string;
  expiresAtMs: number;
}

export class LoginChecker {
  readonly #users: Map<string, UserEntry>;
  readonly #tokenTtlMs: number;

  constructor(users: readonly UserEntry[], tokenTtlMs: number) {
    this.#users = new Map(users.map((u) => [u.name, u]));
    this.#tokenTtlMs = tokenTtlMs;
  }

  /** A new session when the password matches, else null. */
  async check(user: string, password: string, nowMs: number): Promise<CheckedSession | null> {
    const entry = this.#users.get(user);
    const matches = await verifyPassword(password, entry?.passwordHash ?? DUMMY_PASSWORD_HASH);
    if (!matches || entry === undefined) return null;
    const token = generateToken();
    return { token, tokenHash: hashToken(token), expiresAtMs: nowMs + this.#tokenTtlMs };
  }
}
