/**
 * Checks passwords against the account hashes the node handed over (scrypt): logins, and the
 * current password of a password change. Every check goes through one LoginThrottle (per user and address, per
 * address, per user) that counts it from the moment it starts, and through the HashGate that
 * bounds scrypt work. Unknown users are checked against a dummy hash so that response time does
 * not tell which names exist.
 * @module
 */
import {
  DUMMY_PASSWORD_HASH,
  generateToken,
  hashToken,
  verifyPassword,
} from "../../shared/auth/mod.ts";
import { LoginThrottle } from "../core/mod.ts";
import type { HashGate } from "./hash_gate.ts";

export type LoginOutcome =
  | {
    kind: "ok";
    session: { token: string; tokenHash: string; expiresAtMs: number };
    /** The account's hash the password matched: the session opens only if it is still current. */
    checkedPasswordHash: string;
  }
  /** `checkedPasswordHash`: the account's hash the password was checked against (null: no account). */
  | { kind: "wrong"; checkedPasswordHash?: string | null }
  | { kind: "throttled"; retryAfterMs: number }
  /** Too many password checks already queued: refused unchecked, and not counted. */
  | { kind: "busy" };

/** A password to check for `user`, from `source`, against the account's hash (null: no account). */
export interface PasswordAttempt {
  user: string;
  password: string;
  source: string;
  passwordHash: string | null;
}

/** The verdict on a password checked against an account, without opening a session. */
export type PasswordVerdict =
  | { kind: "ok"; checkedPasswordHash: string }
  | { kind: "wrong"; checkedPasswordHash: string | null }
  | { kind: "throttled"; retryAfterMs: number }
  | { kind: "busy" };

export class LoginChecker {
  readonly #tokenTtlMs: number;
  readonly #gate: HashGate;
  readonly #throttle: LoginThrottle;

  /** @param options `gate` bounds scrypt work (shared with password hashing); `throttle` for tests. */
  constructor(options: { tokenTtlMs: number; gate: HashGate; throttle?: LoginThrottle }) {
    this.#tokenTtlMs = options.tokenTtlMs;
    this.#gate = options.gate;
    this.#throttle = options.throttle ?? new LoginThrottle();
  }

  /** A login: on the right password, a fresh session for the node to open. */
  async check(attempt: PasswordAttempt): Promise<LoginOutcome> {
    const verdict = await this.verify(attempt);
    if (verdict.kind !== "ok") return verdict;
    const token = generateToken();
    return {
      kind: "ok",
      session: { token, tokenHash: hashToken(token), expiresAtMs: Date.now() + this.#tokenTtlMs },
      checkedPasswordHash: verdict.checkedPasswordHash,
    };
  }

  /**
   * Checks `password` against `user`'s current hash, throttled and counted like a login (a
   * password change checks the current password here).
   */
  async verify(attempt: PasswordAttempt): Promise<PasswordVerdict> {
    const { user, password } = attempt;
    const admission = this.#throttle.begin(user, attempt.source, Date.now());
    if (admission.kind === "throttled") return admission;
    // The attempt is pending from here: concurrent attempts see it before its hash is done.
    let matched = false;
    let checkedPasswordHash: string | null = null;
    try {
      const ran = await this.#gate.run(async () => {
        checkedPasswordHash = attempt.passwordHash;
        matched = await verifyPassword(password, checkedPasswordHash ?? DUMMY_PASSWORD_HASH) &&
          checkedPasswordHash !== null;
      });
      if (ran === null) {
        this.#throttle.cancel(admission.attempt, Date.now());
        return { kind: "busy" };
      }
    } catch (error) {
      this.#throttle.finish(admission.attempt, false, Date.now());
      throw new Error(`Cannot check the password of user "${user}"`, { cause: error });
    }
    this.#throttle.finish(admission.attempt, matched, Date.now());
    if (!matched || checkedPasswordHash === null) return { kind: "wrong", checkedPasswordHash };
    return { kind: "ok", checkedPasswordHash };
  }
}
