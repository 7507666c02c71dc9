// Proves the typed client library on real processes: connect() logs in, submit() and result()
// round-trip a handler's value, a failing task's result() throws TaskFailedError, events() yields
// the task as it changes until it ends, submitBatch() and list() work, and logout() ends the
// session.
import assert from "node:assert/strict";
import { connect, TaskFailedError } from "../../client/mod.ts";
import { RemoteError } from "../../shared/errors.ts";
import { withCluster } from "./cluster_fixture.ts";

Deno.test("the client library submits tasks and reads their results", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ args: ["--handlers", "examples/handlers.ts"] });
    const mutirao = await connect({
      orchestrators: cluster.config.orchestrators,
      user: "user1",
      password: "pass1",
    });
    try {
      const id = await mutirao.submit("add", { a: 2, b: 3 }, { description: "sum" });
      assert.equal(await mutirao.result<number>(id, { timeoutMs: 20_000 }), 5);

      const flaky = await mutirao.submit("flaky", { failTimes: 1 }, { retries: 2, backoffMs: 50 });
      const states = [];
      for await (const task of mutirao.events(flaky, { intervalMs: 50 })) states.push(task.state);
      assert.equal(states.at(-1), "succeeded");
      assert.deepEqual(await mutirao.result(flaky), { attempt: 2 });
      const output = await mutirao.logs(flaky);
      assert.ok(output.isFinal);
      assert.match(output.stdout, /attempt 2 of a task that fails 1 time/);

      const failing = await mutirao.submit("fail", { message: "nope" });
      await assert.rejects(() => mutirao.result(failing, { timeoutMs: 20_000 }), (error) => {
        assert.ok(error instanceof TaskFailedError);
        assert.equal(error.task.state, "failed");
        assert.match(error.message, /nope/);
        return true;
      });
      // retry: a new task with the same spec, the same one when asked twice; not of a success.
      const again = await mutirao.retry(failing);
      assert.notEqual(again, failing);
      assert.equal(await mutirao.retry(failing), again);
      assert.deepEqual((await mutirao.status(again)).spec, (await mutirao.status(failing)).spec);
      await assert.rejects(() => mutirao.retry(flaky), RangeError);

      const ids = await mutirao.submitBatch([
        { kind: "echo", payload: 1 },
        { kind: "echo", payload: 2, options: { priority: 3 } },
      ]);
      assert.deepEqual(await Promise.all(ids.map((i) => mutirao.result(i))), [1, 2]);
      const page = await mutirao.list({ states: ["succeeded"], limit: 2 });
      assert.equal(page.tasks.length, 2);
      assert.ok(page.total >= 4);
    } finally {
      await mutirao.logout();
    }
    const again = await connect({
      orchestrators: cluster.config.orchestrators,
      token: "x".repeat(43),
    });
    await assert.rejects(() => again.status("t-1"), (error) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.code, "unauthenticated");
      return true;
    });
    again.close();
  });
});
