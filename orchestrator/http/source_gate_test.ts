// Proves the per-address cap of requests in progress: admitted up to the cap, refused beyond it,
// admitted again once one is answered, and addresses are counted apart.
import assert from "node:assert/strict";
import { SourceGate } from "./source_gate.ts";

Deno.test("SourceGate admits up to the cap per address, then again after one leaves", () => {
  const gate = new SourceGate(2);
  assert.equal(gate.enter("10.0.0.1"), true);
  assert.equal(gate.enter("10.0.0.1"), true);
  assert.equal(gate.enter("10.0.0.1"), false);
  assert.equal(gate.enter("10.0.0.2"), true, "another address has its own count");
  gate.leave("10.0.0.1");
  assert.equal(gate.enter("10.0.0.1"), true);
  gate.leave("10.0.0.1");
  gate.leave("10.0.0.1");
  assert.equal(gate.inProgress("10.0.0.1"), 0);
});

Deno.test("SourceGate refuses a cap below 1 and a leave without an enter", () => {
  assert.throws(() => new SourceGate(0), RangeError);
  assert.throws(() => new SourceGate(1).leave("x"), RangeError);
});
