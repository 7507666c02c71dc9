// Builds commands for the task state machine tests, and a seeded generator of long, plausible and
// implausible command logs; it holds no tests itself, so importing it registers none twice.
import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import type { Rng } from "../../shared/prng.ts";
import type { Outcome, RetryPolicy, TaskSpec } from "../../shared/protocol/messages.ts";
import type { ApplyResult, Command, LogEntry, Stamp } from "./commands.ts";
import { TaskStateMachine } from "./task_state_machine.ts";

export const SLEEP: TaskSpec = { kind: "sleep", description: "nap", durationMs: 1000 };
export const EXEC: TaskSpec = { kind: "exec", description: "ls", argv: ["ls"], timeoutMs: 5000 };
export const ORCHESTRATOR = "o1";

export function outcome(patch: Partial<Outcome> = {}): Outcome {
  return {
    status: "succeeded",
    exitCode: null,
    stdout: "",
    stderr: "",
    error: null,
    durationMs: 25,
    ...patch,
  };
}

/**
 * Drives a TaskStateMachine the way the orchestrator node does: every command gets the next log
 * index, a wall-clock time that only grows and a Lamport time after everything before it.
 * Defaults are taken from the current state, so a test states only what it varies.
 */
/** What a test submission may set (the rest: defaults). */
export interface SubmitOptions {
  owner?: string;
  key?: string;
  spec?: TaskSpec;
  maxAttempts?: number;
  retry?: RetryPolicy;
  notBeforeMs?: number;
  priority?: number;
  queue?: string;
  after?: string[];
  queueDeadlineMs?: number;
}

export class Harness {
  readonly sm: TaskStateMachine;
  readonly log: LogEntry[] = [];
  lamport: number;
  nowMs = 1_000_000;
  term = 1;

  constructor(sm = new TaskStateMachine()) {
    this.sm = sm;
    this.lamport = sm.maxLamport;
  }

  apply(command: Command): ApplyResult {
    const entry: LogEntry = { index: this.sm.appliedIndex + 1, term: this.term, command };
    this.log.push(entry);
    return this.sm.apply(entry);
  }

  /** A fresh stamp from `node`, after every earlier one. */
  stamp(node = ORCHESTRATOR): Stamp {
    this.nowMs += 10;
    this.lamport += 1;
    return { atMs: this.nowMs, lamport: this.lamport, node };
  }

  submit(options: SubmitOptions = {}): ApplyResult {
    return this.apply({
      type: "taskSubmitted",
      owner: options.owner ?? "alice",
      idempotencyKey: options.key ?? `key-${this.sm.nextTaskSeq}`,
      spec: options.spec ?? SLEEP,
      maxAttempts: options.maxAttempts ?? 3,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.notBeforeMs === undefined ? {} : { notBeforeMs: options.notBeforeMs }),
      ...(options.priority === undefined ? {} : { priority: options.priority }),
      ...(options.queue === undefined ? {} : { queue: options.queue }),
      ...(options.after === undefined ? {} : { after: options.after }),
      ...(options.queueDeadlineMs === undefined
        ? {}
        : { queueDeadlineMs: options.queueDeadlineMs }),
      ...this.stamp(),
    });
  }

  /** Submits a new task and returns its id. */
  submitTask(options: Omit<SubmitOptions, "key"> = {}): string {
    const result = this.submit(options);
    assert.equal(result.type, "submitted");
    assert.ok(result.type === "submitted" && !result.duplicate);
    return result.taskId;
  }

  join(
    workerId: string,
    options: {
      incarnation?: string;
      slots?: number;
      prefetch?: number;
      canExec?: boolean;
      kinds?: string[];
      queues?: string[];
    } = {},
  ): ApplyResult {
    return this.apply({
      type: "workerJoined",
      workerId,
      incarnation: options.incarnation ?? `${workerId}-i1`,
      slots: options.slots ?? 2,
      ...(options.prefetch === undefined ? {} : { prefetch: options.prefetch }),
      canExec: options.canExec ?? false,
      ...(options.kinds === undefined ? {} : { kinds: options.kinds }),
      ...(options.queues === undefined ? {} : { queues: options.queues }),
      ...this.stamp(),
    });
  }

  assign(
    taskId: string,
    workerId: string,
    options: { attempt?: number; incarnation?: string } = {},
  ): ApplyResult {
    return this.apply({
      type: "taskAssigned",
      taskId,
      workerId,
      attempt: options.attempt ?? this.sm.tasks.get(taskId)?.attempt ?? 1,
      incarnation: options.incarnation ?? this.sm.workers.get(workerId)?.incarnation ?? "none",
      ...this.stamp(),
    });
  }

  /** The worker and attempt a report names by default: the task's current ones. */
  #report(taskId: string, options: { workerId?: string; attempt?: number; lamport?: number }) {
    const task = this.sm.tasks.get(taskId);
    const workerId = options.workerId ?? task?.workerId ?? "nobody";
    const stamp = this.stamp(workerId);
    return {
      taskId,
      workerId,
      attempt: options.attempt ?? task?.attempt ?? 1,
      ...stamp,
      lamport: options.lamport ?? stamp.lamport,
    };
  }

  start(
    taskId: string,
    options: { workerId?: string; attempt?: number; lamport?: number } = {},
  ): ApplyResult {
    return this.apply({ type: "taskStarted", ...this.#report(taskId, options) });
  }

  finish(
    taskId: string,
    options: {
      workerId?: string;
      attempt?: number;
      lamport?: number;
      outcome?: Outcome;
      includesStart?: boolean;
    } = {},
  ): ApplyResult {
    const { includesStart, ...report } = options;
    return this.apply({
      type: "taskFinished",
      ...this.#report(taskId, report),
      outcome: options.outcome ?? outcome(),
      ...(includesStart === undefined ? {} : { includesStart }),
    });
  }

  handBack(
    taskId: string,
    options: { workerId?: string; attempt?: number; reason?: string } = {},
  ): ApplyResult {
    const task = this.sm.tasks.get(taskId);
    return this.apply({
      type: "taskHandedBack",
      taskId,
      workerId: options.workerId ?? task?.workerId ?? "nobody",
      attempt: options.attempt ?? task?.attempt ?? 1,
      reason: options.reason ?? "stopping",
      ...this.stamp(),
    });
  }

  /** Expires the named tasks, as the leader's expiry sweep would. */
  expire(taskIds: string[]): ApplyResult {
    return this.apply({ type: "tasksExpired", taskIds, ...this.stamp() });
  }

  /** Removes tasks as retention (or, with `by`, an admin's purge) would. */
  remove(taskIds: string[], by: string | null = null): ApplyResult {
    return this.apply({
      type: "tasksRemoved",
      taskIds,
      reason: by === null ? "retention" : "purge",
      by,
      ...this.stamp(),
    });
  }

  cancel(taskId: string, by = "alice"): ApplyResult {
    return this.apply({ type: "taskCancelled", taskId, by, ...this.stamp() });
  }

  drain(workerId: string, incarnation?: string): ApplyResult {
    return this.apply({
      type: "workerDraining",
      workerId,
      incarnation: incarnation ?? this.sm.workers.get(workerId)?.incarnation ?? "none",
      ...this.stamp(),
    });
  }

  lose(workerId: string, options: { incarnation?: string; reason?: string } = {}): ApplyResult {
    return this.apply({
      type: "workerLost",
      workerId,
      incarnation: options.incarnation ?? this.sm.workers.get(workerId)?.incarnation ?? "none",
      reason: options.reason ?? "missed heartbeats",
      ...this.stamp(),
    });
  }

  login(tokenHash: string, user: string, expiresAtMs: number): ApplyResult {
    this.nowMs += 10;
    return this.apply({ type: "sessionOpened", tokenHash, user, expiresAtMs, atMs: this.nowMs });
  }

  logout(tokenHash: string): ApplyResult {
    this.nowMs += 10;
    return this.apply({ type: "sessionClosed", tokenHash, atMs: this.nowMs });
  }
}

const OWNERS = ["alice", "bob", "carol"] as const;
const WORKERS = ["w1", "w2", "w3", "w4"] as const;
const HANDLER_SPECS: TaskSpec[] = [
  { kind: "handler", handler: "add", description: "", payload: '{"a":1,"b":2}' },
  { kind: "handler", handler: "resize", description: "pic", payload: "[1]", timeoutMs: 300 },
  { kind: "sleep", description: "nap", durationMs: 100, timeoutMs: 50 },
];

/**
 * A seeded log of `steps` commands, generated against a live state machine so most commands
 * name real tasks, attempts and workers, mixed with implausible ones: stale attempts, the wrong
 * worker or incarnation, unknown ids, late Lamport times, duplicate submissions. Orchestrator
 * stamps only grow, as the node guarantees; worker stamps may lag.
 * `onStep` runs after each command is applied, with its result.
 */
export function randomLog(
  seed: number,
  steps: number,
  onStep?: (h: Harness, result: ApplyResult, step: number) => void,
): LogEntry[] {
  const rng = createPrng(seed);
  const h = new Harness();
  const incarnations = new Map<string, number>();
  for (let step = 0; step < steps; step++) {
    if (rng.chance(0.01)) h.term += 1; // a new leader; the log's terms never go down
    const result = randomCommand(h, rng, incarnations);
    onStep?.(h, result, step);
  }
  return h.log;
}

function randomCommand(h: Harness, rng: Rng, incarnations: Map<string, number>): ApplyResult {
  const plausible = rng.chance(0.8);
  const roll = rng.next();
  const sm = h.sm;
  const running = () => [...sm.tasks.values()].filter((t) => t.state === "running");
  const anyTaskId = () =>
    sm.tasks.size === 0 || rng.chance(0.1) ? "t-404" : `t-${rng.int(1, sm.tasks.size)}`;
  const workerLag = () => (plausible ? undefined : h.lamport - rng.int(0, 4));
  if (roll < 0.2) {
    const key = rng.int(0, plausible ? 100_000 : 30);
    const owner = rng.pick(OWNERS);
    // The same key mostly asks for the same task (a duplicate), whose options come from the key.
    const same = createPrng(key);
    const kind = same.next();
    return h.submit({
      owner,
      key: `k${key}`,
      spec: kind < 0.25 ? EXEC : kind < 0.5 ? same.pick(HANDLER_SPECS) : SLEEP,
      maxAttempts: rng.chance(0.9) ? same.int(1, 3) : rng.int(1, 3),
      ...(same.chance(0.3)
        ? {
          retry: {
            retries: same.int(0, 3),
            backoff: same.pick(["exponential", "fixed"] as const),
            delayMs: same.pick([0, 10, 500]),
            maxDelayMs: 1000,
          },
        }
        : {}),
      ...(rng.chance(0.1) ? { notBeforeMs: h.nowMs + rng.int(-50, 200) } : {}),
      ...(same.chance(0.3) ? { priority: same.int(-2, 2) } : {}),
      ...(same.chance(0.2) ? { queue: same.pick(["default", "images", "mail"]) } : {}),
      ...(rng.chance(0.15) ? { queueDeadlineMs: h.nowMs + rng.int(-20, 300) } : {}),
      // Some run after one or two earlier tasks (of anyone: those of others are refused).
      ...(sm.nextTaskSeq > 3 && same.chance(0.2)
        ? {
          after: [
            ...new Set([
              `t-${rng.int(1, sm.nextTaskSeq - 1)}`,
              `t-${rng.int(1, sm.nextTaskSeq - 1)}`,
            ]),
          ],
        }
        : {}),
    });
  }
  if (roll < 0.4) {
    const queued = [...sm.queue.inOrder()];
    const workers = [...sm.workers.keys()];
    if (plausible && queued.length > 0 && workers.length > 0) {
      return h.assign(rng.pick(queued), rng.pick(workers));
    }
    return h.assign(anyTaskId(), rng.pick(WORKERS), {
      attempt: rng.int(1, 3),
      incarnation: rng.chance(0.5) ? `${rng.pick(WORKERS)}-i${rng.int(0, 3)}` : undefined,
    });
  }
  if (roll < 0.52) {
    const tasks = running();
    // Implausible: half the time the right attempt with a Lamport time that lags its history.
    if (tasks.length > 0 && (plausible || rng.chance(0.5))) {
      return h.start(rng.pick(tasks).id, { lamport: workerLag() });
    }
    return h.start(anyTaskId(), {
      workerId: rng.chance(0.5) ? rng.pick(WORKERS) : undefined,
      attempt: rng.chance(0.5) ? rng.int(1, 3) : undefined,
      lamport: workerLag(),
    });
  }
  if (roll < 0.66) {
    const tasks = running();
    const finished = outcome({
      status: rng.chance(0.7) ? "succeeded" : "failed",
      exitCode: rng.chance(0.5) ? rng.int(0, 3) : null,
      error: rng.chance(0.2) ? "boom" : null,
      durationMs: rng.int(0, 5000),
      ...(rng.chance(0.2) ? { value: rng.pick(['{"sum":3}', "null", '"x"']) } : {}),
      ...(rng.chance(0.1) ? { timedOut: true as const } : {}),
    });
    if (tasks.length > 0 && (plausible || rng.chance(0.5))) {
      return h.finish(rng.pick(tasks).id, { outcome: finished, lamport: workerLag() });
    }
    return h.finish(anyTaskId(), {
      workerId: rng.chance(0.5) ? rng.pick(WORKERS) : undefined,
      attempt: rng.chance(0.5) ? rng.int(1, 3) : undefined,
      lamport: workerLag(),
      outcome: finished,
    });
  }
  if (roll < 0.71) {
    if (rng.chance(0.2)) {
      const due = h.sm.queueDeadlines.due(h.nowMs + 100, 5);
      return h.expire(
        due.length > 0 && plausible
          ? due
          : [anyTaskId()].filter((id) => id !== "t-404").concat("t-1"),
      );
    }
    return h.cancel(anyTaskId(), rng.pick(OWNERS));
  }
  if (roll < 0.76) {
    const tasks = running();
    if (plausible && tasks.length > 0) return h.handBack(rng.pick(tasks).id);
    return h.handBack(anyTaskId(), {
      workerId: rng.chance(0.5) ? rng.pick(WORKERS) : undefined,
      attempt: rng.chance(0.5) ? rng.int(1, 3) : undefined,
    });
  }
  if (roll < 0.84) {
    const workerId = rng.pick(WORKERS);
    // Mostly a new process; sometimes the same one re-registering after a reconnect.
    const current = incarnations.get(workerId) ?? 0;
    const next = rng.chance(0.7) || current === 0 ? current + 1 : current;
    incarnations.set(workerId, next);
    return h.join(workerId, {
      incarnation: `${workerId}-i${next}`,
      slots: rng.int(1, 3),
      canExec: rng.chance(0.5),
      ...(rng.chance(0.5) ? { kinds: rng.chance(0.5) ? ["add"] : ["add", "resize"] } : {}),
      ...(rng.chance(0.3) ? { queues: rng.chance(0.5) ? ["images"] : ["default", "mail"] } : {}),
    });
  }
  if (roll < 0.87) {
    const workerId = rng.pick(WORKERS);
    return h.drain(workerId, plausible ? undefined : `${workerId}-i${rng.int(0, 3)}`);
  }
  if (roll < 0.91) {
    const workerId = rng.pick(WORKERS);
    return h.lose(workerId, {
      incarnation: plausible ? undefined : `${workerId}-i${rng.int(0, 3)}`,
    });
  }
  if (roll < 0.96) {
    return h.login(`hash-${rng.int(0, 20)}`, rng.pick(OWNERS), h.nowMs + rng.int(-100, 10_000));
  }
  if (roll < 0.985) return h.logout(`hash-${rng.int(0, 20)}`);
  if (roll < 0.99) {
    // Retention or a purge: mostly finished tasks, sometimes active or unknown ones (skipped).
    const finished = [...sm.finishedOrder.all.live((id) => sm.tasks.has(id))];
    const ids = Array.from(
      { length: rng.int(1, 4) },
      () => plausible && finished.length > 0 ? rng.pick(finished) : anyTaskId(),
    );
    return h.remove(ids, rng.chance(0.5) ? null : rng.pick(OWNERS));
  }
  h.nowMs += 10;
  return h.apply({ type: "noop", atMs: h.nowMs });
}
