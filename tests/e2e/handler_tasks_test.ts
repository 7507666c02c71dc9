// Proves handler tasks end to end on real processes: a worker started with --handlers
// examples/handlers.ts advertises its kinds and runs tasks of them (the result comes back as JSON
// text), a failing handler is retried by the orchestrator per the task's policy, a timeout fails
// the attempt with timedOut, a cancel fires the handler's signal, and a kind no worker serves
// waits in the queue saying why. A worker run in this process with runWorker() serves its kinds
// the same way, and a worker given a bad handlers module exits before starting, naming the file.
import assert from "node:assert/strict";
import { MutiraoClient } from "../../client/api/mod.ts";
import type { TaskSpec, TaskView } from "../../shared/protocol/messages.ts";
import { runWorker } from "../../worker/mod.ts";
import { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import { withCluster } from "./cluster_fixture.ts";
import { sessionToken } from "./leader_watch.ts";

function handlerTask(handler: string, payload: unknown, timeoutMs?: number): TaskSpec {
  return {
    kind: "handler",
    handler,
    description: `${handler} test`,
    payload: JSON.stringify(payload),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
}

Deno.test("handler tasks run on workers serving their kind, with retries, timeouts and cancel", async (t) => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    const worker = await cluster.startWorker({
      slots: 4,
      args: ["--handlers", "examples/handlers.ts"],
    });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    const token = await sessionToken(cluster);
    const client = new MutiraoClient({
      orchestrators: cluster.config.orchestrators,
      timeoutMs: 20_000,
    });
    let keys = 0;
    const submit = async (task: TaskSpec, extra: Record<string, unknown> = {}) =>
      (await client.request({
        type: "submit",
        token,
        idempotencyKey: `handler-test-${++keys}`,
        task,
        ...extra,
      })).taskId;
    const wait = async (taskId: string): Promise<TaskView> =>
      (await client.request({ type: "wait", token, taskId, timeoutMs: 20_000 })).task;
    try {
      await t.step("the worker lists the kinds it serves, sorted", async () => {
        const { workers } = await client.request({ type: "workers", token });
        const row = workers.find((w) => w.id === worker.workerId);
        assert.deepEqual(row?.kinds, ["add", "echo", "fail", "flaky", "slow", "spin", "wordcount"]);
      });

      await t.step("a handler's result comes back as JSON text", async () => {
        const task = await wait(await submit(handlerTask("add", { a: 2, b: 3 })));
        assert.equal(task.state, "succeeded", JSON.stringify(task.result));
        assert.equal(task.result?.value, "5");
        assert.equal(task.workerId, worker.workerId);
        const counted = await wait(await submit(handlerTask("wordcount", { text: "a b\nc" })));
        assert.deepEqual(JSON.parse(counted.result?.value ?? "null"), {
          lines: 2,
          words: 3,
          chars: 5,
        });
      });

      await t.step("a failing handler is retried per the task's policy", async () => {
        const id = await submit(handlerTask("flaky", { failTimes: 2 }), {
          retry: { retries: 3, backoff: "fixed", delayMs: 100, maxDelayMs: 100 },
        });
        const task = await wait(id);
        assert.equal(task.state, "succeeded", JSON.stringify(task.history));
        assert.equal(task.attempt, 3);
        assert.equal(task.result?.value, '{"attempt":3}');
        assert.equal(task.result?.stdout, "attempt 3 of a task that fails 2 time(s)\n");
        assert.equal(task.history.filter((e) => e.event === "retrying").length, 2);
      });

      await t.step("a handler that always throws fails with its message", async () => {
        const task = await wait(await submit(handlerTask("fail", { message: "no such user" })));
        assert.equal(task.state, "failed");
        assert.equal(task.result?.error, "no such user");
        assert.match(task.result?.stderr ?? "", /^Error: no such user\n\s+at /);
      });

      await t.step("an attempt past its timeoutMs fails with timedOut", async () => {
        const task = await wait(await submit(handlerTask("slow", { ms: 20_000 }, 300)));
        assert.equal(task.state, "failed");
        assert.equal(task.result?.timedOut, true);
        assert.equal(task.result?.error, "timed out after 0.3 s");
      });

      await t.step("cancelling a running handler task fires its signal", async () => {
        const id = await submit(handlerTask("slow", { ms: 30_000 }));
        await worker.waitForLine((l) => l.includes(`Running task ${id} attempt 1`));
        const cancelled = await client.request({ type: "cancel", token, taskId: id });
        assert.equal(cancelled.task.state, "cancelled");
        // The handler saw its signal fire (examples/handlers.ts logs it, after the attempt's end).
        const line = await worker.waitForLine((l) =>
          l.includes(`Task ${id} attempt 1: after its end: slow: stopped at step 1 of 4`)
        );
        assert.match(line, /AbortError: task was cancelled/);
      });

      await t.step("a kind no worker serves waits in the queue, saying why", async () => {
        const id = await submit(handlerTask("resize", { width: 10 }));
        const task = await client.request({ type: "wait", token, taskId: id, timeoutMs: 500 });
        assert.equal(task.task.state, "queued");
        assert.match(task.task.waitingReason ?? "", /"resize"/);
      });

      await t.step("a worker run in this process with runWorker() serves its kinds", async () => {
        const library = await runWorker({
          handlers: { resize: ({ width }: { width: number }) => ({ width: width * 2 }) },
          orchestrators: cluster.config.orchestrators,
          drainTimeoutMs: 1000,
        });
        try {
          const workerId = await library.workerId;
          const { workers } = await client.request({ type: "workers", token });
          assert.deepEqual(workers.find((w) => w.id === workerId)?.kinds, ["resize"]);
          // The resize task queued by the step before now has a worker.
          const { tasks } = await client.request({ type: "list", token, limit: 1 });
          const task = await wait(tasks[0].id);
          assert.equal(task.state, "succeeded");
          assert.equal(task.workerId, workerId);
          assert.equal(task.result?.value, '{"width":20}');
        } finally {
          await library.stop();
        }
      });
    } finally {
      client.close();
    }
  });
});

Deno.test("worker --handlers refuses a bad module before starting, naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mutirao-handlers-e2e-" });
  try {
    await Deno.writeTextFile(`${dir}/bad.ts`, "export default { sleep: () => 1 };");
    const cases: Array<[string, RegExp]> = [
      [`${dir}/missing.ts`, /Cannot load handlers from ".*missing\.ts": no such file/],
      [`${dir}/bad.ts`, /Invalid handlers in ".*bad\.ts": the kind "sleep" is invalid/],
    ];
    for (const [module, message] of cases) {
      const p = new ManagedProcess({
        name: "worker",
        args: ["worker/main.ts", "--orchestrators", "127.0.0.1:1", "--handlers", module],
      });
      const status = await p.exited;
      assert.equal(status.code, 1, p.tail());
      assert.match(p.tail(), message);
      assert.doesNotMatch(p.tail(), /Starting with/, "nothing started");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
