// Proves the CLI's pure middle without a socket: parsed arguments become exactly the request the
// command sends, and replies become the documented output and exit code.
import assert from "node:assert/strict";
import { EXIT_CODES } from "../../shared/errors.ts";
import type { TaskView } from "../../shared/protocol/messages.ts";
import {
  batchOutput,
  listRequest,
  resultOutput,
  submitRequest,
  submittedOutput,
  taskOutput,
} from "./build_request.ts";
import { parseInvocation } from "./parse_command.ts";

function commandOf(args: string[]) {
  return parseInvocation(args).command;
}

Deno.test("submitRequest() carries the spec, the key, and max attempts only when given", () => {
  const command = commandOf(["submit", "report", "-d", "2"]);
  assert.ok(command.name === "submit");
  assert.deepEqual(submitRequest(command, { token: "tk", idempotencyKey: "k" }), {
    type: "submit",
    token: "tk",
    idempotencyKey: "k",
    task: { kind: "sleep", description: "report", durationMs: 2000 },
  });
  const limited = commandOf(["submit", "r", "-d", "1", "--max-attempts", "2"]);
  assert.ok(limited.name === "submit");
  assert.equal(submitRequest(limited, { token: "tk", idempotencyKey: "k" }).maxAttempts, 2);
});

Deno.test("listRequest() sends only the filters given; one state goes as state", () => {
  const plain = commandOf(["list"]);
  assert.ok(plain.name === "list");
  assert.deepEqual(listRequest(plain, "tk"), { type: "list", token: "tk", paged: true });
  const filtered = commandOf(["list", "--state", "failed", "--limit", "3", "--all"]);
  assert.ok(filtered.name === "list");
  assert.deepEqual(listRequest(filtered, "tk"), {
    type: "list",
    token: "tk",
    all: true,
    state: "failed",
    limit: 3,
    paged: true,
  });
});

Deno.test("submittedOutput() and batchOutput() keep their --json shapes", () => {
  const one = submittedOutput({ taskId: "t-3", duplicate: true }, "k");
  assert.deepEqual(one.json, { id: "t-3", duplicate: true, idempotencyKey: "k" });
  assert.match(one.text ?? "", /already submitted/);
  const batch = batchOutput([
    { id: "t-1", duplicate: false, idempotencyKey: "p-1" },
    { id: "t-2", duplicate: true, idempotencyKey: "p-2" },
  ]);
  assert.equal((batch.json as { tasks: unknown[] }).tasks.length, 2);
  assert.match(batch.text ?? "", /Submitted 2 task\(s\) \(t-1 … t-2\); 1 were already submitted/);
});

Deno.test("taskOutput() fails a waited task that did not succeed, and only a waited one", () => {
  const task: TaskView = {
    id: "t-9",
    owner: "user1",
    state: "cancelled",
    spec: { kind: "sleep", description: "x", durationMs: 1 },
    attempt: 1,
    maxAttempts: 3,
    workerId: null,
    submittedAtMs: 0,
    finishedAtMs: 5,
    result: null,
    waitingReason: null,
    history: [],
  };
  assert.equal(taskOutput(task, { timeoutS: null }).failure?.exitCode, EXIT_CODES.taskFailed);
  assert.equal(taskOutput(task, null).failure, undefined);
});

Deno.test("resultOutput() prints a handler's value, null when it returned nothing, exit 13 unfinished", () => {
  const base = {
    id: "t-9",
    owner: "alice",
    spec: { kind: "handler" as const, handler: "add", description: "", payload: "{}" },
    attempt: 1,
    maxAttempts: 3,
    workerId: null,
    submittedAtMs: 0,
    finishedAtMs: 1,
    waitingReason: null,
    history: [],
  };
  const outcome = {
    status: "succeeded" as const,
    exitCode: null,
    stdout: "a log line\n",
    stderr: "",
    error: null,
    durationMs: 1,
  };
  const withValue = resultOutput({
    ...base,
    state: "succeeded",
    result: { ...outcome, value: "5" },
  }, null);
  assert.equal(withValue.text, "5");
  assert.deepEqual(withValue.json, { id: "t-9", state: "succeeded", value: 5, error: null });
  const none = resultOutput({ ...base, state: "succeeded", result: outcome }, null);
  assert.equal(none.text, "null", "not the handler's log lines");
  const queued = resultOutput({ ...base, state: "queued", result: null, finishedAtMs: null }, null);
  assert.equal(queued.failure?.exitCode, 13);
});
