// Proves clearing in-flight proposals forgets every kind of them and the round-robin cursor.
import assert from "node:assert/strict";
import { InFlightProposals } from "./in_flight_proposals.ts";

Deno.test("clearing forgets assignments, losses, results and the round-robin cursor", () => {
  const proposals = new InFlightProposals();
  proposals.assignments.set("t-1", "w1");
  proposals.losses.add("w2");
  proposals.finishes.set("t-0#1@w1", { taskId: "t-0", attempt: 1, workerId: "w1" });
  proposals.lastWorker = "w1";
  proposals.clear();
  assert.deepEqual(
    [proposals.assignments.size, proposals.losses.size, proposals.finishes.size],
    [0, 0, 0],
  );
  assert.equal(proposals.lastWorker, null);
});
