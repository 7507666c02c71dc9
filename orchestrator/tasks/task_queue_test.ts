// Proves that TaskQueue hands out requeued tasks before fresh ones, each first in first out, and
// survives a round trip through its JSON form.
import assert from "node:assert/strict";
import { TaskQueue } from "./task_queue.ts";

Deno.test("TaskQueue.inOrder() yields retries first, then fresh tasks, each in arrival order", () => {
  const queue = new TaskQueue();
  queue.pushFresh("t-1");
  queue.pushRetry("t-7");
  queue.pushFresh("t-2");
  queue.pushRetry("t-5");
  assert.deepEqual([...queue.inOrder()], ["t-7", "t-5", "t-1", "t-2"]);
  assert.equal(queue.size, 4);
});

Deno.test("TaskQueue.remove() takes a task out of either part", () => {
  const queue = new TaskQueue();
  queue.pushFresh("t-1");
  queue.pushRetry("t-2");
  assert.equal(queue.remove("t-1"), true);
  assert.equal(queue.remove("t-2"), true);
  assert.equal(queue.remove("t-3"), false);
  assert.equal(queue.size, 0);
  assert.equal(queue.has("t-1"), false);
});

Deno.test("TaskQueue.has() finds tasks in both parts", () => {
  const queue = new TaskQueue();
  queue.pushFresh("t-1");
  queue.pushRetry("t-2");
  assert.equal(queue.has("t-1"), true);
  assert.equal(queue.has("t-2"), true);
  assert.equal(queue.has("t-3"), false);
});

Deno.test("TaskQueue.fromJSON() restores the same order", () => {
  const queue = new TaskQueue();
  for (const id of ["a", "b", "c"]) queue.pushFresh(id);
  for (const id of ["z", "y"]) queue.pushRetry(id);
  const restored = TaskQueue.fromJSON(JSON.parse(JSON.stringify(queue)));
  assert.deepEqual(restored.toJSON(), { retry: ["z", "y"], fresh: ["a", "b", "c"] });
  assert.deepEqual([...restored.inOrder()], [...queue.inOrder()]);
});
