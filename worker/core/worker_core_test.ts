// Proves that WorkerCore runs each assigned attempt once, reports every result until it is
// acknowledged, heartbeats on schedule, and shuts down by draining, handing back and exiting.
import assert from "node:assert/strict";
import { LIMITS } from "../../shared/limits.ts";
import type {
  OrchestratorToWorker,
  Outcome,
  TaskSpec,
  Unstamped,
  WorkerInfo,
  WorkerToOrchestrator,
} from "../../shared/protocol/messages.ts";
import {
  ORCHESTRATOR_SILENCE_INTERVALS,
  ORCHESTRATOR_SILENCE_MIN_INTERVALS,
  WorkerCore,
} from "./worker_core.ts";
import type { WorkerCoreOptions, WorkerEffects, WorkerInput } from "./worker_core.ts";

const SLEEP: TaskSpec = { kind: "sleep", description: "nap", durationMs: 1000 };
const EXEC: TaskSpec = { kind: "exec", description: "ls", argv: ["ls"], timeoutMs: 5000 };
const INFO: WorkerInfo = { name: "w1", incarnation: "i1", slots: 2, canExec: false };
const HEARTBEAT_MS = 1000;
const DRAIN_TIMEOUT_MS = 10_000;
const EXIT_GRACE_MS = 5000;

function succeeded(patch: Partial<Outcome> = {}): Outcome {
  return {
    status: "succeeded",
    exitCode: 0,
    stdout: "done",
    stderr: "",
    error: null,
    durationMs: 25,
    ...patch,
  };
}

/** Drives a WorkerCore as its shell does, playing the orchestrator's side of the connection. */
class Harness {
  readonly core: WorkerCore;
  /** The simulated orchestrator's Lamport time: every message it sends is later than the last. */
  lamport: number;
  nowMs = 0;

  constructor(options: Partial<WorkerCoreOptions> = {}, orchestratorLamport = 100) {
    this.core = new WorkerCore({
      info: INFO,
      heartbeatIntervalMs: HEARTBEAT_MS,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
      exitGraceMs: EXIT_GRACE_MS,
      ...options,
    });
    this.lamport = orchestratorLamport;
  }

  connect(): WorkerEffects {
    return this.core.step({ type: "connected", nowMs: this.nowMs });
  }

  disconnect(): WorkerEffects {
    return this.core.step({ type: "disconnected", nowMs: this.nowMs });
  }

  /** Like the shell, ends the turn after an input: held start reports go out with its effects. */
  autoFlush = true;

  /** Steps `input`, then (with autoFlush) the turn's "flush", and returns both effects. */
  step(input: WorkerInput): WorkerEffects {
    const effects = this.core.step(input);
    if (!this.autoFlush || !this.core.hasPendingStarts) return effects;
    const flushed = this.core.step({ type: "flush", nowMs: this.nowMs });
    effects.send.push(...flushed.send);
    effects.log.push(...flushed.log);
    return effects;
  }

  deliver(message: Unstamped<OrchestratorToWorker>, lamport = ++this.lamport): WorkerEffects {
    return this.step({
      type: "message",
      message: { ...message, v: 1, lamport } as OrchestratorToWorker,
      nowMs: this.nowMs,
    });
  }

  assign(taskId: string, attempt = 1, spec: TaskSpec = SLEEP): WorkerEffects {
    return this.deliver({ type: "assign", taskId, attempt, spec });
  }

  ack(taskId: string, attempt = 1): WorkerEffects {
    return this.deliver({ type: "finishedAck", taskId, attempt });
  }

  exited(taskId: string, attempt = 1, outcome = succeeded()): WorkerEffects {
    return this.step({ type: "taskExited", taskId, attempt, outcome, nowMs: this.nowMs });
  }

  tick(nowMs: number): WorkerEffects {
    this.nowMs = nowMs;
    return this.core.step({ type: "tick", nowMs });
  }

  shutdown(): WorkerEffects {
    return this.core.step({ type: "shutdown", nowMs: this.nowMs });
  }
}

/** A worker that is connected and registered, with no task yet. */
function connected(options: Partial<WorkerCoreOptions> = {}): Harness {
  const h = new Harness(options);
  h.connect();
  h.deliver({ type: "registered", workerId: "w1", heartbeatIntervalMs: HEARTBEAT_MS });
  return h;
}

function assertNothing(effects: WorkerEffects): void {
  assert.deepEqual(effects, {
    send: [],
    heartbeats: [],
    start: [],
    kill: [],
    log: [],
    reconnect: false,
    exit: false,
  });
}

/** The sent messages without their envelope, for comparing content. */
function bodies(effects: WorkerEffects): Array<Record<string, unknown>> {
  return effects.send.map(({ v: _v, lamport: _lamport, ...body }) => body);
}

function onlyFinished(effects: WorkerEffects): Extract<WorkerToOrchestrator, { type: "finished" }> {
  assert.equal(effects.send.length, 1, JSON.stringify(effects.send));
  const message = effects.send[0];
  assert.equal(message.type, "finished");
  return message as Extract<WorkerToOrchestrator, { type: "finished" }>;
}

// ---- connecting ----

Deno.test("WorkerCore registers with its info and no running attempts on its first connection", () => {
  const h = new Harness();
  const effects = h.connect();
  assert.deepEqual(bodies(effects), [{ type: "register", worker: INFO, running: [] }]);
  assert.equal(effects.send[0].v, 1);
  assert.deepEqual(effects.start, []);
  assert.equal(effects.exit, false);
});

Deno.test("WorkerCore re-registers with its running attempts and re-sends every unacknowledged result", () => {
  const h = connected();
  h.assign("t-1");
  h.assign("t-2");
  const finished = onlyFinished(h.exited("t-1"));
  h.disconnect();
  const effects = h.connect();
  assert.equal(effects.send.length, 2);
  assert.deepEqual(bodies(effects)[0], {
    type: "register",
    worker: INFO,
    running: [{ taskId: "t-2", attempt: 1 }],
  });
  // The exact message, with its original stamp: the orchestrator deduplicates by attempt.
  assert.deepEqual(effects.send[1], finished);
});

// ---- assignments ----

Deno.test("WorkerCore starts an assigned attempt and reports it as started", () => {
  const h = connected();
  const effects = h.assign("t-1", 1);
  assert.deepEqual(effects.start, [{ taskId: "t-1", attempt: 1, spec: SLEEP }]);
  assert.deepEqual(bodies(effects), [{ type: "started", taskId: "t-1", attempt: 1 }]);
  assert.deepEqual(effects.kill, []);
  assert.equal(h.core.runningCount, 1);
});

Deno.test("WorkerCore ignores a duplicate assignment while the attempt runs", () => {
  const h = connected();
  h.assign("t-1");
  assertNothing(h.assign("t-1"));
  assert.equal(h.core.runningCount, 1);
});

Deno.test("WorkerCore ignores a duplicate assignment while the attempt's result is unacknowledged", () => {
  const h = connected();
  h.assign("t-1");
  h.exited("t-1");
  assertNothing(h.assign("t-1"));
  assert.equal(h.core.runningCount, 0);
  assert.equal(h.core.unackedCount, 1);
});

Deno.test("WorkerCore ignores a duplicate assignment after the attempt's result was acknowledged", () => {
  const h = connected();
  h.assign("t-1");
  h.exited("t-1");
  h.ack("t-1");
  assertNothing(h.assign("t-1"));
  assert.equal(h.core.runningCount, 0);
});

Deno.test("WorkerCore runs a new attempt of a task it already ran", () => {
  const h = connected();
  h.assign("t-1", 1);
  h.exited("t-1", 1);
  h.ack("t-1", 1);
  const effects = h.assign("t-1", 2);
  assert.deepEqual(effects.start, [{ taskId: "t-1", attempt: 2, spec: SLEEP }]);
});

Deno.test("WorkerCore fails an exec assignment at once when exec is not allowed, without starting it", () => {
  const h = connected();
  const effects = h.assign("t-1", 1, EXEC);
  assert.deepEqual(effects.start, []);
  const finished = onlyFinished(effects);
  assert.equal(finished.taskId, "t-1");
  assert.equal(finished.attempt, 1);
  assert.equal(finished.outcome.status, "failed");
  assert.match(finished.outcome.error ?? "", /does not allow exec/);
  assert.equal(h.core.runningCount, 0);
  assert.equal(h.core.unackedCount, 1);
  // The failure is a result like any other: kept until acknowledged, never run on a repeat.
  assertNothing(h.assign("t-1", 1, EXEC));
  h.ack("t-1", 1);
  assert.equal(h.core.unackedCount, 0);
});

Deno.test("WorkerCore starts an exec assignment when exec is allowed", () => {
  const h = connected({ info: { ...INFO, canExec: true } });
  const effects = h.assign("t-1", 1, EXEC);
  assert.deepEqual(effects.start, [{ taskId: "t-1", attempt: 1, spec: EXEC }]);
  assert.deepEqual(bodies(effects), [{ type: "started", taskId: "t-1", attempt: 1 }]);
});

const HANDLER: TaskSpec = { kind: "handler", handler: "add", description: "", payload: "{}" };

Deno.test("WorkerCore fails a handler assignment at once when it serves no such kind", () => {
  const h = connected({ info: { ...INFO, kinds: ["echo"] } });
  const effects = h.assign("t-1", 1, HANDLER);
  assert.deepEqual(effects.start, []);
  const finished = onlyFinished(effects);
  assert.equal(finished.outcome.status, "failed");
  assert.equal(finished.outcome.error, "This worker serves no handler for kind add");
  assert.equal(h.core.runningCount, 0);
  // A worker with no handlers at all refuses every handler task the same way.
  const bare = connected();
  assert.match(onlyFinished(bare.assign("t-2", 1, HANDLER)).outcome.error ?? "", /kind add/);
});

Deno.test("WorkerCore starts a handler assignment of a kind it serves", () => {
  const h = connected({ info: { ...INFO, kinds: ["add", "echo"] } });
  const effects = h.assign("t-1", 1, HANDLER);
  assert.deepEqual(effects.start, [{ taskId: "t-1", attempt: 1, spec: HANDLER }]);
});

// ---- results ----

Deno.test("WorkerCore reports an exited attempt and keeps the result until finishedAck", () => {
  const h = connected();
  h.assign("t-1");
  const outcome = succeeded({ stdout: "hello" });
  const finished = onlyFinished(h.exited("t-1", 1, outcome));
  assert.deepEqual(
    { taskId: finished.taskId, attempt: finished.attempt, outcome: finished.outcome },
    { taskId: "t-1", attempt: 1, outcome },
  );
  assert.equal(h.core.runningCount, 0);
  assert.equal(h.core.unackedCount, 1);
  // Another attempt's ack does not release it.
  h.ack("t-1", 2);
  assert.equal(h.core.unackedCount, 1);
  assertNothing(h.ack("t-1", 1));
  assert.equal(h.core.unackedCount, 0);
  // Acknowledged results are not re-sent on the next connection.
  h.disconnect();
  assert.deepEqual(bodies(h.connect()).map((m) => m.type), ["register"]);
});

Deno.test("WorkerCore holds back a result while disconnected and sends it on the next connection", () => {
  const h = connected();
  h.assign("t-1");
  h.disconnect();
  const whileDown = h.exited("t-1");
  assert.deepEqual(whileDown.send, []);
  assert.equal(h.core.unackedCount, 1);
  const effects = h.connect();
  assert.deepEqual(bodies(effects), [
    { type: "register", worker: INFO, running: [] },
    { type: "finished", taskId: "t-1", attempt: 1, outcome: succeeded() },
  ]);
});

Deno.test("WorkerCore ignores the exit of an attempt it never ran", () => {
  const h = connected();
  assertNothing(h.exited("t-9"));
  assert.equal(h.core.unackedCount, 0);
});

// ---- abort ----

Deno.test("WorkerCore kills an aborted attempt and never reports its exit", () => {
  const h = connected();
  h.assign("t-1");
  h.assign("t-2");
  const effects = h.deliver({ type: "abort", taskId: "t-1", attempt: 1, reason: "cancelled" });
  assert.deepEqual(effects.kill, [{ taskId: "t-1", attempt: 1, reason: "cancelled" }]);
  assert.deepEqual(effects.send, []);
  assert.equal(h.core.runningCount, 1);
  const exit = h.exited("t-1", 1, succeeded());
  assert.deepEqual(exit.send, []);
  assert.equal(h.core.unackedCount, 0);
  // It is not reported as running either.
  h.disconnect();
  assert.deepEqual(bodies(h.connect())[0], {
    type: "register",
    worker: INFO,
    running: [{ taskId: "t-2", attempt: 1 }],
  });
});

Deno.test("WorkerCore ignores an abort of another attempt and a repeated abort", () => {
  const h = connected();
  h.assign("t-1", 2);
  assertNothing(h.deliver({ type: "abort", taskId: "t-1", attempt: 1, reason: "stale" }));
  assert.equal(h.deliver({ type: "abort", taskId: "t-1", attempt: 2, reason: "x" }).kill.length, 1);
  assert.deepEqual(h.deliver({ type: "abort", taskId: "t-1", attempt: 2, reason: "x" }).kill, []);
});

Deno.test({
  // An orchestrator assigns an attempt it aborted only when the abort was of a dispatch the
  // cluster never recorded (a deposed leader's, sent ahead of its commit; soak seed 182): the
  // new assignment is real, and a worker that ignored it would leave the task running for ever.
  name: "WorkerCore runs an aborted attempt again when it is assigned after the abort, once",
  fn() {
    const h = connected();
    h.assign("t-1");
    h.deliver({ type: "abort", taskId: "t-1", attempt: 1, reason: "attempt is no longer current" });
    assert.deepEqual(h.assign("t-1").start, [], "the aborted process has not exited yet");
    assertNothing(h.assign("t-1"));
    const rerun = h.exited("t-1", 1, succeeded({ status: "failed", error: "killed" }));
    assert.deepEqual(rerun.start.map((s) => s.taskId), ["t-1"], "started anew once it exited");
    assert.equal(
      rerun.send.filter((m) => m.type === "finished").length,
      0,
      "no report of the kill",
    );
  },
});

// ---- heartbeats ----

Deno.test("WorkerCore heartbeats on the first tick and then once per interval", () => {
  const h = new Harness();
  const first = h.tick(0);
  assert.equal(first.heartbeats.length, 1);
  const { lamport: _lamport, ...body } = first.heartbeats[0];
  assert.deepEqual(body, {
    v: 1,
    type: "heartbeat",
    workerId: "w1",
    incarnation: "i1",
    seq: 0,
    running: 0,
    slots: 2,
    sentAtMs: 0,
  });
  assert.deepEqual(h.tick(500).heartbeats, []);
  assert.deepEqual(h.tick(999).heartbeats, []);
  assert.deepEqual(h.tick(1000).heartbeats.map((hb) => hb.seq), [1]);
  assert.deepEqual(h.tick(1500).heartbeats, []);
  assert.deepEqual(h.tick(2100).heartbeats.map((hb) => hb.seq), [2]);
});

Deno.test("WorkerCore heartbeats carry an increasing seq, the running count and the slots", () => {
  const h = connected();
  const seqs: number[] = [];
  const running: number[] = [];
  const note = (effects: WorkerEffects) => {
    for (const hb of effects.heartbeats) {
      seqs.push(hb.seq);
      running.push(hb.running);
      assert.equal(hb.slots, 2);
    }
  };
  note(h.tick(1000));
  h.assign("t-1");
  note(h.tick(2000));
  h.assign("t-2");
  note(h.tick(3000));
  h.exited("t-1");
  note(h.tick(4000));
  // seq 0 was the heartbeat sent on registration.
  assert.deepEqual(seqs, [1, 2, 3, 4]);
  assert.deepEqual(running, [0, 1, 2, 1]);
});

Deno.test("WorkerCore heartbeats at once on registration and switches to the orchestrator's interval", () => {
  const h = new Harness();
  h.tick(0);
  h.connect();
  h.nowMs = 100;
  const registered = h.deliver({ type: "registered", workerId: "w1", heartbeatIntervalMs: 200 });
  assert.deepEqual(registered.heartbeats.map((hb) => hb.seq), [1]);
  assert.deepEqual(h.tick(299).heartbeats, []);
  assert.deepEqual(h.tick(300).heartbeats.map((hb) => hb.seq), [2]);
  assert.deepEqual(h.tick(500).heartbeats.map((hb) => hb.seq), [3]);
});

Deno.test("WorkerCore keeps heartbeating while disconnected", () => {
  const h = connected();
  h.disconnect();
  assert.equal(h.tick(1000).heartbeats.length, 1);
  assert.equal(h.tick(2000).heartbeats.length, 1);
});

Deno.test("WorkerCore reconnects when the orchestrator says nothing for 4 heartbeat intervals", () => {
  const h = connected(); // at time 0
  const limit = ORCHESTRATOR_SILENCE_INTERVALS * HEARTBEAT_MS;
  assert.equal(h.tick(limit).reconnect, false, "exactly the limit is still tolerated");
  h.nowMs = limit;
  h.deliver({ type: "keepalive" }); // any word resets the silence
  assert.equal(h.tick(2 * limit).reconnect, false);
  const silent = h.tick(2 * limit + 1);
  assert.equal(silent.reconnect, true);
  assert.match(silent.log.map((l) => l.message).join("\n"), /No word from the orchestrator/);
  assert.equal(h.tick(2 * limit + 2).reconnect, false, "asks once, not on every tick");
});

Deno.test("WorkerCore leaves a steady orchestrator that falls silent after 2.2 intervals", () => {
  const h = connected(); // at time 0
  let t = 0;
  for (let i = 0; i < 10; i++) {
    t += HEARTBEAT_MS;
    h.nowMs = t;
    h.deliver({ type: "keepalive" });
    assert.equal(h.tick(t).reconnect, false);
  }
  // Steady keepalives: phi crosses 8 near 2 intervals, so the 2.2-interval floor applies.
  const limit = ORCHESTRATOR_SILENCE_MIN_INTERVALS * HEARTBEAT_MS;
  assert.equal(h.tick(t + limit).reconnect, false);
  assert.equal(h.tick(t + limit + 1).reconnect, true);
});

Deno.test("WorkerCore gives an orchestrator with erratic keepalives up to 4 intervals", () => {
  const h = connected();
  let t = 0;
  for (let i = 0; i < 10; i++) {
    t += i % 2 === 0 ? HEARTBEAT_MS / 10 : 1.9 * HEARTBEAT_MS;
    h.nowMs = t;
    h.deliver({ type: "keepalive" });
    h.tick(t);
  }
  const limit = ORCHESTRATOR_SILENCE_INTERVALS * HEARTBEAT_MS;
  assert.equal(h.tick(t + limit).reconnect, false);
  assert.equal(h.tick(t + limit + 1).reconnect, true);
});

Deno.test("WorkerCore does not reconnect for silence while disconnected", () => {
  const h = connected();
  h.disconnect();
  assert.equal(h.tick(100 * HEARTBEAT_MS).reconnect, false);
});

// ---- eviction ----

Deno.test("WorkerCore, when evicted, kills every attempt, drops unacknowledged results and re-registers", () => {
  const h = connected();
  h.assign("t-1");
  h.assign("t-2");
  h.exited("t-2");
  h.assign("t-3");
  assert.equal(h.core.unackedCount, 1);
  const effects = h.deliver({ type: "evicted", reason: "missed heartbeats" });
  assert.deepEqual(effects.kill.map((k) => k.taskId), ["t-1", "t-3"]);
  assert.deepEqual(bodies(effects), [{ type: "register", worker: INFO, running: [] }]);
  assert.equal(h.core.unackedCount, 0);
  assert.equal(h.core.runningCount, 0);
  // The killed attempts' exits are void.
  assert.deepEqual(h.exited("t-1").send, []);
  assert.deepEqual(h.exited("t-3").send, []);
  assert.equal(h.core.unackedCount, 0);
});

Deno.test("WorkerCore, when evicted while disconnected, registers on the next connection", () => {
  const h = connected();
  h.assign("t-1");
  h.disconnect();
  const effects = h.deliver({ type: "evicted", reason: "missed heartbeats" });
  assert.deepEqual(effects.send, []);
  assert.equal(effects.kill.length, 1);
  assert.deepEqual(bodies(h.connect()), [{ type: "register", worker: INFO, running: [] }]);
});

// ---- shutdown ----

Deno.test("WorkerCore exits at once on shutdown when it has nothing to finish", () => {
  const h = connected();
  const effects = h.shutdown();
  assert.deepEqual(bodies(effects), [{ type: "drain" }]);
  assert.equal(effects.exit, true);
  assert.equal(h.core.isDraining, true);
});

Deno.test("WorkerCore drains on shutdown: hands back new assignments, finishes and reports running ones", () => {
  const h = connected();
  h.assign("t-1");
  const first = h.shutdown();
  assert.deepEqual(bodies(first), [{ type: "drain" }]);
  assert.deepEqual(first.kill, []);
  assert.equal(first.exit, false);

  const late = h.assign("t-2");
  assert.deepEqual(late.start, []);
  assert.deepEqual(bodies(late), [{
    type: "handBack",
    taskId: "t-2",
    attempt: 1,
    reason: "worker is shutting down",
  }]);

  const exit = h.exited("t-1");
  assert.equal(onlyFinished(exit).taskId, "t-1");
  assert.equal(exit.exit, false, "exited before the result was acknowledged");
  const acked = h.ack("t-1");
  assert.equal(acked.exit, true);
  // It exits once.
  assert.equal(h.tick(20_000).exit, false);
});

Deno.test("WorkerCore exits after the exit grace when results are never acknowledged", () => {
  const h = connected();
  h.assign("t-1");
  h.shutdown();
  h.nowMs = 1000;
  assert.equal(h.exited("t-1").exit, false);
  assert.equal(h.tick(1000 + EXIT_GRACE_MS - 1).exit, false);
  const effects = h.tick(1000 + EXIT_GRACE_MS);
  assert.equal(effects.exit, true);
  assert.match(effects.log.map((l) => l.message).join("\n"), /1 unacknowledged result/);
});

Deno.test("WorkerCore hands back and kills running attempts at once on a second shutdown", () => {
  const h = connected();
  h.assign("t-1");
  h.assign("t-2");
  h.shutdown();
  const second = h.shutdown();
  assert.deepEqual(bodies(second), [
    { type: "handBack", taskId: "t-1", attempt: 1, reason: "worker is shutting down" },
    { type: "handBack", taskId: "t-2", attempt: 1, reason: "worker is shutting down" },
  ]);
  assert.deepEqual(second.kill.map((k) => [k.taskId, k.attempt]), [["t-1", 1], ["t-2", 1]]);
  assert.equal(second.exit, true);
  // Handed-back attempts are not reported when they exit.
  assert.deepEqual(h.exited("t-1").send, []);
});

Deno.test("WorkerCore, on a second shutdown with a result unacknowledged, waits the exit grace", () => {
  const h = connected();
  h.assign("t-1");
  h.assign("t-2");
  h.exited("t-1");
  h.shutdown();
  const second = h.shutdown();
  assert.deepEqual(second.kill.map((k) => k.taskId), ["t-2"]);
  assert.equal(second.exit, false);
  assert.equal(h.ack("t-1").exit, true);
});

Deno.test("WorkerCore hands back what still runs when the drain timeout passes", () => {
  const h = connected();
  h.assign("t-1");
  h.assign("t-2");
  h.shutdown();
  h.exited("t-1");
  h.ack("t-1");
  assert.deepEqual(h.tick(DRAIN_TIMEOUT_MS - 1).send, []);
  const effects = h.tick(DRAIN_TIMEOUT_MS);
  assert.deepEqual(bodies(effects), [
    { type: "handBack", taskId: "t-2", attempt: 1, reason: "worker is shutting down" },
  ]);
  assert.deepEqual(effects.kill.map((k) => k.taskId), ["t-2"]);
  assert.equal(effects.exit, true);
});

Deno.test("WorkerCore re-sends drain after registering when it reconnects while draining", () => {
  const h = connected();
  h.assign("t-1");
  h.disconnect();
  const shutdown = h.shutdown();
  assert.deepEqual(shutdown.send, [], "sent while disconnected");
  assert.equal(shutdown.exit, false);
  assert.deepEqual(bodies(h.connect()).map((m) => m.type), ["register", "drain"]);
});

// ---- Lamport ----

Deno.test("WorkerCore stamps every message and heartbeat with an increasing Lamport time", () => {
  const h = connected();
  const stamps: number[] = [];
  const note = (effects: WorkerEffects) => {
    for (const m of effects.send) stamps.push(m.lamport);
    for (const hb of effects.heartbeats) stamps.push(hb.lamport);
  };
  note(h.assign("t-1"));
  note(h.tick(1000));
  note(h.assign("t-2"));
  note(h.exited("t-1"));
  note(h.tick(2000));
  note(h.shutdown());
  note(h.exited("t-2"));
  assert.ok(stamps.length >= 7);
  for (let i = 1; i < stamps.length; i++) {
    assert.ok(stamps[i] > stamps[i - 1], `Lamport time went from ${stamps[i - 1]} to ${stamps[i]}`);
  }
});

Deno.test("WorkerCore's clock jumps past every Lamport time it receives", () => {
  const h = connected();
  const assign = h.deliver(
    { type: "assign", taskId: "t-1", attempt: 1, spec: SLEEP },
    1_000_000,
  );
  assert.ok(assign.send[0].lamport > 1_000_000);
  // A message from the past does not move the clock backwards.
  h.deliver({ type: "welcome", nodeId: "o1", clusterId: "c1" }, 5);
  const finished = onlyFinished(h.exited("t-1"));
  assert.ok(finished.lamport > assign.send[0].lamport);
  const beat = h.tick(5000).heartbeats[0];
  assert.ok(beat.lamport > finished.lamport);
});

// ---- prefetch ----

const PREFETCH_INFO: WorkerInfo = { ...INFO, slots: 1, prefetch: 2 };

function startedIds(effects: WorkerEffects): string[] {
  return effects.start.map((s) => s.taskId);
}

function sentOf(effects: WorkerEffects, type: WorkerToOrchestrator["type"]): string[] {
  return effects.send.filter((m) => m.type === type).map((m) => "taskId" in m ? m.taskId : "");
}

Deno.test("WorkerCore holds prefetched assignments past its slots and starts each as a slot frees, in order", () => {
  const h = new Harness({ info: PREFETCH_INFO });
  h.connect();
  const first = h.assign("t-1");
  assert.deepEqual(startedIds(first), ["t-1"]);
  assert.deepEqual(sentOf(first, "started"), ["t-1"]);
  const held = [h.assign("t-2"), h.assign("t-3")];
  assert.deepEqual(held.flatMap(startedIds), [], "one slot: the others wait");
  assert.deepEqual(held.flatMap((e) => sentOf(e, "started")), [], "a waiting task is not started");
  assert.equal(h.core.waitingCount, 2);
  const next = h.exited("t-1");
  assert.deepEqual(sentOf(next, "finished"), ["t-1"]);
  assert.deepEqual(startedIds(next), ["t-2"], "the oldest waiting one starts at once");
  assert.deepEqual(sentOf(next, "started"), ["t-2"]);
  assert.deepEqual(startedIds(h.exited("t-2")), ["t-3"]);
  assert.equal(h.core.waitingCount, 0);
});

Deno.test("WorkerCore drops an aborted waiting assignment without starting it", () => {
  const h = new Harness({ info: PREFETCH_INFO });
  h.connect();
  h.assign("t-1");
  h.assign("t-2");
  const aborted = h.deliver({ type: "abort", taskId: "t-2", attempt: 1, reason: "cancelled" });
  assert.deepEqual(aborted.kill, [], "nothing ran, nothing to kill");
  assert.equal(h.core.waitingCount, 0);
  assert.deepEqual(startedIds(h.exited("t-1")), [], "the aborted one never starts");
});

Deno.test("WorkerCore forgets a result the orchestrator ignored, so the attempt runs if assigned again", () => {
  const h = connected();
  h.assign("t-1");
  h.exited("t-1");
  h.deliver({ type: "finishedAck", taskId: "t-1", attempt: 1, ignored: true });
  assert.equal(h.core.unackedCount, 0);
  assert.deepEqual(h.assign("t-1").start.map((s) => s.taskId), ["t-1"]);
  h.exited("t-1");
  h.ack("t-1");
  assert.deepEqual(h.assign("t-1").start, [], "a recorded result is remembered: not run again");
});

Deno.test("WorkerCore lists waiting assignments when it registers again, so they are not taken for lost", () => {
  const h = new Harness({ info: PREFETCH_INFO });
  h.connect();
  h.assign("t-1");
  h.assign("t-2");
  h.disconnect();
  const register = h.connect().send.find((m) => m.type === "register");
  assert.ok(register !== undefined && register.type === "register");
  assert.deepEqual(register.running.map((r) => r.taskId), ["t-1", "t-2"]);
});

Deno.test("WorkerCore hands back waiting assignments at the first shutdown signal and finishes the running one", () => {
  const h = new Harness({ info: PREFETCH_INFO });
  h.connect();
  h.assign("t-1");
  h.assign("t-2");
  h.assign("t-3");
  const shutdown = h.core.step({ type: "shutdown", nowMs: h.nowMs });
  assert.deepEqual(sentOf(shutdown, "handBack"), ["t-2", "t-3"]);
  assert.deepEqual(shutdown.kill, [], "the running attempt goes on");
  const done = h.exited("t-1");
  assert.deepEqual(startedIds(done), [], "nothing new starts while draining");
  assert.deepEqual(sentOf(done, "finished"), ["t-1"]);
  assert.equal(h.ack("t-1").exit, true);
});

Deno.test("WorkerCore with prefetch hands back waiting assignments only once connected again", () => {
  const h = new Harness({ info: PREFETCH_INFO });
  h.connect();
  h.assign("t-1");
  h.assign("t-2");
  h.disconnect();
  const shutdown = h.core.step({ type: "shutdown", nowMs: h.nowMs });
  assert.deepEqual(shutdown.send, []);
  assert.equal(h.core.waitingCount, 1, "kept: dropping it unsaid would strand it");
  const reconnected = h.connect();
  assert.deepEqual(sentOf(reconnected, "handBack"), ["t-2"]);
  assert.equal(h.core.waitingCount, 0);
});

// ---- start reports ----

Deno.test("WorkerCore reports an attempt that ends within the turn it started in once, as started and finished", () => {
  const h = connected();
  h.autoFlush = false;
  const assigned = h.assign("t-1");
  assert.deepEqual(assigned.start.map((s) => s.taskId), ["t-1"]);
  assert.deepEqual(assigned.send, [], "the start report waits for the turn's end");
  const ended = h.exited("t-1");
  const finished = ended.send.find((m) => m.type === "finished");
  assert.ok(finished !== undefined && finished.type === "finished");
  assert.equal(finished.includesStart, true);
  assert.deepEqual(h.core.step({ type: "flush", nowMs: 0 }).send, [], "no separate start report");
});

Deno.test("WorkerCore sends a start report at the turn's end for an attempt still running", () => {
  const h = connected();
  h.autoFlush = false;
  h.assign("t-1");
  h.assign("t-2");
  const flushed = h.core.step({ type: "flush", nowMs: 0 });
  assert.deepEqual(flushed.send.map((m) => [m.type, "taskId" in m ? m.taskId : ""]), [
    ["started", "t-1"],
    ["started", "t-2"],
  ]);
  const finished = h.exited("t-1").send.find((m) => m.type === "finished");
  assert.ok(finished !== undefined && finished.type === "finished");
  assert.equal(finished.includesStart, undefined, "its start was reported on its own");
});

Deno.test("WorkerCore starts an attempt assigned again after an abort only once its aborted process exits", () => {
  const h = connected();
  h.assign("t-1");
  h.deliver({ type: "abort", taskId: "t-1", attempt: 1, reason: "attempt is no longer current" });
  h.assign("t-1");
  assert.deepEqual(
    h.assign("t-2").start.map((s) => s.taskId),
    ["t-2"],
    "a slot is free for another",
  );
  // Soak seed 11581: another task's exit freed a slot, and the re-assigned attempt started while
  // its aborted process still ran ("started twice").
  assert.deepEqual(h.exited("t-2").start, []);
  const rerun = h.exited("t-1", 1, succeeded({ status: "failed", error: "killed" }));
  assert.deepEqual(rerun.start.map((s) => s.taskId), ["t-1"]);
});

// ---- found in review ----

Deno.test("WorkerCore runs an attempt assigned again while its result waited, once that result is ignored", () => {
  // The earlier dispatch was refused after the worker ran it: its result is refused as stale, and
  // the second assignment is the one the cluster records. Dropping it as a duplicate, then
  // forgetting the result, left the task running for ever on a worker with nothing for it.
  const h = connected({ info: { ...INFO, slots: 1 } });
  h.assign("t-1", 1, { ...SLEEP, durationMs: 0 });
  h.exited("t-1");
  h.deliver({ type: "abort", taskId: "t-1", attempt: 1, reason: "assignment refused" });
  assert.deepEqual(h.assign("t-1").start, [], "its result still waits for an answer");
  const ignored = h.deliver({ type: "finishedAck", taskId: "t-1", attempt: 1, ignored: true });
  assert.deepEqual(ignored.start.map((s) => s.taskId), ["t-1"], "the standing assignment runs");
});

Deno.test("WorkerCore's recorded result is not run again when the same attempt was re-sent meanwhile", () => {
  const h = connected();
  h.assign("t-1");
  h.exited("t-1");
  h.assign("t-1");
  assert.deepEqual(h.ack("t-1").start, [], "recorded: the re-sent assignment was a duplicate");
});

Deno.test("WorkerCore, draining, hands back an attempt assigned again after it handed it back", () => {
  // A new leader that never recorded the hand-back re-sends the assignment: it must hear back.
  const h = new Harness({ info: { ...INFO, slots: 1, prefetch: 1 } });
  h.connect();
  h.assign("a");
  h.assign("b");
  const shutdown = h.core.step({ type: "shutdown", nowMs: h.nowMs });
  assert.ok(shutdown.send.some((m) => m.type === "handBack" && m.taskId === "b"));
  const again = h.assign("b");
  assert.deepEqual(again.send.filter((m) => m.type === "handBack").map((m) => m.taskId), ["b"]);
  assert.deepEqual(h.assign("a").send, [], "the running one is not handed back");
});

// ---- live output ----

function outputs(effects: WorkerEffects): Array<Record<string, unknown>> {
  return bodies(effects).filter((m) => m.type === "output");
}

Deno.test("WorkerCore sends no output for an attempt that ends within the batch interval", () => {
  const h = connected();
  h.assign("t-1");
  h.step({ type: "output", taskId: "t-1", attempt: 1, stream: "stdout", text: "hi\n", nowMs: 50 });
  assert.deepEqual(outputs(h.tick(100)), []);
  h.nowMs = 150;
  assert.deepEqual(bodies(h.exited("t-1")).map((m) => m.type), ["finished"]);
  assert.deepEqual(outputs(h.tick(400)), []);
});

Deno.test("WorkerCore batches a running attempt's output per stream, with offsets, once per interval", () => {
  const h = connected();
  h.assign("t-1");
  const write = (stream: "stdout" | "stderr", text: string, nowMs: number) =>
    h.step({ type: "output", taskId: "t-1", attempt: 1, stream, text, nowMs });
  write("stdout", "a\n", 10);
  write("stderr", "oops\n", 20);
  write("stdout", "b\n", 30);
  assert.deepEqual(outputs(h.tick(199)), []);
  assert.deepEqual(outputs(h.tick(200)), [
    { type: "output", taskId: "t-1", attempt: 1, stream: "stdout", offset: 0, text: "a\nb\n" },
    { type: "output", taskId: "t-1", attempt: 1, stream: "stderr", offset: 0, text: "oops\n" },
  ]);
  write("stdout", "c\n", 250);
  assert.deepEqual(outputs(h.tick(300)), [], "at most one batch per interval");
  assert.deepEqual(outputs(h.tick(400)), [
    { type: "output", taskId: "t-1", attempt: 1, stream: "stdout", offset: 4, text: "c\n" },
  ]);
  assert.deepEqual(outputs(h.tick(800)), [], "nothing new, nothing sent");
});

Deno.test("WorkerCore keeps the newest output between batches and says by its offset what it skipped", () => {
  const h = connected();
  h.assign("t-1");
  const big = "x".repeat(LIMITS.liveOutputMessageChars);
  h.step({ type: "output", taskId: "t-1", attempt: 1, stream: "stdout", text: big, nowMs: 10 });
  h.step({ type: "output", taskId: "t-1", attempt: 1, stream: "stdout", text: "tail", nowMs: 20 });
  const [batch] = outputs(h.tick(200));
  assert.equal(batch.offset, 4);
  assert.equal((batch.text as string).length, LIMITS.liveOutputMessageChars);
  assert.ok((batch.text as string).endsWith("xtail"));
});

Deno.test("WorkerCore sends no output of an aborted attempt, nor of one it does not run", () => {
  const h = connected();
  h.assign("t-1");
  h.step({ type: "output", taskId: "t-1", attempt: 1, stream: "stdout", text: "a", nowMs: 10 });
  h.step({ type: "output", taskId: "t-9", attempt: 1, stream: "stdout", text: "b", nowMs: 10 });
  h.deliver({ type: "abort", taskId: "t-1", attempt: 1, reason: "cancelled" });
  h.step({ type: "output", taskId: "t-1", attempt: 1, stream: "stdout", text: "c", nowMs: 20 });
  assert.deepEqual(outputs(h.tick(500)), []);
});

Deno.test("WorkerCore holds output while disconnected and sends it after reconnecting", () => {
  const h = connected();
  h.assign("t-1");
  h.disconnect();
  h.step({ type: "output", taskId: "t-1", attempt: 1, stream: "stdout", text: "a\n", nowMs: 10 });
  assert.deepEqual(outputs(h.tick(300)), []);
  h.connect();
  assert.deepEqual(outputs(h.tick(400)), [
    { type: "output", taskId: "t-1", attempt: 1, stream: "stdout", offset: 0, text: "a\n" },
  ]);
});
