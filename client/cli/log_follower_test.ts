// Proves that LogFollower asks for output from where it stopped, shows each part once (live, then
// the final output's unshown rest), notes skipped output and new attempts, and finds where a cut
// final output picks up.
import assert from "node:assert/strict";
import type { OrchestratorToClient } from "../../shared/protocol/messages.ts";
import { followedOutput } from "./build_request.ts";
import { LogFollower } from "./log_follower.ts";

type LogsReply = Extract<OrchestratorToClient, { type: "logs" }>;

function live(
  attempt: number,
  stdout: { offset: number; text: string },
  stderr = { offset: 0, text: "" },
): LogsReply {
  return {
    v: 1,
    lamport: 1,
    type: "logs",
    re: 1,
    taskId: "t-1",
    state: "running",
    attempt,
    isFinal: false,
    stdout: { ...stdout, next: stdout.offset + stdout.text.length },
    stderr: { ...stderr, next: stderr.offset + stderr.text.length },
    error: null,
  };
}

function final(
  attempt: number,
  stdout: { offset: number | null; text: string },
  state: LogsReply["state"] = "succeeded",
): LogsReply {
  return {
    ...live(attempt, { offset: 0, text: "" }),
    state,
    isFinal: true,
    stdout: { ...stdout, next: null },
    stderr: { offset: 0, text: "", next: null },
  };
}

Deno.test("LogFollower asks from the start, then from where the last reply ended", () => {
  const f = new LogFollower("t-1");
  assert.deepEqual(f.query(), {});
  assert.deepEqual(f.take(live(1, { offset: 0, text: "a\n" }, { offset: 0, text: "e" })), [
    { stream: "stdout", text: "a\n" },
    { stream: "stderr", text: "e" },
  ]);
  assert.deepEqual(f.query(), { attempt: 1, stdoutOffset: 2, stderrOffset: 1 });
  assert.deepEqual(f.take(live(1, { offset: 2, text: "" }, { offset: 1, text: "" })), []);
});

Deno.test("LogFollower prints only the part of a whole final output not shown live", () => {
  const f = new LogFollower("t-1");
  f.take(live(1, { offset: 0, text: "progress 25%\n" }));
  assert.deepEqual(f.take(final(1, { offset: 0, text: "progress 25%\nprogress 50%\n" })), [
    { stream: "stdout", text: "progress 50%\n" },
  ]);
});

Deno.test("LogFollower notes output the leader did not keep", () => {
  const f = new LogFollower("t-1");
  f.take(live(1, { offset: 0, text: "a" }));
  assert.deepEqual(f.take(live(1, { offset: 11, text: "z" })), [
    { notice: "[… 10 characters of stdout not kept …]" },
    { stream: "stdout", text: "z" },
  ]);
});

Deno.test("LogFollower starts again at a new attempt, saying so", () => {
  const f = new LogFollower("t-1");
  f.take(live(1, { offset: 0, text: "first try\n" }));
  assert.deepEqual(f.take(live(2, { offset: 0, text: "second\n" })), [
    { notice: "[attempt 2 of task t-1]" },
    { stream: "stdout", text: "second\n" },
  ]);
  assert.deepEqual(f.query(), { attempt: 2, stdoutOffset: 7, stderrOffset: 0 });
  // The final output of an attempt never seen live is shown whole.
  const g = new LogFollower("t-1");
  g.take(live(1, { offset: 0, text: "first try\n" }));
  assert.deepEqual(g.take(final(2, { offset: 0, text: "all of it\n" })).at(-1), {
    stream: "stdout",
    text: "all of it\n",
  });
});

Deno.test("LogFollower finds where a cut final output picks up after what was shown", () => {
  const line = (i: number) => `line ${String(i).padStart(4, "0")} of a long output\n`;
  const lines = Array.from({ length: 100 }, (_, i) => line(i));
  const f = new LogFollower("t-1");
  f.take(live(1, { offset: 0, text: lines.slice(0, 60).join("") }));
  // The final tail starts at line 40: lines 60..99 were not shown.
  const pieces = f.take(final(1, { offset: null, text: lines.slice(40).join("") }));
  assert.deepEqual(pieces, [{ stream: "stdout", text: lines.slice(60).join("") }]);
  // A tail that begins after everything shown is shown whole, after a note.
  const g = new LogFollower("t-1");
  g.take(live(1, { offset: 0, text: lines.slice(0, 10).join("") }));
  const gap = g.take(final(1, { offset: null, text: lines.slice(50).join("") }));
  assert.equal(gap.length, 2);
  assert.ok("notice" in gap[0]);
  assert.deepEqual(gap[1], { stream: "stdout", text: lines.slice(50).join("") });
});

Deno.test("followedOutput() exits 8 for a failed, cancelled or expired task, 0 for a succeeded one", () => {
  const body = { taskId: "t-1", attempt: 1, error: null };
  assert.equal(followedOutput({ ...body, state: "succeeded" }).failure, undefined);
  assert.equal(followedOutput({ ...body, state: "succeeded" }).text, null);
  const failed = followedOutput({ ...body, state: "failed", error: "exit code 3" });
  assert.equal(failed.failure?.exitCode, 8);
  assert.equal(failed.failure?.message, "Task t-1 ended failed: exit code 3");
  assert.equal(followedOutput({ ...body, state: "cancelled" }).failure?.code, "task_cancelled");
  assert.equal(followedOutput({ ...body, state: "expired" }).failure?.exitCode, 8);
});
