// Proves a leader announces at once in each new term, then once per interval, and a follower never.
import assert from "node:assert/strict";
import { ANNOUNCE_INTERVAL_MS, AnnounceSchedule } from "./announce_schedule.ts";

Deno.test("a leader announces at once, then once per interval while it leads", () => {
  const schedule = new AnnounceSchedule();
  assert.equal(schedule.due(true, 2, 1_000), true);
  assert.equal(schedule.due(true, 2, 1_000 + ANNOUNCE_INTERVAL_MS - 1), false);
  assert.equal(schedule.due(true, 2, 1_000 + ANNOUNCE_INTERVAL_MS), true);
});

Deno.test("a leader in a new term announces without waiting for the interval", () => {
  const schedule = new AnnounceSchedule();
  assert.equal(schedule.due(true, 2, 1_000), true);
  assert.equal(schedule.due(true, 3, 1_010), true);
});

Deno.test("a node that does not lead never announces", () => {
  const schedule = new AnnounceSchedule();
  assert.equal(schedule.due(false, 2, 1_000), false);
  assert.equal(schedule.due(false, 2, 1_000 + 10 * ANNOUNCE_INTERVAL_MS), false);
});
