/**
 * `mutirao watch [TASK_ID]`: follows the event stream (`GET /api/v1/events`) on the
 * orchestrators' HTTP ports, printing one line per event. A broken stream resumes on the next
 * orchestrator with `Last-Event-ID`, so no event is printed twice or missed (a gap the server
 * reports is said on stderr). With a task id it ends when the task is final, exiting as `--wait`.
 * @module
 */
import { RemoteError } from "../../shared/errors.ts";
import { CLUSTER_ID_HEADER } from "../../shared/protocol/cluster_header.ts";
import type { ErrorCode } from "../../shared/errors.ts";
import { UnreachableError } from "../api/mod.ts";
import { followedOutput } from "./build_request.ts";
import { configurationError, notLoggedIn } from "./cli_error.ts";
import { type Context, requireSession } from "./cluster_session.ts";
import { finalStateOf, formatEventLine, type WatchedEvent } from "./event_line.ts";
import type { Output } from "./outcome.ts";
import type { Command } from "./parse_command.ts";
import { resolveTarget, type Target } from "./resolve_target.ts";
import { boundClusterId, checkClusterClaim } from "./session_binding.ts";
import { readSseEvents } from "./sse_events.ts";

/** Connections failing in a row (on every orchestrator in turn) before giving up. */
const MAX_FAILURES_IN_A_ROW = 30;
/** The pause before connecting again after a failure. */
const RECONNECT_MS = 500;

type WatchCommand = Extract<Command, { name: "watch" }>;

/** Runs `watch`; resolves when the watched task is final (never, without one). */
export async function watch(context: Context, command: WatchCommand): Promise<Output> {
  const session = requireSession(context);
  const target = await resolveTarget({ options: context.options, session });
  const clusterId = boundClusterId(session, target.caFingerprint);
  const bases = httpBases(target);
  const client = target.tls === null
    ? undefined
    : Deno.createHttpClient({ caCerts: target.tls.caCerts });
  const ask = async (base: string, path: string, lastId: string | null) => {
    // As the TCP client waits for the welcome: the token goes only where the cluster is its own.
    checkClusterClaim(base, clusterId, await claimedCluster(base, client));
    return await fetch(`${base}/api/v1${path}`, {
      headers: {
        authorization: `Bearer ${session.token}`,
        ...(lastId === null ? {} : { "last-event-id": lastId }),
      },
      ...(client === undefined ? {} : { client }),
    });
  };
  try {
    if (command.taskId !== null) {
      const ended = await endedAlready(bases, command.taskId, ask);
      if (ended !== null) return ended;
    }
    return await follow({ bases, taskId: command.taskId, json: context.options.json, ask });
  } finally {
    client?.close();
  }
}

type Ask = (base: string, path: string, lastId: string | null) => Promise<Response>;

/**
 * The cluster `base` names, from an answer to a request without credentials (refused at once, at
 * no cost to the node), or null when it names none.
 * @throws {TypeError} when it cannot be reached (as fetch does)
 */
async function claimedCluster(base: string, client: Deno.HttpClient | undefined) {
  const response = await fetch(`${base}/api/v1/cluster`, client === undefined ? {} : { client });
  await response.body?.cancel();
  return response.headers.get(CLUSTER_ID_HEADER);
}

/** The orchestrators' HTTP addresses, from the cluster file (or the login's). */
function httpBases(target: Target): string[] {
  const scheme = target.tls === null ? "http" : "https";
  const bases = target.orchestrators.filter((o) => o.httpPort !== undefined && o.httpPort !== 0)
    .map((o) => `${scheme}://${o.host.includes(":") ? `[${o.host}]` : o.host}:${o.httpPort}`);
  if (bases.length === 0) {
    throw configurationError(
      new Error(
        "Cannot watch: no orchestrator has an httpPort in the cluster file (the event stream is served over HTTP)",
      ),
    );
  }
  return bases;
}

/** The task's outcome if it is final already (its events may have left the stream), else null. */
async function endedAlready(bases: string[], taskId: string, ask: Ask): Promise<Output | null> {
  for (const base of bases) {
    let response: Response;
    try {
      response = await ask(base, `/tasks/${encodeURIComponent(taskId)}`, null);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // another cluster's: refused
      continue; // that orchestrator is down: the next one answers the same
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 503) continue;
    if (!response.ok) throw remoteErrorOf(response.status, body);
    const task = body.task as { state: string; attempt: number; error: string | null };
    if (!["succeeded", "failed", "cancelled", "expired"].includes(task.state)) return null;
    return followedOutput({
      taskId,
      state: task.state as "succeeded",
      attempt: task.attempt,
      error: task.error,
    });
  }
  return null; // none answered: the stream will say more, or fail
}

function remoteErrorOf(status: number, body: { error?: { code?: string; message?: string } }) {
  const code = (body.error?.code ?? "internal") as ErrorCode;
  const message = body.error?.message ?? `HTTP status ${status}`;
  if (code === "unauthenticated") return notLoggedIn(message.replace(/; log in again$/, ""));
  return new RemoteError(code, message);
}

/** Follows the stream across orchestrators until the task is final (or forever without one). */
async function follow(
  options: { bases: string[]; taskId: string | null; json: boolean; ask: Ask },
): Promise<Output> {
  const { bases, taskId, json, ask } = options;
  const query = taskId === null ? "" : `?task=${encodeURIComponent(taskId)}`;
  let lastId: string | null = null;
  let failures = 0;
  for (let turn = 0;; turn++) {
    if (failures >= MAX_FAILURES_IN_A_ROW) {
      throw new UnreachableError(
        `Cannot watch: the event stream broke ${failures} times in a row on ${bases.join(", ")}`,
      );
    }
    if (turn > 0) await new Promise((resolve) => setTimeout(resolve, failures * RECONNECT_MS));
    const base = bases[turn % bases.length];
    let response: Response;
    try {
      response = await ask(base, `/events${query}`, lastId);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // another cluster's: refused
      failures++; // unreachable: the next orchestrator, after a pause
      continue;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      if (response.status === 503 || response.status === 429) {
        failures++;
        continue;
      }
      throw remoteErrorOf(response.status, body);
    }
    failures = 0;
    try {
      for await (const sse of readSseEvents(response.body!)) {
        if (sse.data === null) {
          lastId = sse.id; // read past events this reader does not see: resume from here
          continue;
        }
        const data = JSON.parse(sse.data) as WatchedEvent;
        if (sse.event === "error") throw remoteErrorOf(401, data as never);
        if (sse.event === "gap") {
          console.error(`mutirao: ${String(data.message)}`);
          continue;
        }
        if (sse.id !== null) lastId = sse.id;
        console.log(json ? JSON.stringify(data) : formatEventLine(data));
        const state = taskId === null ? null : finalStateOf(data, taskId);
        if (state !== null) {
          return followedOutput({
            taskId: taskId!,
            state: state as "succeeded",
            attempt: Number(data.attempt),
            error: typeof data.detail === "string" ? data.detail : null,
          });
        }
      }
      failures++; // the orchestrator ended the stream (it is stopping): the next one
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      failures++; // the connection broke: resume on the next orchestrator after the last id
    }
  }
}
