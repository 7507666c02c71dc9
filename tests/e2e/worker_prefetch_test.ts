// Proves `deno task worker --prefetch N` on real processes: a worker with one slot and two
// prefetched assignments holds three tasks at once (running, one started at a time, in order),
// runs them all, and a bad value is refused with a usage error.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";
import { ManagedProcess } from "../../scripts/lib/managed_process.ts";

interface TaskJson {
  state: string;
  workerId: string | null;
  history: Array<{ event: string; atMs: number }>;
}

Deno.test("a worker with --prefetch holds assignments beyond its slot and runs them one after another", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    const worker = await cluster.startWorker({ slots: 1, args: ["--prefetch", "2"] });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await cluster.cli(["submit", `prefetched ${i}`, "-d", "2"]);
      assert.equal(r.code, 0, r.stderr);
      ids.push(String(r.json?.id));
    }
    // The third is assigned to the one-slot worker while the first still runs: it does not wait in
    // the cluster's queue (without --prefetch it would, for 4 s). Polled: no event says "assigned".
    const state = async (id: string) =>
      ((await cluster.cli(["status", id])).json as unknown as TaskJson).state;
    const deadline = Date.now() + 1500;
    let third = await state(ids[2]);
    while (third === "queued" && Date.now() < deadline) third = await state(ids[2]);
    assert.equal(third, "running", "the third task waited in the cluster's queue");
    assert.equal(await state(ids[0]), "running", "the first task still runs");
    const held = (await cluster.cli(["status", ids[2]])).json as unknown as TaskJson;
    assert.equal(held.workerId, worker.workerId, "held by the one-slot worker");
    const runs: Array<[number, number]> = [];
    for (const id of ids) {
      const done = await cluster.cli(["status", id, "--wait", "--wait-timeout", "30"]);
      assert.equal(done.code, 0, done.stderr);
      const task = done.json as unknown as TaskJson;
      assert.equal(task.state, "succeeded");
      const at = (event: string) => task.history.find((e) => e.event === event)!.atMs;
      runs.push([at("started"), at("succeeded")]);
    }
    // One slot: each started once the one before it had ended (give or take the clock's 1 ms).
    for (let i = 1; i < runs.length; i++) {
      assert.ok(runs[i][0] >= runs[i - 1][1] - 1, `task ${i} started before task ${i - 1} ended`);
    }
  });
});

Deno.test("worker --prefetch refuses a value that is not a count", async () => {
  const p = new ManagedProcess({
    name: "worker",
    args: ["worker/main.ts", "--orchestrators", "127.0.0.1:1", "--prefetch", "many"],
  });
  try {
    const status = await p.exited;
    assert.equal(status.code, 2);
    assert.match(
      p.lines.join("\n"),
      /Invalid --prefetch: expected an integer from 0 to 1024, got "many"/,
    );
  } finally {
    await p.stop();
  }
});
