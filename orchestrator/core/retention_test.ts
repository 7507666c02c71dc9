// Retention end to end on three cores: the leader removes finished tasks the policy no longer
// keeps, through the log (every replica removes the same ones), never an active task; `status` of
// a removed task says "expired", not "not found"; an admin's purge removes what its filter names.
import assert from "node:assert/strict";
import type { OrchestratorToClient } from "../../shared/protocol/messages.ts";
import { SLEEP } from "../tasks/_task_fixtures_test.ts";
import { CoreCluster as Cluster, HASH_A, HASH_B, IDS } from "./_cluster_fixtures_test.ts";
import { DEFAULT_RETENTION, type RetentionPolicy } from "./retention.ts";

function codeOf(reply: OrchestratorToClient | undefined): string | undefined {
  return reply?.type === "error" ? reply.code : reply?.type;
}

/** A cluster with a leader and alice (an admin) logged in on it. */
function cluster(retention: Partial<RetentionPolicy>): { c: Cluster; leader: string } {
  const c = new Cluster({
    node: {
      retention: { ...DEFAULT_RETENTION, ...retention },
      bootstrapUsers: [
        { name: "alice", role: "admin", passwordHash: HASH_A },
        { name: "bob", role: "user", passwordHash: HASH_B },
      ],
    },
  });
  c.runUntil(() => c.leader() !== null);
  const leader = c.leader()!;
  c.login(leader, "alice", "tok");
  return { c, leader };
}

function submit(c: Cluster, leader: string, key: string, owner = "tok"): string {
  const reply = c.replyTo(
    leader,
    c.request(leader, owner, { type: "submit", idempotencyKey: key, task: SLEEP }),
  );
  assert.equal(reply?.type, "submitOk");
  return reply.type === "submitOk" ? reply.taskId : "";
}

function cancel(c: Cluster, leader: string, taskId: string): void {
  assert.equal(
    codeOf(c.replyTo(leader, c.request(leader, "tok", { type: "cancel", taskId }))),
    "task",
  );
}

function onEveryNode(check: (id: string) => boolean): boolean {
  return IDS.every(check);
}

Deno.test("finished tasks older than keepFinishedForMs are removed on every replica; active ones stay", () => {
  const { c, leader } = cluster({
    keepFinishedForMs: 5000,
    keepFinishedTasks: 0,
    sweepIntervalMs: 100,
  });
  const done = submit(c, leader, "a");
  const queued = submit(c, leader, "b");
  cancel(c, leader, done);
  const finishedAt = c.nowMs;
  c.runUntil(() => onEveryNode((id) => !c.nodes.get(id)!.sm.tasks.has(done)));
  assert.ok(c.nowMs - finishedAt >= 5000, `removed after ${c.nowMs - finishedAt} ms`);
  // Queued tasks are never removed, however old.
  c.runUntil(() => c.nowMs - finishedAt > 12_000);
  for (const id of IDS) {
    assert.ok(c.nodes.get(id)!.sm.tasks.has(queued), `${id} removed the queued task`);
    assert.equal(c.nodes.get(id)!.sm.idempotency.size, 1, `${id} kept the removed task's key`);
  }
  const status = c.replyTo(leader, c.request(leader, "tok", { type: "status", taskId: done }));
  assert.equal(codeOf(status), "expired");
  assert.match(status?.type === "error" ? status.message : "", /expired/);
  const unknown = c.replyTo(leader, c.request(leader, "tok", { type: "status", taskId: "t-99" }));
  assert.equal(codeOf(unknown), "not_found");
  // The key went with the task: submitting it again creates a new task.
  assert.notEqual(submit(c, leader, "a"), done);
});

Deno.test("beyond keepFinishedTasks the oldest finished tasks go first", () => {
  const { c, leader } = cluster({
    keepFinishedForMs: 0,
    keepFinishedTasks: 2,
    sweepIntervalMs: 100,
  });
  const ids = ["a", "b", "c", "d"].map((key) => submit(c, leader, key));
  for (const id of ids) cancel(c, leader, id);
  c.runUntil(() => onEveryNode((id) => c.nodes.get(id)!.sm.tasks.size === 2));
  for (const id of IDS) {
    assert.deepEqual([...c.nodes.get(id)!.sm.tasks.keys()], ids.slice(2));
  }
});

Deno.test("a user's own limits replace the cluster's for that user's tasks", () => {
  const { c, leader } = cluster({
    keepFinishedForMs: 0,
    keepFinishedTasks: 0,
    users: { alice: { keepFinishedTasks: 1 } },
    sweepIntervalMs: 100,
  });
  const ids = ["a", "b", "c"].map((key) => submit(c, leader, key));
  for (const id of ids) cancel(c, leader, id);
  c.runUntil(() => c.nodes.get(leader)!.sm.tasks.size === 1);
  assert.deepEqual([...c.nodes.get(leader)!.sm.tasks.keys()], [ids[2]]);
});

Deno.test("the default policy removes nothing young", () => {
  const { c, leader } = cluster({ sweepIntervalMs: 100 });
  const id = submit(c, leader, "a");
  cancel(c, leader, id);
  c.runUntil(() => c.nowMs > 10_000);
  assert.ok(c.nodes.get(leader)!.sm.tasks.has(id));
});

Deno.test("purge removes the finished tasks its filter names, counts them in a dry run, and needs an admin", () => {
  const { c, leader } = cluster({ keepFinishedForMs: 0, keepFinishedTasks: 0 });
  const ids = ["a", "b", "c"].map((key) => submit(c, leader, key));
  cancel(c, leader, ids[0]);
  cancel(c, leader, ids[1]);
  const dry = c.replyTo(leader, c.request(leader, "tok", { type: "purge", dryRun: true }));
  assert.deepEqual(
    dry?.type === "purged" ? { ...dry, v: 0, lamport: 0 } : dry,
    {
      type: "purged",
      re: dry?.type === "purged" ? dry.re : 0,
      matched: 2,
      removed: 0,
      dryRun: true,
      v: 0,
      lamport: 0,
    },
  );
  const failedOnly = c.replyTo(
    leader,
    c.request(leader, "tok", { type: "purge", states: ["failed"] }),
  );
  assert.equal(failedOnly?.type === "purged" ? failedOnly.matched : -1, 0);
  const young = c.replyTo(leader, c.request(leader, "tok", { type: "purge", olderThanMs: 60_000 }));
  assert.equal(young?.type === "purged" ? young.matched : -1, 0);
  const limited = c.replyTo(leader, c.request(leader, "tok", { type: "purge", limit: 1 }));
  assert.equal(limited?.type === "purged" ? `${limited.matched}/${limited.removed}` : "", "2/1");
  const rest = c.replyTo(leader, c.request(leader, "tok", { type: "purge" }));
  assert.equal(rest?.type === "purged" ? `${rest.matched}/${rest.removed}` : "", "1/1");
  assert.deepEqual([...c.nodes.get(leader)!.sm.tasks.keys()], [ids[2]]);
  c.runUntil(() => onEveryNode((id) => c.nodes.get(id)!.sm.tasks.size === 1));
  // A user who is not an admin may not purge.
  c.login(leader, "bob", "bob-tok");
  const refused = c.replyTo(leader, c.request(leader, "bob-tok", { type: "purge" }));
  assert.equal(codeOf(refused), "forbidden");
});
