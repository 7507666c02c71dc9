// Proves replies owed after apply are sent from the apply result, and that losing leadership
// answers each waiting request once (a batch once, however many entries it had) and forgets all.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { TaskStateMachine } from "../tasks/mod.ts";
import type { ConnId } from "./node_io.ts";
import { NodeOutput } from "./node_output.ts";
import { type BatchReply, PendingReplies, resolvePending } from "./pending_replies.ts";

function context() {
  const out = new NodeOutput(new LamportClock(0));
  out.recovering = false;
  const registered: string[] = [];
  return {
    out,
    registered,
    ctx: {
      out,
      sm: () => new TaskStateMachine(),
      completeRegistration: (_conn: ConnId, workerId: string) => registered.push(workerId),
    },
  };
}

Deno.test("a submission is answered from its apply result: the task id, or the conflict", () => {
  const { out, ctx } = context();
  resolvePending(ctx, { kind: "submit", conn: 1, requestId: 7 }, {
    type: "submitted",
    taskId: "t-1",
    duplicate: false,
  });
  resolvePending(ctx, { kind: "submit", conn: 1, requestId: 8 }, {
    type: "rejected",
    reason: "key reused",
  });
  const sent = out.take().send.map((s) => s.message);
  assert.equal(sent[0].type, "submitOk");
  assert.equal(sent[1].type === "error" && sent[1].code, "conflict");
});

Deno.test("a batch is answered once, when its last entry applies", () => {
  const { out, ctx } = context();
  const batch: BatchReply = { conn: 1, requestId: 3, results: [], remaining: 2 };
  for (const position of [0, 1]) {
    resolvePending(ctx, { kind: "submitBatchItem", conn: 1, requestId: 3, batch, position }, {
      type: "submitted",
      taskId: `t-${position}`,
      duplicate: false,
    });
    assert.equal(out.take().send.length, position === 1 ? 1 : 0);
  }
});

Deno.test("a registration's entry applying completes the registration", () => {
  const { registered, ctx } = context();
  resolvePending(ctx, { kind: "register", conn: 1, workerId: "w1", running: [] }, { type: "ok" });
  assert.deepEqual(registered, ["w1"]);
});

Deno.test("abandoning tells each request once, a batch once, a registration never", () => {
  const replies = new PendingReplies();
  const batch: BatchReply = { conn: 2, requestId: 5, results: [], remaining: 2 };
  replies.add(1, { kind: "logout", conn: 1, requestId: 4 });
  replies.add(2, { kind: "submitBatchItem", conn: 2, requestId: 5, batch, position: 0 });
  replies.add(3, { kind: "submitBatchItem", conn: 2, requestId: 5, batch, position: 1 });
  replies.add(4, { kind: "register", conn: 3, workerId: "w1", running: [] });
  const told: Array<[ConnId, number]> = [];
  replies.abandon((conn, requestId) => told.push([conn, requestId]));
  assert.deepEqual(told, [[1, 4], [2, 5]]);
  assert.equal(replies.take(1), undefined, "abandoned replies are forgotten");
});
