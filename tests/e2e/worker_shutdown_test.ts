// Proves graceful worker shutdown on real processes: SIGTERM drains (the running task finishes,
// nothing new is taken, the worker exits 0 and leaves the worker list), and a second SIGTERM
// hands the task back so that it is requeued and completes on another worker.
import assert from "node:assert/strict";
import type { CliResult, ClusterFixture } from "./cluster_fixture.ts";
import { withCluster } from "./cluster_fixture.ts";
import { pollUntil } from "./poll_until.ts";

interface TaskJson {
  id: string;
  state: string;
  attempt: number;
  workerId: string | null;
  waitingReason: string | null;
  history: Array<{ event: string; workerId: string | null; detail: string | null }>;
}

function ok(result: CliResult): Record<string, unknown> {
  assert.equal(result.code, 0, `CLI failed (${result.code}): ${result.stderr}`);
  assert.ok(result.json !== null, `expected JSON, got ${result.stdout}`);
  return result.json;
}

async function submit(cluster: ClusterFixture, seconds: number): Promise<string> {
  return String(ok(await cluster.cli(["submit", "shutdown test", "-d", String(seconds)])).id);
}

async function status(cluster: ClusterFixture, id: string, wait = false): Promise<TaskJson> {
  const args = wait ? ["status", id, "--wait", "--wait-timeout", "30"] : ["status", id];
  return ok(await cluster.cli(args)) as unknown as TaskJson;
}

async function listedWorkers(cluster: ClusterFixture): Promise<string[]> {
  const workers = ok(await cluster.cli(["workers"])).workers as Array<{ id: string }>;
  return workers.map((w) => w.id);
}

/** Polls `workers` until `workerId` is gone; returns the ids still listed. */
function waitUntilUnlisted(cluster: ClusterFixture, workerId: string): Promise<string[]> {
  return pollUntil(`worker ${workerId} leaves the worker list`, async () => {
    const ids = await listedWorkers(cluster);
    return ids.includes(workerId) ? undefined : ids;
  }, { intervalMs: 100 });
}

Deno.test("SIGTERM drains a worker: its task finishes, it exits 0 and leaves the list", async () => {
  await withCluster({}, async (cluster) => {
    const orchestrator = await cluster.startOrchestrator();
    const worker = await cluster.startWorker({ slots: 2 });
    ok(await cluster.cli(["login", "user1", "pass1"]));

    const id = await submit(cluster, 2);
    await worker.waitForLine((l) => l.includes(`Running task ${id} attempt 1`));
    worker.signal("SIGTERM");
    await worker.waitForLine((l) => l.includes("Shutting down: finishing 1 running task(s)"));
    await orchestrator.waitForLine((l) => l.includes(`Worker ${worker.workerId} is draining`));

    // A draining worker takes nothing new.
    const later = await submit(cluster, 0.1);

    const exit = await worker.exited;
    assert.equal(exit.code, 0, `worker exit status ${JSON.stringify(exit)}`);
    // Checked without --wait: the worker exits only after its result is recorded.
    const task = await status(cluster, id);
    assert.equal(task.state, "succeeded");
    assert.equal(task.workerId, worker.workerId);
    assert.equal(task.attempt, 1);
    assert.ok(!task.history.some((e) => e.event === "requeued"), "the task was not handed back");

    const waiting = await status(cluster, later);
    assert.equal(waiting.state, "queued", "the draining worker must not take new tasks");
    assert.deepEqual(waiting.history.map((e) => e.event), ["submitted"]);

    assert.deepEqual(await waitUntilUnlisted(cluster, worker.workerId), []);
  });
});

Deno.test("a second SIGTERM hands the task back; it is requeued and completes elsewhere", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    const leaving = await cluster.startWorker({ slots: 1 });
    ok(await cluster.cli(["login", "user1", "pass1"]));

    // Long enough that it cannot finish between the two signals, short enough to finish after.
    const id = await submit(cluster, 5);
    await leaving.waitForLine((l) => l.includes(`Running task ${id} attempt 1`));
    // Started only now, so the first attempt was certainly placed on `leaving`.
    const staying = await cluster.startWorker({ slots: 1 });

    leaving.signal("SIGTERM");
    await leaving.waitForLine((l) => l.includes("Shutting down"));
    leaving.signal("SIGTERM");
    await leaving.waitForLine((l) => l.includes("Second signal: handing back running tasks now"));
    const exit = await leaving.exited;
    assert.equal(exit.code, 0, `worker exit status ${JSON.stringify(exit)}`);

    const task = await status(cluster, id, true);
    assert.equal(task.state, "succeeded");
    assert.equal(task.workerId, staying.workerId, "completed on the other worker");
    assert.equal(task.attempt, 2);
    const requeued = task.history.find((e) => e.event === "requeued");
    assert.ok(requeued !== undefined, `no requeued event: ${JSON.stringify(task.history)}`);
    assert.equal(requeued.workerId, leaving.workerId);
    assert.match(requeued.detail ?? "", /handed back/);
    assert.match(requeued.detail ?? "", /worker is shutting down/);
    assert.deepEqual(
      task.history.map((e) => e.event),
      ["submitted", "assigned", "started", "requeued", "assigned", "started", "succeeded"],
    );

    assert.deepEqual(await waitUntilUnlisted(cluster, leaving.workerId), [staying.workerId]);
  });
});
