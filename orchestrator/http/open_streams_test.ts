// Proves that OpenStreams holds each user to their cap and every user to the total, and that a
// closed stream's slot is free again.
import assert from "node:assert/strict";
import { OpenStreams } from "./open_streams.ts";

Deno.test("OpenStreams.open() refuses past the per-user cap and the total", () => {
  const open = new OpenStreams({ total: 3, perUser: 2 });
  assert.equal(open.open("alice"), null);
  assert.equal(open.open("alice"), null);
  assert.match(open.open("alice")!, /for user "alice".*at most 2/);
  assert.equal(open.open("bob"), null);
  assert.match(open.open("carol")!, /on this orchestrator \(at most 3\)/);
  open.close("alice");
  assert.equal(open.open("carol"), null);
  assert.deepEqual([open.count, open.countOf("alice"), open.countOf("carol")], [3, 1, 1]);
});

Deno.test("OpenStreams.close() asserts a slot was taken", () => {
  const open = new OpenStreams();
  assert.throws(() => open.close("alice"), /has none open/);
});
