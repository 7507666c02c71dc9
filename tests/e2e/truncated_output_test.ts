// Proves that a task whose output was longer than the worker keeps says so: `status --json` has
// stdoutTruncated and the text view says "(truncated: last 64 KiB shown)"; output that fits has neither.
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

Deno.test("status flags output the worker kept only the tail of, in --json and in text", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ allowExec: true });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    const chatty = await cluster.cli(["submit", "--exec"], {
      program: ["/usr/bin/head", "-c", "70000", "/dev/zero"],
    });
    const quiet = await cluster.cli(["submit", "--exec"], {
      program: ["/usr/bin/head", "-c", "10", "/dev/zero"],
    });
    const long = await cluster.cli(["status", String(chatty.json?.id), "--wait"]);
    assert.equal(long.code, 0, long.stderr);
    const result = long.json?.result as Record<string, unknown>;
    assert.equal(result.stdoutTruncated, true);
    assert.equal((result.stdout as string).length, 64 * 1024);
    assert.equal("stderrTruncated" in result, false);
    const text = await cluster.cli(["status", String(chatty.json?.id)], { json: false });
    assert.match(text.stdout, /stdout \(truncated: last 64 KiB shown\):/);

    const short = await cluster.cli(["status", String(quiet.json?.id), "--wait"]);
    const fits = short.json?.result as Record<string, unknown>;
    assert.equal(fits.stdout, "\0".repeat(10));
    assert.equal("stdoutTruncated" in fits, false);
  });
});
