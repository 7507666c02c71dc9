/**
 * The orchestrator's persistence queue, with group commit: everything staged
 * while an fsync runs rides together in the next one, so throughput grows with
 * load instead of being capped at one fsync per entry (PLATFORM.md section 5:
 * ~3k syncs/s, but 150k+ records/s in batches).
 *
 * Jobs run strictly in order: a snapshot installed from the leader is saved
 * before the entries that follow it are appended. Each job's callback runs
 * once everything up to and including that job is durable — that is when the
 * messages promising durability (votes, acknowledgements) may go out.
 * @module
 */
import type { LogStorage, SnapshotDraft } from "../storage/mod.ts";
import type { NodeEffects, PeerOutbound } from "../core/mod.ts";
import { mergeDurableReplies } from "../core/mod.ts";

export interface PersistJob {
  persist: NodeEffects["persist"];
  /**
   * A local snapshot written a part at a time (SnapshotTaker), finished: published in this job's
   * turn, before its `persist`, ordered with the log writes like a snapshot in `persist`.
   */
  publish?: SnapshotDraft;
  /** Runs once this job is durable. */
  afterDurable: (() => void) | null;
  /**
   * Messages that promise durability (votes, acknowledgements), sent once this job is durable;
   * those of the jobs one sync made durable go out together, merged (mergeDurableReplies).
   */
  peerMessages?: readonly PeerOutbound[];
}

export class GroupCommit {
  readonly #storage: LogStorage;
  readonly #onDurable: (index: number, term: number) => void;
  readonly #onError: (error: unknown) => void;
  readonly #sendPeers: (messages: readonly PeerOutbound[]) => void;
  readonly #onSync: (seconds: number) => void;
  #queue: PersistJob[] = [];
  #last: { index: number; term: number } | null = null;
  #running = false;
  #failed = false;

  /**
   * @param onDurable called after each sync with the last entry made durable.
   * @param onError called when persisting fails; the node cannot continue safely.
   */
  constructor(
    storage: LogStorage,
    handlers: {
      onDurable: (index: number, term: number) => void;
      onError: (error: unknown) => void;
      /** Sends the jobs' peer messages once they are durable. */
      sendPeers?: (messages: readonly PeerOutbound[]) => void;
      /** Called with each durable write's duration in seconds (the fsync histogram). */
      onSync?: (seconds: number) => void;
    },
  ) {
    this.#storage = storage;
    this.#onDurable = handlers.onDurable;
    this.#onError = handlers.onError;
    this.#sendPeers = handlers.sendPeers ?? (() => {});
    this.#onSync = handlers.onSync ?? (() => {});
  }

  /** Queues a job; it is written with the others queued before the next sync starts. */
  enqueue(job: PersistJob): void {
    if (this.#failed) return;
    this.#queue.push(job);
    if (!this.#running) {
      this.#running = true;
      queueMicrotask(() => void this.#loop());
    }
  }

  async #loop(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const jobs = this.#queue;
        this.#queue = [];
        for (const job of jobs) {
          if (job.publish !== undefined) await this.#publish(job.publish);
          await this.#stage(job.persist);
        }
        await this.#sync();
        if (this.#last !== null) this.#onDurable(this.#last.index, this.#last.term);
        const messages = jobs.flatMap((job) => job.peerMessages ?? []);
        if (messages.length > 0) this.#sendPeers(mergeDurableReplies(messages));
        for (const job of jobs) job.afterDurable?.();
      }
    } catch (error) {
      this.#failed = true;
      this.#onError(error);
    } finally {
      this.#running = false;
    }
  }

  /** Syncs the storage, timing it. */
  async #sync(): Promise<void> {
    const startMs = performance.now();
    await this.#storage.sync();
    this.#onSync((performance.now() - startMs) / 1000);
  }

  async #publish(draft: SnapshotDraft): Promise<void> {
    // What earlier jobs staged belongs before the snapshot: make it durable first.
    if (this.#storage.pendingBytes > 0) await this.#sync();
    await this.#storage.publishSnapshot(draft);
    // A local snapshot can trail entries already written: the report never moves backwards.
    if (this.#last === null || draft.index > this.#last.index) {
      this.#last = { index: draft.index, term: draft.term };
    }
  }

  async #stage(persist: NodeEffects["persist"]): Promise<void> {
    const { snapshot, entries, hardState } = persist;
    if (snapshot !== null) {
      // A conflicting log goes first: a crash then leaves the old log, a prefix of it, or the
      // snapshot alone — never the snapshot followed by entries that disagree with it.
      if (snapshot.discardLog) this.#storage.truncateAfter(snapshot.index);
      // What earlier jobs staged belongs before the snapshot: make it durable first.
      if (this.#storage.pendingBytes > 0) await this.#sync();
      await this.#storage.saveSnapshot({
        index: snapshot.index,
        term: snapshot.term,
        data: snapshot.data,
      });
      // A snapshot from the leader that replaced the log ends it: the entries after it are gone,
      // so the report moves back to it. A local snapshot can trail entries already written:
      // then the report never moves backwards.
      if (snapshot.discardLog || this.#last === null || snapshot.index > this.#last.index) {
        this.#last = { index: snapshot.index, term: snapshot.term };
      }
    }
    if (hardState !== null) this.#storage.setHardState(hardState);
    if (entries.length > 0) {
      this.#storage.append(entries);
      const last = entries[entries.length - 1];
      this.#last = { index: last.index, term: last.term };
    }
  }
}
