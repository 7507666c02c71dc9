// Proves that another user's text cannot drive the terminal of whoever views it: the CLI's tables
// and task view print control characters as visible escapes (issue 13, hole 7).
import assert from "node:assert/strict";
import type { TaskSummary, TaskView } from "../../shared/protocol/messages.ts";
import { formatTask, formatTaskList } from "./format.ts";

const HOSTILE = "report\x1b]52;c;ZXZpbA==\x07\x1b[2J\nforged line";
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

function task(): TaskView {
  return {
    id: "t-1",
    owner: "mallory",
    state: "failed",
    spec: { kind: "sleep", description: HOSTILE, durationMs: 1000 },
    attempt: 1,
    maxAttempts: 3,
    workerId: "w1",
    submittedAtMs: 0,
    finishedAtMs: 1000,
    waitingReason: null,
    result: {
      status: "failed",
      exitCode: 1,
      stdout: "line one\n\x1b[31mred\x1b[0m\n",
      stderr: "",
      error: "boom\x1b[2J",
      durationMs: 1000,
    },
    history: [],
  } as unknown as TaskView;
}

Deno.test("formatTask() prints a hostile description, error and output without control characters", () => {
  const text = formatTask(task());
  assert.equal(CONTROL.test(text), false, JSON.stringify(text));
  assert.match(text, /description: report\\x1b\]52;c;ZXZpbA==\\x07\\x1b\[2J\\nforged line/);
  // Output keeps its own lines, each made safe.
  assert.match(text, /stdout: {6}line one\n +\\x1b\[31mred\\x1b\[0m/);
});

Deno.test("formatTaskList() keeps one row per task whatever the description holds", () => {
  const summary = {
    id: "t-1",
    owner: "mallory",
    state: "queued",
    kind: "sleep",
    attempt: 1,
    workerId: null,
    submittedAtMs: 0,
    description: "a\nb\x1b[2Jc",
  } as unknown as TaskSummary;
  const text = formatTaskList([summary]);
  assert.equal(text.split("\n").length, 2);
  assert.equal(CONTROL.test(text), false);
});

function summaries(ids: string[]): TaskSummary[] {
  return ids.map((id) => ({
    id,
    owner: "alice",
    state: "queued",
    kind: "sleep",
    description: "nap",
    attempt: 1,
    workerId: null,
    submittedAtMs: 0,
    finishedAtMs: null,
  }));
}

Deno.test("formatTaskList() says how many of the matching tasks it shows and how to get the next page", () => {
  const text = formatTaskList(summaries(["t-650", "t-649"]), {
    total: 650,
    next: "t-649",
    command: "mutirao list --limit 2",
  });
  assert.match(
    text.split("\n").at(-1)!,
    /^Showing 2 of 650 tasks; next page: mutirao list --limit 2 --after t-649$/,
  );
  const last = formatTaskList(summaries(["t-1"]), {
    total: 3,
    next: null,
    command: "mutirao list",
  });
  assert.equal(last.split("\n").at(-1), "Showing 1 of 3 tasks (the last page).");
  const none = formatTaskList([], { total: 0, next: null, command: "mutirao list" });
  assert.equal(none, "No tasks.");
});

Deno.test("formatTask() says when output is only the tail of a longer stream", () => {
  const view = task();
  view.result = { ...view.result!, stdoutTruncated: true };
  const text = formatTask(view);
  assert.match(text, /stdout \(truncated: last 64 KiB shown\):/);
  assert.doesNotMatch(text, /stderr/);
  assert.doesNotMatch(formatTask(task()), /truncated/);
});
