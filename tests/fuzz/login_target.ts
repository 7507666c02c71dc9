/**
 * Fuzz target (login concurrency and pipelining mode): the LoginThrottle fed bursts of attempts
 * begun at the same instant (pipelined on one connection, or from many addresses at once), with
 * checks finishing in any order, right and wrong, some cancelled, and time jumping by
 * milliseconds to hours. Checked against a plain model of what was admitted:
 * - attempts checked at once never exceed a tier's `maxPending`, for any key (issue 13, hole 1);
 * - the owner, from an address it logged in from, is admitted whenever that address (and the
 *   owner's own typos there) stayed within their free allowance, whatever other addresses did to
 *   the owner's name (hole 4);
 * - every wait named is positive and at most the longest wait a tier can impose.
 * @module
 */
import {
  DEFAULT_LOGIN_THROTTLE,
  type LoginAttempt,
  LoginThrottle,
} from "../../orchestrator/core/login_throttle.ts";
import type { Rng } from "../../shared/prng.ts";
import { type EpisodeContext, type FuzzTarget, FuzzViolation } from "./fuzz_runner.ts";

const OPTIONS = DEFAULT_LOGIN_THROTTLE;
const USERS = ["owner", "alice", "bob", "no-such-user"];
const SOURCES = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"];
/** The owner's own address: it logs in from there at the start of every episode. */
const OWNER_SOURCE = "10.0.0.1";
const LONGEST_WAIT_MS = Math.max(
  OPTIONS.pendingRetryMs,
  ...[OPTIONS.pair, OPTIONS.source, OPTIONS.user].flatMap((t) => [t.maxDelayMs, t.lockoutMs]),
);

interface Pending {
  attempt: LoginAttempt;
  user: string;
  source: string;
  admittedMs: number;
}

/** What was admitted and how it ended, without decay: an upper bound on what the throttle holds. */
class Model {
  readonly pending: Pending[] = [];
  /** Wrong checks per address, ever (the throttle's decayed counts are at most these). */
  readonly sourceFailures = new Map<string, number>();
  /** The owner's wrong checks from its own address since its last right one. */
  ownerPairFailures = 0;

  pendingOf(filter: (p: Pending) => boolean): number {
    return this.pending.filter(filter).length;
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new FuzzViolation("login throttle", message);
}

/** Admits or refuses one attempt, checking what the model says must hold. */
function attempt(
  throttle: LoginThrottle,
  model: Model,
  ctx: EpisodeContext,
  call: { user: string; source: string; nowMs: number },
): void {
  const { user, source, nowMs } = call;
  const ownerSafe = user === "owner" && source === OWNER_SOURCE &&
    (model.sourceFailures.get(source) ?? 0) + model.pendingOf((p) => p.source === source) <
      OPTIONS.source.freeFailures &&
    model.pendingOf((p) => p.source === source) < OPTIONS.source.maxPending &&
    model.pendingOf((p) => p.user === user && p.source === source) === 0 &&
    model.ownerPairFailures <= OPTIONS.pair.freeFailures;
  const admission = throttle.begin(user, source, nowMs);
  ctx.note(`begin ${user} from ${source} at ${nowMs} -> ${admission.kind}`);
  if (admission.kind === "throttled") {
    ctx.tally("throttled");
    check(
      admission.retryAfterMs > 0 && admission.retryAfterMs <= LONGEST_WAIT_MS,
      `wait ${admission.retryAfterMs} ms is outside (0, ${LONGEST_WAIT_MS}]`,
    );
    check(
      !ownerSafe,
      `the owner was refused from its own address for ${admission.retryAfterMs} ms`,
    );
    return;
  }
  ctx.tally("admitted");
  model.pending.push({ attempt: admission.attempt, user, source, admittedMs: nowMs });
  const pair = model.pendingOf((p) => p.user === user && p.source === source);
  check(pair <= OPTIONS.pair.maxPending, `${pair} checks at once for ${user} from ${source}`);
  const bySource = model.pendingOf((p) => p.source === source);
  check(bySource <= OPTIONS.source.maxPending, `${bySource} checks at once from ${source}`);
}

/** Finishes (or cancels) one pending check, chosen at random. */
function finish(
  throttle: LoginThrottle,
  model: Model,
  rng: Rng,
  nowMs: number,
  ctx: EpisodeContext,
) {
  const index = rng.int(0, model.pending.length - 1);
  const [p] = model.pending.splice(index, 1);
  const roll = rng.next();
  if (roll < 0.1) {
    throttle.cancel(p.attempt, nowMs);
    ctx.note(`cancel ${p.user} from ${p.source}`);
    return;
  }
  // Only the owner knows the owner's password.
  const succeeded = p.user === "owner" && p.source === OWNER_SOURCE && roll < 0.5;
  throttle.finish(p.attempt, succeeded, nowMs);
  if (!succeeded) model.sourceFailures.set(p.source, (model.sourceFailures.get(p.source) ?? 0) + 1);
  if (p.user === "owner" && p.source === OWNER_SOURCE) {
    model.ownerPairFailures = succeeded ? 0 : model.ownerPairFailures + 1;
  }
  ctx.note(`finish ${p.user} from ${p.source}: ${succeeded ? "right" : "wrong"}`);
}

export const loginTarget: FuzzTarget = {
  name: "login",
  description: "LoginThrottle under pipelined and concurrent attempts: bounds hold, owner admitted",
  episodeLength: 200,
  runEpisode(rng: Rng, ctx: EpisodeContext): void {
    const throttle = new LoginThrottle();
    const model = new Model();
    let nowMs = rng.int(0, 1e9);
    // The owner has logged in from its address before.
    const first = throttle.begin("owner", OWNER_SOURCE, nowMs);
    check(first.kind === "admitted", "a fresh throttle refused the owner");
    if (first.kind === "admitted") throttle.finish(first.attempt, true, nowMs);
    for (let i = 0; i < ctx.count; i++) {
      ctx.begin(i);
      const roll = rng.next();
      if (roll < 0.3) {
        // A pipelined burst on one connection: many attempts at the same instant.
        const user = rng.pick(USERS);
        const source = rng.pick(SOURCES.slice(1));
        for (let n = rng.int(1, 60); n > 0; n--) {
          attempt(throttle, model, ctx, { user, source, nowMs });
        }
      } else if (roll < 0.45) {
        // Distributed: one name from every address at once.
        const user = rng.pick(USERS);
        for (const source of SOURCES) attempt(throttle, model, ctx, { user, source, nowMs });
      } else if (roll < 0.6) {
        attempt(throttle, model, ctx, { user: "owner", source: OWNER_SOURCE, nowMs });
      } else if (roll < 0.85 && model.pending.length > 0) {
        for (let n = rng.int(1, 4); n > 0 && model.pending.length > 0; n--) {
          finish(throttle, model, rng, nowMs, ctx);
        }
      } else {
        nowMs += rng.pick([0, 1, rng.int(1, 2000), rng.int(1, 120_000), rng.int(1, 3_600_000)]);
      }
    }
  },
};
