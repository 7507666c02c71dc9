/**
 * Replay: how records, read back in write order, fold into a {@link RecoveredLog}.
 * Both storages recover through this one function, so their recovery
 * semantics cannot drift apart. Pure: no I/O.
 *
 * Storage checks the shape of the log (contiguous indexes, hard-state
 * progress) on the way in and again here on the way out; it keeps no per-entry
 * terms, so term order within the log is left to the Raft core.
 * @module
 */
import { assert, assertNever } from "../../shared/assert.ts";
import type { LogEntry } from "../tasks/mod.ts";
import type { LogRecord } from "./log_record.ts";
import {
  type HardState,
  INITIAL_HARD_STATE,
  type RecoveredLog,
  type StoredSnapshot,
} from "./log_storage.ts";

/** What replay needs besides the records. */
export interface ReplayOptions {
  /** The newest valid snapshot; entries up to its index are dropped. */
  snapshot: StoredSnapshot | null;
  /** Bytes the caller cut off a torn tail before replay, reported as is. */
  repairedBytes?: number;
}

/**
 * Folds records into the recovered log: the last hard state wins; an entry
 * whose index is `<=` the last one replaces the suffix from that index (Raft
 * section 5.3); a truncation drops every entry after its index, and the log
 * continues right after it; entries up to the snapshot's index are dropped.
 * @throws {InvariantError} when entries are missing (a gap that the snapshot
 * does not cover) or the hard state goes backwards: the records were not
 * written by a correct store, and guessing would corrupt the node.
 * @example
 * const recovered = replayRecords(decodeRecords(bytes).records, { snapshot: null });
 */
export function replayRecords(
  records: Iterable<LogRecord>,
  options: ReplayOptions,
): RecoveredLog {
  const snapshotIndex = options.snapshot?.index ?? 0;
  let hardState: HardState = { ...INITIAL_HARD_STATE };
  const log: ReplayedLog = { entries: [], lastIndex: null };
  for (const record of records) {
    switch (record.type) {
      case "hardState":
        assertHardStateStep(hardState, record.hardState);
        hardState = { ...record.hardState };
        break;
      case "entry":
        applyEntry(log, record.entry, snapshotIndex);
        break;
      case "truncate":
        applyTruncation(log, record.afterIndex, snapshotIndex);
        break;
      default:
        assertNever(record, "unknown log record");
    }
  }
  return {
    hardState,
    snapshot: options.snapshot,
    entries: entriesAfter(log, snapshotIndex),
    repairedBytes: options.repairedBytes ?? 0,
  };
}

/**
 * Asserts that `next` may follow `previous`: terms never go backwards, and a
 * node votes at most once per term (Raft paper, figure 2).
 * @throws {InvariantError} when it may not.
 */
export function assertHardStateStep(previous: HardState, next: HardState): void {
  assert(
    next.term >= previous.term,
    `hard state term went backwards: ${previous.term} -> ${next.term}`,
  );
  const hasVoted = next.term === previous.term && previous.votedFor !== null;
  assert(
    !hasVoted || next.votedFor === previous.votedFor,
    `vote changed within term ${next.term}: ${previous.votedFor} -> ${next.votedFor}`,
  );
}

/** The log as replay rebuilds it. */
interface ReplayedLog {
  /** A contiguous run of entries (the records may start mid-log, once old segments are deleted). */
  entries: LogEntry[];
  /**
   * Index of the log's last entry: the last of `entries`, or where a
   * truncation left the log when `entries` is empty. Null until a record says
   * (an empty run at the start may follow entries in deleted segments).
   */
  lastIndex: number | null;
}

/** Appends `entry` to the run, truncating or restarting the run first when needed. */
function applyEntry(log: ReplayedLog, entry: LogEntry, snapshotIndex: number): void {
  if (log.lastIndex !== null && entry.index > log.lastIndex + 1) {
    // Only a snapshot installed from the leader may jump the log forward.
    assert(
      entry.index <= snapshotIndex + 1,
      `log gap: entry ${entry.index} follows entry ${log.lastIndex}, and the snapshot ` +
        `(index ${snapshotIndex}) does not cover the gap`,
    );
    log.entries.length = 0;
  } else {
    // Conflict resolution: the new entry replaces everything from its index.
    cutRunAfter(log.entries, entry.index - 1);
  }
  log.entries.push(entry);
  log.lastIndex = entry.index;
}

/** Drops every entry after `afterIndex`; the log then continues at `afterIndex + 1`. */
function applyTruncation(log: ReplayedLog, afterIndex: number, snapshotIndex: number): void {
  if (log.lastIndex !== null && afterIndex > log.lastIndex) {
    // Past the last entry, only a snapshot installed from the leader covers the
    // gap. The store saved that snapshot before writing this record, and
    // recovery loads it before replay, so it is known here.
    assert(
      afterIndex <= snapshotIndex,
      `log gap: truncation after ${afterIndex} follows entry ${log.lastIndex}, and the ` +
        `snapshot (index ${snapshotIndex}) does not cover the gap`,
    );
    log.entries.length = 0;
  } else {
    cutRunAfter(log.entries, afterIndex);
  }
  log.lastIndex = afterIndex;
}

/** Drops the entries of `entries` after `afterIndex` (all of them when it is below the run). */
function cutRunAfter(entries: LogEntry[], afterIndex: number): void {
  if (entries.length === 0) return;
  const kept = Math.max(0, afterIndex - entries[0].index + 1);
  assert(kept <= entries.length, `cutting the log after ${afterIndex} would grow it`);
  entries.length = kept;
}

/** The entries after the snapshot; they must start right after it. */
function entriesAfter(log: ReplayedLog, snapshotIndex: number): LogEntry[] {
  const { entries, lastIndex } = log;
  if (entries.length === 0) {
    // A truncation may leave no entries: the snapshot must then cover the log up to its end.
    assert(
      lastIndex === null || lastIndex <= snapshotIndex,
      `log gap: entries ${snapshotIndex + 1}..${lastIndex} are missing ` +
        `(a truncation ends the log at ${lastIndex}, the snapshot ends at ${snapshotIndex})`,
    );
    return entries;
  }
  const first = entries[0].index;
  assert(
    first <= snapshotIndex + 1,
    `log gap: entries ${snapshotIndex + 1}..${first - 1} are missing ` +
      `(the log starts at ${first}, the snapshot ends at ${snapshotIndex})`,
  );
  return entries.slice(snapshotIndex + 1 - first);
}
