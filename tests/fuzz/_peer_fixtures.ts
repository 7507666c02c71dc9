/**
 * Fixtures for tests that feed peer messages to a node by hand: messages pass through the codec
 * first, as the shell passes them, and a three-voter node can be made leader.
 * @module
 */
import assert from "node:assert/strict";
import type { NodeInput } from "../../orchestrator/core/mod.ts";
import { decodeMessage, DIRECTIONS, encodeMessage } from "../../shared/protocol/codec.ts";
import { NodeHarness } from "./node_harness.ts";
import { RAFT_VOTERS } from "./raft_peers.ts";

/**
 * A peerMessage input as the shell makes one: decoded with the codec (`v` added).
 * @throws {AssertionError} when the codec refuses the message (the shell would drop it).
 */
export function peerInput(from: string, message: object, nowMs: number): NodeInput {
  const decoded = decodeMessage(encodeMessage({ v: 1, ...message }), DIRECTIONS.peer);
  assert.ok(decoded.ok, `the codec refuses ${JSON.stringify(message)}`);
  return { type: "peerMessage", from, message: decoded.message, nowMs };
}

/** Whether a peer would decode `message`. */
export function decodesAsPeerMessage(message: object): boolean {
  return decodeMessage(encodeMessage(message), DIRECTIONS.peer).ok;
}

/** The largest n in [0, 2^53) for which `make(n)` decodes as a peer message. */
export function largestAccepted(make: (n: number) => object): number {
  let low = 0, high = Number.MAX_SAFE_INTEGER;
  while (low < high) {
    const mid = low + Math.ceil((high - low) / 2);
    if (decodesAsPeerMessage({ v: 1, ...make(mid) })) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** A three-voter node o1 (built as the fuzzers build it) that has won an election. */
export function leaderOfThree(): NodeHarness {
  const harness = new NodeHarness({ voters: RAFT_VOTERS });
  harness.persistAll();
  const node = harness.node;
  const nowMs = harness.nowMs + 2_500;
  node.step({ type: "tick", nowMs });
  const preVote = { type: "voteResponse", term: node.term + 1, granted: true, preVote: true };
  node.step(peerInput("o2", { lamport: 1, ...preVote }, nowMs));
  const vote = { type: "voteResponse", term: node.term, granted: true, preVote: false };
  node.step(peerInput("o2", { lamport: 2, ...vote }, nowMs));
  assert.equal(node.isLeader, true, "o1 should lead after o2's votes");
  return harness;
}
