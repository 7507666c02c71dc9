// Proves WorkerLinks turns a registration into a workerJoined proposal with a reply owed, refuses
// it on a follower, holds worker messages while a new leader catches up, and closes every worker
// connection (held ones included) when leadership is lost.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import type { WorkerToOrchestrator } from "../../shared/protocol/messages.ts";
import { type Command, TaskStateMachine } from "../tasks/mod.ts";
import { FailureDetector } from "./failure_detector.ts";
import { LiveOutput } from "./live_output.ts";
import { NodeClock } from "./node_clock.ts";
import { NodeOutput } from "./node_output.ts";
import { RequestTurns } from "./request_turns.ts";
import { PendingReplies } from "./pending_replies.ts";
import { WorkerLinks } from "./worker_links.ts";

const REGISTER: WorkerToOrchestrator = {
  type: "register",
  v: PROTOCOL_VERSION,
  lamport: 1,
  worker: { name: "w1", incarnation: "i1", slots: 2, canExec: false },
  running: [],
};

function links(role: { leader: boolean; ready: boolean }) {
  const out = new NodeOutput(new LamportClock(0));
  out.recovering = false;
  const proposed: Command[] = [];
  const pending = new PendingReplies();
  const workerLinks = new WorkerLinks({
    out,
    clock: new NodeClock(new LamportClock(0)),
    options: { heartbeatIntervalMs: 1000, missedHeartbeats: 3 },
    detector: new FailureDetector({ heartbeatIntervalMs: 1000, missedHeartbeats: 3 }),
    pending,
    proposedFinishes: new Map(),
    proposedAssignments: new Map(),
    proposedLosses: new Set(),
    // A one-node cluster confirms its reads at once.
    turns: new RequestTurns(() => {}),
    liveOutput: new LiveOutput(),
    sm: () => new TaskStateMachine(),
    nowMs: () => 0,
    isLeader: () => role.leader,
    isReady: () => role.ready,
    propose: (command) => proposed.push(command),
    stamp: () => ({ atMs: 0, lamport: 1, node: "o1" }),
    requireLeader: (conn, requestId) => {
      if (role.leader) return true;
      out.sendError(conn, requestId, "not_leader", "not the leader");
      return false;
    },
  });
  return { workerLinks, out, proposed, pending };
}

Deno.test("a registration on a ready leader proposes workerJoined and owes the reply", () => {
  const { workerLinks, proposed, pending } = links({ leader: true, ready: true });
  workerLinks.onMessage(7, REGISTER);
  assert.deepEqual(proposed.map((c) => c.type), ["workerJoined"]);
  assert.equal(pending.take(1)?.kind, "register");
  assert.deepEqual(workerLinks.linkOf("w1"), { conn: 7, incarnation: "i1" });
});

Deno.test("a registration's handler kinds and queues reach its workerJoined entry", () => {
  const { workerLinks, proposed } = links({ leader: true, ready: true });
  workerLinks.onMessage(7, {
    ...REGISTER,
    worker: { ...REGISTER.worker, kinds: ["add"], queues: ["images", "default"] },
  });
  const [joined] = proposed;
  assert.ok(joined.type === "workerJoined");
  assert.deepEqual(joined.kinds, ["add"]);
  assert.deepEqual(joined.queues, ["images", "default"]);
});

Deno.test("a registration on a follower is refused with not leader", () => {
  const { workerLinks, out, proposed } = links({ leader: false, ready: false });
  workerLinks.onMessage(7, REGISTER);
  assert.equal(proposed.length, 0);
  const [reply] = out.take().send;
  assert.equal(reply.message.type === "error" && reply.message.code, "not_leader");
});

Deno.test("a new leader holds worker messages until ready, and drops them on losing leadership", () => {
  const role = { leader: true, ready: false };
  const { workerLinks, proposed } = links(role);
  workerLinks.onMessage(7, REGISTER);
  assert.equal(proposed.length, 0, "held while the leader catches up");
  role.ready = true;
  workerLinks.replayDeferred();
  assert.deepEqual(proposed.map((c) => c.type), ["workerJoined"]);
  workerLinks.onMessage(8, { ...REGISTER, worker: { ...REGISTER.worker, name: "w2" } });
  role.ready = false;
  workerLinks.onMessage(9, { ...REGISTER, worker: { ...REGISTER.worker, name: "w3" } });
  assert.deepEqual(workerLinks.dropAll().sort(), [7, 8, 9]);
});

Deno.test("a worker message stamped implausibly far ahead is refused and moves no clock", () => {
  const { workerLinks, out, proposed } = links({ leader: true, ready: true });
  workerLinks.receive(7, { ...REGISTER, lamport: Number.MAX_SAFE_INTEGER });
  assert.equal(proposed.length, 0);
  const [reply] = out.take().send;
  assert.equal(reply.message.type === "error" && reply.message.code, "bad_request");
  assert.ok(reply.message.lamport < 10, "the refusal is stamped from an unmoved clock");
});
