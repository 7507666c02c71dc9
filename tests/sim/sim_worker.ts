/**
 * The simulated worker shell: the real WorkerCore, driven as
 * worker/shell/worker_runtime.ts drives it — one connection to an
 * orchestrator at a time (following "not leader" hints, else cycling with
 * backoff), UDP heartbeats to every orchestrator, and sleep tasks that finish
 * after their duration in simulated time.
 * @module
 */
import { SIM_KIND, simHandlerAttempt } from "./sim_handler_tasks.ts";
import { canonicalHeartbeat, signDatagram } from "../../shared/net/datagram_guard.ts";
import {
  REDIRECT_PAUSE_MS,
  retryPauseMs,
  WORKER_RECONNECT,
} from "../../shared/net/retry_policy.ts";
import type { Outcome, TaskSpec } from "../../shared/protocol/messages.ts";
import { WorkerCore, type WorkerEffects, type WorkerInput } from "../../worker/core/mod.ts";
import { describeMessage } from "./describe.ts";
import type { SimConnection } from "./network.ts";
import type { SimOrchestrator } from "./sim_orchestrator.ts";
import { type Direction, DIRECTIONS, overTheWire } from "./wire.ts";
import type { World } from "./world.ts";

type SessionOutcome = "served" | "redirected" | "failed";

interface RunningTask {
  attempt: number;
  killed: boolean;
}

/** One worker machine: a stable name; each start is a new incarnation of the process. */
export class SimWorker {
  readonly name: string;
  readonly slots: number;
  /** Assignments it holds beyond its slots (`--prefetch`). */
  readonly prefetch: number;
  /** A "flush" step is scheduled for this moment's end. */
  #flushQueued = false;
  readonly #world: World;
  #core: WorkerCore | null = null;
  #starts = 0;
  #incarnation = "";
  /** Bumped by every start and stop, so callbacks of a dead process do nothing. */
  #life = 0;
  #isAlive = false;
  #conn: SimConnection | null = null;
  /** Ends the current session (WorkerRuntime closes its connection the same way). */
  #endSession: (() => void) | null = null;
  #leaderHint: string | null = null;
  #next = 0;
  /** Failed sessions in a row: WorkerRuntime's backoff (the shared WORKER_RECONNECT policy). */
  #failures = 0;
  #tasks = new Map<string, RunningTask>();
  /** The registration sent on the current connection and not answered yet, if any. */
  registrationPending: { server: string; sinceMs: number } | null = null;
  /** Attempts started, over every incarnation. */
  executions = 0;
  crashes = 0;

  constructor(
    world: World,
    name: string,
    slots: number,
    prefetch = 0,
    readonly queues?: string[],
  ) {
    this.#world = world;
    this.name = name;
    this.slots = slots;
    this.prefetch = prefetch;
  }

  get isAlive(): boolean {
    return this.#isAlive;
  }

  get incarnation(): string {
    return this.#incarnation;
  }

  /** Attempts running now. */
  get runningCount(): number {
    return this.#core?.runningCount ?? 0;
  }

  /** Starts a new process (a new incarnation of this worker). */
  start(): void {
    if (this.#isAlive) return;
    const world = this.#world;
    this.#starts += 1;
    this.#life += 1;
    this.#flushQueued = false;
    this.#incarnation = `inc${this.#starts}`;
    this.#isAlive = true;
    this.#tasks = new Map();
    this.#conn = null;
    this.#leaderHint = null;
    this.#failures = 0;
    this.#core = new WorkerCore({
      info: {
        name: this.name,
        incarnation: this.#incarnation,
        slots: this.slots,
        ...(this.prefetch > 0 ? { prefetch: this.prefetch } : {}),
        canExec: false,
        ...(world.params.handlerTasks === null ? {} : { kinds: [SIM_KIND] }),
        ...(this.queues === undefined ? {} : { queues: this.queues }),
      },
      heartbeatIntervalMs: world.params.node.heartbeatIntervalMs,
      drainTimeoutMs: world.rng.int(200, 2000),
      exitGraceMs: world.rng.int(200, 2000),
    });
    world.note(`${this.name} starts as ${this.#incarnation}`);
    const life = this.#life;
    this.#step({ type: "tick", nowMs: world.nowMs });
    this.#scheduleTick(life);
    this.#connectLoop(life);
  }

  /** kill -9: running tasks die with it; the kernel closes its connection. */
  crash(): void {
    if (!this.#isAlive) return;
    this.crashes += 1;
    this.#world.note(`${this.name} CRASHES (${this.#incarnation})`);
    this.#die();
  }

  /** SIGTERM: drain (a second call hands back at once). */
  shutdown(): void {
    if (!this.#isAlive) return;
    this.#world.note(`${this.name} is asked to shut down`);
    this.#step({ type: "shutdown", nowMs: this.#world.nowMs });
  }

  #die(): void {
    this.#isAlive = false;
    this.registrationPending = null;
    this.#life += 1;
    this.#flushQueued = false;
    this.#core = null;
    this.#conn?.closeByRemote();
    this.#conn = null;
  }

  #scheduleTick(life: number): void {
    const world = this.#world;
    const tickMs = Math.max(
      10,
      Math.min(100, Math.floor(world.params.node.heartbeatIntervalMs / 5)),
    );
    world.schedule(tickMs, this.name, () => {
      if (life !== this.#life) return;
      this.#step({ type: "tick", nowMs: world.nowMs });
      this.#scheduleTick(life);
    });
  }

  /** WorkerRuntime#connectLoop: the hinted leader first, else the next orchestrator in turn. */
  #connectLoop(life: number): void {
    if (life !== this.#life) return;
    const all = this.#world.orchestrators;
    const hint = this.#leaderHint;
    this.#leaderHint = null;
    const hinted = hint === null ? undefined : all.find((o) => o.address === hint || o.id === hint);
    const target = hinted ?? all[this.#next++ % all.length];
    this.#session(life, target, (outcome) => {
      if (life !== this.#life) return;
      const world = this.#world;
      if (outcome === "redirected") {
        world.schedule(REDIRECT_PAUSE_MS, this.name, () => this.#connectLoop(life));
        return;
      }
      this.#failures = outcome === "served" ? 0 : this.#failures + 1;
      const pause = retryPauseMs(WORKER_RECONNECT, {
        failures: this.#failures,
        random: world.rng.next(),
      });
      world.schedule(pause, this.name, () => this.#connectLoop(life));
    });
  }

  /** One connection's life (WorkerRuntime#session). */
  #session(life: number, target: SimOrchestrator, done: (outcome: SessionOutcome) => void): void {
    const world = this.#world;
    let welcomed = false;
    let redirected = false;
    let finished = false;
    let conn: SimConnection | null = null;
    const finish = () => {
      if (finished) return;
      finished = true;
      conn?.closeByRemote();
      if (this.#conn !== null && this.#conn === conn) {
        this.#conn = null;
        this.#endSession = null;
        this.registrationPending = null;
        if (life === this.#life) this.#step({ type: "disconnected", nowMs: world.nowMs });
      }
      done(redirected ? "redirected" : welcomed ? "served" : "failed");
    };
    conn = world.network.connect(this.name, target, {
      deliver: (raw) => {
        if (finished || life !== this.#life) return;
        const message = overTheWire(raw, DIRECTIONS.orchestratorToWorker, {
          validate: false, // validated by the sender
          sender: target.id,
        });
        if (
          message.type === "error" &&
          (message.code === "not_leader" || message.code === "unavailable")
        ) {
          // Not (or no longer) the leader, or no quorum yet: the hinted leader, or the next one.
          this.#leaderHint = message.leaderHint ?? null;
          redirected = message.leaderHint !== undefined;
          finish();
          return;
        }
        if (!welcomed) {
          if (message.type !== "welcome") return finish();
          welcomed = true;
          this.#conn = conn;
          this.#endSession = finish;
          this.registrationPending = { server: target.id, sinceMs: world.nowMs };
          this.#step({ type: "connected", nowMs: world.nowMs });
        }
        if (message.type === "registered") this.registrationPending = null;
        this.#step({ type: "message", message, nowMs: world.nowMs });
      },
      closed: () => finish(),
    }, {
      onOpen: (opened) => {
        if (life !== this.#life) return opened.closeByRemote();
        this.#send(opened, { v: 1, type: "hello", role: "worker", lamport: 0 }, DIRECTIONS.hello);
      },
      onFail: () => finish(),
    });
  }

  #send(conn: SimConnection, message: unknown, direction: Direction<unknown>): void {
    const world = this.#world;
    const copy = overTheWire(message, direction, {
      validate: world.params.validateWire,
      sender: this.name,
    }) as { type: string } & Record<string, unknown>;
    world.note(`${this.name} -> ${conn.server} ${describeMessage(copy)}`);
    world.observeWire(this.name, conn.server, copy);
    conn.sendToServer(copy);
  }

  #step(input: WorkerInput): void {
    if (!this.#isAlive) return;
    // The worker reads its machine's wall clock (skewed, drifting), not true simulated time.
    this.#execute(this.#core!.step({ ...input, nowMs: this.#world.clockMs(this.name) }));
    if (this.#core?.hasPendingStarts !== true || this.#flushQueued) return;
    // WorkerRuntime's end of the turn: held start reports go out.
    this.#flushQueued = true;
    const life = this.#life;
    this.#world.schedule(0, this.name, () => {
      if (life !== this.#life) return;
      this.#flushQueued = false;
      this.#step({ type: "flush", nowMs: this.#world.nowMs });
    });
  }

  /** WorkerRuntime#execute, with sleep tasks on the simulated clock. */
  #execute(effects: WorkerEffects): void {
    const world = this.#world;
    for (const line of effects.log) world.note(`${this.name} log ${line.level}: ${line.message}`);
    for (const message of effects.send) {
      if (message.type === "output") world.stats.outputBatches += 1;
      if (this.#conn !== null) this.#send(this.#conn, message, DIRECTIONS.workerToOrchestrator);
    }
    for (const heartbeat of effects.heartbeats) {
      // Signed with the cluster secret, when there is one (as WorkerRuntime does).
      const signed = signDatagram(world.clusterKeys, heartbeat, canonicalHeartbeat(heartbeat));
      for (const o of world.orchestrators) {
        world.network.sendDatagram(this.name, o.id, () => o.deliverHeartbeat(signed, this.name));
      }
    }

    const ended: Array<{ taskId: string; attempt: number; outcome: Outcome }> = [];
    for (const { taskId, attempt, spec } of effects.start) {
      const outcome = this.#run(taskId, attempt, spec);
      if (outcome !== null) ended.push({ taskId, attempt, outcome });
    }
    for (const { taskId, attempt, reason } of effects.kill) this.#kill(taskId, attempt, reason);
    if (effects.reconnect) this.#endSession?.();
    if (effects.exit) {
      world.note(`${this.name} exits`);
      this.#die();
    }
    // Done as they started (zero-length): reported in this turn, as WorkerRuntime does.
    for (const { taskId, attempt, outcome } of ended) {
      this.#step({ type: "taskExited", taskId, attempt, outcome, nowMs: world.nowMs });
    }
  }

  /** Starts an attempt; returns its outcome when it ends as it starts (zero length), else null. */
  #run(taskId: string, attempt: number, spec: TaskSpec): Outcome | null {
    const world = this.#world;
    const life = this.#life;
    const key = `${taskId}#${attempt}`;
    const task: RunningTask = { attempt, killed: false };
    this.#tasks.set(key, task);
    this.executions += 1;
    world.stats.executions += 1;
    const executions = world.executionsByTask.get(taskId) ?? [];
    executions.push({ worker: this.name, attempt });
    world.executionsByTask.set(taskId, executions);
    if (spec.kind === "handler") return this.#runHandler(taskId, attempt, spec, task);
    const durationMs = spec.kind === "sleep" ? spec.durationMs : 0;
    if (durationMs === 0) {
      this.#tasks.delete(key);
      return {
        status: "succeeded",
        exitCode: null,
        stdout: `Processed "${spec.description}" in 0 s\n`,
        stderr: "",
        error: null,
        durationMs: 0,
      };
    }
    world.schedule(durationMs, this.name, () => {
      if (life !== this.#life || task.killed) return;
      this.#tasks.delete(key);
      const outcome: Outcome = {
        status: "succeeded",
        exitCode: null,
        stdout: `Processed "${spec.description}" in ${durationMs / 1000} s\n`,
        stderr: "",
        error: null,
        durationMs,
      };
      this.#step({ type: "taskExited", taskId, attempt, outcome, nowMs: world.nowMs });
    });
    return null;
  }

  /** A handler attempt: ends after its time as the simulated handler decides (never at once). */
  #runHandler(
    taskId: string,
    attempt: number,
    spec: Extract<TaskSpec, { kind: "handler" }>,
    task: RunningTask,
  ): null {
    const world = this.#world;
    const life = this.#life;
    const key = `${taskId}#${attempt}`;
    const { durationMs, outcome } = simHandlerAttempt(spec, attempt);
    // A log line every 100 ms while it runs: live output (batched by the core, fenced by the
    // leader) flows through every fault the run injects.
    for (let atMs = 100; atMs < durationMs; atMs += 100) {
      world.schedule(atMs, this.name, () => {
        if (life !== this.#life || task.killed) return;
        const text = `${taskId} attempt ${attempt} at ${atMs} ms\n`;
        this.#step({ type: "output", taskId, attempt, stream: "stdout", text, nowMs: world.nowMs });
      });
    }
    world.schedule(Math.max(1, durationMs), this.name, () => {
      if (life !== this.#life || task.killed) return;
      this.#tasks.delete(key);
      this.#step({ type: "taskExited", taskId, attempt, outcome, nowMs: world.nowMs });
    });
    return null;
  }

  #kill(taskId: string, attempt: number, reason: string): void {
    const world = this.#world;
    const task = this.#tasks.get(`${taskId}#${attempt}`);
    if (task === undefined || task.killed) return;
    task.killed = true;
    this.#tasks.delete(`${taskId}#${attempt}`);
    const life = this.#life;
    world.schedule(0, this.name, () => {
      if (life !== this.#life) return;
      const outcome: Outcome = {
        status: "failed",
        exitCode: null,
        stdout: "",
        stderr: "",
        error: reason,
        durationMs: 0,
      };
      this.#step({ type: "taskExited", taskId, attempt, outcome, nowMs: world.nowMs });
    });
  }
}
