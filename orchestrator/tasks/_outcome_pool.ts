/**
 * One frozen copy of each outcome that carries nothing of its own: no output, no error text.
 * Most finished tasks (every sleep task, every quiet program) have such an outcome, and one
 * object of six fields per retained task costs about 72 bytes. Values are unchanged, so state is
 * too; the copies are frozen so that nothing can change one task's outcome through another's.
 * @module
 */
import type { Outcome } from "../../shared/protocol/messages.ts";

/** Distinct outcomes kept (status × exit code × duration): past it, outcomes are kept as they are. */
const POOLED_OUTCOMES_MAX = 4096;

export class OutcomePool {
  readonly #outcomes = new Map<string, Outcome>();

  /** `outcome`, or an equal frozen copy shared with other tasks. */
  share(outcome: Outcome): Outcome {
    if (
      outcome.stdout !== "" || outcome.stderr !== "" || outcome.error !== null ||
      outcome.stdoutTruncated !== undefined || outcome.stderrTruncated !== undefined
    ) {
      return outcome;
    }
    const key = `${outcome.status} ${outcome.exitCode} ${outcome.durationMs}`;
    const known = this.#outcomes.get(key);
    if (known !== undefined) return known;
    const copy: Outcome = Object.freeze({
      status: outcome.status,
      exitCode: outcome.exitCode,
      stdout: "",
      stderr: "",
      error: null,
      durationMs: outcome.durationMs,
    });
    if (this.#outcomes.size < POOLED_OUTCOMES_MAX) this.#outcomes.set(key, copy);
    return copy;
  }
}
