// Proves that `list` tells how many tasks match and pages through them with a cursor, and that an
// idempotency key reused for a different task is refused rather than answered with the old task.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

Deno.test("list says 'showing N of M', pages with --after, and filters by several states", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    const file = `${cluster.dir}/batch.jsonl`;
    const lines = Array.from(
      { length: 7 },
      (_, i) => JSON.stringify({ description: `n${i}`, durationSeconds: 60 }),
    );
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    const submitted = await cluster.cli(["submit", "--batch", file]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const cancelled = await cluster.cli(["cancel", "t-1"]);
    assert.equal(cancelled.code, 0, cancelled.stderr);

    const first = await cluster.cli(["list", "--limit", "3"]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual((first.json?.tasks as Array<{ id: string }>).map((t) => t.id), [
      "t-7",
      "t-6",
      "t-5",
    ]);
    assert.equal(first.json?.total, 7);
    assert.equal(first.json?.next, "t-5");

    const second = await cluster.cli(["list", "--limit", "3", "--after", "t-5"], { json: false });
    assert.equal(second.code, 0, second.stderr);
    const text = second.stdout.trimEnd().split("\n");
    assert.deepEqual(text.slice(1, 4).map((l) => l.split(/\s+/)[0]), ["t-4", "t-3", "t-2"]);
    assert.equal(
      text.at(-1),
      "Showing 3 of 7 tasks; next page: mutirao list --limit 3 --after t-2",
    );

    const states = await cluster.cli([
      "list",
      "--state",
      "cancelled",
      "--state",
      "running,queued",
      "--limit",
      "6",
    ]);
    assert.equal(states.json?.total, 7);
    assert.equal(states.json?.next, "t-2");
    const cancelledOnly = await cluster.cli(["list", "--state", "cancelled"]);
    assert.deepEqual(cancelledOnly.json, {
      tasks: cancelledOnly.json?.tasks,
      total: 1,
      next: null,
    });
  });
});

Deno.test("submit refuses an idempotency key reused for a different task, and accepts the same task again", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    const first = await cluster.cli(["submit", "nap", "-d", "60", "--idempotency-key", "k1"]);
    assert.equal(first.code, 0, first.stderr);
    const same = await cluster.cli(["submit", "nap", "-d", "60", "--idempotency-key", "k1"]);
    assert.deepEqual(same.json, { id: first.json?.id, duplicate: true, idempotencyKey: "k1" });
    const other = await cluster.cli(["submit", "nap", "-d", "61", "--idempotency-key", "k1"]);
    assert.equal(other.code, 7, other.stderr);
    assert.match(
      other.stderr + other.stdout,
      /idempotency key k1 was used for task t-1 with a different task; use another key/,
    );

    // A batch re-run after one line changed: that line is refused, the others are duplicates.
    const file = `${cluster.dir}/batch.jsonl`;
    const line = (d: number) => JSON.stringify({ description: "b", durationSeconds: d });
    await Deno.writeTextFile(file, `${line(60)}\n${line(60)}\n`);
    assert.equal(
      (await cluster.cli(["submit", "--batch", file, "--idempotency-key", "b"])).code,
      0,
    );
    await Deno.writeTextFile(file, `${line(60)}\n${line(61)}\n`);
    const rerun = await cluster.cli(["submit", "--batch", file, "--idempotency-key", "b"]);
    assert.equal(rerun.code, 7, rerun.stdout);
    assert.match(
      rerun.stderr,
      /Refused 1 of 2 task\(s\).*idempotency key b-2 was used for task t-3/,
    );
  });
});
