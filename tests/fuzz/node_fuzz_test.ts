// Proves that an OrchestratorNode fed decoded hostile input — as a lone voter and as one of three
// with peers that lie — never throws, keeps its state machine's invariants, sends only messages
// its receivers can decode within one frame, and answers every request exactly once.
import { fuzzInCi } from "./ci_fuzz.ts";
import { nodeTarget } from "./node_target.ts";
import { raftTarget } from "./raft_target.ts";

Deno.test("OrchestratorNode (one voter) survives 15,000 hostile inputs", () => {
  fuzzInCi(nodeTarget, 15_000);
});

Deno.test("OrchestratorNode (three voters) survives 10,000 inputs with hostile peers", () => {
  fuzzInCi(raftTarget, 10_000);
});
