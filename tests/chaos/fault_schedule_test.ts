// Proves the chaos fault schedule is a pure function of its seed, stays inside the run and
// leaves network faults out when there is no namespace to apply them in.
import assert from "node:assert/strict";
import { familyOf, NETWORK_FAULTS, planFaults, targetRoleOf } from "./fault_schedule.ts";

Deno.test("planFaults() replays identically for the same seed", () => {
  const options = { durationMs: 120_000, network: true };
  assert.deepEqual(planFaults(8112693, options), planFaults(8112693, options));
  assert.notDeepEqual(planFaults(1, options), planFaults(2, options));
});

Deno.test("planFaults() ends every fault before the fault phase ends, in time order", () => {
  for (let seed = 0; seed < 50; seed++) {
    const faults = planFaults(seed, { durationMs: 60_000, network: true });
    assert.ok(faults.length > 5, `seed ${seed} planned only ${faults.length} faults`);
    for (let i = 0; i < faults.length; i++) {
      assert.ok(faults[i].atMs + faults[i].durationMs < 60_000);
      if (i > 0) assert.ok(faults[i].atMs > faults[i - 1].atMs);
    }
  }
});

Deno.test("planFaults() without a namespace plans no network faults", () => {
  for (let seed = 0; seed < 50; seed++) {
    const faults = planFaults(seed, { durationMs: 60_000, network: false });
    assert.ok(faults.every((f) => !NETWORK_FAULTS.has(f.kind)));
  }
});

Deno.test("planFaults() hits the leader more often than followers over many seeds", () => {
  let leader = 0;
  let follower = 0;
  for (let seed = 0; seed < 100; seed++) {
    for (const f of planFaults(seed, { durationMs: 60_000, network: true })) {
      if (targetRoleOf(f.kind) === "leader") leader++;
      if (targetRoleOf(f.kind) === "follower") follower++;
    }
  }
  assert.ok(leader > 2 * follower, `leader ${leader}, follower ${follower}`);
});

Deno.test("familyOf() and targetRoleOf() classify every kind", () => {
  assert.equal(familyOf("killLeader"), "kill");
  assert.equal(familyOf("pauseWorker"), "pause");
  assert.equal(familyOf("cutClientFromLeader"), "network");
  assert.equal(targetRoleOf("partitionFollower"), "follower");
  assert.equal(targetRoleOf("isolateLeader"), "leader");
  assert.equal(targetRoleOf("killWorker"), "worker");
});
