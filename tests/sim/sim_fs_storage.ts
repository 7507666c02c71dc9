/**
 * The real FileLogStorage on the simulated file system, seen as a
 * {@link SimStorage}: it forwards every call and tracks what the checks need
 * (where the durable log ends, the durable hard state, the write in flight).
 * @module
 */
import type {
  HardState,
  LogStorage,
  RecoveredLog,
  SnapshotDraft,
  SnapshotRef,
  StorageUse,
  StoredSnapshot,
} from "../../orchestrator/storage/mod.ts";
import type { LogEntry } from "../../orchestrator/tasks/mod.ts";
import type { LogPosition, SimStorage } from "./sim_disk.ts";
import type { SimFs } from "./sim_fs.ts";

/** Where a recovered log ends: its last entry, or the snapshot when no entry follows it. */
export function recoveredEnd(recovered: RecoveredLog): LogPosition {
  const last = recovered.entries.at(-1) ?? recovered.snapshot;
  return { index: last?.index ?? 0, term: last?.term ?? 0 };
}

/**
 * A FileLogStorage opened on a {@link SimFs}. Its operations take simulated
 * time in the file system; a crash is the file system's (SimFs.crashProcess,
 * SimFs.powerLoss), after which this object is dropped with the process.
 */
export class SimFileStorage implements SimStorage {
  readonly #inner: LogStorage;
  readonly #fs: SimFs;
  #stagedEnd: LogPosition;
  #durableEnd: LogPosition;
  #stagedHardState: HardState;
  #durableHardState: HardState;
  /** Entries staged since the last sync call. */
  #staged: LogEntry[] = [];
  /** Entries of the syncs called and not yet completed. */
  #inFlight: LogEntry[] = [];
  #syncsInFlight = 0;
  #opsInFlight = 0;

  constructor(inner: LogStorage, fs: SimFs, recovered: RecoveredLog) {
    this.#inner = inner;
    this.#fs = fs;
    this.#stagedEnd = recoveredEnd(recovered);
    this.#durableEnd = { ...this.#stagedEnd };
    this.#stagedHardState = { ...recovered.hardState };
    this.#durableHardState = { ...recovered.hardState };
  }

  get durableEnd(): LogPosition {
    return { ...this.#durableEnd };
  }

  get durableHardState(): HardState {
    return { ...this.#durableHardState };
  }

  get isBusy(): boolean {
    return this.#fs.isWaiting;
  }

  get hasWriteInFlight(): boolean {
    return this.#opsInFlight > 0;
  }

  get entriesInFlight(): readonly LogEntry[] {
    return this.#inFlight;
  }

  get pendingBytes(): number {
    return this.#inner.pendingBytes;
  }

  append(entries: readonly LogEntry[]): void {
    this.#inner.append(entries);
    for (const entry of entries) {
      while (this.#staged.length > 0 && this.#staged.at(-1)!.index >= entry.index) {
        this.#staged.pop();
      }
      this.#staged.push(entry);
      this.#stagedEnd = { index: entry.index, term: entry.term };
    }
  }

  truncateAfter(index: number): void {
    this.#inner.truncateAfter(index);
    this.#staged = this.#staged.filter((entry) => entry.index <= index);
    // The term is the snapshot's that always follows a truncation (see GroupCommit).
    if (index < this.#stagedEnd.index) this.#stagedEnd = { index, term: -1 };
  }

  setHardState(hardState: HardState): void {
    this.#inner.setHardState(hardState);
    this.#stagedHardState = { term: hardState.term, votedFor: hardState.votedFor };
  }

  sync(): Promise<void> {
    // FileLogStorage takes what is staged when sync() is called: that is what it makes durable.
    const end = { ...this.#stagedEnd };
    const hardState = { ...this.#stagedHardState };
    this.#inFlight = [...this.#inFlight, ...this.#staged];
    this.#staged = [];
    this.#syncsInFlight += 1;
    return this.#track(this.#inner.sync(), () => {
      this.#syncsInFlight -= 1;
      if (this.#syncsInFlight === 0) this.#inFlight = [];
      this.#durableEnd = end;
      this.#durableHardState = hardState;
    });
  }

  saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
    return this.#trackSnapshot(snapshot, this.#inner.saveSnapshot(snapshot));
  }

  createSnapshotDraft(index: number, term: number): Promise<SnapshotDraft> {
    return this.#inner.createSnapshotDraft(index, term);
  }

  publishSnapshot(draft: SnapshotDraft): Promise<void> {
    return this.#trackSnapshot(draft, this.#inner.publishSnapshot(draft));
  }

  get newestSnapshot(): SnapshotRef | null {
    return this.#inner.newestSnapshot;
  }

  diskUse(): StorageUse {
    return this.#inner.diskUse();
  }

  #trackSnapshot(snapshot: { index: number; term: number }, saved: Promise<void>): Promise<void> {
    const { index, term } = snapshot;
    return this.#track(saved, () => {
      // A snapshot beyond the log's end (installed from a leader) moves the end to it.
      if (index >= this.#stagedEnd.index) this.#stagedEnd = { index, term };
      if (index >= this.#durableEnd.index) this.#durableEnd = { index, term };
    });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #track(operation: Promise<void>, onDone: () => void): Promise<void> {
    this.#opsInFlight += 1;
    return operation.then(() => {
      this.#opsInFlight -= 1;
      onDone();
    }, (error) => {
      this.#opsInFlight -= 1;
      throw error;
    });
  }
}
