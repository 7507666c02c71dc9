// Proves that an exec attempt's outcome says when a stream kept only its tail, and only then.
import assert from "node:assert/strict";
import { LIMITS } from "../../shared/limits.ts";
import { runTask } from "./task_runner.ts";

const REF = { taskId: "t-1", attempt: 1 };

Deno.test("runTask() flags stdout as truncated when a program writes more than the tail keeps", async () => {
  const bytes = LIMITS.outputTailBytes + 100;
  const outcome = await runTask({
    kind: "exec",
    description: "chatty",
    argv: ["/usr/bin/head", "-c", String(bytes), "/dev/zero"],
    timeoutMs: 10_000,
  }, REF).done;
  assert.equal(outcome.status, "succeeded");
  assert.equal(outcome.stdout.length, LIMITS.outputTailBytes);
  assert.equal(outcome.stdoutTruncated, true);
  assert.equal(outcome.stderrTruncated, undefined, "stderr was not cut");
});

Deno.test("runTask() sets no truncation flag for output that fits", async () => {
  const outcome = await runTask({
    kind: "exec",
    description: "quiet",
    argv: ["/usr/bin/head", "-c", "10", "/dev/zero"],
    timeoutMs: 10_000,
  }, REF).done;
  assert.equal(outcome.stdout.length, 10);
  assert.equal("stdoutTruncated" in outcome, false);
  assert.equal("stderrTruncated" in outcome, false);
});
