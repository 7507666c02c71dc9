import assert from "node:assert/strict";
import { isSnapshotDue } from "./snapshot_policy.ts";

Deno.test("isSnapshotDue() waits for the configured entries while the state is small", () => {
  assert.equal(isSnapshotDue({ appliedIndex: 9_999, retainedTasks: 10 }, 0, 10_000), false);
  assert.equal(isSnapshotDue({ appliedIndex: 10_000, retainedTasks: 10 }, 0, 10_000), true);
  assert.equal(isSnapshotDue({ appliedIndex: 30_000, retainedTasks: 10 }, 25_000, 10_000), false);
});

Deno.test("isSnapshotDue() waits for one entry per retained task once the state is large", () => {
  const state = { appliedIndex: 1_100_000, retainedTasks: 200_000 };
  assert.equal(isSnapshotDue(state, 1_000_000, 10_000), false, "100k entries < 200k tasks");
  assert.equal(isSnapshotDue(state, 900_000, 10_000), true, "200k entries = 200k tasks");
});
