/**
 * Reading the write-ahead log's segment files at recovery: decode each one,
 * cut a torn tail off the last, and refuse corruption anywhere else.
 * @module
 */
import { join } from "node:path";
import { segmentFileName } from "./_file_names.ts";
import { type IndexRange, widenIndexRange } from "./_index_range.ts";
import { decodeRecords, type LogRecord } from "./log_record.ts";

/** What the storage tracks about one segment file. */
export interface SegmentInfo extends IndexRange {
  sequence: number;
  name: string;
  /** Bytes of whole records in the file. The index range spans every entry ever written to it. */
  byteLength: number;
}

/** The segments found, their records in write order, and the bytes cut off the last one. */
export interface ReadSegmentsResult {
  segments: SegmentInfo[];
  records: Iterable<LogRecord>;
  repairedBytes: number;
}

/**
 * Reads segments in sequence order. A torn or checksum-failing tail in the
 * last segment is what a crash during a write leaves: it is cut off the file
 * (and reported through `onWarning`). The same in an earlier segment is real
 * corruption, because later segments build on its records.
 * @throws {Error} naming the file and byte offset of corruption in an earlier segment, or a missing segment.
 */
export async function readSegments(
  dir: string,
  options: { sequences: readonly number[]; onWarning: (message: string) => void },
): Promise<ReadSegmentsResult> {
  const { sequences, onWarning } = options;
  assertConsecutive(sequences);
  const segments: SegmentInfo[] = [];
  const recordLists: LogRecord[][] = [];
  let repairedBytes = 0;
  for (const [position, sequence] of sequences.entries()) {
    const name = segmentFileName(sequence);
    const bytes = await Deno.readFile(join(dir, name));
    const decoded = decodeSegment(name, bytes);
    if (decoded.problem !== null) {
      if (position < sequences.length - 1) {
        throw new Error(
          `segment ${name} is corrupt at byte ${decoded.validBytes} (${decoded.problem}), ` +
            `and the segments after it depend on it`,
        );
      }
      repairedBytes = bytes.length - decoded.validBytes;
      await truncateFile(join(dir, name), decoded.validBytes);
      onWarning(
        `Cut a torn tail of ${repairedBytes} bytes off ${name} in ${dir} ` +
          `at byte ${decoded.validBytes} (${decoded.problem})`,
      );
    }
    segments.push(describeSegment(sequence, decoded.records, decoded.validBytes));
    recordLists.push(decoded.records);
  }
  return { segments, records: recordLists.flat(), repairedBytes };
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

async function truncateFile(path: string, byteLength: number): Promise<void> {
  const file = await Deno.open(path, { write: true });
  try {
    await file.truncate(byteLength);
    await file.syncData();
  } finally {
    file.close();
  }
}
