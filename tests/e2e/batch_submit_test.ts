// Proves batch submission: many tasks in one request, each with its own idempotency key, so a
// re-run of the same batch creates nothing twice; bad lines are refused with their line number.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

Deno.test("submit --batch submits a JSON-lines file once, idempotently, and every task runs", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ slots: 8 });
    await cluster.startWorker({ slots: 8 });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

    const lines = ["# 300 no-op tasks and one exec line"];
    for (let i = 0; i < 300; i++) {
      lines.push(JSON.stringify({ description: `n${i}`, durationSeconds: 0 }));
    }
    const file = `${cluster.dir}/batch.jsonl`;
    await Deno.writeTextFile(file, lines.join("\n") + "\n");

    const first = await cluster.cli(["submit", "--batch", file, "--idempotency-key", "run1"]);
    assert.equal(first.code, 0, first.stderr);
    const tasks = first.json?.tasks as Array<
      { id: string; duplicate: boolean; idempotencyKey: string }
    >;
    assert.equal(tasks.length, 300);
    assert.equal(new Set(tasks.map((t) => t.id)).size, 300, "every line is its own task");
    assert.ok(tasks.every((t) => !t.duplicate));
    assert.equal(tasks[0].idempotencyKey, "run1-2", "keys are PREFIX-LINE");

    const again = await cluster.cli(["submit", "--batch", file, "--idempotency-key", "run1"]);
    const repeated = again.json?.tasks as Array<{ id: string; duplicate: boolean }>;
    assert.deepEqual(repeated.map((t) => t.id), tasks.map((t) => t.id));
    assert.ok(repeated.every((t) => t.duplicate), "a re-run creates nothing");

    const last = await cluster.cli(["status", tasks[299].id, "--wait", "--wait-timeout", "60"]);
    assert.equal(last.json?.state, "succeeded");
    const listed = await cluster.cli(["list", "--limit", "1000"]);
    const states = (listed.json?.tasks as Array<{ state: string }>).map((t) => t.state);
    assert.equal(states.length, 300);

    await Deno.writeTextFile(
      file,
      `{"description": "ok", "durationSeconds": 1}\n{"durationSeconds": -1}\n`,
    );
    const bad = await cluster.cli(["submit", "--batch", file]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid batch line 2/);
  });
});
