// Proves that runTask reports honestly: an exec attempt's outcome says when a stream kept only its
// tail (and only then), attempts past their time limit say so with timedOut, and handler tasks go
// to the worker's handler of their kind, or fail when it serves none.
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

Deno.test("runTask() fails a sleep longer than its timeout with timedOut", async () => {
  const outcome = await runTask(
    { kind: "sleep", description: "long", durationMs: 60_000, timeoutMs: 20 },
    REF,
  ).done;
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.timedOut, true);
  assert.equal(outcome.error, "timed out after 0.02 s");
});

Deno.test("runTask() lets a sleep no longer than its timeout succeed", async () => {
  const outcome = await runTask(
    { kind: "sleep", description: "short", durationMs: 10, timeoutMs: 10 },
    REF,
  ).done;
  assert.equal(outcome.status, "succeeded");
  assert.equal("timedOut" in outcome, false);
});

Deno.test("runTask() flags an exec attempt stopped by its time limit as timedOut", async () => {
  const outcome = await runTask({
    kind: "exec",
    description: "stuck",
    argv: ["/bin/sleep", "30"],
    timeoutMs: 50,
  }, REF).done;
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.timedOut, true);
  assert.equal(outcome.error, "timed out after 0.05 s");
});

Deno.test("runTask() runs a handler task with the handler of its kind", async () => {
  const outcome = await runTask(
    { kind: "handler", handler: "add", description: "", payload: '{"a":2,"b":3}' },
    { ...REF, handlers: { add: ({ a, b }) => a + b } },
  ).done;
  assert.equal(outcome.status, "succeeded");
  assert.equal(outcome.value, "5");
});

Deno.test("runTask() fails a handler task of a kind this worker does not serve", async () => {
  for (const handler of ["resize", "toString"]) {
    const task = runTask(
      { kind: "handler", handler, description: "", payload: "{}" },
      { ...REF, handlers: { add: () => 0 } },
    );
    assert.ok(task.ended !== undefined);
    const outcome = await task.done;
    assert.equal(outcome.status, "failed");
    assert.equal(outcome.error, `This worker serves no handler for kind ${handler}`);
  }
});

Deno.test("runTask() hands an exec attempt's stdout and stderr to onOutput as text as they come", async () => {
  const seen = { stdout: "", stderr: "" };
  const outcome = await runTask({
    kind: "exec",
    description: "both",
    argv: ["/bin/sh", "-c", "printf 'a\\n'; printf 'é\\n' >&2; printf 'b\\n'"],
    timeoutMs: 10_000,
  }, { ...REF, onOutput: (stream, text) => seen[stream] += text }).done;
  assert.equal(outcome.status, "succeeded");
  assert.deepEqual(seen, { stdout: "a\nb\n", stderr: "é\n" });
  assert.equal(outcome.stdout, seen.stdout);
});
