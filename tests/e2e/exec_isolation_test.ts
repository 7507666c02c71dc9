// Proves that exec tasks cannot read the worker's secrets (issue 13, hole 9): a task sees a cleared
// environment (plus the variables the operator allowed by name), starts in a temporary directory of
// its own that is removed afterwards, and with --exec-uid runs as another user.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

interface TaskJson {
  state: string;
  result: { stdout: string; stderr: string; exitCode: number | null } | null;
}

Deno.test("exec tasks get a cleared environment and a working directory of their own", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    Deno.env.set("MUTIRAO_TEST_SECRET", "do-not-leak");
    Deno.env.set("MUTIRAO_TEST_ALLOWED", "fine-to-see");
    try {
      await cluster.startWorker({
        allowExec: true,
        args: ["--exec-env", "MUTIRAO_TEST_ALLOWED"],
      });
    } finally {
      Deno.env.delete("MUTIRAO_TEST_SECRET");
      Deno.env.delete("MUTIRAO_TEST_ALLOWED");
    }
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

    const environ = await run(cluster, ["cat", "/proc/self/environ"]);
    const vars = environ.split("\0").filter((v) => v !== "");
    const names = vars.map((v) => v.slice(0, v.indexOf("="))).sort();
    assert.deepEqual(names, ["HOME", "LANG", "MUTIRAO_TEST_ALLOWED", "PATH", "TMPDIR"]);
    assert.ok(!environ.includes("do-not-leak"));
    assert.ok(vars.includes("MUTIRAO_TEST_ALLOWED=fine-to-see"));

    const [pwd, home, tmp] = (await run(cluster, ["sh", "-c", 'pwd; echo "$HOME"; echo "$TMPDIR"']))
      .trim().split("\n");
    assert.match(pwd, /mutirao-task-/);
    assert.deepEqual([home, tmp], [pwd, pwd]);
    // Removed once the attempt ended.
    await assert.rejects(Deno.stat(pwd), Deno.errors.NotFound);
  });
});

Deno.test("--exec-uid runs exec tasks as another user", {
  ignore: Deno.uid() !== 0,
}, async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({
      allowExec: true,
      args: ["--exec-uid", "65534", "--exec-gid", "65534"],
    });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    assert.equal((await run(cluster, ["id", "-u"])).trim(), "65534");
    const denied = await runTask(cluster, ["cat", `${cluster.dir}/cluster.json`]);
    assert.equal(denied.state, "failed", "a task read a file only the worker's user may read");
  });
});

/** Runs an exec task to its end and returns its stdout (it must succeed). */
async function run(cluster: Parameters<typeof runTask>[0], program: string[]): Promise<string> {
  const task = await runTask(cluster, program);
  assert.equal(task.state, "succeeded", JSON.stringify(task.result));
  return task.result!.stdout;
}

async function runTask(
  cluster: { cli: (args: string[], o?: { program?: string[] }) => Promise<{ json: unknown }> },
  program: string[],
): Promise<TaskJson> {
  const submitted = await cluster.cli(["submit", "--exec", "--wait", "--wait-timeout", "30"], {
    program,
  });
  return submitted.json as TaskJson;
}
