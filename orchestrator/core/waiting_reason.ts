/**
 * Why a queued task is not running yet, in words a user can act on ("no live
 * worker allows exec tasks; start one with --allow-exec").
 * @module
 */
import { isoTime } from "../../shared/iso_time.ts";
import { DEFAULT_QUEUE } from "../../shared/protocol/messages.ts";
import type { TaskRecord } from "../tasks/mod.ts";
import { type TaskStateMachine, workerRuns } from "../tasks/mod.ts";

/** The reason a queued task waits at `nowMs`, from its own time and the state of the workers. */
export function waitingReason(sm: TaskStateMachine, task: TaskRecord, nowMs: number): string {
  if (task.notBeforeMs > nowMs) {
    const at = isoTime(task.notBeforeMs);
    const retry = task.retry;
    return retry !== null && task.retried > 0
      ? `retry ${task.retried} of ${retry.retries} after a failed attempt, not before ${at}`
      : `not before ${at} (delayed)`;
  }
  if (task.waitingFor.length > 0) {
    const shown = task.waitingFor.slice(0, 5).join(", ");
    const more = task.waitingFor.length > 5 ? ` and ${task.waitingFor.length - 5} more` : "";
    return `waiting for ${shown}${more} to succeed (--after)`;
  }
  let alive = 0, exec = 0, runsProgram = 0, serves = 0, takesQueue = 0, free = 0, slots = 0;
  const program = task.spec.kind === "exec" ? task.spec.argv[0] : null;
  const kind = task.spec.kind === "handler" ? task.spec.handler : null;
  for (const worker of sm.workers.values()) {
    if (worker.status !== "alive") continue;
    alive += 1;
    if (worker.canExec) exec += 1;
    if (program !== null && workerRuns(worker, program)) runsProgram += 1;
    if (kind !== null && worker.kinds.includes(kind)) serves += 1;
    if (!worker.queues.includes(task.queue)) continue;
    takesQueue += 1;
    slots += worker.slots;
    // Prefetched assignments wait on the worker, not here: the task waits only when that is full too.
    free += Math.max(0, worker.slots + worker.prefetch - worker.running.size);
  }
  if (alive === 0) return "no live workers; start one with `deno task worker`";
  if (takesQueue === 0) {
    return `no live worker takes tasks from queue "${task.queue}"; start one with --queues ${task.queue}`;
  }
  if (program !== null && exec === 0) {
    return "no live worker allows exec tasks; start one with --allow-exec";
  }
  if (program !== null && runsProgram === 0) {
    return `no live worker allows the program "${program}" (see their --exec-allow lists)`;
  }
  if (kind !== null && serves === 0) {
    return `no live worker serves kind "${kind}"; start one with --handlers MODULE defining it`;
  }
  if (free === 0) {
    const of = task.queue === DEFAULT_QUEUE ? "" : ` of queue "${task.queue}"`;
    return `all ${slots} worker slot(s)${of} are busy`;
  }
  return "waiting for the scheduler (or a running limit of its queue or owner)";
}
