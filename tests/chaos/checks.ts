/**
 * The chaos suite's end-of-run checks, from the client side only: what was acknowledged, and
 * what the healed cluster reports about each task. Pure: the data comes in, violations and
 * counts go out.
 * @module
 */
import type { TaskView } from "../../shared/protocol/messages.ts";

/** A submission the cluster acknowledged: this key created (or found) this task. */
export interface AckedSubmission {
  key: string;
  taskId: string;
  /** The cluster said the key was already known (a retried submission found its task). */
  duplicate: boolean;
}

/** What the checks found. */
export interface CheckReport {
  violations: string[];
  tasks: number;
  succeeded: number;
  /** Tasks that failed for good, e.g. after exhausting their attempts as workers died. */
  failed: number;
  cancelled: number;
  /** Attempts that started on a worker (history "started" events). */
  executions: number;
  /** Attempts beyond the first (a task re-run after its worker was lost or handed it back). */
  retries: number;
  requeues: number;
}

/** Violations are listed up to this many per kind, so a systematic bug stays readable. */
const MAX_PER_KIND = 5;

/**
 * Checks every acknowledged submission against the cluster's view of its task:
 * - the task exists (`views` has it);
 * - two keys never share a task, and one key never has two;
 * - it reached a final state;
 * - it has exactly one result (one succeeded/failed event; none if cancelled) and the result
 *   is the current attempt's;
 * - its history's Lamport times strictly increase.
 */
export function checkTasks(
  acked: readonly AckedSubmission[],
  views: ReadonlyMap<string, TaskView>,
): CheckReport {
  const report: CheckReport = {
    violations: [],
    tasks: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    executions: 0,
    retries: 0,
    requeues: 0,
  };
  const counts = new Map<string, number>();
  const violate = (kind: string, message: string) => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    if (n <= MAX_PER_KIND) report.violations.push(message);
    else if (n === MAX_PER_KIND + 1) report.violations.push(`(more "${kind}" violations follow)`);
  };

  const keyOfTask = new Map<string, string>();
  const taskOfKey = new Map<string, string>();
  for (const a of acked) {
    const otherKey = keyOfTask.get(a.taskId);
    if (otherKey !== undefined && otherKey !== a.key) {
      violate(
        "shared",
        `Keys ${otherKey} and ${a.key} were both acknowledged with task ${a.taskId}`,
      );
    }
    keyOfTask.set(a.taskId, a.key);
    const otherTask = taskOfKey.get(a.key);
    if (otherTask !== undefined && otherTask !== a.taskId) {
      violate(
        "split",
        `Key ${a.key} was acknowledged with two tasks, ${otherTask} and ${a.taskId}`,
      );
    }
    taskOfKey.set(a.key, a.taskId);
  }

  for (const [taskId, key] of keyOfTask) {
    const task = views.get(taskId);
    if (task === undefined) {
      violate("missing", `Acknowledged task ${taskId} (key ${key}) does not exist`);
      continue;
    }
    report.tasks += 1;
    checkOneTask(task, violate);
    if (task.state === "succeeded") report.succeeded += 1;
    if (task.state === "failed") report.failed += 1;
    if (task.state === "cancelled") report.cancelled += 1;
    report.executions += task.history.filter((e) => e.event === "started").length;
    report.requeues += task.history.filter((e) => e.event === "requeued").length;
    report.retries += Math.max(0, task.attempt - 1);
  }
  return report;
}

function checkOneTask(task: TaskView, violate: (kind: string, message: string) => void): void {
  const results = task.history.filter((e) => e.event === "succeeded" || e.event === "failed");
  switch (task.state) {
    case "queued":
    case "running":
      violate("unfinished", `Task ${task.id} is still ${task.state} (attempt ${task.attempt})`);
      break;
    case "cancelled":
      if (results.length !== 0) {
        violate("results", `Cancelled task ${task.id} has ${results.length} result(s)`);
      }
      break;
    case "succeeded":
    case "failed": {
      if (results.length !== 1) {
        violate("results", `Task ${task.id} has ${results.length} results: ${describe(task)}`);
      } else if (results[0].event !== task.state) {
        violate(
          "results",
          `Task ${task.id} is ${task.state} but its result says ${results[0].event}`,
        );
      } else if (results[0].attempt !== task.attempt) {
        violate(
          "results",
          `Task ${task.id}'s result is from attempt ${
            results[0].attempt
          }, not the current ${task.attempt}`,
        );
      }
      break;
    }
  }
  for (let i = 1; i < task.history.length; i++) {
    if (task.history[i].lamport <= task.history[i - 1].lamport) {
      violate("lamport", `Task ${task.id}'s history is out of Lamport order: ${describe(task)}`);
      break;
    }
  }
}

function describe(task: TaskView): string {
  return task.history.map((e) => `${e.event}#${e.attempt}@${e.lamport}`).join(", ");
}
