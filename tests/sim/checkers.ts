/**
 * The safety checkers, run after every step of every node: one leader per
 * term, committed entries never change and every node applies the same
 * sequence, nothing applied is lost by a crash, every acknowledged submission
 * is in the committed log, each task records at most one result and a final
 * state that never changes, task histories in strict Lamport order, and the
 * state machine's own invariants.
 * @module
 */
import type { RecoveredLog } from "../../orchestrator/storage/mod.ts";
import {
  findInvariantViolations,
  type LogEntry,
  type TaskRecord,
  TaskStateMachine,
} from "../../orchestrator/tasks/mod.ts";
import type { TaskEvent, TaskState } from "../../shared/protocol/messages.ts";
import { retryDelayMs } from "../../orchestrator/tasks/retry_backoff.ts";
import { DEFAULT_PRIORITY_AGING_MS } from "../../orchestrator/core/scheduling_round.ts";
import { kindOf } from "../../shared/protocol/messages.ts";
import { canonicalJson } from "./canonical_json.ts";
import type { Applied } from "./observed_log.ts";
import { SimViolation } from "./violation.ts";
import { historyOf } from "../../orchestrator/tasks/mod.ts";

interface CommittedEntry {
  term: number;
  json: string;
  /** The node that applied it first. */
  firstBy: string;
}

/** One acknowledged submission, as the client saw it. */
export interface Ack {
  client: string;
  owner: string;
  key: string;
  taskId: string;
}

const FINAL_EVENTS = new Set(["succeeded", "failed", "cancelled", "expired"]);

function ownerKey(owner: string, key: string): string {
  return `${owner}\0${key}`;
}

function violation(message: string): never {
  throw new SimViolation(message);
}

export class SafetyChecker {
  /** The committed log as nodes applied it; entry `i` at `[i - 1]`. */
  readonly #committed: CommittedEntry[] = [];
  /** A state machine fed the committed log once, from scratch: what every node must hold. */
  readonly reference = new TaskStateMachine();
  readonly #leaders = new Map<number, string>();
  /** Per node: the last index it applied (through an entry or a snapshot). */
  readonly #applied = new Map<string, number>();
  /** Per node: the last index it applied through an entry (so its disk has it). */
  readonly #appliedFromEntries = new Map<string, number>();
  readonly #finalStates = new Map<string, TaskState>();
  /** Index of the entry that created each task, by owner and key. */
  readonly #submittedAt = new Map<string, number>();
  readonly #acks = new Map<string, Ack>();
  /** Tasks the committed log removed (retention), with the index of the entry that did. */
  readonly #removedAt = new Map<string, number>();
  /** The retention age removals must respect (null: the default, a week, never reached). */
  readonly #keepFinishedForMs: number | null;
  stateChecks = 0;
  /** The first no-op of each term: its leader knew every entry before it. */
  readonly #noopOfTerm = new Map<number, number>();
  /** Tasks the committed log ever assigned (accepted or not). */
  readonly #everAssigned = new Set<string>();
  /** Failed attempts the committed log queued again (retry policies). */
  retriedAttempts = 0;
  /** Tasks that expired (not started within their queue timeout). */
  expiredTasks = 0;
  /** Tasks with dependencies (`--after`) that were assigned, so ran after them. */
  tasksWithDependencies = 0;
  /** Called with each entry as it joins the committed log, after the reference applied it. */
  readonly committedObservers: Array<(entry: LogEntry) => void> = [];

  constructor(options: { keepFinishedForMs?: number | null } = {}) {
    this.#keepFinishedForMs = options.keepFinishedForMs ?? null;
  }

  /** Tasks the committed log removed so far. */
  get removedCount(): number {
    return this.#removedAt.size;
  }

  /** Whether the committed log removed task `taskId` (so far). */
  wasRemoved(taskId: string): boolean {
    return this.#removedAt.has(taskId);
  }

  /** Terms that had a leader, with who led them. */
  get leaders(): ReadonlyMap<number, string> {
    return this.#leaders;
  }

  /** Length of the committed log seen so far. */
  get committedLength(): number {
    return this.#committed.length;
  }

  /** The term of committed entry `index`, if the committed log reaches it. */
  committedTermAt(index: number): number | undefined {
    return this.#committed[index - 1]?.term;
  }

  get acks(): ReadonlyMap<string, Ack> {
    return this.#acks;
  }

  /** At most one leader per term, over the whole run. */
  onLeader(nodeId: string, term: number): void {
    const known = this.#leaders.get(term);
    if (known === undefined) this.#leaders.set(term, nodeId);
    else if (known !== nodeId) violation(`two leaders in term ${term}: ${known} and ${nodeId}`);
  }

  /**
   * A node starts (first boot or restart) from what its disk recovered. Everything
   * it applied from entries before a crash must be recovered, and agree with the committed log.
   */
  onBoot(nodeId: string, recovered: RecoveredLog): void {
    const snapshotIndex = recovered.snapshot?.index ?? 0;
    if (recovered.snapshot !== null) {
      this.#checkSnapshot(nodeId, snapshotIndex, recovered.snapshot.term);
    }
    const mustCover = this.#appliedFromEntries.get(nodeId) ?? 0;
    const covered = Math.max(snapshotIndex, recovered.entries.at(-1)?.index ?? 0);
    if (covered < mustCover) {
      violation(
        `${nodeId} applied entries up to ${mustCover} before it crashed, but its disk recovered ` +
          `only up to ${covered}`,
      );
    }
    for (const entry of recovered.entries) {
      if (entry.index > mustCover) break;
      this.#checkAgainstCommitted(nodeId, entry, "recovered");
    }
    this.#applied.set(nodeId, snapshotIndex);
    this.#appliedFromEntries.set(nodeId, Math.max(snapshotIndex, mustCover));
  }

  /**
   * A node's disk was replaced by an empty one (moved aside after it refused to start, then
   * `--rejoin`): what it applied before is gone with the old disk, and it starts over from
   * nothing. Everything committed stays committed: it must apply the same entries again.
   */
  onDiskReplaced(nodeId: string): void {
    this.#applied.delete(nodeId);
    this.#appliedFromEntries.delete(nodeId);
  }

  /** What a node applied in one step, in order. */
  onApplied(nodeId: string, applied: readonly Applied[]): void {
    for (const item of applied) {
      const before = this.#applied.get(nodeId) ?? 0;
      if (item.kind === "snapshot") {
        if (item.index <= before) {
          violation(`${nodeId} installed a snapshot at ${item.index} after applying ${before}`);
        }
        this.#checkSnapshot(nodeId, item.index, item.term);
        this.#applied.set(nodeId, item.index);
        continue;
      }
      const entry = item.entry;
      if (entry.index !== before + 1) {
        violation(`${nodeId} applied entry ${entry.index} right after ${before}`);
      }
      this.#checkAgainstCommitted(nodeId, entry, "applied");
      this.#applied.set(nodeId, entry.index);
      this.#appliedFromEntries.set(nodeId, entry.index);
    }
  }

  /** Whole-state checks on one node's state machine (after it applied something). */
  checkState(nodeId: string, sm: TaskStateMachine): void {
    this.stateChecks += 1;
    const problems = findInvariantViolations(sm);
    if (problems.length > 0) {
      violation(
        `${nodeId}: state invariants broken at index ${sm.appliedIndex}: ${problems.join("; ")}`,
      );
    }
    for (const task of sm.tasks.values()) {
      const removedAt = this.#removedAt.get(task.id);
      if (removedAt !== undefined && sm.appliedIndex >= removedAt) {
        violation(`${nodeId}: task ${task.id}, removed at entry ${removedAt}, is back`);
      }
      let results = 0;
      const history = historyOf(task);
      for (let i = 0; i < history.length; i++) {
        if (FINAL_EVENTS.has(history[i].event)) results += 1;
        if (i > 0 && history[i].lamport <= history[i - 1].lamport) {
          violation(
            `${nodeId}: task ${task.id} history goes back in Lamport time at event ${i}: ` +
              `${history[i - 1].event}@${history[i - 1].lamport} then ${history[i].event}@${
                history[i].lamport
              }`,
          );
        }
      }
      if (results > 1) violation(`${nodeId}: task ${task.id} recorded ${results} results`);
      checkRetries(nodeId, task, history);
      const failedBy = task.result?.dependencyFailed;
      if (failedBy !== undefined) {
        const state = sm.tasks.get(failedBy)?.state;
        if (!task.after.includes(failedBy) || state === "succeeded" || state === "queued") {
          violation(`${nodeId}: task ${task.id} failed because ${failedBy} did, which is ${state}`);
        }
      }
      if (task.state === "queued" || task.state === "running") continue;
      const final = this.#finalStates.get(task.id);
      if (final === undefined) this.#finalStates.set(task.id, task.state);
      else if (final !== task.state) {
        violation(`${nodeId}: task ${task.id} is ${task.state}, but it was final as ${final}`);
      }
    }
  }

  /**
   * A task assigned has every task it runs after succeeded (or removed since, which only a final
   * task can be); one that failed as dependency_failed names one that failed or was cancelled.
   */
  #checkDependenciesMet(task: TaskRecord): void {
    for (const id of task.after) {
      const dependency = this.reference.tasks.get(id);
      if (dependency !== undefined && dependency.state !== "succeeded") {
        violation(
          `task ${task.id} was assigned while ${id}, which it runs after, is ${dependency.state}`,
        );
      }
    }
    if (task.after.length > 0) this.tasksWithDependencies += 1;
  }

  /**
   * Priorities among tasks queued together: when task A is assigned, no task B of the same queue
   * and the same kind with a higher priority waits since before the proposing leader's term began
   * (so that leader knew it), never assigned, due, and not waiting for others — unless A went
   * first for a reason of its own: its delay or retry pause ended (timed tasks go first in their
   * queue), or it waited past the aging time.
   */
  #checkPriorities(index: number, term: number, taskId: string, atMs: number): void {
    const a = this.reference.tasks.get(taskId);
    const noop = this.#noopOfTerm.get(term);
    if (a === undefined || a.state !== "queued" || noop === undefined) return;
    if (a.notBeforeMs > 0 || atMs - a.submittedAtMs >= DEFAULT_PRIORITY_AGING_MS) return;
    const kind = kindOf(a.spec);
    for (const id of this.reference.queue.inOrder(atMs)) {
      const b = this.reference.tasks.get(id)!;
      if (b.priority <= a.priority || b.queue !== a.queue || kindOf(b.spec) !== kind) continue;
      if (this.#everAssigned.has(id) || b.attempt !== 1 || b.after.length > 0) continue;
      if (b.notBeforeMs > atMs || (b.queueDeadlineMs > 0 && b.queueDeadlineMs < atMs)) continue;
      const submitted = this.#submittedAt.get(ownerKey(b.owner, b.idempotencyKey));
      if (submitted === undefined || submitted >= noop) continue;
      violation(
        `entry ${index}: task ${a.id} (priority ${a.priority}) was assigned while ${b.id} ` +
          `(priority ${b.priority}, same queue and kind, queued since entry ${submitted}) waited`,
      );
    }
  }

  /** A client received `submitOk`: the submission must be in the committed log, as that task. */
  onAck(ack: Ack): void {
    const k = ownerKey(ack.owner, ack.key);
    const earlier = this.#acks.get(k);
    if (earlier !== undefined && earlier.taskId !== ack.taskId) {
      violation(
        `key "${ack.key}" of ${ack.owner} was acknowledged as task ${earlier.taskId} and as ${ack.taskId}`,
      );
    }
    // Removed since it was committed (it finished and aged out before the reply arrived).
    if (
      this.#removedAt.has(ack.taskId) &&
      this.reference.idempotency.get(ack.owner, ack.key) === undefined
    ) {
      this.#acks.set(k, ack);
      return;
    }
    const committed = this.reference.idempotency.get(ack.owner, ack.key);
    if (committed === undefined) {
      violation(
        `${ack.client} got an acknowledgement for key "${ack.key}" that was never committed`,
      );
    }
    if (committed !== ack.taskId) {
      violation(
        `${ack.client} was told key "${ack.key}" is task ${ack.taskId}, but the log made it ${committed}`,
      );
    }
    this.#acks.set(k, ack);
  }

  /** Every acknowledged submission exists on `sm`, if `sm` has applied far enough to know it. */
  checkAcks(nodeId: string, sm: TaskStateMachine): void {
    for (const [k, ack] of this.#acks) {
      const index = this.#submittedAt.get(k)!;
      if (sm.appliedIndex < index) continue;
      const removedAt = this.#removedAt.get(ack.taskId);
      if (removedAt !== undefined && sm.appliedIndex >= removedAt) continue;
      const taskId = sm.idempotency.get(ack.owner, ack.key);
      if (taskId !== ack.taskId || sm.tasks.get(ack.taskId)?.owner !== ack.owner) {
        violation(
          `${nodeId} lost acknowledged task ${ack.taskId} (key "${ack.key}" of ${ack.owner}) ` +
            `at applied index ${sm.appliedIndex}`,
        );
      }
    }
  }

  /** The final state of a task, as far as any node applied it. */
  finalState(taskId: string): TaskState | undefined {
    return this.#finalStates.get(taskId);
  }

  /**
   * A committed removal (before the reference applies it): every task it removes is final and
   * older than the retention age by the proposer's clock. Inside that window a key keeps its
   * answer, so a retry inside it gets the same task.
   */
  #checkRemoval(index: number, command: Extract<LogEntry["command"], { type: "tasksRemoved" }>) {
    for (const id of command.taskIds) {
      const task = this.reference.tasks.get(id);
      if (task === undefined || task.finishedAtMs === null) continue; // skipped by every replica
      const ageMs = command.atMs - task.finishedAtMs;
      if (command.reason === "retention") {
        if (this.#keepFinishedForMs === null || ageMs < this.#keepFinishedForMs) {
          violation(
            `entry ${index} removes task ${id} ${ageMs} ms after it finished, inside the ` +
              `retention window (${this.#keepFinishedForMs ?? "the default"} ms)`,
          );
        }
      }
      this.#removedAt.set(id, index);
    }
  }

  #checkSnapshot(nodeId: string, index: number, term: number): void {
    const committed = this.#committed[index - 1];
    if (committed === undefined) {
      violation(
        `${nodeId} holds a snapshot at ${index}, past the committed log (${this.#committed.length})`,
      );
    }
    if (committed.term !== term) {
      violation(
        `${nodeId} holds a snapshot at ${index} of term ${term}; entry ${index} is of term ${committed.term}`,
      );
    }
  }

  #checkAgainstCommitted(nodeId: string, entry: LogEntry, how: string): void {
    const json = canonicalJson(entry.command);
    const committed = this.#committed[entry.index - 1];
    if (committed !== undefined) {
      if (committed.term !== entry.term || committed.json !== json) {
        violation(
          `${nodeId} ${how} entry ${entry.index} (term ${entry.term}: ${json}), but ` +
            `${committed.firstBy} applied (term ${committed.term}: ${committed.json})`,
        );
      }
      return;
    }
    if (how !== "applied") return; // a recovered entry past what anyone applied proves nothing
    if (entry.index !== this.#committed.length + 1) {
      violation(
        `${nodeId} applied entry ${entry.index}, but the committed log ends at ${this.#committed.length}`,
      );
    }
    this.#committed.push({ term: entry.term, json, firstBy: nodeId });
    if (entry.command.type === "tasksRemoved") this.#checkRemoval(entry.index, entry.command);
    if (entry.command.type === "noop" && !this.#noopOfTerm.has(entry.term)) {
      this.#noopOfTerm.set(entry.term, entry.index);
    }
    if (entry.command.type === "taskAssigned") {
      this.#checkPriorities(entry.index, entry.term, entry.command.taskId, entry.command.atMs);
      this.#everAssigned.add(entry.command.taskId);
    }
    const result = this.reference.apply(entry);
    const command = entry.command;
    if (
      command.type === "taskFinished" && command.outcome.status === "failed" &&
      result.type === "ok" && this.reference.tasks.get(command.taskId)?.state === "queued"
    ) this.retriedAttempts += 1;
    if (result.type === "expired") this.expiredTasks += result.expired;
    if (command.type === "taskAssigned" && result.type === "ok") {
      this.#checkDependenciesMet(this.reference.tasks.get(command.taskId)!);
    }
    for (const observe of this.committedObservers) observe(entry);
    if (
      entry.command.type === "taskSubmitted" && result.type === "submitted" && !result.duplicate
    ) {
      this.#submittedAt.set(
        ownerKey(entry.command.owner, entry.command.idempotencyKey),
        entry.index,
      );
    }
  }
}

/**
 * A task's retries as its history tells them: never more than its policy allows, never after a
 * result, each next attempt assigned no sooner than its backoff after the failure (by the stamps
 * of the leaders that decided both), and a task that failed with retries left failed only because
 * workers died under it too often (it gave up).
 */
function checkRetries(nodeId: string, task: TaskRecord, history: readonly TaskEvent[]): void {
  let retrying = 0;
  // Before any retry, the submission's own delay (a retry replaces it with its backoff's end).
  let notBeforeMs = task.retried === 0 ? task.notBeforeMs : 0;
  let ended = false;
  for (const event of history) {
    if (ended) {
      violation(`${nodeId}: task ${task.id} has a "${event.event}" event after its result`);
    }
    if (FINAL_EVENTS.has(event.event)) ended = true;
    if (event.event === "retrying") {
      if (task.retry === null) violation(`${nodeId}: task ${task.id} retried without a policy`);
      notBeforeMs = event.atMs + retryDelayMs(task.retry, retrying, task.seq);
      retrying += 1;
    }
    if (event.event === "assigned" && event.atMs < notBeforeMs) {
      violation(
        `${nodeId}: task ${task.id} attempt ${event.attempt} was assigned at ${event.atMs}, ` +
          `before its delay or backoff ended at ${notBeforeMs}`,
      );
    }
  }
  // A queue timeout: the first assignment came by the deadline, or the task expired unassigned.
  const firstAssigned = history.find((e) => e.event === "assigned");
  if (task.queueDeadlineMs > 0 && firstAssigned !== undefined && task.state === "expired") {
    violation(`${nodeId}: task ${task.id} expired after it was assigned`);
  }
  if (
    task.queueDeadlineMs > 0 && firstAssigned !== undefined && firstAssigned.attempt === 1 &&
    firstAssigned.atMs > task.queueDeadlineMs
  ) {
    violation(
      `${nodeId}: task ${task.id} was first assigned at ${firstAssigned.atMs}, after its queue ` +
        `deadline ${task.queueDeadlineMs}`,
    );
  }
  const expiredAt = history.find((e) => e.event === "expired")?.atMs;
  if (expiredAt !== undefined && expiredAt < task.queueDeadlineMs) {
    violation(`${nodeId}: task ${task.id} expired at ${expiredAt}, before its deadline`);
  }
  const allowed = task.retry?.retries ?? 0;
  if (retrying > allowed) {
    violation(
      `${nodeId}: task ${task.id} was retried ${retrying} times; its policy allows ${allowed}`,
    );
  }
  const gaveUp = task.result?.error?.startsWith("Gave up after") === true;
  // A task whose dependency failed never ran: there is nothing to retry.
  const neverRan = task.result?.dependencyFailed !== undefined;
  if (task.state === "failed" && retrying < allowed && !gaveUp && !neverRan) {
    violation(
      `${nodeId}: task ${task.id} failed after ${retrying} of ${allowed} retries: ${task.result?.error}`,
    );
  }
}
