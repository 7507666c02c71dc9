// Proves that an OrchestratorNode fed a long stream of hostile input keeps its memory bounded:
// its replicated state stays within what the inputs' fixed name pools allow, nothing waits for
// a reply for ever, and the heap stops growing once that state is built.
import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import { ciSeed } from "./ci_fuzz.ts";
import { heapUsedAfterGc } from "./heap_used.ts";
import { NodeScenario } from "./node_scenario.ts";

/** Steps between measurements. */
const STEPS = 2_000;
/** Heap growth allowed over the last STEPS steps: ~500 bytes a step would exceed it. */
const GROWTH_MAX_BYTES = 1024 * 1024;

Deno.test("OrchestratorNode's memory stays bounded over 6,000 hostile inputs", () => {
  // Fixed pools of names, keys and tokens bound the state a correct node may hold; bulk
  // submissions and peer messages (known bugs end a run) are left to the other fuzz tests.
  const scenario = new NodeScenario(createPrng(ciSeed()), {
    boundedNames: true,
    weights: { bulk: 0, peer: 0, restart: 0 },
  });
  scenario.setUp();
  const heaps: number[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < STEPS; i++) scenario.step();
    heaps.push(heapUsedAfterGc());
    const { sm } = scenario.harness.node;
    // Tasks: 40 idempotency keys per user, a few users, plus the rare mutated key.
    assert.ok(sm.tasks.size <= 1_000, `${sm.tasks.size} tasks`);
    assert.ok(sm.sessions.size <= 16, `${sm.sessions.size} sessions`);
    assert.ok(sm.workers.size <= 32, `${sm.workers.size} workers`);
    assert.ok(sm.users.size <= 8, `${sm.users.size} users`);
    assert.ok(scenario.harness.ledger.size <= 64, `${scenario.harness.ledger.size} requests open`);
  }
  const growth = heaps[2] - heaps[1];
  console.log(
    `heap after each ${STEPS} steps: ${heaps.map((h) => (h / 1e6).toFixed(2)).join(", ")} MB`,
  );
  assert.ok(
    growth <= GROWTH_MAX_BYTES,
    `heap grew by ${growth} bytes over the last ${STEPS} steps (bound ${GROWTH_MAX_BYTES})`,
  );
});
