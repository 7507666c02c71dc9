/**
 * The write-ahead log's record codec. A record is a checksummed frame
 * (`[u32 BE length][u32 BE crc32(payload)][payload]`) whose payload is the
 * UTF-8 JSON of a {@link LogRecord}. Pure: no I/O.
 * @module
 */
import { takeEntryJson } from "../../shared/protocol/entry_json.ts";
import type { Command, LogEntry } from "../tasks/mod.ts";
import {
  CHECKSUM_FRAME_HEADER_BYTES,
  encodeTextFrames,
  readChecksumFrame,
} from "./_checksum_frame.ts";
import type { HardState } from "./log_storage.ts";

/**
 * Largest record payload accepted. A header announcing more is corruption: no
 * command comes near it, and trusting it would make recovery allocate garbage sizes.
 */
export const RECORD_PAYLOAD_BYTES_MAX = 64 * 1024 * 1024;

/**
 * One record of the write-ahead log, in write order. A `truncate` record
 * removes every entry after `afterIndex` (see `LogStorage.truncateAfter`).
 */
export type LogRecord =
  | { type: "entry"; entry: LogEntry }
  | { type: "hardState"; hardState: HardState }
  | { type: "truncate"; afterIndex: number };

/** The outcome of decoding a run of records. */
export interface DecodedRecords {
  records: LogRecord[];
  /** Length of the prefix made of whole, valid records. */
  validBytes: number;
  /** Why decoding stopped before the end (a torn or corrupt tail), or null. */
  problem: string | null;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * How every record's payload starts: `JSON.stringify` writes keys in insertion
 * order, and every record is built with `type` first. {@link findNextRecord}
 * relies on it to skip almost every byte without computing a checksum.
 */
const RECORD_PAYLOAD_PREFIX = new TextEncoder().encode('{"type":');

/**
 * Encodes one record as a frame.
 * @throws {RangeError} when its JSON exceeds {@link RECORD_PAYLOAD_BYTES_MAX}.
 */
export function encodeRecord(record: LogRecord): Uint8Array {
  return encodeRecords([record]);
}

/**
 * Encodes records as consecutive frames in one buffer (the bytes are the
 * concatenation of their {@link encodeRecord} encodings, built faster).
 * @throws {RangeError} when a record's JSON exceeds {@link RECORD_PAYLOAD_BYTES_MAX}.
 */
export function encodeRecords(records: readonly LogRecord[]): Uint8Array {
  return encodeTextFrames(
    // An entry record's JSON, with the entry's text computed once (entry_json.ts): the same
    // bytes JSON.stringify(record) writes, as the record is built with `type` first.
    records.map((record) =>
      record.type === "entry"
        ? `{"type":"entry","entry":${takeEntryJson(record.entry)}}`
        : JSON.stringify(record)
    ),
    RECORD_PAYLOAD_BYTES_MAX,
  );
}

/**
 * Decodes records until the end of `bytes` or the first incomplete or
 * checksum-failing record, and reports how many leading bytes were valid.
 * @throws {SyntaxError} when a record passes its checksum but is not a valid
 * record: that is a bug or an unknown format, never a torn write, so it must
 * not be cut off as one.
 * @example
 * const { records, validBytes, problem } = decodeRecords(await Deno.readFile(path));
 */
export function decodeRecords(bytes: Uint8Array): DecodedRecords {
  const payloads: Uint8Array[] = [];
  const offsets: number[] = [];
  let offset = 0;
  let problem: string | null = null;
  while (offset < bytes.length) {
    const frame = readChecksumFrame(bytes, { offset, payloadBytesMax: RECORD_PAYLOAD_BYTES_MAX });
    if (!frame.ok) {
      problem = frame.problem;
      break;
    }
    payloads.push(frame.payload);
    offsets.push(offset);
    offset = frame.end;
  }
  const records: LogRecord[] = [];
  for (let from = 0; from < payloads.length; from += RECORDS_PER_PARSE) {
    const to = Math.min(payloads.length, from + RECORDS_PER_PARSE);
    parseRecordRun(payloads.slice(from, to), offsets.slice(from, to), records);
  }
  return { records, validBytes: offset, problem };
}

/** Records parsed by one JSON.parse during recovery (one text of at most a few megabytes). */
const RECORDS_PER_PARSE = 4096;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;

/**
 * Parses a run of checksummed payloads as one JSON array (a restart parses every record of the
 * log tail, and one decode and one JSON.parse per record cost more than the parsing itself).
 * Joined, payloads could merge into other values; every payload this codec writes is one object
 * starting with RECORD_PAYLOAD_PREFIX, so a run whose payloads do not all look like that, or
 * that does not parse into one value per payload, is parsed record by record instead, which
 * names the bad record.
 */
function parseRecordRun(payloads: Uint8Array[], offsets: number[], into: LogRecord[]): void {
  let total = 2;
  for (const payload of payloads) {
    if (!hasPrefixAt(payload, 0) || payload[payload.length - 1] !== CLOSE_BRACE) {
      return parseEachRecord(payloads, offsets, into);
    }
    total += payload.length + 1;
  }
  const joined = new Uint8Array(total);
  joined[0] = 0x5b; // [
  let at = 1;
  for (const payload of payloads) {
    joined.set(payload, at);
    at += payload.length;
    joined[at++] = COMMA;
  }
  joined[at - 1] = 0x5d; // ] in place of the last comma
  let values: unknown;
  try {
    values = JSON.parse(decoder.decode(joined.subarray(0, at)));
  } catch {
    return parseEachRecord(payloads, offsets, into); // names the record that does not parse
  }
  if (!Array.isArray(values) || values.length !== payloads.length) {
    return parseEachRecord(payloads, offsets, into);
  }
  for (let i = 0; i < values.length; i++) {
    try {
      into.push(parseRecord(values[i]));
    } catch (error) {
      throw recordError(error, offsets[i]);
    }
  }
}

function parseEachRecord(payloads: Uint8Array[], offsets: number[], into: LogRecord[]): void {
  for (let i = 0; i < payloads.length; i++) into.push(parseRecordAt(payloads[i], offsets[i]));
}

/**
 * Finds the first valid record (a sane length, a matching checksum, and a
 * payload that parses as a record) starting anywhere after byte `offset`:
 * where decoding stopped. None means the damage is a torn tail, which is all
 * a crash during a write can leave; one means something overwrote records
 * that were written whole, and cutting there would drop every record after it
 * ("Protocol-Aware Recovery for Consensus-Based Storage", FAST 2018).
 * @returns the record's offset, or null when no valid record follows.
 * @example
 * const { validBytes, problem } = decodeRecords(bytes);
 * const isTornTail = problem !== null && findNextRecord(bytes, validBytes) === null;
 */
export function findNextRecord(bytes: Uint8Array, offset: number): number | null {
  const first = RECORD_PAYLOAD_PREFIX[0];
  let from = offset + 1 + CHECKSUM_FRAME_HEADER_BYTES;
  for (;;) {
    const payloadStart = bytes.indexOf(first, from);
    if (payloadStart < 0) return null;
    const start = payloadStart - CHECKSUM_FRAME_HEADER_BYTES;
    if (hasPrefixAt(bytes, payloadStart) && isRecordAt(bytes, start)) return start;
    from = payloadStart + 1;
  }
}

function hasPrefixAt(bytes: Uint8Array, at: number): boolean {
  if (at + RECORD_PAYLOAD_PREFIX.length > bytes.length) return false;
  for (let i = 0; i < RECORD_PAYLOAD_PREFIX.length; i++) {
    if (bytes[at + i] !== RECORD_PAYLOAD_PREFIX[i]) return false;
  }
  return true;
}

function isRecordAt(bytes: Uint8Array, start: number): boolean {
  const frame = readChecksumFrame(bytes, {
    offset: start,
    payloadBytesMax: RECORD_PAYLOAD_BYTES_MAX,
  });
  if (!frame.ok) return false;
  try {
    parseRecordAt(frame.payload, start);
    return true;
  } catch (error) {
    // A frame with a matching checksum that is no record is not evidence of one: keep scanning.
    if (error instanceof SyntaxError) return false;
    throw error;
  }
}

function parseRecordAt(payload: Uint8Array, offset: number): LogRecord {
  try {
    return parseRecord(JSON.parse(decoder.decode(payload)));
  } catch (error) {
    throw recordError(error, offset);
  }
}

function recordError(error: unknown, offset: number): SyntaxError {
  return new SyntaxError(
    `Cannot decode log record at byte ${offset}: ${(error as Error).message}`,
    { cause: error },
  );
}

function parseRecord(value: unknown): LogRecord {
  if (!isObject(value)) throw new SyntaxError("record is not a JSON object");
  switch (value.type) {
    case "entry":
      return { type: "entry", entry: parseEntry(value.entry) };
    case "hardState":
      return { type: "hardState", hardState: parseHardState(value.hardState) };
    case "truncate":
      return { type: "truncate", afterIndex: requireInteger(value.afterIndex, "afterIndex", 0) };
    default:
      throw new SyntaxError(`unknown record type ${JSON.stringify(value.type)}`);
  }
}

function parseEntry(value: unknown): LogEntry {
  if (!isObject(value)) throw new SyntaxError("entry is not a JSON object");
  const index = requireInteger(value.index, "entry.index", 1);
  const term = requireInteger(value.term, "entry.term", 1);
  if (!isObject(value.command)) throw new SyntaxError("entry.command is not a JSON object");
  // The command is opaque to storage: the state machine validates what it applies.
  return { index, term, command: value.command as unknown as Command };
}

function parseHardState(value: unknown): HardState {
  if (!isObject(value)) throw new SyntaxError("hardState is not a JSON object");
  const term = requireInteger(value.term, "hardState.term", 0);
  const votedFor = value.votedFor;
  if (votedFor !== null && typeof votedFor !== "string") {
    throw new SyntaxError(`hardState.votedFor must be a string or null, got ${typeof votedFor}`);
  }
  if (value.rejoining !== undefined && typeof value.rejoining !== "boolean") {
    throw new SyntaxError(`hardState.rejoining must be a boolean, got ${typeof value.rejoining}`);
  }
  return value.rejoining === true ? { term, votedFor, rejoining: true } : { term, votedFor };
}

function requireInteger(value: unknown, field: string, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new SyntaxError(`${field} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
