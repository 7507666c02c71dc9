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

Deno.test("timed tasks wait for their time, then go first, in time order", () => {
  const queue = new TaskQueue();
  queue.pushFresh("t-1");
  queue.pushTimed("t-2", 2000);
  queue.pushTimed("t-3", 1000);
  queue.pushRetry("t-4");
  queue.pushTimed("t-5", 1000);
  assert.deepEqual([...queue.inOrder(500)], ["t-4", "t-1"]);
  assert.deepEqual([...queue.inOrder(1000)], ["t-3", "t-5", "t-4", "t-1"]);
  assert.deepEqual([...queue.inOrder(5000)], ["t-3", "t-5", "t-2", "t-4", "t-1"]);
  assert.equal(queue.notDueCount(1000), 1);
  assert.equal(queue.nextDueMs, 1000);
  assert.equal(queue.size, 5);
});

Deno.test("a timed task is removed among others due at the same time, and survives a snapshot", () => {
  const queue = new TaskQueue();
  for (let i = 1; i <= 5; i++) queue.pushTimed(`t-${i}`, 1000);
  queue.pushTimed("t-6", 3000);
  assert.ok(queue.remove("t-3"));
  assert.ok(!queue.remove("t-3"));
  assert.ok(!queue.has("t-3"));
  const copy = TaskQueue.fromJSON(JSON.parse(JSON.stringify(queue.toJSON())));
  assert.deepEqual([...copy.inOrder()], ["t-1", "t-2", "t-4", "t-5", "t-6"]);
  assert.equal(copy.size, 5);
});

Deno.test("within a queue higher priorities go first, each lane requeued first then FIFO", () => {
  const queue = new TaskQueue();
  queue.pushFresh("low", { queue: "default", priority: -1 });
  queue.pushFresh("a", { queue: "default", priority: 0 });
  queue.pushFresh("high", { queue: "default", priority: 5 });
  queue.pushFresh("b", { queue: "default", priority: 0 });
  queue.pushRetry("r", { queue: "default", priority: 0 });
  assert.deepEqual([...queue.inOrder()], ["high", "r", "a", "b", "low"]);
  queue.remove("high");
  assert.deepEqual([...queue.inOrder()], ["r", "a", "b", "low"]);
  assert.deepEqual(queue.laneOf("low"), { queue: "default", priority: -1 });
});

Deno.test("queues take turns, and their order and lanes survive a snapshot", () => {
  const queue = new TaskQueue();
  queue.pushFresh("m1", { queue: "mail", priority: 0 });
  queue.pushFresh("d1");
  queue.pushFresh("m2", { queue: "mail", priority: 0 });
  queue.pushFresh("d2");
  queue.pushFresh("i1", { queue: "images", priority: 3 });
  queue.pushTimed("t1", 500, { queue: "images", priority: 3 });
  assert.deepEqual([...queue.inOrder(0)], ["m1", "d1", "i1", "m2", "d2"]);
  const copy = TaskQueue.fromJSON(JSON.parse(JSON.stringify(queue.toJSON())));
  assert.deepEqual([...copy.inOrder(0)], [...queue.inOrder(0)]);
  // A due timed task goes first in its own queue's turn, not ahead of the other queues.
  assert.deepEqual([...copy.inOrder()], ["m1", "d1", "t1", "m2", "d2", "i1"]);
  assert.deepEqual(copy.laneOf("t1"), { queue: "images", priority: 3 });
  assert.deepEqual(copy.toJSON(), queue.toJSON());
});

Deno.test("a task that waited its aging time goes ahead of higher priorities, oldest first", () => {
  const queue = new TaskQueue();
  queue.pushFresh("old-low", { queue: "default", priority: -5 }, 1000);
  queue.pushFresh("new-high", { queue: "default", priority: 5 }, 9000);
  queue.pushFresh("older-low", { queue: "default", priority: -9 }, 500);
  queue.pushFresh("new-low", { queue: "default", priority: -5 }, 9500);
  assert.deepEqual([...queue.inOrder(10_000)], ["new-high", "old-low", "new-low", "older-low"]);
  // Aging at 2000: what was submitted by then goes first, the oldest first.
  assert.deepEqual([...queue.inOrder(10_000, 2000)], [
    "older-low",
    "old-low",
    "new-high",
    "new-low",
  ]);
  const copy = TaskQueue.fromJSON(
    JSON.parse(JSON.stringify(queue.toJSON())),
    (id) => ({ "old-low": 1000, "new-high": 9000, "older-low": 500, "new-low": 9500 })[id]!,
  );
  assert.deepEqual([...copy.inOrder(10_000, 2000)], [...queue.inOrder(10_000, 2000)]);
});

Deno.test("TaskQueue.laneSizes() counts each queue's tasks, not those waiting for their time", () => {
  const queue = new TaskQueue();
  queue.pushFresh("t-1");
  queue.pushFresh("t-2", { queue: "images", priority: 0 });
  queue.pushRetry("t-3", { queue: "images", priority: 5 });
  queue.pushTimed("t-4", 1000, { queue: "images", priority: 0 });
  assert.deepEqual(queue.laneSizes(), new Map([["default", 1], ["images", 2]]));
  assert.equal(queue.size, 4);
  queue.remove("t-1");
  assert.deepEqual(queue.laneSizes(), new Map([["images", 2]]));
});
