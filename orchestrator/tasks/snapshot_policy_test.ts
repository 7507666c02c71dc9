import assert from "node:assert/strict";
import { isSnapshotDue, snapshotStagger } from "./snapshot_policy.ts";

Deno.test("isSnapshotDue() waits for the configured entries while the state is small", () => {
  assert.equal(isSnapshotDue({ appliedIndex: 9_999, tasksInLastSnapshot: 10 }, 0, 10_000), false);
  assert.equal(isSnapshotDue({ appliedIndex: 10_000, tasksInLastSnapshot: 10 }, 0, 10_000), true);
  assert.equal(
    isSnapshotDue({ appliedIndex: 30_000, tasksInLastSnapshot: 10 }, 25_000, 10_000),
    false,
  );
});

Deno.test("isSnapshotDue() waits for one entry per task of the previous snapshot once it is large", () => {
  const state = { appliedIndex: 1_400_000, tasksInLastSnapshot: 200_000 };
  assert.equal(
    isSnapshotDue(state, 1_250_000, 10_000),
    false,
    "150k entries < 200k tasks in the last snapshot",
  );
  assert.equal(isSnapshotDue(state, 1_200_000, 10_000), true, "200k entries = 200k tasks");
});

Deno.test("isSnapshotDue() waits longer by a node's stagger, which differs between o1, o2 and o3", () => {
  const state = { appliedIndex: 11_000, tasksInLastSnapshot: 10 };
  assert.equal(isSnapshotDue(state, 0, 10_000, 0), true);
  assert.equal(isSnapshotDue(state, 0, 10_000, 0.2), false, "10,000 x 1.2 = 12,000 entries");
  const staggers = ["o1", "o2", "o3"].map(snapshotStagger);
  assert.equal(new Set(staggers).size, 3, `distinct: ${staggers}`);
  for (const s of staggers) assert.ok(s >= 0 && s <= 0.45);
  assert.equal(snapshotStagger("o2"), snapshotStagger("o2"), "deterministic");
});
