/**
 * Staging shared by both storages: checks appends, truncations and hard states
 * against the log's shape, encodes them as records, and hands them out in
 * batches for one durable write. Pure: no I/O.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type { LogEntry } from "../tasks/mod.ts";
import { encodeRecord, encodeRecords, type LogRecord } from "./log_record.ts";
import { assertHardStateStep } from "./log_replay.ts";
import type { HardState, RecoveredLog } from "./log_storage.ts";
import { type IndexRange, widenIndexRange } from "./_index_range.ts";

/** Records taken for one durable write. */
export interface StagedBatch extends IndexRange {
  parts: Uint8Array[];
  byteLength: number;
  /** The hard state before these records: what a new segment must start with. */
  hardStateBefore: HardState;
}

/** Encoded records waiting for a sync, plus what append checks need to know. */
export class StagedRecords {
  #parts: Uint8Array[] = [];
  #byteLength = 0;
  /** Entry indexes staged since the last take. */
  #range: IndexRange = { minIndex: null, maxIndex: null };
  #hardState: HardState;
  #hardStateTaken: HardState;
  #lastIndex: number;
  #snapshotIndex: number;

  /** Starts from what recovery found. */
  constructor(recovered: RecoveredLog) {
    this.#hardState = { ...recovered.hardState };
    this.#hardStateTaken = this.#hardState;
    this.#snapshotIndex = recovered.snapshot?.index ?? 0;
    this.#lastIndex = recovered.entries.at(-1)?.index ?? this.#snapshotIndex;
  }

  /** Bytes staged and not yet taken. */
  get byteLength(): number {
    return this.#byteLength;
  }

  /**
   * Checks and encodes `entries`; all or none are staged.
   * @throws {InvariantError} on a malformed index or term, a gap, or an index the snapshot covers.
   * @throws {RangeError} when an entry is too large to encode.
   */
  stageEntries(entries: readonly LogEntry[]): void {
    if (entries.length === 0) return;
    const records: LogRecord[] = [];
    let lastIndex = this.#lastIndex;
    const range: IndexRange = { minIndex: null, maxIndex: null };
    for (const entry of entries) {
      this.#assertAppendable(entry, lastIndex);
      records.push({ type: "entry", entry });
      lastIndex = entry.index;
      widenIndexRange(range, { minIndex: entry.index, maxIndex: entry.index });
    }
    this.#stage(encodeRecords(records));
    this.#lastIndex = lastIndex;
    widenIndexRange(this.#range, range);
  }

  /**
   * Checks and encodes a hard state.
   * @throws {InvariantError} on a malformed value, a term going backwards or a second vote in a term.
   */
  stageHardState(hardState: HardState): void {
    assertInteger(hardState.term, { name: "hard state term", min: 0 });
    assert(
      hardState.votedFor === null || typeof hardState.votedFor === "string",
      `hard state votedFor must be a string or null, got ${typeof hardState.votedFor}`,
    );
    assertHardStateStep(this.#hardState, hardState);
    const copy: HardState = { term: hardState.term, votedFor: hardState.votedFor };
    if (hardState.rejoining === true) copy.rejoining = true;
    this.#stage(encodeRecord({ type: "hardState", hardState: copy }));
    this.#hardState = copy;
  }

  /**
   * Checks and encodes the removal of every entry after `afterIndex`; appends
   * then continue at `afterIndex + 1` (or lower, truncating further).
   * @throws {InvariantError} on a malformed index, an index below the snapshot's
   * (those entries are already compacted), or an index past the end of the log
   * (that would leave a gap no snapshot covers).
   */
  stageTruncation(afterIndex: number): void {
    assertInteger(afterIndex, { name: "truncation index", min: 0 });
    assert(
      afterIndex >= this.#snapshotIndex,
      `cannot truncate the log after entry ${afterIndex}: the snapshot at index ` +
        `${this.#snapshotIndex} already covers it`,
    );
    assert(
      afterIndex <= this.#lastIndex,
      `cannot truncate the log after entry ${afterIndex}: the log ends at ${this.#lastIndex}, ` +
        `so that would leave a gap`,
    );
    this.#stage(encodeRecord({ type: "truncate", afterIndex }));
    this.#lastIndex = afterIndex;
  }

  /**
   * Records that a snapshot up to `snapshot.index` exists. Appends must then go
   * past it; a snapshot beyond the last entry (installed from a leader) moves
   * the end of the log to it.
   * @throws {InvariantError} on a malformed index or term, or a snapshot older than the newest one noted.
   */
  noteSnapshot(snapshot: { index: number; term: number }): void {
    assertInteger(snapshot.index, { name: "snapshot index", min: 1 });
    assertInteger(snapshot.term, { name: "snapshot term", min: 1 });
    assert(
      snapshot.index >= this.#snapshotIndex,
      `snapshot at index ${snapshot.index} is older than the stored one at ${this.#snapshotIndex}`,
    );
    this.#snapshotIndex = snapshot.index;
    this.#lastIndex = Math.max(this.#lastIndex, snapshot.index);
  }

  /** Removes and returns everything staged, or null when nothing is. */
  take(): StagedBatch | null {
    if (this.#parts.length === 0) return null;
    const batch: StagedBatch = {
      parts: this.#parts,
      byteLength: this.#byteLength,
      hardStateBefore: this.#hardStateTaken,
      ...this.#range,
    };
    this.#parts = [];
    this.#byteLength = 0;
    this.#range = { minIndex: null, maxIndex: null };
    this.#hardStateTaken = this.#hardState;
    return batch;
  }

  #stage(part: Uint8Array): void {
    this.#parts.push(part);
    this.#byteLength += part.length;
  }

  #assertAppendable(entry: LogEntry, lastIndex: number): void {
    assertInteger(entry.index, { name: "entry index", min: 1 });
    assertInteger(entry.term, { name: "entry term", min: 1 });
    // Recovery refuses a record whose command is not an object; refuse it here first. (The
    // message is built only on failure: this runs for every entry written.)
    if (
      typeof entry.command !== "object" || entry.command === null || Array.isArray(entry.command)
    ) {
      assert(
        false,
        `entry ${entry.index} command must be an object, got ${JSON.stringify(entry.command)}`,
      );
    }
    assert(
      entry.index > this.#snapshotIndex,
      `cannot append entry ${entry.index}: the snapshot at index ${this.#snapshotIndex} covers it`,
    );
    assert(entry.index <= lastIndex + 1, `log gap: appending ${entry.index} after ${lastIndex}`);
  }
}

function assertInteger(value: number, expected: { name: string; min: number }): void {
  assert(
    Number.isSafeInteger(value) && value >= expected.min,
    `${expected.name} must be an integer >= ${expected.min}, got ${value}`,
  );
}

/** Appends `later` to `earlier` (both not yet written), so one write carries both. */
export function mergeBatches(earlier: StagedBatch, later: StagedBatch): void {
  for (const part of later.parts) earlier.parts.push(part);
  earlier.byteLength += later.byteLength;
  widenIndexRange(earlier, later);
}
