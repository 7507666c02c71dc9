/**
 * Validated commands to the requests they send, and replies to what the user sees: the pure
 * middle of the CLI, between `parse_command.ts` and `outcome.ts`. The shell only adds the
 * session's token, fresh random keys, and the connection.
 * @module
 */
import { EXIT_CODES } from "../../shared/errors.ts";
import type { TaskView } from "../../shared/protocol/messages.ts";
import type { MutiraoClient, ReplyTo } from "../api/mod.ts";
import { formatTask } from "./format.ts";
import { type Output, waitFailure } from "./outcome.ts";
import type { Command, WaitOptions } from "./parse_command.ts";

type Request = Parameters<MutiraoClient["request"]>[0];
type RequestOf<T extends Request["type"]> = Extract<Request, { type: T }>;
type CommandOf<N extends Command["name"]> = Extract<Command, { name: N }>;

/** The submit request; `idempotencyKey` is the command's, or a fresh one from the shell. */
export function submitRequest(
  command: CommandOf<"submit">,
  options: { token: string; idempotencyKey: string },
): RequestOf<"submit"> {
  return {
    type: "submit",
    token: options.token,
    idempotencyKey: options.idempotencyKey,
    task: command.spec,
    ...(command.maxAttempts === null ? {} : { maxAttempts: command.maxAttempts }),
    ...command.options,
  };
}

/** The list request: only the filters given, so the orchestrator's defaults apply otherwise. */
export function listRequest(command: CommandOf<"list">, token: string): RequestOf<"list"> {
  const { states } = command;
  return {
    type: "list",
    token,
    ...(command.all ? { all: true } : {}),
    // One state goes as `state`, which orchestrators before paging also understand.
    ...(states.length === 1 ? { state: states[0] } : states.length > 1 ? { states } : {}),
    ...(command.limit === null ? {} : { limit: command.limit }),
    ...(command.after === null ? {} : { after: command.after }),
    paged: true,
  };
}

/** What `submit` without `--wait` prints. */
export function submittedOutput(
  reply: Pick<ReplyTo<"submit">, "taskId" | "duplicate">,
  idempotencyKey: string,
): Output {
  const note = reply.duplicate ? " (already submitted with this idempotency key)" : "";
  return {
    json: { id: reply.taskId, duplicate: reply.duplicate, idempotencyKey },
    text: `Submitted task ${reply.taskId}${note}`,
  };
}

/** One task of a batch as `submit --batch --json` lists it. */
export interface BatchResult {
  id: string;
  duplicate: boolean;
  idempotencyKey: string;
}

/** What `submit --batch` prints: every task in file order, and a one-line summary. */
export function batchOutput(results: readonly BatchResult[]): Output {
  const duplicates = results.filter((r) => r.duplicate).length;
  const range = results.length === 1
    ? results[0].id
    : `${results[0].id} … ${results[results.length - 1].id}`;
  return {
    json: { tasks: results },
    text: `Submitted ${results.length} task(s) (${range})` +
      (duplicates > 0 ? `; ${duplicates} were already submitted with their idempotency keys` : ""),
  };
}

/** A shown task, failing for scripts when `--wait` saw it fail or time out (exit 8 or 9). */
export function taskOutput(task: TaskView, wait: WaitOptions | null): Output {
  const failure = waitFailure(task, wait);
  return { json: task, text: formatTask(task), ...(failure === undefined ? {} : { failure }) };
}

/**
 * What `result` prints: a succeeded task's value (its handler's return value as JSON text, or for
 * sleep and exec tasks their stdout); a failure naming the error when it failed or was cancelled
 * (exit 8), or when it has not ended (exit 13, or 9 after `--wait --wait-timeout`).
 */
export function resultOutput(task: TaskView, wait: WaitOptions | null): Output {
  const value = task.result?.value;
  const json = {
    id: task.id,
    state: task.state,
    // Parsed for --json, so scripts get the value itself rather than a string holding it.
    value: value === undefined ? null : parseOrKeep(value),
    error: task.result?.error ?? null,
  };
  if (task.state === "succeeded") {
    // A handler that returned nothing has no value (its stdout holds its log lines, not a result);
    // sleep and exec tasks show their output.
    const text = value !== undefined
      ? value
      : task.spec.kind === "handler"
      ? "null"
      : (task.result?.stdout ?? "").replace(/\n$/, "");
    return { json, text };
  }
  if (task.state === "failed" || task.state === "cancelled" || task.state === "expired") {
    const why = task.result?.error ?? task.history.at(-1)?.detail ?? task.state;
    return {
      json,
      text: "",
      failure: {
        code: `task_${task.state}`,
        exitCode: EXIT_CODES.taskFailed,
        message: `Task ${task.id} ${task.state}: ${why}`,
      },
    };
  }
  const waited = waitFailure(task, wait);
  return {
    json,
    text: "",
    failure: waited ?? {
      code: "not_finished",
      exitCode: EXIT_CODES.taskNotFinished,
      message: `Task ${task.id} is ${task.state}: no result yet (add --wait to wait for it)`,
    },
  };
}

/** What `logs` prints: the output kept with the task (empty before its attempt ends). */
export function logsOutput(task: TaskView): Output {
  const result = task.result;
  const stdout = result?.stdout ?? "";
  const stderr = result?.stderr ?? "";
  const json = {
    id: task.id,
    state: task.state,
    stdout,
    stderr,
    stdoutTruncated: result?.stdoutTruncated === true,
    stderrTruncated: result?.stderrTruncated === true,
  };
  const parts: string[] = [];
  if (result?.stdoutTruncated === true) parts.push("[… earlier output not kept]");
  if (stdout !== "") parts.push(stdout.replace(/\n$/, ""));
  if (stderr !== "") parts.push(`[stderr]\n${stderr.replace(/\n$/, "")}`);
  if (result === null) parts.push(`(no output yet: task ${task.id} is ${task.state})`);
  return { json, text: parts.join("\n") };
}

/**
 * What `logs --follow` ends with once the task is final (its output was printed as it came): the
 * task's state as the last JSON line, and exit 8 when it failed or was cancelled, as `--wait` does.
 */
export function followedOutput(
  reply: { taskId: string; state: TaskView["state"]; attempt: number; error: string | null },
): Output {
  const json = { id: reply.taskId, state: reply.state, attempt: reply.attempt, error: reply.error };
  if (reply.state !== "failed" && reply.state !== "cancelled" && reply.state !== "expired") {
    return { json, text: null };
  }
  return {
    json,
    text: null,
    failure: {
      code: `task_${reply.state}`,
      exitCode: EXIT_CODES.taskFailed,
      message: `Task ${reply.taskId} ended ${reply.state}` +
        (reply.error === null ? "" : `: ${reply.error}`),
    },
  };
}

/** `text` parsed as JSON; the text itself if it is not JSON (a worker's bug must not crash us). */
function parseOrKeep(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
