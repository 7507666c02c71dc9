// Proves the seed's quickstart end to end on real processes: login, submit and status reach
// `succeeded`, tasks spread round robin over 3 workers, and list/workers report them.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

interface TaskJson {
  id: string;
  state: string;
  workerId: string | null;
  attempt: number;
  history: Array<{ event: string; lamport: number; node: string; workerId: string | null }>;
}

Deno.test("seed flow: login, submit, status reaches succeeded; tasks spread round robin", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    const workers = [];
    for (let i = 0; i < 3; i++) workers.push(await cluster.startWorker({ slots: 2 }));
    const workerIds = workers.map((w) => w.workerId).sort();

    const login = await cluster.cli(["login", "user1", "pass1"]);
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.json?.user, "user1");

    const submitted = await cluster.cli(["submit", "Processar relatório financeiro", "-d", "0.2"]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.json?.id as string;
    assert.match(id, /^t-\d+$/);

    const done = await cluster.cli(["status", id, "--wait", "--wait-timeout", "30"]);
    assert.equal(done.code, 0, done.stderr);
    const task = done.json as unknown as TaskJson;
    assert.equal(task.state, "succeeded");
    assert.deepEqual(task.history.map((e) => e.event), [
      "submitted",
      "assigned",
      "started",
      "succeeded",
    ]);
    // Lamport order: every event after the one before it (the causal chain client -> o1 -> worker).
    for (let i = 1; i < task.history.length; i++) {
      assert.ok(
        task.history[i].lamport > task.history[i - 1].lamport,
        `history out of order at ${i}`,
      );
    }
    assert.equal(task.history[0].node, "o1");
    assert.equal(task.history[2].node, task.workerId);

    // Six more tasks, long enough that they overlap: round robin puts two on each worker,
    // in worker-id order continuing after the worker that took the first task.
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await cluster.cli(["submit", `rr ${i}`, "-d", "1"]);
      assert.equal(r.code, 0, r.stderr);
      ids.push(r.json?.id as string);
    }
    const placed: string[] = [];
    for (const taskId of ids) {
      const r = await cluster.cli(["status", taskId, "--wait", "--wait-timeout", "30"]);
      const t = r.json as unknown as TaskJson;
      assert.equal(t.state, "succeeded");
      placed.push(t.workerId!);
    }
    const start = (workerIds.indexOf(task.workerId!) + 1) % 3;
    const expected = Array.from({ length: 6 }, (_, i) => workerIds[(start + i) % 3]);
    assert.deepEqual(placed, expected);

    const list = await cluster.cli(["list"]);
    const tasks = list.json?.tasks as Array<{ id: string; state: string }>;
    assert.equal(tasks.length, 7);
    assert.equal(tasks[0].id, ids[5], "newest first");
    assert.ok(tasks.every((t) => t.state === "succeeded"));

    const listed = await cluster.cli(["workers"]);
    const views = listed.json?.workers as Array<{ id: string; completed: number; status: string }>;
    assert.deepEqual(views.map((w) => w.id).sort(), workerIds);
    assert.equal(views.reduce((sum, w) => sum + w.completed, 0), 7);

    const text = await cluster.cli(["status", id], { json: false });
    assert.match(text.stdout, /Task t-\d+: succeeded/);
    assert.match(text.stdout, /History \(Lamport order\)/);
  });
});
