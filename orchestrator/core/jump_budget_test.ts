// Proves that untrusted senders can push a Lamport clock forward only within a budget over time:
// a flood of far-ahead frames cannot bring a clock near its limit (issue 13, Lamport exhaustion).
import assert from "node:assert/strict";
import { JumpBudget } from "./jump_budget.ts";

Deno.test("JumpBudget grants up to its burst at once, then only what time refills", () => {
  const budget = new JumpBudget({ perSec: 1000, burst: 2000 });
  assert.equal(budget.take(1500, 0), 1500);
  assert.equal(budget.take(1500, 0), 500);
  assert.equal(budget.take(1500, 0), 0);
  assert.equal(budget.take(1500, 1000), 1000);
  assert.equal(budget.take(10, 1000), 0);
});

Deno.test("JumpBudget never holds more than its burst, however long it waits", () => {
  const budget = new JumpBudget({ perSec: 1000, burst: 2000 });
  assert.equal(budget.take(5000, 3_600_000), 2000);
});

Deno.test("JumpBudget is not refilled by time going backwards", () => {
  const budget = new JumpBudget({ perSec: 1000, burst: 2000 });
  budget.take(2000, 10_000);
  assert.equal(budget.take(100, 5000), 0);
  assert.equal(budget.take(100, 10_000), 0);
});
