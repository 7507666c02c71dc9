/**
 * The `submit --batch FILE` format: one JSON object per line (blank lines and
 * lines starting with # are skipped):
 *
 *   {"description": "report 1", "durationSeconds": 15}
 *   {"exec": ["convert", "a.png", "a.jpg"], "execTimeoutSeconds": 60}
 *   {"description": "x", "durationSeconds": 0, "idempotencyKey": "x-1", "maxAttempts": 3}
 *   {"kind": "resize", "payload": {"w": 64}, "retries": 3, "timeoutSeconds": 30, "priority": 5}
 *
 * A handler task (`kind`, `payload`: any JSON) may also have `backoffSeconds`,
 * `backoffType`, `maxBackoffSeconds`, `delaySeconds`, `queue`, `after` (task ids) and
 * `queueTimeoutSeconds`, as the flags of `submit` of the same names; so may the others.
 *
 * Each line's idempotency key defaults to `PREFIX-LINE` (PREFIX from
 * --idempotency-key, or random per run), so re-running the same batch with
 * the same prefix after a failure never creates a task twice.
 * @module
 */
import { UsageError } from "../../shared/cli_args.ts";
import { LIMITS } from "../../shared/limits.ts";
import { type BatchItem, BatchItemSchema } from "../../shared/protocol/messages.ts";

/**
 * Parses a batch file's text into batch items.
 * @throws {UsageError} naming the line and the problem.
 */
export function parseBatchFile(text: string, keyPrefix: string): BatchItem[] {
  const items: BatchItem[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    items.push(parseLine(line, i + 1, keyPrefix));
  }
  if (items.length === 0) throw new UsageError("Cannot submit batch: the file has no tasks");
  return items;
}

function parseLine(line: string, lineNo: number, keyPrefix: string): BatchItem {
  const fail = (why: string) => new UsageError(`Invalid batch line ${lineNo}: ${why}`);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw fail(`not JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fail("expected a JSON object");
  }
  const known = new Set([
    "description",
    "durationSeconds",
    "exec",
    "execTimeoutSeconds",
    "idempotencyKey",
    "maxAttempts",
    "kind",
    "payload",
    "timeoutSeconds",
    "retries",
    "backoffSeconds",
    "backoffType",
    "maxBackoffSeconds",
    "delaySeconds",
    "priority",
    "queue",
    "after",
    "queueTimeoutSeconds",
  ]);
  const unknown = Object.keys(value).filter((k) => !known.has(k));
  if (unknown.length > 0) throw fail(`unknown field ${unknown.map((k) => `"${k}"`).join(", ")}`);
  const seconds = (field: string, fallback?: number): number => {
    const v = value[field] ?? fallback;
    if (
      typeof v !== "number" || !Number.isFinite(v) || v < 0 || v * 1000 > LIMITS.taskDurationMsMax
    ) {
      throw fail(
        `"${field}" must be a number of seconds from 0 to ${LIMITS.taskDurationMsMax / 1000}`,
      );
    }
    return v;
  };
  if (Array.isArray(value.exec) && !value.exec.every((a) => typeof a === "string")) {
    throw fail(`"exec" must be an array of strings (the program and its arguments)`);
  }
  const ms = (field: string) =>
    value[field] === undefined ? undefined : Math.round(seconds(field) * 1000);
  const timeoutMs = ms("timeoutSeconds");
  const task = typeof value.kind === "string"
    ? {
      kind: "handler" as const,
      handler: value.kind,
      description: typeof value.description === "string" ? value.description : "",
      payload: JSON.stringify(value.payload ?? null),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    }
    : Array.isArray(value.exec)
    ? {
      kind: "exec" as const,
      description: typeof value.description === "string" ? value.description : value.exec.join(" "),
      argv: value.exec,
      timeoutMs: Math.max(1, Math.round(seconds("execTimeoutSeconds", 3600) * 1000)),
    }
    : {
      kind: "sleep" as const,
      description: value.description,
      durationMs: Math.round(seconds("durationSeconds") * 1000),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    };
  const delayMs = ms("delaySeconds");
  const queueTimeoutMs = ms("queueTimeoutSeconds");
  const item = {
    idempotencyKey: value.idempotencyKey ?? `${keyPrefix}-${lineNo}`,
    task,
    ...(value.maxAttempts === undefined ? {} : { maxAttempts: value.maxAttempts }),
    ...(value.retries === undefined ? {} : {
      retry: {
        retries: value.retries,
        backoff: value.backoffType ?? "exponential",
        delayMs: ms("backoffSeconds") ?? 1000,
        maxDelayMs: Math.max(ms("maxBackoffSeconds") ?? 300_000, ms("backoffSeconds") ?? 1000),
      },
    }),
    ...(delayMs === undefined ? {} : { delayMs }),
    ...(value.priority === undefined ? {} : { priority: value.priority }),
    ...(value.queue === undefined ? {} : { queue: value.queue }),
    ...(value.after === undefined ? {} : { after: value.after }),
    ...(queueTimeoutMs === undefined ? {} : { queueTimeoutMs }),
  };
  const parsed = BatchItemSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`field "${issue.path.join(".")}": ${issue.message}`);
  }
  return parsed.data;
}
