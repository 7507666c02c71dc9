/**
 * Tasks that run after others (`--after`): a task waits, queued but out of the dispatch queue,
 * until every task it names succeeded; it fails as soon as one of them fails or is cancelled
 * (its outcome names that one: `dependencyFailed`), and so do the tasks waiting for it, in turn.
 * Part of `apply`: pure and deterministic, and resolved as the state machine records each final
 * event, so every replica resolves the same waits in the same order.
 * @module
 */
import type { Outcome, TaskEvent, TaskState } from "../../shared/protocol/messages.ts";
import type { Stamp } from "./commands.ts";
import type { TaskRecord } from "./records.ts";

/** No dependencies: shared by every task without any, so they cost nothing. */
export const NO_TASKS: readonly string[] = Object.freeze([]);

/** What resolving a dependency needs from the state machine. */
export interface DependencyLifecycle {
  tasks(): ReadonlyMap<string, TaskRecord>;
  /** Puts a task whose dependencies all succeeded in the dispatch queue. */
  release(task: TaskRecord, stamp: Stamp): void;
  /** Ends a waiting task as failed with `outcome` (recording its final event). */
  fail(task: TaskRecord, outcome: Outcome, stamp: Stamp): void;
}

export class Dependencies {
  /** Each unfinished task's waiting dependents, in the order they were submitted (derived). */
  readonly #dependents = new Map<string, string[]>();
  readonly #lifecycle: DependencyLifecycle;
  /** Final tasks whose dependents are still to resolve (a cascade runs as a loop, not a stack). */
  readonly #pending: Array<{ task: TaskRecord; stamp: Stamp }> = [];
  #resolving = false;

  constructor(lifecycle: DependencyLifecycle) {
    this.#lifecycle = lifecycle;
  }

  /**
   * Why `owner` may not run a task after `after`, or null: each must be a task of theirs that the
   * cluster still keeps (a removed one's outcome is no longer known).
   */
  refusal(owner: string, after: readonly string[]): string | null {
    const tasks = this.#lifecycle.tasks();
    for (const id of after) {
      const task = tasks.get(id);
      if (task === undefined || task.owner !== owner) {
        return `task ${id} named in --after does not exist, is not yours, or is no longer kept`;
      }
    }
    return null;
  }

  /**
   * The tasks of `after` a new task still waits for, and the first that already failed or was
   * cancelled (then the new task fails at once).
   */
  plan(after: readonly string[]): { waitingFor: readonly string[]; failed: TaskRecord | null } {
    const tasks = this.#lifecycle.tasks();
    const waitingFor: string[] = [];
    for (const id of after) {
      const task = tasks.get(id)!;
      if (task.state === "failed" || task.state === "cancelled" || task.state === "expired") {
        return { waitingFor: NO_TASKS, failed: task };
      }
      if (task.state !== "succeeded") waitingFor.push(id);
    }
    return { waitingFor: waitingFor.length === 0 ? NO_TASKS : waitingFor, failed: null };
  }

  /** `task` waits for its `waitingFor`: note it as their dependent. */
  track(task: TaskRecord): void {
    for (const id of task.waitingFor) {
      let dependents = this.#dependents.get(id);
      if (dependents === undefined) this.#dependents.set(id, dependents = []);
      dependents.push(task.id);
    }
  }

  /** Rebuilds the dependents index from the tasks (after a restore: it is derived state). */
  rebuild(tasks: Iterable<TaskRecord>): void {
    this.#dependents.clear();
    for (const task of tasks) if (task.state === "queued") this.track(task);
  }

  /** `task` reached final state `event` at `stamp`: its dependents go on, or fail. */
  onFinal(task: TaskRecord, stamp: Stamp): void {
    this.#pending.push({ task, stamp });
    if (this.#resolving) return;
    this.#resolving = true;
    try {
      for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) {
        this.#resolve(next.task, next.stamp);
      }
    } finally {
      this.#resolving = false;
    }
  }

  #resolve(done: TaskRecord, stamp: Stamp): void {
    const dependents = this.#dependents.get(done.id);
    if (dependents === undefined) return;
    this.#dependents.delete(done.id);
    const tasks = this.#lifecycle.tasks();
    for (const id of dependents) {
      const task = tasks.get(id);
      // Cancelled (or failed by another dependency) meanwhile: nothing waits any more.
      if (task === undefined || task.state !== "queued" || !task.waitingFor.includes(done.id)) {
        continue;
      }
      if (done.state === "succeeded") {
        task.waitingFor = task.waitingFor.length === 1
          ? NO_TASKS
          : task.waitingFor.filter((d) => d !== done.id);
        if (task.waitingFor.length === 0) this.#lifecycle.release(task, stamp);
      } else {
        task.waitingFor = NO_TASKS;
        this.#lifecycle.fail(task, dependencyFailure(done.id, done.state), stamp);
      }
    }
  }
}

/** The outcome of a task that never ran because `dependency` ended `state`. */
export function dependencyFailure(dependency: string, state: TaskState): Outcome {
  return {
    status: "failed",
    exitCode: null,
    stdout: "",
    stderr: "",
    error: `dependency_failed: task ${dependency} ${state}`,
    durationMs: 0,
    dependencyFailed: dependency,
  };
}

/** Whether `event` ends a task. */
export function isFinalEvent(event: TaskEvent["event"]): boolean {
  return event === "succeeded" || event === "failed" || event === "cancelled" ||
    event === "expired";
}
