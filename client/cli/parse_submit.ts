/**
 * `submit`'s arguments, without I/O: the seed's simulated task, a handler task (`--kind`), an exec
 * task or a batch file, and how the task runs (`--retries`, `--backoff`, `--task-timeout`,
 * `--delay`, `--at`). A payload in a file (`--payload @FILE`) is named here and read by the shell.
 * @module
 */
import { parseIntFlag, UsageError } from "../../shared/cli_args.ts";
import { LIMITS } from "../../shared/limits.ts";
import {
  AfterSchema,
  HANDLER_KIND_PATTERN,
  queuesProblem,
  type RetryPolicy,
  type TaskRunOptions,
  type TaskSpec,
} from "../../shared/protocol/messages.ts";
import { BUILT_IN_KINDS } from "../../shared/protocol/messages.ts";
import { type Parsed, parseSeconds, type Values, waitOptions } from "./flag_values.ts";
import type { Command } from "./parse_command.ts";
import { findCommand, type FlagName } from "./command_spec.ts";

/** How a submitted task runs, beyond its spec. Absent fields: the cluster's defaults. */
export type SubmitOptions = TaskRunOptions;

/** Defaults of `--backoff` and `--max-backoff`, in seconds. */
export const DEFAULT_BACKOFF_S = 1;
export const DEFAULT_MAX_BACKOFF_S = 300;

/** Flags that describe the one task a plain submit makes (not a batch's): submit's own, but these. */
const ONE_TASK_FLAGS: readonly FlagName[] = findCommand("submit")!.flags.filter((flag) =>
  flag !== "batch" && flag !== "idempotency-key" && flag !== "wait-timeout"
);

export function buildSubmit(parsed: Parsed, nowMs: number): Command {
  const { values } = parsed;
  const maxAttempts = maxAttemptsOf(values);
  const key = values["idempotency-key"] ?? null;
  if (key !== null && (key === "" || key.length > LIMITS.idempotencyKeyChars)) {
    throw new UsageError(
      `Invalid --idempotency-key: expected 1 to ${LIMITS.idempotencyKeyChars} characters, got ${key.length}`,
    );
  }
  if (values.batch !== undefined) {
    if (parsed.positionals.length > 0) throw new UsageError("Expected: submit --batch FILE");
    const given = ONE_TASK_FLAGS.filter((flag) =>
      values[flag] !== undefined && values[flag] !== false
    );
    if (given.length > 0) {
      throw new UsageError(
        "submit --batch takes the tasks (and how each runs) from the file; drop " +
          given.map((flag) => flag === "duration" ? "-d" : `--${flag}`).join(", "),
      );
    }
    return { name: "submitBatch", path: values.batch, keyPrefix: key };
  }
  const { spec, payloadFile } = buildTaskSpec(parsed);
  return {
    name: "submit",
    spec,
    payloadFile,
    options: submitOptions(values, nowMs),
    maxAttempts,
    idempotencyKey: key,
    wait: waitOptions(values),
  };
}

/**
 * The task the flags and positionals describe: a handler's (`--kind`), a program (`--exec`, after
 * `--`) or the seed's simulated task (`"DESCRIPTION" -d SECS`). Used by `submit` and `schedule add`.
 * A payload in a file (`--payload @FILE`) is named in `payloadFile` for the shell to read.
 * @throws {UsageError} for a mix of kinds, or a value out of range.
 */
export function buildTaskSpec(parsed: Parsed): { spec: TaskSpec; payloadFile: string | null } {
  const { values } = parsed;
  if (values.exec && values.kind !== undefined) {
    throw new UsageError("Choose one of --kind and --exec: a task is a handler's or a program");
  }
  return values.kind !== undefined
    ? handlerSpec(parsed)
    : { spec: values.exec ? execSpec(parsed) : sleepSpec(parsed), payloadFile: null };
}

/** `--max-attempts`, or null when not given. */
export function maxAttemptsOf(values: Values): number | null {
  return values["max-attempts"] === undefined
    ? null
    : parseIntFlag("max-attempts", values["max-attempts"], 1, LIMITS.maxAttemptsMax);
}

/** The retry policy `--retries` (with `--backoff`, `--backoff-type`, `--max-backoff`) asks for. */
export function retryPolicyOf(values: Values): RetryPolicy | undefined {
  if (values.retries === undefined) {
    for (const flag of ["backoff", "backoff-type", "max-backoff"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} applies only with --retries`);
    }
    return undefined;
  }
  const retries = parseIntFlag("retries", values.retries, 0, LIMITS.retriesMax);
  const backoff = values["backoff-type"] ?? "exponential";
  if (backoff !== "exponential" && backoff !== "fixed") {
    throw new UsageError(`Invalid --backoff-type: expected exponential or fixed, got "${backoff}"`);
  }
  const delayMs = backoffMs("backoff", values.backoff ?? String(DEFAULT_BACKOFF_S));
  const maxDelayMs = backoffMs(
    "max-backoff",
    values["max-backoff"] ?? String(DEFAULT_MAX_BACKOFF_S),
  );
  return { retries, backoff, delayMs, maxDelayMs: Math.max(delayMs, maxDelayMs) };
}

/** The retry policy and not-before time the flags ask for. */
function submitOptions(values: Values, nowMs: number): SubmitOptions {
  const options: SubmitOptions = {};
  const retry = retryPolicyOf(values);
  if (retry !== undefined) options.retry = retry;
  if (values.delay !== undefined && values.at !== undefined) {
    throw new UsageError("Choose one of --delay and --at");
  }
  if (values.delay !== undefined) {
    options.delayMs = Math.round(parseLongSeconds("delay", values.delay) * 1000);
  }
  if (values.at !== undefined) options.runAtMs = parseAt(values.at, nowMs);
  if (values.priority !== undefined) {
    options.priority = parseSignedInt("priority", values.priority, LIMITS.priorityMax);
  }
  if (values.queue !== undefined) {
    const problem = queuesProblem([values.queue]);
    if (problem !== null) throw new UsageError(`Invalid --queue: ${problem}`);
    options.queue = values.queue;
  }
  if (values.after !== undefined) options.after = parseAfter(values.after);
  if (values["queue-timeout"] !== undefined) {
    const ms = Math.round(parseLongSeconds("queue-timeout", values["queue-timeout"]) * 1000);
    if (ms <= 0) throw new UsageError("Invalid --queue-timeout: must be more than 0 seconds");
    options.queueTimeoutMs = ms;
  }
  return options;
}

/** `--after t-1,t-2`: task ids, each once, at most LIMITS.afterTasksMax. */
function parseAfter(value: string): string[] {
  const ids = value.split(",").map((id) => id.trim());
  const parsed = AfterSchema.safeParse(ids);
  if (!parsed.success) {
    throw new UsageError(
      `Invalid --after: expected 1 to ${LIMITS.afterTasksMax} task ids such as t-4,t-7 (each once), got "${value}"`,
    );
  }
  return ids;
}

/** An integer from -max to max, in decimal. */
function parseSignedInt(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || Math.abs(n) > max) {
    throw new UsageError(
      `Invalid --${flag}: expected an integer from -${max} to ${max}, got "${value}"`,
    );
  }
  return n;
}

function backoffMs(flag: string, value: string): number {
  const ms = Math.round(parseSeconds(flag, value) * 1000);
  if (ms > LIMITS.backoffMsMax) {
    throw new UsageError(`Invalid --${flag}: at most ${LIMITS.backoffMsMax / 1000} seconds`);
  }
  return ms;
}

/** Seconds up to the longest delay (a year), in the same strict decimal form as parseSeconds. */
function parseLongSeconds(flag: string, value: string): number {
  return parseSeconds(flag, value, LIMITS.delayMsMax / 1000);
}

/**
 * `--at TIME`: an ISO 8601 date and time (`2026-12-24T18:00:00Z`, or without a zone: local time).
 * A date alone is refused (midnight in which zone?), as is a time more than a year ahead.
 */
export function parseAt(value: string, nowMs: number): number {
  const ms = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) {
    throw new UsageError(
      `Invalid --at: expected an ISO 8601 date and time such as 2026-12-24T18:00:00Z, got "${value}"`,
    );
  }
  if (ms - nowMs > LIMITS.delayMsMax) {
    throw new UsageError(`Invalid --at: ${value} is more than a year ahead`);
  }
  return Math.max(0, ms);
}

function handlerSpec(
  { values, positionals }: Parsed,
): { spec: TaskSpec; payloadFile: string | null } {
  const kind = values.kind!;
  if (!HANDLER_KIND_PATTERN.test(kind) || kind.length > LIMITS.kindChars) {
    throw new UsageError(
      `Invalid --kind: expected a letter, then letters, digits, '_', '.', ':' or '-' (at most ${LIMITS.kindChars}), got "${kind}"`,
    );
  }
  if ((BUILT_IN_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(
      `--kind ${kind} is built in: use submit "DESCRIPTION" -d SECS or submit --exec`,
    );
  }
  if (values.duration !== undefined || values["exec-timeout"] !== undefined) {
    throw new UsageError("-d and --exec-timeout do not apply to --kind tasks (see --task-timeout)");
  }
  if (positionals.length > 1) {
    throw new UsageError(`Expected: submit --kind KIND [--payload JSON|@FILE] ["DESCRIPTION"]`);
  }
  const description = positionals[0] ?? "";
  if (description.length > LIMITS.descriptionChars) {
    throw new UsageError(
      `Cannot submit task: description longer than ${LIMITS.descriptionChars} characters`,
    );
  }
  const raw = values.payload ?? "null";
  const payloadFile = raw.startsWith("@") ? raw.slice(1) : null;
  if (payloadFile === "") throw new UsageError("Invalid --payload: @ must be followed by a file");
  const payload = payloadFile === null ? checkPayload(raw, "--payload") : "";
  return {
    spec: {
      kind: "handler",
      handler: kind,
      description,
      payload,
      ...taskTimeout(values),
    },
    payloadFile,
  };
}

/**
 * `text` if it is JSON a handler can be given and within the size limit.
 * @throws {UsageError} naming `source` (the flag or the file) and what is wrong.
 */
export function checkPayload(text: string, source: string): string {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > LIMITS.payloadBytesMax) {
    throw new UsageError(
      `Invalid payload in ${source}: ${bytes} bytes, at most ${LIMITS.payloadBytesMax}`,
    );
  }
  try {
    JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `Invalid payload in ${source}: not JSON (${
        (error as Error).message
      }); quote strings, e.g. '"text"'`,
    );
  }
  return text;
}

function taskTimeout(values: Values): { timeoutMs?: number } {
  const value = values["task-timeout"];
  if (value === undefined) return {};
  const timeoutS = parseSeconds("task-timeout", value);
  if (timeoutS <= 0) throw new UsageError("Invalid --task-timeout: must be more than 0 seconds");
  return { timeoutMs: Math.round(timeoutS * 1000) };
}

function execSpec({ values, positionals, rest }: Parsed): TaskSpec {
  if (positionals.length > 0 || values.duration !== undefined) {
    throw new UsageError(
      "Expected: submit --exec -- PROGRAM [ARGS...] (no description or -d: the program runs until it exits)",
    );
  }
  if (rest.length === 0) {
    throw new UsageError(
      "Cannot submit exec task: give the program after --, e.g. submit --exec -- echo hi",
    );
  }
  if (rest.some((a) => a === "")) throw new UsageError("Cannot submit exec task: empty argument");
  if (values["exec-timeout"] !== undefined && values["task-timeout"] !== undefined) {
    throw new UsageError("Choose one of --exec-timeout and --task-timeout (they mean the same)");
  }
  const limit = values["exec-timeout"] ?? values["task-timeout"];
  const flag = values["exec-timeout"] !== undefined ? "exec-timeout" : "task-timeout";
  const timeoutS = limit === undefined ? 3600 : parseSeconds(flag, limit);
  if (timeoutS <= 0) throw new UsageError(`Invalid --${flag}: must be more than 0 seconds`);
  return {
    kind: "exec",
    description: rest.join(" ").slice(0, LIMITS.descriptionChars),
    argv: rest,
    timeoutMs: Math.round(timeoutS * 1000),
  };
}

function sleepSpec(parsed: Parsed): TaskSpec {
  const { values, positionals } = parsed;
  if (values["exec-timeout"] !== undefined) {
    throw new UsageError("--exec-timeout applies only to submit --exec");
  }
  if (values.payload !== undefined) throw new UsageError("--payload applies only with --kind");
  if (positionals.length !== 1) {
    throw new UsageError(
      `Expected: submit "DESCRIPTION" -d SECS (got ${positionals.length} arguments)`,
    );
  }
  if (values.duration === undefined) {
    throw new UsageError('Cannot submit task: missing -d SECONDS (e.g. submit "report" -d 15)');
  }
  const description = positionals[0];
  if (description.trim() === "") {
    throw new UsageError("Cannot submit task: the description is empty");
  }
  if (description.length > LIMITS.descriptionChars) {
    throw new UsageError(
      `Cannot submit task: description longer than ${LIMITS.descriptionChars} characters`,
    );
  }
  return {
    kind: "sleep",
    description,
    durationMs: Math.round(parseSeconds("duration", values.duration) * 1000),
    ...taskTimeout(values),
  };
}
