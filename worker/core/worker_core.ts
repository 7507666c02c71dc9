/**
 * The worker's pure core: what to run, what to report, when to heartbeat and
 * when to exit. The shell owns the socket, the timers and the child processes;
 * it feeds events in and carries out the returned effects.
 *
 * Guarantees it keeps:
 * - an attempt (task id + attempt number) runs at most once per process, even
 *   when the orchestrator re-sends its assignment after a reconnect;
 * - a result is re-sent after every reconnect until the orchestrator
 *   acknowledges it as durably recorded;
 * - on shutdown it takes nothing new, finishes what it can within the drain
 *   timeout, hands back the rest, and exits once results are acknowledged;
 * - it runs at most `slots` attempts at once; with `prefetch`, up to that many
 *   more assignments wait here, in order, and start the moment a slot frees
 *   (no commit round between one task's end and the next one's start).
 * @module
 */
import { ArrivalWindow } from "../../shared/arrival_window.ts";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import type {
  OrchestratorToWorker,
  Outcome,
  TaskRef,
  TaskSpec,
  Unstamped,
  WorkerToOrchestrator,
} from "../../shared/protocol/messages.ts";
import { assert, assertNever } from "../../shared/assert.ts";
import { OutputBatches } from "./output_batches.ts";
import { refusalOf } from "./refusal.ts";
import {
  emptyEffects,
  type WorkerCoreOptions,
  type WorkerEffects,
  type WorkerInput,
} from "./worker_io.ts";

export type { WorkerCoreOptions, WorkerEffects, WorkerInput } from "./worker_io.ts";

interface Running {
  taskId: string;
  attempt: number;
  /** Set once the attempt was aborted or handed back: its result is void. */
  voided: boolean;
}

/** Recently acknowledged attempts remembered to ignore duplicate assignments. */
const RECENT_DONE_MAX = 4096;
const DEFAULT_EXIT_GRACE_MS = 5000;
/**
 * Heartbeat intervals without a word from the orchestrator (the leader sends a keepalive each
 * interval) before the worker takes it for frozen or cut off and reconnects elsewhere: the limit
 * until a few keepalive gaps are known, and always the most. Once they are, the limit is where
 * their phi accrual suspicion crosses 8 (about 2 intervals when steady), never below
 * ORCHESTRATOR_SILENCE_MIN_INTERVALS.
 */
export const ORCHESTRATOR_SILENCE_INTERVALS = 4;
export const ORCHESTRATOR_SILENCE_MIN_INTERVALS = 2.2;
/** Keepalive gaps needed before they are trusted over ORCHESTRATOR_SILENCE_INTERVALS. */
const KEEPALIVE_GAPS_MIN = 3;

function key(taskId: string, attempt: number): string {
  return `${taskId}#${attempt}`;
}

export class WorkerCore {
  readonly #options: WorkerCoreOptions;
  readonly #clock = new LamportClock();
  readonly #running = new Map<string, Running>();
  /** Results not yet acknowledged, as the exact messages to re-send. */
  readonly #unacked = new Map<string, WorkerToOrchestrator>();
  readonly #recentDone = new Set<string>();
  /** Assignments of attempts whose result was unacknowledged when they came (see #onAssign). */
  readonly #assignedWhileUnacked = new Map<
    string,
    { taskId: string; attempt: number; spec: TaskSpec }
  >();
  /** Attempts started whose start is not reported yet (see the "flush" input). */
  readonly #pendingStarts = new Map<string, { taskId: string; attempt: number }>();
  /** Prefetched assignments waiting for a slot, oldest first, by attempt key. */
  readonly #waiting = new Map<string, { taskId: string; attempt: number; spec: TaskSpec }>();
  /** Output of running attempts not sent yet (see output_batches.ts). */
  readonly #output = new OutputBatches();
  #effects: WorkerEffects = emptyEffects();
  /** The time of the input being handled. */
  #nowMs = 0;
  #connected = false;
  /** When the orchestrator last said anything on this connection. */
  #lastHeardMs = -Infinity;
  /** The keepalives' arrivals on this connection: how much silence is normal. */
  #keepalives: ArrivalWindow | null = null;
  #heartbeatIntervalMs: number;
  #lastHeartbeatMs = -Infinity;
  #seq = 0;
  #draining = false;
  #drainDeadlineMs = Infinity;
  #exitDeadlineMs = Infinity;
  #exited = false;

  constructor(options: WorkerCoreOptions) {
    this.#options = options;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs;
  }

  get runningCount(): number {
    return [...this.#running.values()].filter((r) => !r.voided).length;
  }

  /** True when start reports wait for a "flush" input. */
  get hasPendingStarts(): boolean {
    return this.#pendingStarts.size > 0;
  }

  /** Prefetched assignments waiting for a slot. */
  get waitingCount(): number {
    return this.#waiting.size;
  }

  get isDraining(): boolean {
    return this.#draining;
  }

  get unackedCount(): number {
    return this.#unacked.size;
  }

  step(input: WorkerInput): WorkerEffects {
    this.#nowMs = input.nowMs;
    switch (input.type) {
      case "tick":
        this.#onTick(input.nowMs);
        break;
      case "connected":
        this.#lastHeardMs = input.nowMs;
        this.#keepalives = new ArrivalWindow({
          expectedGapMs: this.#heartbeatIntervalMs,
          minStdDevMs: this.#heartbeatIntervalMs / 5,
        });
        this.#onConnected();
        break;
      case "disconnected":
        this.#connected = false;
        break;
      case "message":
        this.#lastHeardMs = input.nowMs;
        this.#clock.receive(input.message.lamport);
        this.#onMessage(input.message, input.nowMs);
        break;
      case "taskExited":
        this.#onTaskExited(input.taskId, input.attempt, input.outcome);
        break;
      case "shutdown":
        this.#onShutdown(input.nowMs);
        break;
      case "flush":
        this.#flushStarts();
        break;
      case "output":
        // Only a running attempt's: a voided one's output is nobody's (the shell may still see
        // some before its process is gone).
        if (this.#running.get(key(input.taskId, input.attempt))?.voided === false) {
          this.#output.add(key(input.taskId, input.attempt), input.stream, input.text);
        }
        break;
      default:
        assertNever(input, "unknown worker input");
    }
    this.#maybeExit(input.nowMs);
    const effects = this.#effects;
    this.#effects = emptyEffects();
    return effects;
  }

  #onConnected(): void {
    this.#connected = true;
    // Prefetched attempts are ours too: the orchestrator must not take them for lost.
    const running: TaskRef[] = [...this.#running.values()]
      .filter((r) => !r.voided)
      .map(({ taskId, attempt }) => ({ taskId, attempt }))
      .concat([...this.#waiting.values()].map(({ taskId, attempt }) => ({ taskId, attempt })));
    this.#send({ type: "register", worker: this.#options.info, running });
    for (const message of this.#unacked.values()) this.#effects.send.push(message);
    if (this.#draining) {
      this.#send({ type: "drain" });
      this.#handBackWaiting();
    }
  }

  #onMessage(message: OrchestratorToWorker, nowMs: number): void {
    switch (message.type) {
      case "welcome":
        break;
      case "keepalive":
        this.#keepalives?.record(nowMs);
        break;
      case "registered":
        this.#heartbeatIntervalMs = message.heartbeatIntervalMs;
        this.#log("info", `Registered as ${message.workerId}`);
        // Heartbeat at once so the orchestrator's detector starts from a fresh sighting.
        this.#heartbeat(nowMs);
        break;
      case "assign":
        this.#onAssign(message.taskId, message.attempt, message.spec);
        break;
      case "abort":
        this.#void(message.taskId, message.attempt, message.reason);
        break;
      case "finishedAck": {
        const k = key(message.taskId, message.attempt);
        this.#unacked.delete(k);
        const reassigned = this.#assignedWhileUnacked.get(k);
        this.#assignedWhileUnacked.delete(k);
        // An ignored result was of a dispatch the cluster never recorded (a deposed leader's,
        // or one refused after it was sent ahead of its commit): if that attempt is assigned
        // again, it must run again — now, if the assignment came while the result waited.
        if (message.ignored !== true) this.#remember(k);
        else if (reassigned !== undefined) {
          this.#onAssign(reassigned.taskId, reassigned.attempt, reassigned.spec);
        }
        break;
      }
      case "evicted":
        this.#log("warn", `Evicted by the orchestrator: ${message.reason}; re-registering`);
        for (const r of this.#running.values()) {
          this.#void(r.taskId, r.attempt, "worker was evicted");
        }
        this.#waiting.clear();
        this.#unacked.clear();
        this.#assignedWhileUnacked.clear();
        if (this.#connected) this.#onConnected();
        break;
      case "error":
        this.#log("warn", `Orchestrator error: ${message.message}`);
        break;
      default:
        assertNever(message, "unknown orchestrator message");
    }
  }

  #onAssign(taskId: string, attempt: number, spec: TaskSpec): void {
    const k = key(taskId, attempt);
    if (this.#running.get(k)?.voided === true && !this.#waiting.has(k) && !this.#draining) {
      // Assigned again after an abort (the aborted dispatch was never recorded: a deposed
      // leader's, sent ahead of its commit): run it anew once the aborted process has exited.
      this.#waiting.set(k, { taskId, attempt, spec });
      return;
    }
    if (this.#unacked.has(k)) {
      // Assigned while its result awaits an answer: if that answer is "ignored" (the result was
      // of a dispatch that was refused), this assignment is the one that stands, and runs then.
      this.#assignedWhileUnacked.set(k, { taskId, attempt, spec });
      return;
    }
    if (this.#draining && !this.#running.has(k)) {
      // Shutting down: whatever is assigned goes back, even an attempt handed back or done
      // before (a new leader that lost the hand-back re-sends it, and must hear of it).
      this.#send({ type: "handBack", taskId, attempt, reason: "worker is shutting down" });
      return;
    }
    if (this.#running.has(k) || this.#recentDone.has(k) || this.#waiting.has(k)) return;
    if (this.#draining) {
      this.#send({ type: "handBack", taskId, attempt, reason: "worker is shutting down" });
      return;
    }
    const refusal = refusalOf(spec, this.#options.info);
    if (refusal !== null) {
      // Defence in depth: the scheduler should never send this here.
      this.#finish(taskId, attempt, {
        status: "failed",
        exitCode: null,
        stdout: "",
        stderr: "",
        error: refusal,
        durationMs: 0,
      });
      return;
    }
    // Every slot holds a process (an aborted one until it exits): the rest wait their turn.
    if (this.#running.size >= this.#options.info.slots) {
      this.#waiting.set(k, { taskId, attempt, spec });
      return;
    }
    this.#start(taskId, attempt, spec);
  }

  #start(taskId: string, attempt: number, spec: TaskSpec): void {
    const k = key(taskId, attempt);
    assert(!this.#running.has(k), `attempt ${k} started twice`);
    this.#running.set(k, { taskId, attempt, voided: false });
    this.#output.start(k, { taskId, attempt }, this.#nowMs);
    this.#effects.start.push({ taskId, attempt, spec });
    // Reported at the turn's end (flush): a task done by then reports its start with its result.
    this.#pendingStarts.set(k, { taskId, attempt });
    // Per-task lines are debug: at thousands of tasks a second, info stays for what is rare.
    this.#log("debug", `Running task ${taskId} attempt ${attempt}: ${spec.description}`);
  }

  #onTaskExited(taskId: string, attempt: number, outcome: Outcome): void {
    const k = key(taskId, attempt);
    const running = this.#running.get(k);
    if (running === undefined) return;
    assert(running.taskId === taskId && running.attempt === attempt, `attempt ${k} misfiled`);
    this.#running.delete(k);
    // The outcome carries the output: what was not sent live goes with it.
    this.#output.drop(k);
    // Aborted or handed back: nothing to report. Not remembered as done either: an assignment of
    // this attempt after the abort is the cluster's to make, and runs (see #onAssign).
    if (!running.voided) {
      this.#log("debug", `Task ${taskId} attempt ${attempt} ${outcome.status}`);
      this.#finish(taskId, attempt, outcome);
    }
    this.#startWaiting();
  }

  /** Starts prefetched assignments while slots are free. */
  #startWaiting(): void {
    for (const [k, next] of this.#waiting) {
      if (this.#running.size >= this.#options.info.slots) return;
      // Assigned again after an abort: it waits for its aborted process to exit first.
      if (this.#running.has(k)) continue;
      this.#waiting.delete(k);
      this.#start(next.taskId, next.attempt, next.spec);
    }
  }

  #finish(taskId: string, attempt: number, outcome: Outcome): void {
    assert(
      !this.#running.has(key(taskId, attempt)),
      `attempt ${taskId}#${attempt} reported while running`,
    );
    const includesStart = this.#pendingStarts.delete(key(taskId, attempt));
    const message = this.#stamp({
      type: "finished",
      taskId,
      attempt,
      outcome,
      ...(includesStart ? { includesStart } : {}),
    });
    this.#unacked.set(key(taskId, attempt), message);
    if (this.#connected) this.#effects.send.push(message);
  }

  #void(taskId: string, attempt: number, reason: string): void {
    const k = key(taskId, attempt);
    // An aborted or handed-back attempt's start is not news to anyone.
    this.#pendingStarts.delete(k);
    if (this.#waiting.delete(k)) {
      // Never started: nothing to kill.
      this.#log("info", `Dropped waiting task ${taskId} attempt ${attempt}: ${reason}`);
      return;
    }
    const running = this.#running.get(k);
    if (running === undefined || running.voided) return;
    running.voided = true;
    this.#output.drop(k);
    this.#effects.kill.push({ taskId, attempt, reason });
    this.#log("info", `Stopping task ${taskId} attempt ${attempt}: ${reason}`);
  }

  #onShutdown(nowMs: number): void {
    if (!this.#draining) {
      this.#draining = true;
      this.#drainDeadlineMs = nowMs + this.#options.drainTimeoutMs;
      this.#log(
        "info",
        `Shutting down: finishing ${this.runningCount} running task(s) for up to ${this.#options.drainTimeoutMs} ms`,
      );
      this.#send({ type: "drain" });
      // Prefetched assignments have not started: they go back now, for another worker to run.
      this.#handBackWaiting();
      return;
    }
    this.#log("info", "Second signal: handing back running tasks now");
    this.#handBackAll(nowMs);
  }

  /**
   * Hands back the prefetched assignments (on shutdown). Only while connected: dropped unsaid,
   * they would be remembered as done and a re-sent assignment ignored; after a reconnect the
   * registration lists them and they go back then.
   */
  #flushStarts(): void {
    for (const { taskId, attempt } of this.#pendingStarts.values()) {
      this.#send({ type: "started", taskId, attempt });
    }
    this.#pendingStarts.clear();
  }

  #handBackWaiting(): void {
    if (!this.#connected) return;
    for (const [k, w] of this.#waiting) {
      this.#send({
        type: "handBack",
        taskId: w.taskId,
        attempt: w.attempt,
        reason: "worker is shutting down",
      });
      this.#remember(k);
    }
    this.#waiting.clear();
  }

  #handBackAll(nowMs: number): void {
    this.#handBackWaiting();
    for (const r of this.#running.values()) {
      if (r.voided) continue;
      this.#send({
        type: "handBack",
        taskId: r.taskId,
        attempt: r.attempt,
        reason: "worker is shutting down",
      });
      this.#void(r.taskId, r.attempt, "handed back on shutdown");
    }
    this.#drainDeadlineMs = Math.min(this.#drainDeadlineMs, nowMs);
    this.#exitDeadlineMs = Math.min(
      this.#exitDeadlineMs,
      nowMs + (this.#options.exitGraceMs ?? DEFAULT_EXIT_GRACE_MS),
    );
  }

  /**
   * Sends the output batches due. Only while connected: otherwise they wait (the newest kept) and
   * go after the reconnect, their offsets telling the orchestrator what it missed.
   */
  #sendOutput(nowMs: number): void {
    if (!this.#connected || this.#output.size === 0) return;
    for (const batch of this.#output.takeDue(nowMs)) this.#send({ type: "output", ...batch });
  }

  /** How long the orchestrator may stay silent before it counts as frozen or cut off. */
  #silenceLimitMs(): number {
    const interval = this.#heartbeatIntervalMs;
    const most = ORCHESTRATOR_SILENCE_INTERVALS * interval;
    const window = this.#keepalives;
    if (window === null || window.size < KEEPALIVE_GAPS_MIN) return most;
    const least = ORCHESTRATOR_SILENCE_MIN_INTERVALS * interval;
    return Math.round(Math.min(most, Math.max(least, window.silenceLimitMs(8))));
  }

  #onTick(nowMs: number): void {
    if (nowMs - this.#lastHeartbeatMs >= this.#heartbeatIntervalMs) this.#heartbeat(nowMs);
    this.#sendOutput(nowMs);
    const silentMs = nowMs - this.#lastHeardMs;
    if (this.#connected && silentMs > this.#silenceLimitMs()) {
      // A frozen or cut-off orchestrator keeps its connection open: only silence tells.
      this.#log("warn", `No word from the orchestrator for ${silentMs} ms; reconnecting`);
      this.#lastHeardMs = nowMs;
      this.#effects.reconnect = true;
    }
    if (this.#draining && nowMs >= this.#drainDeadlineMs && this.runningCount > 0) {
      this.#log("info", "Drain timeout reached: handing back unfinished tasks");
      this.#handBackAll(nowMs);
    }
  }

  #maybeExit(nowMs: number): void {
    if (!this.#draining || this.#exited) return;
    const stopped = this.runningCount === 0;
    // Prefetched assignments not yet handed back (no connection) keep a clean exit waiting; past
    // the deadline the orchestrator finds them when it declares this worker gone.
    const idle = stopped && this.#waiting.size === 0;
    const acked = this.#unacked.size === 0;
    if ((idle && acked) || (stopped && nowMs >= this.#exitDeadlineMs)) {
      if (!acked) this.#log("warn", `Exiting with ${this.#unacked.size} unacknowledged result(s)`);
      this.#exited = true;
      this.#effects.exit = true;
    } else if (stopped && this.#exitDeadlineMs === Infinity) {
      // Everything finished; give acknowledgements a bounded time to arrive.
      this.#exitDeadlineMs = nowMs + (this.#options.exitGraceMs ?? DEFAULT_EXIT_GRACE_MS);
    }
  }

  #heartbeat(nowMs: number): void {
    this.#lastHeartbeatMs = nowMs;
    this.#effects.heartbeats.push({
      v: PROTOCOL_VERSION,
      lamport: this.#clock.tick(),
      type: "heartbeat",
      workerId: this.#options.info.name,
      incarnation: this.#options.info.incarnation,
      seq: this.#seq++,
      running: this.runningCount,
      slots: this.#options.info.slots,
      sentAtMs: nowMs,
    });
  }

  #remember(k: string): void {
    this.#recentDone.add(k);
    if (this.#recentDone.size > RECENT_DONE_MAX) {
      const oldest = this.#recentDone.values().next();
      assert(oldest.done !== true, "recentDone over its bound but empty");
      this.#recentDone.delete(oldest.value);
    }
  }

  #send(message: Unstamped<WorkerToOrchestrator>): void {
    if (!this.#connected) return;
    this.#effects.send.push(this.#stamp(message));
  }

  #stamp(message: Unstamped<WorkerToOrchestrator>): WorkerToOrchestrator {
    return { ...message, v: PROTOCOL_VERSION, lamport: this.#clock.tick() } as WorkerToOrchestrator;
  }

  #log(level: "debug" | "info" | "warn", message: string): void {
    this.#effects.log.push({ level, message });
  }
}
