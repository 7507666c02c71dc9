// Proves client requests are authenticated from the replicated sessions, that reads and
// refusals wait for the turn's read barrier, and that a submission is admitted, proposed with
// the caller as owner, and owes its reply at the proposed entry.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import type { Command } from "../tasks/mod.ts";
import { Harness, SLEEP } from "../tasks/_task_fixtures_test.ts";
import { type ClientRequest, ClientRequests } from "./client_requests.ts";
import { FailureDetector } from "./failure_detector.ts";
import { LiveOutput } from "./live_output.ts";
import { NodeClock } from "./node_clock.ts";
import { NodeOutput } from "./node_output.ts";
import { PendingReplies } from "./pending_replies.ts";
import { RequestTurns } from "./request_turns.ts";
import { SubmitAdmission } from "./submit_admission.ts";
import { Waiters } from "./waiters.ts";

const ENVELOPE = { v: PROTOCOL_VERSION, lamport: 1, token: "secret" } as const;
const PASSWORD = { tokenHash: "tok", passwordHash: null, currentPasswordCheck: null };

function setup() {
  const h = new Harness();
  h.apply({ type: "accountConfigured", name: "alice", role: "user", passwordHash: "x", atMs: 0 });
  h.login("tok", "alice", Number.MAX_SAFE_INTEGER);
  const lamport = new LamportClock(0);
  const out = new NodeOutput(lamport);
  out.recovering = false;
  const reads: number[] = [];
  const turns = new RequestTurns((id) => reads.push(id));
  const proposed: Command[] = [];
  const pending = new PendingReplies();
  const clients = new ClientRequests({
    out,
    clock: new NodeClock(lamport),
    options: { nodeId: "o1", defaultMaxAttempts: 3 },
    turns,
    waiters: new Waiters({ max: 10, maxPerUser: 10 }),
    admission: new SubmitAdmission({}),
    detector: new FailureDetector({ heartbeatIntervalMs: 1000, missedHeartbeats: 3 }),
    pending,
    send: (conn, message) => out.send(conn, message),
    sendError: (conn, requestId, code, message) => out.sendError(conn, requestId, code, message),
    log: (level, message) => out.log(level, message),
    proposeDone: () => {
      throw new Error("not used");
    },
    askPasswordWork: () => {
      throw new Error("not used");
    },
    droppedDatagrams: { malformed: 0, forged: 0, stale: 0, replayed: 0 },
    liveOutput: new LiveOutput(),
    sm: () => h.sm,
    nowMs: () => h.nowMs,
    status: () => {
      throw new Error("not used");
    },
    diskUse: () => null,
    proposeBatch: (commands) => {
      proposed.push(...commands);
      return proposed.length - commands.length + 1;
    },
    proposeFor: (reply, command) => {
      proposed.push(command);
      pending.add(proposed.length, reply);
    },
    stamp: () => ({ atMs: h.nowMs, lamport: 1, node: "o1" }),
    refuse: (conn, requestId, code, message) => {
      if (!turns.defers()) out.sendError(conn, requestId, code, message);
    },
    canServeClients: () => true,
    requireReadyLeader: () => true,
  });
  const handle = (request: ClientRequest, tokenHash = "tok") =>
    turns.run(1, request.id, false, () => clients.handle(1, request, tokenHash, PASSWORD));
  return { h, out, reads, turns, proposed, pending, handle };
}

Deno.test("a submission is proposed with the session's user as owner and owes its reply", () => {
  const { out, proposed, pending, handle } = setup();
  handle({ ...ENVELOPE, type: "submit", id: 5, idempotencyKey: "k1", task: SLEEP });
  assert.equal(proposed.length, 1);
  assert.equal(proposed[0].type === "taskSubmitted" && proposed[0].owner, "alice");
  assert.deepEqual(pending.take(1), { kind: "submit", conn: 1, requestId: 5 });
  assert.deepEqual(out.take().send, [], "nothing is answered before the entry applies");
});

Deno.test("a submission's retry policy, delay, priority and queue reach its log entry", () => {
  const { h, proposed, handle } = setup();
  const retry = { retries: 2, backoff: "fixed", delayMs: 5, maxDelayMs: 5 } as const;
  handle({
    ...ENVELOPE,
    type: "submit",
    id: 5,
    idempotencyKey: "k1",
    task: SLEEP,
    retry,
    delayMs: 3000,
    priority: 7,
    queue: "images",
    after: ["t-1"],
  });
  handle({
    ...ENVELOPE,
    type: "submitBatch",
    id: 6,
    tasks: [{ idempotencyKey: "k2", task: SLEEP, priority: 0, queue: "default" }],
  });
  const [one, batch] = proposed;
  assert.ok(one.type === "taskSubmitted" && batch.type === "taskSubmitted");
  assert.deepEqual(one.retry, retry);
  assert.equal(one.notBeforeMs, h.nowMs + 3000);
  assert.equal(one.priority, 7);
  assert.equal(one.queue, "images");
  assert.deepEqual(one.after, ["t-1"]);
  // Defaults stay out of the entry.
  assert.ok(!("priority" in batch) && !("queue" in batch) && !("notBeforeMs" in batch));
});

Deno.test("a submission put off more than a year is refused before it reaches the log", () => {
  const { h, out, proposed, handle } = setup();
  const tooFar = h.nowMs + 2 * 366 * 24 * 3600 * 1000;
  handle({ ...ENVELOPE, type: "submit", id: 5, idempotencyKey: "k", task: SLEEP, runAtMs: tooFar });
  handle({
    ...ENVELOPE,
    type: "submitBatch",
    id: 6,
    tasks: [{ idempotencyKey: "a", task: SLEEP }, {
      idempotencyKey: "b",
      task: SLEEP,
      runAtMs: tooFar,
    }],
  });
  assert.equal(proposed.length, 0);
  const replies = out.take().send.map((s) => s.message);
  assert.deepEqual(replies.map((m) => m.type === "error" && m.code), [
    "bad_request",
    "bad_request",
  ]);
  assert.match(JSON.stringify(replies[1]), /task 1: runAtMs .* more than a year ahead/);
});

Deno.test("an unknown session is refused only once the read barrier holds", () => {
  const { h, out, reads, turns, proposed, handle } = setup();
  handle({ ...ENVELOPE, type: "submit", id: 6, idempotencyKey: "k2", task: SLEEP }, "nope");
  assert.equal(proposed.length, 0);
  assert.deepEqual(out.take().send, [], "a deposed leader must not say the session is unknown");
  assert.deepEqual(reads, [1]);
  turns.settle([{ id: 1, readIndex: h.sm.appliedIndex }], []);
  turns.serveHolding(h.sm.appliedIndex);
  const [reply] = out.take().send;
  assert.equal(reply.message.type === "error" && reply.message.code, "unauthenticated");
});

Deno.test("a status read waits for the barrier, then answers from the applied state", () => {
  const { h, out, turns, handle } = setup();
  const taskId = h.submitTask({ owner: "alice" });
  handle({ ...ENVELOPE, type: "status", id: 7, taskId });
  assert.deepEqual(out.take().send, []);
  turns.settle([{ id: 1, readIndex: h.sm.appliedIndex }], []);
  turns.serveHolding(h.sm.appliedIndex);
  const [reply] = out.take().send;
  assert.equal(reply.message.type === "task" && reply.message.task.id, taskId);
});
