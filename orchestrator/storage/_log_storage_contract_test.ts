/**
 * The contract every {@link LogStorage} meets, as one suite of `Deno.test`
 * cases run against each implementation (on disk and in memory), so the
 * simulator's storage cannot drift from the real one.
 * @module
 */
import assert from "node:assert/strict";
import { InvariantError } from "../../shared/assert.ts";
import type { LogEntry } from "../tasks/mod.ts";
import type { LogStorage, OpenedLogStorage, RecoveredLog } from "./log_storage.ts";

/** One store under test, which can be closed and opened again. */
export interface LogStorageUnderTest {
  /** Opens the store: empty the first time, and what was persisted after a `close()`. */
  open(): Promise<OpenedLogStorage>;
  /** Removes whatever the store left behind (temp directories). */
  dispose(): Promise<void>;
}

/** Makes a fresh, empty store for one test case. */
export type LogStorageFactory = () => Promise<LogStorageUnderTest>;

/** `count` entries from `first`, in `term`, with distinct commands. */
export function makeEntries(first: number, count: number, term = 1): LogEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    index: first + i,
    term,
    command: { type: "noop", atMs: (first + i) * 1000 + term },
  }));
}

/** The indexes and terms of recovered entries, for compact assertions. */
export function describeEntries(entries: readonly LogEntry[]): string[] {
  return entries.map((entry) => `${entry.index}@${entry.term}`);
}

/**
 * Registers the contract's test cases for one implementation.
 * @param name Prefix of every test name.
 * @param factory Makes a fresh store for each case.
 * @example
 * defineLogStorageContract("MemoryLogStorage", () => Promise.resolve(memoryUnderTest()));
 */
export function defineLogStorageContract(name: string, factory: LogStorageFactory): void {
  for (const [title, body] of Object.entries(CASES)) {
    Deno.test(`${name}: ${title}`, async () => {
      const subject = await factory();
      try {
        await body(subject);
      } finally {
        await subject.dispose();
      }
    });
  }
}

/** Closes `storage` and opens the same store again. */
async function reopen(
  subject: LogStorageUnderTest,
  storage: LogStorage,
): Promise<OpenedLogStorage> {
  await storage.close();
  return await subject.open();
}

const encoder = new TextEncoder();

const CASES: Record<string, (subject: LogStorageUnderTest) => Promise<void>> = {
  "a fresh store recovers empty": async (subject) => {
    const { storage, recovered } = await subject.open();
    assert.deepStrictEqual(
      recovered,
      {
        hardState: { term: 0, votedFor: null },
        snapshot: null,
        entries: [],
        repairedBytes: 0,
      } satisfies RecoveredLog,
    );
    assert.equal(storage.pendingBytes, 0);
    await storage.close();
  },

  "synced entries and hard state survive a reopen": async (subject) => {
    const { storage } = await subject.open();
    storage.setHardState({ term: 2, votedFor: "n1" });
    storage.append(makeEntries(1, 5, 2));
    await storage.sync();
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.deepStrictEqual(recovered.hardState, { term: 2, votedFor: "n1" });
    assert.deepStrictEqual(recovered.entries, makeEntries(1, 5, 2));
    assert.equal(recovered.repairedBytes, 0);
    await reopened.close();
  },

  "a rejoining marker in the hard state survives a reopen and a snapshot, until cleared": async (
    subject,
  ) => {
    const { storage } = await subject.open();
    storage.setHardState({ term: 2, votedFor: null, rejoining: true });
    storage.append(makeEntries(1, 5, 2));
    await storage.sync();
    await storage.saveSnapshot({ index: 3, term: 2, data: encoder.encode("state@3") });
    let opened = await reopen(subject, storage);
    const rejoining = { term: 2, votedFor: null, rejoining: true };
    assert.deepStrictEqual(opened.recovered.hardState, rejoining);
    opened.storage.setHardState({ term: 2, votedFor: "n1" });
    await opened.storage.sync();
    opened = await reopen(subject, opened.storage);
    assert.deepStrictEqual(opened.recovered.hardState, { term: 2, votedFor: "n1" });
    await opened.storage.close();
  },

  "unsynced data may be lost but synced data may not": async (subject) => {
    const { storage } = await subject.open();
    storage.setHardState({ term: 1, votedFor: null });
    storage.append(makeEntries(1, 3));
    await storage.sync();
    storage.setHardState({ term: 2, votedFor: "n3" });
    storage.append(makeEntries(4, 2, 2));
    assert.ok(storage.pendingBytes > 0);
    const { storage: reopened, recovered } = await reopen(subject, storage);
    const staged = [...makeEntries(1, 3), ...makeEntries(4, 2, 2)];
    assert.ok(recovered.entries.length >= 3, "a synced entry was lost");
    assert.deepStrictEqual(recovered.entries, staged.slice(0, recovered.entries.length));
    assert.ok(recovered.hardState.term >= 1, "the synced hard state was lost");
    await reopened.close();
  },

  "appending after a reopen continues the log": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 3));
    await storage.sync();
    const second = await reopen(subject, storage);
    second.storage.append(makeEntries(4, 3));
    await second.storage.sync();
    const third = await reopen(subject, second.storage);
    assert.deepStrictEqual(third.recovered.entries, makeEntries(1, 6));
    await third.storage.close();
  },

  "an entry at or below the last index truncates the log from there": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 5));
    await storage.sync();
    storage.append(makeEntries(3, 1, 2));
    await storage.sync();
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.deepStrictEqual(describeEntries(recovered.entries), ["1@1", "2@1", "3@2"]);
    assert.deepStrictEqual(recovered.entries[2], makeEntries(3, 1, 2)[0]);
    await reopened.close();
  },

  "truncation within one batch keeps only the replacing entries": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 5));
    storage.append(makeEntries(2, 2, 3));
    await storage.sync();
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.deepStrictEqual(describeEntries(recovered.entries), ["1@1", "2@3", "3@3"]);
    await reopened.close();
  },

  "a gap or an index the snapshot covers is rejected": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 2));
    assert.throws(() => storage.append(makeEntries(4, 1)), InvariantError);
    assert.throws(() => storage.append(makeEntries(0, 1)), InvariantError);
    await storage.sync();
    await storage.saveSnapshot({ index: 2, term: 1, data: encoder.encode("s2") });
    assert.throws(() => storage.append(makeEntries(2, 1, 2)), InvariantError);
    storage.append(makeEntries(3, 1));
    await storage.close();
  },

  "the hard state cannot go backwards or change its vote within a term": async (subject) => {
    const { storage } = await subject.open();
    storage.setHardState({ term: 4, votedFor: "n1" });
    assert.throws(() => storage.setHardState({ term: 3, votedFor: null }), InvariantError);
    assert.throws(() => storage.setHardState({ term: 4, votedFor: "n2" }), InvariantError);
    storage.setHardState({ term: 5, votedFor: null });
    storage.setHardState({ term: 5, votedFor: "n2" });
    await storage.close();
  },

  "a snapshot at the last entry leaves no entries": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 10));
    await storage.sync();
    await storage.saveSnapshot({ index: 10, term: 1, data: encoder.encode("state@10") });
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.deepStrictEqual(recovered.snapshot, {
      index: 10,
      term: 1,
      data: encoder.encode("state@10"),
    });
    assert.deepStrictEqual(recovered.entries, []);
    await reopened.close();
  },

  "entries after the snapshot index survive": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 10));
    await storage.sync();
    await storage.saveSnapshot({ index: 6, term: 1, data: encoder.encode("state@6") });
    const second = await reopen(subject, storage);
    assert.equal(second.recovered.snapshot?.index, 6);
    assert.deepStrictEqual(second.recovered.entries, makeEntries(7, 4));
    second.storage.append(makeEntries(11, 1));
    await second.storage.sync();
    const third = await reopen(subject, second.storage);
    assert.deepStrictEqual(third.recovered.entries, makeEntries(7, 5));
    await third.storage.close();
  },

  "repeated snapshots keep working": async (subject) => {
    let { storage } = await subject.open();
    storage.setHardState({ term: 1, votedFor: "n1" });
    for (let round = 0; round < 6; round++) {
      const first = round * 40 + 1;
      storage.append(makeEntries(first, 40));
      await storage.sync();
      const index = first + 29;
      await storage.saveSnapshot({ index, term: 1, data: encoder.encode(`state@${index}`) });
      const opened = await reopen(subject, storage);
      assert.deepStrictEqual(opened.recovered.snapshot?.data, encoder.encode(`state@${index}`));
      assert.deepStrictEqual(opened.recovered.entries, makeEntries(index + 1, 10));
      assert.deepStrictEqual(opened.recovered.hardState, { term: 1, votedFor: "n1" });
      storage = opened.storage;
    }
    await storage.close();
  },

  "a snapshot written in parts is published, read back from the store, and recovered whole": async (
    subject,
  ) => {
    let { storage } = await subject.open();
    assert.equal(storage.newestSnapshot === null, true, "no snapshot yet");
    storage.append(makeEntries(1, 12));
    await storage.sync();
    const draft = await storage.createSnapshotDraft(10, 1);
    const parts = ["head", "|line one", "|line two"].map((text) => encoder.encode(text));
    for (const part of parts) await draft.write(part);
    parts[1].fill(0); // the caller may reuse a part once written
    await draft.finish();
    await storage.publishSnapshot(draft);
    const whole = encoder.encode("head|line one|line two");
    const newest = storage.newestSnapshot;
    assert.deepStrictEqual([newest?.index, newest?.term], [10, 1]);
    assert.equal(newest?.source.byteLength, whole.length);
    assert.deepStrictEqual(newest?.source.read(4, 9), encoder.encode("|line one"));
    assert.throws(() => newest?.source.read(20, 9), RangeError);
    const opened = await reopen(subject, storage);
    assert.deepStrictEqual(opened.recovered.snapshot?.data, whole);
    assert.deepStrictEqual(opened.recovered.entries, makeEntries(11, 2));
    storage = opened.storage;
    assert.deepStrictEqual(storage.newestSnapshot?.source.read(0, whole.length), whole);
    await storage.close();
  },

  "an abandoned snapshot draft leaves no snapshot": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 3));
    await storage.sync();
    const draft = await storage.createSnapshotDraft(2, 1);
    await draft.write(encoder.encode("partial"));
    await draft.abandon();
    await draft.abandon(); // idempotent
    assert.equal(storage.newestSnapshot === null, true, "nothing published");
    const opened = await reopen(subject, storage);
    assert.equal(opened.recovered.snapshot, null);
    assert.deepStrictEqual(opened.recovered.entries, makeEntries(1, 3));
    await opened.storage.close();
  },

  "disk use counts the kept snapshots and the log": async (subject) => {
    const { storage } = await subject.open();
    assert.deepStrictEqual(storage.diskUse(), { snapshotBytes: 0, logBytes: 0 });
    storage.append(makeEntries(1, 5));
    await storage.sync();
    const afterLog = storage.diskUse();
    assert.ok(afterLog.logBytes > 0, "the log's records count");
    await storage.saveSnapshot({ index: 5, term: 1, data: new Uint8Array(1000) });
    assert.ok(storage.diskUse().snapshotBytes >= 1000, "the snapshot's bytes count");
    await storage.close();
  },

  "a snapshot beyond the last entry moves the end of the log": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 3));
    await storage.sync();
    // As when a follower installs the leader's snapshot (Raft section 7).
    await storage.saveSnapshot({ index: 10, term: 2, data: encoder.encode("leader@10") });
    storage.append(makeEntries(11, 2, 2));
    await storage.sync();
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.equal(recovered.snapshot?.index, 10);
    assert.deepStrictEqual(recovered.entries, makeEntries(11, 2, 2));
    await reopened.close();
  },

  "truncateAfter() at a conflicting snapshot discards the whole log": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 10));
    await storage.sync();
    // The leader's snapshot at 6 conflicts with entry 6 here (Raft section 7).
    await storage.saveSnapshot({ index: 6, term: 2, data: encoder.encode("leader@6") });
    storage.truncateAfter(6);
    await storage.sync();
    const second = await reopen(subject, storage);
    assert.deepStrictEqual(second.recovered.snapshot, {
      index: 6,
      term: 2,
      data: encoder.encode("leader@6"),
    });
    assert.deepStrictEqual(second.recovered.entries, []);
    second.storage.append(makeEntries(7, 1, 2));
    await second.storage.sync();
    const third = await reopen(subject, second.storage);
    assert.deepStrictEqual(describeEntries(third.recovered.entries), ["7@2"]);
    await third.storage.close();
  },

  "truncateAfter() before saving the snapshot leaves a consistent log at each step": async (
    subject,
  ) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 10));
    await storage.sync();
    storage.truncateAfter(6);
    await storage.sync();
    const second = await reopen(subject, storage);
    assert.deepStrictEqual(second.recovered.entries, makeEntries(1, 6));
    await second.storage.saveSnapshot({ index: 6, term: 2, data: encoder.encode("leader@6") });
    second.storage.append(makeEntries(7, 2, 2));
    await second.storage.sync();
    const third = await reopen(subject, second.storage);
    assert.equal(third.recovered.snapshot?.index, 6);
    assert.deepStrictEqual(third.recovered.entries, makeEntries(7, 2, 2));
    await third.storage.close();
  },

  "truncateAfter() outside the snapshot index and the end of the log throws": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 10));
    await storage.sync();
    await storage.saveSnapshot({ index: 6, term: 1, data: encoder.encode("state@6") });
    const pendingBytes = storage.pendingBytes;
    assert.throws(() => storage.truncateAfter(5), InvariantError);
    assert.throws(() => storage.truncateAfter(11), InvariantError);
    assert.throws(() => storage.truncateAfter(-1), InvariantError);
    assert.throws(() => storage.truncateAfter(7.5), InvariantError);
    assert.equal(storage.pendingBytes, pendingBytes, "a refused truncation staged something");
    storage.truncateAfter(10); // the end of the log: changes nothing
    storage.truncateAfter(8);
    assert.throws(() => storage.append(makeEntries(10, 1)), InvariantError);
    assert.throws(() => storage.truncateAfter(9), InvariantError);
    storage.append(makeEntries(9, 1, 2));
    await storage.sync();
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.deepStrictEqual(describeEntries(recovered.entries), ["7@1", "8@1", "9@2"]);
    await reopened.close();
  },

  "truncateAfter() is not durable until synced": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 10));
    await storage.sync();
    await storage.saveSnapshot({ index: 6, term: 2, data: encoder.encode("leader@6") });
    storage.truncateAfter(6);
    // Closing drops what is staged, as a crash would.
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.equal(recovered.snapshot?.index, 6);
    assert.deepStrictEqual(recovered.entries, makeEntries(7, 4));
    await reopened.close();
  },

  "a truncation and appends in one sync apply in order": async (subject) => {
    const { storage } = await subject.open();
    storage.setHardState({ term: 1, votedFor: null });
    storage.append(makeEntries(1, 10));
    await storage.sync();
    storage.truncateAfter(4);
    storage.append(makeEntries(5, 3, 2));
    storage.setHardState({ term: 3, votedFor: "n2" });
    storage.append(makeEntries(7, 2, 3)); // an entry below the end still truncates further
    storage.truncateAfter(7);
    await storage.sync();
    const second = await reopen(subject, storage);
    assert.deepStrictEqual(describeEntries(second.recovered.entries), [
      "1@1",
      "2@1",
      "3@1",
      "4@1",
      "5@2",
      "6@2",
      "7@3",
    ]);
    assert.deepStrictEqual(second.recovered.hardState, { term: 3, votedFor: "n2" });
    second.storage.truncateAfter(0);
    second.storage.append(makeEntries(1, 1, 3));
    await second.storage.sync();
    const third = await reopen(subject, second.storage);
    assert.deepStrictEqual(describeEntries(third.recovered.entries), ["1@3"]);
    await third.storage.close();
  },

  "truncateAfter() at a snapshot beyond the last entry keeps the log continuing after it": async (
    subject,
  ) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 3));
    await storage.sync();
    await storage.saveSnapshot({ index: 10, term: 2, data: encoder.encode("leader@10") });
    storage.truncateAfter(10);
    await storage.sync();
    const second = await reopen(subject, storage);
    assert.equal(second.recovered.snapshot?.index, 10);
    assert.deepStrictEqual(second.recovered.entries, []);
    assert.throws(() => second.storage.append(makeEntries(12, 1, 2)), InvariantError);
    second.storage.append(makeEntries(11, 1, 2));
    await second.storage.sync();
    const third = await reopen(subject, second.storage);
    assert.deepStrictEqual(third.recovered.entries, makeEntries(11, 1, 2));
    await third.storage.close();
  },

  "a snapshot's data is copied, not referenced": async (subject) => {
    const { storage } = await subject.open();
    storage.append(makeEntries(1, 2));
    await storage.sync();
    const data = encoder.encode("original");
    const saved = storage.saveSnapshot({ index: 2, term: 1, data });
    data.fill(0);
    await saved;
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.deepStrictEqual(recovered.snapshot?.data, encoder.encode("original"));
    await reopened.close();
  },

  "10,000 entries in one sync": async (subject) => {
    const { storage } = await subject.open();
    const entries = makeEntries(1, 10_000, 7);
    storage.append(entries);
    assert.ok(storage.pendingBytes > 10_000 * 8, `pendingBytes is ${storage.pendingBytes}`);
    await storage.sync();
    assert.equal(storage.pendingBytes, 0);
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.deepStrictEqual(recovered.entries, entries);
    await reopened.close();
  },

  "syncs called before earlier ones finish all complete, in order": async (subject) => {
    const { storage } = await subject.open();
    const syncs: Promise<void>[] = [];
    for (let index = 1; index <= 5; index++) {
      storage.append(makeEntries(index, 1));
      syncs.push(storage.sync());
    }
    syncs.push(storage.sync()); // nothing new staged: still waits for the others
    await Promise.all(syncs);
    assert.equal(storage.pendingBytes, 0);
    const { storage: reopened, recovered } = await reopen(subject, storage);
    assert.deepStrictEqual(recovered.entries, makeEntries(1, 5));
    await reopened.close();
  },

  "a closed store refuses work": async (subject) => {
    const { storage } = await subject.open();
    await storage.close();
    assert.throws(() => storage.append(makeEntries(1, 1)), /closed/);
    assert.throws(() => storage.truncateAfter(0), /closed/);
    await assert.rejects(storage.sync(), /closed/);
    await assert.rejects(
      storage.saveSnapshot({ index: 1, term: 1, data: new Uint8Array(1) }),
      /closed/,
    );
  },
};
