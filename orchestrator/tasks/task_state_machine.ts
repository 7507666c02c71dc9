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
 * @module
 */
import { assert, assertNever } from "../../shared/assert.ts";
import type { TaskEvent, TaskSpec, TaskState } from "../../shared/protocol/messages.ts";
import type {
  AccountConfigured,
  ApplyResult,
  Command,
  LogEntry,
  Stamp,
  TaskAssigned,
  TaskCancelled,
  TaskFinished,
  TaskHandedBack,
  TaskStarted,
  TaskSubmitted,
  WorkerDraining,
  WorkerJoined,
  WorkerLost,
} from "./commands.ts";
import type { SessionRecord, Stats, TaskRecord, UserRecord, WorkerRecord } from "./records.ts";
import { IdempotencyIndex } from "./idempotency_index.ts";
import { TaskQueue } from "./task_queue.ts";

/**
 * Live sessions one user may hold; a login beyond it closes that user's oldest session. Bounds
 * what one account's repeated logins can make every replica keep.
 */
export const SESSIONS_PER_USER_MAX = 100;

/** Expired sessions are swept after this many logins, so the session table stays bounded. */
const SESSION_SWEEP_EVERY = 1024;

const STATE_RANK: Record<TaskState, number> = {
  queued: 0,
  running: 1,
  succeeded: 2,
  failed: 2,
  cancelled: 2,
};

const OK: ApplyResult = { type: "ok" };
/** Why a session whose password was checked against a replaced hash does not open. */
export const ACCOUNT_CHANGED = "the account changed while its password was checked";
/** Why a command that would leave the cluster with no admin is rejected. */
export const LAST_ADMIN = "it would leave the cluster without an admin";
/** Cluster-file password hashes remembered per account (see AccountConfigured). */
const CONFIGURED_HASHES_KEPT = 8;

function rejected(reason: string): ApplyResult {
  return { type: "rejected", reason };
}

/** True when a submission asks for the very task `task` was created from (field by field, so encoding order does not matter). */
function isSameSubmission(
  task: TaskRecord,
  command: { spec: TaskSpec; maxAttempts: number },
): boolean {
  if (task.maxAttempts !== command.maxAttempts) return false;
  const a = task.spec;
  const b = command.spec;
  if (a.description !== b.description) return false;
  switch (a.kind) {
    case "sleep":
      return b.kind === "sleep" && a.durationMs === b.durationMs;
    case "exec":
      return b.kind === "exec" && a.timeoutMs === b.timeoutMs && a.argv.length === b.argv.length &&
        a.argv.every((arg, i) => arg === b.argv[i]);
    default:
      return assertNever(a, "unknown task kind");
  }
}

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
  /** Sessions per user (derived from `sessions`; see SESSIONS_PER_USER_MAX). */
  readonly #sessionCounts = new Map<string, number>();
  /**
   * Password hashes already applied from the cluster file, by account name: each applies once
   * (see AccountConfigured), whatever happened to the account since.
   */
  configuredAccounts = new Map<string, string[]>();
  /** Every task id in submission order, for listing all tasks newest first. */
  taskOrder: string[] = [];
  /** (owner, idempotency key) -> task id. */
  idempotency = new IdempotencyIndex();
  /** Each owner's task ids in submission order, for `list`. */
  ownerTasks = new Map<string, string[]>();
  /** Each owner's tasks not yet in a final state (derived: rebuilt from the tasks on restore). */
  activeByOwner = new Map<string, number>();
  /** The worker that got the last assignment; round robin continues after it. */
  rrCursor: string | null = null;
  counts: Record<TaskState, number> = {
    queued: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
  };
  stats: Stats = { retries: 0, staleReports: 0, duplicateSubmissions: 0 };
  loginsSinceSweep = 0;
  /**
   * One copy of each short string that recurs across tasks (node and worker ids, owners, outcome
   * details): every decoded command brings fresh copies, and a retained task would otherwise keep
   * a few dozen bytes of each for its whole life. Values are unchanged, so state is too.
   */
  readonly #strings = new Map<string, string>();

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
    return this.#dispatch(command);
  }

  #dispatch(command: Command): ApplyResult {
    switch (command.type) {
      case "userAdded":
        if (this.users.has(command.name)) return rejected("user exists");
        this.users.set(command.name, {
          name: command.name,
          role: command.role,
          passwordHash: command.passwordHash,
          createdAtMs: command.atMs,
        });
        return OK;
      case "accountConfigured":
        return this.#configureAccount(command);
      case "userPasswordChanged": {
        const user = this.users.get(command.name);
        if (user === undefined) return rejected("no such user");
        // A client's retry of a change already applied (its reply was lost): done, once.
        if (command.changeId !== undefined && user.lastChangeId === command.changeId) return OK;
        if (
          command.expectedPasswordHash !== undefined &&
          user.passwordHash !== command.expectedPasswordHash
        ) {
          return rejected("the password was changed meanwhile; check the current one again");
        }
        user.passwordHash = command.passwordHash;
        if (command.changeId !== undefined) user.lastChangeId = command.changeId;
        else delete user.lastChangeId;
        this.#revokeSessionsOf(command.name);
        return OK;
      }
      case "userRemoved":
        if (!this.users.has(command.name)) return rejected("no such user");
        if (this.isLastAdmin(command.name)) return rejected(LAST_ADMIN);
        this.users.delete(command.name);
        this.#revokeSessionsOf(command.name);
        return OK;
      case "sessionOpened":
        if (
          command.passwordHash !== undefined &&
          this.users.get(command.user)?.passwordHash !== command.passwordHash
        ) {
          return rejected(ACCOUNT_CHANGED);
        }
        this.#closeSession(command.tokenHash);
        this.sessions.set(command.tokenHash, {
          user: command.user,
          issuedAtMs: command.atMs,
          expiresAtMs: command.expiresAtMs,
        });
        this.#sessionCounts.set(command.user, this.sessionCountOf(command.user) + 1);
        if (this.sessionCountOf(command.user) > SESSIONS_PER_USER_MAX) {
          this.#closeOldestSessionOf(command.user);
        }
        this.#maybeSweepSessions(command.atMs);
        return OK;
      case "sessionClosed":
        return this.#closeSession(command.tokenHash) ? OK : rejected("no such session");
      case "taskSubmitted":
        return this.#submit(command);
      case "taskAssigned":
        return this.#assign(command);
      case "taskStarted":
        return this.#start(command);
      case "taskFinished":
        return this.#finish(command);
      case "taskCancelled":
        return this.#cancel(command);
      case "taskHandedBack":
        return this.#handBack(command);
      case "workerJoined":
        return this.#join(command);
      case "workerDraining":
        return this.#drain(command);
      case "workerLost":
        return this.#lose(command);
      case "noop":
        return OK;
      default:
        return assertNever(command, "unknown command");
    }
  }

  /** True when `hash` was already applied to account `name` from the cluster file. */
  isConfigured(name: string, hash: string): boolean {
    return this.configuredAccounts.get(name)?.includes(hash) ?? false;
  }

  #configureAccount(command: AccountConfigured): ApplyResult {
    const { name, role, passwordHash } = command;
    if (this.isConfigured(name, passwordHash)) return rejected("already applied");
    const user = this.users.get(name);
    if (user !== undefined && role !== "admin" && this.isLastAdmin(name)) {
      // Not recorded as applied: a corrected cluster file may still apply it later.
      return rejected(LAST_ADMIN);
    }
    const applied = this.configuredAccounts.get(name) ?? [];
    // Bounded: only the newest hashes matter (older cluster files on lagging orchestrators).
    this.configuredAccounts.set(name, [...applied, passwordHash].slice(-CONFIGURED_HASHES_KEPT));
    if (user === undefined) {
      this.users.set(name, { name, role, passwordHash, createdAtMs: command.atMs });
      return OK;
    }
    user.role = role;
    if (user.passwordHash !== passwordHash) {
      user.passwordHash = passwordHash;
      this.#revokeSessionsOf(name);
    }
    return OK;
  }

  /** True when `name` is an admin and no other admin exists (it may not be removed or demoted). */
  isLastAdmin(name: string): boolean {
    if (this.users.get(name)?.role !== "admin") return false;
    for (const user of this.users.values()) {
      if (user.role === "admin" && user.name !== name) return false;
    }
    return true;
  }

  /** Tasks of `owner` that are queued or running. */
  activeTasksOf(owner: string): number {
    return this.activeByOwner.get(owner) ?? 0;
  }

  /** The user a token hash belongs to, if the session exists and has not expired at `nowMs`. */
  sessionUser(tokenHash: string, nowMs: number): string | null {
    const session = this.sessions.get(tokenHash);
    if (session === undefined || session.expiresAtMs <= nowMs) return null;
    return session.user;
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
      state: "queued",
      attempt: 1,
      workerId: null,
      started: false,
      submittedAtMs: command.atMs,
      finishedAtMs: null,
      result: null,
      history: [],
    };
    this.#record(task, "submitted", command, null, null);
    this.tasks.set(id, task);
    this.taskOrder.push(id);
    this.idempotency.set(task.owner, task.idempotencyKey, id);
    let owned = this.ownerTasks.get(task.owner);
    if (owned === undefined) this.ownerTasks.set(task.owner, owned = []);
    owned.push(id);
    this.queue.pushFresh(id);
    this.counts.queued += 1;
    this.activeByOwner.set(task.owner, this.activeTasksOf(task.owner) + 1);
    return { type: "submitted", taskId: id, duplicate: false };
  }

  #assign(command: TaskAssigned): ApplyResult {
    const task = this.tasks.get(command.taskId);
    if (task === undefined) return rejected("unknown task");
    if (task.state !== "queued") return rejected(`task is ${task.state}`);
    if (task.attempt !== command.attempt) return rejected("stale attempt");
    const worker = this.workers.get(command.workerId);
    if (worker === undefined || worker.incarnation !== command.incarnation) {
      return rejected("worker incarnation is gone");
    }
    if (worker.status !== "alive") return rejected("worker is draining");
    if (worker.running.size >= worker.slots) return rejected("worker has no free slot");
    if (task.spec.kind === "exec" && !worker.canExec) return rejected("worker does not allow exec");
    if (task.spec.kind === "exec" && !workerRuns(worker, task.spec.argv[0])) {
      return rejected("worker does not allow this program");
    }
    this.queue.remove(task.id);
    worker.running.add(task.id);
    task.workerId = worker.id;
    task.started = false;
    this.#transition(task, "running");
    this.rrCursor = worker.id;
    this.#record(task, "assigned", command, worker.id, null);
    return OK;
  }

  #start(command: TaskStarted): ApplyResult {
    const task = this.#currentAttempt(command);
    if (task === null) return this.#stale();
    if (task.started) return OK; // a duplicate report of the same start
    if (!this.#isAfterLastEvent(task, command)) return rejected("Lamport time not after history");
    task.started = true;
    this.#record(task, "started", command, command.workerId, null);
    return OK;
  }

  #finish(command: TaskFinished): ApplyResult {
    const task = this.#currentAttempt(command);
    if (task === null) return this.#stale();
    if (!this.#isAfterLastEvent(task, command)) return rejected("Lamport time not after history");
    const worker = this.workers.get(command.workerId);
    assert(worker !== undefined, `running task ${task.id} on unknown worker ${command.workerId}`);
    worker.running.delete(task.id);
    worker.completed += 1;
    task.result = command.outcome;
    task.finishedAtMs = command.atMs;
    this.#transition(task, command.outcome.status);
    this.#record(task, command.outcome.status, command, command.workerId, describeOutcome(command));
    return OK;
  }

  #cancel(command: TaskCancelled): ApplyResult {
    const task = this.tasks.get(command.taskId);
    if (task === undefined) return rejected("unknown task");
    if (task.state !== "queued" && task.state !== "running") {
      return rejected(`task is already ${task.state}`);
    }
    if (task.state === "queued") this.queue.remove(task.id);
    else this.workers.get(task.workerId!)?.running.delete(task.id);
    task.finishedAtMs = command.atMs;
    this.#transition(task, "cancelled");
    this.#record(task, "cancelled", command, task.workerId, `by ${command.by}`);
    return OK;
  }

  #handBack(command: TaskHandedBack): ApplyResult {
    const task = this.#currentAttempt(command);
    if (task === null) return this.#stale();
    this.#requeue(task, `handed back by ${command.workerId}: ${command.reason}`, command);
    return OK;
  }

  #join(command: WorkerJoined): ApplyResult {
    const existing = this.workers.get(command.workerId);
    if (existing !== undefined) {
      // A re-registration of the same process after a reconnect changes nothing.
      if (existing.incarnation === command.incarnation) return OK;
      this.#removeWorker(existing, "replaced by a new incarnation of the same worker", command);
    }
    this.workers.set(command.workerId, {
      id: command.workerId,
      incarnation: command.incarnation,
      slots: command.slots,
      canExec: command.canExec,
      execAllow: command.execAllow ?? null,
      status: "alive",
      joinedAtMs: command.atMs,
      running: new Set(),
      completed: 0,
    });
    return OK;
  }

  #drain(command: WorkerDraining): ApplyResult {
    const worker = this.workers.get(command.workerId);
    if (worker === undefined || worker.incarnation !== command.incarnation) {
      return rejected("worker incarnation is gone");
    }
    worker.status = "draining";
    return OK;
  }

  #lose(command: WorkerLost): ApplyResult {
    const worker = this.workers.get(command.workerId);
    if (worker === undefined || worker.incarnation !== command.incarnation) {
      return rejected("worker incarnation is gone");
    }
    this.#removeWorker(worker, command.reason, command);
    return OK;
  }

  #removeWorker(worker: WorkerRecord, reason: string, stamp: Stamp): void {
    // Sorted so every replica requeues in the same order whatever the set's history.
    const running = [...worker.running].sort((a, b) =>
      this.tasks.get(a)!.seq - this.tasks.get(b)!.seq
    );
    for (const taskId of running) {
      this.#requeue(this.tasks.get(taskId)!, `worker ${worker.id} ${reason}`, stamp);
    }
    this.workers.delete(worker.id);
  }

  /** Puts a running task back in the queue as a new attempt, or fails it past its attempt budget. */
  #requeue(task: TaskRecord, reason: string, stamp: Stamp): void {
    assert(task.state === "running", `requeue of ${task.state} task ${task.id}`);
    this.workers.get(task.workerId!)?.running.delete(task.id);
    const workerId = task.workerId;
    if (task.attempt >= task.maxAttempts) {
      task.result = {
        status: "failed",
        exitCode: null,
        stdout: "",
        stderr: "",
        error: `Gave up after ${task.attempt} attempt(s): ${reason}`,
        durationMs: 0,
      };
      task.finishedAtMs = stamp.atMs;
      this.#transition(task, "failed");
      this.#record(task, "failed", stamp, workerId, task.result.error);
      return;
    }
    task.attempt += 1;
    task.workerId = null;
    task.started = false;
    this.#transition(task, "queued");
    this.queue.pushRetry(task.id);
    this.stats.retries += 1;
    this.#record(task, "requeued", stamp, workerId, reason);
  }

  /** The running task whose current attempt `ref` names, or null when `ref` is stale. */
  #currentAttempt(
    ref: { taskId: string; attempt: number; workerId: string },
  ): TaskRecord | null {
    const task = this.tasks.get(ref.taskId);
    if (task === undefined || task.state !== "running") return null;
    if (task.attempt !== ref.attempt || task.workerId !== ref.workerId) return null;
    return task;
  }

  #stale(): ApplyResult {
    this.stats.staleReports += 1;
    return rejected("stale attempt");
  }

  #isAfterLastEvent(task: TaskRecord, stamp: Stamp): boolean {
    const last = task.history[task.history.length - 1];
    return last === undefined || stamp.lamport > last.lamport;
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
    task.state = to;
    if (STATE_RANK[to] === 2) {
      const left = this.activeTasksOf(task.owner) - 1;
      assert(left >= 0, `owner ${task.owner} has a negative count of active tasks`);
      if (left === 0) this.activeByOwner.delete(task.owner);
      else this.activeByOwner.set(task.owner, left);
    }
  }

  #record(
    task: TaskRecord,
    event: TaskEvent["event"],
    stamp: Stamp,
    workerId: string | null,
    detail: string | null,
  ): void {
    // Histories stay in Lamport order even if a (buggy or hostile) leader stamped an event too
    // early: every replica moves it just after the last one, the same way.
    const last = task.history[task.history.length - 1];
    const lamport = last === undefined ? stamp.lamport : Math.max(stamp.lamport, last.lamport + 1);
    if (lamport > this.maxLamport) this.maxLamport = lamport;
    task.history.push({
      event,
      lamport,
      node: this.#intern(stamp.node),
      atMs: stamp.atMs,
      attempt: task.attempt,
      workerId: workerId === null ? null : this.#intern(workerId),
      detail: detail === null ? null : this.#intern(detail),
    });
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

  #revokeSessionsOf(user: string): void {
    for (const [hash, session] of this.sessions) {
      if (session.user === user) this.sessions.delete(hash);
    }
    this.#sessionCounts.delete(user);
  }

  /** Live sessions of `user` (including expired ones not swept yet). */
  sessionCountOf(user: string): number {
    return this.#sessionCounts.get(user) ?? 0;
  }

  /** Recounts sessions per user (after a restore or a sweep: the counts are derived state). */
  recountSessions(): void {
    this.#sessionCounts.clear();
    for (const { user } of this.sessions.values()) {
      this.#sessionCounts.set(user, this.sessionCountOf(user) + 1);
    }
  }

  #closeSession(tokenHash: string): boolean {
    const session = this.sessions.get(tokenHash);
    if (session === undefined) return false;
    this.sessions.delete(tokenHash);
    const left = this.sessionCountOf(session.user) - 1;
    if (left > 0) this.#sessionCounts.set(session.user, left);
    else this.#sessionCounts.delete(session.user);
    return true;
  }

  /** Sessions are kept in opening order, so the first one of `user` found is its oldest. */
  #closeOldestSessionOf(user: string): void {
    for (const [hash, session] of this.sessions) {
      if (session.user === user) {
        this.#closeSession(hash);
        return;
      }
    }
  }

  /** The role of a session's user; null when the user no longer exists. */
  roleOf(user: string): "admin" | "user" | null {
    return this.users.get(user)?.role ?? null;
  }

  #maybeSweepSessions(nowMs: number): void {
    this.loginsSinceSweep += 1;
    if (this.loginsSinceSweep < SESSION_SWEEP_EVERY) return;
    this.loginsSinceSweep = 0;
    for (const [hash, session] of this.sessions) {
      if (session.expiresAtMs <= nowMs) this.sessions.delete(hash);
    }
    this.recountSessions();
  }
}

/** Whether an exec worker runs `program` (its allow-list, if any, names it exactly). */
export function workerRuns(
  worker: { canExec: boolean; execAllow: readonly string[] | null },
  program: string,
): boolean {
  return worker.canExec && (worker.execAllow === null || worker.execAllow.includes(program));
}

const INTERN_MAX_CHARS = 64;
const INTERN_MAX_STRINGS = 4096;

function describeOutcome(command: TaskFinished): string {
  const { outcome } = command;
  if (outcome.error !== null) return outcome.error;
  if (outcome.exitCode !== null) return `exit code ${outcome.exitCode}`;
  return `in ${outcome.durationMs} ms`;
}
