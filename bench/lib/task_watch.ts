/**
 * Watching one task from the client side until its history shows an event. The protocol's only
 * push is `wait` (final states), so intermediate events are polled; callers time events by
 * their history stamps (`atMs`), never by when a poll happened to see them.
 * @module
 */
import type { MutiraoClient } from "../../client/api/mod.ts";
import type { TaskEvent, TaskView } from "../../shared/protocol/messages.ts";
import { delay } from "./real_cluster.ts";

/**
 * Polls `status` until `match` finds an event in the task's history, and returns it with the view.
 * @throws {Error} when no such event appears within `timeoutMs`.
 */
export async function waitForEvent(
  client: MutiraoClient,
  token: string,
  taskId: string,
  match: (event: TaskEvent) => boolean,
  options: { timeoutMs: number; pollMs?: number },
): Promise<{ event: TaskEvent; task: TaskView }> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const { task } = await client.request({ type: "status", token, taskId });
    const event = task.history.find(match);
    if (event !== undefined) return { event, task };
    if (Date.now() > deadline) {
      throw new Error(
        `Task ${taskId} showed no matching event within ${options.timeoutMs} ms; history: ${
          task.history.map((e) => `${e.event}#${e.attempt}`).join(", ")
        }`,
      );
    }
    await delay(options.pollMs ?? 20);
  }
}
