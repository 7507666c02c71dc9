// Proves that OutputBatches holds each stream's output until its attempt's batch is due, within
// its bound, never splitting a character, and forgets a dropped attempt.
import assert from "node:assert/strict";
import { LIVE_OUTPUT_INTERVAL_MS, OutputBatches } from "./output_batches.ts";

Deno.test("OutputBatches sends nothing before an interval has passed since the start", () => {
  const batches = new OutputBatches();
  batches.start("t-1#1", { taskId: "t-1", attempt: 1 }, 1000);
  batches.add("t-1#1", "stdout", "a");
  assert.deepEqual(batches.takeDue(1000 + LIVE_OUTPUT_INTERVAL_MS - 1), []);
  assert.equal(batches.takeDue(1000 + LIVE_OUTPUT_INTERVAL_MS).length, 1);
});

Deno.test("OutputBatches trims from the front without splitting a surrogate pair", () => {
  const batches = new OutputBatches(4);
  batches.start("k", { taskId: "t-1", attempt: 1 }, 0);
  batches.add("k", "stdout", "😀abc"); // 5 code units: cutting 1 would split the pair
  const [batch] = batches.takeDue(LIVE_OUTPUT_INTERVAL_MS);
  assert.equal(batch.text, "abc");
  assert.equal(batch.offset, 2);
  batches.add("k", "stdout", "z");
  assert.deepEqual(batches.takeDue(3 * LIVE_OUTPUT_INTERVAL_MS)[0].offset, 5);
});

Deno.test("OutputBatches ignores output of an attempt it does not track, and forgets a dropped one", () => {
  const batches = new OutputBatches();
  batches.add("k", "stdout", "a");
  batches.start("k", { taskId: "t-1", attempt: 1 }, 0);
  batches.add("k", "stderr", "b");
  batches.drop("k");
  assert.equal(batches.size, 0);
  assert.deepEqual(batches.takeDue(10_000), []);
});
