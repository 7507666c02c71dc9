/**
 * When this node asks its shell for a local snapshot: once enough entries were applied since the
 * latest snapshot it holds (recovered at start, installed from the leader, or taken), by the
 * policy in isSnapshotDue.
 * @module
 */
import { isSnapshotDue, type TaskStateMachine } from "../tasks/mod.ts";
import type { SnapshotDue } from "./node_io.ts";

export class LocalSnapshots {
  #lastIndex: number;
  readonly #everyEntries: number;

  /** @param lastIndex the index of the snapshot recovered at start (0: none). */
  constructor(lastIndex: number, everyEntries: number) {
    this.#lastIndex = lastIndex;
    this.#everyEntries = everyEntries;
  }

  /** This node now holds a snapshot at `index` (installed from the leader, or taken). */
  held(index: number): void {
    this.#lastIndex = Math.max(this.#lastIndex, index);
  }

  /** The snapshot to ask for now, of `sm` as applied; null when none is due. */
  due(sm: TaskStateMachine): SnapshotDue | null {
    const state = { appliedIndex: sm.appliedIndex, retainedTasks: sm.tasks.size };
    if (!isSnapshotDue(state, this.#lastIndex, this.#everyEntries)) return null;
    return { index: sm.appliedIndex, term: sm.appliedTerm, state: sm };
  }
}
