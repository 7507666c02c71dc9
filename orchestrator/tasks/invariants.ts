/**
 * Whole-state invariants of the task state machine. Tests and the simulator
 * call {@link findInvariantViolations} after every step; it is too slow to run
 * on every apply in production, where `apply` asserts the local rules instead.
 * @module
 */
import { compareLamport } from "../../shared/lamport_clock.ts";
import { kindOf, type TaskState } from "../../shared/protocol/messages.ts";
import type { TaskStateMachine } from "./task_state_machine.ts";
import { historyOf } from "./task_history.ts";

/** Every broken invariant, described; empty when the state is consistent. */
export function findInvariantViolations(sm: TaskStateMachine): string[] {
  const problems: string[] = [];
  const counted: Record<TaskState, number> = {
    queued: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    expired: 0,
  };
  for (const task of sm.tasks.values()) {
    counted[task.state] += 1;
    const inQueue = sm.queue.has(task.id);
    // A task waiting for others (`--after`) is queued but out of the dispatch queue.
    const dispatchable = task.state === "queued" && task.waitingFor.length === 0;
    if (task.state !== "queued" && task.waitingFor.length > 0) {
      problems.push(`task ${task.id} is ${task.state} but still waits for ${task.waitingFor}`);
    }
    if (inQueue !== dispatchable) {
      problems.push(`task ${task.id} is ${task.state} but ${inQueue ? "in" : "not in"} the queue`);
    }
    if (task.state === "running") {
      const worker = task.workerId === null ? undefined : sm.workers.get(task.workerId);
      if (worker === undefined || !worker.running.has(task.id)) {
        problems.push(`running task ${task.id} is not held by its worker ${task.workerId}`);
      }
    }
    // Attempts: those lost to workers (at most maxAttempts) plus those that failed and were retried.
    if (task.attempt < 1 || task.attempt - task.retried > task.maxAttempts) {
      problems.push(
        `task ${task.id} has attempt ${task.attempt} of ${task.maxAttempts} (+${task.retried} retried)`,
      );
    }
    if (task.retried > (task.retry?.retries ?? 0)) {
      problems.push(
        `task ${task.id} was retried ${task.retried} times, more than its policy allows`,
      );
    }
    const isFinal = task.state !== "queued" && task.state !== "running";
    if (isFinal !== (task.finishedAtMs !== null)) {
      problems.push(`task ${task.id} is ${task.state} with finishedAtMs ${task.finishedAtMs}`);
    }
    const history = historyOf(task);
    for (let i = 1; i < history.length; i++) {
      if (compareLamport(history[i - 1], history[i]) >= 0) {
        problems.push(`task ${task.id} history is not in Lamport order at event ${i}`);
      }
    }
    if (sm.idempotency.get(task.owner, task.idempotencyKey) !== task.id) {
      problems.push(`task ${task.id} is missing from the idempotency index`);
    }
  }
  if (sm.idempotency.size !== sm.tasks.size) {
    // A removed task's key must go with it, or the index would grow for ever (and name nothing).
    problems.push(`idempotency index holds ${sm.idempotency.size} keys for ${sm.tasks.size} tasks`);
  }
  for (const state of Object.keys(counted) as TaskState[]) {
    if (counted[state] !== sm.counts[state]) {
      problems.push(`count of ${state} tasks is ${sm.counts[state]}, actual ${counted[state]}`);
    }
  }
  const active = new Map<string, number>();
  for (const task of sm.tasks.values()) {
    if (task.state === "queued" || task.state === "running") {
      active.set(task.owner, (active.get(task.owner) ?? 0) + 1);
    }
  }
  for (const owner of new Set([...active.keys(), ...sm.activeByOwner.keys()])) {
    if ((active.get(owner) ?? 0) !== sm.activeTasksOf(owner)) {
      problems.push(
        `owner ${owner} has ${sm.activeTasksOf(owner)} active tasks counted, ` +
          `actual ${active.get(owner) ?? 0}`,
      );
    }
  }
  const byOwner = new Map<string, Record<string, number>>();
  for (const task of sm.tasks.values()) {
    let counts = byOwner.get(task.owner);
    if (counts === undefined) byOwner.set(task.owner, counts = {});
    counts[task.state] = (counts[task.state] ?? 0) + 1;
  }
  for (const owner of new Set([...byOwner.keys(), ...sm.countsByOwner.keys()])) {
    for (const state of Object.keys(counted) as TaskState[]) {
      const actual = byOwner.get(owner)?.[state] ?? 0;
      const kept = sm.countsByOwner.get(owner)?.[state] ?? 0;
      if (actual !== kept) {
        problems.push(`owner ${owner} has ${kept} ${state} tasks counted, actual ${actual}`);
      }
    }
  }
  const byKind = new Map<string, Record<string, number>>();
  for (const task of sm.tasks.values()) {
    let counts = byKind.get(kindOf(task.spec));
    if (counts === undefined) byKind.set(kindOf(task.spec), counts = {});
    counts[task.state] = (counts[task.state] ?? 0) + 1;
  }
  if (byKind.size !== sm.countsByKind.size) {
    problems.push(`${sm.countsByKind.size} task kinds counted, actual ${byKind.size}`);
  }
  for (const [kind, counts] of byKind) {
    for (const state of Object.keys(counted) as TaskState[]) {
      const kept = sm.countsByKind.of(kind)[state];
      if ((counts[state] ?? 0) !== kept) {
        problems.push(
          `kind ${kind} has ${kept} ${state} tasks counted, actual ${counts[state] ?? 0}`,
        );
      }
    }
  }
  const sessions = new Map<string, number>();
  for (const { user } of sm.sessions.values()) sessions.set(user, (sessions.get(user) ?? 0) + 1);
  for (const [user, count] of sessions) {
    if (sm.sessionCountOf(user) !== count) {
      problems.push(
        `user ${user} has ${sm.sessionCountOf(user)} sessions counted, actual ${count}`,
      );
    }
  }
  const waiting = [...sm.tasks.values()].filter((t) => t.waitingFor.length > 0).length;
  if (sm.queue.size !== counted.queued - waiting) {
    problems.push(
      `queue holds ${sm.queue.size} tasks but ${
        counted.queued - waiting
      } are queued and not waiting`,
    );
  }
  for (const worker of sm.workers.values()) {
    if (worker.running.size > worker.slots + worker.prefetch) {
      problems.push(
        `worker ${worker.id} runs ${worker.running.size} tasks on ${worker.slots} slots`,
      );
    }
    for (const taskId of worker.running) {
      const task = sm.tasks.get(taskId);
      if (task?.state !== "running" || task.workerId !== worker.id) {
        problems.push(`worker ${worker.id} holds ${taskId}, which is not running on it`);
      }
    }
  }
  return problems;
}
