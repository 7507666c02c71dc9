/**
 * The task commands' I/O: submit (one, `--exec`, `--batch`), status, result, logs (and
 * `logs --follow`, which prints as it goes), list, workers, cancel.
 * Arguments arrive validated ({@link Command}); exit codes come from `outcome.ts`.
 * @module
 */
import { UsageError } from "../../shared/cli_args.ts";
import { EXIT_CODES, RemoteError } from "../../shared/errors.ts";
import {
  DEFAULT_QUEUE,
  isFinalState,
  type TaskSpec,
  type TaskView,
} from "../../shared/protocol/messages.ts";
import { retryRefusal, retrySubmission } from "../../shared/protocol/retry_submission.ts";
import type { MutiraoClient } from "../api/mod.ts";
import { parseBatchFile } from "./batch_file.ts";
import { CliError } from "./cli_error.ts";
import { type Context, withSessionClient } from "./cluster_session.ts";
import {
  batchOutput,
  type BatchResult,
  followedOutput,
  listRequest,
  logsOutput,
  resultOutput,
  submitRequest,
  submittedOutput,
  taskOutput,
} from "./build_request.ts";
import { formatTask, formatTaskList, formatWorkers } from "./format.ts";
import { LogFollower, type LogPiece } from "./log_follower.ts";
import type { Output } from "./outcome.ts";
import type { Command, WaitOptions } from "./parse_command.ts";
import type { Session } from "./session_store.ts";
import { checkPayload } from "./parse_submit.ts";

type CommandOf<N extends Command["name"]> = Extract<Command, { name: N }>;

/** Tasks per batch request, and bytes (under the orchestrators' 1 MiB frame limit). */
const BATCH_CHUNK = 1000;
const BATCH_CHUNK_BYTES = 768 * 1024;
/** Pause between two `logs` requests of `logs --follow`. */
const FOLLOW_POLL_MS = 400;
/** Longest server-side wait per request; a longer `--wait` is several rounds. */
const WAIT_ROUND_MS_MAX = 60_000;

/** Splits a batch into requests small enough for one frame each. */
export function chunkBatch<T>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = JSON.stringify(item).length * 3; // UTF-8 upper bound: never overshoots
    if (current.length > 0 && (current.length >= BATCH_CHUNK || bytes + size > BATCH_CHUNK_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export async function submit(context: Context, given: CommandOf<"submit">): Promise<Output> {
  const command = await withPayloadFile(given);
  const idempotencyKey = command.idempotencyKey ?? crypto.randomUUID();
  return await withSessionClient(context, async (c, session) => {
    const reply = await c.request(
      submitRequest(command, { token: session.token, idempotencyKey }),
    );
    if (command.wait === null) return submittedOutput(reply, idempotencyKey);
    return taskOutput(await waitForTask(c, session, reply.taskId, command.wait), command.wait);
  });
}

export async function submitBatch(
  context: Context,
  command: CommandOf<"submitBatch">,
): Promise<Output> {
  let text: string;
  try {
    text = command.path === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(command.path);
  } catch (error) {
    throw new UsageError(`Cannot read batch file ${command.path}: ${(error as Error).message}`);
  }
  const items = parseBatchFile(text, command.keyPrefix ?? crypto.randomUUID());
  const results: BatchResult[] = [];
  const refused: string[] = [];
  await withSessionClient(context, async (c, session) => {
    for (const chunk of chunkBatch(items)) {
      const reply = await c.request({ type: "submitBatch", token: session.token, tasks: chunk });
      reply.results.forEach((r, i) => {
        if (r.error !== undefined) {
          refused.push(r.error);
          return;
        }
        results.push({
          id: r.taskId,
          duplicate: r.duplicate,
          idempotencyKey: chunk[i].idempotencyKey,
        });
      });
    }
  });
  if (refused.length > 0) {
    // The others were submitted; say so, since a retry with the same keys finds them.
    throw new CliError(
      "conflict",
      EXIT_CODES.rejected,
      `Refused ${refused.length} of ${items.length} task(s), submitted the other ${results.length}: ` +
        refused.slice(0, 3).join("; ") + (refused.length > 3 ? "; …" : ""),
    );
  }
  return batchOutput(results);
}

export async function status(context: Context, command: CommandOf<"status">): Promise<Output> {
  return await withSessionClient(context, async (c, session) => {
    const task = command.wait !== null
      ? await waitForTask(c, session, command.taskId, command.wait)
      : (await c.request({ type: "status", token: session.token, taskId: command.taskId })).task;
    return taskOutput(task, command.wait);
  });
}

/** `command` with the payload of `--payload @FILE` read into its spec. */
async function withPayloadFile(command: CommandOf<"submit">): Promise<CommandOf<"submit">> {
  if (command.payloadFile === null) return command;
  return {
    ...command,
    spec: await readPayloadFile(command.spec, command.payloadFile),
    payloadFile: null,
  };
}

/**
 * `spec` with its payload read from `payloadFile` (`--payload @FILE`; `-`: stdin), checked.
 * @throws {UsageError} when the file cannot be read or does not hold a valid payload.
 */
export async function readPayloadFile(spec: TaskSpec, payloadFile: string): Promise<TaskSpec> {
  if (spec.kind !== "handler") return spec;
  let text: string;
  try {
    text = payloadFile === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(payloadFile);
  } catch (error) {
    throw new UsageError(`Cannot read payload file ${payloadFile}: ${(error as Error).message}`);
  }
  return { ...spec, payload: checkPayload(text.trim(), payloadFile) };
}

export async function result(context: Context, command: CommandOf<"result">): Promise<Output> {
  return await withSessionClient(context, async (c, session) => {
    const task = command.wait !== null
      ? await waitForTask(c, session, command.taskId, command.wait)
      : (await c.request({ type: "status", token: session.token, taskId: command.taskId })).task;
    return resultOutput(task, command.wait);
  });
}

export async function logs(
  context: Context,
  command: CommandOf<"logs">,
  sink: (piece: LogPiece) => void = printPiece(context.options.json),
): Promise<Output> {
  if (!command.follow) {
    const { task } = await withSessionClient(
      context,
      (c, session) => c.request({ type: "status", token: session.token, taskId: command.taskId }),
    );
    return logsOutput(task);
  }
  return await withSessionClient(context, async (c, session) => {
    const follower = new LogFollower(command.taskId);
    for (;;) {
      const reply = await c.request({
        type: "logs",
        token: session.token,
        taskId: command.taskId,
        ...follower.query(),
      });
      for (const piece of follower.take(reply)) sink(piece);
      if (reply.isFinal) return followedOutput(reply);
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
    }
  });
}

/**
 * Prints a piece of followed output as it comes: a stream's text as it is, to the same stream of
 * ours; a note on stderr. With `--json`, each as one JSON line on stdout.
 */
function printPiece(json: boolean): (piece: LogPiece) => void {
  const encoder = new TextEncoder();
  return (piece) => {
    if (json) {
      console.log(JSON.stringify(piece));
    } else if ("notice" in piece) {
      console.error(piece.notice);
    } else {
      writeAll(piece.stream === "stdout" ? Deno.stdout : Deno.stderr, encoder.encode(piece.text));
    }
  };
}

function writeAll(to: { writeSync(bytes: Uint8Array): number }, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += to.writeSync(bytes.subarray(done));
}

export async function list(context: Context, command: CommandOf<"list">): Promise<Output> {
  const reply = await withSessionClient(context, async (c, session) => {
    const request = listRequest(command, session.token);
    try {
      return await c.request(request);
    } catch (error) {
      // An orchestrator from before paging refuses `paged`: ask for the same page the old way
      // (no total) when nothing else needs paging (several states, a cursor).
      const isOldStyle = command.states.length <= 1 && command.after === null;
      if (!(error instanceof RemoteError) || error.code !== "bad_request" || !isOldStyle) {
        throw error;
      }
      const { paged: _paged, ...plain } = request;
      return await c.request(plain);
    }
  });
  // An orchestrator from before paging sends neither total nor next: show the page as it is.
  if (reply.total === undefined) {
    return { json: { tasks: reply.tasks }, text: formatTaskList(reply.tasks) };
  }
  const next = reply.next ?? null;
  return {
    json: { tasks: reply.tasks, total: reply.total, next },
    text: formatTaskList(reply.tasks, { total: reply.total, next, command: listCommand(command) }),
  };
}

/** The `list` command line that asks for the same tasks, for the next page's hint. */
function listCommand(command: CommandOf<"list">): string {
  return [
    "mutirao list",
    ...(command.states.length > 0 ? [`--state ${command.states.join(",")}`] : []),
    ...(command.limit === null ? [] : [`--limit ${command.limit}`]),
    ...(command.all ? ["--all"] : []),
  ].join(" ");
}

export async function workers(context: Context): Promise<Output> {
  const reply = await withSessionClient(
    context,
    (c, session) => c.request({ type: "workers", token: session.token }),
  );
  return { json: { workers: reply.workers }, text: formatWorkers(reply.workers) };
}

export async function cancel(context: Context, command: CommandOf<"cancel">): Promise<Output> {
  const reply = await withSessionClient(
    context,
    (c, session) => c.request({ type: "cancel", token: session.token, taskId: command.taskId }),
  );
  return { json: reply.task, text: formatTask(reply.task) };
}

/** Tasks looked at per page by `cancel --state`. */
const CANCEL_PAGE = 1000;

/**
 * `cancel --state …`: pages through the matching tasks, newest first, and cancels each (a task
 * that ended meanwhile is skipped). Paging by cursor is stable while tasks are cancelled.
 */
export async function cancelMany(
  context: Context,
  command: CommandOf<"cancelMany">,
): Promise<Output> {
  const cancelled: string[] = [];
  let skipped = 0;
  await withSessionClient(context, async (c, session) => {
    let after: string | undefined;
    for (;;) {
      const page = await c.request({
        type: "list",
        token: session.token,
        ...(command.states.length === 1
          ? { state: command.states[0] }
          : { states: command.states }),
        limit: CANCEL_PAGE,
        ...(after === undefined ? {} : { after }),
        ...(command.all ? { all: true } : {}),
        paged: true,
      });
      for (const task of page.tasks) {
        if (command.kind !== null && task.kind !== command.kind) continue;
        if (command.queue !== null && (task.queue ?? DEFAULT_QUEUE) !== command.queue) continue;
        try {
          await c.request({ type: "cancel", token: session.token, taskId: task.id });
          cancelled.push(task.id);
        } catch (error) {
          // It ended (or was cancelled) since the page was read: nothing to cancel.
          if (!(error instanceof RemoteError) || error.code !== "conflict") throw error;
          skipped += 1;
        }
      }
      if (page.next === undefined || page.next === null) break;
      after = page.next;
    }
  });
  return {
    json: { cancelled, skipped },
    text: `Cancelled ${cancelled.length} task(s)` +
      (skipped > 0 ? `; ${skipped} had ended meanwhile` : "") +
      (cancelled.length > 0 && cancelled.length <= 20 ? `: ${cancelled.join(", ")}` : ""),
  };
}

/**
 * `retry ID`: a new task with the failed one's spec and options (retry_submission.ts, shared with
 * the REST API's `POST /tasks/{id}/retry`).
 */
export async function retry(context: Context, command: CommandOf<"retry">): Promise<Output> {
  return await withSessionClient(context, async (c, session) => {
    const { task: old } = await c.request({
      type: "status",
      token: session.token,
      taskId: command.taskId,
    });
    const refusal = retryRefusal(old);
    if (refusal !== null) throw new CliError("conflict", EXIT_CODES.rejected, refusal);
    const submission = retrySubmission(old);
    const idempotencyKey = submission.idempotencyKey;
    const reply = await c.request({ ...submission, token: session.token });
    if (command.wait !== null) {
      return taskOutput(await waitForTask(c, session, reply.taskId, command.wait), command.wait);
    }
    const output = submittedOutput(reply, idempotencyKey);
    return {
      json: { ...(output.json as Record<string, unknown>), retryOf: old.id },
      text: `${output.text} (a retry of ${old.id})`,
    };
  });
}

/** Waits until the task is final, in rounds of server-side waits; bounded by --wait-timeout. */
async function waitForTask(
  client: MutiraoClient,
  session: Session,
  taskId: string,
  wait: WaitOptions,
): Promise<TaskView> {
  const deadline = wait.timeoutS === null ? Infinity : Date.now() + wait.timeoutS * 1000;
  for (;;) {
    const timeoutMs = Math.max(1, Math.min(WAIT_ROUND_MS_MAX, deadline - Date.now()));
    const { task } = await client.request({
      type: "wait",
      token: session.token,
      taskId,
      timeoutMs,
    });
    if (isFinalState(task.state)) {
      return task;
    }
    if (Date.now() >= deadline) return task;
  }
}
