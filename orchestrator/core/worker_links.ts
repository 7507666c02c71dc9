/**
 * The leader's links to its workers: which connection carries which worker incarnation, worker
 * messages (registration, started, finished, hand-back, drain) turned into proposals, the
 * reconciliation when a registration completes, and messages to workers. A new leader holds
 * worker messages (bounded) until it has applied what earlier terms committed.
 * @module
 */
import { finishKey, type PendingFinish } from "./in_flight_proposals.ts";
import { assert, assertNever } from "../../shared/assert.ts";
import type {
  OrchestratorToWorker,
  TaskRef,
  Unstamped,
  WorkerToOrchestrator,
} from "../../shared/protocol/messages.ts";
import type { Command, Stamp, TaskRecord, TaskStateMachine, WorkerRecord } from "../tasks/mod.ts";
import type { FailureDetector } from "./failure_detector.ts";
import type { LiveOutput } from "./live_output.ts";
import type { ConnId } from "./node_io.ts";
import type { NodeClock } from "./node_clock.ts";
import type { NodeOutput } from "./node_output.ts";
import type { PendingReplies } from "./pending_replies.ts";
import type { RequestTurns } from "./request_turns.ts";

/** Worker messages a new leader holds while it catches up with the previous leader's entries. */
const MAX_DEFERRED_WORKER_MESSAGES = 100_000;

/** A worker's connection, as the incarnation that registered on it. */
export interface WorkerLink {
  conn: ConnId;
  incarnation: string;
}

/** What the links need from the node. */
export interface WorkerLinkContext {
  out: NodeOutput;
  clock: NodeClock;
  options: { heartbeatIntervalMs: number; missedHeartbeats: number };
  detector: FailureDetector;
  pending: PendingReplies;
  /** Results proposed but not yet applied: finishKey(task, attempt, worker) -> worker id. */
  proposedFinishes: Map<string, PendingFinish>;
  /** Assignments proposed but not yet applied: task id -> worker id. */
  proposedAssignments: Map<string, string>;
  /** Workers whose loss is proposed but not yet applied. */
  proposedLosses: Set<string>;
  sm(): TaskStateMachine;
  nowMs(): number;
  isLeader(): boolean;
  /** A leader that has applied everything committed before its term. */
  isReady(): boolean;
  propose(command: Command): number | null;
  stamp(): Stamp;
  /** True when this node leads; otherwise replies "not leader". */
  requireLeader(conn: ConnId, requestId: number | null): boolean;
  /** Turns for the reports whose refusal must wait for a read barrier (see RequestTurns). */
  turns: RequestTurns;
  /** Running attempts' output as workers send it (the leader's alone, not replicated). */
  liveOutput: LiveOutput;
}

export class WorkerLinks {
  readonly #ctx: WorkerLinkContext;
  readonly #connWorker = new Map<ConnId, string>();
  readonly #workerConn = new Map<string, WorkerLink>();
  /** Workers that asked to drain; their next disconnect means they left. */
  readonly #drainRequested = new Set<string>();
  /** Worker messages received before this leader was ready, replayed once it is. */
  #deferredWorkerMessages: Array<{ conn: ConnId; message: WorkerToOrchestrator }> = [];

  constructor(ctx: WorkerLinkContext) {
    this.#ctx = ctx;
  }

  /** A worker's message as it arrives: refused when its Lamport time is implausibly far ahead. */
  receive(conn: ConnId, message: WorkerToOrchestrator): void {
    const { clock } = this.#ctx;
    if (clock.isImplausible(message.lamport)) {
      // An honest worker's clock follows ours; this one would exhaust the cluster's clocks.
      this.#ctx.out.sendError(
        conn,
        null,
        "bad_request",
        `Rejected ${message.type}: Lamport time ${message.lamport} is implausibly far ahead`,
      );
      return;
    }
    clock.receive(message.lamport);
    this.onMessage(conn, message);
  }

  /** The connection worker `workerId` registered on, if it is connected. */
  linkOf(workerId: string): WorkerLink | undefined {
    return this.#workerConn.get(workerId);
  }

  /** True for a worker connected as its current incarnation that has not asked to drain. */
  isAvailable(worker: WorkerRecord): boolean {
    return this.#workerConn.get(worker.id)?.incarnation === worker.incarnation &&
      !this.#drainRequested.has(worker.id);
  }

  /** Every registered worker connection. */
  connections(): Iterable<ConnId> {
    return this.#connWorker.keys();
  }

  /**
   * Leadership was lost: workers must follow the new leader. Returns the connections to close,
   * including those whose messages were still held while this node caught up (else they would
   * wait here), and forgets the held messages.
   */
  dropAll(): ConnId[] {
    const toClose = new Set<ConnId>([...this.#workerConn.values()].map((link) => link.conn));
    for (const { conn } of this.#deferredWorkerMessages) toClose.add(conn);
    this.#deferredWorkerMessages = [];
    return [...toClose];
  }

  /** Handles the worker messages held while this leader caught up, once it has. */
  replayDeferred(): void {
    if (this.#deferredWorkerMessages.length === 0 || !this.#ctx.isReady()) return;
    const deferred = this.#deferredWorkerMessages;
    this.#deferredWorkerMessages = [];
    for (const { conn, message } of deferred) this.onMessage(conn, message);
  }

  /** Handles a worker's message (held while a new leader catches up). */
  onMessage(conn: ConnId, message: WorkerToOrchestrator): void {
    if (message.type === "output") {
      // Never held: live output is a view of the moment, and the result carries it anyway.
      this.#onOutput(conn, message);
      return;
    }
    if (this.#ctx.isLeader() && !this.#ctx.isReady()) {
      // A new leader decides about attempts from its applied state, which may still miss entries
      // committed by the previous leader: hold worker reports until this term's first entry is
      // applied (after it, the state includes everything committed before).
      if (this.#deferredWorkerMessages.length < MAX_DEFERRED_WORKER_MESSAGES) {
        this.#deferredWorkerMessages.push({ conn, message });
      } else {
        this.#ctx.out.sendError(
          conn,
          null,
          "unavailable",
          "The new leader is not ready yet; reconnect",
        );
        this.#ctx.out.effects.close.push(conn);
      }
      return;
    }
    if (message.type === "register") {
      this.#onRegister(conn, message);
      return;
    }
    const workerId = this.#connWorker.get(conn);
    if (workerId === undefined) {
      this.#ctx.out.sendError(
        conn,
        null,
        "bad_request",
        `Cannot accept ${message.type}: register first`,
      );
      return;
    }
    if (!this.#ctx.requireLeader(conn, null)) return;
    if (message.type === "started" || message.type === "finished") {
      // A report about an attempt this node does not know as current is answered (aborted,
      // acknowledged as late) only once a read barrier confirms this node's state is current: a
      // deposed leader that lacks the assignment a new leader made would otherwise make the
      // worker drop a result or kill a running attempt, and the task would stay running for
      // ever (soak seed 85915). When the barrier fails, the worker hears "not leader" and
      // reports again to the leader.
      this.#ctx.turns.run(conn, null, false, () => this.#onReport(conn, message, workerId));
      return;
    }
    this.#onReport(conn, message, workerId);
  }

  #onReport(
    conn: ConnId,
    message: Exclude<WorkerToOrchestrator, { type: "register" }>,
    workerId: string,
  ): void {
    switch (message.type) {
      case "started": {
        if (this.#isCurrentAttempt(message.taskId, message.attempt, workerId)) {
          this.#ctx.propose({
            type: "taskStarted",
            taskId: message.taskId,
            attempt: message.attempt,
            workerId,
            atMs: this.#ctx.nowMs(),
            lamport: this.#reportLamport(message.lamport),
            node: workerId,
          });
        } else if (!this.#ctx.turns.defers()) {
          this.#abortStale(conn, message);
        }
        break;
      }
      case "finished":
        this.#onFinished(conn, message, workerId);
        break;
      case "handBack":
        if (this.#isCurrentAttempt(message.taskId, message.attempt, workerId)) {
          this.#ctx.propose({
            type: "taskHandedBack",
            taskId: message.taskId,
            attempt: message.attempt,
            workerId,
            reason: message.reason,
            ...this.#ctx.stamp(),
          });
        }
        break;
      case "output":
        this.#onOutput(conn, message);
        break;
      case "drain":
        // Remembered even before the registration commits: nothing more goes to this worker,
        // and its next disconnect means it left.
        this.#drainRequested.add(workerId);
        this.#ctx.out.log("info", `Worker ${workerId} is draining`);
        this.#proposeDrain(workerId);
        break;
      default:
        assertNever(message, "unknown worker message");
    }
  }

  /**
   * Keeps a batch of live output when it is of the attempt the state has running on the worker
   * whose current connection sent it (fencing); anything else is dropped without a word, since
   * the attempt's own reports (started, finished) are where staleness is answered.
   */
  #onOutput(conn: ConnId, message: Extract<WorkerToOrchestrator, { type: "output" }>): void {
    if (!this.#ctx.isReady()) return;
    const workerId = this.#connWorker.get(conn);
    if (workerId === undefined || this.#workerConn.get(workerId)?.conn !== conn) return;
    const task = this.#ctx.sm().tasks.get(message.taskId);
    if (
      task?.state !== "running" || task.attempt !== message.attempt || task.workerId !== workerId
    ) return;
    this.#ctx.liveOutput.append(
      { taskId: task.id, attempt: task.attempt, workerId },
      { stream: message.stream, offset: message.offset, text: message.text },
    );
  }

  /** Proposes a current attempt's result once; a late one is only acknowledged. */
  #onFinished(
    conn: ConnId,
    message: Extract<WorkerToOrchestrator, { type: "finished" }>,
    workerId: string,
  ): void {
    const key = finishKey(message.taskId, message.attempt, workerId);
    if (this.#ctx.proposedFinishes.has(key)) return; // already on its way into the log
    if (this.#isCurrentAttempt(message.taskId, message.attempt, workerId)) {
      this.#ctx.proposedFinishes.set(key, {
        taskId: message.taskId,
        attempt: message.attempt,
        workerId,
      });
      this.#ctx.propose({
        type: "taskFinished",
        taskId: message.taskId,
        attempt: message.attempt,
        workerId,
        outcome: message.outcome,
        ...(message.includesStart === true ? { includesStart: true } : {}),
        atMs: this.#ctx.nowMs(),
        lamport: this.#reportLamport(message.lamport),
        node: workerId,
      });
    } else if (!this.#ctx.turns.defers()) {
      // A late result from a fenced-off attempt: nothing to record, but let the worker forget it.
      this.#ctx.out.log(
        "info",
        `Ignored late result of task ${message.taskId} attempt ${message.attempt} from ${workerId}`,
      );
      this.#ctx.out.sendRaw(conn, {
        type: "finishedAck",
        taskId: message.taskId,
        attempt: message.attempt,
        ignored: true,
      });
    }
  }

  /** Records a requested drain once the worker's current incarnation is in the state. */
  #proposeDrain(workerId: string): void {
    const worker = this.#ctx.sm().workers.get(workerId);
    const link = this.#workerConn.get(workerId);
    if (
      worker === undefined || worker.status !== "alive" || link?.incarnation !== worker.incarnation
    ) return;
    this.#ctx.propose({
      type: "workerDraining",
      workerId,
      incarnation: worker.incarnation,
      ...this.#ctx.stamp(),
    });
  }

  #onRegister(conn: ConnId, message: Extract<WorkerToOrchestrator, { type: "register" }>): void {
    const { name, incarnation } = message.worker;
    const already = this.#connWorker.get(conn);
    if (already !== undefined && already !== name) {
      this.#ctx.out.sendError(
        conn,
        null,
        "bad_request",
        `Connection is already registered as worker ${already}`,
      );
      return;
    }
    if (!this.#ctx.requireLeader(conn, null)) return;
    if (this.#isNameTakenByLiveWorker(conn, name, incarnation)) return;
    this.#connWorker.set(conn, name);
    this.#workerConn.set(name, { conn, incarnation });
    this.#ctx.detector.observe(name, incarnation, this.#ctx.nowMs());
    const existing = this.#ctx.sm().workers.get(name);
    if (existing !== undefined && existing.incarnation === incarnation) {
      this.completeRegistration(conn, name, message.running);
      return;
    }
    const index = this.#ctx.propose({
      type: "workerJoined",
      workerId: name,
      incarnation,
      slots: message.worker.slots,
      ...(message.worker.prefetch ? { prefetch: message.worker.prefetch } : {}),
      canExec: message.worker.canExec,
      execAllow: message.worker.execAllow ?? null,
      ...(message.worker.kinds?.length ? { kinds: message.worker.kinds } : {}),
      ...(message.worker.queues === undefined ? {} : { queues: message.worker.queues }),
      ...this.#ctx.stamp(),
    });
    if (index !== null) {
      this.#ctx.pending.add(index, {
        kind: "register",
        conn,
        workerId: name,
        running: message.running,
      });
    }
  }

  /**
   * True (after refusing and closing `conn`) when another incarnation of worker `name` is
   * connected on another connection and heartbeating: a second process must not take over a live
   * worker's name, or that worker's attempts would be requeued and run twice while it goes on
   * running them unlisted. A restart after the old process died is accepted: its connection
   * closed, or its heartbeats stopped.
   */
  #isNameTakenByLiveWorker(conn: ConnId, name: string, incarnation: string): boolean {
    const link = this.#workerConn.get(name);
    if (link === undefined || link.conn === conn || link.incarnation === incarnation) return false;
    const sinceMs = this.#ctx.detector.sinceLastSeen(name, link.incarnation, this.#ctx.nowMs());
    const timeoutMs = this.#ctx.options.heartbeatIntervalMs * this.#ctx.options.missedHeartbeats;
    if (sinceMs === null || sinceMs >= timeoutMs) return false;
    this.#ctx.out.log(
      "warn",
      `Refused a second worker named ${name}: the live one (incarnation ${link.incarnation}) ` +
        `was heard ${sinceMs} ms ago`,
    );
    this.#ctx.out.sendError(
      conn,
      null,
      "conflict",
      `Cannot register worker ${name}: a live worker already uses that name (connected, heard ` +
        `${sinceMs} ms ago); give this worker another --name, or stop the other one first`,
    );
    this.#ctx.out.effects.close.push(conn);
    return true;
  }

  /**
   * Confirms a registration and reconciles: attempts the state places on this
   * worker but the worker does not report are sent again (the worker ignores
   * duplicates); attempts it reports that are not current are aborted.
   */
  completeRegistration(conn: ConnId, workerId: string, running: readonly TaskRef[]): void {
    const worker = this.#ctx.sm().workers.get(workerId);
    if (worker === undefined || this.#workerConn.get(workerId)?.conn !== conn) return;
    this.#ctx.out.sendRaw(conn, {
      type: "registered",
      workerId,
      heartbeatIntervalMs: this.#ctx.options.heartbeatIntervalMs,
    });
    if (this.#drainRequested.has(workerId)) this.#proposeDrain(workerId);
    const reported = new Set(running.map((ref) => `${ref.taskId}#${ref.attempt}`));
    for (const taskId of worker.running) {
      const task = this.#ctx.sm().tasks.get(taskId);
      assert(
        task !== undefined,
        `worker ${workerId} runs task ${taskId}, which is not in the state`,
      );
      if (!reported.has(`${taskId}#${task.attempt}`)) this.sendAssign(task);
    }
    const stale = running.filter((ref) =>
      !this.#isCurrentAttempt(ref.taskId, ref.attempt, workerId)
    );
    if (stale.length === 0) return;
    // Aborts are refusals from this node's state: only once a read barrier holds (see above).
    this.#ctx.turns.run(conn, null, false, () => {
      for (const ref of stale) {
        if (this.#isCurrentAttempt(ref.taskId, ref.attempt, workerId)) continue;
        if (this.#ctx.turns.defers()) return;
        this.#abortStale(conn, ref);
      }
    });
  }

  /**
   * True for the attempt the state has running on `workerId`, or one this leader proposed to
   * assign it and sent ahead of the commit: a report about that one is proposed after the
   * assignment, so it applies after it (and is refused as stale if the assignment is).
   */
  #isCurrentAttempt(taskId: string, attempt: number, workerId: string): boolean {
    const task = this.#ctx.sm().tasks.get(taskId);
    if (task === undefined || task.attempt !== attempt) return false;
    if (task.state === "running") return task.workerId === workerId;
    return task.state === "queued" && this.#ctx.proposedAssignments.get(taskId) === workerId;
  }

  /**
   * The Lamport time a current attempt's report is recorded at: this leader's, which is after
   * the worker's (its clock took the report in) and after every event it recorded or proposed
   * for the task. The worker's own time alone may not be: it may have run the attempt from a
   * dispatch that never committed (a deposed leader's, sent ahead of its commit) that this
   * leader then assigned again, or an earlier report of it may be stamped here, still unapplied.
   * The state machine refuses a report not after the task's history, and a refused result would
   * leave the task running for ever on a worker that finished it (soak seeds 80 and 228).
   */
  #reportLamport(lamport: number): number {
    return Math.max(lamport, this.#ctx.stamp().lamport);
  }

  #abortStale(conn: ConnId, ref: TaskRef): void {
    this.#ctx.out.sendRaw(conn, {
      type: "abort",
      taskId: ref.taskId,
      attempt: ref.attempt,
      reason: "attempt is no longer current",
    });
  }

  /** Sends a task's current attempt to its worker, if connected to this leader. */
  /**
   * Sends a proposed assignment of `task` to `workerId` before it commits (see leader_rounds.ts);
   * returns the connection it went out on, or null when the worker is not connected.
   */
  dispatch(task: TaskRecord, workerId: string): ConnId | null {
    if (this.#ctx.out.recovering || !this.#ctx.isLeader()) return null;
    const link = this.#workerConn.get(workerId);
    if (link === undefined) return null;
    this.#ctx.out.sendRaw(link.conn, {
      type: "assign",
      taskId: task.id,
      attempt: task.attempt,
      spec: task.spec,
    });
    return link.conn;
  }

  sendAssign(task: TaskRecord): void {
    if (task.workerId === null) return;
    this.sendToWorker(task.workerId, {
      type: "assign",
      taskId: task.id,
      attempt: task.attempt,
      spec: task.spec,
    });
  }

  /** Sends to a worker connected to this leader as the incarnation the state knows. */
  sendToWorker(workerId: string, message: Unstamped<OrchestratorToWorker>): void {
    if (this.#ctx.out.recovering || !this.#ctx.isLeader()) return;
    const link = this.#workerConn.get(workerId);
    const worker = this.#ctx.sm().workers.get(workerId);
    // After a loss the record is gone; an ack for a result still helps the worker forget it.
    if (link === undefined || (worker !== undefined && worker.incarnation !== link.incarnation)) {
      return;
    }
    this.#ctx.out.sendRaw(link.conn, message);
  }

  /** Forgets a closed connection; a draining worker's means it left (proposed as lost). */
  onConnectionClosed(conn: ConnId): void {
    this.#deferredWorkerMessages = this.#deferredWorkerMessages.filter((d) => d.conn !== conn);
    const workerId = this.#connWorker.get(conn);
    if (workerId === undefined) return;
    this.#connWorker.delete(conn);
    const link = this.#workerConn.get(workerId);
    if (link?.conn !== conn) return; // it already reconnected on another connection
    this.#workerConn.delete(workerId);
    const worker = this.#ctx.sm().workers.get(workerId);
    const isLeaving = worker?.status === "draining" || this.#drainRequested.has(workerId);
    this.#drainRequested.delete(workerId);
    if (
      worker !== undefined && isLeaving && this.#ctx.isLeader() &&
      !this.#ctx.proposedLosses.has(workerId)
    ) {
      this.#ctx.proposedLosses.add(workerId);
      this.#ctx.propose({
        type: "workerLost",
        workerId,
        incarnation: worker.incarnation,
        reason: "left after draining",
        ...this.#ctx.stamp(),
      });
    }
  }
}
