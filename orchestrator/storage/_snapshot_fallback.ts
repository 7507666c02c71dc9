/**
 * Replay when the newest snapshot files are corrupt: falling back to an older
 * snapshot is safe only when it and the log still reach everything the
 * corrupt one held. Otherwise recovery would silently forget entries the node
 * acknowledged (a leader counted them toward a commit). Pure: no I/O.
 * @module
 */
import { InvariantError } from "../../shared/assert.ts";
import type { CorruptSnapshotFile } from "./_snapshot_files.ts";
import { LogCorruptionError } from "./log_corruption_error.ts";
import type { LogRecord } from "./log_record.ts";
import { replayRecords } from "./log_replay.ts";
import type { RecoveredLog, StoredSnapshot } from "./log_storage.ts";

/**
 * Replays `records` over `snapshot` (the newest that validated). When
 * `skipped` is not empty, the recovered log must contain the newest skipped
 * snapshot's last entry, with its term (both are in its file name), with no
 * gap from the older snapshot on.
 * @param skipped Corrupt snapshot files newer than `snapshot`, newest first.
 * @throws {LogCorruptionError} naming the newest corrupt snapshot when they do not.
 */
export function replayOverFallback(
  records: Iterable<LogRecord>,
  options: {
    dir: string;
    snapshot: StoredSnapshot | null;
    skipped: readonly CorruptSnapshotFile[];
    repairedBytes: number;
  },
): RecoveredLog {
  const { dir, snapshot, skipped, repairedBytes } = options;
  const corrupt = skipped[0];
  if (corrupt === undefined) return replayRecords(records, { snapshot, repairedBytes });
  const refuse = (why: string): never => {
    throw new LogCorruptionError({
      dir,
      file: corrupt.name,
      offset: 0,
      problem: `${corrupt.problem}; ${why}`,
    });
  };
  const olderName = snapshot === null
    ? "no older snapshot"
    : `the older snapshot at ${snapshot.index}`;
  let recovered: RecoveredLog;
  try {
    recovered = replayRecords(records, { snapshot, repairedBytes });
  } catch (error) {
    if (!(error instanceof InvariantError)) throw error;
    return refuse(`${olderName} and the log do not replace it: ${error.message}`);
  }
  const entry = recovered.entries.find((e) => e.index === corrupt.index);
  if (entry === undefined || entry.term !== corrupt.term) {
    const found = entry === undefined ? "is missing" : `is of term ${entry.term}`;
    refuse(
      `${olderName} and the log do not replace it: entry ${corrupt.index} of term ` +
        `${corrupt.term} ${found}`,
    );
  }
  return recovered;
}
