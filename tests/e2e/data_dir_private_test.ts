// Proves that an orchestrator keeps its data directory (the log holds every task, its output and
// every password hash) readable by its owner only: the directory 0700, its files 0600, also when
// it was created open by an earlier version (issue 13, hole 8).
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

async function modeOf(path: string): Promise<number> {
  return ((await Deno.stat(path)).mode ?? 0) & 0o777;
}

Deno.test("an orchestrator's data directory and log files are its owner's only", async () => {
  await withCluster({}, async (cluster) => {
    const dataDir = `${cluster.dir}/data/o1`;
    // As an earlier version left it: world-readable, with a world-readable stray file.
    await Deno.mkdir(dataDir, { recursive: true });
    await Deno.chmod(dataDir, 0o755);
    await Deno.writeTextFile(`${dataDir}/notes.txt`, "old");
    await Deno.chmod(`${dataDir}/notes.txt`, 0o644);
    const orchestrator = await cluster.startOrchestrator("o1");
    // The first leader writes the cluster file's accounts to its log.
    await orchestrator.waitForLine((l) => l.includes("from the cluster configuration"));
    assert.equal(await modeOf(dataDir), 0o700);
    const files = [];
    for await (const entry of Deno.readDir(dataDir)) if (entry.isFile) files.push(entry.name);
    assert.ok(files.some((f) => f.startsWith("wal-")), `no log file in ${files}`);
    for (const file of files) assert.equal(await modeOf(`${dataDir}/${file}`), 0o600, file);
    assert.ok(orchestrator.lines.some((l) => l.includes("Made") && l.includes("private")));
  });
});
