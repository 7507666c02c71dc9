/**
 * Takes local snapshots: once enough entries have been applied since the last one, encodes the
 * state machine between turns of the event loop (so heartbeats and requests go on meanwhile),
 * then writes it through the persistence queue and tells the node. At most one runs at a time.
 * @module
 */
import type { Logger } from "../../shared/log.ts";
import type { OrchestratorNode } from "../core/mod.ts";
import { encodeSnapshotInSteps, isSnapshotDue, type TaskStateMachine } from "../tasks/mod.ts";
import type { GroupCommit } from "./group_commit.ts";

/** What the snapshot taker needs from the server. */
export interface SnapshotPorts {
  snapshotEveryEntries: number;
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

  /** Starts a snapshot if one is due and none is running. */
  maybeSnapshot(): void {
    const sm = this.#ports.node().sm;
    if (this.#snapshotting) return;
    const state = { appliedIndex: sm.appliedIndex, retainedTasks: sm.tasks.size };
    if (!isSnapshotDue(state, this.#lastSnapshotIndex, this.#ports.snapshotEveryEntries)) {
      return;
    }
    this.#snapshotting = true;
    void this.#takeSnapshot(sm).catch((error) => this.#ports.die(error));
  }

  async #takeSnapshot(sm: TaskStateMachine): Promise<void> {
    const index = sm.appliedIndex;
    const term = sm.appliedTerm;
    // The state at `index`, encoded a line at a time between turns of the event loop, so that
    // heartbeats and requests go on meanwhile (a large state takes seconds to encode).
    let data: Uint8Array;
    try {
      data = await encodeSnapshotInSteps(sm, () => {
        if (this.#ports.isStopped()) throw new SnapshotAbandoned();
        return yieldToEventLoop();
      });
    } catch (error) {
      this.#snapshotting = false;
      if (error instanceof SnapshotAbandoned) return;
      throw error;
    }
    if (this.#ports.node().sm !== sm || this.#lastSnapshotIndex >= index) {
      // A newer snapshot from the leader replaced this state meanwhile: drop this one.
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
