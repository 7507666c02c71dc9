// Proves the task options through the CLI on real processes: `submit --kind --payload` and
// `result`/`logs` (exit 8 for a failed task, 13 for one not finished), `--retries` with a flaky
// handler, `--priority` ordering what waits for a busy worker, `--queue` reaching only workers
// started with `--queues`, `--delay` holding a task back until its time, a dependency chain
// (`--after`), `retry ID`, and `cancel --state queued --queue NAME` in bulk.
import assert from "node:assert/strict";
import type { TaskEvent, TaskView } from "../../shared/protocol/messages.ts";
import { type ClusterFixture, withCluster } from "./cluster_fixture.ts";

const HANDLERS = ["--handlers", "examples/handlers.ts"];

async function submit(cluster: ClusterFixture, args: string[]): Promise<string> {
  const r = await cluster.cli(["submit", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.json!.id as string;
}

async function status(cluster: ClusterFixture, id: string, wait = false): Promise<TaskView> {
  const r = await cluster.cli(["status", id, ...(wait ? ["--wait", "--wait-timeout", "20"] : [])]);
  assert.ok(r.json !== null, r.stderr);
  return r.json as unknown as TaskView;
}

function eventOf(task: TaskView, event: TaskEvent["event"]): TaskEvent {
  const found = task.history.find((e) => e.event === event);
  assert.ok(
    found !== undefined,
    `${task.id} has no ${event} event: ${JSON.stringify(task.history)}`,
  );
  return found;
}

Deno.test("submit options through the CLI: handlers, results, retries, priorities, queues, delays", async (t) => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ slots: 1, args: HANDLERS });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

    await t.step("submit --kind with a payload; result prints the handler's value", async () => {
      const id = await submit(cluster, ["--kind", "add", "--payload", '{"a":2,"b":3}', "--wait"]);
      const plain = await cluster.cli(["result", id], { json: false });
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(plain.stdout.trim(), "5");
      const json = await cluster.cli(["result", id]);
      assert.deepEqual(json.json, { id, state: "succeeded", value: 5, error: null });
    });

    await t.step("--retries reruns a failing handler; logs shows its lines", async () => {
      const payload = '{"failTimes":1}';
      const id = await submit(cluster, [
        "--kind",
        "flaky",
        "--payload",
        payload,
        "--retries",
        "2",
        "--backoff",
        "0.1",
      ]);
      const task = await status(cluster, id, true);
      assert.equal(task.state, "succeeded", JSON.stringify(task.history));
      assert.equal(task.attempt, 2);
      assert.equal(task.retried, 1);
      assert.match(eventOf(task, "retrying").detail ?? "", /flaky: attempt 1 fails; retry 1 of 2/);
      const logs = await cluster.cli(["logs", id], { json: false });
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /attempt 2 of a task that fails 1 time/);
    });

    await t.step("result of a failed task exits 8 with its error", async () => {
      const id = await submit(cluster, ["--kind", "fail", "--payload", '{"message":"boom"}']);
      await status(cluster, id, true);
      const r = await cluster.cli(["result", id], { json: false });
      assert.equal(r.code, 8);
      assert.match(r.stderr, /failed: boom/);
    });

    await t.step("higher priorities run first among tasks waiting for a busy worker", async () => {
      // The one slot is busy until the test cancels its task (no race with a timer: the CLI
      // calls below may be slow on a loaded machine); three tasks queue behind it.
      const busy = await submit(cluster, ["--kind", "slow", "--payload", '{"ms":120000}']);
      const low = await submit(cluster, ["--kind", "echo", "--payload", '"low"', "--priority=-5"]);
      const normal = await submit(cluster, ["--kind", "echo", "--payload", '"normal"']);
      const high = await submit(cluster, [
        "--kind",
        "echo",
        "--payload",
        '"high"',
        "--priority",
        "5",
      ]);
      const queued = await cluster.cli(["result", high]);
      assert.equal(queued.code, 13, "a waiting task has no result yet");
      const cancelled = await cluster.cli(["cancel", busy]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      const tasks = [];
      for (const id of [busy, high, normal, low]) tasks.push(await status(cluster, id, true));
      const order = tasks.map((task) => eventOf(task, "assigned").lamport);
      assert.deepEqual([...order].sort((a, b) => a - b), order, `assigned out of order: ${order}`);
      assert.equal(tasks[1].priority, 5);
      assert.equal(tasks[3].priority, -5);
    });

    await t.step("a task of a named queue waits for a worker taking from that queue", async () => {
      const id = await submit(cluster, [
        "--kind",
        "echo",
        "--payload",
        '"pic"',
        "--queue",
        "images",
      ]);
      const waiting = await status(cluster, id);
      assert.equal(waiting.state, "queued");
      assert.match(waiting.waitingReason ?? "", /no live worker takes tasks from queue "images"/);
      const imager = await cluster.startWorker({ args: [...HANDLERS, "--queues", "images"] });
      const done = await status(cluster, id, true);
      assert.equal(done.state, "succeeded");
      assert.equal(done.workerId, imager.workerId);
      assert.equal(done.queue, "images");
    });

    await t.step("--delay holds a task back until its time", async () => {
      const id = await submit(cluster, ["later", "-d", "0", "--delay", "1.5"]);
      const early = await status(cluster, id);
      assert.equal(early.state, "queued");
      assert.match(early.waitingReason ?? "", /not before .* \(delayed\)/);
      const done = await status(cluster, id, true);
      assert.equal(done.state, "succeeded");
      const submitted = eventOf(done, "submitted").atMs;
      assert.ok(eventOf(done, "assigned").atMs >= submitted + 1500, JSON.stringify(done.history));
      assert.equal(done.notBeforeMs, submitted + 1500);
    });

    await t.step(
      "a dependency chain runs in order, and a failed link fails what follows",
      async () => {
        const first = await submit(cluster, ["--kind", "add", "--payload", '{"a":1,"b":1}']);
        const second = await submit(cluster, [
          "--kind",
          "echo",
          "--payload",
          '"2"',
          "--after",
          first,
        ]);
        const broken = await submit(cluster, ["--kind", "fail", "--after", second]);
        const last = await submit(cluster, [
          "--kind",
          "echo",
          "--payload",
          '"4"',
          "--after",
          broken,
        ]);
        const [a, b, c, d] = [
          await status(cluster, first, true),
          await status(cluster, second, true),
          await status(cluster, broken, true),
          await status(cluster, last, true),
        ];
        assert.deepEqual([a.state, b.state, c.state, d.state], [
          "succeeded",
          "succeeded",
          "failed",
          "failed",
        ]);
        assert.ok(eventOf(b, "assigned").lamport > eventOf(a, "succeeded").lamport);
        assert.deepEqual(b.after, [first]);
        assert.equal(d.result?.dependencyFailed, broken);
        assert.match(d.result?.error ?? "", /dependency_failed: task t-\d+ failed/);
        const r = await cluster.cli(["submit", "--kind", "echo", "--after", "t-99999"]);
        assert.equal(r.code, 7, r.stderr);
        assert.match(r.stderr, /does not exist, is not yours, or is no longer kept/);
      },
    );

    await t.step("retry runs a failed task again as a new task, once", async () => {
      const failed = await submit(cluster, ["--kind", "fail", "--payload", '{"message":"once"}']);
      await status(cluster, failed, true);
      const first = await cluster.cli(["retry", failed]);
      assert.equal(first.code, 0, first.stderr);
      const again = await cluster.cli(["retry", failed]);
      assert.equal(again.json?.id, first.json?.id, "the same retry twice is one new task");
      assert.equal(first.json?.retryOf, failed);
      const rerun = await status(cluster, first.json!.id as string, true);
      assert.equal(rerun.state, "failed");
      assert.deepEqual(rerun.spec, (await status(cluster, failed)).spec);
      const running = await cluster.cli(["retry", first.json!.id as string]);
      assert.equal(running.code, 0, "a failed retry may be retried in turn");
      const ok = await submit(cluster, ["--kind", "echo", "--payload", '"fine"', "--wait"]);
      const refused = await cluster.cli(["retry", ok]);
      assert.equal(refused.code, 7);
      assert.match(refused.stderr, /only failed, cancelled or expired tasks can be retried/);
    });

    await t.step("--queue-timeout: a task not started in time ends expired", async () => {
      const r = await cluster.cli([
        "submit",
        "--kind",
        "echo",
        "--queue",
        "unserved",
        "--queue-timeout",
        "0.5",
        "--wait",
        "--wait-timeout",
        "20",
      ]);
      assert.equal(r.code, 8, r.stderr);
      const task = r.json as unknown as TaskView;
      assert.equal(task.state, "expired");
      assert.ok(!task.history.some((e) => e.event === "assigned"));
      assert.match(eventOf(task, "expired").detail ?? "", /not started by .* \(--queue-timeout\)/);
      const listed = await cluster.cli(["list", "--state", "expired"]);
      assert.ok((listed.json!.tasks as Array<{ id: string }>).some((t) => t.id === task.id));
      const retried = await cluster.cli(["retry", task.id]);
      assert.equal(retried.code, 0, "an expired task may be retried");
    });

    await t.step("cancel --state queued --queue NAME cancels every matching task", async () => {
      const ids = [];
      for (let i = 0; i < 3; i++) {
        ids.push(await submit(cluster, ["--kind", "echo", "--queue", "nowhere"]));
      }
      const other = await submit(cluster, ["--kind", "echo", "--queue", "elsewhere"]);
      const r = await cluster.cli(["cancel", "--state", "queued", "--queue", "nowhere"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([...(r.json!.cancelled as string[])].sort(), [...ids].sort());
      for (const id of ids) assert.equal((await status(cluster, id)).state, "cancelled");
      assert.equal((await status(cluster, other)).state, "queued");
      const bad = await cluster.cli(["cancel", "--state", "succeeded"]);
      assert.equal(bad.code, 2);
    });
  });
});
