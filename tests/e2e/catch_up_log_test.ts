// Proves that an orchestrator restarted after missing entries does not log them as live events
// when it catches up: no "Task … cancelled by" lines at info (per-task lines such as "submitted
// by" are debug anyway; a cancellation is logged at info when it happens), one "Caught up with
// the leader" line.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

Deno.test("a restarted follower catches up with one summary line, not the history as live events", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const nodes = new Map();
    for (const id of ["o1", "o2", "o3"]) nodes.set(id, await cluster.startOrchestrator(id));
    await cluster.waitUntilServing();
    const leader = String((await cluster.cli(["cluster"])).json?.leader);
    const follower = ["o1", "o2", "o3"].find((id) => id !== leader)!;
    await nodes.get(follower).stop();
    for (let i = 0; i < 5; i++) {
      const r = await cluster.cli(["submit", `missed ${i}`, "-d", "60"]);
      assert.equal(r.code, 0, r.stderr);
      const cancelled = await cluster.cli(["cancel", String(r.json?.id)]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
    }
    const again = await cluster.startOrchestrator(follower);
    await again.waitForLine((l) => /Caught up with the leader/.test(l));
    const live = again.lines.filter((l) => / INFO .*cancelled by/.test(l));
    assert.deepEqual(live, [], "history logged as live events");
    assert.equal(again.lines.filter((l) => /Caught up with the leader/.test(l)).length, 1);
    // `cluster` reports what each one holds on disk (its log at least: entries were written).
    const rows = (await cluster.cli(["cluster"])).json?.orchestrators as Array<
      { id: string; disk?: { snapshotBytes: number; logBytes: number } }
    >;
    for (const row of rows) {
      assert.ok((row.disk?.logBytes ?? 0) > 0, `${row.id} reports no log bytes`);
      assert.ok((row.disk?.snapshotBytes ?? -1) >= 0, `${row.id} reports no snapshot bytes`);
    }
  });
});
