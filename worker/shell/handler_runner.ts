/**
 * Runs one attempt of a handler task: parses its payload, calls the handler with a context
 * (signal, progress, log), and turns what it returns or throws into an outcome. A timeout or a
 * cancel ends the attempt at once, whether or not the handler heeds its signal.
 * @module
 */
import { LIMITS } from "../../shared/limits.ts";
import type { Outcome, OutputStream, TaskSpec } from "../../shared/protocol/messages.ts";
import { elapsedMs, failedOutcome, timedOutReason } from "./_outcome.ts";
import type { Handler, HandlerContext } from "./handlers.ts";
import { TailBuffer } from "./tail_buffer.ts";
import type { RunningTask } from "./task_runner.ts";

/** Which attempt runs, and the worker's bounds on it. */
export interface HandlerRunOptions {
  taskId: string;
  attempt: number;
  /** Largest result accepted, as bytes of JSON (default LIMITS.resultBytesMax). */
  maxResultBytes?: number;
  /**
   * The worker's debug log, for what the outcome does not hold: each progress report as it
   * comes, and lines a handler logs after its attempt ended (a cancelled or timed-out handler
   * still running).
   */
  debug?: (message: string) => void;
  /**
   * Output as it comes (live output for `logs --follow`), besides the outcome's tail: a handler's
   * log and progress lines (stdout), a program's stdout and stderr as text. Never after the end.
   */
  onOutput?: (stream: OutputStream, text: string) => void;
}

type HandlerSpec = Extract<TaskSpec, { kind: "handler" }>;

const encoder = new TextEncoder();

/**
 * Starts an attempt of `spec` with `handler`. Never throws: a bad payload, a throw, a result that
 * is not JSON or too big, a timeout and a cancel are all failed outcomes.
 */
export function runHandler(
  handler: Handler,
  spec: HandlerSpec,
  options: HandlerRunOptions,
): RunningTask {
  const startedMs = performance.now();
  let payload: unknown;
  try {
    payload = JSON.parse(spec.payload);
  } catch (error) {
    const ended = failedOutcome(
      `Invalid payload for kind ${spec.handler}: not JSON (${(error as Error).message})`,
      startedMs,
    );
    return { done: Promise.resolve(ended), ended, kill() {} };
  }
  const maxResultBytes = options.maxResultBytes ?? LIMITS.resultBytesMax;
  const stdout = new TailBuffer(LIMITS.outputTailBytes);
  const controller = new AbortController();
  const done = Promise.withResolvers<Outcome>();
  let isOver = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Ends the attempt once: the first of result, throw, timeout and cancel wins. */
  const end = (outcome: Omit<Outcome, "stdout" | "durationMs">) => {
    if (isOver) return;
    isOver = true;
    clearTimeout(timer);
    done.resolve({
      ...outcome,
      stdout: stdout.text(),
      durationMs: elapsedMs(startedMs),
      ...(stdout.isTruncated ? { stdoutTruncated: true } : {}),
    });
  };
  if (spec.timeoutMs !== undefined) {
    const timeoutMs = spec.timeoutMs;
    timer = setTimeout(() => {
      const reason = timedOutReason(timeoutMs);
      // Ended first: the outcome is the timeout's, whatever the handler does when aborted.
      end({ ...failure(reason), timedOut: true });
      controller.abort(new DOMException(reason, "TimeoutError"));
    }, timeoutMs);
  }
  const ctx = context({
    options,
    signal: controller.signal,
    write: (line, isProgress) => {
      if (isOver) {
        // After the end a line belongs to no outcome: the worker's log keeps it.
        options.debug?.(`after its end: ${line}`);
        return;
      }
      if (isProgress) options.debug?.(line);
      const text = line.endsWith("\n") ? line : `${line}\n`;
      stdout.push(encoder.encode(text));
      options.onOutput?.("stdout", text);
    },
  });
  // Async, so a synchronous throw is a rejection like any other.
  // A late result (after a timeout or cancel) is not even serialized: nobody will read it.
  (async () => await handler(payload, ctx))().then(
    (result) => isOver || end(resultOutcome(result, maxResultBytes)),
    (thrown) => isOver || end(thrownOutcome(thrown)),
  );
  return {
    done: done.promise,
    kill(reason) {
      if (isOver) return;
      end(failure(reason));
      controller.abort(new DOMException(reason, "AbortError"));
    },
  };
}

function context(
  parts: {
    options: HandlerRunOptions;
    signal: AbortSignal;
    write: (line: string, isProgress: boolean) => void;
  },
): HandlerContext {
  const { options, signal, write } = parts;
  return {
    taskId: options.taskId,
    attempt: options.attempt,
    signal,
    progress(fraction, message) {
      if (typeof fraction !== "number" || !(fraction >= 0 && fraction <= 1)) {
        throw new RangeError(`Progress must be a number from 0 to 1, got ${String(fraction)}`);
      }
      const line = `progress ${Math.round(fraction * 100)}%${
        message === undefined ? "" : `: ${message}`
      }`;
      write(line, true);
    },
    log(line) {
      write(String(line), false);
    },
  };
}

/** A succeeded outcome carrying `result` as JSON, or a failed one saying why it cannot. */
function resultOutcome(
  result: unknown,
  maxResultBytes: number,
): Omit<Outcome, "stdout" | "durationMs"> {
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch (error) {
    // BigInt, a cycle, or a toJSON that threw.
    return failure(
      `The handler's result cannot be serialized as JSON: ${(error as Error).message}`,
    );
  }
  if (json !== undefined) {
    const bytes = encoder.encode(json).length;
    if (bytes > maxResultBytes) {
      return failure(
        `The handler's result is too big: ${bytes} bytes of JSON, more than the ` +
          `${maxResultBytes} allowed (--max-result-bytes)`,
      );
    }
  }
  return {
    status: "succeeded",
    exitCode: null,
    stderr: "",
    error: null,
    // undefined (no return value, or a function) has no JSON: the outcome carries no value.
    ...(json === undefined ? {} : { value: json }),
  };
}

/** A failed outcome: the thrown value's message as the error, its stack (tail) as stderr. */
function thrownOutcome(thrown: unknown): Omit<Outcome, "stdout" | "durationMs"> {
  const isError = thrown instanceof Error;
  const message = isError ? thrown.message || thrown.name : safeString(thrown);
  const stderr = new TailBuffer(LIMITS.outputTailBytes);
  if (isError && thrown.stack !== undefined) stderr.push(encoder.encode(thrown.stack));
  return {
    // Bounded like the output: an error message is user text too, and travels in every view.
    ...failure(message.slice(0, LIMITS.outputTailBytes)),
    stderr: stderr.text(),
    ...(stderr.isTruncated ? { stderrTruncated: true } : {}),
  };
}

function failure(reason: string): Omit<Outcome, "stdout" | "durationMs"> {
  return { status: "failed", exitCode: null, stderr: "", error: reason };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    // An object without toString (Object.create(null)) or whose toString throws.
    return `a thrown ${typeof value} that cannot be shown as text`;
  }
}
