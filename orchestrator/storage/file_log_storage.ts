/**
 * The orchestrator's log on disk: a write-ahead log split into segment files
 * (`wal-00000001.log`, ...) plus snapshot files
 * (`snapshot-<index, 20 digits>-<term>.snap`), in one directory.
 *
 * Every new segment starts with the hard state current when it was created, so
 * deleting old segments never loses it. Disk operations run one at a time, in
 * call order; after a failed write or fsync the store refuses all further work,
 * because the state of the file is then unknown (a retried fsync can report
 * success for data the kernel already dropped).
 * @module
 */
import { dirname, join } from "node:path";
import { assert } from "../../shared/assert.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { syncDirectory, writeAll } from "./_file_io.ts";
import { parseStorageFileName, segmentFileName } from "./_file_names.ts";
import {
  encodeSnapshotFile,
  loadNewestSnapshot,
  type SnapshotFile,
  writeSnapshotFile,
} from "./_snapshot_files.ts";
import { widenIndexRange } from "./_index_range.ts";
import { mergeBatches, type StagedBatch, StagedRecords } from "./_staged_records.ts";
import { readSegments, type SegmentInfo } from "./_wal_segments.ts";
import { encodeRecord } from "./log_record.ts";
import { replayRecords } from "./log_replay.ts";
import {
  type HardState,
  type LogStorage,
  type OpenedLogStorage,
  type RecoveredLog,
  SNAPSHOTS_KEPT,
  type StoredSnapshot,
} from "./log_storage.ts";
import type { LogEntry } from "../tasks/mod.ts";

/** Size at which the active segment is closed and a new one started. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** Options of {@link openFileLogStorage}. */
export interface FileLogStorageOptions {
  /** Start a new segment once the active one holds this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Told about repairs and skipped corrupt snapshots (default `console.warn`). */
  onWarning?: (message: string) => void;
}

/**
 * Opens (creating it if needed) the log storage in `dir` and recovers its
 * contents. A torn tail of the last segment is cut off and counted in
 * `repairedBytes`; a corrupt newest snapshot is skipped for an older one.
 * @throws {Error} "Cannot open log storage in <dir>: …" on corruption that
 * would lose data (an earlier segment, a missing segment, a log gap) or an I/O error.
 * @throws {RangeError} when `segmentBytes` is not a positive integer.
 * @example
 * const { storage, recovered } = await openFileLogStorage(".mutirao/n1/log");
 */
export async function openFileLogStorage(
  dir: string,
  options: FileLogStorageOptions = {},
): Promise<OpenedLogStorage> {
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= 0) {
    throw new RangeError(
      `Cannot open log storage in ${dir}: segmentBytes must be a positive integer, got ${segmentBytes}`,
    );
  }
  const onWarning = options.onWarning ?? ((message: string) => console.warn(message));
  try {
    return await recoverDirectory(dir, { segmentBytes, onWarning });
  } catch (error) {
    throw new Error(`Cannot open log storage in ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

interface StorageSettings {
  segmentBytes: number;
  onWarning: (message: string) => void;
}

async function recoverDirectory(dir: string, settings: StorageSettings): Promise<OpenedLogStorage> {
  await Deno.mkdir(dir, { recursive: true });
  // A new directory's own name must be durable too, or a power loss takes it
  // with every segment synced into it.
  await syncDirectory(dirname(dir));
  const listing = await listDirectory(dir);
  await removeUnfinishedSnapshots(dir, listing.temps, settings.onWarning);
  const { snapshot, files } = await loadNewestSnapshot(dir, {
    files: listing.snapshots,
    onWarning: settings.onWarning,
  });
  const wal = await readSegments(dir, {
    sequences: listing.sequences,
    onWarning: settings.onWarning,
  });
  const recovered = replayRecords(wal.records, { snapshot, repairedBytes: wal.repairedBytes });
  const last = wal.segments.at(-1);
  const active = last ? await Deno.open(join(dir, last.name), { append: true }) : null;
  const storage = new FileLogStorage({
    dir,
    settings,
    recovered,
    segments: wal.segments,
    snapshots: files,
    active,
  });
  return { storage, recovered };
}

async function listDirectory(
  dir: string,
): Promise<{ sequences: number[]; snapshots: SnapshotFile[]; temps: string[] }> {
  const sequences: number[] = [];
  const snapshots: SnapshotFile[] = [];
  const temps: string[] = [];
  for await (const item of Deno.readDir(dir)) {
    const parsed = item.isFile ? parseStorageFileName(item.name) : null;
    if (parsed?.kind === "segment") sequences.push(parsed.sequence);
    if (parsed?.kind === "snapshot") snapshots.push(parsed);
    if (parsed?.kind === "snapshotTemp") temps.push(parsed.name);
  }
  sequences.sort((a, b) => a - b);
  snapshots.sort((a, b) => a.index - b.index || a.term - b.term);
  return { sequences, snapshots, temps };
}

async function removeUnfinishedSnapshots(
  dir: string,
  names: readonly string[],
  onWarning: (message: string) => void,
): Promise<void> {
  for (const name of names) {
    await Deno.remove(join(dir, name));
    onWarning(`Removed unfinished snapshot ${name} in ${dir} (a crash interrupted saveSnapshot)`);
  }
}

/** A sync waiting for its turn; syncs called meanwhile add their records to it (group commit). */
interface QueuedSync {
  batch: StagedBatch;
  done: Promise<void>;
}

class FileLogStorage implements LogStorage {
  readonly #dir: string;
  readonly #settings: StorageSettings;
  readonly #staged: StagedRecords;
  /** Segment files, oldest first; the last one is the active segment. */
  #segments: SegmentInfo[];
  /** Snapshot files kept, oldest first. */
  #snapshots: SnapshotFile[];
  #active: Deno.FsFile | null;
  /** Bytes taken from staging whose write has not completed yet. */
  #queuedBytes = 0;
  /** The last queued disk operation: each one starts when the previous one settles. */
  #tail: Promise<void> = Promise.resolve();
  #queuedSync: QueuedSync | null = null;
  #failure: Error | null = null;
  #isClosed = false;

  constructor(init: {
    dir: string;
    settings: StorageSettings;
    recovered: RecoveredLog;
    segments: SegmentInfo[];
    snapshots: SnapshotFile[];
    active: Deno.FsFile | null;
  }) {
    this.#dir = init.dir;
    this.#settings = init.settings;
    this.#staged = new StagedRecords(init.recovered);
    this.#segments = init.segments;
    this.#snapshots = init.snapshots;
    this.#active = init.active;
  }

  get pendingBytes(): number {
    return this.#staged.byteLength + this.#queuedBytes;
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
    try {
      this.#assertOpen("sync");
    } catch (error) {
      return Promise.reject(error);
    }
    const batch = this.#staged.take();
    // Nothing new: still wait for what is queued (it may hold records staged
    // before this call), and fail if an earlier write failed.
    if (batch === null) return this.#enqueue("sync", () => Promise.resolve());
    this.#queuedBytes += batch.byteLength;
    if (this.#queuedSync !== null) {
      mergeBatches(this.#queuedSync.batch, batch);
      return this.#queuedSync.done;
    }
    return this.#queueSync(batch);
  }

  saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
    let fileBytes: Uint8Array;
    try {
      this.#assertOpen("save a snapshot");
      // Encoding copies the data, so the caller may reuse its buffer at once.
      fileBytes = encodeSnapshotFile(snapshot.data);
      this.#staged.noteSnapshot(snapshot);
    } catch (error) {
      return Promise.reject(error);
    }
    // Records synced from now on must reach the disk after the snapshot: entries
    // following a snapshot installed from the leader leave a gap only it covers.
    this.#queuedSync = null;
    const { index, term } = snapshot;
    return this.#enqueue("save a snapshot", () => this.#storeSnapshot({ index, term, fileBytes }));
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    await this.#tail;
    this.#active?.close();
    this.#active = null;
  }

  #queueSync(batch: StagedBatch): Promise<void> {
    const queued: QueuedSync = { batch, done: Promise.resolve() };
    queued.done = this.#enqueue("sync", async () => {
      // From here on the batch is being written: later syncs must queue behind it.
      if (this.#queuedSync === queued) this.#queuedSync = null;
      await this.#writeBatch(queued.batch);
    });
    this.#queuedSync = queued;
    return queued.done;
  }

  /** Runs `operation` after every operation queued before it; a failure stops the store for good. */
  #enqueue(action: string, operation: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(async () => {
      if (this.#failure !== null) {
        throw new Error(`Cannot ${action} in ${this.#dir}: an earlier disk operation failed`, {
          cause: this.#failure,
        });
      }
      try {
        await operation();
      } catch (error) {
        this.#failure = error as Error;
        throw new Error(`Cannot ${action} in ${this.#dir}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    });
    // The tail only orders operations. Its rejection is safe to drop: the error
    // reaches the caller through `run`, and `#failure` fails every later operation.
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #writeBatch(batch: StagedBatch): Promise<void> {
    const segment = await this.#segmentForWrite();
    const parts = segment.byteLength === 0
      ? [encodeRecord({ type: "hardState", hardState: batch.hardStateBefore }), ...batch.parts]
      : batch.parts;
    const bytes = concatBytes(parts);
    await writeAll(this.#activeFile(), bytes);
    await this.#activeFile().syncData();
    segment.byteLength += bytes.length;
    widenIndexRange(segment, batch);
    this.#queuedBytes -= batch.byteLength;
  }

  /** The active segment, after starting a new one if there is none or it is full. */
  async #segmentForWrite(): Promise<SegmentInfo> {
    const current = this.#segments.at(-1);
    if (current !== undefined && current.byteLength < this.#settings.segmentBytes) return current;
    const sequence = (current?.sequence ?? 0) + 1;
    const name = segmentFileName(sequence);
    const file = await Deno.open(join(this.#dir, name), { append: true, createNew: true });
    this.#active?.close();
    this.#active = file;
    await syncDirectory(this.#dir);
    const segment: SegmentInfo = { sequence, name, byteLength: 0, minIndex: null, maxIndex: null };
    this.#segments.push(segment);
    return segment;
  }

  async #storeSnapshot(
    snapshot: { index: number; term: number; fileBytes: Uint8Array },
  ): Promise<void> {
    const file = await writeSnapshotFile(this.#dir, snapshot);
    this.#snapshots = this.#snapshots.filter((kept) => kept.name !== file.name);
    this.#snapshots.push(file);
    this.#snapshots.sort((a, b) => a.index - b.index || a.term - b.term);
    const removedSnapshots = await this.#removeOldSnapshots();
    const removedSegments = await this.#removeCoveredSegments();
    if (removedSnapshots + removedSegments > 0) await syncDirectory(this.#dir);
  }

  /** Removes snapshots beyond the newest {@link SNAPSHOTS_KEPT}; returns how many. */
  async #removeOldSnapshots(): Promise<number> {
    const old = this.#snapshots.slice(0, -SNAPSHOTS_KEPT);
    for (const file of old) await Deno.remove(join(this.#dir, file.name));
    this.#snapshots = this.#snapshots.slice(-SNAPSHOTS_KEPT);
    return old.length;
  }

  /**
   * Removes the oldest segments while every entry in them is covered by the
   * OLDEST kept snapshot, so that falling back to it (when the newest turns out
   * corrupt) still finds every entry after it. Only a prefix is removed, so the
   * remaining records replay exactly as before; the active segment stays.
   * Returns how many were removed.
   */
  async #removeCoveredSegments(): Promise<number> {
    const coveredIndex = this.#snapshots[0]?.index ?? 0;
    let count = 0;
    while (count < this.#segments.length - 1) {
      const segment = this.#segments[count];
      if ((segment.maxIndex ?? 0) > coveredIndex) break;
      await Deno.remove(join(this.#dir, segment.name));
      count++;
    }
    this.#segments = this.#segments.slice(count);
    return count;
  }

  #activeFile(): Deno.FsFile {
    assert(this.#active !== null, "no active segment is open");
    return this.#active;
  }

  #assertOpen(action: string): void {
    if (this.#isClosed) {
      throw new Error(`Cannot ${action} in ${this.#dir}: the log storage is closed`);
    }
  }
}
