/**
 * The one dial/retry/backoff policy of every connecting shell (the client library, the worker
 * runtime, the orchestrators' peer links) and of the simulator's copies of them. Pure: the caller
 * passes the failure count, elapsed times and a random number in [0, 1), and gets back how long
 * to wait or whether to give up, so the same decisions run on a real and a simulated clock.
 *
 * ```ts
 * const pause = retryPauseMs(CLIENT_RETRY, { failures: 3, random: Math.random() });
 * ```
 * @module
 */

/** How one kind of connecting shell dials and backs off. */
export interface RetryPolicy {
  /** The first pause after a failure. */
  readonly minMs: number;
  /** Backoff cap: the longest pause between two attempts. */
  readonly maxMs: number;
  /** Failures retried at `minMs` before the pause starts doubling (a quick first round). */
  readonly quickFailures: number;
  /** A connect (TCP/TLS) that has not completed after this long is given up. */
  readonly connectTimeoutMs: number;
  /** A connection that gets no welcome within this long is given up (a frozen orchestrator). */
  readonly welcomeTimeoutMs: number;
}

/**
 * The client: a failover takes about a second, so the cap keeps retries frequent enough to notice
 * it; a first round through every orchestrator is quick (set `quickFailures` to their number).
 */
export const CLIENT_RETRY: RetryPolicy = {
  minMs: 50,
  maxMs: 250,
  quickFailures: 0,
  connectTimeoutMs: 2000,
  welcomeTimeoutMs: 1000,
};

/** A worker: reconnects spread out up to 2 s, so a restarted cluster is not flooded. */
export const WORKER_RECONNECT: RetryPolicy = {
  minMs: 100,
  maxMs: 2000,
  quickFailures: 0,
  connectTimeoutMs: 2000,
  welcomeTimeoutMs: 1000,
};

/** An orchestrator's link to a peer: Raft retries on its own, so re-dial within a second. */
export const PEER_RECONNECT: RetryPolicy = {
  minMs: 50,
  maxMs: 1000,
  quickFailures: 0,
  connectTimeoutMs: 2000,
  welcomeTimeoutMs: 1000,
};

/** The pause to follow a "not leader" hint: straight there, yet bounding any ping-pong of hints. */
export const REDIRECT_PAUSE_MS = 5;

/**
 * The backoff after `failures` consecutive failures (0 after the first): `minMs`, doubling after
 * the quick failures, capped at `maxMs`.
 */
export function backoffMs(policy: RetryPolicy, failures: number): number {
  const doublings = Math.max(0, failures - policy.quickFailures);
  // 2^31 overflows nothing, and any cap is reached long before.
  return Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(doublings, 31));
}

/**
 * The pause before the next attempt: the backoff with "equal jitter" (half fixed, half random),
 * so many clients or workers retrying after the same failover spread out, yet none retries at
 * once. `random` is a number in [0, 1) from the caller's source (Math.random, or a seeded PRNG).
 */
export function retryPauseMs(
  policy: RetryPolicy,
  options: { failures: number; random: number },
): number {
  const base = backoffMs(policy, options.failures);
  return Math.round(base / 2 + options.random * base / 2);
}

/**
 * When every orchestrator is definitely down for a request — it refuses connections (nothing
 * listens: the cluster is stopped, or the address list is wrong) or answers "unavailable" (no
 * quorum) — saying so after this long beats waiting out the request's whole time budget. A
 * restarting orchestrator listens again, and a healed partition elects a leader, within about
 * this long; a timeout is no such answer and never counts.
 */
export const CLUSTER_DOWN_GIVE_UP_MS = 1000;

/**
 * Whether to stop retrying because the cluster is down: each of the `orchestrators` gave a
 * definite "down" answer (a refused connection or "unavailable") since any attempt got further,
 * and those answers have gone on for CLUSTER_DOWN_GIVE_UP_MS.
 */
export function isClusterDown(
  options: { downCount: number; orchestrators: number; downForMs: number },
): boolean {
  return options.downCount >= options.orchestrators &&
    options.downForMs >= CLUSTER_DOWN_GIVE_UP_MS;
}

/**
 * How often a worker that reaches no orchestrator says so: often enough that an operator watching
 * its log sees it within seconds, rarely enough not to flood the log.
 */
export const UNREACHABLE_WARNING_INTERVAL_MS = 5000;

/**
 * Whether a worker that has reached no orchestrator since `sinceMs` should warn now, given when
 * it last warned (null: not yet during this outage).
 */
export function shouldWarnUnreachable(
  options: { sinceMs: number; lastWarnedMs: number | null; nowMs: number },
): boolean {
  const from = options.lastWarnedMs ?? options.sinceMs;
  return options.nowMs - from >= UNREACHABLE_WARNING_INTERVAL_MS;
}
