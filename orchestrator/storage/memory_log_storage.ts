/**
 * The log in memory, for the deterministic simulator. It keeps its durable
 * state as the same encoded records the file storage writes, and recovers
 * through the same decoder and replay, so a crash or a torn write behaves
 * exactly as on disk. No I/O, no timers, no randomness: the simulator decides
 * when a crash happens and where a write tears.
 * @module
 */
import { assert, InvariantError } from "../../shared/assert.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import type { LogEntry } from "../tasks/mod.ts";
import { StagedRecords } from "./_staged_records.ts";
import { decodeRecords, encodeRecord } from "./log_record.ts";
import { replayRecords } from "./log_replay.ts";
import {
  type HardState,
  type LogStorage,
  type RecoveredLog,
  type SnapshotDraft,
  SNAPSHOTS_KEPT,
  type StorageUse,
  type StoredSnapshot,
} from "./log_storage.ts";
import { bytesSnapshotSource, type SnapshotRef } from "./snapshot_source.ts";

/**
 * An in-memory {@link LogStorage} with fault hooks. `sync()` and
 * `saveSnapshot()` complete at once; their promises are already resolved.
 *
 * @example
 * const storage = new MemoryLogStorage();
 * storage.append([{ index: 1, term: 1, command }]);
 * await storage.sync();
 * const recovered = storage.crash(); // what the restarted node starts from
 */
export class MemoryLogStorage implements LogStorage {
  /** Durable bytes, one element per completed sync (the unit a torn write cuts). */
  #writes: Uint8Array[] = [];
  /** Durable snapshots, oldest first. */
  #snapshots: StoredSnapshot[] = [];
  #staged: StagedRecords;
  #isClosed = false;

  /** An empty store, as on first boot. */
  constructor() {
    this.#staged = new StagedRecords(replayRecords([], { snapshot: null }));
  }

  get pendingBytes(): number {
    return this.#staged.byteLength;
  }

  /** Bytes of the last completed sync: the range `crashTearingLastWrite` may keep. */
  get lastWriteByteLength(): number {
    return this.#writes.at(-1)?.length ?? 0;
  }

  append(entries: readonly LogEntry[]): void {
    this.#assertOpen("append entries");
    this.#staged.stageEntries(entries);
  }

  truncateAfter(index: number): void {
    this.#assertOpen("truncate the log");
    this.#staged.stageTruncation(index);
  }

  setHardState(hardState: HardState): void {
    this.#assertOpen("set the hard state");
    this.#staged.stageHardState(hardState);
  }

  sync(): Promise<void> {
    return settle(() => {
      this.#assertOpen("sync");
      const batch = this.#staged.take();
      if (batch !== null) this.#writes.push(concatBytes(batch.parts));
    });
  }

  get newestSnapshot(): SnapshotRef | null {
    const newest = this.#snapshots.at(-1);
    if (newest === undefined) return null;
    return { index: newest.index, term: newest.term, source: bytesSnapshotSource(newest.data) };
  }

  diskUse(): StorageUse {
    let snapshotBytes = 0;
    for (const snapshot of this.#snapshots) snapshotBytes += snapshot.data.length;
    let logBytes = 0;
    for (const write of this.#writes) logBytes += write.length;
    return { snapshotBytes, logBytes };
  }

  createSnapshotDraft(index: number, term: number): Promise<SnapshotDraft> {
    return Promise.resolve(new BytesSnapshotDraft(index, term));
  }

  publishSnapshot(draft: SnapshotDraft): Promise<void> {
    if (!(draft instanceof BytesSnapshotDraft)) {
      return Promise.reject(new InvariantError("publishSnapshot() of a draft of another store"));
    }
    return this.saveSnapshot(draft.snapshot());
  }

  saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
    return settle(() => {
      this.#assertOpen("save a snapshot");
      this.#staged.noteSnapshot(snapshot);
      const copy = { index: snapshot.index, term: snapshot.term, data: snapshot.data.slice() };
      this.#snapshots = this.#snapshots.filter((kept) => kept.index !== copy.index);
      this.#snapshots.push(copy);
      this.#snapshots = this.#snapshots.slice(-SNAPSHOTS_KEPT);
      this.#compact();
    });
  }

  close(): Promise<void> {
    this.#isClosed = true;
    return Promise.resolve();
  }

  /**
   * Simulates a power loss and restart: everything staged but not synced is
   * lost, and the store continues from what recovery finds. Also reopens a
   * closed store (a clean restart).
   * @returns What a restarted node recovers.
   */
  crash(): RecoveredLog {
    return this.#restart();
  }

  /**
   * Like {@link crash}, but the last synced write reached the disk only in part:
   * its first `keepBytes` bytes. Recovery drops the torn record and reports its
   * bytes in `repairedBytes` (0 when the cut falls between records, since then
   * nothing partial is left).
   * @throws {InvariantError} when nothing was synced or `keepBytes` is not in `[0, lastWriteByteLength)`.
   */
  crashTearingLastWrite(keepBytes: number): RecoveredLog {
    const last = this.#writes.at(-1);
    assert(last !== undefined, "cannot tear the last write: nothing was synced");
    assert(
      Number.isSafeInteger(keepBytes) && keepBytes >= 0 && keepBytes < last.length,
      `keepBytes must be an integer in [0, ${last.length}), got ${keepBytes}`,
    );
    this.#writes[this.#writes.length - 1] = last.slice(0, keepBytes);
    return this.#restart();
  }

  #restart(): RecoveredLog {
    const bytes = concatBytes(this.#writes);
    const decoded = decodeRecords(bytes);
    const repairedBytes = bytes.length - decoded.validBytes;
    this.#cutTail(repairedBytes);
    const newest = this.#snapshots.at(-1);
    const snapshot = newest ? { ...newest, data: newest.data.slice() } : null;
    const recovered = replayRecords(decoded.records, { snapshot, repairedBytes });
    this.#staged = new StagedRecords(recovered);
    this.#isClosed = false;
    return recovered;
  }

  /** Cuts a torn tail off the durable bytes, as the file storage's ftruncate does. */
  #cutTail(byteLength: number): void {
    if (byteLength === 0) return;
    const last = this.#writes.pop();
    // Every write but the last completed whole, so damage can only be in the last.
    assert(last !== undefined && byteLength <= last.length, "torn bytes outside the last write");
    if (byteLength < last.length) this.#writes.push(last.slice(0, last.length - byteLength));
  }

  /**
   * Bounds memory the way deleting segments does on disk: all writes but the
   * last (which a later crash may still tear) are replaced by one write holding
   * the hard state and the entries after the newest snapshot. Replay gives the
   * same result before and after. Unlike on disk, nothing is kept for the older
   * snapshot: a snapshot in memory cannot turn out corrupt, so recovery never falls back to it.
   */
  #compact(): void {
    if (this.#writes.length < 2) return;
    const decoded = decodeRecords(concatBytes(this.#writes.slice(0, -1)));
    assert(decoded.problem === null, `durable log is corrupt: ${decoded.problem}`);
    const snapshot = this.#snapshots.at(-1) ?? null;
    const { hardState, entries } = replayRecords(decoded.records, { snapshot });
    const parts = [encodeRecord({ type: "hardState", hardState })];
    for (const entry of entries) parts.push(encodeRecord({ type: "entry", entry }));
    this.#writes = [concatBytes(parts), this.#writes[this.#writes.length - 1]];
  }

  #assertOpen(action: string): void {
    if (this.#isClosed) throw new Error(`Cannot ${action}: the memory log storage is closed`);
  }
}

/** Runs `action` now and reports its outcome as a settled promise. */
function settle(action: () => void): Promise<void> {
  try {
    action();
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * A {@link SnapshotDraft} gathered in memory, for the stores that keep snapshots as bytes (this
 * one, and the simulator's).
 */
export class BytesSnapshotDraft implements SnapshotDraft {
  readonly index: number;
  readonly term: number;
  #parts: Uint8Array[] = [];
  #isFinished = false;

  constructor(index: number, term: number) {
    this.index = index;
    this.term = term;
  }

  write(bytes: Uint8Array): Promise<void> {
    return settle(() => {
      assert(!this.#isFinished, "write() to a finished snapshot draft");
      this.#parts.push(bytes.slice());
    });
  }

  finish(): Promise<void> {
    this.#isFinished = true;
    return Promise.resolve();
  }

  abandon(): Promise<void> {
    this.#parts = [];
    return Promise.resolve();
  }

  /**
   * The finished snapshot.
   * @throws {InvariantError} when the draft is not finished.
   */
  snapshot(): StoredSnapshot {
    assert(this.#isFinished, "a snapshot draft published before finish()");
    return { index: this.index, term: this.term, data: concatBytes(this.#parts) };
  }
}
