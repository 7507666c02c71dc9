// Proves the CLI's exit-code contract without a cluster: each error or result maps to its
// documented exit code, the old codes keep their meaning, and `--json` always prints one document.
import assert from "node:assert/strict";
import { UsageError } from "../../shared/cli_args.ts";
import { EXIT_CODES, RemoteError } from "../../shared/errors.ts";
import type { TaskView } from "../../shared/protocol/messages.ts";
import { UnreachableError } from "../api/mod.ts";
import { configurationError, notLoggedIn } from "./cli_error.ts";
import {
  failureFor,
  failureOutcome,
  noLeaderFailure,
  outputOutcome,
  waitFailure,
} from "./outcome.ts";

function task(state: TaskView["state"]): TaskView {
  return {
    id: "t-7",
    owner: "user1",
    state,
    spec: { kind: "sleep", description: "x", durationMs: 1 },
    attempt: 1,
    maxAttempts: 3,
    workerId: null,
    submittedAtMs: 0,
    finishedAtMs: null,
    result: null,
    waitingReason: null,
    history: [],
  };
}

Deno.test("the exit codes scripts already rely on keep their numbers", () => {
  assert.deepEqual(
    [
      EXIT_CODES.ok,
      EXIT_CODES.internal,
      EXIT_CODES.invalidArguments,
      EXIT_CODES.badCredentials,
      EXIT_CODES.unauthenticated,
      EXIT_CODES.notFound,
      EXIT_CODES.unreachable,
      EXIT_CODES.rejected,
    ],
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  const all = Object.values(EXIT_CODES);
  assert.equal(new Set(all).size, all.length, "every exit code means one thing");
});

Deno.test("failureFor() maps each error class to its exit code", () => {
  const cases: Array<[unknown, string, number]> = [
    [new UsageError("bad"), "invalid_arguments", 2],
    [notLoggedIn("Not logged in"), "unauthenticated", 4],
    [new RemoteError("bad_credentials", "no"), "bad_credentials", 3],
    [new RemoteError("not_found", "No task"), "not_found", 5],
    [new RemoteError("unavailable", "no quorum"), "unavailable", 6],
    [new UnreachableError("down"), "unreachable", 6],
    [new RemoteError("conflict", "finished"), "conflict", 7],
    [configurationError(new Error("Cannot read cluster file x")), "configuration", 10],
    [new TypeError("oops"), "internal", 1],
  ];
  for (const [error, code, exitCode] of cases) {
    const failure = failureFor(error, "status");
    assert.equal(failure.code, code, String(error));
    assert.equal(failure.exitCode, exitCode, String(error));
  }
});

Deno.test("failureFor() tells no such user or session apart from an unknown task", () => {
  const notFound = new RemoteError("not_found", 'No user "bob"');
  for (const command of ["userRemove", "userPasswd", "userAdd"] as const) {
    assert.deepEqual(failureFor(notFound, command), {
      code: "no_such_user",
      exitCode: EXIT_CODES.noSuchAccount,
      message: 'No user "bob"',
    });
  }
  assert.equal(failureFor(notFound, "tokenRevoke").code, "no_such_session");
  assert.equal(failureFor(notFound, "tokenRevoke").exitCode, EXIT_CODES.noSuchAccount);
  assert.equal(failureFor(notFound, "cancel").exitCode, EXIT_CODES.notFound);
  assert.notEqual(EXIT_CODES.noSuchAccount, EXIT_CODES.notFound);
});

Deno.test("waitFailure() fails a waited task that failed, was cancelled, or outlived the wait", () => {
  const wait = { timeoutS: 5 };
  assert.equal(waitFailure(task("succeeded"), wait), undefined);
  assert.equal(waitFailure(task("failed"), wait)?.exitCode, EXIT_CODES.taskFailed);
  assert.equal(waitFailure(task("cancelled"), wait)?.exitCode, EXIT_CODES.taskFailed);
  assert.equal(waitFailure(task("running"), wait)?.exitCode, EXIT_CODES.waitTimedOut);
  assert.equal(waitFailure(task("queued"), wait)?.code, "wait_timeout");
  // Without --wait, showing a task is a query that worked, whatever the task's state.
  assert.equal(waitFailure(task("failed"), null), undefined);
});

Deno.test("outputOutcome() keeps the result's JSON and adds the failure beside it", () => {
  const failed = task("failed");
  const failure = waitFailure(failed, { timeoutS: null });
  const outcome = outputOutcome({ json: failed, text: "t-7 failed", failure }, { json: true });
  assert.equal(outcome.exitCode, EXIT_CODES.taskFailed);
  const doc = JSON.parse(outcome.stdout!);
  assert.equal(doc.state, "failed", "the task's fields are all still there");
  assert.equal(doc.error.code, "task_failed");
  assert.deepEqual(outcome.stderr, ["mutirao: Task t-7 ended failed"]);
  const ok = outputOutcome({ json: { a: 1 }, text: "fine" }, { json: false });
  assert.deepEqual(ok, { stdout: "fine", stderr: [], exitCode: 0 });
});

Deno.test("noLeaderFailure() makes a cluster without a leader exit 6, not 0", () => {
  assert.equal(noLeaderFailure("o1"), undefined);
  assert.equal(noLeaderFailure(null)?.exitCode, EXIT_CODES.unreachable);
  assert.equal(noLeaderFailure(null)?.code, "no_leader");
});

Deno.test("failureOutcome() prints the message on stderr and one JSON error document", () => {
  const failure = failureFor(new UsageError("Invalid TASK_ID"), null);
  const outcome = failureOutcome(failure, { json: true, stack: null });
  assert.deepEqual(JSON.parse(outcome.stdout!), {
    error: { code: "invalid_arguments", exitCode: 2, message: "Invalid TASK_ID" },
  });
  assert.deepEqual(outcome.stderr, ["mutirao: Invalid TASK_ID"]);
  assert.equal(failureOutcome(failure, { json: false }).stdout, null);
});
