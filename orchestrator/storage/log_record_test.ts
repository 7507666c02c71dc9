// Proves that the record codec round-trips records, stops at every kind of torn or corrupt tail reporting the valid prefix, and finds the next valid record after damage.
import assert from "node:assert/strict";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { encodeChecksumFrame } from "./_checksum_frame.ts";
import {
  decodeRecords,
  encodeRecord,
  encodeRecords,
  findNextRecord,
  type LogRecord,
} from "./log_record.ts";
import { makeEntries } from "./_log_storage_contract_test.ts";

const RECORDS: LogRecord[] = [
  { type: "hardState", hardState: { term: 0, votedFor: null } },
  ...makeEntries(1, 3).map((entry): LogRecord => ({ type: "entry", entry })),
  { type: "truncate", afterIndex: 2 },
  { type: "hardState", hardState: { term: 2, votedFor: "nó-ç" } },
  { type: "truncate", afterIndex: 0 },
];

function encodeAll(records: readonly LogRecord[]): { bytes: Uint8Array; ends: number[] } {
  const parts = records.map(encodeRecord);
  const ends: number[] = [];
  let end = 0;
  for (const part of parts) ends.push(end += part.length);
  return { bytes: concatBytes(parts), ends };
}

function header(length: number, crc: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setUint32(0, length);
  new DataView(bytes.buffer).setUint32(4, crc);
  return bytes;
}

Deno.test("decodeRecords() round-trips what encodeRecord() wrote", () => {
  const { bytes } = encodeAll(RECORDS);
  assert.deepStrictEqual(decodeRecords(bytes), {
    records: RECORDS,
    validBytes: bytes.length,
    problem: null,
  });
});

Deno.test("decodeRecords() of every prefix yields the whole records before the cut", () => {
  const { bytes, ends } = encodeAll(RECORDS);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const whole = ends.filter((end) => end <= cut).length;
    const decoded = decodeRecords(bytes.subarray(0, cut));
    assert.deepStrictEqual(decoded.records, RECORDS.slice(0, whole), `cut at ${cut}`);
    assert.equal(decoded.validBytes, whole === 0 ? 0 : ends[whole - 1], `cut at ${cut}`);
    assert.equal(decoded.problem === null, decoded.validBytes === cut, `cut at ${cut}`);
  }
});

Deno.test("decodeRecords() stops at a flipped bit and names the offset", () => {
  const { bytes, ends } = encodeAll(RECORDS);
  bytes[ends[1] + 12] ^= 0x04;
  const decoded = decodeRecords(bytes);
  assert.equal(decoded.records.length, 2);
  assert.equal(decoded.validBytes, ends[1]);
  assert.match(decoded.problem ?? "", new RegExp(`^checksum mismatch at byte ${ends[1]} `));
});

Deno.test("decodeRecords() treats an absurd length as corruption, not as a record to wait for", () => {
  const { bytes, ends } = encodeAll(RECORDS.slice(0, 1));
  const decoded = decodeRecords(concatBytes([bytes, header(0xffff_fff0, 0), new Uint8Array(32)]));
  assert.equal(decoded.validBytes, ends[0]);
  assert.match(decoded.problem ?? "", /announces 4294967280 bytes, above the 67108864-byte limit/);
});

Deno.test("decodeRecords() treats a zero-filled tail as torn", () => {
  const { bytes } = encodeAll(RECORDS);
  const decoded = decodeRecords(concatBytes([bytes, new Uint8Array(100)]));
  assert.equal(decoded.validBytes, bytes.length);
  assert.match(decoded.problem ?? "", /zero-length frame/);
});

Deno.test("decodeRecords() throws on a checksum-valid record that is not a record", () => {
  const { bytes } = encodeAll(RECORDS.slice(0, 1));
  const bogus = encodeChecksumFrame(new TextEncoder().encode('{"type":"vote"}'), 1024);
  assert.throws(
    () => decodeRecords(concatBytes([bytes, bogus])),
    (error: Error) =>
      error instanceof SyntaxError &&
      error.message ===
        `Cannot decode log record at byte ${bytes.length}: unknown record type "vote"`,
  );
  const badIndex = encodeChecksumFrame(
    new TextEncoder().encode('{"type":"entry","entry":{"index":0,"term":1,"command":{}}}'),
    1024,
  );
  assert.throws(() => decodeRecords(badIndex), /entry\.index must be an integer >= 1, got 0/);
  for (
    const [json, message] of [
      ['{"type":"truncate","afterIndex":-1}', /afterIndex must be an integer >= 0, got -1/],
      ['{"type":"truncate","afterIndex":"3"}', /afterIndex must be an integer >= 0, got "3"/],
      ['{"type":"truncate"}', /afterIndex must be an integer >= 0, got undefined/],
    ] as const
  ) {
    const frame = encodeChecksumFrame(new TextEncoder().encode(json), 1024);
    assert.throws(() => decodeRecords(frame), message, json);
  }
});

Deno.test("decodeRecords() parsing records in runs still names a bad record among thousands", () => {
  const entries = makeEntries(1, 5000).map((entry): LogRecord => ({ type: "entry", entry }));
  const good = encodeRecords(entries);
  assert.deepEqual(decodeRecords(good).records, entries);
  const frame = (json: string) => encodeChecksumFrame(new TextEncoder().encode(json), 1024);
  for (
    const [json, message] of [
      // Not JSON alone, but two values joined with the others: must not pass as two records.
      ['{"type":"truncate","afterIndex":1},{"type":"truncate","afterIndex":2}', /Unexpected/],
      ['{"type":"truncate","afterIndex":1', /Unexpected|JSON/],
      ['{"type":"truncate","afterIndex":-1}', /afterIndex must be an integer >= 0, got -1/],
    ] as const
  ) {
    const bytes = concatBytes([good, frame(json), good]);
    assert.throws(
      () => decodeRecords(bytes),
      (error: Error) =>
        error instanceof SyntaxError && message.test(error.message) &&
        error.message.startsWith(`Cannot decode log record at byte ${good.length}:`),
      json,
    );
  }
});

Deno.test("encodeChecksumFrame() refuses a payload above its limit", () => {
  assert.throws(
    () => encodeChecksumFrame(new Uint8Array(11), 10),
    (error: Error) =>
      error instanceof RangeError &&
      error.message === "Cannot encode frame: payload of 11 bytes exceeds the 10-byte limit",
  );
});

Deno.test("every encoded record starts its payload with the prefix findNextRecord() looks for", () => {
  const prefix = new TextEncoder().encode('{"type":');
  for (const record of RECORDS) {
    assert.deepEqual(encodeRecord(record).subarray(8, 8 + prefix.length), prefix);
  }
});

Deno.test("findNextRecord() finds the first whole record after a damaged one", () => {
  const { bytes, ends } = encodeAll(RECORDS);
  bytes[ends[0] + 12] ^= 0x04; // a bit flip inside the second record's payload
  const decoded = decodeRecords(bytes);
  assert.equal(decoded.validBytes, ends[0]);
  assert.equal(findNextRecord(bytes, decoded.validBytes), ends[1]);
});

Deno.test("findNextRecord() finds nothing in a torn tail, zeros or garbage", () => {
  const { bytes, ends } = encodeAll(RECORDS);
  const torn = bytes.slice(0, ends.at(-1)! - 3);
  assert.equal(findNextRecord(torn, ends.at(-2)!), null);
  const zeros = concatBytes([bytes, new Uint8Array(4096)]);
  assert.equal(findNextRecord(zeros, bytes.length), null);
  const garbage = new TextEncoder().encode('\0\0\0\x05abcd{"type":"entry"}{"type":');
  assert.equal(findNextRecord(concatBytes([bytes, garbage]), bytes.length), null);
});

Deno.test("findNextRecord() skips a frame whose checksum matches but which is no record", () => {
  const { bytes } = encodeAll(RECORDS.slice(0, 2));
  const fake = encodeChecksumFrame(new TextEncoder().encode('{"type":"unknown"}'), 100);
  const damaged = concatBytes([new Uint8Array([1, 2, 3]), fake, bytes]);
  assert.equal(findNextRecord(damaged, 0), 3 + fake.length);
});

Deno.test("encodeRecords writes an entry record as JSON.stringify would, its entry's text computed once", () => {
  const entry = { index: 3, term: 1, command: { type: "noop" as const, atMs: 9 } };
  const records = [
    { type: "entry" as const, entry },
    { type: "truncate" as const, afterIndex: 2 },
  ];
  const expected = concatBytes(
    records.map((r) => encodeChecksumFrame(new TextEncoder().encode(JSON.stringify(r)), 1 << 20)),
  );
  assert.deepEqual(encodeRecords(records), expected);
  assert.deepEqual(decodeRecords(encodeRecords(records)).records, records);
});
