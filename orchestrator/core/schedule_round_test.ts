// Proves the leader's schedule round: a due tick is proposed once (one in flight per schedule),
// nothing before it is due, only the latest of several missed ticks fires with the older ones
// counted ("catch up once"), paused schedules and ticks from before a resume never fire, and a
// new leader (cleared rounds) proposes the same tick again, which the state machine refuses.
import assert from "node:assert/strict";
import { Harness, SLEEP } from "../tasks/_task_fixtures_test.ts";
import type { Command } from "../tasks/mod.ts";
import { planFirings, proposeFirings, ScheduleRounds } from "./schedule_round.ts";

const T0 = 1_000_000; // whole seconds: a tick of every expression below

function cluster(cron = "*/3 * * * * *"): Harness {
  const h = new Harness();
  h.nowMs = T0 - 10;
  h.apply({ type: "userAdded", name: "alice", role: "user", passwordHash: "scrypt$x", atMs: 0 });
  h.apply({
    type: "scheduleSet",
    name: "beat",
    owner: "alice",
    cron,
    task: { spec: SLEEP, maxAttempts: 1 },
    ...h.stamp(), // at T0
  });
  return h;
}

/** One leader round at `nowMs`: the proposals it makes. */
function round(h: Harness, rounds: ScheduleRounds, nowMs: number): Command[] {
  h.nowMs = nowMs;
  const proposed: Command[] = [];
  proposeFirings({
    rounds,
    sm: () => h.sm,
    nowMs: () => nowMs,
    propose: (command) => {
      proposed.push(command);
      return proposed.length;
    },
    stamp: () => h.stamp(),
  });
  return proposed;
}

/** Commits and applies `commands`, as the node does (settling each firing). */
function commit(h: Harness, rounds: ScheduleRounds, commands: Command[]) {
  return commands.map((command) => {
    const result = h.apply(command);
    if (command.type === "scheduleFired") rounds.settled(command.owner, command.name);
    return result;
  });
}

Deno.test("planFirings() proposes nothing before the first tick", () => {
  const h = cluster();
  assert.deepEqual(planFirings(h.sm, { nowMs: T0 + 1999, rounds: new ScheduleRounds() }), []);
});

Deno.test("a due tick is proposed once while in flight, then the next one when due", () => {
  const h = cluster();
  const rounds = new ScheduleRounds();
  const first = round(h, rounds, T0 + 2000);
  assert.equal(first.length, 1);
  assert.equal(first[0].type === "scheduleFired" && first[0].tickMs, T0 + 2000);
  assert.deepEqual(round(h, rounds, T0 + 2100), [], "one firing in flight per schedule");
  commit(h, rounds, first);
  assert.deepEqual(round(h, rounds, T0 + 4999), []);
  const second = round(h, rounds, T0 + 5000);
  assert.equal(second[0].type === "scheduleFired" && second[0].tickMs, T0 + 5000);
});

Deno.test("after an outage only the latest missed tick fires; the older ones are counted", () => {
  const h = cluster();
  const rounds = new ScheduleRounds();
  commit(h, rounds, round(h, rounds, T0 + 2000));
  // No leader from T0+2s to T0+31s: ticks at +5, +8, ..., +29 passed.
  const catchUp = round(h, rounds, T0 + 31_000);
  assert.equal(catchUp.length, 1);
  const fired = catchUp[0];
  assert(fired.type === "scheduleFired");
  assert.equal(fired.tickMs, T0 + 29_000);
  assert.equal(fired.missed, 8);
  commit(h, rounds, catchUp);
  const schedule = [...h.sm.schedules.values()][0];
  assert.equal(schedule.missedTicks, 8);
  assert.equal(schedule.fired, 2);
});

Deno.test("two leaders proposing one tick give one task", () => {
  const h = cluster();
  const oldLeader = new ScheduleRounds();
  const proposedByOld = round(h, oldLeader, T0 + 2000);
  // The old leader is deposed before it learns its entry committed: the new one starts afresh.
  const newLeader = new ScheduleRounds();
  const proposedByNew = round(h, newLeader, T0 + 2500);
  assert.deepEqual(
    proposedByNew.map((c) => c.type === "scheduleFired" && c.tickMs),
    [T0 + 2000],
  );
  const results = commit(h, newLeader, [...proposedByOld, ...proposedByNew]);
  assert.deepEqual(results.map((r) => r.type), ["fired", "rejected"]);
  assert.equal(h.sm.tasks.size, 1);
});

Deno.test("a paused schedule is not proposed; resumed, it waits for a tick after the resume", () => {
  const h = cluster();
  const rounds = new ScheduleRounds();
  h.apply({ type: "schedulePaused", name: "beat", owner: "alice", paused: true, ...h.stamp() });
  assert.deepEqual(round(h, rounds, T0 + 9000), []);
  h.nowMs = T0 + 9500;
  h.apply({ type: "schedulePaused", name: "beat", owner: "alice", paused: false, ...h.stamp() });
  assert.deepEqual(round(h, rounds, T0 + 10_000), [], "ticks while paused never fire");
  const after = round(h, rounds, T0 + 11_000);
  assert.equal(after[0].type === "scheduleFired" && after[0].tickMs, T0 + 11_000);
  assert.equal(after[0].type === "scheduleFired" && after[0].missed, undefined);
});

Deno.test("planFirings() stops at its bound; the rest come next round", () => {
  const h = cluster();
  for (let i = 0; i < 5; i++) {
    h.apply({
      type: "scheduleSet",
      name: `s${i}`,
      owner: "alice",
      cron: "* * * * * *",
      task: { spec: SLEEP, maxAttempts: 1 },
      ...h.stamp(),
    });
  }
  const rounds = new ScheduleRounds();
  assert.equal(planFirings(h.sm, { nowMs: T0 + 5000, rounds, max: 3 }).length, 3);
});

Deno.test("a removed owner's schedules go with the account, and fire no more", () => {
  const h = cluster();
  h.apply({ type: "userRemoved", name: "alice", atMs: T0 });
  assert.equal(h.sm.schedules.size, 0);
  assert.deepEqual(round(h, new ScheduleRounds(), T0 + 10_000), []);
});

Deno.test("an owner at the submission quota gets no firings until below it", () => {
  const h = cluster();
  h.submitTask({ owner: "alice" });
  const at = (maxActivePerUser: number) =>
    planFirings(h.sm, { nowMs: T0 + 3000, rounds: new ScheduleRounds(), maxActivePerUser });
  assert.deepEqual(at(1), []);
  assert.equal(at(2).length, 1);
  assert.equal(at(0).length, 1, "0: no limit");
});
