/**
 * The `submit --batch FILE` format: one JSON object per line (blank lines and
 * lines starting with # are skipped):
 *
 *   {"description": "report 1", "durationSeconds": 15}
 *   {"exec": ["convert", "a.png", "a.jpg"], "execTimeoutSeconds": 60}
 *   {"description": "x", "durationSeconds": 0, "idempotencyKey": "x-1", "maxAttempts": 3}
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
  const task = Array.isArray(value.exec)
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
    };
  const item = {
    idempotencyKey: value.idempotencyKey ?? `${keyPrefix}-${lineNo}`,
    task,
    ...(value.maxAttempts === undefined ? {} : { maxAttempts: value.maxAttempts }),
  };
  const parsed = BatchItemSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`field "${issue.path.join(".")}": ${issue.message}`);
  }
  return parsed.data;
}
