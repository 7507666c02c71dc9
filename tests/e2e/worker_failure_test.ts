// Proves the seed's first failure scenario: a worker killed with SIGKILL mid-task is declared
// dead after missed heartbeats, and its task reruns on another worker and succeeds.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

interface TaskJson {
  state: string;
  workerId: string | null;
  attempt: number;
  history: Array<
    {
      event: string;
      lamport: number;
      attempt: number;
      workerId: string | null;
      detail: string | null;
    }
  >;
}

Deno.test("kill -9 of a worker mid-task: the task reruns on another worker and succeeds", async () => {
  await withCluster({ heartbeatIntervalMs: 200, missedHeartbeats: 3 }, async (cluster) => {
    const orchestrator = await cluster.startOrchestrator();
    const workers = [];
    for (let i = 0; i < 3; i++) workers.push(await cluster.startWorker());
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

    const submitted = await cluster.cli(["submit", "long report", "-d", "3"]);
    const id = submitted.json?.id as string;
    // Wait for the worker to confirm the start (an event in its log), then kill it.
    const first = (await cluster.cli(["status", id])).json as unknown as TaskJson;
    const victim = workers.find((w) => w.workerId === first.workerId);
    assert.ok(victim !== undefined, `task placed on unknown worker ${first.workerId}`);
    await victim.waitForLine((l) => l.includes(`Running task ${id} attempt 1`));
    const killedAt = performance.now();
    victim.signal("SIGKILL");
    await victim.exited;

    await orchestrator.waitForLine((l) => l.includes(`Worker ${victim.workerId} lost`));
    const detectedMs = performance.now() - killedAt;
    await orchestrator.waitForLine((l) => l.includes(`Task ${id} attempt 2 assigned`));
    const reassignedMs = performance.now() - killedAt;

    const done = (await cluster.cli(["status", id, "--wait", "--wait-timeout", "30"]))
      .json as unknown as TaskJson;
    console.log(
      `worker death detected ${detectedMs.toFixed(0)} ms after SIGKILL, task reassigned after ` +
        `${reassignedMs.toFixed(0)} ms (heartbeat 200 ms x 3)`,
    );
    assert.equal(done.state, "succeeded");
    assert.equal(done.attempt, 2);
    assert.notEqual(done.workerId, victim.workerId);
    const events = done.history.map((e) => `${e.event}:${e.attempt}`);
    assert.deepEqual(events, [
      "submitted:1",
      "assigned:1",
      "started:1",
      "requeued:2",
      "assigned:2",
      "started:2",
      "succeeded:2",
    ]);
    const requeued = done.history[3];
    assert.equal(requeued.workerId, victim.workerId);
    assert.match(requeued.detail ?? "", /missed heartbeats/);

    const listed = await cluster.cli(["workers"]);
    const ids = (listed.json?.workers as Array<{ id: string }>).map((w) => w.id);
    assert.ok(!ids.includes(victim.workerId), "dead worker still listed");
    assert.equal(ids.length, 2);
  });
});
