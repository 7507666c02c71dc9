// Proves untrusted senders move the node's clock by a bounded jump, that an implausible time is
// recognised, and that applied stamps move it no further than a receive would.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { LAMPORT_CLIENT_JUMP_MAX } from "../../shared/limits.ts";
import { NodeClock } from "./node_clock.ts";

Deno.test("an untrusted sender far ahead moves the clock at most one bounded jump", () => {
  const clock = new NodeClock(new LamportClock(10));
  clock.receiveUntrusted(10 + 10 * LAMPORT_CLIENT_JUMP_MAX, 0);
  assert.ok(clock.value <= 11 + LAMPORT_CLIENT_JUMP_MAX);
  assert.ok(clock.value > 10);
});

Deno.test("a worker's time beyond one jump is implausible; within it, it is received", () => {
  const clock = new NodeClock(new LamportClock(10));
  assert.equal(clock.isImplausible(11 + LAMPORT_CLIENT_JUMP_MAX), true);
  assert.equal(clock.isImplausible(10 + LAMPORT_CLIENT_JUMP_MAX), false);
  clock.receive(20);
  assert.equal(clock.value, 21);
});

Deno.test("applied stamps move the clock at most one jump, and stamps tick it", () => {
  const lamport = new LamportClock(5);
  const clock = new NodeClock(lamport);
  clock.observeApplied(5 + 3 * LAMPORT_CLIENT_JUMP_MAX);
  assert.equal(clock.value, 5 + LAMPORT_CLIENT_JUMP_MAX);
  const stamp = clock.stamp(42, "o1");
  assert.deepEqual(stamp, { atMs: 42, lamport: 6 + LAMPORT_CLIENT_JUMP_MAX, node: "o1" });
  assert.equal(lamport.value, stamp.lamport, "the clock is shared with the node's output");
});
