// Proves that FailureDetector suspects a worker incarnation once its silence exceeds what its
// observed heartbeat gaps make likely (phi accrual), within bounds set by the heartbeat interval,
// never for this node's own absence (grace) or its own stalls (stall compensation).
import assert from "node:assert/strict";
import { FailureDetector } from "./failure_detector.ts";

const INTERVAL_MS = 250;
const MISSED = 4;
/** The configured limit: interval x missed heartbeats. */
const TIMEOUT_MS = INTERVAL_MS * MISSED;
/** Ticks further apart than half an interval are this node's own stall. */
const STALL_MS = INTERVAL_MS / 2;
const W1 = { id: "w1", incarnation: "a" };

function detector(): FailureDetector {
  return new FailureDetector({ heartbeatIntervalMs: INTERVAL_MS, missedHeartbeats: MISSED });
}

/** Ticks every 100 ms from `fromMs` to `toMs` inclusive: a node that is not stalled. */
function tickSteadily(fd: FailureDetector, fromMs: number, toMs: number): void {
  for (let t = fromMs; t <= toMs; t += 100) fd.tick(t);
}

function suspectIds(fd: FailureDetector, workers: Array<typeof W1>, nowMs: number): string[] {
  return fd.suspects(workers, nowMs).map((s) => `${s.id}/${s.incarnation}`);
}

/** Heartbeats of w1/a at the given gaps from 0, with this node ticking every 50 ms; the last time. */
function heartbeats(fd: FailureDetector, gapsMs: number[]): number {
  let t = 0;
  fd.observe("w1", "a", t);
  for (const gap of gapsMs) {
    for (let tick = t + 50; tick < t + gap; tick += 50) fd.tick(tick);
    t += gap;
    fd.tick(t);
    fd.observe("w1", "a", t);
  }
  return t;
}

/** Whether w1/a is suspected `silentMs` after its heartbeat at `lastMs` (ticking every 50 ms). */
function suspectedAfter(fd: FailureDetector, lastMs: number, silentMs: number): boolean {
  for (let tick = lastMs + 50; tick < lastMs + silentMs; tick += 50) fd.tick(tick);
  fd.tick(lastMs + silentMs);
  return suspectIds(fd, [W1], lastMs + silentMs).length > 0;
}

Deno.test("FailureDetector exposes its timeout", () => {
  assert.equal(detector().timeoutMs, TIMEOUT_MS);
});

Deno.test("FailureDetector suspects a steady worker after 2.2 intervals, not the configured limit", () => {
  const fd = detector();
  const last = heartbeats(fd, Array(20).fill(INTERVAL_MS));
  assert.equal(fd.silenceLimitMs("w1", "a"), 2 * INTERVAL_MS + INTERVAL_MS / 5);
  assert.equal(suspectedAfter(fd, last, 550), false);
  assert.equal(suspectedAfter(fd, last, 560), true);
});

Deno.test("FailureDetector never suspects a steady worker for one lost heartbeat that arrives late", () => {
  const fd = detector();
  const last = heartbeats(fd, Array(20).fill(INTERVAL_MS));
  // The next heartbeat is lost and the one after is 40 ms late: 540 ms of silence.
  assert.equal(suspectedAfter(fd, last, 2 * INTERVAL_MS + 40), false);
});

Deno.test("FailureDetector gives a worker with erratic heartbeats longer, up to the configured limit", () => {
  const erratic = detector();
  // Gaps of 150 and 350 ms: mean 250, standard deviation 100.
  const last = heartbeats(erratic, Array.from({ length: 20 }, (_, i) => i % 2 === 0 ? 150 : 350));
  const limit = erratic.silenceLimitMs("w1", "a");
  assert.ok(limit > 700 && limit < 800, `limit ${limit} ms: mean + about 5.2 deviations`);
  assert.equal(suspectedAfter(erratic, last, 700), false);
  assert.equal(suspectedAfter(erratic, last, 800), true);
  const wild = detector();
  heartbeats(wild, Array.from({ length: 20 }, (_, i) => i % 2 === 0 ? 50 : 450));
  assert.equal(wild.silenceLimitMs("w1", "a"), TIMEOUT_MS, "never past the configured limit");
});

Deno.test("FailureDetector uses the configured limit until it has seen a few gaps", () => {
  const fd = detector();
  const last = heartbeats(fd, [INTERVAL_MS, INTERVAL_MS, INTERVAL_MS]);
  assert.equal(fd.silenceLimitMs("w1", "a"), TIMEOUT_MS);
  assert.equal(suspectedAfter(fd, last, TIMEOUT_MS), false);
});

Deno.test("FailureDetector.grantGrace() adds no gap: the grace period does not widen the limit", () => {
  const fd = detector();
  const last = heartbeats(fd, Array(20).fill(INTERVAL_MS));
  tickSteadily(fd, last + 100, last + 300);
  fd.grantGrace([W1], last + 300);
  fd.observe("w1", "a", last + 400);
  assert.equal(fd.silenceLimitMs("w1", "a"), 2 * INTERVAL_MS + INTERVAL_MS / 5);
});

Deno.test("FailureDetector.tick() leaves out this node's own stall from the observed gaps", () => {
  const fd = detector();
  const last = heartbeats(fd, Array(20).fill(INTERVAL_MS));
  fd.tick(last + 5000); // this node froze for 5 s; the next heartbeat is read as it wakes
  fd.observe("w1", "a", last + 5000);
  assert.ok(fd.silenceLimitMs("w1", "a") < TIMEOUT_MS, "the stall is not a gap of the worker's");
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
  // None of the stall is held against the worker: only the 300 ms of silence before it.
  assert.deepEqual(fd.suspects([W1], 10_300), []);
  assert.equal(fd.sinceLastSeen("w1", "a", 10_300), 300);
  tickSteadily(fd, 10_400, 11_000);
  assert.deepEqual(fd.suspects([W1], 11_000), [], "1000 ms: not yet past the timeout");
  tickSteadily(fd, 11_100, 11_100);
  assert.deepEqual(suspectIds(fd, [W1], 11_100), ["w1/a"], "the silence after the stall counts");
});

Deno.test("FailureDetector.tick() treats a gap of exactly the stall threshold as normal", () => {
  const fd = detector();
  fd.observe("w1", "a", 0);
  for (let t = 0; t <= 9 * STALL_MS; t += STALL_MS) fd.tick(t);
  assert.deepEqual(suspectIds(fd, [W1], 9 * STALL_MS), ["w1/a"], "1125 ms of silence");
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
