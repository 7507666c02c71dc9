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
   * The first ask since the latest snapshot held, with the task count then: the one the shell
   * takes (it is idle exactly from one held snapshot to the next ask; the asks it gets while it
   * takes that one are ignored). Remembering every ask in a bounded map lost that one under load
   * (each step asks again while a large snapshot is written): the next threshold then came from
   * a much older, smaller snapshot, and a leader with 1,000,000 retained tasks snapshotted 240 MB
   * every 250,000 entries instead of every 2,000,000.
   */
  #firstAsk: { index: number; tasks: number } | null = null;

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
    const ask = this.#firstAsk;
    this.#lastTasks = tasks ?? (ask !== null && ask.index <= index ? ask.tasks : this.#lastTasks);
    if (ask !== null && ask.index <= index) this.#firstAsk = null;
  }

  /** The snapshot to ask for now, of `sm` as applied; null when none is due. */
  due(sm: TaskStateMachine): SnapshotDue | null {
    const state = { appliedIndex: sm.appliedIndex, tasksInLastSnapshot: this.#lastTasks };
    if (!isSnapshotDue(state, this.#lastIndex, this.#everyEntries, this.#stagger)) return null;
    // The size of the snapshot asked for: once it is taken, the next one waits in proportion to
    // it. (The shell takes one at a time and the node asks again meanwhile: see #firstAsk.)
    this.#firstAsk ??= { index: sm.appliedIndex, tasks: sm.tasks.size };
    return { index: sm.appliedIndex, term: sm.appliedTerm, state: sm };
  }
}
