/**
 * A leader's admission of submissions: per-user quotas (tasks queued or running, tasks kept)
 * counting what it admitted that is not applied yet, and the per-user submission rate. A
 * leader-side check, like any rate limit: replicas never see it.
 * @module
 */
import type { TaskStateMachine } from "../tasks/mod.ts";
import { RateLimiter } from "./rate_limiter.ts";

export interface SubmitLimits {
  /** Tasks per second, and burst; 0 = unlimited. */
  submitRatePerUser?: number;
  submitBurstPerUser?: number;
  /** Tasks queued or running, and tasks kept in any state; 0 = unlimited. */
  maxActiveTasksPerUser?: number;
  maxRetainedTasksPerUser?: number;
}

export class SubmitAdmission {
  readonly #limits: SubmitLimits;
  readonly #limiter: RateLimiter;
  /** Submissions admitted that are not applied yet, by user (for the quotas). */
  readonly #inFlight = new Map<string, number>();

  constructor(limits: SubmitLimits) {
    this.#limits = limits;
    this.#limiter = new RateLimiter({
      ratePerSec: limits.submitRatePerUser ?? 0,
      burst: limits.submitBurstPerUser ?? 0,
    });
  }

  /**
   * Admits `count` more tasks from `user` (null), or says which limit refuses them and what to
   * do. Admitted tasks count against the quotas until {@link applied}.
   */
  admit(sm: TaskStateMachine, user: string, count: number, nowMs: number): string | null {
    const quota = this.#quotaProblem(sm, user, count);
    if (quota !== null) return quota;
    const verdict = this.#limiter.take(user, count, nowMs);
    if (verdict.ok) {
      this.#inFlight.set(user, (this.#inFlight.get(user) ?? 0) + count);
      return null;
    }
    return Number.isFinite(verdict.retryAfterMs)
      ? `Slow down: user ${user} may submit ${this.#limits.submitRatePerUser} tasks/s; retry in ${verdict.retryAfterMs} ms`
      : `Slow down: a batch of ${count} tasks exceeds user ${user}'s burst of ${this.#limits.submitBurstPerUser}; split it`;
  }

  /** One admitted submission of `owner` reached the state (it counts there from now on). */
  applied(owner: string): void {
    const inFlight = (this.#inFlight.get(owner) ?? 0) - 1;
    if (inFlight > 0) this.#inFlight.set(owner, inFlight);
    else this.#inFlight.delete(owner);
  }

  /** Leadership changed: what this node admitted is no longer its to count. */
  clear(): void {
    this.#inFlight.clear();
  }

  /** Why `count` more tasks from `user` would exceed a quota, or null. */
  #quotaProblem(sm: TaskStateMachine, user: string, count: number): string | null {
    const inFlight = this.#inFlight.get(user) ?? 0;
    const active = sm.activeTasksOf(user) + inFlight;
    const maxActive = this.#limits.maxActiveTasksPerUser ?? 0;
    if (maxActive > 0 && active + count > maxActive) {
      return `Quota: user ${user} has ${active} tasks queued or running and may have at most ` +
        `${maxActive} (maxActiveTasksPerUser); wait for some to finish, or cancel some`;
    }
    const retained = sm.retainedTasksOf(user) + inFlight;
    const maxRetained = this.#limits.maxRetainedTasksPerUser ?? 0;
    if (maxRetained > 0 && retained + count > maxRetained) {
      return `Quota: the cluster keeps ${retained} tasks of user ${user} and may keep at most ` +
        `${maxRetained} (maxRetainedTasksPerUser); ask an admin to raise it`;
    }
    return null;
  }
}
