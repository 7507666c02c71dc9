// Proves the orchestrator's durability: after kill -9 and a restart every acknowledged task is
// still there and finishes, running tasks are not re-run, and a torn log tail is repaired.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

interface TaskJson {
  id: string;
  state: string;
  attempt: number;
}

Deno.test("kill -9 of the orchestrator loses no acknowledged task; all finish after restart", async () => {
  await withCluster({ snapshotEveryEntries: 25 }, async (cluster) => {
    let orchestrator = await cluster.startOrchestrator();
    await cluster.startWorker({ slots: 2 });
    await cluster.startWorker({ slots: 2 });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

    // Enough tasks to cross a snapshot (every 25 entries) and leave some queued behind busy slots.
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await cluster.cli(["submit", `durable ${i}`, "-d", "1.5"]);
      assert.equal(r.code, 0, r.stderr);
      ids.push(r.json?.id as string);
    }
    orchestrator.signal("SIGKILL");
    await orchestrator.exited;
    // A torn write at the tail of the log: restart must cut it off, not crash on it.
    const dataDir = `${cluster.dir}/data/o1`;
    const segments = [...Deno.readDirSync(dataDir)].map((e) => e.name).filter((n) =>
      n.endsWith(".log")
    ).sort();
    const last = `${dataDir}/${segments[segments.length - 1]}`;
    await Deno.writeFile(last, new Uint8Array([0, 0, 0, 90, 1, 2, 3]), { append: true });

    orchestrator = await cluster.startOrchestrator();
    await orchestrator.waitForLine((l) => l.includes("torn tail"));

    const states = new Map<string, TaskJson>();
    for (const id of ids) {
      const r = await cluster.cli(["status", id, "--wait", "--wait-timeout", "60"]);
      assert.equal(r.code, 0, `${id}: ${r.stderr}`);
      states.set(id, r.json as unknown as TaskJson);
    }
    for (const [id, task] of states) {
      assert.equal(task.state, "succeeded", `${id} is ${task.state}`);
      // Workers stayed up, so no attempt had to be re-run.
      assert.equal(task.attempt, 1, `${id} ran ${task.attempt} times`);
    }
    const list = await cluster.cli(["list", "--limit", "100"]);
    assert.equal((list.json?.tasks as unknown[]).length, ids.length);
  });
});
