// Proves that a second worker process started with a live worker's name is refused and exits with
// a clear error, while the first keeps its tasks (nothing runs twice); a restart of the same worker
// after it died is still accepted (issue 14, bug 5).
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

Deno.test("a second worker with a live worker's name is refused; a restart after death is not", async () => {
  await withCluster({ heartbeatIntervalMs: 200, missedHeartbeats: 3 }, async (cluster) => {
    const orchestrator = await cluster.startOrchestrator();
    const first = await cluster.startWorker({ slots: 2 });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    const submitted = await cluster.cli(["submit", "long report", "-d", "3"]);
    const id = submitted.json?.id as string;
    await first.waitForLine((l) => l.includes(`Running task ${id} attempt 1`));

    const impostor = cluster.spawn("impostor", [
      "worker/main.ts",
      "--config",
      cluster.configPath,
      "--name",
      first.workerId,
    ]);
    await impostor.waitForLine((l) => l.includes("a live worker already uses that name"), 15_000);
    assert.equal((await impostor.exited).code, 1);
    await orchestrator.waitForLine((l) => l.includes(`Refused a second worker named`));

    const done = await cluster.cli(["status", id, "--wait", "--wait-timeout", "30"]);
    assert.equal(done.json?.state, "succeeded");
    assert.equal(done.json?.attempt, 1, "the task was requeued and ran twice");
    assert.equal(done.json?.workerId, first.workerId);

    // The same worker restarted after its death is recognised.
    first.signal("SIGKILL");
    await first.exited;
    const again = await cluster.startWorker({ args: ["--name", first.workerId] });
    assert.equal(again.workerId, first.workerId);
    const listed = await cluster.cli(["workers"]);
    const workers = listed.json?.workers as Array<{ id: string; status: string }>;
    assert.deepEqual(workers.map((w) => [w.id, w.status]), [[first.workerId, "alive"]]);
  });
});
