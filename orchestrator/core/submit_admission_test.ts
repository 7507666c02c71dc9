// Proves submission admission counts admitted-but-unapplied tasks against the quotas until they
// apply, refuses beyond the rate with a retry time, and refuses a batch larger than the burst.
import assert from "node:assert/strict";
import { Harness } from "../tasks/_task_fixtures_test.ts";
import { SubmitAdmission } from "./submit_admission.ts";

Deno.test("admitted tasks count against the active quota until they apply", () => {
  const h = new Harness();
  const admission = new SubmitAdmission({ maxActiveTasksPerUser: 2 });
  assert.equal(admission.admit(h.sm, "alice", 2, 0), null);
  assert.match(admission.admit(h.sm, "alice", 1, 0) ?? "", /^Quota: user alice has 2 tasks/);
  h.submitTask({ owner: "alice" });
  admission.applied("alice");
  assert.match(
    admission.admit(h.sm, "alice", 1, 0) ?? "",
    /has 2 tasks/,
    "now counted in the state",
  );
  assert.equal(admission.admit(h.sm, "bob", 2, 0), null, "quotas are per user");
});

Deno.test("clearing forgets what was admitted (a new leader counts afresh)", () => {
  const h = new Harness();
  const admission = new SubmitAdmission({ maxRetainedTasksPerUser: 1 });
  assert.equal(admission.admit(h.sm, "alice", 1, 0), null);
  assert.notEqual(admission.admit(h.sm, "alice", 1, 0), null);
  admission.clear();
  assert.equal(admission.admit(h.sm, "alice", 1, 0), null);
});

Deno.test("beyond the rate a user is told when to retry, and a batch beyond the burst to split", () => {
  const h = new Harness();
  const admission = new SubmitAdmission({ submitRatePerUser: 1, submitBurstPerUser: 2 });
  assert.equal(admission.admit(h.sm, "alice", 2, 0), null);
  assert.equal(
    admission.admit(h.sm, "alice", 1, 0),
    "Slow down: user alice may submit 1 tasks/s; retry in 1000 ms",
  );
  assert.match(admission.admit(h.sm, "alice", 3, 5000) ?? "", /exceeds user alice's burst of 2/);
});
