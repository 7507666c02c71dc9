/**
 * Task batches of a binary snapshot (format 2). A batch holds up to TASKS_PER_BATCH tasks as two
 * length-prefixed blocks: its strings, each once, as one JSON array (the engine's JSON parser is
 * the fastest way to turn many UTF-8 strings into JavaScript strings), then every task's fields as
 * varints in a fixed order, strings named by their index in that array. Nothing is keyed by name,
 * so a task costs about a fifth of its JSON and loads several times faster.
 * @module
 */
import {
  DEFAULT_QUEUE,
  type Outcome,
  type RetryPolicy,
  TASK_STATES,
  type TaskSpec,
} from "../../shared/protocol/messages.ts";
import type { TaskRecord } from "./records.ts";
import { ByteReader, ByteWriter, decodeUtf8, lengthPrefixed } from "./_byte_columns.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { OutcomePool } from "./_outcome_pool.ts";
import { NO_TASKS } from "./dependencies.ts";

/** Tasks per batch: a batch stays well under a megabyte, and is one step of an encoding in steps. */
export const TASKS_PER_BATCH = 2000;

const SPEC_SLEEP = 0;
const SPEC_EXEC = 1;
const SPEC_HANDLER = 2;
/** A sleep with a timeout (sleeps without one keep the shorter form). */
const SPEC_SLEEP_TIMED = 3;
const SPEC_KINDS = 4;
const BACKOFFS = ["exponential", "fixed"] as const;
const OUTCOME_STATUSES = ["succeeded", "failed"] as const;
/** Bits of a task's flags field. */
const STARTED = 1;
const HAS_RESULT = 2;
const STDOUT_TRUNCATED = 4;
const STDERR_TRUNCATED = 8;
const ID_FROM_SEQ = 16;
/** Retry policy, retries used and not-before time follow (tasks that use none omit them). */
const HAS_SCHEDULE = 32;
const HAS_VALUE = 64;
const TIMED_OUT = 128;
/** Priority and queue follow (tasks in the default lane omit them). */
const HAS_LANE = 256;
/** The tasks it runs after, and those it still waits for, follow. */
const HAS_AFTER = 512;
const DEPENDENCY_FAILED = 1024;
/** The queue deadline follows. */
const HAS_QUEUE_DEADLINE = 2048;
const FLAGS_MAX = 4095;

/** Each distinct string once, in first-use order, with its index. */
class StringTable {
  readonly strings: string[] = [];
  readonly #index = new Map<string, number>();

  of(value: string): number {
    let index = this.#index.get(value);
    if (index === undefined) {
      index = this.strings.length;
      this.strings.push(value);
      this.#index.set(value, index);
    }
    return index;
  }

  /** 0 for null, index + 1 otherwise. */
  ofNullable(value: string | null): number {
    return value === null ? 0 : this.of(value) + 1;
  }
}

/** Tasks `from` to `from + count` of `tasks` as one batch. */
export function encodeTaskBatch(
  tasks: readonly TaskRecord[],
  from: number,
  count: number,
): Uint8Array {
  const table = new StringTable();
  const out = new ByteWriter(count * 48);
  out.uint(count);
  for (let i = from; i < from + count; i++) encodeTask(tasks[i], table, out);
  const strings = new TextEncoder().encode(JSON.stringify(table.strings));
  return concatBytes([lengthPrefixed(strings), lengthPrefixed(out.bytes())]);
}

function encodeTask(task: TaskRecord, table: StringTable, out: ByteWriter): void {
  const result = task.result;
  const idFromSeq = task.id === `t-${task.seq}`;
  const hasSchedule = task.retry !== null || task.retried !== 0 || task.notBeforeMs !== 0;
  const hasLane = task.priority !== 0 || task.queue !== DEFAULT_QUEUE;
  out.uint(task.seq);
  out.uint(
    (task.started ? STARTED : 0) | (result !== null ? HAS_RESULT : 0) |
      (result?.stdoutTruncated === true ? STDOUT_TRUNCATED : 0) |
      (result?.stderrTruncated === true ? STDERR_TRUNCATED : 0) |
      (idFromSeq ? ID_FROM_SEQ : 0) |
      (hasSchedule ? HAS_SCHEDULE : 0) |
      (result?.value !== undefined ? HAS_VALUE : 0) |
      (result?.timedOut === true ? TIMED_OUT : 0) |
      (hasLane ? HAS_LANE : 0) |
      (task.after.length > 0 ? HAS_AFTER : 0) |
      (result?.dependencyFailed !== undefined ? DEPENDENCY_FAILED : 0) |
      (task.queueDeadlineMs !== 0 ? HAS_QUEUE_DEADLINE : 0),
  );
  if (!idFromSeq) out.uint(table.of(task.id));
  out.uint(table.of(task.owner));
  out.uint(table.of(task.idempotencyKey));
  encodeSpec(task.spec, table, out);
  out.uint(task.maxAttempts);
  if (hasSchedule) {
    const retry = task.retry;
    out.uint(retry === null ? 0 : 1 + BACKOFFS.indexOf(retry.backoff));
    if (retry !== null) {
      out.uint(retry.retries);
      out.uint(retry.delayMs);
      out.uint(retry.maxDelayMs);
    }
    out.uint(task.retried);
    out.uint(task.notBeforeMs);
  }
  if (hasLane) {
    out.int(task.priority);
    out.uint(table.of(task.queue));
  }
  if (task.after.length > 0) {
    out.uint(task.after.length);
    for (const id of task.after) out.uint(table.of(id));
    out.uint(task.waitingFor.length);
    for (const id of task.waitingFor) out.uint(table.of(id));
  }
  if (task.queueDeadlineMs !== 0) out.uint(task.queueDeadlineMs);
  out.uint(TASK_STATES.indexOf(task.state));
  out.uint(task.attempt);
  out.uint(table.ofNullable(task.workerId));
  out.uint(task.submittedAtMs);
  out.nullableInt(task.finishedAtMs === null ? null : task.finishedAtMs - task.submittedAtMs);
  if (result !== null) {
    out.uint(OUTCOME_STATUSES.indexOf(result.status));
    out.nullableInt(result.exitCode);
    out.uint(table.of(result.stdout));
    out.uint(table.of(result.stderr));
    out.uint(table.ofNullable(result.error));
    out.uint(result.durationMs);
    if (result.value !== undefined) out.uint(table.of(result.value));
    if (result.dependencyFailed !== undefined) out.uint(table.of(result.dependencyFailed));
  }
  out.uint(table.of(task.packedHistory));
}

function encodeSpec(spec: TaskSpec, table: StringTable, out: ByteWriter): void {
  if (spec.kind === "sleep") {
    out.uint(spec.timeoutMs === undefined ? SPEC_SLEEP : SPEC_SLEEP_TIMED);
    out.uint(table.of(spec.description));
    out.uint(spec.durationMs);
    if (spec.timeoutMs !== undefined) out.uint(spec.timeoutMs);
    return;
  }
  if (spec.kind === "handler") {
    out.uint(SPEC_HANDLER);
    out.uint(table.of(spec.description));
    out.uint(table.of(spec.handler));
    out.uint(table.of(spec.payload));
    out.nullableInt(spec.timeoutMs ?? null);
    return;
  }
  out.uint(SPEC_EXEC);
  out.uint(table.of(spec.description));
  out.uint(spec.argv.length);
  for (const arg of spec.argv) out.uint(table.of(arg));
  out.uint(spec.timeoutMs);
}

/**
 * Appends the tasks of one batch to `into`.
 * @throws {RangeError | SyntaxError} for bytes that are not such a batch.
 */
export function decodeTaskBatch(batch: Uint8Array, into: TaskRecord[]): void {
  const blocks = new ByteReader(batch);
  const stringBytes = blocks.block("string table");
  const fieldBytes = blocks.block("task fields");
  if (blocks.remaining !== 0) {
    throw new RangeError("Snapshot task batch has bytes after its fields");
  }
  const strings = parseStrings(stringBytes);
  const fields = new ByteReader(fieldBytes);
  const outcomes = new OutcomePool();
  // Every task takes more than one byte: a count above the bytes is a lie, not a long loop.
  const count = fields.below(fieldBytes.length + 1, "task count");
  for (let i = 0; i < count; i++) into.push(decodeTask(fields, strings, outcomes));
  if (fields.remaining !== 0) throw new RangeError("Snapshot task batch has bytes after its tasks");
}

function parseStrings(bytes: Uint8Array): string[] {
  const strings: unknown = JSON.parse(decodeUtf8(bytes, "string table"));
  if (!Array.isArray(strings) || !strings.every((s) => typeof s === "string")) {
    throw new RangeError("Snapshot string table is not a list of strings");
  }
  return strings;
}

function decodeTask(
  fields: ByteReader,
  strings: readonly string[],
  outcomes: OutcomePool,
): TaskRecord {
  const string = () => strings[fields.below(strings.length, "string index")];
  const nullableString = () => {
    const index = fields.below(strings.length + 1, "string index");
    return index === 0 ? null : strings[index - 1];
  };
  const seq = fields.uint();
  const flags = fields.below(FLAGS_MAX + 1, "task flags");
  // Task ids are t-<seq> (TaskStateMachine#submit): stored only when one is not.
  const id = (flags & ID_FROM_SEQ) !== 0 ? `t-${seq}` : string();
  const owner = string();
  const idempotencyKey = string();
  const spec = decodeSpec(fields, string);
  const maxAttempts = fields.uint();
  let retry: RetryPolicy | null = null, retried = 0, notBeforeMs = 0;
  if ((flags & HAS_SCHEDULE) !== 0) {
    const backoff = fields.below(BACKOFFS.length + 1, "retry backoff");
    if (backoff !== 0) {
      retry = {
        retries: fields.uint(),
        backoff: BACKOFFS[backoff - 1],
        delayMs: fields.uint(),
        maxDelayMs: fields.uint(),
      };
    }
    retried = fields.uint();
    notBeforeMs = fields.uint();
  }
  let priority = 0, queue: string = DEFAULT_QUEUE;
  if ((flags & HAS_LANE) !== 0) {
    priority = fields.int();
    queue = string();
  }
  let after = NO_TASKS, waitingFor = NO_TASKS;
  if ((flags & HAS_AFTER) !== 0) {
    after = stringList(fields, string);
    waitingFor = stringList(fields, string);
  }
  const queueDeadlineMs = (flags & HAS_QUEUE_DEADLINE) !== 0 ? fields.uint() : 0;
  const state = TASK_STATES[fields.below(TASK_STATES.length, "task state")];
  const attempt = fields.uint();
  const workerId = nullableString();
  const submittedAtMs = fields.uint();
  const finishedDeltaMs = fields.nullableInt();
  let result: Outcome | null = null;
  if ((flags & HAS_RESULT) !== 0) {
    result = {
      status: OUTCOME_STATUSES[fields.below(OUTCOME_STATUSES.length, "outcome status")],
      exitCode: fields.nullableInt(),
      stdout: string(),
      stderr: string(),
      error: nullableString(),
      durationMs: fields.uint(),
    };
    if ((flags & STDOUT_TRUNCATED) !== 0) result.stdoutTruncated = true;
    if ((flags & STDERR_TRUNCATED) !== 0) result.stderrTruncated = true;
    if ((flags & HAS_VALUE) !== 0) result.value = string();
    if ((flags & DEPENDENCY_FAILED) !== 0) result.dependencyFailed = string();
    if ((flags & TIMED_OUT) !== 0) result.timedOut = true;
    result = outcomes.share(result);
  }
  return {
    id,
    seq,
    owner,
    idempotencyKey,
    spec,
    maxAttempts,
    retry,
    retried,
    notBeforeMs,
    priority,
    queue,
    after,
    waitingFor: waitingFor.length === 0 ? NO_TASKS : waitingFor,
    queueDeadlineMs,
    state,
    attempt,
    workerId,
    started: (flags & STARTED) !== 0,
    submittedAtMs,
    finishedAtMs: finishedDeltaMs === null ? null : submittedAtMs + finishedDeltaMs,
    result,
    packedHistory: string(),
  };
}

/** A count, then that many strings. */
function stringList(fields: ByteReader, string: () => string): readonly string[] {
  const count = fields.below(fields.remaining + 1, "list length");
  const list: string[] = [];
  for (let i = 0; i < count; i++) list.push(string());
  return list;
}

function decodeSpec(fields: ByteReader, string: () => string): TaskSpec {
  const kind = fields.below(SPEC_KINDS, "task kind");
  const description = string();
  if (kind === SPEC_SLEEP) return { kind: "sleep", description, durationMs: fields.uint() };
  if (kind === SPEC_SLEEP_TIMED) {
    return { kind: "sleep", description, durationMs: fields.uint(), timeoutMs: fields.uint() };
  }
  if (kind === SPEC_HANDLER) {
    const handler = string();
    const payload = string();
    const timeoutMs = fields.nullableInt();
    return {
      kind: "handler",
      handler,
      description,
      payload,
      ...(timeoutMs === null ? {} : { timeoutMs }),
    };
  }
  const argc = fields.below(fields.remaining + 1, "argument count");
  const argv: string[] = [];
  for (let i = 0; i < argc; i++) argv.push(string());
  return { kind: "exec", description, argv, timeoutMs: fields.uint() };
}
