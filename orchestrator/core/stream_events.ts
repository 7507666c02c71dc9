/**
 * The events of the event stream (`GET /api/v1/events`), derived from applied log entries alone:
 * task events (the history events each entry adds, with their Lamport times), worker events
 * (joined, draining, lost) and cluster events (a new leader's no-op). An event's id is the
 * entry's log index and its position among the entry's events ("1234.0"), so every orchestrator
 * derives the same ids from the same log, and a client resuming with `Last-Event-ID` on another
 * orchestrator gets no event twice and misses none.
 * @module
 */
import type { TaskEvent } from "../../shared/protocol/messages.ts";
import type { LogEntry } from "../tasks/mod.ts";

/** Where an event sits in the log: its entry's index and its position among that entry's events. */
export interface EventId {
  index: number;
  position: number;
}

interface EventBase {
  /** `<index>.<position>`: see {@link EventId}. */
  id: string;
  atMs: number;
}

/** One event of the stream. */
export type StreamEvent =
  | EventBase & {
    kind: "task";
    event: TaskEvent["event"];
    taskId: string;
    owner: string;
    lamport: number;
    node: string;
    attempt: number;
    workerId: string | null;
    detail: string | null;
  }
  | EventBase & {
    kind: "worker";
    event: "joined" | "draining" | "lost";
    workerId: string;
    incarnation: string;
    lamport: number;
    node: string;
    detail: string | null;
  }
  | EventBase & { kind: "cluster"; event: "leader"; term: number };

/** A task history event an entry added, as the state machine reports it (eventsOfLastApply). */
export interface AddedTaskEvent {
  taskId: string;
  owner: string;
  event: TaskEvent;
}

/** Formats an event id (`1234.0`). */
export function formatEventId(id: EventId): string {
  return `${id.index}.${id.position}`;
}

/** Parses an event id, or a bare log index (meaning after all of that entry's events); null if neither. */
export function parseEventId(text: string): EventId | null {
  const match = /^([0-9]{1,15})(?:\.([0-9]{1,9}))?$/.exec(text.trim());
  if (match === null) return null;
  const index = Number(match[1]);
  return { index, position: match[2] === undefined ? Number.MAX_SAFE_INTEGER : Number(match[2]) };
}

/** Negative, zero or positive as `a` is before, at or after `b` in log order. */
export function compareEventIds(a: EventId, b: EventId): number {
  return a.index !== b.index ? a.index - b.index : a.position - b.position;
}

/**
 * The stream events of one applied entry: its task history events first (in the order the entry
 * added them), then its worker or cluster event.
 */
export function streamEventsOf(entry: LogEntry, added: readonly AddedTaskEvent[]): StreamEvent[] {
  const events: StreamEvent[] = [];
  const id = () => formatEventId({ index: entry.index, position: events.length });
  for (const { taskId, owner, event } of added) {
    events.push({
      id: id(),
      kind: "task",
      event: event.event,
      taskId,
      owner,
      lamport: event.lamport,
      node: event.node,
      atMs: event.atMs,
      attempt: event.attempt,
      workerId: event.workerId,
      detail: event.detail,
    });
  }
  const command = entry.command;
  switch (command.type) {
    case "workerJoined":
    case "workerDraining":
    case "workerLost":
      events.push({
        id: id(),
        kind: "worker",
        event: command.type === "workerJoined"
          ? "joined"
          : command.type === "workerDraining"
          ? "draining"
          : "lost",
        workerId: command.workerId,
        incarnation: command.incarnation,
        lamport: command.lamport,
        node: command.node,
        atMs: command.atMs,
        detail: command.type === "workerLost" ? command.reason : null,
      });
      break;
    case "noop":
      events.push({
        id: id(),
        kind: "cluster",
        event: "leader",
        term: entry.term,
        atMs: command.atMs,
      });
      break;
  }
  return events;
}

/** Who reads the stream and what they asked for. */
export interface EventFilter {
  user: string;
  isAdmin: boolean;
  /** Only this task's events. */
  taskId?: string;
  /** Only the tasks of this user (admins; a user's own are implied). */
  owner?: string;
  /** Kinds (`task`, `worker`, `cluster`) or kind.event (`task.succeeded`); empty: all. */
  kinds?: readonly string[];
}

/**
 * Whether `event` is for this reader: a user sees only the events of their own tasks, an admin
 * every event; then the filters.
 */
export function isVisible(event: StreamEvent, filter: EventFilter): boolean {
  if (!filter.isAdmin && (event.kind !== "task" || event.owner !== filter.user)) return false;
  if (filter.taskId !== undefined && (event.kind !== "task" || event.taskId !== filter.taskId)) {
    return false;
  }
  if (filter.owner !== undefined && (event.kind !== "task" || event.owner !== filter.owner)) {
    return false;
  }
  const kinds = filter.kinds ?? [];
  return kinds.length === 0 || kinds.includes(event.kind) ||
    kinds.includes(`${event.kind}.${event.event}`);
}
