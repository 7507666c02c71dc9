// Proves that LiveOutput keeps a bounded tail of each running attempt's streams with offsets a
// reader resumes from, shows gaps, replaces another attempt's view, stays within its total bound
// by emptying the least recently written views, and forgets what is dropped, cleared or swept.
import assert from "node:assert/strict";
import { LiveOutput } from "./live_output.ts";

const REF = { taskId: "t-1", attempt: 1, workerId: "w1" };

Deno.test("LiveOutput.read() returns what was kept from an offset, and the next offset", () => {
  const live = new LiveOutput();
  live.append(REF, { stream: "stdout", offset: 0, text: "a\n" });
  live.append(REF, { stream: "stdout", offset: 2, text: "b\n" });
  live.append(REF, { stream: "stderr", offset: 0, text: "e\n" });
  assert.deepEqual(live.read("t-1", 1, "stdout", 0), { offset: 0, text: "a\nb\n", next: 4 });
  assert.deepEqual(live.read("t-1", 1, "stdout", 2), { offset: 2, text: "b\n", next: 4 });
  assert.deepEqual(live.read("t-1", 1, "stdout", 4), { offset: 4, text: "", next: 4 });
  assert.deepEqual(live.read("t-1", 1, "stderr", 0), { offset: 0, text: "e\n", next: 2 });
  assert.equal(live.keptChars, 6);
});

Deno.test("LiveOutput.read() of an unknown task or another attempt is empty at the offset asked", () => {
  const live = new LiveOutput();
  live.append(REF, { stream: "stdout", offset: 0, text: "a" });
  assert.deepEqual(live.read("t-2", 1, "stdout", 7), { offset: 7, text: "", next: 7 });
  assert.deepEqual(live.read("t-1", 2, "stdout", 0), { offset: 0, text: "", next: 0 });
});

Deno.test("LiveOutput keeps the newest tailChars of a stream; a reader from before sees the skip", () => {
  const live = new LiveOutput({ tailChars: 4, totalChars: 100 });
  live.append(REF, { stream: "stdout", offset: 0, text: "abcdef" });
  assert.deepEqual(live.read("t-1", 1, "stdout", 0), { offset: 2, text: "cdef", next: 6 });
  assert.equal(live.keptChars, 4);
});

Deno.test("LiveOutput skips a repeated batch and restarts at a batch past its end (a gap)", () => {
  const live = new LiveOutput();
  live.append(REF, { stream: "stdout", offset: 0, text: "abc" });
  live.append(REF, { stream: "stdout", offset: 1, text: "bcd" });
  assert.deepEqual(live.read("t-1", 1, "stdout", 0), { offset: 0, text: "abcd", next: 4 });
  live.append(REF, { stream: "stdout", offset: 10, text: "k" });
  assert.deepEqual(live.read("t-1", 1, "stdout", 4), { offset: 10, text: "k", next: 11 });
  assert.equal(live.keptChars, 1);
});

Deno.test("LiveOutput replaces the view of an earlier attempt, or of another worker", () => {
  const live = new LiveOutput();
  live.append(REF, { stream: "stdout", offset: 0, text: "first" });
  live.append({ ...REF, attempt: 2 }, { stream: "stdout", offset: 0, text: "2nd" });
  assert.deepEqual(live.read("t-1", 1, "stdout", 0), { offset: 0, text: "", next: 0 });
  assert.deepEqual(live.read("t-1", 2, "stdout", 0), { offset: 0, text: "2nd", next: 3 });
  live.append({ ...REF, attempt: 2, workerId: "w2" }, { stream: "stdout", offset: 3, text: "x" });
  assert.deepEqual(live.read("t-1", 2, "stdout", 0), { offset: 3, text: "x", next: 4 });
  assert.equal(live.keptChars, 1);
});

Deno.test("LiveOutput stays within its total by emptying the least recently written views", () => {
  const live = new LiveOutput({ tailChars: 4, totalChars: 8 });
  live.append({ ...REF, taskId: "t-1" }, { stream: "stdout", offset: 0, text: "aaaa" });
  live.append({ ...REF, taskId: "t-2" }, { stream: "stdout", offset: 0, text: "bbbb" });
  live.append({ ...REF, taskId: "t-1" }, { stream: "stderr", offset: 0, text: "c" }); // t-1 newest
  assert.equal(live.keptChars, 5 + 0, "t-2, written least recently, lost its text");
  assert.deepEqual(live.read("t-2", 1, "stdout", 0), { offset: 4, text: "", next: 4 });
  assert.deepEqual(live.read("t-1", 1, "stdout", 0), { offset: 0, text: "aaaa", next: 4 });
  live.append({ ...REF, taskId: "t-2" }, { stream: "stdout", offset: 4, text: "b" });
  assert.deepEqual(live.read("t-2", 1, "stdout", 0), { offset: 4, text: "b", next: 5 });
});

Deno.test("LiveOutput forgets a dropped task, everything on clear, and stale views on a sweep", () => {
  const live = new LiveOutput();
  live.append({ ...REF, taskId: "t-1" }, { stream: "stdout", offset: 0, text: "a" });
  live.append({ ...REF, taskId: "t-2" }, { stream: "stdout", offset: 0, text: "b" });
  live.append({ ...REF, taskId: "t-3" }, { stream: "stdout", offset: 0, text: "c" });
  live.drop("t-1");
  assert.equal(live.size, 2);
  live.sweep(0, (taskId) => taskId === "t-2");
  assert.equal(live.size, 1);
  assert.equal(live.keptChars, 1);
  live.clear();
  assert.equal(live.size, 0);
  assert.equal(live.keptChars, 0);
});
