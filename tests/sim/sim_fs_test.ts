// Proves that the simulated file system keeps exactly what a real disk keeps (synced bytes, synced
// names; torn appends only in whole sectors), that its damage and I/O errors happen as asked, and
// that the real FileLogStorage meets the storage contract on it.
import assert from "node:assert/strict";
import {
  defineLogStorageContract,
  makeEntries,
} from "../../orchestrator/storage/_log_storage_contract_test.ts";
import { LogCorruptionError, openFileLogStorage } from "../../orchestrator/storage/mod.ts";
import { createPrng } from "../../shared/prng.ts";
import { SECTOR_BYTES, SimDiskFault, SimFs } from "./sim_fs.ts";

/** Runs operations as soon as the current job yields (no simulated time needed here). */
const SOON = { later: (run: () => void) => queueMicrotask(run) };

function newFs(seed = 1, rates = { fsyncError: 0, diskFull: 0 }): SimFs {
  const fs = new SimFs(SOON, { rng: createPrng(seed), rates });
  fs.provision("/data");
  return fs;
}

defineLogStorageContract("FileLogStorage on SimFs", () => {
  const fs = newFs();
  return Promise.resolve({
    open: () => openFileLogStorage("/data/log", { fileSystem: fs, onWarning: () => {} }),
    dispose: () => Promise.resolve(),
  });
});

defineLogStorageContract("FileLogStorage on SimFs with 300-byte segments", () => {
  const fs = newFs();
  return Promise.resolve({
    open: () =>
      openFileLogStorage("/data/log", { fileSystem: fs, segmentBytes: 300, onWarning: () => {} }),
    dispose: () => Promise.resolve(),
  });
});

async function writeFile(fs: SimFs, path: string, bytes: Uint8Array, sync: boolean) {
  const file = await fs.open(path, { write: true, create: true, append: true });
  await file.write(bytes);
  if (sync) await file.syncData();
  file.close();
}

Deno.test("SimFs.powerLoss() keeps synced bytes and drops unsynced ones", async () => {
  const fs = newFs();
  await writeFile(fs, "/data/a", new Uint8Array([1, 2, 3]), true);
  await fs.syncDirectory("/data");
  await writeFile(fs, "/data/a", new Uint8Array([4, 5]), false);
  assert.deepEqual(await fs.readFile("/data/a"), new Uint8Array([1, 2, 3, 4, 5]));
  fs.powerLoss({ tear: false, reorder: false });
  assert.deepEqual(await fs.readFile("/data/a"), new Uint8Array([1, 2, 3]));
});

Deno.test("SimFs.powerLoss() loses a synced file whose name was never synced", async () => {
  const fs = newFs();
  await writeFile(fs, "/data/kept", new Uint8Array([1]), true);
  await fs.syncDirectory("/data");
  await writeFile(fs, "/data/unnamed", new Uint8Array([2]), true);
  await fs.rename("/data/kept", "/data/renamed");
  fs.powerLoss({ tear: false, reorder: false });
  assert.deepEqual(fs.listFiles(), ["/data/kept"], "neither the new name nor the rename survive");
});

Deno.test("SimFs.crashProcess() keeps everything written, even unsynced", async () => {
  const fs = newFs();
  await writeFile(fs, "/data/a", new Uint8Array([1, 2]), false);
  fs.crashProcess();
  fs.powerLoss({ tear: false, reorder: false });
  assert.deepEqual(await fs.readFile("/data/a"), new Uint8Array([1, 2]));
});

Deno.test("SimFs.powerLoss() tears an unsynced append at a sector boundary, keeping a prefix", async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const fs = newFs(seed);
    const synced = new Uint8Array(700).fill(1);
    await writeFile(fs, "/data/a", synced, true);
    await fs.syncDirectory("/data");
    const appended = new Uint8Array(3 * SECTOR_BYTES).fill(2);
    await writeFile(fs, "/data/a", appended, false);
    fs.powerLoss({ tear: true, reorder: false });
    const after = await fs.readFile("/data/a");
    assert.deepEqual(after.subarray(0, 700), synced, `seed ${seed}: synced bytes kept`);
    const tail = after.subarray(700);
    const firstLost = tail.indexOf(0);
    if (firstLost >= 0) {
      // The sector holding the synced end is written whole or not at all.
      assert.ok(
        firstLost === 0 || (700 + firstLost) % SECTOR_BYTES === 0,
        `seed ${seed}: cut at a sector boundary, got ${700 + firstLost}`,
      );
      assert.ok(tail.subarray(firstLost).every((b) => b === 0), `seed ${seed}: a prefix is kept`);
    }
  }
});

Deno.test("SimFs fails an fsync with EIO and drops the data it could not write", async () => {
  const fs = newFs(1, { fsyncError: 1, diskFull: 0 });
  const file = await fs.open("/data/a", { write: true, create: true, append: true });
  await file.write(new Uint8Array([1]));
  await assert.rejects(file.syncData(), (error) => error instanceof SimDiskFault);
  assert.deepEqual(await fs.readFile("/data/a"), new Uint8Array(0));
});

Deno.test("SimFs fails a write with ENOSPC and writes nothing", async () => {
  const fs = newFs(1, { fsyncError: 0, diskFull: 1 });
  const file = await fs.open("/data/a", { write: true, create: true, append: true });
  await assert.rejects(file.write(new Uint8Array([1])), /No space left on device/);
  assert.deepEqual(await fs.readFile("/data/a"), new Uint8Array(0));
});

Deno.test("FileLogStorage on SimFs refuses a bit flip in an early record after a power loss", async () => {
  const fs = newFs();
  const { storage } = await openFileLogStorage("/data/log", { fileSystem: fs });
  for (let index = 1; index <= 8; index++) {
    storage.append(makeEntries(index, 1));
    await storage.sync();
  }
  fs.powerLoss({ tear: false, reorder: false });
  const path = "/data/log/wal-00000001.log";
  const before = fs.durableBytes(path);
  fs.damage(path, { kind: "bitFlip", from: 60, to: 61 });
  const damaged = fs.durableBytes(path);
  await assert.rejects(
    openFileLogStorage("/data/log", { fileSystem: fs, onWarning: () => {} }),
    LogCorruptionError,
  );
  assert.notDeepEqual(damaged, before);
  assert.deepEqual(fs.durableBytes(path), damaged, "the evidence is left as it was");
});
