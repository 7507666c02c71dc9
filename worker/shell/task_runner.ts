/**
 * Runs one attempt of a task: the seed's simulated task (a timer) or an exec
 * task (a child process, never through a shell), and reports its outcome.
 * @module
 */
import { LIMITS } from "../../shared/limits.ts";
import type { Outcome, TaskSpec } from "../../shared/protocol/messages.ts";
import { TailBuffer } from "./tail_buffer.ts";

/** A started attempt. */
export interface RunningTask {
  /** Stops the attempt; `done` then resolves with a failed outcome naming `reason`. */
  kill(reason: string): void;
  readonly done: Promise<Outcome>;
}

/** Starts an attempt of `spec`. Never throws: failures to start are failed outcomes. */
export function runTask(spec: TaskSpec): RunningTask {
  return spec.kind === "sleep" ? runSleep(spec) : runExec(spec);
}

function runSleep(spec: Extract<TaskSpec, { kind: "sleep" }>): RunningTask {
  const startedMs = performance.now();
  const done = Promise.withResolvers<Outcome>();
  const timer = setTimeout(() => {
    const seconds = spec.durationMs / 1000;
    done.resolve({
      status: "succeeded",
      exitCode: null,
      stdout: `Processed "${spec.description}" in ${seconds} s\n`,
      stderr: "",
      error: null,
      durationMs: elapsed(startedMs),
    });
  }, spec.durationMs);
  return {
    done: done.promise,
    kill(reason) {
      clearTimeout(timer);
      done.resolve(failed(reason, startedMs));
    },
  };
}

function runExec(spec: Extract<TaskSpec, { kind: "exec" }>): RunningTask {
  const startedMs = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(spec.argv[0], {
      args: spec.argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // Its own process group, so a kill also reaches whatever the program started.
      detached: true,
    }).spawn();
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? `program not found: ${spec.argv[0]}`
      : `cannot start ${spec.argv[0]}: ${(error as Error).message}`;
    return { done: Promise.resolve(failed(why, startedMs)), kill() {} };
  }
  let killedFor: string | null = null;
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
  const timeout = setTimeout(
    () => kill(`timed out after ${spec.timeoutMs / 1000} s`),
    spec.timeoutMs,
  );
  const stdout = new TailBuffer(LIMITS.outputTailBytes);
  const stderr = new TailBuffer(LIMITS.outputTailBytes);
  const done = Promise.all([
    drain(child.stdout, stdout),
    drain(child.stderr, stderr),
    child.status,
  ]).then(([, , status]): Outcome => {
    clearTimeout(timeout);
    const error = killedFor ??
      (status.signal !== null ? `killed by signal ${status.signal}` : null);
    return {
      status: status.success && killedFor === null ? "succeeded" : "failed",
      exitCode: status.signal === null ? status.code : null,
      stdout: stdout.text(),
      stderr: stderr.text(),
      error: error ?? (status.success ? null : `exit code ${status.code}`),
      durationMs: elapsed(startedMs),
    };
  });
  return { done, kill };
}

async function drain(stream: ReadableStream<Uint8Array>, into: TailBuffer): Promise<void> {
  for await (const chunk of stream) into.push(chunk);
}

function failed(reason: string, startedMs: number): Outcome {
  return {
    status: "failed",
    exitCode: null,
    stdout: "",
    stderr: "",
    error: reason,
    durationMs: elapsed(startedMs),
  };
}

function elapsed(startedMs: number): number {
  return Math.max(0, Math.round(performance.now() - startedMs));
}
