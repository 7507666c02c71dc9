// Proves that the file storage meets the storage contract and survives what disks do: torn tails, corrupt segments and snapshots, and segment turnover, with or without truncations.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  defineLogStorageContract,
  type LogStorageFactory,
  makeEntries,
} from "./_log_storage_contract_test.ts";
import { type FileLogStorageOptions, openFileLogStorage } from "./file_log_storage.ts";
import type { OpenedLogStorage } from "./log_storage.ts";
import type { SnapshotSource } from "./snapshot_source.ts";
import { LogCorruptionError } from "./log_corruption_error.ts";
import { encodeChecksumFrame } from "./_checksum_frame.ts";

/** Fails the test on any warning: the contract's cases never damage the files. */
function failOnWarning(message: string): never {
  throw new Error(`Unexpected warning: ${message}`);
}

function fileFactory(options: FileLogStorageOptions): LogStorageFactory {
  return async () => {
    const root = await Deno.makeTempDir({ prefix: "mutirao_log_" });
    return {
      open: () => openFileLogStorage(join(root, "log"), { onWarning: failOnWarning, ...options }),
      dispose: () => Deno.remove(root, { recursive: true }),
    };
  };
}

defineLogStorageContract("FileLogStorage", fileFactory({}));
// Tiny segments make every case roll segments and delete them after snapshots.
defineLogStorageContract(
  "FileLogStorage with 300-byte segments",
  fileFactory({ segmentBytes: 300 }),
);

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "mutirao_log_" });
  try {
    await body(join(root, "log"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function open(
  dir: string,
  options: FileLogStorageOptions & { warnings?: string[] } = {},
): Promise<OpenedLogStorage> {
  const warnings = options.warnings;
  return await openFileLogStorage(dir, {
    segmentBytes: options.segmentBytes,
    onWarning: warnings ? (message) => warnings.push(message) : failOnWarning,
  });
}

async function listNames(dir: string, pattern: RegExp): Promise<string[]> {
  const names: string[] = [];
  for await (const item of Deno.readDir(dir)) {
    if (pattern.test(item.name)) names.push(item.name);
  }
  return names.sort();
}

/** Writes entries `1..count`, one sync each, and closes the store. */
async function writeEntries(dir: string, count: number, segmentBytes?: number): Promise<void> {
  const { storage } = await open(dir, { segmentBytes });
  for (let index = 1; index <= count; index++) {
    storage.append(makeEntries(index, 1));
    await storage.sync();
  }
  await storage.close();
}

Deno.test("openFileLogStorage() cuts garbage after the last record and counts it", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 3);
    const garbage = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 7]);
    const segment = join(dir, "wal-00000001.log");
    const sizeBefore = (await Deno.stat(segment)).size;
    await Deno.writeFile(segment, garbage, { append: true });
    const warnings: string[] = [];
    const { storage, recovered } = await open(dir, { warnings });
    assert.deepStrictEqual(recovered.entries, makeEntries(1, 3));
    assert.equal(recovered.repairedBytes, garbage.length);
    assert.equal((await Deno.stat(segment)).size, sizeBefore);
    assert.match(warnings.join("\n"), /Cut a torn tail of 11 bytes off wal-00000001\.log/);
    await storage.close();
  });
});

Deno.test("openFileLogStorage() drops a partially written last record", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 3);
    const segment = join(dir, "wal-00000001.log");
    await Deno.truncate(segment, (await Deno.stat(segment)).size - 4);
    const { storage, recovered } = await open(dir, { warnings: [] });
    assert.deepStrictEqual(recovered.entries, makeEntries(1, 2));
    assert.ok(recovered.repairedBytes > 0);
    // The log continues where the repair left it.
    storage.append(makeEntries(3, 1, 2));
    await storage.sync();
    const reopened = await reopen(dir, storage);
    assert.deepStrictEqual(reopened.recovered.entries, [
      ...makeEntries(1, 2),
      ...makeEntries(3, 1, 2),
    ]);
    assert.equal(reopened.recovered.repairedBytes, 0);
    await reopened.storage.close();
  });
});

Deno.test("openFileLogStorage() cuts a zero-filled tail (size grew before the data landed)", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 2);
    await Deno.writeFile(join(dir, "wal-00000001.log"), new Uint8Array(4096), { append: true });
    const { storage, recovered } = await open(dir, { warnings: [] });
    assert.deepStrictEqual(recovered.entries, makeEntries(1, 2));
    assert.equal(recovered.repairedBytes, 4096);
    await storage.close();
  });
});

/** Bytes of each whole file in `dir`, to prove recovery left them as they were. */
async function readAll(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of await listNames(dir, /./)) {
    files.set(name, await Deno.readFile(join(dir, name)));
  }
  return files;
}

/** Offsets where each record of `bytes` ends. */
function recordEnds(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  for (let offset = 0; offset < bytes.length;) {
    offset += 8 + new DataView(bytes.buffer, bytes.byteOffset + offset).getUint32(0);
    ends.push(offset);
  }
  return ends;
}

Deno.test("openFileLogStorage() refuses a bit flip in an early record of the active segment, changing no file", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await open(dir);
    for (let index = 1; index <= 10; index++) {
      storage.append(makeEntries(index, 1, 3));
      await storage.sync();
    }
    storage.setHardState({ term: 3, votedFor: "n2" }); // the latest vote, in the last record
    await storage.sync();
    await storage.close();
    const segment = join(dir, "wal-00000001.log");
    const bytes = await Deno.readFile(segment);
    const ends = recordEnds(bytes);
    const damagedAt = ends[1]; // the second entry's record
    bytes[damagedAt + 20] ^= 0x10;
    await Deno.writeFile(segment, bytes);
    const before = await readAll(dir);
    await assert.rejects(open(dir, { warnings: [] }), (error: Error) => {
      assert.ok(error instanceof LogCorruptionError, `got ${error}`);
      assert.equal(error.path, segment);
      assert.equal(error.offset, damagedAt);
      assert.match(error.message, new RegExp(`wal-00000001\\.log is corrupt at byte ${damagedAt}`));
      assert.match(error.message, /checksum mismatch/);
      assert.match(error.message, new RegExp(`a valid record follows at byte ${ends[2]}`));
      assert.match(error.message, /move this data directory aside .* --rejoin$/);
      return true;
    });
    assert.deepStrictEqual(await readAll(dir), before, "recovery must not touch the evidence");
  });
});

Deno.test("openFileLogStorage() refusing damage leaves an unfinished snapshot in place too", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 12);
    const segment = join(dir, "wal-00000001.log");
    const bytes = await Deno.readFile(segment);
    const ends = recordEnds(bytes);
    bytes[ends[1] + 20] ^= 0x10;
    await Deno.writeFile(segment, bytes);
    // A crash during a snapshot save left its temp file (soak seeds 53344, 54088).
    await Deno.writeTextFile(join(dir, "snapshot-00000000000000000040-1.snap.tmp"), "partial");
    const before = await readAll(dir);
    await assert.rejects(open(dir, { warnings: [] }), LogCorruptionError);
    assert.deepStrictEqual(await readAll(dir), before, "recovery must not touch the evidence");
  });
});

Deno.test("openFileLogStorage() refuses zeros over records in the middle of the active segment", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 12);
    const segment = join(dir, "wal-00000001.log");
    const bytes = await Deno.readFile(segment);
    const ends = recordEnds(bytes);
    bytes.fill(0, ends[2], ends[5]); // a lost sector write over synced records
    await Deno.writeFile(segment, bytes);
    await assert.rejects(open(dir, { warnings: [] }), LogCorruptionError);
  });
});

Deno.test("openFileLogStorage() cuts a last record whose checksum fails (no valid record follows)", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 4);
    const segment = join(dir, "wal-00000001.log");
    const bytes = await Deno.readFile(segment);
    bytes[bytes.length - 2] ^= 0xff;
    await Deno.writeFile(segment, bytes);
    const warnings: string[] = [];
    const { storage, recovered } = await open(dir, { warnings });
    assert.deepStrictEqual(recovered.entries, makeEntries(1, 3));
    assert.match(warnings.join("\n"), /Cut a torn tail .* no valid record follows it/);
    await storage.close();
  });
});

Deno.test("openFileLogStorage() refuses a corrupt earlier segment, naming file and offset", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 20, 200);
    const segments = await listNames(dir, /^wal-/);
    assert.ok(segments.length >= 3, `expected several segments, got ${segments}`);
    const first = join(dir, segments[0]);
    const bytes = await Deno.readFile(first);
    bytes[bytes.length - 3] ^= 0xff;
    await Deno.writeFile(first, bytes);
    await assert.rejects(
      open(dir, { segmentBytes: 200, warnings: [] }),
      (error: Error) => {
        assert.ok(error instanceof LogCorruptionError);
        assert.match(error.message, /^Cannot open log storage in .*: wal-00000001\.log is corrupt/);
        assert.match(error.message, /at byte \d+ \(checksum mismatch at byte \d+/);
        assert.match(error.message, /the segments after it depend on it/);
        return true;
      },
    );
  });
});

Deno.test("openFileLogStorage() refuses a log with a missing segment", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 20, 200);
    await Deno.remove(join(dir, "wal-00000002.log"));
    await assert.rejects(open(dir, { segmentBytes: 200 }), /segment wal-00000002\.log is missing/);
  });
});

Deno.test("openFileLogStorage() refuses as corrupt a log whose valid records leave a gap (a misdirected write)", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 20, 200);
    // Whole, checksummed records from elsewhere over a segment: only the indexes tell.
    const third = await Deno.readFile(join(dir, "wal-00000003.log"));
    await Deno.writeFile(join(dir, "wal-00000002.log"), third);
    await assert.rejects(
      open(dir, { segmentBytes: 200, warnings: [] }),
      (error: Error) => {
        assert.ok(error instanceof LogCorruptionError, String(error));
        assert.match(error.message, /entries are missing from the log, which no crash explains/);
        assert.match(error.message, /--rejoin/);
        return true;
      },
    );
  });
});

Deno.test("FileLogStorage rolls segments and deletes those the oldest kept snapshot covers", async () => {
  await withTempDir(async (dir) => {
    const segmentBytes = 200;
    const { storage } = await open(dir, { segmentBytes });
    storage.setHardState({ term: 4, votedFor: "n2" });
    for (let index = 1; index <= 30; index++) {
      storage.append(makeEntries(index, 1, 4));
      await storage.sync();
    }
    const rolled = await listNames(dir, /^wal-/);
    assert.ok(rolled.length >= 5, `expected segments to roll, got ${rolled}`);

    await storage.saveSnapshot({ index: 25, term: 4, data: new Uint8Array([25]) });
    // With one snapshot kept, it is the oldest: segments it covers go.
    const afterFirst = await listNames(dir, /^wal-/);
    assert.ok(afterFirst.length < rolled.length, `nothing deleted: ${afterFirst}`);
    assert.equal(afterFirst.at(-1), rolled.at(-1), "the active segment must stay");

    await storage.saveSnapshot({ index: 28, term: 4, data: new Uint8Array([28]) });
    await storage.saveSnapshot({ index: 30, term: 4, data: new Uint8Array([30]) });
    assert.deepStrictEqual(await listNames(dir, /^snapshot-/), [
      "snapshot-00000000000000000028-4.snap",
      "snapshot-00000000000000000030-4.snap",
    ]);

    const reopened = await reopen(dir, storage, segmentBytes);
    // The hard state was set once, in a segment long deleted: segment headers kept it.
    assert.deepStrictEqual(reopened.recovered.hardState, { term: 4, votedFor: "n2" });
    assert.equal(reopened.recovered.snapshot?.index, 30);
    assert.deepStrictEqual(reopened.recovered.entries, []);
    await reopened.storage.close();
  });
});

Deno.test("openFileLogStorage() falls back to the older snapshot when the newest is corrupt", async () => {
  await withTempDir(async (dir) => {
    const segmentBytes = 200;
    const { storage } = await open(dir, { segmentBytes });
    for (let index = 1; index <= 30; index++) {
      storage.append(makeEntries(index, 1));
      await storage.sync();
      if (index === 20) {
        await storage.saveSnapshot({ index: 8, term: 1, data: new Uint8Array([8]) });
      }
    }
    await storage.saveSnapshot({ index: 24, term: 1, data: new Uint8Array([24]) });
    await storage.close();

    const newest = join(dir, "snapshot-00000000000000000024-1.snap");
    const bytes = await Deno.readFile(newest);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(newest, bytes);

    const warnings: string[] = [];
    const reopened = await open(dir, { segmentBytes, warnings });
    assert.deepStrictEqual(reopened.recovered.snapshot, {
      index: 8,
      term: 1,
      data: new Uint8Array([8]),
    });
    // Segments are kept down to the oldest snapshot, so every entry after it is still there.
    assert.deepStrictEqual(reopened.recovered.entries, makeEntries(9, 22));
    assert.match(
      warnings.join("\n"),
      /Skipped corrupt snapshot snapshot-00000000000000000024-1\.snap .* left it in place/,
    );
    // The corrupt file stays as it was: it is evidence.
    assert.deepStrictEqual(await Deno.readFile(newest), bytes);
    await reopened.storage.close();
  });
});

Deno.test("openFileLogStorage() refuses a corrupt snapshot that the older one and the log do not replace", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await open(dir);
    storage.append(makeEntries(1, 5));
    await storage.sync();
    await storage.saveSnapshot({ index: 3, term: 1, data: new Uint8Array([3]) });
    // Installed from a leader, beyond the log's end: no entry in the log reaches it.
    await storage.saveSnapshot({ index: 20, term: 2, data: new Uint8Array([20]) });
    await storage.close();
    const newest = join(dir, "snapshot-00000000000000000020-2.snap");
    const bytes = await Deno.readFile(newest);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(newest, bytes);
    const before = await readAll(dir);
    await assert.rejects(open(dir, { warnings: [] }), (error: Error) => {
      assert.ok(error instanceof LogCorruptionError, `got ${error}`);
      assert.match(error.message, /snapshot-00000000000000000020-2\.snap is corrupt at byte 0/);
      assert.match(error.message, /entry 20 of term 2 is missing/);
      assert.match(error.message, /--rejoin$/);
      return true;
    });
    assert.deepStrictEqual(await readAll(dir), before, "recovery must not touch the evidence");
  });
});

Deno.test("openFileLogStorage() refuses the only snapshot when it is corrupt and the log was compacted", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 30, 200);
    const { storage } = await open(dir, { segmentBytes: 200 });
    await storage.saveSnapshot({ index: 25, term: 1, data: new Uint8Array([25]) });
    await storage.close();
    const only = join(dir, "snapshot-00000000000000000025-1.snap");
    const bytes = await Deno.readFile(only);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(only, bytes);
    await assert.rejects(
      open(dir, { segmentBytes: 200, warnings: [] }),
      /no older snapshot and the log do not replace it: log gap/,
    );
  });
});

Deno.test("openFileLogStorage() removes a snapshot a crash left unfinished", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 2);
    await Deno.writeFile(join(dir, "snapshot-00000000000000000002-1.snap.tmp"), new Uint8Array(3));
    const warnings: string[] = [];
    const { storage, recovered } = await open(dir, { warnings });
    assert.equal(recovered.snapshot, null);
    assert.deepStrictEqual(recovered.entries, makeEntries(1, 2));
    assert.deepStrictEqual(await listNames(dir, /\.tmp$/), []);
    assert.match(warnings.join("\n"), /Removed unfinished snapshot/);
    await storage.close();
  });
});

Deno.test("FileLogStorage writes records staged after saveSnapshot() only after the snapshot", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await open(dir);
    storage.append(makeEntries(1, 3));
    const first = storage.sync(); // queued, not started yet
    const snapshot = storage.saveSnapshot({ index: 10, term: 2, data: new Uint8Array([10]) });
    storage.append(makeEntries(11, 1, 2));
    const second = storage.sync();
    await first;
    // Copy the directory as a crash would leave it now, with no await in between:
    // entry 11 must not be on disk before the snapshot that covers the gap before it.
    const crashed = `${dir}-crashed`;
    Deno.mkdirSync(crashed);
    for (const item of Deno.readDirSync(dir)) {
      Deno.writeFileSync(join(crashed, item.name), Deno.readFileSync(join(dir, item.name)));
    }
    const copy = await open(crashed, { warnings: [] });
    assert.deepStrictEqual(copy.recovered.entries, makeEntries(1, 3));
    await copy.storage.close();
    await Promise.all([snapshot, second]);
    const reopened = await reopen(dir, storage);
    assert.deepStrictEqual(reopened.recovered.entries, makeEntries(11, 1, 2));
    await reopened.storage.close();
  });
});

Deno.test("FileLogStorage writes a truncation staged after saveSnapshot() only after the snapshot", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await open(dir);
    storage.append(makeEntries(1, 3));
    const first = storage.sync(); // queued, not started yet
    const snapshot = storage.saveSnapshot({ index: 10, term: 2, data: new Uint8Array([10]) });
    // Valid only because the snapshot covers 4..10: it must not reach the disk before it.
    storage.truncateAfter(10);
    const second = storage.sync();
    await first;
    const crashed = `${dir}-crashed`;
    Deno.mkdirSync(crashed);
    for (const item of Deno.readDirSync(dir)) {
      Deno.writeFileSync(join(crashed, item.name), Deno.readFileSync(join(dir, item.name)));
    }
    const copy = await open(crashed, { warnings: [] });
    assert.deepStrictEqual(copy.recovered.entries, makeEntries(1, 3));
    await copy.storage.close();
    await Promise.all([snapshot, second]);
    const reopened = await reopen(dir, storage);
    assert.equal(reopened.recovered.snapshot?.index, 10);
    assert.deepStrictEqual(reopened.recovered.entries, []);
    await reopened.storage.close();
  });
});

Deno.test("FileLogStorage keeps a truncation's effect after deleting the segments before it", async () => {
  await withTempDir(async (dir) => {
    const segmentBytes = 200;
    const { storage } = await open(dir, { segmentBytes });
    for (let index = 1; index <= 20; index++) {
      storage.append(makeEntries(index, 1));
      await storage.sync();
    }
    storage.truncateAfter(5);
    await storage.sync();
    for (let index = 6; index <= 30; index++) {
      storage.append(makeEntries(index, 1, 2));
      await storage.sync();
    }
    await storage.saveSnapshot({ index: 8, term: 2, data: new Uint8Array([8]) });
    await storage.saveSnapshot({ index: 27, term: 2, data: new Uint8Array([27]) });
    assert.ok(
      !(await listNames(dir, /^wal-/)).includes("wal-00000001.log"),
      "segments the oldest snapshot covers should be deleted",
    );
    await storage.close();

    // Corrupt the newest snapshot so recovery falls back to the older one and
    // replays from entry 9 of term 1, across the truncation back to 5.
    const newest = join(dir, "snapshot-00000000000000000027-2.snap");
    const bytes = await Deno.readFile(newest);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(newest, bytes);
    const reopened = await open(dir, { segmentBytes, warnings: [] });
    assert.equal(reopened.recovered.snapshot?.index, 8);
    assert.deepStrictEqual(reopened.recovered.entries, makeEntries(9, 22, 2));
    await reopened.storage.close();
  });
});

Deno.test("FileLogStorage refuses all work after a failed write", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await open(dir, { segmentBytes: 100 });
    storage.append(makeEntries(1, 3));
    await storage.sync();
    // The next sync must roll to wal-00000002.log; a file already there makes that fail.
    await Deno.writeFile(join(dir, "wal-00000002.log"), new Uint8Array(0));
    storage.append(makeEntries(4, 1));
    await assert.rejects(storage.sync(), /^Error: Cannot sync in .*: .*wal-00000002\.log/);
    await assert.rejects(storage.sync(), /an earlier disk operation failed/);
    await assert.rejects(
      storage.saveSnapshot({ index: 3, term: 1, data: new Uint8Array(1) }),
      /an earlier disk operation failed/,
    );
    await storage.close();
  });
});

Deno.test("openFileLogStorage() rejects a segment size that is not a positive integer", async () => {
  await assert.rejects(openFileLogStorage("/nonexistent", { segmentBytes: 0 }), RangeError);
});

async function reopen(
  dir: string,
  storage: OpenedLogStorage["storage"],
  segmentBytes?: number,
): Promise<OpenedLogStorage> {
  await storage.close();
  return await open(dir, { segmentBytes });
}

Deno.test("saveSnapshot() keeps the segment holding the vote while the active segment is empty", async () => {
  await withTempDir(async (dir) => {
    {
      const { storage } = await open(dir);
      storage.setHardState({ term: 1, votedFor: "o1" });
      storage.append(makeEntries(1, 1, 5));
      await storage.sync();
      await storage.close();
    }
    // A crash between a new segment's creation and its first write leaves it empty.
    await Deno.writeFile(join(dir, "wal-00000002.log"), new Uint8Array());
    {
      const { storage, recovered } = await open(dir);
      assert.deepEqual(recovered.hardState, { term: 1, votedFor: "o1" });
      // A snapshot from the leader covers every entry of the older segment (soak seed 56874).
      await storage.saveSnapshot({ index: 10, term: 1, data: new Uint8Array([10]) });
      await storage.close();
    }
    const { storage, recovered } = await open(dir);
    assert.deepEqual(recovered.hardState, { term: 1, votedFor: "o1" }, "the vote was lost");
    await storage.close();
  });
});

Deno.test("a snapshot source outlives its file's deletion by two snapshots (a slow transfer), then fails", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await open(dir);
    const sources: SnapshotSource[] = [];
    for (const index of [1, 2, 3, 4, 5]) {
      storage.append(makeEntries(index, 1));
      await storage.sync();
      await storage.saveSnapshot({ index, term: 1, data: new Uint8Array([index, index, index]) });
      sources.push(storage.newestSnapshot!.source);
    }
    // Two files are kept; snapshots 1-3 are deleted.
    assert.deepStrictEqual(await listNames(dir, /\.snap$/), [
      "snapshot-00000000000000000004-1.snap",
      "snapshot-00000000000000000005-1.snap",
    ]);
    // The two deleted last still read (a transfer that started on them can finish)...
    assert.deepStrictEqual(sources[1].read(0, 3), new Uint8Array([2, 2, 2]));
    assert.deepStrictEqual(sources[2].read(1, 2), new Uint8Array([3, 3]));
    // ...the one before them fails instead of reading garbage.
    assert.throws(() => sources[0].read(0, 3), /closed/);
    assert.deepStrictEqual(sources[3].read(0, 3), new Uint8Array([4, 4, 4]));
    assert.deepStrictEqual(sources[4].read(0, 3), new Uint8Array([5, 5, 5]));
    await storage.close();
    assert.throws(() => sources[2].read(0, 3), /closed/, "closing the store closes them all");
  });
});

Deno.test("openFileLogStorage() still reads snapshot files of the single-frame format", async () => {
  await withTempDir(async (dir) => {
    await writeEntries(dir, 3);
    const data = new TextEncoder().encode("old format");
    await Deno.writeFile(
      join(dir, "snapshot-00000000000000000002-1.snap"),
      encodeChecksumFrame(data, 1024),
    );
    const { storage, recovered } = await open(dir);
    assert.deepStrictEqual(recovered.snapshot?.data, data);
    assert.deepStrictEqual(storage.newestSnapshot?.source.read(4, 6), data.subarray(4));
    await storage.close();
  });
});

/** Publishes snapshot 8, then a draft of snapshot 24 in parts; returns the latter's file path. */
async function writeTwoSnapshots(dir: string): Promise<string> {
  const { storage } = await open(dir, { segmentBytes: 200 });
  for (let index = 1; index <= 30; index++) {
    storage.append(makeEntries(index, 1));
    await storage.sync();
    if (index === 20) await storage.saveSnapshot({ index: 8, term: 1, data: new Uint8Array([8]) });
  }
  const draft = await storage.createSnapshotDraft(24, 1);
  for (let part = 0; part < 10; part++) await draft.write(new Uint8Array(100).fill(part));
  await draft.finish();
  await storage.publishSnapshot(draft);
  await storage.close();
  return join(dir, "snapshot-00000000000000000024-1.snap");
}

for (
  const [damage, change, problem] of [
    ["a flipped data byte", (b: Uint8Array) => (b[500] ^= 0x01, b), /checksum mismatch/],
    ["a torn end", (b: Uint8Array) => b.subarray(0, b.length - 7), /trailer announces/],
    ["a cut trailer", (b: Uint8Array) => b.subarray(0, 10), /incomplete file/],
  ] as const
) {
  Deno.test(`openFileLogStorage() skips a snapshot written in parts with ${damage}`, async () => {
    await withTempDir(async (dir) => {
      const newest = await writeTwoSnapshots(dir);
      const intact = await open(dir, { segmentBytes: 200 });
      assert.equal(intact.recovered.snapshot?.index, 24);
      assert.equal(intact.recovered.snapshot?.data.length, 1000);
      assert.deepStrictEqual(
        intact.recovered.snapshot?.data.subarray(500, 502),
        new Uint8Array([5, 5]),
      );
      await intact.storage.close();
      await Deno.writeFile(newest, change(await Deno.readFile(newest)));
      const warnings: string[] = [];
      const reopened = await open(dir, { segmentBytes: 200, warnings });
      assert.equal(reopened.recovered.snapshot?.index, 8, "the older snapshot and the log");
      assert.deepStrictEqual(reopened.recovered.entries, makeEntries(9, 22));
      assert.match(warnings.join("\n"), problem);
      await reopened.storage.close();
    });
  });
}

Deno.test("openFileLogStorage() removes a snapshot draft a crash left unfinished", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await open(dir);
    storage.append(makeEntries(1, 3));
    await storage.sync();
    const draft = await storage.createSnapshotDraft(2, 1);
    await draft.write(new Uint8Array(10));
    await storage.close(); // the process dies before finish()
    assert.deepStrictEqual(await listNames(dir, /\.tmp$/), [
      "snapshot-00000000000000000002-1.snap.local.tmp",
    ]);
    const warnings: string[] = [];
    const reopened = await open(dir, { warnings });
    assert.equal(reopened.recovered.snapshot, null);
    assert.deepStrictEqual(await listNames(dir, /\.tmp$/), []);
    assert.match(warnings.join("\n"), /Removed unfinished snapshot/);
    await reopened.storage.close();
  });
});

Deno.test("FileLogStorage disk use stays bounded over many snapshots, and is what the files hold", async () => {
  await withTempDir(async (dir) => {
    const segmentBytes = 4096;
    const { storage } = await open(dir, { segmentBytes });
    let batchBytes = 0;
    for (let round = 0; round < 60; round++) {
      const first = round * 50 + 1;
      const before = storage.diskUse().logBytes;
      storage.append(makeEntries(first, 50));
      await storage.sync();
      batchBytes = Math.max(batchBytes, storage.diskUse().logBytes - before);
      const draft = await storage.createSnapshotDraft(first + 49, 1);
      await draft.write(new Uint8Array(2000).fill(round));
      await draft.finish();
      await storage.publishSnapshot(draft);
      let fileBytes = 0;
      for await (const item of Deno.readDir(dir)) {
        fileBytes += (await Deno.stat(join(dir, item.name))).size;
      }
      const use = storage.diskUse();
      assert.equal(use.snapshotBytes + use.logBytes, fileBytes, `round ${round}: what is on disk`);
      // Two snapshots; the segments after the older one's index (two batches) and the active one.
      assert.ok(
        use.snapshotBytes <= 2 * 2020,
        `round ${round}: ${use.snapshotBytes} snapshot bytes`,
      );
      const logBound = 3 * (segmentBytes + batchBytes);
      assert.ok(
        use.logBytes <= logBound,
        `round ${round}: ${use.logBytes} log bytes > ${logBound}`,
      );
    }
    assert.equal((await listNames(dir, /\.snap$/)).length, 2);
    assert.ok((await listNames(dir, /\.log$/)).length <= 4);
    await storage.close();
  });
});
