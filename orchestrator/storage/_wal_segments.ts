/**
 * Reading the write-ahead log's segment files at recovery: decode each one,
 * find a torn tail of the last one, and refuse damage anywhere else.
 * @module
 */
import { join } from "node:path";
import { segmentFileName } from "./_file_names.ts";
import { type IndexRange, widenIndexRange } from "./_index_range.ts";
import type { FileSystem } from "./file_system.ts";
import { LogCorruptionError } from "./log_corruption_error.ts";
import { decodeRecords, findNextRecord, type LogRecord } from "./log_record.ts";

/** What the storage tracks about one segment file. */
export interface SegmentInfo extends IndexRange {
  sequence: number;
  name: string;
  /** Bytes of whole records in the file. The index range spans every entry ever written to it. */
  byteLength: number;
}

/** A torn tail found at the end of the last segment, to be cut off once recovery is sure. */
export interface TornTail {
  name: string;
  /** Where the valid records end. */
  validBytes: number;
  /** Bytes after them. */
  byteLength: number;
  problem: string;
}

/** The segments found, their records in write order, and the torn tail of the last one. */
export interface ReadSegmentsResult {
  segments: SegmentInfo[];
  records: Iterable<LogRecord>;
  tornTail: TornTail | null;
}

/**
 * Reads segments in sequence order, changing nothing. A bad record in the
 * last segment that no valid record follows is what a crash during a write
 * leaves (a torn tail), and is reported for the caller to cut. A bad record
 * that valid records follow, or one in an earlier segment (later segments
 * build on its records), was written whole and then damaged: cutting there
 * would silently drop fsync'd entries and votes.
 * @throws {LogCorruptionError} naming the file and byte offset of such damage.
 * @throws {Error} when a segment is missing.
 */
export async function readSegments(
  dir: string,
  options: { fs: FileSystem; sequences: readonly number[] },
): Promise<ReadSegmentsResult> {
  const { fs, sequences } = options;
  assertConsecutive(sequences);
  const segments: SegmentInfo[] = [];
  const recordLists: LogRecord[][] = [];
  let tornTail: TornTail | null = null;
  for (const [position, sequence] of sequences.entries()) {
    const name = segmentFileName(sequence);
    const bytes = await fs.readFile(join(dir, name));
    const decoded = decodeSegment(name, bytes);
    if (decoded.problem !== null) {
      const offset = decoded.validBytes;
      const isLast = position === sequences.length - 1;
      const next = findNextRecord(bytes, offset);
      if (!isLast) {
        throw new LogCorruptionError({
          dir,
          file: name,
          offset,
          problem: `${decoded.problem}; the segments after it depend on it`,
        });
      }
      if (next !== null) {
        throw new LogCorruptionError({
          dir,
          file: name,
          offset,
          problem: `${decoded.problem}; a valid record follows at byte ${next}, so this is ` +
            `damage to records written whole, not a torn write`,
        });
      }
      tornTail = {
        name,
        validBytes: offset,
        byteLength: bytes.length - offset,
        problem: decoded.problem,
      };
    }
    segments.push(describeSegment(sequence, decoded.records, decoded.validBytes));
    recordLists.push(decoded.records);
  }
  return { segments, records: recordLists.flat(), tornTail };
}

/** Cuts a torn tail off its segment, durably. */
export async function cutTornTail(fs: FileSystem, dir: string, tail: TornTail): Promise<void> {
  const file = await fs.open(join(dir, tail.name), { write: true });
  try {
    await file.truncate(tail.validBytes);
    await file.syncData();
  } finally {
    file.close();
  }
}

function decodeSegment(name: string, bytes: Uint8Array): ReturnType<typeof decodeRecords> {
  try {
    return decodeRecords(bytes);
  } catch (error) {
    throw new Error(`segment ${name}: ${(error as Error).message}`, { cause: error });
  }
}

function assertConsecutive(sequences: readonly number[]): void {
  for (let i = 1; i < sequences.length; i++) {
    if (sequences[i] !== sequences[i - 1] + 1) {
      throw new Error(
        `segment ${segmentFileName(sequences[i - 1] + 1)} is missing ` +
          `(found ${segmentFileName(sequences[i - 1])} and ${segmentFileName(sequences[i])})`,
      );
    }
  }
}

function describeSegment(
  sequence: number,
  records: readonly LogRecord[],
  byteLength: number,
): SegmentInfo {
  const segment: SegmentInfo = {
    sequence,
    name: segmentFileName(sequence),
    byteLength,
    minIndex: null,
    maxIndex: null,
  };
  for (const record of records) {
    if (record.type !== "entry") continue;
    widenIndexRange(segment, { minIndex: record.entry.index, maxIndex: record.entry.index });
  }
  return segment;
}
