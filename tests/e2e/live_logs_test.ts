// Proves `logs --follow` end to end on real processes: a handler task's progress lines and an exec
// task's output appear while the task runs (well before it ends), each once, and the command
// exits when the task ends: 0 when it succeeded, 8 (after a final `state` line) when it failed.
import assert from "node:assert/strict";
import type { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import { type ClusterFixture, withCluster } from "./cluster_fixture.ts";

function follow(cluster: ClusterFixture, taskId: string, json = false): ManagedProcess {
  return cluster.spawn(`logs ${taskId}`, [
    "client/main.ts",
    "logs",
    taskId,
    "--follow",
    "--config",
    cluster.configPath,
    ...(json ? ["--json"] : []),
  ], { MUTIRAO_HOME: cluster.home });
}

async function submitted(cluster: ClusterFixture, args: string[], program?: string[]) {
  const r = await cluster.cli(["submit", ...args], program === undefined ? {} : { program });
  assert.equal(r.code, 0, r.stderr);
  return String(r.json?.id);
}

async function stateOf(cluster: ClusterFixture, taskId: string): Promise<string> {
  return String((await cluster.cli(["status", taskId])).json?.state);
}

Deno.test("logs --follow shows a task's output while it runs and exits when it ends", async (t) => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ allowExec: true, args: ["--handlers", "examples/handlers.ts"] });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

    await t.step("a handler task's progress lines, before it ends", async () => {
      const id = await submitted(cluster, ["--kind", "slow", "--payload", '{"ms":4000}']);
      const logs = follow(cluster, id);
      await logs.waitForLine((l) => l === "progress 25%: 1 of 4");
      const seenMs = Date.now();
      assert.equal(await stateOf(cluster, id), "running", "the line came before the end");
      const status = await logs.exited;
      assert.ok(Date.now() - seenMs > 1000, "the first line came well before the end");
      assert.equal(status.code, 0, logs.tail());
      assert.deepEqual(logs.stdoutLines, [
        "progress 25%: 1 of 4",
        "progress 50%: 2 of 4",
        "progress 75%: 3 of 4",
        "progress 100%: 4 of 4",
      ]);
    });

    await t.step(
      "an exec task's stdout and stderr as JSON lines; exit 8 when it fails",
      async () => {
        const id = await submitted(cluster, ["--exec"], [
          "sh",
          "-c",
          "echo a; sleep 2; echo b >&2; exit 3",
        ]);
        const logs = follow(cluster, id, true);
        await logs.waitForLine((l) => l === JSON.stringify({ stream: "stdout", text: "a\n" }));
        const seenMs = Date.now();
        assert.equal(await stateOf(cluster, id), "running", "the line came before the end");
        const status = await logs.exited;
        assert.ok(Date.now() - seenMs > 500, "the first line came well before the end");
        assert.equal(status.code, 8, logs.tail());
        const lines = logs.stdoutLines.map((l) => JSON.parse(l));
        assert.deepEqual(lines.slice(0, 2), [
          { stream: "stdout", text: "a\n" },
          { stream: "stderr", text: "b\n" },
        ]);
        assert.equal(lines.at(-1).state, "failed");
        assert.equal(lines.at(-1).error.exitCode, 8);
      },
    );

    await t.step("a task that already ended: its output, then exit", async () => {
      const id = await submitted(cluster, ["--kind", "flaky", "--payload", '{"failTimes":0}']);
      assert.equal((await cluster.cli(["status", id, "--wait"])).code, 0);
      const logs = follow(cluster, id);
      assert.equal((await logs.exited).code, 0, logs.tail());
      assert.deepEqual(logs.stdoutLines, ["attempt 1 of a task that fails 0 time(s)"]);
    });
  });
});
