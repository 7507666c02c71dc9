// Proves that a normal start from a demo file logs no WARN line on any node (the demo file's
// expected conditions are one info line), so a WARN in the demo always means something.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

Deno.test("a demo-file cluster of three orchestrators and a worker starts without a WARN line", async () => {
  await withCluster({ orchestrators: 3, extraConfig: { demo: true } }, async (cluster) => {
    await cluster.startOrchestrator("o1");
    // As in the demo, a worker may start before there is a leader: it is sent on ("no leader
    // yet", "not the leader") until it finds one, which is normal and no cause for a warning.
    const worker = cluster.spawn("worker", ["worker/main.ts", "--config", cluster.configPath]);
    await worker.waitForLine((l) => / INFO .*reconnecting/.test(l));
    for (const id of ["o2", "o3"]) await cluster.startOrchestrator(id);
    await worker.waitForLine((l) => /Registered as/.test(l));
    await cluster.waitUntilServing();
    const submitted = await cluster.cli(["submit", "nap", "-d", "0", "--wait"]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const lines = cluster.processes.flatMap((p) => p.lines.map((l) => `[${p.name}] ${l}`));
    assert.deepEqual(lines.filter((l) => / (WARN|ERROR) /.test(l)), []);
    const demo = lines.filter((l) => / INFO .*is a demo configuration/.test(l));
    assert.equal(demo.length, 3, "each orchestrator says once that it runs a demo file");
  });
});
