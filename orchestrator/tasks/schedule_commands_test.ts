// Proves the schedule commands: a set schedule fires by submitting its task with the key
// schedule:<name>:<tick>; a tick at or before the last fired one, before the schedule was set or
// resumed, after the entry's time, or of a paused, removed or unknown schedule is refused (so two
// leaders proposing one tick give one task); replacing keeps the last tick; the per-user limit
// holds; and schedules survive a snapshot round trip.
import assert from "node:assert/strict";
import { LIMITS } from "../../shared/limits.ts";
import { Harness, SLEEP } from "./_task_fixtures_test.ts";
import type { ApplyResult } from "./commands.ts";
import { scheduleKey } from "./schedule_commands.ts";
import { decodeSnapshot, encodeSnapshot, restoreSnapshot } from "./state_snapshot.ts";
import { findInvariantViolations } from "./invariants.ts";

const EVERY_3S = "*/3 * * * * *";

function withAlice(): Harness {
  const h = new Harness();
  h.apply({ type: "userAdded", name: "alice", role: "user", passwordHash: "scrypt$x", atMs: 0 });
  return h;
}

function set(h: Harness, name = "nightly", owner = "alice", cron = EVERY_3S): ApplyResult {
  return h.apply({
    type: "scheduleSet",
    name,
    owner,
    cron,
    task: { spec: SLEEP, maxAttempts: 3 },
    ...h.stamp(),
  });
}

function fire(h: Harness, tickMs: number, name = "nightly", missed?: number): ApplyResult {
  h.nowMs = Math.max(h.nowMs, tickMs);
  return h.apply({
    type: "scheduleFired",
    name,
    owner: "alice",
    tickMs,
    ...(missed === undefined ? {} : { missed }),
    ...h.stamp(),
  });
}

function pause(h: Harness, paused: boolean, name = "nightly"): ApplyResult {
  return h.apply({ type: "schedulePaused", name, owner: "alice", paused, ...h.stamp() });
}

function scheduleOf(h: Harness, name = "nightly") {
  const schedule = h.sm.schedules.get(scheduleKey("alice", name));
  assert(schedule !== undefined);
  return schedule;
}

Deno.test("scheduleFired submits the schedule's task with the tick's idempotency key", () => {
  const h = withAlice();
  assert.deepEqual(set(h), { type: "ok" });
  const result = fire(h, 1_003_000);
  assert.deepEqual(result, { type: "fired", taskId: "t-1" });
  const task = h.sm.tasks.get("t-1")!;
  assert.equal(task.owner, "alice");
  assert.equal(task.idempotencyKey, "schedule:nightly:1003000");
  assert.deepEqual(task.spec, SLEEP);
  const schedule = scheduleOf(h);
  assert.equal(schedule.lastTickMs, 1_003_000);
  assert.equal(schedule.lastTaskId, "t-1");
  assert.equal(schedule.fired, 1);
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("scheduleFired of a tick at or before the last fired one is refused", () => {
  const h = withAlice();
  set(h);
  fire(h, 1_006_000);
  // A second leader proposing the same tick, or an older one, gets no second task.
  assert.equal(fire(h, 1_006_000).type, "rejected");
  assert.equal(fire(h, 1_003_000).type, "rejected");
  assert.equal(h.sm.tasks.size, 1);
  assert.deepEqual(fire(h, 1_009_000, "nightly", 2), { type: "fired", taskId: "t-2" });
  assert.equal(scheduleOf(h).missedTicks, 2);
});

Deno.test("scheduleFired before the schedule was set, or after its own time, is refused", () => {
  const h = withAlice();
  h.nowMs = 1_010_000;
  set(h);
  assert.match(rejection(fire(h, 1_009_000)), /before the schedule was set/);
  const early = h.apply({
    type: "scheduleFired",
    name: "nightly",
    owner: "alice",
    tickMs: h.nowMs + 60_000,
    ...h.stamp(),
  });
  assert.match(rejection(early), /not due yet/);
});

Deno.test("a paused schedule does not fire, and once resumed skips the ticks it was paused for", () => {
  const h = withAlice();
  set(h);
  assert.deepEqual(pause(h, true), { type: "ok" });
  assert.match(rejection(fire(h, 1_003_000)), /paused/);
  h.nowMs = 1_030_000;
  pause(h, false);
  assert.match(rejection(fire(h, 1_027_000)), /before the schedule was set or resumed/);
  assert.equal(fire(h, 1_033_000).type, "fired");
});

Deno.test("a removed or unknown schedule does not fire; its tasks stay", () => {
  const h = withAlice();
  set(h);
  fire(h, 1_003_000);
  assert.deepEqual(
    h.apply({
      type: "scheduleRemoved",
      name: "nightly",
      owner: "alice",
      by: "alice",
      ...h.stamp(),
    }),
    { type: "ok" },
  );
  assert.match(rejection(fire(h, 1_006_000)), /no schedule named nightly/);
  assert.match(rejection(fire(h, 1_006_000, "other")), /no schedule named other/);
  assert.equal(h.sm.tasks.size, 1);
});

Deno.test("replacing a schedule keeps its last tick and pause", () => {
  const h = withAlice();
  set(h);
  fire(h, 1_003_000);
  pause(h, true);
  assert.deepEqual(set(h, "nightly", "alice", "*/5 * * * * *"), { type: "ok" });
  const schedule = scheduleOf(h);
  assert.equal(schedule.cron, "*/5 * * * * *");
  assert.equal(schedule.lastTickMs, 1_003_000);
  assert.equal(schedule.paused, true);
  assert.equal(h.sm.schedules.size, 1);
});

Deno.test("a user has at most LIMITS.schedulesPerUserMax schedules; names are per owner", () => {
  const h = withAlice();
  for (let i = 0; i < LIMITS.schedulesPerUserMax; i++) assert.equal(set(h, `s${i}`).type, "ok");
  assert.match(rejection(set(h, "one-more")), /the most a user may have/);
  // Replacing one is not a new one, and another user's count is their own.
  assert.equal(set(h, "s0").type, "ok");
  assert.equal(set(h, "s0", "bob").type, "ok");
  assert.equal(h.sm.schedulesOf("alice"), LIMITS.schedulesPerUserMax);
});

Deno.test("a removed account's schedules go with it and do not fire, nor for a namesake", () => {
  const h = withAlice();
  set(h);
  h.apply({ type: "userRemoved", name: "alice", atMs: h.nowMs });
  assert.equal(h.sm.schedules.size, 0);
  assert.match(rejection(fire(h, 1_003_000)), /no schedule named/);
  h.apply({ type: "userAdded", name: "alice", role: "user", passwordHash: "scrypt$y", atMs: 0 });
  assert.match(rejection(fire(h, 1_004_000)), /no schedule named/);
});

Deno.test("schedules survive a snapshot round trip, and old snapshots load without them", () => {
  const h = withAlice();
  set(h);
  set(h, "hourly", "alice", "0 * * * *");
  fire(h, 1_003_000, "nightly", 4);
  pause(h, true, "hourly");
  const restored = restoreSnapshot(decodeSnapshot(encodeSnapshot(h.sm)));
  assert.deepEqual([...restored.schedules.entries()], [...h.sm.schedules.entries()]);
  // Applying the same entry to both gives the same answer.
  const replay = new Harness(restored);
  replay.nowMs = h.nowMs;
  replay.lamport = h.lamport;
  assert.match(rejection(fire(replay, 1_003_000)), /not after the last fired/);
  const { schedules: _, ...old } = decodeSnapshot(encodeSnapshot(h.sm));
  assert.equal(restoreSnapshot(old).schedules.size, 0);
});

function rejection(result: ApplyResult): string {
  assert.equal(result.type, "rejected", JSON.stringify(result));
  return result.type === "rejected" ? result.reason : "";
}
