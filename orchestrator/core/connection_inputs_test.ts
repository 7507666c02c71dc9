// Proves the inputs answered without a request turn: a hello gets a welcome naming the node and
// cluster, a heartbeat counts only for the worker's current incarnation, and a frame that did not
// decode is answered with its error and logged.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { ProtocolError } from "../../shared/protocol/codec.ts";
import { TaskStateMachine } from "../tasks/mod.ts";
import {
  type ConnectionInputContext,
  observeHeartbeat,
  refuseFrame,
  welcome,
} from "./connection_inputs.ts";
import { FailureDetector } from "./failure_detector.ts";
import { Keepalives } from "./keepalives.ts";
import { NodeClock } from "./node_clock.ts";
import { NodeOutput } from "./node_output.ts";

function context(): ConnectionInputContext {
  const lamport = new LamportClock();
  const out = new NodeOutput(lamport);
  out.recovering = false;
  const sm = new TaskStateMachine();
  sm.apply({
    index: 1,
    term: 1,
    command: {
      type: "workerJoined",
      workerId: "w1",
      incarnation: "w1-a",
      slots: 1,
      canExec: false,
      atMs: 0,
      lamport: 1,
      node: "o1",
    },
  });
  return {
    out,
    clock: new NodeClock(lamport),
    detector: new FailureDetector({ heartbeatIntervalMs: 500, missedHeartbeats: 3 }),
    keepalives: new Keepalives(),
    self: { nodeId: "o1", clusterId: "c1" },
    sm: () => sm,
    nowMs: () => 1000,
  };
}

function heartbeat(incarnation: string) {
  return {
    v: 1 as const,
    type: "heartbeat" as const,
    lamport: 5,
    workerId: "w1",
    incarnation,
    seq: 1,
    running: 0,
    slots: 1,
    sentAtMs: 1000,
  };
}

Deno.test("welcome() answers a hello with the node's and cluster's names", () => {
  const ctx = context();
  welcome(ctx, {
    type: "hello",
    conn: 7,
    hello: { v: 1, lamport: 3, type: "hello", role: "client" },
    nowMs: 1000,
  });
  const [sent] = ctx.out.take().send;
  assert.equal(sent.conn, 7);
  assert.equal(sent.message.type, "welcome");
  assert.ok(sent.message.type === "welcome" && sent.message.clusterId === "c1");
});

Deno.test("observeHeartbeat() counts the current incarnation's heartbeat, not another's", () => {
  const ctx = context();
  observeHeartbeat(ctx, heartbeat("w1-old"));
  assert.equal(ctx.detector.sinceLastSeen("w1", "w1-old", 1000), null);
  observeHeartbeat(ctx, heartbeat("w1-a"));
  assert.equal(ctx.detector.sinceLastSeen("w1", "w1-a", 1000), 0);
});

Deno.test("refuseFrame() sends the codec's error back and logs it", () => {
  const ctx = context();
  refuseFrame(ctx, {
    type: "protocolError",
    conn: 9,
    error: new ProtocolError("bad_request", 'field "x" is wrong', 4),
    nowMs: 1000,
  });
  const effects = ctx.out.take();
  assert.equal(effects.send[0].message.type, "error");
  assert.match(effects.log[0].message, /Rejected frame on connection 9/);
});
