// Proves that a leader cut off from its peers, which still believes it leads, never asserts that
// something acknowledged by the new leader is absent: "unknown session", "not found", "wrong
// password" and account refusals wait for a read barrier and end as "not leader" (issue 14, bug 2).
import assert from "node:assert/strict";
import type { OrchestratorToClient } from "../../shared/protocol/messages.ts";
import { SLEEP } from "../tasks/_task_fixtures_test.ts";
import { CoreCluster as Cluster, HASH_A, HASH_B, hashOf, IDS } from "./_cluster_fixtures_test.ts";

/**
 * A cluster whose first leader (o1) is then cut off; the other two elect a new leader that
 * acknowledges what `onNewLeader` does, while o1 — not ticked, so it has not noticed — still
 * believes it leads.
 */
function withDeposedLeader(onNewLeader: (c: Cluster, leader: string) => void): Cluster {
  const c = new Cluster();
  c.runUntil(() => c.leader() === "o1");
  c.isolated.add("o1");
  c.runUntil(() => c.leader() !== null, new Set(["o1"]));
  onNewLeader(c, c.leader()!);
  assert.ok(c.nodes.get("o1")!.isLeader, "o1 must still believe it leads");
  return c;
}

/** Heals the partition: o1 hears the new term, steps down and answers what it held. */
function heal(c: Cluster): void {
  c.isolated.clear();
  c.runUntil(() => !c.nodes.get("o1")!.isLeader);
}

function codeOf(reply: OrchestratorToClient | undefined): string | undefined {
  return reply?.type === "error" ? reply.code : reply?.type;
}

Deno.test("a deposed leader does not call a session opened by the new leader unknown", () => {
  const c = withDeposedLeader((c, leader) => {
    c.login(leader, "alice", "t-new");
    assert.equal(codeOf(c.replyTo(leader, 1)), "loginOk");
  });
  const id = c.request("o1", "t-new", { type: "submit", idempotencyKey: "k", task: SLEEP });
  assert.equal(c.replyTo("o1", id), undefined, "answered before its barrier held");
  heal(c);
  assert.equal(codeOf(c.replyTo("o1", id)), "not_leader");
});

Deno.test("a deposed leader does not answer not_found to a cancel of a task the new leader acknowledged", () => {
  let taskId = "";
  const c = withDeposedLeader((c, leader) => {
    c.login(leader, "alice", "t-new");
    const submit = c.request(leader, "t-new", { type: "submit", idempotencyKey: "k", task: SLEEP });
    const reply = c.replyTo(leader, submit);
    assert.equal(reply?.type, "submitOk");
    taskId = reply.type === "submitOk" ? reply.taskId : "";
  });
  const cancel = c.request("o1", "t-new", { type: "cancel", taskId });
  assert.equal(c.replyTo("o1", cancel), undefined, "answered before its barrier held");
  heal(c);
  assert.equal(codeOf(c.replyTo("o1", cancel)), "not_leader");
});

Deno.test("a deposed leader does not answer not_found to a cancel when it knows the session but not the task", () => {
  const c = new Cluster();
  c.runUntil(() => c.leader() === "o1");
  c.login("o1", "alice", "t-old");
  c.isolated.add("o1");
  c.runUntil(() => c.leader() !== null, new Set(["o1"]));
  const leader = c.leader()!;
  const submit = c.request(leader, "t-old", { type: "submit", idempotencyKey: "k", task: SLEEP });
  const reply = c.replyTo(leader, submit);
  assert.ok(reply?.type === "submitOk");
  const cancel = c.request("o1", "t-old", { type: "cancel", taskId: reply.taskId });
  assert.equal(c.replyTo("o1", cancel), undefined, "answered not_found from stale state");
  heal(c);
  assert.equal(codeOf(c.replyTo("o1", cancel)), "not_leader");
});

Deno.test("a deposed leader does not call the new password wrong", () => {
  const c = withDeposedLeader((c, leader) => {
    c.login(leader, "alice", "t-admin");
    const id = c.request(leader, "t-admin", {
      type: "userAdd",
      name: "carol",
      role: "user",
      password: "irrelevant-here",
    }, HASH_B);
    assert.equal(codeOf(c.replyTo(leader, id)), "done");
  });
  // o1 has no "carol": its shell would have checked the password against no account.
  const id = c.login("o1", "carol", null);
  assert.equal(c.replyTo("o1", id), undefined, "answered wrong password from stale state");
  heal(c);
  assert.equal(codeOf(c.replyTo("o1", id)), "not_leader");
});

Deno.test("a leader refuses an unknown session once its barrier holds", () => {
  const c = new Cluster();
  c.runUntil(() => c.leader() !== null);
  const leader = c.leader()!;
  const id = c.request(leader, "never-issued", { type: "status", taskId: "t-1" });
  c.runUntil(() => c.replyTo(leader, id) !== undefined);
  assert.equal(codeOf(c.replyTo(leader, id)), "unauthenticated");
});

Deno.test("a leader refuses a wrong password once its barrier holds, and retries a changed one", () => {
  const c = new Cluster();
  c.runUntil(() => c.leader() !== null);
  const leader = c.leader()!;
  const wrong = c.login(leader, "alice", null, HASH_A);
  c.runUntil(() => c.replyTo(leader, wrong) !== undefined);
  assert.equal(codeOf(c.replyTo(leader, wrong)), "bad_credentials");
  // Checked against a hash the account no longer has: the answer is "retry", not "wrong".
  const stale = c.login(leader, "alice", null, HASH_B);
  c.runUntil(() => c.replyTo(leader, stale) !== undefined);
  assert.equal(codeOf(c.replyTo(leader, stale)), "unavailable");
});

Deno.test("a follower that has not applied a session says unavailable to nodeStatus, never unauthenticated", () => {
  const c = new Cluster();
  c.runUntil(() => c.leader() !== null);
  const leader = c.leader()!;
  const follower = IDS.find((id) => id !== leader)!;
  c.isolated.add(follower);
  c.login(leader, "alice", "t-fresh");
  assert.equal(codeOf(c.replyTo(leader, 1)), "loginOk");
  const id = c.request(follower, "t-fresh", { type: "nodeStatus" });
  assert.equal(codeOf(c.replyTo(follower, id)), "unavailable");
  c.isolated.clear();
  c.runUntil(() => c.nodes.get(follower)!.sm.sessions.has(hashOf("t-fresh")));
  const again = c.request(follower, "t-fresh", { type: "nodeStatus" });
  assert.equal(codeOf(c.replyTo(follower, again)), "nodeStatusReply");
});

// ---- worker reports to a deposed leader (soak seed 85915) ----

const W_OLD = 11; // the worker's connection to the old leader
const W_NEW = 12; // and to the new one
let workerLamport = 1000;

function fromWorker(c: Cluster, id: string, conn: number, message: Record<string, unknown>) {
  c.step(id, {
    type: "workerMessage",
    conn,
    message: { ...message, v: 1, lamport: ++workerLamport } as never,
    nowMs: c.nowMs,
  });
}

function register(c: Cluster, id: string, conn: number): void {
  fromWorker(c, id, conn, {
    type: "register",
    worker: { name: "w1", incarnation: "w1-a", slots: 2, canExec: false },
    running: [],
  });
}

function sentToWorker(c: Cluster, id: string, conn: number): string[] {
  return c.sent.get(id)!.filter((s) => s.conn === conn).map((s) =>
    s.message.type === "error" ? `error:${s.message.code}` : s.message.type
  );
}

Deno.test("a deposed leader does not make a worker drop a result of an attempt the new leader assigned", () => {
  const c = new Cluster();
  c.runUntil(() => c.leader() === "o1");
  register(c, "o1", W_OLD);
  c.runUntil(() => c.nodes.get("o1")!.sm.workers.has("w1"));
  c.isolated.add("o1");
  c.runUntil(() => c.leader() !== null, new Set(["o1"]));
  const leader = c.leader()!;
  register(c, leader, W_NEW);
  c.login(leader, "alice", "t-new");
  c.request(leader, "t-new", { type: "submit", idempotencyKey: "k", task: SLEEP });
  c.runUntil(() => c.nodes.get(leader)!.sm.tasks.get("t-1")?.state === "running", new Set(["o1"]));
  assert.ok(c.nodes.get("o1")!.isLeader, "o1 must still believe it leads");

  // The worker's result reaches the old leader, whose state has no such attempt.
  const before = sentToWorker(c, "o1", W_OLD).length;
  const outcome = {
    status: "succeeded",
    exitCode: 0,
    stdout: "",
    stderr: "",
    error: null,
    durationMs: 1,
  };
  fromWorker(c, "o1", W_OLD, { type: "finished", taskId: "t-1", attempt: 1, outcome });
  fromWorker(c, "o1", W_OLD, { type: "started", taskId: "t-1", attempt: 1 });
  assert.deepEqual(sentToWorker(c, "o1", W_OLD).slice(before), [], "answered from stale state");
  heal(c);
  const answers = sentToWorker(c, "o1", W_OLD).slice(before);
  assert.ok(!answers.includes("finishedAck"), `the worker was told to drop its result: ${answers}`);
  assert.ok(!answers.includes("abort"), `the worker was told to kill the attempt: ${answers}`);
  assert.ok(answers.includes("error:not_leader"), `${answers}`);
});
