/**
 * The typed client library: `connect(options)` logs in (or takes a token) and returns a
 * {@link Mutirao} whose methods submit tasks, read them and wait for their results, the way a
 * BullMQ `Queue` or a Celery `AsyncResult` is used from code.
 *
 * @example
 * ```ts
 * import { connect } from "./client/mod.ts";
 * const mutirao = await connect({ orchestrators: "127.0.0.1:7701", user: "user1", password: "pass1" });
 * const id = await mutirao.submit("add", { a: 2, b: 3 }, { retries: 3 });
 * const sum = await mutirao.result<number>(id); // 5
 * await mutirao.close();
 * ```
 * @module
 */
import {
  loadClusterConfig,
  type OrchestratorAddress,
  parseAddressList,
} from "../../shared/config/mod.ts";
import { RemoteError } from "../../shared/errors.ts";
import type {
  RetryPolicy,
  TaskSpec,
  TaskState,
  TaskSummary,
  TaskView,
} from "../../shared/protocol/messages.ts";
import type { TlsClientOptions } from "../../shared/net/connect.ts";
import { MutiraoClient } from "./mutirao_client.ts";
import { retryRefusal, retrySubmission } from "../../shared/protocol/retry_submission.ts";

export interface ConnectOptions {
  /** "HOST:PORT,..." or a list; else the cluster file `config`. */
  orchestrators?: string | readonly OrchestratorAddress[];
  /** A cluster file (used when `orchestrators` is absent). */
  config?: string;
  /** Log in as this user with this password... */
  user?: string;
  password?: string;
  /** ...or use a session token from an earlier login. */
  token?: string;
  /** Time one request may take, retries across orchestrators included (default 10 s). */
  timeoutMs?: number;
  /** TLS: the CA that verifies orchestrators. */
  tls?: TlsClientOptions | null;
}

/** How a task runs: every field optional, the cluster's defaults otherwise. */
export interface TaskOptions {
  /** Shown in `list` and `status`. */
  description?: string;
  /** Retries of a failed attempt (handler threw, timeout): 0 by default. */
  retries?: number;
  /** Pause before the first retry (default 1000 ms), doubling (with jitter) up to maxBackoffMs. */
  backoffMs?: number;
  backoff?: RetryPolicy["backoff"];
  maxBackoffMs?: number;
  /** Each attempt's time limit: its signal fires, then it fails as timed out. */
  timeoutMs?: number;
  /** Not started before this long from now, or before this time. */
  delayMs?: number;
  runAt?: Date | number;
  /** Higher first within its queue (-1000..1000, default 0). */
  priority?: number;
  /** The queue it waits in (default "default"). */
  queue?: string;
  /** Runs once these tasks succeeded; fails (dependency_failed) if one fails or is cancelled. */
  after?: readonly string[];
  /** Not started within this long of being due, it ends `expired`. */
  queueTimeoutMs?: number;
  /** Attempts it may lose to workers that die under it. */
  maxAttempts?: number;
  /** A retried submission with the same key never makes a second task (default: random). */
  idempotencyKey?: string;
}

/** A task that ended failed, cancelled or expired when its result was asked for. */
export class TaskFailedError extends Error {
  readonly task: TaskView;
  constructor(task: TaskView) {
    super(`Task ${task.id} ${task.state}: ${task.result?.error ?? task.state}`);
    this.name = "TaskFailedError";
    this.task = task;
  }
}

const FINAL: ReadonlySet<TaskState> = new Set(["succeeded", "failed", "cancelled", "expired"]);
/** Longest wait one request asks an orchestrator for; longer waits are several. */
const WAIT_ROUND_MS = 60_000;

/** Connects to a cluster: logs in with `user`/`password`, or uses `token`. */
export async function connect(options: ConnectOptions): Promise<Mutirao> {
  const orchestrators = typeof options.orchestrators === "string"
    ? parseAddressList(options.orchestrators)
    : options.orchestrators ??
      (options.config !== undefined ? (await loadClusterConfig(options.config)).orchestrators : []);
  if (orchestrators.length === 0) {
    throw new RangeError(
      "connect(): give orchestrators (HOST:PORT,...) or a cluster file (config)",
    );
  }
  const client = new MutiraoClient({
    orchestrators,
    timeoutMs: options.timeoutMs ?? 10_000,
    tls: options.tls ?? null,
  });
  let token = options.token;
  if (token === undefined) {
    if (options.user === undefined || options.password === undefined) {
      client.close();
      throw new RangeError("connect(): give user and password, or a token");
    }
    try {
      token = (await client.request({
        type: "login",
        user: options.user,
        password: options.password,
      })).token;
    } catch (error) {
      client.close();
      throw error;
    }
  }
  return new Mutirao(client, token);
}

/** A logged-in connection to a cluster. */
export class Mutirao {
  readonly #client: MutiraoClient;
  readonly token: string;

  constructor(client: MutiraoClient, token: string) {
    this.#client = client;
    this.token = token;
  }

  /** Submits a task of a handler kind with its payload (any JSON value); resolves with its id. */
  async submit<P = unknown>(kind: string, payload?: P, options: TaskOptions = {}): Promise<string> {
    return await this.submitSpec(handlerSpec(kind, payload, options), options);
  }

  /** Submits any task spec (sleep, exec or handler); resolves with its id. */
  async submitSpec(spec: TaskSpec, options: TaskOptions = {}): Promise<string> {
    const reply = await this.#client.request({
      type: "submit",
      token: this.token,
      idempotencyKey: options.idempotencyKey ?? crypto.randomUUID(),
      task: spec,
      ...requestOptions(options),
    });
    return reply.taskId;
  }

  /** Submits many handler tasks in one request; resolves with their ids, in order. */
  async submitBatch(
    items: ReadonlyArray<{ kind: string; payload?: unknown; options?: TaskOptions }>,
  ): Promise<string[]> {
    const reply = await this.#client.request({
      type: "submitBatch",
      token: this.token,
      tasks: items.map(({ kind, payload, options = {} }) => ({
        idempotencyKey: options.idempotencyKey ?? crypto.randomUUID(),
        task: handlerSpec(kind, payload, options),
        ...requestOptions(options),
      })),
    });
    return reply.results.map((r, i) => {
      if (r.error !== undefined) throw new RangeError(`Task ${i} of the batch refused: ${r.error}`);
      return r.taskId;
    });
  }

  /** The task as it stands. */
  async status(taskId: string): Promise<TaskView> {
    return (await this.#client.request({ type: "status", token: this.token, taskId })).task;
  }

  /** Waits until the task ends (or `timeoutMs` passes: then resolves with it unfinished). */
  async wait(taskId: string, options: { timeoutMs?: number } = {}): Promise<TaskView> {
    const deadline = Date.now() + (options.timeoutMs ?? Infinity);
    for (;;) {
      const timeoutMs = Math.max(1, Math.min(WAIT_ROUND_MS, deadline - Date.now()));
      const { task } = await this.#client.request({
        type: "wait",
        token: this.token,
        taskId,
        timeoutMs,
      });
      if (FINAL.has(task.state) || Date.now() >= deadline) return task;
    }
  }

  /**
   * Waits for the task and resolves with its result: a handler's return value (parsed JSON), or
   * for sleep and exec tasks their output.
   * @throws {TaskFailedError} when it failed, was cancelled or expired.
   * @throws {Error} when `timeoutMs` passed first.
   */
  async result<R = unknown>(taskId: string, options: { timeoutMs?: number } = {}): Promise<R> {
    const task = await this.wait(taskId, options);
    if (task.state === "succeeded") {
      const value = task.result?.value;
      if (value !== undefined) return JSON.parse(value) as R;
      // A handler that returned nothing: null; sleep and exec tasks: their output.
      return (task.spec.kind === "handler" ? null : task.result?.stdout ?? null) as R;
    }
    if (FINAL.has(task.state)) throw new TaskFailedError(task);
    throw new Error(`Task ${taskId} is still ${task.state} after ${options.timeoutMs} ms`);
  }

  /**
   * The task's output: while it runs, what the leader has seen of its attempt so far; once it
   * ended, the output kept with it (`isFinal`). `stdout` holds `ctx.log` and progress lines.
   */
  async logs(taskId: string): Promise<{ stdout: string; stderr: string; isFinal: boolean }> {
    const reply = await this.#client.request({ type: "logs", token: this.token, taskId });
    return { stdout: reply.stdout.text, stderr: reply.stderr.text, isFinal: reply.isFinal };
  }

  /** Cancels a queued or running task (a running handler's signal fires). */
  async cancel(taskId: string): Promise<TaskView> {
    return (await this.#client.request({ type: "cancel", token: this.token, taskId })).task;
  }

  /**
   * Runs a failed, cancelled or expired task again as a new task with the same spec and options
   * (as `mutirao retry ID`); resolves with the new task's id, the same one when asked twice.
   * @throws {RangeError} when the task has not ended, or succeeded.
   */
  async retry(taskId: string): Promise<string> {
    const old = await this.status(taskId);
    const refusal = retryRefusal(old);
    if (refusal !== null) throw new RangeError(refusal);
    const reply = await this.#client.request({ ...retrySubmission(old), token: this.token });
    return reply.taskId;
  }

  /** A page of your tasks, newest first (`all`: everyone's, for admins). */
  async list(
    filter: { states?: TaskState[]; limit?: number; after?: string; all?: boolean } = {},
  ): Promise<{ tasks: TaskSummary[]; total: number; next: string | null }> {
    const reply = await this.#client.request({
      type: "list",
      token: this.token,
      ...(filter.states === undefined || filter.states.length === 0
        ? {}
        : { states: filter.states }),
      ...(filter.limit === undefined ? {} : { limit: filter.limit }),
      ...(filter.after === undefined ? {} : { after: filter.after }),
      ...(filter.all === true ? { all: true } : {}),
      paged: true,
    });
    return {
      tasks: reply.tasks,
      total: reply.total ?? reply.tasks.length,
      next: reply.next ?? null,
    };
  }

  /**
   * The task each time it changes (state, attempt, or a new event in its history), until it ends.
   * Polls every `intervalMs` (default 500); the HTTP event stream will push instead.
   */
  async *events(taskId: string, options: { intervalMs?: number } = {}): AsyncGenerator<TaskView> {
    let seen = -1;
    for (;;) {
      const task = await this.status(taskId);
      if (task.history.length !== seen) {
        seen = task.history.length;
        yield task;
      }
      if (FINAL.has(task.state)) return;
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  }

  /** Ends the session (its token stops working) and closes the connections. */
  async logout(): Promise<void> {
    try {
      await this.#client.request({ type: "logout", token: this.token });
    } catch (error) {
      if (!(error instanceof RemoteError) || error.code !== "unauthenticated") throw error;
    } finally {
      this.#client.close();
    }
  }

  /** Closes the connections; the session stays valid (for `connect({ token })`). */
  close(): void {
    this.#client.close();
  }
}

function handlerSpec(kind: string, payload: unknown, options: TaskOptions): TaskSpec {
  const text = JSON.stringify(payload === undefined ? null : payload);
  return {
    kind: "handler",
    handler: kind,
    description: options.description ?? "",
    payload: text,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
}

function requestOptions(options: TaskOptions) {
  if (
    options.retries === undefined &&
    (options.backoffMs !== undefined || options.backoff !== undefined ||
      options.maxBackoffMs !== undefined)
  ) {
    throw new RangeError("backoffMs, backoff and maxBackoffMs apply only with retries");
  }
  const runAtMs = options.runAt instanceof Date ? options.runAt.getTime() : options.runAt;
  return {
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.retries === undefined ? {} : {
      retry: {
        retries: options.retries,
        backoff: options.backoff ?? "exponential",
        delayMs: options.backoffMs ?? 1000,
        maxDelayMs: Math.max(options.maxBackoffMs ?? 300_000, options.backoffMs ?? 1000),
      },
    }),
    ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
    ...(runAtMs === undefined ? {} : { runAtMs }),
    ...(options.priority === undefined ? {} : { priority: options.priority }),
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    ...(options.after === undefined ? {} : { after: [...options.after] }),
    ...(options.queueTimeoutMs === undefined ? {} : { queueTimeoutMs: options.queueTimeoutMs }),
  };
}
