// Proves `deno task worker --handlers MODULE --isolate` on real processes: a handler that keeps the
// CPU busy and ignores its signal times out as its own attempt, the worker stays alive (its
// heartbeats went on) and runs the next task, and its Web Worker is terminated.
import assert from "node:assert/strict";
import type { TaskView } from "../../shared/protocol/messages.ts";
import { withCluster } from "./cluster_fixture.ts";

Deno.test("an isolated handler that ignores its timeout is stopped; the worker goes on", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    const worker = await cluster.startWorker({
      slots: 1,
      args: ["--handlers", "examples/handlers.ts", "--isolate"],
    });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    const spun = await cluster.cli([
      "submit",
      "--kind",
      "spin",
      "--payload",
      '{"ms":60000}',
      "--task-timeout",
      "0.5",
      "--wait",
      "--wait-timeout",
      "20",
    ]);
    const task = spun.json as unknown as TaskView;
    assert.equal(task.state, "failed", spun.stderr);
    assert.equal(task.result?.timedOut, true);
    // The same worker (one slot) runs the next task: its event loop was never blocked.
    const next = await cluster.cli([
      "submit",
      "--kind",
      "add",
      "--payload",
      '{"a":1,"b":2}',
      "--wait",
    ]);
    assert.equal(next.code, 0, next.stderr);
    assert.equal((next.json as unknown as TaskView).workerId, worker.workerId);
    const workers = await cluster.cli(["workers"]);
    const row = (workers.json!.workers as Array<{ id: string }>).find((w) =>
      w.id === worker.workerId
    );
    assert.ok(row !== undefined, "the worker was never declared lost");
  });
});
