/**
 * The simulated disk: a {@link LogStorage} over {@link MemoryLogStorage} whose
 * fsyncs and snapshot saves take simulated time, and whose crash decides what
 * became of the write in flight (lost, completed without the node knowing, or
 * torn part-way).
 * @module
 */
import {
  BytesSnapshotDraft,
  type HardState,
  type LogStorage,
  type MemoryLogStorage,
  type RecoveredLog,
  type SnapshotDraft,
  type SnapshotRef,
  type StorageUse,
  type StoredSnapshot,
} from "../../orchestrator/storage/mod.ts";
import { InvariantError } from "../../shared/assert.ts";
import type { LogEntry } from "../../orchestrator/tasks/mod.ts";

/** An entry's place in the log. */
export interface LogPosition {
  index: number;
  term: number;
}

/** What a disk operation does, which decides its latency (an fsync is the slow one). */
export type DiskOperation = "read" | "write" | "sync" | "metadata";

/** How the disk waits: `later(action)` runs `action` once the operation's latency has passed. */
export interface DiskTimer {
  later(action: () => void, operation?: DiskOperation): void;
}

/**
 * A node's log storage as the simulator drives it: the LogStorage, plus what
 * the checks and scripted scenarios look at. {@link SimDisk} (memory) and
 * SimFileStorage (the real file storage on the simulated file system) are the two.
 */
export interface SimStorage extends LogStorage {
  /** Where the durable log ends: what the last completed write left as its last entry. */
  readonly durableEnd: LogPosition;
  /** The hard state the last completed write made durable. */
  readonly durableHardState: HardState;
  /** True while an operation waits for its latency (only a scheduled event completes it). */
  readonly isBusy: boolean;
  /** True while a sync or snapshot save has not completed (queued or running). */
  readonly hasWriteInFlight: boolean;
  /** The entries the write in flight would make durable (empty when none is). */
  readonly entriesInFlight: readonly LogEntry[];
}

/**
 * What a crash does to the write in flight:
 * - `lost`: it never reached the disk;
 * - `completed`: it reached the disk, but the node died before hearing so;
 * - `torn`: only its first bytes reached the disk (a partial sector write).
 */
export type CrashMode = "lost" | "completed" | "torn";

interface Op {
  kind: "sync" | "snapshot";
  snapshot: StoredSnapshot | null;
  done: PromiseWithResolvers<void>;
}

/**
 * A simulated disk holding one orchestrator's log. Operations complete in
 * order, one at a time, each after the timer's latency; `crash()` stops the
 * disk for good (its pending promises never settle: the process is gone) and
 * hands back what a restarted node recovers from the same memory.
 *
 * @example
 * const disk = new SimDisk(memory, { later: (run) => world.schedule(3, "o1", run) });
 * disk.append(entries);
 * await disk.sync(); // resolves 3 simulated ms later
 */
export class SimDisk implements SimStorage {
  readonly #memory: MemoryLogStorage;
  readonly #timer: DiskTimer;
  readonly #ops: Op[] = [];
  /** Entries staged since the last completed sync. */
  #staged: LogEntry[] = [];
  /** The log's last entry (or snapshot beyond it) as staged, and as durable. */
  #stagedEnd: LogPosition;
  #durableEnd: LogPosition;
  #stagedHardState: HardState;
  #durableHardState: HardState;
  #isDead = false;
  #isClosed = false;
  #onError: (error: unknown) => void;

  /**
   * @param memory the durable bytes, kept across crashes by the caller.
   * @param options.end where the recovered log ends; options.onError reports a failure of the
   * underlying store that no caller awaits (a bug).
   */
  constructor(
    memory: MemoryLogStorage,
    timer: DiskTimer,
    options: {
      end?: LogPosition;
      hardState?: HardState;
      onError?: (error: unknown) => void;
    } = {},
  ) {
    this.#memory = memory;
    this.#timer = timer;
    this.#onError = options.onError ?? (() => {});
    this.#stagedEnd = { ...(options.end ?? { index: 0, term: 0 }) };
    this.#durableEnd = { ...this.#stagedEnd };
    this.#stagedHardState = { ...(options.hardState ?? { term: 0, votedFor: null }) };
    this.#durableHardState = { ...this.#stagedHardState };
  }

  get durableHardState(): HardState {
    return { ...this.#durableHardState };
  }

  get hasWriteInFlight(): boolean {
    return this.#ops.length > 0;
  }

  /** Where the durable log ends: what the last completed write left as its last entry. */
  get durableEnd(): LogPosition {
    return { ...this.#durableEnd };
  }

  get pendingBytes(): number {
    return this.#memory.pendingBytes;
  }

  /** True while an fsync or snapshot save is in flight or queued. */
  get isBusy(): boolean {
    return this.#ops.length > 0;
  }

  /** The entries the write in flight would make durable (empty when none is). */
  get entriesInFlight(): readonly LogEntry[] {
    const head = this.#ops[0];
    return head?.kind === "sync" ? this.#staged : [];
  }

  append(entries: readonly LogEntry[]): void {
    this.#assertUsable("append entries");
    this.#memory.append(entries);
    for (const entry of entries) {
      while (this.#staged.length > 0 && this.#staged.at(-1)!.index >= entry.index) {
        this.#staged.pop();
      }
      this.#staged.push(entry);
      this.#stagedEnd = { index: entry.index, term: entry.term };
    }
  }

  truncateAfter(index: number): void {
    this.#assertUsable("truncate the log");
    this.#memory.truncateAfter(index);
    this.#staged = this.#staged.filter((entry) => entry.index <= index);
    // The term is the snapshot's that always follows a truncation (see GroupCommit).
    if (index < this.#stagedEnd.index) this.#stagedEnd = { index, term: -1 };
  }

  setHardState(hardState: HardState): void {
    this.#assertUsable("set the hard state");
    this.#memory.setHardState(hardState);
    this.#stagedHardState = { term: hardState.term, votedFor: hardState.votedFor };
  }

  sync(): Promise<void> {
    return this.#enqueue("sync", null);
  }

  saveSnapshot(snapshot: StoredSnapshot): Promise<void> {
    const copy = { index: snapshot.index, term: snapshot.term, data: snapshot.data.slice() };
    return this.#enqueue("snapshot", copy);
  }

  createSnapshotDraft(index: number, term: number): Promise<SnapshotDraft> {
    return Promise.resolve(new BytesSnapshotDraft(index, term));
  }

  publishSnapshot(draft: SnapshotDraft): Promise<void> {
    if (!(draft instanceof BytesSnapshotDraft)) {
      return Promise.reject(new InvariantError("publishSnapshot() of a draft of another store"));
    }
    return this.#enqueue("snapshot", draft.snapshot());
  }

  /** The newest snapshot the memory holds (saved ones only: queued saves are not yet there). */
  get newestSnapshot(): SnapshotRef | null {
    return this.#memory.newestSnapshot;
  }

  diskUse(): StorageUse {
    return this.#memory.diskUse();
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    await Promise.all(this.#ops.map((op) => op.done.promise.catch(() => {})));
    await this.#memory.close();
  }

  /**
   * Kills the disk at this instant. Queued operations are lost; the one in
   * flight fares as `mode` says (`keepFraction` in [0, 1) picks where a torn
   * write is cut).
   * @returns What a node restarted on the same memory recovers.
   */
  crash(mode: CrashMode, keepFraction = 0): RecoveredLog {
    this.#isDead = true;
    const head = this.#ops[0];
    if (head !== undefined && mode !== "lost") {
      if (head.kind === "snapshot") {
        this.#memory.saveSnapshot(head.snapshot!).catch(this.#onError);
      } else if (this.#memory.pendingBytes > 0) {
        this.#memory.sync().catch(this.#onError);
        const written = this.#memory.lastWriteByteLength;
        if (mode === "torn" && written > 0) {
          const keep = Math.min(written - 1, Math.floor(keepFraction * written));
          return this.#memory.crashTearingLastWrite(keep);
        }
      }
    }
    return this.#memory.crash();
  }

  #enqueue(kind: Op["kind"], snapshot: StoredSnapshot | null): Promise<void> {
    if (this.#isClosed) {
      return Promise.reject(new Error(`Cannot ${kind}: the simulated disk is closed`));
    }
    const op: Op = { kind, snapshot, done: Promise.withResolvers<void>() };
    this.#ops.push(op);
    if (this.#ops.length === 1) this.#start(op);
    return op.done.promise;
  }

  #start(op: Op): void {
    this.#timer.later(() => {
      if (this.#isDead) return; // the process is gone: nobody waits for this any more
      const finished = op.kind === "sync"
        ? this.#memory.sync()
        : this.#memory.saveSnapshot(op.snapshot!);
      if (op.kind === "sync") {
        this.#staged = [];
        this.#durableHardState = { ...this.#stagedHardState };
      } else if (op.snapshot!.index >= this.#stagedEnd.index) {
        // A snapshot beyond the log's end (installed from a leader) moves the end to it.
        this.#stagedEnd = { index: op.snapshot!.index, term: op.snapshot!.term };
      }
      if (op.kind === "sync" || this.#memory.pendingBytes === 0) {
        this.#durableEnd = { ...this.#stagedEnd };
      }
      this.#ops.shift();
      finished.then(op.done.resolve, op.done.reject);
      const next = this.#ops[0];
      if (next !== undefined) this.#start(next);
    }, op.kind === "sync" ? "sync" : "write");
  }

  #assertUsable(action: string): void {
    if (this.#isClosed) throw new Error(`Cannot ${action}: the simulated disk is closed`);
  }
}
