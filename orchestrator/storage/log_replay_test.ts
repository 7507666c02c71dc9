// Proves that replay folds records into a log exactly as Raft requires: last hard state wins, conflicting suffixes are replaced, truncations drop what follows them, snapshots cover their prefix, and missing entries are refused.
import assert from "node:assert/strict";
import { InvariantError } from "../../shared/assert.ts";
import type { LogEntry } from "../tasks/mod.ts";
import type { LogRecord } from "./log_record.ts";
import { replayRecords } from "./log_replay.ts";
import { describeEntries, makeEntries } from "./_log_storage_contract_test.ts";
import type { HardState, StoredSnapshot } from "./log_storage.ts";

function entries(first: number, count: number, term = 1): LogRecord[] {
  return makeEntries(first, count, term).map((entry: LogEntry) => ({ type: "entry", entry }));
}

function hardState(term: number, votedFor: string | null): LogRecord {
  return { type: "hardState", hardState: { term, votedFor } satisfies HardState };
}

function truncate(afterIndex: number): LogRecord {
  return { type: "truncate", afterIndex };
}

function snapshotAt(index: number, term = 1): StoredSnapshot {
  return { index, term, data: new Uint8Array([index]) };
}

Deno.test("replayRecords() of nothing is a fresh log", () => {
  assert.deepStrictEqual(replayRecords([], { snapshot: null }), {
    hardState: { term: 0, votedFor: null },
    snapshot: null,
    entries: [],
    repairedBytes: 0,
  });
});

Deno.test("replayRecords() keeps the last hard state and reports repaired bytes", () => {
  const recovered = replayRecords(
    [hardState(1, null), ...entries(1, 2), hardState(1, "n2"), hardState(3, null)],
    { snapshot: null, repairedBytes: 17 },
  );
  assert.deepStrictEqual(recovered.hardState, { term: 3, votedFor: null });
  assert.equal(recovered.repairedBytes, 17);
});

Deno.test("replayRecords() replaces the suffix from a conflicting entry", () => {
  const recovered = replayRecords([...entries(1, 5), ...entries(3, 1, 2)], { snapshot: null });
  assert.deepStrictEqual(describeEntries(recovered.entries), ["1@1", "2@1", "3@2"]);
});

Deno.test("replayRecords() drops entries the snapshot covers", () => {
  const recovered = replayRecords(entries(1, 10), { snapshot: snapshotAt(6) });
  assert.deepStrictEqual(recovered.entries, makeEntries(7, 4));
  assert.deepStrictEqual(recovered.snapshot, snapshotAt(6));
  assert.deepStrictEqual(replayRecords(entries(1, 10), { snapshot: snapshotAt(12) }).entries, []);
});

Deno.test("replayRecords() accepts a log whose first segments were deleted", () => {
  // Segments up to the snapshot are gone, so the records start mid-log.
  const recovered = replayRecords([hardState(2, "n1"), ...entries(5, 6)], {
    snapshot: snapshotAt(7),
  });
  assert.deepStrictEqual(recovered.entries, makeEntries(8, 3));
  assert.deepStrictEqual(recovered.hardState, { term: 2, votedFor: "n1" });
});

Deno.test("replayRecords() handles a truncation back before the first record", () => {
  const recovered = replayRecords([...entries(5, 4), ...entries(5, 2, 2)], {
    snapshot: snapshotAt(4),
  });
  assert.deepStrictEqual(describeEntries(recovered.entries), ["5@2", "6@2"]);
});

Deno.test("replayRecords() accepts a jump the snapshot covers (a snapshot installed from the leader)", () => {
  const recovered = replayRecords([...entries(1, 3), ...entries(11, 2, 2)], {
    snapshot: snapshotAt(10, 2),
  });
  assert.deepStrictEqual(recovered.entries, makeEntries(11, 2, 2));
});

Deno.test("replayRecords() refuses a gap the snapshot does not cover", () => {
  assert.throws(
    () => replayRecords([...entries(1, 3), ...entries(11, 2)], { snapshot: snapshotAt(5) }),
    (error: Error) =>
      error instanceof InvariantError &&
      error.message.startsWith("log gap: entry 11 follows entry 3, and the snapshot (index 5)"),
  );
});

Deno.test("replayRecords() refuses a log that starts after the snapshot's next index", () => {
  assert.throws(
    () => replayRecords(entries(10, 3), { snapshot: snapshotAt(5) }),
    /log gap: entries 6\.\.9 are missing/,
  );
  assert.throws(() => replayRecords(entries(2, 3), { snapshot: null }), InvariantError);
});

Deno.test("replayRecords() refuses a hard state that goes backwards or votes twice", () => {
  assert.throws(
    () => replayRecords([hardState(3, null), hardState(2, null)], { snapshot: null }),
    /hard state term went backwards: 3 -> 2/,
  );
  assert.throws(
    () => replayRecords([hardState(3, "n1"), hardState(3, "n2")], { snapshot: null }),
    /vote changed within term 3: n1 -> n2/,
  );
});

Deno.test("replayRecords() drops the entries after a truncation and continues after it", () => {
  const recovered = replayRecords([...entries(1, 10), truncate(6), ...entries(7, 1, 2)], {
    snapshot: null,
  });
  assert.deepStrictEqual(describeEntries(recovered.entries), [
    "1@1",
    "2@1",
    "3@1",
    "4@1",
    "5@1",
    "6@1",
    "7@2",
  ]);
  assert.deepStrictEqual(
    replayRecords([...entries(1, 3), truncate(0)], { snapshot: null }).entries,
    [],
  );
});

Deno.test("replayRecords() lets an entry below a truncation truncate further", () => {
  const recovered = replayRecords([...entries(1, 10), truncate(6), ...entries(3, 1, 2)], {
    snapshot: null,
  });
  assert.deepStrictEqual(describeEntries(recovered.entries), ["1@1", "2@1", "3@2"]);
});

Deno.test("replayRecords() drops all entries after a truncation at the snapshot", () => {
  const recovered = replayRecords([...entries(1, 10), truncate(6)], { snapshot: snapshotAt(6, 2) });
  assert.deepStrictEqual(recovered.entries, []);
});

Deno.test("replayRecords() applies a truncation below the first record (old segments deleted)", () => {
  // Entries 1..10 were in deleted segments; the truncation reaches back into them.
  const recovered = replayRecords(
    [hardState(2, "n1"), ...entries(11, 10), truncate(5), ...entries(6, 10, 2)],
    { snapshot: snapshotAt(12, 2) },
  );
  assert.deepStrictEqual(recovered.entries, makeEntries(13, 3, 2));
});

Deno.test("replayRecords() accepts a truncation that starts the records (old segments deleted)", () => {
  const recovered = replayRecords([hardState(2, null), truncate(8), ...entries(9, 2, 2)], {
    snapshot: snapshotAt(8, 2),
  });
  assert.deepStrictEqual(recovered.entries, makeEntries(9, 2, 2));
});

Deno.test("replayRecords() accepts a truncation past the last entry that the snapshot covers", () => {
  const records = [...entries(1, 3), truncate(10)];
  assert.deepStrictEqual(replayRecords(records, { snapshot: snapshotAt(10, 2) }).entries, []);
  const continued = replayRecords([...records, ...entries(11, 1, 2)], {
    snapshot: snapshotAt(10, 2),
  });
  assert.deepStrictEqual(continued.entries, makeEntries(11, 1, 2));
});

Deno.test("replayRecords() refuses a truncation past the last entry that the snapshot does not cover", () => {
  assert.throws(
    () => replayRecords([...entries(1, 3), truncate(10)], { snapshot: snapshotAt(5) }),
    (error: Error) =>
      error instanceof InvariantError &&
      error.message.startsWith(
        "log gap: truncation after 10 follows entry 3, and the snapshot (index 5)",
      ),
  );
});

Deno.test("replayRecords() refuses an entry that skips past a truncation", () => {
  assert.throws(
    () => replayRecords([...entries(1, 10), truncate(6), ...entries(8, 1)], { snapshot: null }),
    /log gap: entry 8 follows entry 6, and the snapshot \(index 0\)/,
  );
});

Deno.test("replayRecords() refuses a truncation that ends the log past the snapshot with no entries", () => {
  assert.throws(
    () => replayRecords([hardState(1, null), truncate(6)], { snapshot: snapshotAt(3) }),
    /log gap: entries 4\.\.6 are missing \(a truncation ends the log at 6, the snapshot ends at 3\)/,
  );
});
