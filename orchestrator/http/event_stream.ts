/**
 * `GET /api/v1/events`: the event stream as Server-Sent Events. Events come from this node's ring
 * (orchestrator/core/event_ring.ts), derived from the entries it applied, so any orchestrator
 * serves the stream, followers too, with the same ids: a client resumes anywhere with
 * `Last-Event-ID` (or `?after=`). A follower is behind the leader by what it has not applied yet
 * (in a healthy cluster one replication round, milliseconds; a partitioned follower falls silent
 * until it hears from a leader again, and its keepalives still flow).
 * @module
 */
import { hashToken } from "../../shared/auth/mod.ts";
import type { ErrorCode } from "../../shared/errors.ts";
import {
  checkSession,
  type EventFilter,
  type EventId,
  formatEventId,
  isVisible,
  type OrchestratorNode,
  parseEventId,
  sessionRefusal,
  type StreamEvent,
} from "../core/mod.ts";
import { errorBody, errorStatus } from "./error_status.ts";
import type { OpenStreams } from "./open_streams.ts";

/** The path of the stream. */
export const EVENTS_PATH = "/api/v1/events";
/** How often a stream looks for new events in the ring. */
const POLL_MS = 50;
/** A comment line this often keeps proxies and clients from timing out an idle stream. */
const KEEPALIVE_MS = 15_000;
/** Events read from the ring at a time, per stream. */
const READ_BATCH = 1000;
/**
 * Batches one poll may read, while the reader keeps up (its queue not full): 20 × 1,000 events
 * per 50 ms is 400,000 events/s, well above what the cluster produces, so a reader that keeps up
 * is never held back by the poll (one batch per poll capped it at 20,000 events/s, less than a
 * busy cluster's task events).
 */
const BATCHES_PER_POLL = 20;
const KINDS = new Set([
  "task",
  "worker",
  "cluster",
  ...[
    "submitted",
    "assigned",
    "started",
    "succeeded",
    "failed",
    "retrying",
    "requeued",
    "cancelled",
    "expired",
  ].map((e) => `task.${e}`),
  "worker.joined",
  "worker.draining",
  "worker.lost",
  "cluster.leader",
]);

/** What the stream needs from the server. */
export interface EventStreamPorts {
  node(): OrchestratorNode;
  nowMs(): number;
  /** Aborted when the server stops: every stream ends. */
  signal: AbortSignal;
  /** How often a keepalive is sent (KEEPALIVE_MS unless a test says otherwise). */
  /** How often the stream looks for new events (default 50 ms; tests). */
  pollMs?: number;
  keepaliveMs?: number;
}

/** A request's reader, filter and cursor, or the error to answer. */
type Parsed =
  | { ok: true; filter: EventFilter; cursor: EventId | null }
  | { ok: false; code: ErrorCode; message: string };

/**
 * Reads the reader and the filters of a stream request. The token comes from
 * `Authorization: Bearer` or, because a browser's EventSource cannot set headers, `?token=`.
 */
export function parseEventRequest(
  request: Request,
  ports: { node(): OrchestratorNode; nowMs(): number },
): Parsed {
  const url = new URL(request.url);
  const header = request.headers.get("authorization") ?? "";
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? url.searchParams.get("token");
  if (token === null || token === "") {
    return fail("unauthenticated", "Missing Authorization: Bearer TOKEN header (or ?token=)");
  }
  const node = ports.node();
  const caller = checkSession(node.sm, { tokenHash: hashToken(token), nowMs: ports.nowMs() });
  if (typeof caller === "string") {
    // As `cluster` is answered: a follower may not have applied a fresh login yet ("retry").
    const refusal = sessionRefusal(caller, {
      canServeClients: node.canServeClients,
      nodeId: node.options.nodeId,
    });
    return fail(refusal.code, refusal.message);
  }
  const filter: EventFilter = { user: caller.user, isAdmin: caller.role === "admin" };
  const taskId = url.searchParams.get("task");
  if (taskId !== null) filter.taskId = taskId;
  const owner = url.searchParams.get("user");
  if (owner !== null) {
    if (!filter.isAdmin && owner !== caller.user) {
      return fail("forbidden", `Only admins can watch another user's tasks, got user "${owner}"`);
    }
    filter.owner = owner;
  }
  const kinds = url.searchParams.get("kind");
  if (kinds !== null) {
    filter.kinds = kinds.split(",").map((k) => k.trim()).filter((k) => k !== "");
    const unknown = filter.kinds.find((k) => !KINDS.has(k));
    if (unknown !== undefined) {
      return fail(
        "bad_request",
        `Cannot stream events: unknown kind "${unknown}" (task, worker, cluster or e.g. task.succeeded)`,
      );
    }
  }
  const after = request.headers.get("last-event-id") ?? url.searchParams.get("after");
  if (after === null) return { ok: true, filter, cursor: null };
  const cursor = parseEventId(after);
  if (cursor === null) {
    return fail(
      "bad_request",
      `Cannot resume the event stream: an event id is INDEX.POSITION, got "${after}"`,
    );
  }
  return { ok: true, filter, cursor };
}

function fail(code: ErrorCode, message: string): Parsed {
  return { ok: false, code, message };
}

/**
 * Each ring event's SSE text, made once however many streams send it (ring events are never
 * changed once appended); an event leaves it when the ring lets go of the event.
 */
const sseTexts = new WeakMap<StreamEvent, string>();

/** One event in the SSE format: its id, its kind as the event name, itself as JSON data. */
export function formatSse(event: StreamEvent): string {
  let text = sseTexts.get(event);
  if (text === undefined) {
    text = `id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`;
    sseTexts.set(event, text);
  }
  return text;
}

/** A cursor as a resumable event id: a bare index stands for "after all of that entry's events". */
export function formatCursor(cursor: EventId): string {
  return cursor.position === Number.MAX_SAFE_INTEGER ? String(cursor.index) : formatEventId(cursor);
}

/**
 * A block with only an id: an SSE client dispatches nothing (no data) but records it as its last
 * event id (WHATWG HTML, "dispatch the event", step 1), so it resumes from there.
 */
export function formatCursorId(cursor: EventId): string {
  return `id: ${formatCursor(cursor)}\n\n`;
}

/** The event sent when events after the client's id are no longer held. */
export function formatGap(after: EventId, floor: EventId | null): string {
  const data = {
    kind: "gap",
    after: formatCursor(after),
    message:
      "Events after this id are no longer held here (older than the ring, or before this orchestrator's snapshot): re-read the state (GET /api/v1/tasks) and go on with the events that follow",
    heldAfter: floor === null ? "0" : formatCursor(floor),
  };
  return `event: gap\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Answers a stream request: an error as JSON, or the stream. */
export function serveEvents(request: Request, ports: EventStreamPorts, open: OpenStreams) {
  if (request.method !== "GET") {
    return Response.json(errorBody("bad_request", `Use GET ${EVENTS_PATH}`), {
      status: 405,
      headers: { allow: "GET" },
    });
  }
  const parsed = parseEventRequest(request, ports);
  if (!parsed.ok) {
    return Response.json(errorBody(parsed.code, parsed.message), {
      status: errorStatus(parsed.code),
    });
  }
  const refusal = open.open(parsed.filter.user);
  if (refusal !== null) {
    return Response.json(errorBody("rate_limited", refusal), {
      status: errorStatus("rate_limited"),
    });
  }
  const { filter } = parsed;
  const ring = () => ports.node().events;
  // Without a cursor: a task's stream starts with its events still held; others with what comes.
  let cursor: EventId = parsed.cursor ??
    (filter.taskId !== undefined ? ring().floor : null) ?? ring().last;
  const encoder = new TextEncoder();
  let poll: ReturnType<typeof setInterval> | undefined;
  let keepalive: ReturnType<typeof setInterval> | undefined;
  let stopped = false;
  const stop = () => {
    // Once only, so the slot is given back once (an abort may race the reader's cancel).
    if (stopped) return;
    stopped = true;
    clearInterval(poll);
    clearInterval(keepalive);
    ports.signal.removeEventListener("abort", onAbort);
    open.close(filter.user);
  };
  let onAbort = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => controller.enqueue(encoder.encode(text));
      onAbort = () => {
        stop();
        controller.close();
      };
      ports.signal.addEventListener("abort", onAbort);
      // The cursor is the id of the last event considered, shown or not: resuming from it repeats
      // nothing and loses nothing. The reader gets it now and, once it moved past events the
      // reader was not shown, with the next keepalive; otherwise a reader that sees few events
      // would resume from an old id (or, with none, from "now", losing what came between).
      let sentId = formatCursor(cursor);
      write(`retry: 1000\n: mutirao event stream\n\n${formatCursorId(cursor)}`);
      const readRing = () => {
        // A reader that does not keep up is not read for: past the ring it gets a gap.
        for (let batch = 0; batch < BATCHES_PER_POLL; batch++) {
          if ((controller.desiredSize ?? 1) <= 0) return;
          const read = ring().readAfter(cursor, READ_BATCH);
          if (read.gap) write(formatGap(cursor, ring().floor));
          if (read.gap && read.events.length === 0) cursor = ring().floor ?? cursor;
          if (read.events.length === 0) return;
          let text = "";
          for (const event of read.events) {
            if (isVisible(event, filter)) {
              text += formatSse(event);
              sentId = event.id;
            }
          }
          cursor = parseEventId(read.events[read.events.length - 1].id)!;
          if (text !== "") write(text);
          if (read.events.length < READ_BATCH) return;
        }
      };
      readRing(); // at once: what is held after the cursor goes out without waiting a poll
      poll = setInterval(readRing, ports.pollMs ?? POLL_MS);
      keepalive = setInterval(() => {
        const still = parseEventRequest(request, ports);
        // The session is checked again, and so is the role: an admin demoted since the stream
        // opened must stop seeing other users' events now, as the CLI's requests would.
        const refused = !still.ok
          ? errorBody(still.code, still.message)
          : still.filter.isAdmin !== filter.isAdmin
          ? errorBody("forbidden", `The role of "${filter.user}" changed; open the stream again`)
          : null;
        if (refused !== null) {
          write(`event: error\ndata: ${JSON.stringify(refused)}\n\n`);
          stop();
          controller.close();
          return;
        }
        const id = formatCursor(cursor);
        write(id === sentId ? `: keepalive\n\n` : `: keepalive\n\n${formatCursorId(cursor)}`);
        sentId = id;
      }, ports.keepaliveMs ?? KEEPALIVE_MS);
    },
    cancel() {
      stop();
    },
    // Counted in bytes: a reader that stops reading holds at most about 1 MiB here (its poll
    // then reads nothing more; past the ring it gets a gap), not 64 batches of 1,000 events.
  }, new ByteLengthQueuingStrategy({ highWaterMark: 1 << 20 }));
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
