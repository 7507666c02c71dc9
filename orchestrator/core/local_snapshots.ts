/**
 * When this node asks its shell for a local snapshot: once enough entries were applied since the
 * latest snapshot it holds (recovered at start, installed from the leader, or taken), by the
 * policy in isSnapshotDue.
 * @module
 */
import { isSnapshotDue, type TaskStateMachine } from "../tasks/mod.ts";
import type { SnapshotDue } from "./node_io.ts";

/** Asks remembered at most (the shell takes one snapshot at a time; older asks are moot). */
const ASKS_KEPT = 64;

export class LocalSnapshots {
  #lastIndex: number;
  /** Tasks in the latest snapshot this node holds or is taking (its size, for the policy). */
  #lastTasks: number;
  readonly #everyEntries: number;
  readonly #stagger: number;
  /** Task counts of the snapshots asked for and not yet held, by index. */
  readonly #asked = new Map<number, number>();

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
    this.#lastTasks = tasks ?? this.#asked.get(index) ?? this.#lastTasks;
    for (const asked of this.#asked.keys()) if (asked <= index) this.#asked.delete(asked);
  }

  /** The snapshot to ask for now, of `sm` as applied; null when none is due. */
  due(sm: TaskStateMachine): SnapshotDue | null {
    const state = { appliedIndex: sm.appliedIndex, tasksInLastSnapshot: this.#lastTasks };
    if (!isSnapshotDue(state, this.#lastIndex, this.#everyEntries, this.#stagger)) return null;
    // The size of the snapshot asked for: once it is taken, the next one waits in proportion to
    // it. (The shell takes one at a time and the node asks again meanwhile: each ask is noted.)
    this.#asked.set(sm.appliedIndex, sm.tasks.size);
    if (this.#asked.size > ASKS_KEPT) this.#asked.delete(this.#asked.keys().next().value!);
    return { index: sm.appliedIndex, term: sm.appliedTerm, state: sm };
  }
}
