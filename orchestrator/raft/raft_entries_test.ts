// Proves that RaftEntries keeps a contiguous, term-monotonic log after a compaction point, answers
// termAt() at that point, and refuses (by assertion) gaps, terms going backwards and edits of
// compacted entries.
import assert from "node:assert/strict";
import { InvariantError } from "../../shared/assert.ts";
import type { Command, LogEntry } from "../../shared/protocol/commands.ts";
import { RaftEntries } from "./raft_entries.ts";

function entry(index: number, term: number): LogEntry {
  return { index, term, command: { type: "noop", atMs: index * 10 + term } };
}

/** A log holding `terms[i]` at index `from + i`, after a compaction point at `from - 1`. */
function logOf(terms: readonly number[], from = 1, compactedTerm = 0): RaftEntries<Command> {
  const log = new RaftEntries<Command>(from - 1, compactedTerm);
  terms.forEach((term, i) => log.append(entry(from + i, term)));
  return log;
}

Deno.test("RaftEntries starts empty at its compaction point", () => {
  const fresh = new RaftEntries<Command>(0, 0);
  assert.equal(fresh.firstIndex, 1);
  assert.equal(fresh.lastIndex, 0);
  assert.equal(fresh.lastTerm, 0);
  assert.equal(fresh.termAt(0), 0);
  assert.equal(fresh.termAt(1), undefined);

  const restored = new RaftEntries<Command>(40, 3);
  assert.equal(restored.firstIndex, 41);
  assert.equal(restored.lastIndex, 40);
  assert.equal(restored.lastTerm, 3, "an empty log's last term is the compaction point's");
  assert.equal(restored.termAt(40), 3);
  assert.equal(restored.termAt(39), undefined, "compacted entries have no known term");
  assert.equal(restored.termAt(41), undefined);
});

Deno.test("RaftEntries.append() extends the log and termAt() answers for every held index", () => {
  const log = logOf([1, 1, 2, 4]);
  assert.equal(log.lastIndex, 4);
  assert.equal(log.lastTerm, 4);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => log.termAt(i)), [0, 1, 1, 2, 4, undefined]);
});

Deno.test("RaftEntries.append() asserts on a gap, a repeated index and a term going backwards", () => {
  const log = logOf([2, 2]);
  assert.throws(() => log.append(entry(4, 2)), InvariantError, "gap");
  assert.throws(() => log.append(entry(2, 2)), InvariantError, "repeated index");
  assert.throws(() => log.append(entry(3, 1)), InvariantError, "term went backwards");
  assert.equal(log.lastIndex, 2, "a refused append changes nothing");
  const compacted = new RaftEntries<Command>(10, 5);
  assert.throws(() => compacted.append(entry(11, 4)), InvariantError, "below the compaction term");
  compacted.append(entry(11, 5));
  assert.equal(compacted.lastIndex, 11);
});

Deno.test("RaftEntries.slice() returns at most maxCount entries from `from`", () => {
  const log = logOf([1, 1, 2, 2, 3], 6, 1);
  assert.deepEqual(log.slice(6, 2).map((e) => e.index), [6, 7]);
  assert.deepEqual(log.slice(9, 100).map((e) => e.index), [9, 10]);
  assert.deepEqual(log.slice(11, 5), [], "past the end there is nothing");
  assert.throws(() => log.slice(5, 1), InvariantError, "the compaction point is not held");
});

Deno.test("RaftEntries.truncateFrom() drops the index and everything after it", () => {
  const log = logOf([1, 1, 2, 2]);
  log.truncateFrom(3);
  assert.equal(log.lastIndex, 2);
  assert.equal(log.lastTerm, 1);
  assert.equal(log.termAt(3), undefined);
  log.append(entry(3, 3));
  assert.equal(log.termAt(3), 3, "a truncated index can be rewritten");
  log.truncateFrom(4);
  assert.equal(log.lastIndex, 3, "truncating right after the end changes nothing");
});

Deno.test({
  name: "RaftEntries.truncateFrom() past the end neither grows the log nor invents entries",
  fn: () => {
    const log = logOf([1, 1, 2]);
    log.truncateFrom(10);
    assert.equal(log.lastIndex, 3);
    assert.equal(log.lastTerm, 2);
    assert.equal(log.slice(1, 100).length, 3);
  },
});

Deno.test("RaftEntries.truncateFrom() asserts rather than drop a compacted entry", () => {
  const log = logOf([2, 2, 2], 5, 2);
  assert.throws(() => log.truncateFrom(4), InvariantError, "the compaction point itself");
  assert.throws(() => log.truncateFrom(1), InvariantError);
  log.truncateFrom(5);
  assert.equal(log.lastIndex, 4, "truncating right after the compaction point empties the log");
  assert.equal(log.lastTerm, 2, "and leaves the compaction point's term");
});

Deno.test("RaftEntries.compactTo() keeps the compacted entry's term for the consistency check", () => {
  const log = logOf([1, 2, 3, 3, 4]);
  log.compactTo(3);
  assert.equal(log.firstIndex, 4);
  assert.equal(log.lastIndex, 5);
  assert.equal(log.termAt(3), 3, "the compaction point answers with its term");
  assert.equal(log.termAt(2), undefined);
  assert.deepEqual(log.slice(4, 10).map((e) => [e.index, e.term]), [[4, 3], [5, 4]]);
  log.compactTo(2);
  assert.equal(log.firstIndex, 4, "compacting backwards is a no-op");
  log.compactTo(5);
  assert.equal(log.lastIndex, 5, "compacting everything keeps lastIndex");
  assert.equal(log.lastTerm, 4, "and lastTerm");
  assert.equal(log.termAt(5), 4);
  log.append(entry(6, 4));
  assert.equal(log.lastIndex, 6);
});

Deno.test("RaftEntries.compactTo() asserts rather than compact past the last entry", () => {
  const log = logOf([1, 1]);
  assert.throws(() => log.compactTo(3), InvariantError);
  assert.equal(log.firstIndex, 1);
});

Deno.test("RaftEntries.reset() replaces the whole log by a compaction point", () => {
  const log = logOf([1, 1, 2, 2]);
  log.reset(9, 5);
  assert.equal(log.firstIndex, 10);
  assert.equal(log.lastIndex, 9);
  assert.equal(log.lastTerm, 5);
  assert.equal(log.termAt(9), 5);
  assert.equal(log.termAt(3), undefined);
  log.append(entry(10, 5));
  assert.equal(log.lastIndex, 10);
  // Reset may also move the point backwards of the old last entry (a snapshot behind a stale tail).
  const long = logOf([1, 1, 1, 1, 1, 1]);
  long.reset(3, 2);
  assert.equal(long.lastIndex, 3);
  assert.equal(long.termAt(4), undefined);
});
