// Proves that the simulator's disk meets the storage contract, and that a crash treats the write
// in flight as lost, completed or torn exactly as asked, while queued writes are always lost.
import assert from "node:assert/strict";
import {
  defineLogStorageContract,
  describeEntries,
  type LogStorageUnderTest,
  makeEntries,
} from "../../orchestrator/storage/_log_storage_contract_test.ts";
import { MemoryLogStorage } from "../../orchestrator/storage/mod.ts";
import { SimDisk } from "./sim_disk.ts";

/** Runs disk operations as soon as the current job yields (the contract needs no simulated time). */
const SOON = { later: (run: () => void) => queueMicrotask(run) };

function simDiskUnderTest(): LogStorageUnderTest {
  let memory: MemoryLogStorage | null = null;
  return {
    open() {
      memory ??= new MemoryLogStorage();
      const recovered = memory.crash();
      return Promise.resolve({ storage: new SimDisk(memory, SOON), recovered });
    },
    dispose: () => Promise.resolve(),
  };
}

defineLogStorageContract("SimDisk", () => Promise.resolve(simDiskUnderTest()));

/** A disk whose operations complete only when the test says. */
function heldDisk() {
  const memory = new MemoryLogStorage();
  memory.crash();
  const held: Array<() => void> = [];
  const disk = new SimDisk(memory, { later: (run) => held.push(run) });
  return { disk, held };
}

Deno.test("SimDisk.crash() loses the write in flight when it is lost", async () => {
  const { disk, held } = heldDisk();
  disk.append(makeEntries(1, 2));
  const first = disk.sync();
  held.shift()!();
  await first;
  disk.append(makeEntries(3, 2));
  void disk.sync();
  assert.deepEqual(describeEntries(disk.entriesInFlight), ["3@1", "4@1"]);
  const recovered = disk.crash("lost");
  assert.deepEqual(describeEntries(recovered.entries), ["1@1", "2@1"]);
});

Deno.test("SimDisk.crash() keeps the write in flight when it completed unheard", () => {
  const { disk } = heldDisk();
  disk.append(makeEntries(1, 3));
  let resolved = false;
  void disk.sync().then(() => resolved = true);
  const recovered = disk.crash("completed");
  assert.deepEqual(describeEntries(recovered.entries), ["1@1", "2@1", "3@1"]);
  assert.equal(resolved, false, "nobody hears of it: the process is gone");
});

Deno.test("SimDisk.crash() tears the write in flight: recovery cuts the torn record", () => {
  const { disk } = heldDisk();
  disk.append(makeEntries(1, 3));
  void disk.sync();
  const recovered = disk.crash("torn", 0.5);
  assert.ok(recovered.entries.length < 3, `kept ${recovered.entries.length} of 3 entries`);
  assert.ok(recovered.repairedBytes > 0 || recovered.entries.length === 0);
});

Deno.test("SimDisk.crash() loses writes queued behind the one in flight", async () => {
  const { disk, held } = heldDisk();
  disk.append(makeEntries(1, 1));
  void disk.sync();
  void disk.saveSnapshot({ index: 1, term: 1, data: new Uint8Array([1]) });
  const recovered = disk.crash("completed");
  assert.deepEqual(describeEntries(recovered.entries), ["1@1"]);
  assert.equal(recovered.snapshot, null);
  assert.equal(held.length, 1, "the queued snapshot never started");
  await Promise.resolve();
});

Deno.test("SimDisk.durableEnd follows syncs, truncations and snapshots beyond the log", async () => {
  const { disk, held } = heldDisk();
  const complete = async (done: Promise<void>) => {
    held.shift()!();
    await done;
  };
  disk.append(makeEntries(1, 3));
  assert.deepEqual(disk.durableEnd, { index: 0, term: 0 }, "nothing durable before the sync");
  await complete(disk.sync());
  assert.deepEqual(disk.durableEnd, { index: 3, term: 1 });
  disk.append(makeEntries(3, 1, 2)); // replaces entry 3 with a later term
  await complete(disk.sync());
  assert.deepEqual(disk.durableEnd, { index: 3, term: 2 });
  disk.truncateAfter(2);
  await complete(disk.sync());
  await complete(disk.saveSnapshot({ index: 9, term: 4, data: new Uint8Array([1]) }));
  assert.deepEqual(disk.durableEnd, { index: 9, term: 4 });
});
