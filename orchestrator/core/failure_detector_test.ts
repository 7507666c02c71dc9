// Proves that FailureDetector suspects a worker incarnation only after `timeoutMs` of silence,
// never for this node's own absence (grace) or its own stalls (stall compensation).
import assert from "node:assert/strict";
import { FailureDetector } from "./failure_detector.ts";

const TIMEOUT_MS = 1000;
const STALL_MS = 500;
const W1 = { id: "w1", incarnation: "a" };

function detector(): FailureDetector {
  return new FailureDetector({ timeoutMs: TIMEOUT_MS, stallThresholdMs: STALL_MS });
}

/** Ticks every 100 ms from `fromMs` to `toMs` inclusive: a node that is not stalled. */
function tickSteadily(fd: FailureDetector, fromMs: number, toMs: number): void {
  for (let t = fromMs; t <= toMs; t += 100) fd.tick(t);
}

function suspectIds(fd: FailureDetector, workers: Array<typeof W1>, nowMs: number): string[] {
  return fd.suspects(workers, nowMs).map((s) => `${s.id}/${s.incarnation}`);
}

Deno.test("FailureDetector exposes its timeout", () => {
  assert.equal(detector().timeoutMs, TIMEOUT_MS);
});

Deno.test("FailureDetector.suspects() suspects a worker silent for longer than the timeout", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  tickSteadily(fd, 0, 1100);
  assert.deepEqual(fd.suspects([W1], 1001), [{ id: "w1", incarnation: "a", silentMs: 1001 }]);
});

Deno.test("FailureDetector.suspects() does not suspect a worker silent for exactly the timeout", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  tickSteadily(fd, 0, 1000);
  assert.deepEqual(fd.suspects([W1], 999), []);
  assert.deepEqual(fd.suspects([W1], 1000), []);
});

Deno.test("FailureDetector.observe() resets the silence", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  tickSteadily(fd, 0, 900);
  fd.observe("w1", "a", 900);
  tickSteadily(fd, 1000, 1800);
  assert.deepEqual(fd.suspects([W1], 1800), []);
  assert.equal(fd.sinceLastSeen("w1", "a", 1800), 900);
  tickSteadily(fd, 1900, 2000);
  assert.deepEqual(suspectIds(fd, [W1], 1901), ["w1/a"]);
});

Deno.test("FailureDetector.observe() ignores a sign of life older than the last one", () => {
  const fd = detector();
  fd.observe("w1", "a", 800);
  fd.observe("w1", "a", 100);
  assert.equal(fd.sinceLastSeen("w1", "a", 1000), 200);
});

Deno.test("FailureDetector.suspects() starts counting for a worker it has never seen", () => {
  const fd = detector();
  tickSteadily(fd, 0, 5000);
  assert.deepEqual(fd.suspects([W1], 5000), [], "not suspected at first sight");
  assert.equal(fd.sinceLastSeen("w1", "a", 5000), 0);
  tickSteadily(fd, 5100, 6000);
  assert.deepEqual(fd.suspects([W1], 6000), [], "a full timeout from first sight");
  tickSteadily(fd, 6100, 6100);
  assert.deepEqual(suspectIds(fd, [W1], 6001), ["w1/a"]);
});

Deno.test("FailureDetector.suspects() reports only the silent workers among many", () => {
  const fd = detector();
  const workers = [W1, { id: "w2", incarnation: "b" }, { id: "w3", incarnation: "c" }];
  for (const w of workers) fd.observe(w.id, w.incarnation, 0);
  tickSteadily(fd, 0, 1500);
  fd.observe("w2", "b", 1400);
  assert.deepEqual(suspectIds(fd, workers, 1500), ["w1/a", "w3/c"]);
});

Deno.test("FailureDetector.sinceLastSeen() is null for a worker or incarnation never seen", () => {
  const fd = detector();
  assert.equal(fd.sinceLastSeen("w1", "a", 10), null);
  fd.observe("w1", "a", 0);
  assert.equal(fd.sinceLastSeen("w1", "b", 10), null);
  assert.equal(fd.sinceLastSeen("w1", "a", 10), 10);
});

Deno.test("FailureDetector.grantGrace() counts every worker as seen now", () => {
  const fd = detector();
  const workers = [W1, { id: "w2", incarnation: "b" }];
  fd.observe("w1", "a", 0);
  tickSteadily(fd, 0, 3000);
  assert.deepEqual(suspectIds(fd, [W1], 3000), ["w1/a"]);
  fd.grantGrace(workers, 3000);
  tickSteadily(fd, 3100, 4000);
  assert.deepEqual(fd.suspects(workers, 4000), [], "no one is blamed within the grace period");
  tickSteadily(fd, 4100, 4100);
  assert.deepEqual(suspectIds(fd, workers, 4001), ["w1/a", "w2/b"]);
});

Deno.test("FailureDetector.tick() does not count this node's own stall against workers", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  tickSteadily(fd, 0, 300);
  fd.tick(10_300); // this node was frozen for 10 s
  // Only the 500 ms allowed before a gap counts as a stall are held against the worker.
  assert.deepEqual(fd.suspects([W1], 10_300), []);
  assert.equal(fd.sinceLastSeen("w1", "a", 10_300), 800);
  tickSteadily(fd, 10_400, 10_600);
  assert.deepEqual(suspectIds(fd, [W1], 10_600), ["w1/a"], "the silence after the stall counts");
});

Deno.test("FailureDetector.tick() treats a gap of exactly the stall threshold as normal", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  fd.tick(0);
  fd.tick(STALL_MS);
  fd.tick(2 * STALL_MS);
  fd.tick(2 * STALL_MS + 100);
  assert.deepEqual(suspectIds(fd, [W1], 2 * STALL_MS + 100), ["w1/a"]);
});

Deno.test("FailureDetector.tick() does not compensate on its first tick", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  fd.tick(5000);
  assert.deepEqual(suspectIds(fd, [W1], 5000), ["w1/a"]);
});

Deno.test({
  name: "FailureDetector.tick() does not push a sign of life seen after a stall into the future",
  fn: () => {
    const fd = detector();
    fd.observe("w1", "a", 0);
    tickSteadily(fd, 0, 300);
    // The node wakes at 10_300: it reads the buffered heartbeat first, then ticks.
    fd.observe("w1", "a", 10_300);
    fd.tick(10_300);
    assert.equal(fd.sinceLastSeen("w1", "a", 10_300), 0);
    tickSteadily(fd, 10_400, 11_400);
    // The worker died right after that heartbeat: silent for 1100 ms > timeout.
    assert.deepEqual(suspectIds(fd, [W1], 11_400), ["w1/a"]);
  },
});

Deno.test("FailureDetector.suspects() gives a new incarnation a full timeout of its own", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  tickSteadily(fd, 0, 3000);
  assert.deepEqual(suspectIds(fd, [W1], 3000), ["w1/a"]);
  // A restarted process: the old incarnation's silence is not held against the new one.
  const restarted = { id: "w1", incarnation: "b" };
  assert.deepEqual(fd.suspects([restarted], 3000), []);
  assert.equal(fd.sinceLastSeen("w1", "b", 3000), 0);
  tickSteadily(fd, 3100, 4100);
  assert.deepEqual(suspectIds(fd, [restarted], 4001), ["w1/b"]);
});

Deno.test({
  name: "FailureDetector.suspects() still suspects an old incarnation while a new one heartbeats",
  fn: () => {
    const fd = detector();
    fd.observe("w1", "a", 0);
    for (let t = 0; t <= 3000; t += 100) {
      fd.tick(t);
      if (t >= 500) fd.observe("w1", "b", t);
      fd.suspects([W1], t);
    }
    assert.deepEqual(suspectIds(fd, [W1], 3000), ["w1/a"]);
  },
});

Deno.test("FailureDetector.forget() drops a worker: it starts fresh if it comes back", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  tickSteadily(fd, 0, 2000);
  fd.forget("w1");
  assert.equal(fd.sinceLastSeen("w1", "a", 2000), null);
  assert.deepEqual(fd.suspects([W1], 2000), [], "seen afresh, not suspected at once");
});

Deno.test("FailureDetector.forget() of an unknown worker does nothing", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  fd.forget("w9");
  assert.equal(fd.sinceLastSeen("w1", "a", 10), 10);
});
