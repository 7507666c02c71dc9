/**
 * Takes the local snapshots the node asks for (its `snapshotDue` effect): encodes the state
 * machine between turns of the event loop (so heartbeats and requests go on meanwhile), writing
 * each part to the snapshot's file as it is produced (a draft: the whole snapshot is never held
 * in memory), then publishes the file through the persistence queue, ordered with the log
 * writes, and hands the node the store's source for it. At most one runs at a time.
 * @module
 */
import type { Logger } from "../../shared/log.ts";
import type { OrchestratorNode, SnapshotDue } from "../core/mod.ts";
import type { LogStorage, SnapshotDraft } from "../storage/mod.ts";
import { encodeSnapshotParts } from "../tasks/mod.ts";
import type { GroupCommit } from "./group_commit.ts";

/** What the snapshot taker needs from the server. */
export interface SnapshotPorts {
  logger: Logger;
  node(): OrchestratorNode;
  commit(): GroupCommit;
  storage(): LogStorage;
  isStopped(): boolean;
  die(error: unknown): void;
}

export class SnapshotTaker {
  readonly #ports: SnapshotPorts;
  #lastSnapshotIndex = 0;
  #snapshotting = false;

  constructor(ports: SnapshotPorts) {
    this.#ports = ports;
  }

  /** Records a snapshot this node holds (recovered from disk, or installed from the leader). */
  noteSnapshot(index: number): void {
    this.#lastSnapshotIndex = Math.max(this.#lastSnapshotIndex, index);
  }

  /** Starts the snapshot the node asked for, unless one is still running (it asks again). */
  take(due: SnapshotDue): void {
    if (this.#snapshotting) return;
    this.#snapshotting = true;
    void this.#takeSnapshot(due).catch((error) => {
      this.#snapshotting = false;
      this.#ports.die(error);
    });
  }

  async #takeSnapshot(due: SnapshotDue): Promise<void> {
    const { index, term } = due;
    const written = await this.#write(due);
    if (written === null) {
      this.#snapshotting = false;
      return;
    }
    const { draft, bytes } = written;
    if (this.#lastSnapshotIndex >= index) {
      // A snapshot from the leader at or past `index` was installed meanwhile: drop this one. (An
      // older one cannot replace applied state; and the state at `index` was committed, so a
      // snapshot of it stays true whatever happened to the live state since.)
      this.#snapshotting = false;
      await draft.abandon();
      return;
    }
    // Through the persistence queue, so it is ordered with the log writes around it.
    this.#ports.commit().enqueue({
      persist: { snapshot: null, entries: [], hardState: null },
      publish: draft,
      afterDurable: () => {
        this.#snapshotting = false;
        this.#lastSnapshotIndex = index;
        const newest = this.#ports.storage().newestSnapshot;
        if (newest === null || newest.index < index) {
          throw new Error(`Snapshot ${index} was published but the store does not hold it`);
        }
        this.#ports.node().snapshotTaken(newest);
        this.#ports.logger.info(`Snapshot at index ${index}, term ${term} (${bytes} bytes)`);
      },
    });
  }

  /**
   * Encodes the state at `due.index` a line at a time between turns of the event loop, writing
   * each part to a draft as it comes; null when the server stopped meanwhile.
   */
  async #write(due: SnapshotDue): Promise<{ draft: SnapshotDraft; bytes: number } | null> {
    const parts = encodeSnapshotParts(due.state, () => {
      if (this.#ports.isStopped()) throw new SnapshotAbandoned();
      return yieldToEventLoop();
    });
    // The first step captures the state now, before anything is awaited (it changes meanwhile).
    const first = parts.next();
    let draft: SnapshotDraft;
    try {
      draft = await this.#ports.storage().createSnapshotDraft(due.index, due.term);
    } catch (error) {
      await parts.return(undefined);
      throw error;
    }
    let bytes = 0;
    try {
      for (let step = await first; !step.done; step = await parts.next()) {
        bytes += step.value.length;
        await draft.write(step.value);
      }
      await draft.finish();
    } catch (error) {
      // The draft's own error, if any, matters less than the one that stopped the write.
      await draft.abandon().catch(() => undefined);
      if (error instanceof SnapshotAbandoned) return null;
      throw error;
    }
    return { draft, bytes };
  }
}

/** Thrown into a snapshot being encoded when the server stops. */
class SnapshotAbandoned extends Error {}

/** Lets timers and I/O callbacks run before continuing. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
