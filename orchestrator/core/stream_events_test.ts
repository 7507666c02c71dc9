// Proves the event stream's events follow from the log alone (ids, order, Lamport times), that the
// ring resumes after an id without loss or repetition and answers a gap when it cannot, and that
// readers see only what their role and filters allow.
import assert from "node:assert/strict";
import { Harness } from "../tasks/_task_fixtures_test.ts";
import type { Command } from "../tasks/mod.ts";
import { EventRing } from "./event_ring.ts";
import {
  type EventFilter,
  isVisible,
  parseEventId,
  type StreamEvent,
  streamEventsOf,
} from "./stream_events.ts";

/** A harness whose every applied entry feeds a ring, as the node's does. */
function harnessWithRing(capacity = 1000): { h: Harness; ring: EventRing; all: StreamEvent[] } {
  const h = new Harness();
  const ring = new EventRing(capacity);
  const all: StreamEvent[] = [];
  const apply = h.apply.bind(h);
  h.apply = (command: Command) => {
    const result = apply(command);
    const events = streamEventsOf(h.log[h.log.length - 1], h.sm.eventsOfLastApply);
    ring.append(h.sm.appliedIndex, events);
    all.push(...events);
    return result;
  };
  return { h, ring, all };
}

function runOneTask(h: Harness): string {
  h.join("w1");
  const taskId = h.submitTask();
  h.assign(taskId, "w1");
  h.start(taskId);
  h.finish(taskId);
  return taskId;
}

Deno.test("streamEventsOf() gives a task's life as history events with log-derived ids", () => {
  const { h, all } = harnessWithRing();
  const taskId = runOneTask(h);
  assert.deepEqual(all.map((e) => `${e.id} ${e.kind}.${e.event}`), [
    "1.0 worker.joined",
    "2.0 task.submitted",
    "3.0 task.assigned",
    "4.0 task.started",
    "5.0 task.succeeded",
  ]);
  const task = all.filter((e) => e.kind === "task");
  assert.ok(task.every((e) => e.kind === "task" && e.taskId === taskId && e.owner === "alice"));
  const lamports = task.map((e) => (e.kind === "task" ? e.lamport : 0));
  assert.deepEqual(lamports, [...lamports].sort((a, b) => a - b));
});

Deno.test("streamEventsOf() numbers several events of one entry, and gives lost workers and leaders", () => {
  const { h, all } = harnessWithRing();
  h.join("w1");
  const a = h.submitTask();
  h.assign(a, "w1");
  h.start(a);
  h.lose("w1", { reason: "missed heartbeats" });
  const lost = all.filter((e) => e.id.startsWith(`${h.sm.appliedIndex}.`));
  assert.deepEqual(lost.map((e) => `${e.id} ${e.kind}.${e.event}`), [
    `${h.sm.appliedIndex}.0 task.requeued`,
    `${h.sm.appliedIndex}.1 worker.lost`,
  ]);
  h.term = 2;
  h.apply({ type: "noop", atMs: h.nowMs });
  assert.deepEqual(all.at(-1), {
    id: `${h.sm.appliedIndex}.0`,
    kind: "cluster",
    event: "leader",
    term: 2,
    atMs: h.nowMs,
  });
});

Deno.test("EventRing.readAfter() resumes after an id with nothing missing or repeated", () => {
  const { h, ring, all } = harnessWithRing();
  runOneTask(h);
  runOneTask(h);
  for (let cut = 0; cut < all.length; cut++) {
    const read = ring.readAfter(parseEventId(all[cut].id), 1000);
    assert.equal(read.gap, false);
    assert.deepEqual(read.events, all.slice(cut + 1));
  }
  // A bare index means after all of that entry's events; a null cursor, only what comes next.
  assert.deepEqual(ring.readAfter(parseEventId("2"), 1000).events, all.slice(2));
  assert.deepEqual(ring.readAfter(null, 1000).events, []);
  assert.deepEqual(ring.readAfter(parseEventId("0"), 2).events, all.slice(0, 2));
});

Deno.test("EventRing.readAfter() answers a gap for an id older than the ring", () => {
  const { h, ring, all } = harnessWithRing(4);
  runOneTask(h);
  runOneTask(h);
  assert.equal(ring.size, 4);
  const kept = all.slice(-4);
  const old = ring.readAfter(parseEventId(all[0].id), 1000);
  assert.equal(old.gap, true);
  assert.deepEqual(old.events, kept);
  const justInside = ring.readAfter(parseEventId(all.at(-5)!.id), 1000);
  assert.equal(justInside.gap, false);
  assert.deepEqual(justInside.events, kept);
});

Deno.test("EventRing starts over after a jump in the log (a snapshot installed)", () => {
  const ring = new EventRing(10);
  ring.append(1, [{ id: "1.0", kind: "cluster", event: "leader", term: 1, atMs: 0 }]);
  ring.append(50, [{ id: "50.0", kind: "cluster", event: "leader", term: 2, atMs: 0 }]);
  assert.equal(ring.size, 1);
  assert.equal(ring.readAfter(parseEventId("1.0"), 10).gap, true);
  assert.equal(ring.readAfter(parseEventId("49"), 10).gap, false);
});

Deno.test("EventRing.append() refuses events not numbered 0.. in order within their entry", () => {
  const leader = (id: string) => ({
    id,
    kind: "cluster" as const,
    event: "leader" as const,
    term: 1,
    atMs: 0,
  });
  const ring = new EventRing(10);
  ring.append(1, [leader("1.0"), leader("1.1")]);
  assert.equal(ring.last.position, 1);
  assert.throws(() => ring.append(2, [leader("3.0")]), /not 2\.0/);
  assert.throws(() => new EventRing(10).append(2, [leader("2.1")]), /not 2\.0/);
  assert.throws(() => new EventRing(10).append(2, [leader("2.0"), leader("2.0")]), /not 2\.1/);
});

Deno.test("isVisible() shows users their own task events only, admins everything, then filters", () => {
  const { h, all } = harnessWithRing();
  runOneTask(h);
  const bobs = h.submitTask({ owner: "bob" });
  const alice: EventFilter = { user: "alice", isAdmin: false };
  assert.ok(
    all.filter((e) => isVisible(e, alice)).every((e) => e.kind === "task" && e.owner === "alice"),
  );
  assert.equal(all.filter((e) => isVisible(e, alice)).length, 4);
  const admin: EventFilter = { user: "root", isAdmin: true };
  assert.equal(all.filter((e) => isVisible(e, admin)).length, all.length);
  assert.deepEqual(
    all.filter((e) => isVisible(e, { ...admin, taskId: bobs })).map((e) => e.event),
    ["submitted"],
  );
  assert.equal(all.filter((e) => isVisible(e, { ...admin, owner: "bob" })).length, 1);
  assert.deepEqual(
    all.filter((e) => isVisible(e, { ...admin, kinds: ["worker", "task.succeeded"] })).map((e) =>
      e.event
    ),
    ["joined", "succeeded"],
  );
});
