/**
 * One frozen copy of each outcome that carries nothing of its own: no output, no error text, no
 * result value.
 * Most finished tasks (every sleep task, every quiet program) have such an outcome, and one
 * object of six fields per retained task costs about 72 bytes. Values are unchanged, so state is
 * too; the copies are frozen so that nothing can change one task's outcome through another's.
 * @module
 */
import type { Outcome } from "../../shared/protocol/messages.ts";

/** Distinct outcomes kept (status × exit code × duration): past it, outcomes are kept as they are. */
const POOLED_OUTCOMES_MAX = 4096;
/** Exit codes and durations pooled: the key must stay a safe integer. */
const EXIT_CODE_MAX = 255;
const DURATION_MS_MAX = 2 ** 40;

export class OutcomePool {
  /** By a number made of the status, exit code and duration (cheaper to build than a string). */
  readonly #outcomes = new Map<number, Outcome>();

  /** `outcome`, or an equal frozen copy shared with other tasks. */
  share(outcome: Outcome): Outcome {
    if (
      outcome.stdout !== "" || outcome.stderr !== "" || outcome.error !== null ||
      outcome.stdoutTruncated !== undefined || outcome.stderrTruncated !== undefined ||
      // A handler's result is the task's own (a pooled copy would drop it).
      outcome.value !== undefined || outcome.timedOut !== undefined ||
      outcome.dependencyFailed !== undefined
    ) {
      return outcome;
    }
    const { exitCode, durationMs } = outcome;
    if (exitCode !== null && (exitCode < 0 || exitCode > EXIT_CODE_MAX)) return outcome;
    if (durationMs > DURATION_MS_MAX) return outcome;
    const exitPart = exitCode === null ? 0 : exitCode + 1;
    const key = (durationMs * (EXIT_CODE_MAX + 2) + exitPart) * 2 +
      (outcome.status === "succeeded" ? 0 : 1);
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
