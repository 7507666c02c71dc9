/**
 * Runs one attempt of a task: the seed's simulated task (a timer), an exec
 * task (a child process, never through a shell) or a handler task (a function
 * of the worker's handlers module), and reports its outcome.
 * @module
 */
import { LIMITS } from "../../shared/limits.ts";
import type { Outcome, OutputStream, TaskSpec } from "../../shared/protocol/messages.ts";
import { elapsedMs, failedOutcome, timedOutReason } from "./_outcome.ts";
import { execEnvironment } from "./exec_environment.ts";
import { type HandlerRunOptions, runHandler } from "./handler_runner.ts";
import type { Handlers } from "./handlers.ts";
import { TailBuffer } from "./tail_buffer.ts";

/** How exec tasks are started (worker flags). */
export interface ExecOptions {
  /** Worker environment variables passed on by name (the rest is cleared). */
  envAllow: readonly string[];
  /** Run programs as this user and group (needs the worker to run as root). */
  uid?: number;
  gid?: number;
}

const NO_EXEC_OPTIONS: ExecOptions = { envAllow: [] };

/** A started attempt. */
export interface RunningTask {
  /** Stops the attempt; `done` then resolves with a failed outcome naming `reason`. */
  kill(reason: string): void;
  readonly done: Promise<Outcome>;
  /** The outcome of an attempt that ended as it started (a zero-length sleep); `done` has it too. */
  readonly ended?: Outcome;
}

/** Which attempt runs, and what the worker runs tasks with. */
export interface RunTaskOptions extends HandlerRunOptions {
  /** How exec tasks start (default: a cleared environment). */
  exec?: ExecOptions;
  /** The handlers of the kinds this worker serves (default: none). */
  handlers?: Handlers;
}

/** Starts an attempt of `spec`. Never throws: failures to start are failed outcomes. */
export function runTask(spec: TaskSpec, options: RunTaskOptions): RunningTask {
  switch (spec.kind) {
    case "sleep":
      return runSleep(spec);
    case "exec":
      return runExec(spec, options.exec ?? NO_EXEC_OPTIONS, options.onOutput);
    case "handler": {
      const handler = Object.hasOwn(options.handlers ?? {}, spec.handler)
        ? options.handlers![spec.handler]
        : undefined;
      if (handler !== undefined) return runHandler(handler, spec, options);
      const ended = failedOutcome(
        `This worker serves no handler for kind ${spec.handler}`,
        performance.now(),
      );
      return { done: Promise.resolve(ended), ended, kill() {} };
    }
  }
}

function runSleep(spec: Extract<TaskSpec, { kind: "sleep" }>): RunningTask {
  const startedMs = performance.now();
  const succeeded = (): Outcome => ({
    status: "succeeded",
    exitCode: null,
    stdout: `Processed "${spec.description}" in ${spec.durationMs / 1000} s\n`,
    stderr: "",
    error: null,
    durationMs: elapsedMs(startedMs),
  });
  if (spec.durationMs === 0) {
    // Ends as it starts: a timer per no-op task would cost more than the task.
    const ended = succeeded();
    return { done: Promise.resolve(ended), ended, kill() {} };
  }
  const done = Promise.withResolvers<Outcome>();
  const timer = setTimeout(() => done.resolve(succeeded()), spec.durationMs);
  // A sleep as long as its limit ends in time: only a longer one times out.
  const timeoutMs = spec.timeoutMs;
  const timeout = timeoutMs === undefined || timeoutMs >= spec.durationMs
    ? undefined
    : setTimeout(() => {
      clearTimeout(timer);
      done.resolve({ ...failedOutcome(timedOutReason(timeoutMs), startedMs), timedOut: true });
    }, timeoutMs);
  return {
    done: done.promise,
    kill(reason) {
      clearTimeout(timer);
      clearTimeout(timeout);
      done.resolve(failedOutcome(reason, startedMs));
    },
  };
}

function runExec(
  spec: Extract<TaskSpec, { kind: "exec" }>,
  exec: ExecOptions,
  onOutput?: (stream: OutputStream, text: string) => void,
): RunningTask {
  const startedMs = performance.now();
  let child: Deno.ChildProcess;
  let workDir: string | null = null;
  try {
    // Its own directory (its cwd, HOME and TMPDIR), removed after the attempt: a task must not
    // see the worker's files through relative paths, nor leave files for the next one.
    workDir = Deno.makeTempDirSync({ prefix: "mutirao-task-" });
    if (exec.uid !== undefined) Deno.chownSync(workDir, exec.uid, exec.gid ?? null);
    child = new Deno.Command(spec.argv[0], {
      args: spec.argv.slice(1),
      cwd: workDir,
      clearEnv: true,
      env: execEnvironment({ allow: exec.envAllow, workDir, get: (n) => Deno.env.get(n) }),
      ...(exec.uid === undefined ? {} : { uid: exec.uid }),
      ...(exec.gid === undefined ? {} : { gid: exec.gid }),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // Its own process group, so a kill also reaches whatever the program started.
      detached: true,
    }).spawn();
  } catch (error) {
    if (workDir !== null) removeWorkDir(workDir);
    const why = error instanceof Deno.errors.NotFound
      ? `program not found: ${spec.argv[0]}`
      : `cannot start ${spec.argv[0]}: ${(error as Error).message}`;
    return { done: Promise.resolve(failedOutcome(why, startedMs)), kill() {} };
  }
  const ownDir = workDir;
  let killedFor: string | null = null;
  let isTimedOut = false;
  const kill = (reason: string) => {
    if (killedFor !== null) return;
    killedFor = reason;
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch (error) {
      // The group is already gone (the program and its children exited): nothing to stop.
      if (!(error instanceof Deno.errors.NotFound) && !(error instanceof TypeError)) throw error;
    }
  };
  const timeout = setTimeout(() => {
    isTimedOut = killedFor === null;
    kill(timedOutReason(spec.timeoutMs));
  }, spec.timeoutMs);
  const stdout = new TailBuffer(LIMITS.outputTailBytes);
  const stderr = new TailBuffer(LIMITS.outputTailBytes);
  const done = Promise.all([
    drain(child.stdout, stdout, onOutput && ((text) => onOutput("stdout", text))),
    drain(child.stderr, stderr, onOutput && ((text) => onOutput("stderr", text))),
    child.status,
  ]).then(([, , status]): Outcome => {
    clearTimeout(timeout);
    removeWorkDir(ownDir);
    const error = killedFor ??
      (status.signal !== null ? `killed by signal ${status.signal}` : null);
    return {
      status: status.success && killedFor === null ? "succeeded" : "failed",
      exitCode: status.signal === null ? status.code : null,
      stdout: stdout.text(),
      stderr: stderr.text(),
      error: error ?? (status.success ? null : `exit code ${status.code}`),
      durationMs: elapsedMs(startedMs),
      // Only when true, so an outcome that fits carries no new field.
      ...(stdout.isTruncated ? { stdoutTruncated: true } : {}),
      ...(stderr.isTruncated ? { stderrTruncated: true } : {}),
      ...(isTimedOut ? { timedOut: true } : {}),
    };
  });
  return { done, kill };
}

function removeWorkDir(dir: string): void {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch (error) {
    // Already gone (or emptied by the task): nothing is left to clean.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Reads a child's stream into its tail, and (decoded, whole characters) to `onText` as it comes. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  into: TailBuffer,
  onText?: (text: string) => void,
): Promise<void> {
  const decoder = onText === undefined ? null : new TextDecoder();
  for await (const chunk of stream) {
    into.push(chunk);
    // `stream: true` holds a character cut between chunks until its last bytes come.
    const text = decoder?.decode(chunk, { stream: true }) ?? "";
    if (text !== "") onText!(text);
  }
  const rest = decoder?.decode() ?? "";
  if (rest !== "") onText!(rest);
}
