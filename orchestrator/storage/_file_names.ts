/**
 * Names of the files in a log storage directory. Segments are numbered by a
 * sequence, not by entry index, because truncation can go back across a
 * segment boundary. Pure.
 * @module
 */

/** Digits of a segment's sequence number in its name. */
const SEGMENT_SEQUENCE_DIGITS = 8;
/** Digits of a snapshot's index in its name, enough for any safe integer, so names sort by index. */
const SNAPSHOT_INDEX_DIGITS = 20;
const SNAPSHOT_TEMP_SUFFIX = ".tmp";

const SEGMENT_PATTERN = /^wal-(\d{8,})\.log$/;
const SNAPSHOT_PATTERN = /^snapshot-(\d{20})-(\d+)\.snap$/;
/** Temp files: `.snap.tmp` of earlier versions, `.snap.<who writes it>.tmp` now. */
const SNAPSHOT_TEMP_PATTERN = /^snapshot-\d{20}-\d+\.snap(\.[a-z]+)?\.tmp$/;

/** What a file name in the directory stands for. */
export type StorageFileName =
  | { kind: "segment"; name: string; sequence: number }
  | { kind: "snapshot"; name: string; index: number; term: number }
  | { kind: "snapshotTemp"; name: string };

/** `wal-00000001.log` for sequence 1. */
export function segmentFileName(sequence: number): string {
  return `wal-${String(sequence).padStart(SEGMENT_SEQUENCE_DIGITS, "0")}.log`;
}

/** `snapshot-00000000000000000042-3.snap` for index 42, term 3. */
export function snapshotFileName(index: number, term: number): string {
  return `snapshot-${String(index).padStart(SNAPSHOT_INDEX_DIGITS, "0")}-${term}.snap`;
}

/** Where a snapshot is written before the rename that publishes it. */
export function snapshotTempFileName(index: number, term: number): string {
  return snapshotFileName(index, term) + SNAPSHOT_TEMP_SUFFIX;
}

/**
 * Where a snapshot is written before the rename that publishes it, by `writer` (a lowercase word:
 * "local" for the node's own snapshot, written while the log goes on; "installed" for one from
 * the leader), so that two writers of one snapshot never share a temp file.
 */
export function snapshotDraftFileName(index: number, term: number, writer: string): string {
  return `${snapshotFileName(index, term)}.${writer}${SNAPSHOT_TEMP_SUFFIX}`;
}

/** Classifies a directory entry; null for names the storage does not own. */
export function parseStorageFileName(name: string): StorageFileName | null {
  const segment = SEGMENT_PATTERN.exec(name);
  if (segment) return { kind: "segment", name, sequence: Number(segment[1]) };
  const snapshot = SNAPSHOT_PATTERN.exec(name);
  if (snapshot) {
    return { kind: "snapshot", name, index: Number(snapshot[1]), term: Number(snapshot[2]) };
  }
  if (SNAPSHOT_TEMP_PATTERN.test(name)) return { kind: "snapshotTemp", name };
  return null;
}
