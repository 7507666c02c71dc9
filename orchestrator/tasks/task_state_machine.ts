/**
 * The task state machine: the orchestrator's whole replicated state and the
 * only code that changes it. Pure and deterministic: `apply` depends on nothing
 * but the state and the entry, so every replica that applies the same log
 * reaches the same state (checked by the replay tests and the simulator).
 *
 * Commands that no longer fit the state (a result from an attempt that was
 * requeued, an assignment to a worker that left) are rejected, not asserted:
 * they are normal under concurrency and failures, and rejecting them the same
 * way on every replica keeps replicas identical.
 *
 * The state machine owns the state and applies task submissions and cancels itself; it hands the
 * account and session commands to `account_commands.ts`, the worker commands (workers joining
 * and leaving, and the attempts they run) to `worker_commands.ts` and the schedule commands to
 * `schedule_commands.ts`, which change the same state.
 * @module
 */
import { isoTime } from "../../shared/iso_time.ts";
import { isSameSubmission } from "./same_submission.ts";
import { removeTasks, wasRemoved } from "./task_removal.ts";
import { assert, assertNever } from "../../shared/assert.ts";
import {
  DEFAULT_QUEUE,
  kindOf,
  type Outcome,
  type TaskEvent,
  type TaskState,
} from "../../shared/protocol/messages.ts";
import type {
  ApplyResult,
  Command,
  LogEntry,
  Stamp,
  TaskCancelled,
  TasksExpired,
  TaskSubmitted,
} from "./commands.ts";
import type {
  ScheduleRecord,
  SessionRecord,
  Stats,
  TaskRecord,
  UserRecord,
  WorkerRecord,
} from "./records.ts";
import { AccountCommands } from "./account_commands.ts";
import { TaskMetrics } from "./task_metrics.ts";
import { KindCounts } from "./kind_counts.ts";
import { totalOfStates, zeroStateCounts } from "./state_counts.ts";
import { FinishedOrder } from "./finished_order.ts";
import { IdempotencyIndex } from "./idempotency_index.ts";
import { laneOf, TaskQueue } from "./task_queue.ts";
import { Dependencies, dependencyFailure, isFinalEvent, NO_TASKS } from "./dependencies.ts";
import { QueueDeadlines } from "./queue_deadlines.ts";
import { WorkerCommands } from "./worker_commands.ts";
import { ScheduleCommands } from "./schedule_commands.ts";
import { appendEvent, lastLamportOf } from "./task_history.ts";
import { OutcomePool } from "./_outcome_pool.ts";
import { OK, rejected } from "./_apply_results.ts";

export { ACCOUNT_CHANGED, LAST_ADMIN, SESSIONS_PER_USER_MAX } from "./account_commands.ts";
export { workerRuns } from "./worker_commands.ts";

const STATE_RANK: Record<TaskState, number> = {
  queued: 0,
  running: 1,
  succeeded: 2,
  failed: 2,
  cancelled: 2,
  expired: 2,
};

const NO_PLAN = { waitingFor: NO_TASKS, failed: null } as const;

/** The orchestrator's replicated state. */
export class TaskStateMachine {
  appliedIndex = 0;
  appliedTerm = 0;
  nextTaskSeq = 1;
  /** Highest Lamport time in any applied command; a restarted node's clock starts here. */
  maxLamport = 0;
  tasks = new Map<string, TaskRecord>();
  queue = new TaskQueue();
  workers = new Map<string, WorkerRecord>();
  sessions = new Map<string, SessionRecord>();
  users = new Map<string, UserRecord>();
  /**
   * Password hashes already applied from the cluster file, by account name: each applies once
   * (see AccountConfigured), whatever happened to the account since.
   */
  configuredAccounts = new Map<string, string[]>();
  /** Schedules by scheduleKey(owner, name) (schedule_commands.ts). */
  schedules = new Map<string, ScheduleRecord>();
  /** Every task id in submission order, for listing all tasks newest first. */
  taskOrder: string[] = [];
  /** (owner, idempotency key) -> task id. */
  idempotency = new IdempotencyIndex();
  /** Each owner's task ids in submission order, for `list`. */
  ownerTasks = new Map<string, string[]>();
  /** Each owner's tasks not yet in a final state (derived: rebuilt from the tasks on restore). */
  activeByOwner = new Map<string, number>();
  /**
   * Each owner's tasks per state (derived, like activeByOwner): `list` by state answers how many
   * match without scanning the owner's tasks.
   */
  countsByOwner = new Map<string, Record<TaskState, number>>();
  /** Tasks per kind and state (derived, like countsByOwner): `/metrics` reads it per scrape. */
  countsByKind = new KindCounts();
  /**
   * The order tasks finished in, overall and per owner (derived): what the retention sweep
   * removes first.
   */
  finishedOrder = new FinishedOrder();
  /** The worker that got the last assignment; round robin continues after it. */
  rrCursor: string | null = null;
  counts: Record<TaskState, number> = {
    queued: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    expired: 0,
  };
  stats: Stats = { retries: 0, staleReports: 0, duplicateSubmissions: 0 };
  /**
   * Observations for /metrics, local to this node (not in snapshots); a node that installs a
   * snapshot carries its own over to the restored state machine.
   */
  metrics = new TaskMetrics();
  loginsSinceSweep = 0;
  /**
   * One copy of each short string that recurs across tasks (owners; node and worker ids and
   * details live inside packed histories): every decoded command brings fresh copies, and a retained task would otherwise keep
   * a few dozen bytes of each for its whole life. Values are unchanged, so state is too.
   */
  readonly #strings = new Map<string, string>();
  /** Outcomes without output, one frozen copy of each. */
  readonly #outcomes = new OutcomePool();
  /** Queued tasks with a queue timeout, until first assigned (derived: rebuilt on restore). */
  queueDeadlines = new QueueDeadlines();
  /** Tasks waiting for others (`--after`), and what their end releases or fails. */
  readonly dependencies = new Dependencies({
    tasks: () => this.tasks,
    release: (task, stamp) => this.#enqueue(task, stamp.atMs),
    fail: (task, outcome, stamp) => this.#failUnrun(task, outcome, stamp),
  });
  /** Users and sessions: the account commands and the questions asked of them. */
  readonly #accounts = new AccountCommands(this);
  /** Workers and the attempts they run. */
  readonly #workerCommands = new WorkerCommands(this, {
    transition: (task, to) => this.#transition(task, to),
    shareOutcome: (outcome) => this.#outcomes.share(outcome),
    record: (task, event, stamp, workerId, detail) =>
      this.#record(task, event, stamp, workerId, detail),
  });
  /** Schedules: set, paused, removed, and their ticks fired (which submit tasks). */
  readonly #scheduleCommands = new ScheduleCommands(this, (command) => this.#submit(command));

  /**
   * Applies the next log entry.
   * @throws {InvariantError} if `entry` is not the next index (a bug in the caller).
   */
  apply(entry: LogEntry): ApplyResult {
    assert(
      entry.index === this.appliedIndex + 1,
      `apply out of order: entry ${entry.index} after ${this.appliedIndex}`,
    );
    assert(entry.term >= this.appliedTerm, "applied term went backwards");
    this.appliedIndex = entry.index;
    this.appliedTerm = entry.term;
    const command = entry.command;
    if ("lamport" in command && command.lamport > this.maxLamport) {
      this.maxLamport = command.lamport;
    }
    if (this.endedByLastApply.length > 0) this.endedByLastApply = [];
    if (this.eventsOfLastApply.length > 0) this.eventsOfLastApply = [];
    return this.#dispatch(command);
  }

  /**
   * Tasks that reached a final state while the last entry applied, beyond the one it names: the
   * dependents it failed, the tasks it expired (so the node answers their waiters at once).
   */
  endedByLastApply: string[] = [];

  /**
   * The task history events the last entry added, in the order it added them (the event stream
   * derives its task events from these: orchestrator/core/stream_events.ts).
   */
  eventsOfLastApply: { taskId: string; owner: string; event: TaskEvent }[] = [];

  #dispatch(command: Command): ApplyResult {
    switch (command.type) {
      case "userAdded":
      case "accountConfigured":
      case "userPasswordChanged":
      case "sessionOpened":
      case "sessionClosed":
        return this.#accounts.apply(command);
      case "userRemoved": {
        const result = this.#accounts.apply(command);
        // Its schedules go with it: they must not fire for nobody, nor for a later namesake.
        if (result.type === "ok") this.#removeSchedulesOf(command.name);
        return result;
      }
      case "taskSubmitted":
        return this.#submit(command);
      case "taskCancelled":
        return this.#cancel(command);
      case "taskAssigned":
      case "taskStarted":
      case "taskFinished":
      case "taskHandedBack":
      case "workerJoined":
      case "workerDraining":
      case "workerLost":
        return this.#workerCommands.apply(command);
      case "tasksRemoved":
        return removeTasks(this, command);
      case "tasksExpired":
        return this.#expire(command);
      case "scheduleSet":
      case "scheduleRemoved":
      case "schedulePaused":
      case "scheduleFired":
        return this.#scheduleCommands.apply(command);
      case "noop":
        return OK;
      default:
        return assertNever(command, "unknown command");
    }
  }

  #removeSchedulesOf(owner: string): void {
    for (const [key, schedule] of this.schedules) {
      if (schedule.owner === owner) this.schedules.delete(key);
    }
  }

  /** True when `hash` was already applied to account `name` from the cluster file. */
  isConfigured(name: string, hash: string): boolean {
    return this.#accounts.isConfigured(name, hash);
  }

  /** True when `name` is an admin and no other admin exists (it may not be removed or demoted). */
  isLastAdmin(name: string): boolean {
    return this.#accounts.isLastAdmin(name);
  }

  /** How many of `owner`'s tasks are in each state (a live record: callers must not change it). */
  ownerCounts(owner: string): Record<TaskState, number> {
    let counts = this.countsByOwner.get(owner);
    if (counts === undefined) this.countsByOwner.set(owner, counts = zeroStateCounts());
    return counts;
  }

  /** Tasks of `owner` kept in any state. */
  retainedTasksOf(owner: string): number {
    const counts = this.countsByOwner.get(owner);
    return counts === undefined ? 0 : totalOfStates(counts);
  }

  /** Finished tasks kept (succeeded, failed or cancelled). */
  get finishedCount(): number {
    return this.counts.succeeded + this.counts.failed + this.counts.cancelled +
      this.counts.expired;
  }

  /**
   * True for an id this cluster issued whose task was removed (by retention or a purge): `status`
   * says "expired" rather than "not found". Ids are issued in sequence, so no record of removed
   * tasks is needed.
   */
  isRemovedTask(taskId: string): boolean {
    return wasRemoved(this, taskId);
  }

  /** Schedules of `owner`. */
  schedulesOf(owner: string): number {
    return this.#scheduleCommands.countOf(owner);
  }

  /** Tasks of `owner` that are queued or running. */
  activeTasksOf(owner: string): number {
    return this.activeByOwner.get(owner) ?? 0;
  }

  /** The user a token hash belongs to, if the session exists and has not expired at `nowMs`. */
  sessionUser(tokenHash: string, nowMs: number): string | null {
    return this.#accounts.sessionUser(tokenHash, nowMs);
  }

  /** Live sessions of `user` (including expired ones not swept yet). */
  sessionCountOf(user: string): number {
    return this.#accounts.sessionCountOf(user);
  }

  /** Recounts sessions per user (after a restore or a sweep: the counts are derived state). */
  recountSessions(): void {
    this.#accounts.recountSessions();
  }

  /** The role of a session's user; null when the user no longer exists. */
  roleOf(user: string): "admin" | "user" | null {
    return this.#accounts.roleOf(user);
  }

  #submit(command: TaskSubmitted): ApplyResult {
    const existing = this.idempotency.get(command.owner, command.idempotencyKey);
    if (existing !== undefined) {
      const earlier = this.tasks.get(existing);
      assert(earlier !== undefined, `idempotency key names missing task ${existing}`);
      // Stripe-style: a key names one submission. The same key with another task is the caller's
      // mistake, and answering with the old task would hide it (it would wait on the wrong work).
      if (!isSameSubmission(earlier, command)) {
        return rejected(
          `idempotency key ${command.idempotencyKey} was used for task ${existing} with a different task; use another key`,
        );
      }
      this.stats.duplicateSubmissions += 1;
      return { type: "submitted", taskId: existing, duplicate: true };
    }
    const after = command.after ?? NO_TASKS;
    const refusal = after.length === 0 ? null : this.dependencies.refusal(command.owner, after);
    if (refusal !== null) return rejected(refusal);
    const plan = after.length === 0 ? NO_PLAN : this.dependencies.plan(after);
    const seq = this.nextTaskSeq++;
    const id = `t-${seq}`;
    assert(!this.tasks.has(id), `task id ${id} reused`);
    const task: TaskRecord = {
      id,
      seq,
      owner: this.#intern(command.owner),
      idempotencyKey: command.idempotencyKey,
      spec: command.spec,
      maxAttempts: command.maxAttempts,
      retry: command.retry ?? null,
      retried: 0,
      notBeforeMs: command.notBeforeMs ?? 0,
      priority: command.priority ?? 0,
      queue: command.queue === undefined ? DEFAULT_QUEUE : this.#intern(command.queue),
      after,
      waitingFor: plan.waitingFor,
      queueDeadlineMs: command.queueDeadlineMs ?? 0,
      state: "queued",
      attempt: 1,
      workerId: null,
      started: false,
      submittedAtMs: command.atMs,
      finishedAtMs: null,
      result: null,
      packedHistory: "",
    };
    this.#record(task, "submitted", command, null, null);
    this.tasks.set(id, task);
    this.taskOrder.push(id);
    this.idempotency.set(task.owner, task.idempotencyKey, id);
    let owned = this.ownerTasks.get(task.owner);
    if (owned === undefined) this.ownerTasks.set(task.owner, owned = []);
    owned.push(id);
    this.counts.queued += 1;
    this.activeByOwner.set(task.owner, this.activeTasksOf(task.owner) + 1);
    this.ownerCounts(task.owner).queued += 1;
    this.countsByKind.add(kindOf(task.spec), "queued");
    if (task.queueDeadlineMs > 0) this.queueDeadlines.add(id, task.queueDeadlineMs);
    if (plan.failed !== null) {
      this.#failUnrun(task, dependencyFailure(plan.failed.id, plan.failed.state), command);
    } else if (task.waitingFor.length > 0) this.dependencies.track(task);
    else this.#enqueue(task, command.atMs);
    return { type: "submitted", taskId: id, duplicate: false };
  }

  /**
   * Puts a queued task in the dispatch queue at `atMs`: in its lane, or with the timed tasks while
   * its not-before time is ahead. Every replica does the same: the time is the entry's stamp.
   */
  #enqueue(task: TaskRecord, atMs: number): void {
    const since = task.submittedAtMs;
    if (task.notBeforeMs > atMs) {
      this.queue.pushTimed(task.id, task.notBeforeMs, laneOf(task), since);
    } else this.queue.pushFresh(task.id, laneOf(task), since);
  }

  /** Ends a queued task that never ran (a dependency failed) with `outcome`. */
  #failUnrun(task: TaskRecord, outcome: Outcome, stamp: Stamp): void {
    this.queue.remove(task.id);
    this.queueDeadlines.delete(task.id);
    task.result = outcome;
    task.finishedAtMs = stamp.atMs;
    this.#transition(task, "failed");
    this.#record(task, "failed", stamp, null, outcome.error);
  }

  #cancel(command: TaskCancelled): ApplyResult {
    const task = this.tasks.get(command.taskId);
    if (task === undefined) return rejected("unknown task");
    if (task.state !== "queued" && task.state !== "running") {
      return rejected(`task is already ${task.state}`);
    }
    if (task.state === "queued") {
      this.queue.remove(task.id);
      this.queueDeadlines.delete(task.id);
      task.waitingFor = NO_TASKS;
    } else this.workers.get(task.workerId!)?.running.delete(task.id);
    task.finishedAtMs = command.atMs;
    this.#transition(task, "cancelled");
    this.#record(task, "cancelled", command, task.workerId, `by ${command.by}`);
    return OK;
  }

  /**
   * Ends as expired the named tasks still queued, never assigned, whose queue deadline passed by
   * the entry's time; skips the others, the same way on every replica.
   */
  #expire(command: TasksExpired): ApplyResult {
    let expired = 0;
    for (const id of command.taskIds) {
      const task = this.tasks.get(id);
      if (task === undefined || task.state !== "queued" || !this.queueDeadlines.has(id)) continue;
      if (task.queueDeadlineMs === 0 || task.queueDeadlineMs > command.atMs) continue;
      this.queue.remove(id);
      this.queueDeadlines.delete(id);
      task.waitingFor = NO_TASKS;
      task.finishedAtMs = command.atMs;
      this.#transition(task, "expired");
      const deadline = isoTime(task.queueDeadlineMs);
      this.#record(task, "expired", command, null, `not started by ${deadline} (--queue-timeout)`);
      expired += 1;
      this.metrics.expired += 1;
    }
    return { type: "expired", expired };
  }

  #transition(task: TaskRecord, to: TaskState): void {
    const from = task.state;
    assert(STATE_RANK[from] < 2, `task ${task.id} left final state ${from}`);
    assert(
      STATE_RANK[to] > STATE_RANK[from] || to === "queued",
      `task ${task.id} moved backwards: ${from} -> ${to}`,
    );
    this.counts[from] -= 1;
    this.counts[to] += 1;
    const owned = this.ownerCounts(task.owner);
    owned[from] -= 1;
    owned[to] += 1;
    this.countsByKind.move(kindOf(task.spec), from, to);
    task.state = to;
    if (STATE_RANK[to] === 2) {
      this.endedByLastApply.push(task.id);
      this.finishedOrder.add(task.owner, task.id);
      const left = this.activeTasksOf(task.owner) - 1;
      assert(left >= 0, `owner ${task.owner} has a negative count of active tasks`);
      if (left === 0) this.activeByOwner.delete(task.owner);
      else this.activeByOwner.set(task.owner, left);
    }
  }

  #record(
    task: TaskRecord,
    kind: TaskEvent["event"],
    stamp: Stamp,
    workerId: string | null,
    detail: string | null,
  ): void {
    // Histories stay in Lamport order even if a (buggy or hostile) leader stamped an event too
    // early: every replica moves it just after the last one, the same way.
    const last = lastLamportOf(task.packedHistory);
    const lamport = last === undefined ? stamp.lamport : Math.max(stamp.lamport, last + 1);
    if (lamport > this.maxLamport) this.maxLamport = lamport;
    const event: TaskEvent = {
      event: kind,
      lamport,
      node: stamp.node,
      atMs: stamp.atMs,
      attempt: task.attempt,
      workerId,
      detail,
    };
    task.packedHistory = appendEvent(task.packedHistory, event, task.submittedAtMs);
    this.eventsOfLastApply.push({ taskId: task.id, owner: task.owner, event });
    // A final event lets the tasks waiting for this one go on (or fail with it).
    if (isFinalEvent(kind)) this.dependencies.onFinal(task, stamp);
  }

  #intern(value: string): string {
    const known = this.#strings.get(value);
    if (known !== undefined) return known;
    // Bounded: ids are few, but details can vary; past the cap new strings are simply kept as is.
    if (value.length <= INTERN_MAX_CHARS && this.#strings.size < INTERN_MAX_STRINGS) {
      this.#strings.set(value, value);
    }
    return value;
  }
}

const INTERN_MAX_CHARS = 64;
const INTERN_MAX_STRINGS = 4096;
