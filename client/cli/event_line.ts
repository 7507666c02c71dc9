/**
 * How `mutirao watch` prints an event of the stream: one line, its id first (so a reader can
 * resume after it), and whether the event ends the watched task.
 * @module
 */
import { isoTime } from "../../shared/iso_time.ts";
import { terminalSafe } from "../../shared/terminal_safe.ts";

/** An event of `GET /api/v1/events` as the CLI reads it (its JSON data). */
export type WatchedEvent = Record<string, unknown> & { id?: string; kind: string };

/** Task events after which the task changes no more. */
const FINAL_EVENTS = new Set(["succeeded", "failed", "cancelled", "expired"]);

/** One line for `event`, with every string from the cluster made safe for a terminal. */
export function formatEventLine(event: WatchedEvent): string {
  const text = (value: unknown) => terminalSafe(String(value));
  const when = typeof event.atMs === "number" ? isoTime(event.atMs) : "";
  const head = `${text(event.id ?? "")}  ${when}`;
  switch (event.kind) {
    case "task": {
      const worker = event.workerId === null ? "" : ` on ${text(event.workerId)}`;
      const detail = event.detail === null ? "" : `: ${text(event.detail)}`;
      return `${head}  task ${text(event.taskId)} ${text(event.event)} (attempt ${
        text(event.attempt)
      }${worker}, lamport ${text(event.lamport)})${detail}`;
    }
    case "worker": {
      const detail = event.detail === null ? "" : `: ${text(event.detail)}`;
      return `${head}  worker ${text(event.workerId)} ${text(event.event)}${detail}`;
    }
    case "cluster":
      return `${head}  new leader in term ${text(event.term)}`;
    default:
      return `${head}  ${text(event.kind)} ${text(JSON.stringify(event))}`;
  }
}

/** The final state `event` puts task `taskId` in, or null when it is not such an event. */
export function finalStateOf(event: WatchedEvent, taskId: string): string | null {
  if (event.kind !== "task" || event.taskId !== taskId) return null;
  return FINAL_EVENTS.has(String(event.event)) ? String(event.event) : null;
}
