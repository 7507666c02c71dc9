// Proves exec allow-lists: a worker started with --exec-allow runs only the programs it names, and
// a task for any other program waits in the queue saying why.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

Deno.test("a worker with --exec-allow runs only the listed programs", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ allowExec: true, args: ["--exec-allow", "echo"] });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

    const allowed = await cluster.cli(["submit", "--exec", "--wait", "--wait-timeout", "30"], {
      program: ["echo", "allowed"],
    });
    assert.equal(allowed.json?.state, "succeeded", allowed.stderr);

    const refused = await cluster.cli(["submit", "--exec"], { program: ["sh", "-c", "echo no"] });
    const view = await cluster.cli(["status", refused.json?.id as string]);
    assert.equal(view.json?.state, "queued");
    assert.match(String(view.json?.waitingReason), /no live worker allows the program "sh"/);

    const workers = (await cluster.cli(["workers"])).json?.workers as Array<
      { execAllow: string[] }
    >;
    assert.deepEqual(workers[0].execAllow, ["echo"]);
  });
});
