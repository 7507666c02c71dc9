// Proves the batch file format: the seed's and exec lines as before, and handler lines with their
// payload and the options submit's flags give (retries, backoff, time limits, delay, priority,
// queue, dependencies, queue timeout), each bad value refused naming its line.
import assert from "node:assert/strict";
import { UsageError } from "../../shared/cli_args.ts";
import { parseBatchFile } from "./batch_file.ts";

Deno.test("parseBatchFile() reads handler lines with every option", () => {
  const [plain, handler] = parseBatchFile(
    [
      '{"description": "nap", "durationSeconds": 1}',
      JSON.stringify({
        kind: "resize",
        payload: { w: 64 },
        retries: 3,
        backoffSeconds: 0.5,
        backoffType: "fixed",
        timeoutSeconds: 30,
        delaySeconds: 2,
        priority: 5,
        queue: "images",
        after: ["t-1"],
        queueTimeoutSeconds: 60,
      }),
    ].join("\n"),
    "k",
  );
  assert.deepEqual(plain.task, { kind: "sleep", description: "nap", durationMs: 1000 });
  assert.deepEqual(handler, {
    idempotencyKey: "k-2",
    task: {
      kind: "handler",
      handler: "resize",
      description: "",
      payload: '{"w":64}',
      timeoutMs: 30_000,
    },
    retry: { retries: 3, backoff: "fixed", delayMs: 500, maxDelayMs: 300_000 },
    delayMs: 2000,
    priority: 5,
    queue: "images",
    after: ["t-1"],
    queueTimeoutMs: 60_000,
  });
});

Deno.test("parseBatchFile() refuses bad handler lines, naming the line and field", () => {
  for (
    const [line, why] of [
      ['{"kind": "sleep"}', /handler/],
      ['{"kind": "a", "priority": 5000}', /priority/],
      ['{"kind": "a", "after": ["x"]}', /after/],
      ['{"kind": "a", "retries": 2, "backoffType": "linear"}', /backoff/],
      ['{"kind": "a", "colour": "red"}', /unknown field "colour"/],
    ] as const
  ) {
    assert.throws(() => parseBatchFile(line, "k"), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match((error as Error).message, /Invalid batch line 1/);
      assert.match((error as Error).message, why);
      return true;
    });
  }
});
