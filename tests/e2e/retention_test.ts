// Proves retention through the real CLI and orchestrator: finished tasks beyond the cluster
// file's keepFinishedTasks are removed, `status` of one says "expired" (exit 12) while an unknown
// id stays "not found" (exit 5), queued tasks are kept, and an admin's `purge` removes what its
// filter names (a plain user may not).
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";
import { pollUntil } from "./poll_until.ts";

Deno.test("retention removes the oldest finished tasks; status says expired (exit 12); purge removes by filter", async () => {
  await withCluster({
    extraConfig: {
      retention: { keepFinishedForMs: 0, keepFinishedTasks: 2, sweepIntervalMs: 50 },
    },
  }, async (cluster) => {
    await cluster.startOrchestrator();
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    const file = `${cluster.dir}/batch.jsonl`;
    const lines = Array.from(
      { length: 6 },
      (_, i) => JSON.stringify({ description: `n${i}`, durationSeconds: 60 }),
    );
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    assert.equal((await cluster.cli(["submit", "--batch", file])).code, 0);
    // No worker: cancelling is how these tasks finish. t-5 and t-6 stay queued.
    for (const id of ["t-1", "t-2", "t-3", "t-4"]) {
      assert.equal((await cluster.cli(["cancel", id])).code, 0);
    }
    await pollUntil("only 2 finished tasks are kept", async () => {
      const listed = await cluster.cli(["list", "--state", "cancelled"]);
      return listed.json?.total === 2 ? true : undefined;
    });
    const expired = await cluster.cli(["status", "t-1"], { json: false });
    assert.equal(expired.code, 12, expired.stderr);
    assert.match(expired.stderr, /t-1.*expired/);
    const expiredJson = await cluster.cli(["status", "t-2"]);
    assert.equal(expiredJson.code, 12);
    assert.match(expiredJson.stdout + expiredJson.stderr, /"code":\s*"expired"/);
    const unknown = await cluster.cli(["status", "t-99"]);
    assert.equal(unknown.code, 5, unknown.stderr);
    const all = await cluster.cli(["list"]);
    assert.deepEqual((all.json?.tasks as Array<{ id: string }>).map((t) => t.id), [
      "t-6",
      "t-5",
      "t-4",
      "t-3",
    ]);

    const dry = await cluster.cli(["purge", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(dry.json, { matched: 2, removed: 0, dryRun: true });
    const young = await cluster.cli(["purge", "--older-than", "1h"]);
    assert.deepEqual(young.json, { matched: 0, removed: 0, dryRun: false });
    const purged = await cluster.cli(["purge", "--state", "cancelled"], { json: false });
    assert.equal(purged.code, 0, purged.stderr);
    assert.match(purged.stdout, /Removed 2 finished task\(s\) in cancelled/);
    assert.equal((await cluster.cli(["status", "t-4"])).code, 12);
    assert.equal((await cluster.cli(["status", "t-5"])).code, 0, "a queued task was removed");

    const bad = await cluster.cli(["purge", "--state", "queued"]);
    assert.equal(bad.code, 2);
    assert.equal((await cluster.cli(["login", "user2", "pass2"])).code, 0);
    const refused = await cluster.cli(["purge"]);
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.stderr, /Only admins may purge tasks/);
  });
});
