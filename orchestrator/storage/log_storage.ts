/**
 * The durable log of the orchestrator's Raft core: the interface both storages
 * implement (files on disk, and memory for the simulator) and the values
 * recovery hands back.
 * @module
 */
import type { LogEntry } from "../tasks/mod.ts";
import type { SnapshotRef } from "./snapshot_source.ts";

/** What Raft must persist besides the log (Raft paper, figure 2: currentTerm and votedFor). */
export interface HardState {
  term: number;
  votedFor: string | null;
  /**
   * Set while a node that lost its disk rejoins (`--rejoin`): until it has caught up with a
   * leader it neither votes nor campaigns (orchestrator/raft/raft_rejoin.ts). Absent means false.
   */
  rejoining?: boolean;
}

/** The hard state of a store that has never been written. */
export const INITIAL_HARD_STATE: Readonly<HardState> = Object.freeze({ term: 0, votedFor: null });

/** Snapshots a store keeps: the newest, and one to fall back on if the newest turns out corrupt. */
export const SNAPSHOTS_KEPT = 2;

/** A snapshot of the state machine: opaque bytes covering every entry up to `index`. */
export interface StoredSnapshot {
  /** Index of the last entry the snapshot includes. */
  index: number;
  /** Term of that entry. */
  term: number;
  data: Uint8Array;
}

/**
 * A snapshot being written a part at a time, outside the queue of log writes (so a large one
 * never holds up a sync), and not yet published: {@link LogStorage.publishSnapshot} does that,
 * in order with the log writes.
 * @example
 * const draft = await storage.createSnapshotDraft(index, term);
 * for await (const part of encodeSnapshotParts(sm, pause)) await draft.write(part);
 * await draft.finish();
 * await storage.publishSnapshot(draft);
 */
export interface SnapshotDraft {
  readonly index: number;
  readonly term: number;
  /** Appends data; the caller may reuse `bytes` once this resolves. */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends the data and makes it durable (unpublished: a crash now leaves no snapshot). */
  finish(): Promise<void>;
  /** Drops an unpublished draft and what it wrote. Idempotent. */
  abandon(): Promise<void>;
}

/** What a store occupies, in bytes (on disk for the file storage). */
export interface StorageUse {
  /** The snapshots kept (the newest and its fallback). */
  snapshotBytes: number;
  /** The log's segments. */
  logBytes: number;
}

/** What a store holds after a restart. */
export interface RecoveredLog {
  /** `{ term: 0, votedFor: null }` on a fresh store. */
  hardState: HardState;
  /**
   * The newest snapshot that validates, read whole once to restore the state machine; drop it
   * then, and read the snapshot again through {@link LogStorage.newestSnapshot}.
   */
  snapshot: StoredSnapshot | null;
  /** Contiguous; the first index is `(snapshot?.index ?? 0) + 1`, and none is `<= snapshot.index`. */
  entries: LogEntry[];
  /** Bytes of a torn or corrupt tail that recovery cut off (0 normally). */
  repairedBytes: number;
}

/**
 * The durable log. `append`, `truncateAfter` and `setHardState` only stage;
 * nothing is durable until the promise of a later `sync()` resolves, and Raft
 * must not send a message that depends on staged data before then.
 *
 * @example
 * storage.setHardState({ term: 3, votedFor: "n2" });
 * storage.append(entries);
 * await storage.sync(); // now reply to the vote request or the leader
 */
export interface LogStorage {
  /**
   * Stages entries in order. An entry whose index is `<=` the last staged index
   * first truncates the log from that index (Raft conflict resolution), then
   * appends. Indexes must otherwise be contiguous.
   * @throws {InvariantError} on a gap, an index at or below the newest snapshot, or a malformed entry.
   */
  append(entries: readonly LogEntry[]): void;
  /**
   * Stages the removal of every entry after `index`: once synced, recovery
   * never returns them, and the next append continues at `index + 1` (an
   * entry at a lower index truncates further, as in `append`). `index` must be
   * >= the newest snapshot's index and <= the last staged index (the log must
   * not end with a gap the snapshot does not cover); `index` equal to the last
   * staged index changes nothing.
   *
   * Its use is a follower installing the leader's snapshot at index I whose
   * term does not match the local entry at I: Raft section 7 discards the whole
   * log. Truncating and syncing BEFORE saving the snapshot leaves no crash
   * window: every crash point recovers either the old log, a prefix of it, or
   * the snapshot with no entries. Saving the snapshot first and truncating
   * after it is allowed too, but then a crash between the snapshot and the sync
   * recovers the snapshot followed by the stale entries. A snapshot beyond the
   * last entry needs no truncation: it already leaves no entries after it.
   * @throws {InvariantError} when `index` is not an integer, is below the
   * newest snapshot's index, or is past the last staged index.
   * @example
   * // The leader's snapshot conflicts with the local entry at snapshot.index.
   * storage.truncateAfter(snapshot.index);
   * await storage.sync();
   * await storage.saveSnapshot(snapshot); // now reply to the leader
   */
  truncateAfter(index: number): void;
  /**
   * Stages a new hard state.
   * @throws {InvariantError} when the term goes backwards or the node votes twice in one term.
   */
  setHardState(hardState: HardState): void;
  /**
   * Makes everything staged so far durable with one write and one fdatasync
   * (group commit). Calls are serialized: a call made while another sync runs
   * waits for it and then syncs what was staged since.
   */
  sync(): Promise<void>;
  /**
   * Durably stores a snapshot, then deletes older snapshots beyond the
   * {@link SNAPSHOTS_KEPT} newest and the log data that every kept snapshot
   * covers (so recovery can fall back to the older one). Entries after
   * `snapshot.index` stay readable after recovery (drop them with
   * {@link LogStorage.truncateAfter} when the snapshot conflicts with them). A
   * snapshot beyond the last entry (installed from a leader) makes the next
   * expected index `snapshot.index + 1`.
   * @throws {InvariantError} when the snapshot is older than the newest one stored.
   */
  saveSnapshot(snapshot: StoredSnapshot): Promise<void>;
  /**
   * Starts writing a snapshot a part at a time (the node's own, encoded between turns of the
   * event loop), outside the queue of log writes.
   */
  createSnapshotDraft(index: number, term: number): Promise<SnapshotDraft>;
  /**
   * Publishes a finished draft of this store, in order with the log writes: what
   * {@link LogStorage.saveSnapshot} does with the snapshot's bytes.
   * @throws {InvariantError} when the snapshot is older than the newest one stored, or the draft
   * is not finished or not this store's.
   */
  publishSnapshot(draft: SnapshotDraft): Promise<void>;
  /**
   * The newest snapshot stored (recovered, saved or published), its bytes read from the store on
   * demand; null when there is none. A source stays readable at least until two newer snapshots
   * are stored (then its file is deleted; a read fails).
   */
  readonly newestSnapshot: SnapshotRef | null;
  /** What the store occupies now. */
  diskUse(): StorageUse;
  /** Bytes staged but not yet synced (so the caller can bound its batches). */
  readonly pendingBytes: number;
  /** Waits for running operations and releases the store. Staged, unsynced data is dropped. */
  close(): Promise<void>;
}

/** An opened store and what it recovered. */
export interface OpenedLogStorage {
  storage: LogStorage;
  recovered: RecoveredLog;
}
