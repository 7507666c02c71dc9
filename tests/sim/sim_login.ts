/**
 * The simulated LoginChecker (orchestrator/shell/login_checker.ts): the real
 * LoginThrottle per user name and per source, then the password checked
 * against the account in the node's replicated state, read when the check
 * starts, which takes a while (scrypt runs off the event loop). Passwords are
 * "hashed" by a stand-in, since scrypt is slow and salted at random.
 * @module
 */
import { LoginThrottle } from "../../orchestrator/core/login_throttle.ts";
import { hashToken } from "../../shared/auth/mod.ts";
import { historyOf } from "./client_history.ts";
import type { World } from "./world.ts";

/** A session lasts longer than any run: expiry is not what the simulation explores. */
const TOKEN_TTL_MS = 24 * 3600 * 1000;

/** Stands in for scrypt: one password, one "hash" (the schema wants the `scrypt$` prefix). */
export function simPasswordHash(password: string): string {
  return `scrypt$sim$${password}`;
}

/** What a check concluded, as the node's `loginChecked` input carries it. */
export interface LoginVerdict {
  session: { token: string; tokenHash: string; expiresAtMs: number } | null;
  /** Set when throttled: the attempt was refused unchecked. */
  retryAfterMs?: number;
  /** The account's hash the password was checked against (null: no such account). */
  checkedPasswordHash?: string | null;
}

export class SimLoginChecker {
  readonly #world: World;
  readonly #nodeId: string;
  readonly #throttle = new LoginThrottle();

  constructor(world: World, nodeId: string) {
    this.#world = world;
    this.#nodeId = nodeId;
  }

  /**
   * Checks a login from `source`; `done` runs on the node's own time (never when it has died:
   * the caller checks).
   */
  check(
    attempt: { user: string; password: string; source: string; passwordHash: string | null },
    done: (verdict: LoginVerdict) => void,
  ): void {
    const world = this.#world;
    const admission = this.#throttle.begin(
      attempt.user,
      attempt.source,
      world.clockMs(this.#nodeId),
    );
    if (admission.kind === "throttled") {
      return done({ session: null, retryAfterMs: admission.retryAfterMs });
    }
    world.schedule(world.rng.int(1, 30), this.#nodeId, () => {
      const checkedPasswordHash = attempt.passwordHash;
      const matched = checkedPasswordHash === simPasswordHash(attempt.password);
      this.#throttle.finish(admission.attempt, matched, world.clockMs(this.#nodeId));
      if (!matched) return done({ session: null, checkedPasswordHash });
      const token = world.newToken(this.#nodeId);
      const tokenHash = hashToken(token);
      historyOf(world).passwordOfSession.set(tokenHash, attempt.password);
      const expiresAtMs = world.clockMs(this.#nodeId) + TOKEN_TTL_MS; // this machine's clock
      done({ session: { token, tokenHash, expiresAtMs }, checkedPasswordHash });
    });
  }
}
