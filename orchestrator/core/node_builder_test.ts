// Proves buildNode recovers a node from what a disk holds: an empty disk gives a node that leads
// a one-voter group, and a disk with entries gives a node that commits and applies them.
import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import { buildNode, emptyRecovery, type NodeBuild } from "./node_builder.ts";

function build(recovered: NodeBuild["recovered"]): NodeBuild {
  return {
    node: {
      nodeId: "o1",
      clusterId: "c1",
      heartbeatIntervalMs: 1000,
      missedHeartbeats: 3,
      schedulerPolicy: "round-robin",
      defaultMaxAttempts: 3,
    },
    raft: {
      nodeId: "o1",
      voters: ["o1"],
      electionTimeoutMinMs: 100,
      electionTimeoutMaxMs: 101,
      heartbeatIntervalMs: 50,
      rng: createPrng(1),
    },
    recovered,
    nowMs: 0,
  };
}

Deno.test("a node built from an empty disk leads its one-voter group and stages its no-op", () => {
  const { node, raft } = buildNode(build(emptyRecovery()));
  assert.equal(node.sm.appliedIndex, 0, "nothing is applied before it is durable");
  assert.ok(node.isLeader);
  assert.equal(raft.lastIndex, 1);
  assert.equal(node.takeEffects().persist.entries.length, 1);
});

Deno.test("a node built from a disk with entries commits and applies them", () => {
  const effects = buildNode(build(emptyRecovery())).node.takeEffects();
  const entries = effects.persist.entries;
  assert.ok(entries.length > 0, "the new leader staged its no-op entry");
  const last = entries.at(-1)!;
  const { node } = buildNode(build({
    hardState: effects.persist.hardState ?? { term: last.term, votedFor: "o1" },
    snapshot: null,
    entries,
  }));
  // It leads again in a new term; once that term's no-op is durable, everything before commits.
  const staged = node.takeEffects().persist.entries.at(-1)!;
  assert.ok(staged.index > last.index);
  node.step({ type: "persisted", index: staged.index, term: staged.term, nowMs: 1 });
  assert.equal(node.sm.appliedIndex, staged.index);
});

Deno.test("buildNode wraps the Raft log when asked and refuses mismatched ids", () => {
  let wrapped = 0;
  buildNode({
    ...build(emptyRecovery()),
    wrapLog: (raft) => {
      wrapped += 1;
      return raft;
    },
  });
  assert.equal(wrapped, 1);
  const mismatched = build(emptyRecovery());
  assert.throws(() => buildNode({ ...mismatched, raft: { ...mismatched.raft, nodeId: "o2" } }));
});
