/**
 * When an orchestrator takes its next snapshot. Pure, so the shell and the simulator share it.
 * @module
 */

/**
 * A snapshot is due after `everyEntries` applied entries, or after one entry per retained task
 * when that is more. A snapshot writes the whole state, so taking one every fixed number of
 * entries costs time proportional to the state size each time: quadratic over a long run (the
 * scale benchmark slowed down and lost leaders to snapshot pauses near 200,000 tasks).
 * Waiting for as many new entries as there are retained tasks keeps the cost proportional to
 * the work done, as Redis does for its append-only file rewrites, while the log replayed on
 * restart stays smaller than the snapshot (an entry is a fraction of a task's record).
 */
export function isSnapshotDue(
  state: { appliedIndex: number; retainedTasks: number },
  lastSnapshotIndex: number,
  everyEntries: number,
): boolean {
  return state.appliedIndex - lastSnapshotIndex >= Math.max(everyEntries, state.retainedTasks);
}
