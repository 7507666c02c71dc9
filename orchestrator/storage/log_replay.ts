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
 * section 5.3); entries up to the snapshot's index are dropped.
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
  const entries: LogEntry[] = [];
  for (const record of records) {
    switch (record.type) {
      case "hardState":
        assertHardStateStep(hardState, record.hardState);
        hardState = { ...record.hardState };
        break;
      case "entry":
        applyEntry(entries, record.entry, snapshotIndex);
        break;
      default:
        assertNever(record, "unknown log record");
    }
  }
  return {
    hardState,
    snapshot: options.snapshot,
    entries: entriesAfter(entries, snapshotIndex),
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

/** Appends `entry` to the contiguous run `entries`, truncating or restarting it first when needed. */
function applyEntry(entries: LogEntry[], entry: LogEntry, snapshotIndex: number): void {
  if (entries.length > 0) {
    const first = entries[0].index;
    const last = first + entries.length - 1;
    if (entry.index <= last) {
      // Conflict resolution: the new entry replaces everything from its index.
      entries.length = Math.max(0, entry.index - first);
    } else if (entry.index > last + 1) {
      // Only a snapshot installed from the leader may jump the log forward.
      assert(
        entry.index <= snapshotIndex + 1,
        `log gap: entry ${entry.index} follows entry ${last}, and the snapshot ` +
          `(index ${snapshotIndex}) does not cover the gap`,
      );
      entries.length = 0;
    }
  }
  entries.push(entry);
}

/** The entries after the snapshot; they must start right after it. */
function entriesAfter(entries: LogEntry[], snapshotIndex: number): LogEntry[] {
  if (entries.length === 0) return entries;
  const first = entries[0].index;
  assert(
    first <= snapshotIndex + 1,
    `log gap: entries ${snapshotIndex + 1}..${first - 1} are missing ` +
      `(the log starts at ${first}, the snapshot ends at ${snapshotIndex})`,
  );
  return entries.slice(snapshotIndex + 1 - first);
}
