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
 *
 * Snapshots are not held in memory: the node's own is written a part at a time as it is encoded
 * (a draft, outside the queue of log writes) and published in order with them; the newest is
 * read back a chunk at a time through a SnapshotSource over its file, kept open until the file
 * is deleted (once two newer snapshots exist).
 * @module
 */
import { crc32 } from "node:zlib";
import { dirname, join } from "node:path";
import { assert, InvariantError } from "../../shared/assert.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { writeAll } from "./_file_io.ts";
import { parseStorageFileName, segmentFileName, snapshotDraftFileName } from "./_file_names.ts";
import {
  fileSnapshotSource,
  loadNewestSnapshot,
  type SnapshotFile,
  SnapshotFileWriter,
  writeSnapshotFile,
} from "./_snapshot_files.ts";
import { replayOverFallback } from "./_snapshot_fallback.ts";
import { widenIndexRange } from "./_index_range.ts";
import { mergeBatches, type StagedBatch, StagedRecords } from "./_staged_records.ts";
import { cutTornTail, readSegments, type SegmentInfo } from "./_wal_segments.ts";
import {
  denoFileSystem,
  type FileHandle,
  type FileReader,
  type FileSystem,
} from "./file_system.ts";
import { LogCorruptionError } from "./log_corruption_error.ts";
import { encodeRecord } from "./log_record.ts";
import {
  type HardState,
  type LogStorage,
  type OpenedLogStorage,
  type RecoveredLog,
  type SnapshotDraft,
  SNAPSHOTS_KEPT,
  type StorageUse,
  type StoredSnapshot,
} from "./log_storage.ts";
import type { SnapshotRef } from "./snapshot_source.ts";
import type { LogEntry } from "../tasks/mod.ts";

/** Size at which the active segment is closed and a new one started. */
/**
 * Deleted snapshots whose readers stay open (their disk space is freed only when they close), so
 * a transfer to a slow follower survives that many more snapshots being taken meanwhile.
 */
const RETIRED_READERS_KEPT = 2;

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** Options of {@link openFileLogStorage}. */
export interface FileLogStorageOptions {
  /** Start a new segment once the active one holds this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Told about repairs and skipped corrupt snapshots (default `console.warn`). */
  onWarning?: (message: string) => void;
  /** The file system to use (default: the real one; the simulator passes its own). */
  fileSystem?: FileSystem;
}

/**
 * Opens (creating it if needed) the log storage in `dir` and recovers its
 * contents. A torn tail of the last segment (a bad record that no valid
 * record follows: what a crash during a write leaves) is cut off and counted
 * in `repairedBytes`. A corrupt newest snapshot is skipped, and left in place,
 * for an older one when that one and the log still cover every entry.
 * @throws {LogCorruptionError} on damage that a crash cannot explain and that
 * would lose data: a bad record followed by valid ones, a bad earlier segment,
 * a corrupt snapshot nothing else covers. Nothing is changed in the directory
 * then, and the message says the safe way back.
 * Valid records that leave a gap between entries (a misdirected write) are
 * such damage too.
 * @throws {Error} "Cannot open log storage in <dir>: …" on a missing segment
 * or an I/O error.
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
  const fs = options.fileSystem ?? denoFileSystem;
  try {
    return await recoverDirectory(dir, { segmentBytes, onWarning, fs });
  } catch (error) {
    if (error instanceof LogCorruptionError) throw error;
    throw new Error(`Cannot open log storage in ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

interface StorageSettings {
  segmentBytes: number;
  onWarning: (message: string) => void;
  fs: FileSystem;
}

/** Reads and checks everything first; repairs (cutting a torn tail) only once nothing is refused. */
async function recoverDirectory(dir: string, settings: StorageSettings): Promise<OpenedLogStorage> {
  const { fs, onWarning } = settings;
  await fs.mkdir(dir);
  // A new directory's own name must be durable too, or a power loss takes it
  // with every segment synced into it.
  await fs.syncDirectory(dirname(dir));
  const listing = await listDirectory(fs, dir);
  const { snapshot, files, skipped } = await loadNewestSnapshot(fs, dir, listing.snapshots);
  const wal = await readSegments(dir, { fs, sequences: listing.sequences });
  const recovered = refuseGaps(dir, wal.segments, () =>
    replayOverFallback(wal.records, {
      dir,
      snapshot,
      skipped,
      repairedBytes: wal.tornTail?.byteLength ?? 0,
    }));
  for (const corrupt of skipped) {
    onWarning(
      `Skipped corrupt snapshot ${corrupt.name} in ${dir} (${corrupt.problem}) and left it in ` +
        `place; ${
          snapshot === null ? "no older snapshot" : `the older snapshot ${snapshot.index}`
        } ` +
        `and the log still hold every entry it covered`,
    );
  }
  // Repairs only now that nothing was refused: a refusal leaves every file as it was.
  await removeUnfinishedSnapshots(fs, dir, listing.temps, onWarning);
  const tail = wal.tornTail;
  if (tail !== null) {
    await cutTornTail(fs, dir, tail);
    onWarning(
      `Cut a torn tail of ${tail.byteLength} bytes off ${tail.name} in ${dir} ` +
        `at byte ${tail.validBytes} (${tail.problem}; no valid record follows it)`,
    );
  }
  const readers = await openSnapshotReaders(fs, dir, files);
  const newestSnapshot = snapshot === null ? null : {
    index: snapshot.index,
    term: snapshot.term,
    source: fileSnapshotSource(
      readers.get(files.at(-1)!.name)!,
      snapshot.data.length,
      crc32(snapshot.data),
    ),
  };
  const last = wal.segments.at(-1);
  const active = last ? await fs.open(join(dir, last.name), { append: true }) : null;
  // What a killed process wrote but never synced is still in the page cache, and recovery just
  // read it as the log: make it durable before the node acts on it (acknowledges it to a leader),
  // or a later power loss could take an entry the cluster counted on.
  await active?.syncData();
  const storage = new FileLogStorage({
    dir,
    settings,
    recovered,
    segments: wal.segments,
    snapshots: files,
    readers,
    newestSnapshot,
    active,
  });
  return { storage, recovered };
}

/** Opens every kept snapshot file for reading (the newest is read from; all are measured). */
async function openSnapshotReaders(
  fs: FileSystem,
  dir: string,
  files: readonly SnapshotFile[],
): Promise<Map<string, FileReader>> {
  const readers = new Map<string, FileReader>();
  for (const file of files) readers.set(file.name, await fs.openReader(join(dir, file.name)));
  return readers;
}

/**
 * Runs the replay, and refuses a log with missing entries as corrupt: no crash leaves a gap (each
 * segment starts where the previous one ended, and segments go only once a snapshot covers them),
 * but valid records written over others do — a misdirected write copies whole, checksummed
 * records from elsewhere (soak seed 933: the first records of a segment overwritten). Like any
 * damage, it is for the operator to move aside, and the node to rejoin.
 */
function refuseGaps(
  dir: string,
  segments: readonly SegmentInfo[],
  replay: () => RecoveredLog,
): RecoveredLog {
  try {
    return replay();
  } catch (error) {
    if (!(error instanceof InvariantError) || !error.message.includes("log gap")) throw error;
    const segment = segments.find((s) => s.byteLength > 0) ?? segments[0];
    throw new LogCorruptionError({
      dir,
      file: segment?.name ?? "the log",
      offset: 0,
      problem: `entries are missing from the log, which no crash explains: ${error.message}`,
    });
  }
}

async function listDirectory(
  fs: FileSystem,
  dir: string,
): Promise<{ sequences: number[]; snapshots: SnapshotFile[]; temps: string[] }> {
  const sequences: number[] = [];
  const snapshots: SnapshotFile[] = [];
  const temps: string[] = [];
  for (const item of await fs.readDir(dir)) {
    const parsed = item.isFile ? parseStorageFileName(item.name) : null;
    if (parsed?.kind === "segment") sequences.push(parsed.sequence);
    if (parsed?.kind === "snapshot") snapshots.push(parsed);
    if (parsed?.kind === "snapshotTemp") temps.push(parsed.name);
  }
  sequences.sort((a, b) => a - b);
  snapshots.sort((a, b) => a.index - b.index || a.term - b.term);
  return { sequences, snapshots, temps };
}

/** A temp file was never published (the rename comes after its fsync): it is no evidence. */
async function removeUnfinishedSnapshots(
  fs: FileSystem,
  dir: string,
  names: readonly string[],
  onWarning: (message: string) => void,
): Promise<void> {
  for (const name of names) {
    await fs.remove(join(dir, name));
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
  /** A reader of each kept snapshot file, by name; closed when the file is deleted. */
  readonly #readers: Map<string, FileReader>;
  /** Readers of deleted snapshot files, oldest first, kept open for transfers still reading them. */
  readonly #retiredReaders: FileReader[] = [];
  #newestSnapshot: SnapshotRef | null;
  #active: FileHandle | null;
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
    readers: Map<string, FileReader>;
    newestSnapshot: SnapshotRef | null;
    active: FileHandle | null;
  }) {
    this.#dir = init.dir;
    this.#settings = init.settings;
    this.#staged = new StagedRecords(init.recovered);
    this.#segments = init.segments;
    this.#snapshots = init.snapshots;
    this.#readers = init.readers;
    this.#newestSnapshot = init.newestSnapshot;
    this.#active = init.active;
  }

  get newestSnapshot(): SnapshotRef | null {
    return this.#newestSnapshot;
  }

  diskUse(): StorageUse {
    let snapshotBytes = 0;
    for (const reader of this.#readers.values()) snapshotBytes += reader.byteLength;
    let logBytes = 0;
    for (const segment of this.#segments) logBytes += segment.byteLength;
    return { snapshotBytes, logBytes };
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
    const { index, term } = snapshot;
    // Copied, so the caller may reuse its buffer at once (the write waits for its turn).
    const data = snapshot.data.slice();
    return this.#queueSnapshot("save a snapshot", snapshot, async () => {
      const file = await writeSnapshotFile(this.#settings.fs, this.#dir, { index, term, data });
      return { file, dataBytes: data.length, dataCrc32: crc32(data) };
    });
  }

  createSnapshotDraft(index: number, term: number): Promise<SnapshotDraft> {
    try {
      this.#assertOpen("write a snapshot");
    } catch (error) {
      return Promise.reject(error);
    }
    const tempName = snapshotDraftFileName(index, term, "local");
    return SnapshotFileWriter.create(this.#settings.fs, this.#dir, { index, term, tempName });
  }

  publishSnapshot(draft: SnapshotDraft): Promise<void> {
    if (!(draft instanceof SnapshotFileWriter)) {
      return Promise.reject(new InvariantError("publishSnapshot() of a draft of another store"));
    }
    return this.#queueSnapshot("publish a snapshot", draft, async () => {
      const file = await draft.publish();
      return { file, dataBytes: draft.dataBytes, dataCrc32: draft.dataCrc32 };
    });
  }

  /** Queues storing a snapshot (`write` puts its file in place), ordered with the log writes. */
  #queueSnapshot(
    action: string,
    snapshot: { index: number; term: number },
    write: () => Promise<{ file: SnapshotFile; dataBytes: number; dataCrc32: number }>,
  ): Promise<void> {
    try {
      this.#assertOpen(action);
      this.#staged.noteSnapshot(snapshot);
    } catch (error) {
      return Promise.reject(error);
    }
    // Records synced from now on must reach the disk after the snapshot: entries
    // following a snapshot installed from the leader leave a gap only it covers.
    this.#queuedSync = null;
    return this.#enqueue(action, async () => {
      const { file, dataBytes, dataCrc32 } = await write();
      await this.#adoptSnapshot(file, dataBytes, dataCrc32);
    });
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    await this.#tail;
    this.#active?.close();
    this.#active = null;
    for (const reader of this.#readers.values()) reader.close();
    this.#readers.clear();
    for (const reader of this.#retiredReaders.splice(0)) reader.close();
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
    const fs = this.#settings.fs;
    const file = await fs.open(join(this.#dir, name), { append: true, createNew: true });
    this.#active?.close();
    this.#active = file;
    await fs.syncDirectory(this.#dir);
    const segment: SegmentInfo = { sequence, name, byteLength: 0, minIndex: null, maxIndex: null };
    this.#segments.push(segment);
    return segment;
  }

  /** A snapshot file is in place: read the snapshot from it, delete what it makes obsolete. */
  async #adoptSnapshot(file: SnapshotFile, dataBytes: number, dataCrc32: number): Promise<void> {
    const reader = await this.#settings.fs.openReader(join(this.#dir, file.name));
    this.#readers.get(file.name)?.close(); // the same snapshot again: the new file replaced it
    this.#readers.set(file.name, reader);
    this.#newestSnapshot = {
      index: file.index,
      term: file.term,
      source: fileSnapshotSource(reader, dataBytes, dataCrc32),
    };
    this.#snapshots = this.#snapshots.filter((kept) => kept.name !== file.name);
    this.#snapshots.push(file);
    this.#snapshots.sort((a, b) => a.index - b.index || a.term - b.term);
    const removedSnapshots = await this.#removeOldSnapshots();
    const removedSegments = await this.#removeCoveredSegments();
    if (removedSnapshots + removedSegments > 0) await this.#settings.fs.syncDirectory(this.#dir);
  }

  /** Removes snapshots beyond the newest {@link SNAPSHOTS_KEPT}; returns how many. */
  async #removeOldSnapshots(): Promise<number> {
    const old = this.#snapshots.slice(0, -SNAPSHOTS_KEPT);
    for (const file of old) {
      // A transfer to a slow follower may still be reading it: the file goes, but its reader stays
      // open (the data stays readable until it is closed) for RETIRED_READERS_KEPT more
      // snapshots. A transfer slower than that fails its next read and starts again from the newest.
      const reader = this.#readers.get(file.name);
      this.#readers.delete(file.name);
      if (reader !== undefined) this.#retiredReaders.push(reader);
      while (this.#retiredReaders.length > RETIRED_READERS_KEPT) {
        this.#retiredReaders.shift()!.close();
      }
      await this.#settings.fs.remove(join(this.#dir, file.name));
    }
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
    // The hard state (term and vote) lives in the segments' records: an active segment that holds
    // no record yet (a crash between its creation and its first write, and nothing written since)
    // does not hold it, so the older segments must stay until it does (soak seed 56874).
    if ((this.#segments.at(-1)?.byteLength ?? 0) === 0) return 0;
    let count = 0;
    while (count < this.#segments.length - 1) {
      const segment = this.#segments[count];
      if ((segment.maxIndex ?? 0) > coveredIndex) break;
      await this.#settings.fs.remove(join(this.#dir, segment.name));
      count++;
    }
    this.#segments = this.#segments.slice(count);
    return count;
  }

  #activeFile(): FileHandle {
    assert(this.#active !== null, "no active segment is open");
    return this.#active;
  }

  #assertOpen(action: string): void {
    if (this.#isClosed) {
      throw new Error(`Cannot ${action} in ${this.#dir}: the log storage is closed`);
    }
  }
}
