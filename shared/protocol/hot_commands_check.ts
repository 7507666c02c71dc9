/**
 * Hand-written checks of the log's most frequent commands (a task's submit, assign, start and
 * finish, and the leader's no-op), exactly as strict as their schemas in commands.ts, at a
 * fraction of the cost: a follower checks every entry it receives, and under load the schema
 * checks were a fifth of its work (issue 12). The fuzzers hold them to the schemas: the raft
 * target fails when a node stages an entry the schema refuses.
 * @module
 */
import { LAMPORT_MAX, LIMITS } from "../limits.ts";
import { BUILT_IN_KINDS, HANDLER_KIND_PATTERN } from "./task_schemas.ts";

type Check = (value: Record<string, unknown>) => boolean;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

function isInt(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
}

function isText(value: unknown, min: number, max: number): boolean {
  return typeof value === "string" && value.length >= min && value.length <= max;
}

const SAFE = Number.MAX_SAFE_INTEGER;

function isStamp(c: Record<string, unknown>): boolean {
  return isInt(c.atMs, 0, SAFE) && isInt(c.lamport, 0, LAMPORT_MAX / 2) &&
    isText(c.node, 1, LIMITS.workerNameChars);
}

function isId(value: unknown): boolean {
  return isText(value, 1, LIMITS.workerNameChars);
}

const SLEEP_KEYS = new Set(["kind", "description", "durationMs", "timeoutMs"]);
const EXEC_KEYS = new Set(["kind", "description", "argv", "timeoutMs"]);
const HANDLER_KEYS = new Set(["kind", "handler", "description", "payload", "timeoutMs"]);

function isOptionalTimeout(value: unknown): boolean {
  return value === undefined || isInt(value, 1, LIMITS.taskDurationMsMax);
}

function isSpec(value: unknown): boolean {
  if (!isObject(value) || !isText(value.description, 0, LIMITS.descriptionChars)) return false;
  if (value.kind === "sleep") {
    return onlyKeys(value, SLEEP_KEYS) && isInt(value.durationMs, 0, LIMITS.taskDurationMsMax) &&
      isOptionalTimeout(value.timeoutMs);
  }
  if (value.kind === "handler") {
    return onlyKeys(value, HANDLER_KEYS) && isText(value.handler, 1, LIMITS.kindChars) &&
      HANDLER_KIND_PATTERN.test(value.handler as string) &&
      !(BUILT_IN_KINDS as readonly unknown[]).includes(value.handler) &&
      isText(value.payload, 0, LIMITS.payloadBytesMax) && isOptionalTimeout(value.timeoutMs);
  }
  if (value.kind !== "exec" || !onlyKeys(value, EXEC_KEYS)) return false;
  const argv = value.argv;
  return Array.isArray(argv) && argv.length >= 1 && argv.length <= LIMITS.argvItems &&
    argv.every((arg) => isText(arg, 1, LIMITS.argChars)) &&
    isInt(value.timeoutMs, 1, LIMITS.taskDurationMsMax);
}

const OUTCOME_KEYS = new Set([
  "status",
  "exitCode",
  "stdout",
  "stderr",
  "error",
  "durationMs",
  "stdoutTruncated",
  "stderrTruncated",
  "value",
  "timedOut",
  "dependencyFailed",
]);

function isOutcome(value: unknown): boolean {
  return isObject(value) && onlyKeys(value, OUTCOME_KEYS) &&
    (value.status === "succeeded" || value.status === "failed") &&
    (value.exitCode === null || isInt(value.exitCode, -SAFE, SAFE)) &&
    typeof value.stdout === "string" && typeof value.stderr === "string" &&
    (value.error === null || typeof value.error === "string") &&
    isInt(value.durationMs, 0, SAFE) &&
    (value.stdoutTruncated === undefined || value.stdoutTruncated === true) &&
    (value.stderrTruncated === undefined || value.stderrTruncated === true) &&
    (value.value === undefined || isText(value.value, 0, LIMITS.resultBytesMax)) &&
    (value.timedOut === undefined || value.timedOut === true) &&
    (value.dependencyFailed === undefined || isText(value.dependencyFailed, 0, LIMITS.taskIdChars));
}

const TASK_ID = /^t-[1-9][0-9]{0,14}$/;

function isAfter(value: unknown): boolean {
  return Array.isArray(value) && value.length >= 1 && value.length <= LIMITS.afterTasksMax &&
    value.every((id) => typeof id === "string" && TASK_ID.test(id)) &&
    new Set(value).size === value.length;
}

const RETRY_KEYS = new Set(["retries", "backoff", "delayMs", "maxDelayMs"]);

function isRetryPolicy(value: unknown): boolean {
  return isObject(value) && onlyKeys(value, RETRY_KEYS) &&
    isInt(value.retries, 0, LIMITS.retriesMax) &&
    (value.backoff === "exponential" || value.backoff === "fixed") &&
    isInt(value.delayMs, 0, LIMITS.backoffMsMax) && isInt(value.maxDelayMs, 0, LIMITS.backoffMsMax);
}

function keys(...names: string[]): ReadonlySet<string> {
  return new Set(["type", ...names, "atMs", "lamport", "node"]);
}

const SUBMITTED = keys(
  "owner",
  "idempotencyKey",
  "spec",
  "maxAttempts",
  "retry",
  "notBeforeMs",
  "priority",
  "queue",
  "after",
  "queueDeadlineMs",
);
const ASSIGNED = keys("taskId", "attempt", "workerId", "incarnation");
const STARTED = keys("taskId", "attempt", "workerId");
const FINISHED = keys("taskId", "attempt", "workerId", "outcome", "includesStart");
const NOOP = new Set(["type", "atMs"]);

/** Checks by command type; a type not here is checked by its schema. */
export const HOT_COMMAND_CHECKS: Readonly<Record<string, Check>> = {
  noop: (c) => onlyKeys(c, NOOP) && isInt(c.atMs, 0, SAFE),
  taskSubmitted: (c) =>
    onlyKeys(c, SUBMITTED) && isText(c.owner, 1, LIMITS.userNameChars) &&
    isText(c.idempotencyKey, 1, LIMITS.idempotencyKeyChars) && isSpec(c.spec) &&
    isInt(c.maxAttempts, 1, LIMITS.maxAttemptsMax) &&
    (c.retry === undefined || isRetryPolicy(c.retry)) &&
    (c.notBeforeMs === undefined ||
      isInt(c.notBeforeMs, 0, LIMITS.timeMsMax + LIMITS.delayMsMax)) &&
    (c.priority === undefined || isInt(c.priority, -LIMITS.priorityMax, LIMITS.priorityMax)) &&
    (c.queue === undefined ||
      isText(c.queue, 0, LIMITS.queueNameChars) && HANDLER_KIND_PATTERN.test(c.queue as string)) &&
    (c.after === undefined || isAfter(c.after)) &&
    (c.queueDeadlineMs === undefined ||
      isInt(
        c.queueDeadlineMs,
        0,
        LIMITS.timeMsMax + LIMITS.delayMsMax + LIMITS.queueTimeoutMsMax,
      )) &&
    isStamp(c),
  taskAssigned: (c) =>
    onlyKeys(c, ASSIGNED) && isText(c.taskId, 1, LIMITS.workerNameChars) &&
    isInt(c.attempt, 1, SAFE) && isId(c.workerId) && isId(c.incarnation) && isStamp(c),
  taskStarted: (c) =>
    onlyKeys(c, STARTED) && isId(c.taskId) && isInt(c.attempt, 1, SAFE) && isId(c.workerId) &&
    isStamp(c),
  taskFinished: (c) =>
    onlyKeys(c, FINISHED) && isId(c.taskId) && isInt(c.attempt, 1, SAFE) && isId(c.workerId) &&
    isOutcome(c.outcome) &&
    (c.includesStart === undefined || typeof c.includesStart === "boolean") &&
    isStamp(c),
};
