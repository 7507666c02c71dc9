/**
 * The worker's shell: one TCP connection to the orchestrator (reconnecting
 * with backoff), UDP heartbeats to every orchestrator, a timer, and the child
 * processes of running tasks. All decisions are the core's.
 * @module
 */
import { addressOf, type OrchestratorAddress } from "../../shared/config/mod.ts";
import type { Logger } from "../../shared/log.ts";
import { FramedConnection } from "../../shared/net/framed_connection.ts";
import { MAX_REPLY_FRAME_BYTES } from "../../shared/limits.ts";
import type { ClusterKeys } from "../../shared/auth/mod.ts";
import { connectTo, type TlsClientOptions } from "../../shared/net/connect.ts";
import { canonicalHeartbeat, signDatagram } from "../../shared/net/datagram_guard.ts";
import {
  REDIRECT_PAUSE_MS,
  retryPauseMs,
  shouldWarnUnreachable,
  WORKER_RECONNECT,
} from "../../shared/net/retry_policy.ts";
import { answerWelcome, nodeHello } from "../../shared/net/node_handshake.ts";
import { decodeMessage, DIRECTIONS, encodeMessage } from "../../shared/protocol/codec.ts";
import type { LeaderAnnouncement, Outcome, WorkerInfo } from "../../shared/protocol/messages.ts";
import { WorkerCore, type WorkerEffects, type WorkerInput } from "../core/mod.ts";
import type { Handlers } from "./handlers.ts";
import { type ExecOptions, type RunningTask, runTask } from "./task_runner.ts";

export interface WorkerRuntimeOptions {
  info: WorkerInfo;
  /** How exec tasks start (environment allow-list, user); default: a cleared environment. */
  exec?: ExecOptions;
  /** The handlers of the kinds this worker serves (`info.kinds` lists the same kinds). */
  handlers?: Handlers;
  /** Largest handler result, as bytes of JSON (default LIMITS.resultBytesMax). */
  maxResultBytes?: number;
  /** Known orchestrators; may start empty when the leader is found by multicast. */
  orchestrators: readonly OrchestratorAddress[];
  /** The socket bound to the worker's own address; heartbeats leave from it. */
  udp: Deno.DatagramConn;
  heartbeatIntervalMs: number;
  drainTimeoutMs: number;
  maxFrameBytes: number;
  logger: Logger;
  /** Cluster secret keys: prove membership on connect, sign heartbeats. */
  keys?: ClusterKeys | null;
  /** TLS: the CA to verify orchestrators with (null for plain TCP). */
  tls?: TlsClientOptions | null;
  /** Called once, when the orchestrator first confirms the registration. */
  onRegistered?: (workerId: string) => void;
}

/** A blackholed orchestrator must not hold the worker for the kernel's SYN timeout (minutes). */
const CONNECT_TIMEOUT_MS = WORKER_RECONNECT.connectTimeoutMs;
/**
 * A live orchestrator answers hello at once; a frozen one has a kernel that still accepts the
 * connection but never answers. After this long without a welcome, try the next one.
 */
const WELCOME_TIMEOUT_MS = WORKER_RECONNECT.welcomeTimeoutMs;

export class WorkerRuntime {
  readonly #options: WorkerRuntimeOptions;
  readonly #core: WorkerCore;
  readonly #tasks = new Map<string, RunningTask>();
  readonly #exited = Promise.withResolvers<void>();
  #conn: FramedConnection | null = null;
  readonly #udp: Deno.DatagramConn;
  /** Every orchestrator known: the static list plus those heard of by multicast. */
  readonly #known: OrchestratorAddress[];
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopping = false;
  /** A "flush" step is queued for the end of this turn. */
  #flushQueued = false;
  #registered = false;
  /** Why the worker stopped on its own (an orchestrator refused it for good), if it did. */
  #fatal: Error | null = null;
  readonly #cleanups: Array<() => void> = [];
  /** The orchestrator of the current (or last) connection attempt. */
  #target: OrchestratorAddress | null = null;
  /** Where the last "not leader" reply (or announcement) said the leader is. */
  #leaderHint: string | null = null;
  /** Why the last connection attempt failed, for the "cannot reach" warning. */
  #lastProblem = "no attempt made";

  constructor(options: WorkerRuntimeOptions) {
    this.#options = options;
    this.#udp = options.udp;
    this.#known = [...options.orchestrators];
    this.#core = new WorkerCore({
      info: options.info,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      drainTimeoutMs: options.drainTimeoutMs,
    });
  }

  /**
   * Runs until the core decides to exit (after a shutdown request).
   * @throws {Error} when an orchestrator refused this worker for good (its name is in use).
   */
  async run(): Promise<void> {
    const tickMs = Math.max(10, Math.min(100, Math.floor(this.#options.heartbeatIntervalMs / 5)));
    this.#timer = setInterval(() => this.#step({ type: "tick", nowMs: Date.now() }), tickMs);
    this.#step({ type: "tick", nowMs: Date.now() });
    void this.#connectLoop();
    await this.#exited.promise;
    if (this.#fatal !== null) throw this.#fatal;
  }

  /**
   * A leader announcement arrived (multicast): remember the orchestrator, and if this worker is
   * connected elsewhere, move to the announced leader.
   */
  followLeader(announcement: LeaderAnnouncement): void {
    const match = /^(.+):(\d+)$/.exec(announcement.address);
    if (match === null) return;
    const address = { id: announcement.nodeId, host: match[1], port: Number(match[2]) };
    if (!this.#known.some((o) => addressOf(o) === announcement.address)) this.#known.push(address);
    this.#leaderHint = announcement.address;
    if (
      this.#conn !== null && this.#target !== null &&
      addressOf(this.#target) !== announcement.address
    ) {
      this.#options.logger.info(
        `Leader ${announcement.nodeId} announced at ${announcement.address}; moving there`,
      );
      this.#conn.close();
    }
  }

  /** SIGINT/SIGTERM: drain; a second call hands back running tasks at once. */
  shutdown(): void {
    this.#step({ type: "shutdown", nowMs: Date.now() });
  }

  async #connectLoop(): Promise<void> {
    let failures = 0;
    let next = 0;
    // Since when no orchestrator welcomed this worker, and when it last said so.
    let unreachableSinceMs: number | null = null;
    let lastWarnedMs: number | null = null;
    while (!this.#stopping) {
      const all = this.#known;
      if (all.length === 0 && this.#leaderHint === null) {
        // No static list: wait for the first leader announcement (multicast).
        await delay(50);
        continue;
      }
      // Follow a "not leader" hint first; otherwise cycle through the list.
      const hinted = this.#leaderHint === null
        ? undefined
        : all.find((o) => addressOf(o) === this.#leaderHint || o.id === this.#leaderHint);
      this.#leaderHint = null;
      const target = hinted ?? all[next++ % all.length];
      this.#target = target;
      const outcome = await this.#session(target);
      if (this.#stopping) return;
      if (outcome === "redirected") {
        await delay(REDIRECT_PAUSE_MS); // straight to the hinted leader
        continue;
      }
      if (outcome === "served") {
        failures = 0;
        unreachableSinceMs = lastWarnedMs = null;
      } else {
        failures += 1;
        const nowMs = Date.now();
        unreachableSinceMs ??= nowMs;
        if (shouldWarnUnreachable({ sinceMs: unreachableSinceMs, lastWarnedMs, nowMs })) {
          lastWarnedMs = nowMs;
          this.#options.logger.warn(
            `Cannot reach any orchestrator (${all.map(addressOf).join(", ")}) for ${
              Math.round((nowMs - unreachableSinceMs) / 1000)
            } s: ${this.#lastProblem}; still trying`,
          );
        }
      }
      // Jitter spreads the reconnects of many workers after an orchestrator restart.
      await delay(retryPauseMs(WORKER_RECONNECT, { failures, random: Math.random() }));
    }
  }

  /**
   * One connection's life: "served" if it got as far as the welcome, "redirected" when the
   * orchestrator said it is not the leader (and maybe who is), "failed" otherwise.
   */
  async #session(target: OrchestratorAddress): Promise<"served" | "redirected" | "failed"> {
    let raw: Deno.Conn;
    try {
      raw = await connectTo(target, this.#options.tls ?? null, CONNECT_TIMEOUT_MS);
    } catch (error) {
      this.#lastProblem = (error as Error).message;
      this.#options.logger.debug(this.#lastProblem);
      return "failed";
    }
    // Assignments carry whole task specs: accept what an orchestrator may legitimately send.
    const conn = new FramedConnection(raw, {
      maxFrameBytes: Math.max(this.#options.maxFrameBytes, MAX_REPLY_FRAME_BYTES),
    });
    let welcomed = false;
    let redirected = false;
    /** The orchestrator sent us on (not the leader, no leader yet): leaving is no lost connection. */
    let sentOn = false;
    const welcomeTimer = setTimeout(() => {
      if (welcomed) return;
      this.#lastProblem = `no welcome from ${addressOf(target)} within ${WELCOME_TIMEOUT_MS} ms`;
      this.#options.logger.warn(
        `No welcome from ${addressOf(target)} within ${WELCOME_TIMEOUT_MS} ms; trying another`,
      );
      conn.close();
    }, WELCOME_TIMEOUT_MS);
    try {
      const hello = nodeHello("worker");
      conn.send(hello.message);
      // A read chunk's frames are handled together, so what they make us send goes out in one write.
      session: for await (const batch of conn.frameBatches()) {
        for (const payload of batch) {
          const decoded = decodeMessage(payload, DIRECTIONS.orchestratorToWorker);
          if (!decoded.ok) {
            this.#options.logger.warn(
              `Bad message from ${addressOf(target)}: ${decoded.error.message}`,
            );
            continue;
          }
          const message = decoded.message;
          if (message.type === "error" && message.code === "conflict" && !this.#registered) {
            // Our name belongs to a live worker: retrying cannot help, and must not take it over.
            this.#options.logger.error(message.message);
            this.#fatal = new Error(message.message);
            void this.#exit();
            break session;
          }
          if (
            message.type === "error" &&
            (message.code === "not_leader" || message.code === "unavailable")
          ) {
            // Not (or no longer) the leader, or no quorum yet: try the hinted leader, or the next one.
            this.#leaderHint = message.leaderHint ?? null;
            redirected = message.leaderHint !== undefined;
            sentOn = true;
            this.#options.logger.info(`${message.message}; reconnecting`);
            break session;
          }
          if (!welcomed) {
            if (message.type !== "welcome") {
              this.#options.logger.warn(
                `Orchestrator ${addressOf(target)} refused the connection: ${
                  message.type === "error" ? message.message : message.type
                }`,
              );
              break session;
            }
            const answer = answerWelcome(
              this.#options.keys ?? null,
              "worker",
              hello.nonce,
              message,
            );
            if (!answer.ok) {
              this.#options.logger.warn(
                `Refusing orchestrator at ${addressOf(target)}: ${answer.reason}`,
              );
              break session;
            }
            if (answer.authenticate !== null) conn.send(answer.authenticate);
            welcomed = true;
            this.#conn = conn;
            this.#options.logger.info(
              `Connected to orchestrator ${message.nodeId} at ${addressOf(target)}`,
            );
            this.#step({ type: "connected", nowMs: Date.now() });
          }
          this.#step({ type: "message", message, nowMs: Date.now() });
          if (message.type === "registered" && !this.#registered) {
            this.#registered = true;
            this.#options.onRegistered?.(message.workerId);
          }
        }
      }
    } catch (error) {
      this.#options.logger.warn(
        `Connection to ${addressOf(target)} failed: ${(error as Error).message}`,
      );
    } finally {
      clearTimeout(welcomeTimer);
      conn.close();
      if (this.#conn === conn) {
        this.#conn = null;
        this.#step({ type: "disconnected", nowMs: Date.now() });
        if (!this.#stopping && !sentOn) {
          this.#options.logger.warn(`Lost connection to ${addressOf(target)}; reconnecting`);
        }
      }
    }
    return redirected ? "redirected" : welcomed ? "served" : "failed";
  }

  #step(input: WorkerInput): void {
    if (this.#stopping) return;
    this.#execute(this.#core.step(input));
    if (this.#core.hasPendingStarts && !this.#flushQueued) {
      // Start reports go out at the end of this turn: a task that ended by then is one report.
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.#step({ type: "flush", nowMs: Date.now() });
      });
    }
  }

  #execute(effects: WorkerEffects): void {
    for (const line of effects.log) this.#options.logger.log(line.level, line.message);
    for (const message of effects.send) this.#conn?.send(message);
    for (const heartbeat of effects.heartbeats) {
      // Signed here (crypto is the shell's): the core only says what to send.
      const signed = signDatagram(
        this.#options.keys ?? null,
        heartbeat,
        canonicalHeartbeat(heartbeat),
      );
      this.#sendHeartbeat(encodeMessage(signed));
    }
    const ended: Array<{ taskId: string; attempt: number; outcome: Outcome }> = [];
    for (const { taskId, attempt, spec } of effects.start) {
      const task = runTask(spec, {
        taskId,
        attempt,
        exec: this.#options.exec,
        handlers: this.#options.handlers,
        maxResultBytes: this.#options.maxResultBytes,
        debug: (message) =>
          this.#options.logger.debug(`Task ${taskId} attempt ${attempt}: ${message}`),
        // The core holds it and sends it in batches (output_batches.ts); it may come while this
        // loop runs (a handler logs before its first await): the core's step is done by then.
        onOutput: (stream, text) =>
          this.#step({ type: "output", taskId, attempt, stream, text, nowMs: Date.now() }),
      });
      if (task.ended !== undefined) {
        // Done as it started (a zero-length sleep): no need to wait for a later turn.
        ended.push({ taskId, attempt, outcome: task.ended });
        continue;
      }
      const k = `${taskId}#${attempt}`;
      this.#tasks.set(k, task);
      void task.done.then((outcome) => {
        this.#tasks.delete(k);
        this.#step({ type: "taskExited", taskId, attempt, outcome, nowMs: Date.now() });
      });
    }
    for (const { taskId, attempt, reason } of effects.kill) {
      this.#tasks.get(`${taskId}#${attempt}`)?.kill(reason);
    }
    // The session loop sees the close, and the connect loop moves on to the next orchestrator.
    if (effects.reconnect) this.#conn?.close();
    if (effects.exit) void this.#exit();
    for (const { taskId, attempt, outcome } of ended) {
      this.#step({ type: "taskExited", taskId, attempt, outcome, nowMs: Date.now() });
    }
  }

  #sendHeartbeat(datagram: Uint8Array): void {
    for (const o of this.#known) {
      // UDP is best effort: a lost heartbeat is what the detector's tolerance is for.
      this.#udp.send(datagram, { transport: "udp", hostname: o.host, port: o.port }).catch(
        (error: unknown) =>
          this.#options.logger.debug(`Heartbeat to ${addressOf(o)} failed: ${error}`),
      );
    }
  }

  /** Registers cleanup to run when the worker stops. */
  onStop(cleanup: () => void): void {
    this.#cleanups.push(cleanup);
  }

  async #exit(): Promise<void> {
    this.#stopping = true;
    for (const cleanup of this.#cleanups) cleanup();
    clearInterval(this.#timer);
    for (const task of this.#tasks.values()) task.kill("worker exited");
    await this.#conn?.closeAfterFlush();
    this.#udp.close();
    this.#options.logger.info("Stopped");
    this.#exited.resolve();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
