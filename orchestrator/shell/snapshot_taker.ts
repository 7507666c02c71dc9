/**
 * Takes the local snapshots the node asks for (its `snapshotDue` effect): encodes the state
 * machine between turns of the event loop (so heartbeats and requests go on meanwhile), then
 * writes it through the persistence queue and tells the node. At most one runs at a time.
 * @module
 */
import type { Logger } from "../../shared/log.ts";
import type { OrchestratorNode, SnapshotDue } from "../core/mod.ts";
import { encodeSnapshotInSteps } from "../tasks/mod.ts";
import type { GroupCommit } from "./group_commit.ts";

/** What the snapshot taker needs from the server. */
export interface SnapshotPorts {
  logger: Logger;
  node(): OrchestratorNode;
  commit(): GroupCommit;
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
    void this.#takeSnapshot(due).catch((error) => this.#ports.die(error));
  }

  async #takeSnapshot(due: SnapshotDue): Promise<void> {
    const { index, term } = due;
    // The state at `index`, captured now and encoded a line at a time between turns of the event
    // loop, so that heartbeats and requests go on meanwhile (a large state takes seconds).
    let data: Uint8Array;
    try {
      data = await encodeSnapshotInSteps(due.state, () => {
        if (this.#ports.isStopped()) throw new SnapshotAbandoned();
        return yieldToEventLoop();
      });
    } catch (error) {
      this.#snapshotting = false;
      if (error instanceof SnapshotAbandoned) return;
      throw error;
    }
    if (this.#lastSnapshotIndex >= index) {
      // A snapshot from the leader at or past `index` was installed meanwhile: drop this one. (An
      // older one cannot replace applied state; and the state at `index` was committed, so a
      // snapshot of it stays true whatever happened to the live state since.)
      this.#snapshotting = false;
      return;
    }
    // Through the persistence queue, so it is ordered with the log writes around it.
    this.#ports.commit().enqueue({
      persist: { snapshot: { index, term, data, discardLog: false }, entries: [], hardState: null },
      afterDurable: () => {
        this.#snapshotting = false;
        this.#lastSnapshotIndex = index;
        this.#ports.node().snapshotTaken({ index, term, data });
        this.#ports.logger.info(`Snapshot at index ${index} (${data.length} bytes)`);
      },
    });
  }
}

/** Thrown into a snapshot being encoded when the server stops. */
class SnapshotAbandoned extends Error {}

/** Lets timers and I/O callbacks run before continuing. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
