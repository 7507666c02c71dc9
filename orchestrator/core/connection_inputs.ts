/**
 * Inputs the node answers at once, without a request turn: a hello (the welcome; clients get
 * keepalives from then on), a heartbeat (it counts only for a known incarnation), and a frame the
 * shell could not decode (the error goes back to its sender).
 * @module
 */
import type { Heartbeat } from "../../shared/protocol/messages.ts";
import type { TaskStateMachine } from "../tasks/mod.ts";
import type { FailureDetector } from "./failure_detector.ts";
import type { Keepalives } from "./keepalives.ts";
import type { NodeClock } from "./node_clock.ts";
import type { NodeInput } from "./node_io.ts";
import type { NodeOutput } from "./node_output.ts";

/** What these inputs need from the node. */
export interface ConnectionInputContext {
  out: NodeOutput;
  clock: NodeClock;
  detector: FailureDetector;
  keepalives: Keepalives;
  self: { nodeId: string; clusterId: string };
  sm(): TaskStateMachine;
  nowMs(): number;
}

/** Welcomes a connection that said hello (with the challenge, when the shell made one). */
export function welcome(
  ctx: ConnectionInputContext,
  input: Extract<NodeInput, { type: "hello" }>,
): void {
  if (input.hello.role === "client") ctx.keepalives.addClient(input.conn);
  ctx.clock.receiveUntrusted(input.hello.lamport, ctx.nowMs());
  ctx.out.send(input.conn, {
    type: "welcome",
    nodeId: ctx.self.nodeId,
    clusterId: ctx.self.clusterId,
    ...(input.challenge ?? {}),
  });
}

/** Counts a heartbeat: only a known incarnation's (datagrams are unauthenticated without a secret). */
export function observeHeartbeat(ctx: ConnectionInputContext, hb: Heartbeat): void {
  const worker = ctx.sm().workers.get(hb.workerId);
  if (worker === undefined || worker.incarnation !== hb.incarnation) return;
  // Its clock jump is bounded like any untrusted sender's.
  ctx.clock.receiveUntrusted(hb.lamport, ctx.nowMs());
  ctx.detector.observe(hb.workerId, hb.incarnation, ctx.nowMs());
}

/** Answers a frame that did not decode with the codec's error (and logs it). */
export function refuseFrame(
  ctx: ConnectionInputContext,
  input: Extract<NodeInput, { type: "protocolError" }>,
): void {
  ctx.out.log("warn", `Rejected frame on connection ${input.conn}: ${input.error.message}`);
  ctx.out.sendError(input.conn, input.error.requestId, input.error.code, input.error.message);
}
