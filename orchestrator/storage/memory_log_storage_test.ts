// Proves that MemoryLogStorage meets the storage contract, that its fault hooks lose exactly unsynced data and repair a torn write, and that compaction keeps what replay would give.
import assert from "node:assert/strict";
import { InvariantError } from "../../shared/assert.ts";
import {
  defineLogStorageContract,
  describeEntries,
  type LogStorageUnderTest,
  makeEntries,
} from "./_log_storage_contract_test.ts";
import { MemoryLogStorage } from "./memory_log_storage.ts";

function memoryUnderTest(): LogStorageUnderTest {
  let storage: MemoryLogStorage | null = null;
  return {
    open() {
      // A restart of a closed store is a crash that finds nothing unsynced.
      storage ??= new MemoryLogStorage();
      return Promise.resolve({ storage, recovered: storage.crash() });
    },
    dispose: () => Promise.resolve(),
  };
}

defineLogStorageContract("MemoryLogStorage", () => Promise.resolve(memoryUnderTest()));

Deno.test("MemoryLogStorage.crash() loses exactly what was not synced", async () => {
  const storage = new MemoryLogStorage();
  storage.setHardState({ term: 1, votedFor: "n1" });
  storage.append(makeEntries(1, 3));
  await storage.sync();
  storage.setHardState({ term: 2, votedFor: null });
  storage.append(makeEntries(4, 2, 2));
  const recovered = storage.crash();
  assert.deepStrictEqual(recovered.hardState, { term: 1, votedFor: "n1" });
  assert.deepStrictEqual(recovered.entries, makeEntries(1, 3));
  assert.equal(recovered.repairedBytes, 0);
  assert.equal(storage.pendingBytes, 0);
  // The store continues from what it recovered.
  storage.append(makeEntries(4, 1, 3));
  await storage.sync();
  assert.deepStrictEqual(describeEntries(storage.crash().entries), ["1@1", "2@1", "3@1", "4@3"]);
});

Deno.test("MemoryLogStorage.crashTearingLastWrite() drops the torn record and counts its bytes", async () => {
  const storage = new MemoryLogStorage();
  storage.append(makeEntries(1, 2));
  await storage.sync();
  storage.append(makeEntries(3, 2));
  await storage.sync();
  const written = storage.lastWriteByteLength;
  const recovered = storage.crashTearingLastWrite(written - 5);
  // Entry 3 reached the disk whole; entry 4 was cut 5 bytes short.
  assert.deepStrictEqual(recovered.entries, makeEntries(1, 3));
  assert.ok(recovered.repairedBytes > 0);
  assert.equal(storage.lastWriteByteLength, written - recovered.repairedBytes - 5);
  // The repair is permanent: the next crash finds a clean log.
  storage.append(makeEntries(4, 1, 2));
  await storage.sync();
  const again = storage.crash();
  assert.equal(again.repairedBytes, 0);
  assert.deepStrictEqual(describeEntries(again.entries), ["1@1", "2@1", "3@1", "4@2"]);
});

Deno.test("MemoryLogStorage.crashTearingLastWrite() keeps earlier writes after a snapshot", async () => {
  const storage = new MemoryLogStorage();
  storage.setHardState({ term: 3, votedFor: "n2" });
  storage.append(makeEntries(1, 10, 3));
  await storage.sync();
  await storage.saveSnapshot({ index: 4, term: 3, data: new Uint8Array([4]) });
  storage.append(makeEntries(11, 2, 3));
  await storage.sync();
  await storage.saveSnapshot({ index: 6, term: 3, data: new Uint8Array([6]) });
  const recovered = storage.crashTearingLastWrite(0);
  assert.deepStrictEqual(recovered.snapshot, { index: 6, term: 3, data: new Uint8Array([6]) });
  assert.deepStrictEqual(recovered.entries, makeEntries(7, 4, 3));
  assert.deepStrictEqual(recovered.hardState, { term: 3, votedFor: "n2" });
});

Deno.test("MemoryLogStorage.crashTearingLastWrite() rejects an impossible cut", async () => {
  const storage = new MemoryLogStorage();
  assert.throws(() => storage.crashTearingLastWrite(0), InvariantError);
  storage.append(makeEntries(1, 1));
  await storage.sync();
  assert.throws(() => storage.crashTearingLastWrite(storage.lastWriteByteLength), InvariantError);
});

Deno.test("MemoryLogStorage.crashTearingLastWrite() of a truncation brings the old entries back", async () => {
  const storage = new MemoryLogStorage();
  storage.append(makeEntries(1, 10));
  await storage.sync();
  storage.truncateAfter(6);
  await storage.sync();
  const recovered = storage.crashTearingLastWrite(storage.lastWriteByteLength - 1);
  assert.deepStrictEqual(recovered.entries, makeEntries(1, 10));
  assert.ok(recovered.repairedBytes > 0);
  storage.truncateAfter(6);
  await storage.sync();
  assert.deepStrictEqual(storage.crash().entries, makeEntries(1, 6));
});

Deno.test("MemoryLogStorage compaction keeps the effect of a truncation", async () => {
  const storage = new MemoryLogStorage();
  storage.append(makeEntries(1, 10));
  await storage.sync();
  storage.truncateAfter(4);
  await storage.sync();
  storage.append(makeEntries(5, 4, 2));
  await storage.sync();
  // Compacts the first two writes into the entries after the snapshot: none.
  await storage.saveSnapshot({ index: 6, term: 2, data: new Uint8Array([6]) });
  assert.deepStrictEqual(describeEntries(storage.crash().entries), ["7@2", "8@2"]);
  assert.deepStrictEqual(
    describeEntries(storage.crashTearingLastWrite(0).entries),
    [],
    "the compacted writes must not bring back entries 7..10 of term 1",
  );
});
