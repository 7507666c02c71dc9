// Proves that findInvariantViolations() stays empty after every step of long random command logs,
// and that it reports each kind of corrupted state.
import assert from "node:assert/strict";
import type { ApplyResult, Command } from "./commands.ts";
import { findInvariantViolations } from "./invariants.ts";
import { Harness, randomLog } from "./_task_fixtures_test.ts";
import { historyOf, packHistory } from "./task_history.ts";

const SEEDS = [1, 2, 3, 42, 8112693];
const STEPS = 5000;

function resultKind(result: ApplyResult): string {
  if (result.type === "submitted") return result.duplicate ? "duplicate" : "submitted";
  if (result.type === "removed") return result.removed > 0 ? "removed" : "removed none";
  return result.type === "rejected" ? `rejected: ${result.reason}` : "ok";
}

/** A small consistent state: w1 runs t-1 (started) and t-2; t-3 is queued; t-4 succeeded. */
function busyState(): Harness {
  const h = new Harness();
  h.join("w1", { slots: 3 });
  const ids = [h.submitTask(), h.submitTask(), h.submitTask(), h.submitTask()];
  h.assign(ids[0], "w1");
  h.assign(ids[1], "w1");
  h.assign(ids[3], "w1");
  h.start(ids[0]);
  h.finish(ids[3]);
  assert.deepEqual(findInvariantViolations(h.sm), []);
  return h;
}

function assertReports(h: Harness, pattern: RegExp): void {
  const problems = findInvariantViolations(h.sm);
  assert.ok(problems.some((p) => pattern.test(p)), `expected ${pattern} in ${problems}`);
}

Deno.test("findInvariantViolations() is empty after every step of random command logs", () => {
  for (const seed of SEEDS) {
    randomLog(seed, STEPS, (h, result, step) => {
      const problems = findInvariantViolations(h.sm);
      if (problems.length > 0) {
        const command = JSON.stringify(h.log.at(-1)?.command);
        assert.fail(`seed ${seed} step ${step} (${resultKind(result)}) ${command}: ${problems}`);
      }
    });
  }
});

Deno.test("randomLog() exercises every command and every outcome the fuzz test relies on", () => {
  // Guards the test above: a generator whose commands were all rejected would prove nothing.
  const kinds = new Map<string, number>();
  const types = new Set<Command["type"]>();
  const statesSeen = new Set<string>();
  let finalState: Harness | undefined;
  randomLog(SEEDS[0], STEPS, (h, result) => {
    const kind = resultKind(result);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    types.add(h.log.at(-1)!.command.type);
    for (const [state, n] of Object.entries(h.sm.counts)) if (n > 0) statesSeen.add(state);
    finalState = h;
  });
  const count = (k: string) => kinds.get(k) ?? 0;
  for (
    const expected of [
      "ok",
      "submitted",
      "duplicate",
      "rejected: stale attempt",
      "rejected: Lamport time not after history",
      "rejected: worker incarnation is gone",
      "rejected: worker has no free slot",
      "rejected: unknown task",
      "rejected: no such session",
      "removed",
      "removed none",
    ]
  ) {
    assert.ok(count(expected) > 0, `no "${expected}" in ${JSON.stringify([...kinds])}`);
  }
  assert.ok(count("ok") > STEPS / 4, `only ${count("ok")} commands accepted`);
  assert.equal(types.size, 14, `command types seen: ${[...types]}`);
  const sm = finalState!.sm;
  assert.deepEqual([...statesSeen].sort(), [
    "cancelled",
    "expired",
    "failed",
    "queued",
    "running",
    "succeeded",
  ]);
  assert.ok(sm.stats.retries > 0 && sm.stats.staleReports > 0);
  assert.ok([...sm.tasks.values()].some((t) => t.result?.error?.startsWith("Gave up")));
});

Deno.test("randomLog() gives the same log for the same seed", () => {
  assert.deepEqual(randomLog(7, 500), randomLog(7, 500));
  assert.notDeepEqual(randomLog(7, 500), randomLog(8, 500));
});

// ---- corrupted states ----

Deno.test("findInvariantViolations() reports a wrong state count", () => {
  const h = busyState();
  h.sm.counts.queued += 1;
  assertReports(h, /^count of queued tasks is 2, actual 1$/);
});

Deno.test("findInvariantViolations() reports a worker that lost track of a running task", () => {
  const h = busyState();
  h.sm.workers.get("w1")!.running.delete("t-1");
  assertReports(h, /^running task t-1 is not held by its worker w1$/);
});

Deno.test("findInvariantViolations() reports a worker holding a task that is not running on it", () => {
  const h = busyState();
  h.sm.workers.get("w1")!.running.add("t-4");
  assertReports(h, /^worker w1 holds t-4, which is not running on it$/);
});

Deno.test("findInvariantViolations() reports a running task whose worker is gone", () => {
  const h = busyState();
  h.sm.workers.delete("w1");
  assertReports(h, /^running task t-1 is not held by its worker w1$/);
});

Deno.test("findInvariantViolations() reports a worker running more tasks than it has slots", () => {
  const h = busyState();
  h.sm.workers.get("w1")!.slots = 1;
  assertReports(h, /^worker w1 runs 2 tasks on 1 slots$/);
});

Deno.test("findInvariantViolations() reports a queued task missing from the queue", () => {
  const h = busyState();
  h.sm.queue.remove("t-3");
  assertReports(h, /^task t-3 is queued but not in the queue$/);
  assertReports(h, /^queue holds 0 tasks but 1 are queued and not waiting$/);
});

Deno.test("findInvariantViolations() reports a finished task still in the queue", () => {
  const h = busyState();
  h.sm.queue.pushRetry("t-4");
  assertReports(h, /^task t-4 is succeeded but in the queue$/);
});

Deno.test("findInvariantViolations() reports an attempt beyond maxAttempts", () => {
  const h = busyState();
  h.sm.tasks.get("t-3")!.attempt = 4;
  assertReports(h, /^task t-3 has attempt 4 of 3 \(\+0 retried\)$/);
  h.sm.tasks.get("t-3")!.attempt = 0;
  assertReports(h, /^task t-3 has attempt 0 of 3 \(\+0 retried\)$/);
});

Deno.test("findInvariantViolations() reports a finish time on an unfinished task, or none on a finished one", () => {
  const h = busyState();
  h.sm.tasks.get("t-3")!.finishedAtMs = 5;
  h.sm.tasks.get("t-4")!.finishedAtMs = null;
  assertReports(h, /^task t-3 is queued with finishedAtMs 5$/);
  assertReports(h, /^task t-4 is succeeded with finishedAtMs null$/);
});

Deno.test("findInvariantViolations() reports a history out of Lamport order", () => {
  const h = busyState();
  const task = h.sm.tasks.get("t-1")!;
  task.packedHistory = packHistory(historyOf(task).reverse(), task.submittedAtMs);
  assertReports(h, /^task t-1 history is not in Lamport order at event 1$/);
});

Deno.test("findInvariantViolations() reports two events with the same stamp", () => {
  const h = busyState();
  const task = h.sm.tasks.get("t-1")!;
  const history = historyOf(task);
  history.push({ ...history.at(-1)! });
  task.packedHistory = packHistory(history, task.submittedAtMs);
  assertReports(h, /^task t-1 history is not in Lamport order/);
});

Deno.test("findInvariantViolations() reports a task missing from the idempotency index", () => {
  const h = busyState();
  h.sm.idempotency.clear();
  assertReports(h, /^task t-1 is missing from the idempotency index$/);
});

Deno.test("findInvariantViolations() reports a task state changed behind the counts' back", () => {
  const h = busyState();
  h.sm.tasks.get("t-4")!.state = "failed";
  assertReports(h, /^count of succeeded tasks is 1, actual 0$/);
  assertReports(h, /^count of failed tasks is 0, actual 1$/);
});

Deno.test("findInvariantViolations() checks the per-owner count of active tasks", () => {
  const h = new Harness();
  h.submitTask({ owner: "alice" });
  assert.deepEqual(findInvariantViolations(h.sm), []);
  h.sm.activeByOwner.set("alice", 5);
  assert.ok(findInvariantViolations(h.sm).some((p) => p.includes("owner alice has 5 active")));
});
