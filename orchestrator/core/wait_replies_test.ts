// Proves a waiter is answered once its task finishes (not before), and with the task as it
// stands once its deadline passes.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { Harness } from "../tasks/_task_fixtures_test.ts";
import { NodeOutput } from "./node_output.ts";
import { answerExpired, answerFinished } from "./wait_replies.ts";
import { Waiters } from "./waiters.ts";

function setup() {
  const h = new Harness();
  const out = new NodeOutput(new LamportClock(0));
  out.recovering = false;
  const waiters = new Waiters({ max: 10, maxPerUser: 10 });
  const taskId = h.submitTask();
  waiters.add({ user: "alice", conn: 1, requestId: 2, taskId, deadlineMs: 100 });
  return { h, out, waiters, taskId };
}

Deno.test("a waiter is answered once its task reaches a final state", () => {
  const { h, out, waiters, taskId } = setup();
  answerFinished(waiters, { sm: h.sm, taskId, out });
  assert.deepEqual(out.take().send, [], "still queued");
  h.cancel(taskId);
  answerFinished(waiters, { sm: h.sm, taskId, out });
  const [reply] = out.take().send;
  assert.equal(reply.message.type === "task" && reply.message.task.state, "cancelled");
});

Deno.test("a waiter whose deadline passed gets the task as it stands", () => {
  const { h, out, waiters } = setup();
  answerExpired(waiters, { sm: h.sm, nowMs: 99, out });
  assert.deepEqual(out.take().send, []);
  answerExpired(waiters, { sm: h.sm, nowMs: 100, out });
  const [reply] = out.take().send;
  assert.equal(reply.message.type === "task" && reply.message.task.state, "queued");
});

Deno.test("a waiter whose task was removed meanwhile (a snapshot installed over it) is told it expired", () => {
  const { h, out, waiters, taskId } = setup();
  h.cancel(taskId);
  h.remove([taskId]); // this node never answered the finish: it came inside a snapshot
  answerExpired(waiters, { sm: h.sm, nowMs: 100, out });
  const [reply] = out.take().send;
  assert.equal(reply?.message.type === "error" && reply.message.code, "expired");
});
