// Proves that SoloLog, the one-node consensus log, numbers proposals in order, commits exactly
// what is persisted, hands recovered entries back committed, and starts a new term on every start.
import assert from "node:assert/strict";
import { InvariantError } from "../../shared/assert.ts";
import type { Command, LogEntry } from "../tasks/commands.ts";
import { SoloLog } from "./solo_log.ts";
import type { SoloLogOptions } from "./solo_log.ts";

function noop(atMs: number): Command {
  return { type: "noop", atMs };
}

function solo(options: Partial<SoloLogOptions> = {}): SoloLog {
  return new SoloLog({
    nodeId: "o1",
    hardState: { term: 0, votedFor: null },
    snapshotIndex: 0,
    snapshotTerm: 0,
    recovered: [],
    ...options,
  });
}

Deno.test("SoloLog is always the leader, in term 1 on a fresh node", () => {
  const log = solo();
  assert.equal(log.isLeader, true);
  assert.equal(log.leaderId, "o1");
  assert.equal(log.nodeId, "o1");
  assert.equal(log.term, 1);
  assert.equal(log.lastIndex, 0);
  assert.equal(log.commitIndex, 0);
});

Deno.test("SoloLog.drain() first reports the role change and the hard state to persist", () => {
  const log = solo();
  assert.deepEqual(log.drain(), {
    entries: [],
    hardState: { term: 1, votedFor: "o1" },
    committed: [],
    roleChanged: true,
  });
  assert.deepEqual(log.drain(), {
    entries: [],
    hardState: null,
    committed: [],
    roleChanged: false,
  });
});

Deno.test("SoloLog.propose() returns the index of the first new entry", () => {
  const log = solo();
  assert.equal(log.propose([noop(1), noop(2)]), 1);
  assert.equal(log.propose([noop(3)]), 3);
  assert.equal(log.lastIndex, 3);
  assert.equal(log.commitIndex, 0, "nothing is committed before it is durable");
});

Deno.test("SoloLog.drain() hands proposed entries over to persist, in order, once", () => {
  const log = solo();
  log.drain();
  const commands = [noop(1), noop(2), noop(3)];
  log.propose(commands.slice(0, 2));
  log.propose(commands.slice(2));
  const out = log.drain();
  assert.deepEqual(out.entries, [
    { index: 1, term: 1, command: commands[0] },
    { index: 2, term: 1, command: commands[1] },
    { index: 3, term: 1, command: commands[2] },
  ]);
  assert.deepEqual(out.committed, []);
  assert.deepEqual(log.drain().entries, []);
});

Deno.test("SoloLog.persisted() commits entries up to the index, in order", () => {
  const log = solo();
  log.drain();
  log.propose([noop(1), noop(2), noop(3)]);
  log.drain();
  log.persisted(2);
  assert.equal(log.commitIndex, 2);
  assert.deepEqual(log.drain().committed.map((e) => e.index), [1, 2]);
  log.persisted(3);
  assert.equal(log.commitIndex, 3);
  assert.deepEqual(log.drain().committed.map((e) => e.index), [3]);
  assert.deepEqual(log.drain().committed, [], "each committed entry is handed over once");
});

Deno.test("SoloLog.persisted() again for an index already committed changes nothing", () => {
  const log = solo();
  log.propose([noop(1), noop(2)]);
  log.persisted(2);
  log.drain();
  log.persisted(1);
  log.persisted(2);
  assert.equal(log.commitIndex, 2);
  assert.deepEqual(log.drain().committed, []);
});

Deno.test("SoloLog.persisted() beyond the last index throws InvariantError", () => {
  const log = solo();
  log.propose([noop(1)]);
  assert.throws(() => log.persisted(2), InvariantError);
});

Deno.test("SoloLog.propose() refuses an empty batch (it would hand out an index no entry holds)", () => {
  assert.throws(() => solo().propose([]), InvariantError);
});

Deno.test("SoloLog commits proposals made across many drains in one unbroken sequence", () => {
  const log = solo();
  const committed: LogEntry[] = [];
  for (let round = 0; round < 50; round++) {
    const batch = Array.from({ length: round % 4 }, (_, i) => noop(round * 10 + i));
    if (batch.length > 0) log.propose(batch);
    const out = log.drain();
    if (out.entries.length > 0 && round % 3 !== 0) log.persisted(out.entries.at(-1)!.index);
    committed.push(...log.drain().committed);
  }
  log.persisted(log.lastIndex);
  committed.push(...log.drain().committed);
  assert.deepEqual(
    committed.map((e) => e.index),
    Array.from({ length: log.lastIndex }, (_, i) => i + 1),
  );
  assert.equal(log.commitIndex, log.lastIndex);
});

Deno.test("SoloLog hands recovered entries back as committed in the first drain", () => {
  const recovered: LogEntry[] = [
    { index: 11, term: 2, command: noop(1) },
    { index: 12, term: 3, command: noop(2) },
  ];
  const log = solo({
    hardState: { term: 3, votedFor: "o1" },
    snapshotIndex: 10,
    snapshotTerm: 2,
    recovered,
  });
  assert.equal(log.lastIndex, 12);
  assert.equal(log.commitIndex, 12);
  const out = log.drain();
  assert.deepEqual(out.committed, recovered);
  assert.deepEqual(out.entries, [], "recovered entries are already durable");
  assert.equal(out.roleChanged, true);
  assert.deepEqual(log.drain().committed, []);
});

Deno.test("SoloLog numbers new proposals after the recovered entries", () => {
  const log = solo({
    hardState: { term: 3, votedFor: "o1" },
    snapshotIndex: 10,
    snapshotTerm: 2,
    recovered: [{ index: 11, term: 3, command: noop(1) }],
  });
  log.drain();
  assert.equal(log.propose([noop(2)]), 12);
  const [entry] = log.drain().entries;
  assert.deepEqual(entry, { index: 12, term: 4, command: noop(2) });
  log.persisted(12);
  assert.deepEqual(log.drain().committed, [entry]);
});

Deno.test("SoloLog numbers new proposals after the snapshot when nothing else was recovered", () => {
  const log = solo({ hardState: { term: 5, votedFor: "o1" }, snapshotIndex: 40, snapshotTerm: 5 });
  assert.equal(log.lastIndex, 40);
  assert.equal(log.commitIndex, 40);
  assert.equal(log.propose([noop(1)]), 41);
});

Deno.test("SoloLog starts a term above both the recovered hard state and the last entry", () => {
  const fromHardState = solo({ hardState: { term: 9, votedFor: "o1" } });
  assert.equal(fromHardState.term, 10);
  assert.deepEqual(fromHardState.drain().hardState, { term: 10, votedFor: "o1" });
  const fromEntries = solo({
    hardState: { term: 2, votedFor: null },
    snapshotIndex: 0,
    recovered: [{ index: 1, term: 6, command: noop(1) }],
  });
  assert.equal(fromEntries.term, 7);
  const fromSnapshot = solo({ hardState: { term: 1, votedFor: null }, snapshotTerm: 4 });
  assert.equal(fromSnapshot.term, 5);
});

Deno.test("SoloLog gives every restart a higher term than the one before", () => {
  let hardState = { term: 0, votedFor: null as string | null };
  let recovered: LogEntry[] = [];
  let last = 0;
  for (let restart = 0; restart < 5; restart++) {
    const log = solo({ hardState, recovered });
    assert.ok(log.term > last, `restart ${restart}: term ${log.term} after ${last}`);
    last = log.term;
    const out = log.drain();
    hardState = out.hardState ?? hardState;
    log.propose([noop(restart)]);
    const persisted = log.drain().entries;
    log.persisted(log.lastIndex);
    recovered = [...recovered, ...persisted];
  }
  assert.deepEqual(recovered.map((e) => e.term), [1, 2, 3, 4, 5]);
});

Deno.test("SoloLog.tick() changes nothing", () => {
  const log = solo();
  log.drain();
  log.tick(1_000_000);
  assert.deepEqual(log.drain(), {
    entries: [],
    hardState: null,
    committed: [],
    roleChanged: false,
  });
});
