/**
 * The pause before a failed task's next attempt. Part of applying a result, so pure and the same
 * on every replica: the jitter comes from the task and the attempt, not from a random source.
 * @module
 */
import type { RetryPolicy } from "../../shared/protocol/messages.ts";

/**
 * The pause before retry number `retried + 1` of task `seq`. Fixed: `delayMs`. Exponential:
 * `delayMs * 2^retried`, capped at `maxDelayMs`, then drawn between half and all of that ("equal
 * jitter": tasks that failed together spread out, and none retries much sooner than asked).
 */
export function retryDelayMs(policy: RetryPolicy, retried: number, seq: number): number {
  if (policy.backoff === "fixed") return policy.delayMs;
  const ceiling = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** Math.min(retried, 40));
  const half = ceiling / 2;
  return Math.round(half + half * unitHash(seq, retried));
}

/** A number in [0, 1) that depends only on its arguments (a 32-bit integer hash, "lowbias32"). */
function unitHash(a: number, b: number): number {
  let x = (Math.imul(a | 0, 0x9e3779b1) ^ (b | 0)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 2 ** 32;
}
