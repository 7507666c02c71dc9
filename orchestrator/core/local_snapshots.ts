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
  /** Tasks in the latest snapshot this node holds or is taking (its size, for the policy). */
  #lastTasks: number;
  readonly #everyEntries: number;
  readonly #stagger: number;

  /**
   * @param recovered the snapshot recovered at start: its index (0: none) and its task count.
   * @param stagger this node's share of extra entries to wait (see snapshotStagger).
   */
  constructor(
    recovered: { index: number; tasks: number },
    everyEntries: number,
    stagger = 0,
  ) {
    this.#lastIndex = recovered.index;
    this.#lastTasks = recovered.tasks;
    this.#everyEntries = everyEntries;
    this.#stagger = stagger;
  }

  /**
   * This node now holds a snapshot at `index` (installed from the leader, or taken), of `tasks`
   * tasks when known (a taken one's count was noted when it was asked for).
   */
  held(index: number, tasks?: number): void {
    if (index <= this.#lastIndex) return;
    this.#lastIndex = index;
    if (tasks !== undefined) this.#lastTasks = tasks;
  }

  /** The snapshot to ask for now, of `sm` as applied; null when none is due. */
  due(sm: TaskStateMachine): SnapshotDue | null {
    const state = { appliedIndex: sm.appliedIndex, tasksInLastSnapshot: this.#lastTasks };
    if (!isSnapshotDue(state, this.#lastIndex, this.#everyEntries, this.#stagger)) return null;
    // The size of the snapshot now asked for: the next one waits in proportion to it.
    this.#lastTasks = sm.tasks.size;
    return { index: sm.appliedIndex, term: sm.appliedTerm, state: sm };
  }
}
