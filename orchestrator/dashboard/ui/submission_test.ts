import assert from "node:assert/strict";
import { buildSubmission, mayHaveApplied } from "./submission.js";

const fields = (values: Record<string, string>) => (name: string) => values[name] ?? "";

Deno.test("the form builds the API's submission: a sleep or a handler, with options", () => {
  assert.deepEqual(buildSubmission("sleep", fields({ description: "d", duration: "1.5" })), {
    task: { kind: "sleep", description: "d", durationMs: 1500 },
  });
  assert.deepEqual(
    buildSubmission(
      "handler",
      fields({ kind: "add", payload: '{"a":1}', priority: "3", queue: "q", retries: "2" }),
    ),
    {
      task: { kind: "handler", handler: "add", description: "", payload: '{"a":1}' },
      priority: 3,
      queue: "q",
      retry: { retries: 2, backoff: "exponential", delayMs: 1000, maxDelayMs: 300_000 },
    },
  );
  assert.throws(() => buildSubmission("sleep", fields({ duration: "-1" })), /seconds/);
  assert.throws(() => buildSubmission("handler", fields({ payload: "{" })), /payload is not JSON/);
});

Deno.test("a submission keeps its idempotency key only after answers that may hide a write", () => {
  for (const status of [0, 408, 429, 500, 503, 504]) assert.ok(mayHaveApplied(status), `${status}`);
  for (const status of [400, 401, 403, 404, 409, 413, 415]) {
    assert.ok(!mayHaveApplied(status), `${status}`);
  }
});
