/**
 * When an orchestrator takes its next snapshot. Pure, so the shell and the simulator share it.
 * @module
 */

/**
 * Applied entries per task of the previous snapshot before the next one, once the state is large.
 * A snapshot writes the whole state, so taking one every fixed number of entries costs time
 * proportional to the state size each time: quadratic over a long run (the scale benchmark slowed
 * down and lost leaders to snapshot pauses near 200,000 tasks). Waiting for a log as long as a
 * multiple of what the previous snapshot held keeps the cost proportional to the work done, as
 * Redis does for its append-only file rewrites (it rewrites once the file doubled). Measured
 * against the previous snapshot, not the tasks retained now: tasks grow with the log, and a log of
 * submissions alone (no worker, one entry per task) never caught up with them, so snapshots
 * stopped and the log grew for ever. Two entries per such task: a new task then pays for encoding
 * about one retained task in a snapshot, not three (a sixth of a leader's time under load before,
 * issue 12), and the log replayed on restart stays about as large as the snapshot.
 */
export const SNAPSHOT_ENTRIES_PER_RETAINED_TASK = 2;

/**
 * A snapshot is due after `everyEntries` applied entries, or after
 * {@link SNAPSHOT_ENTRIES_PER_RETAINED_TASK} entries per task the previous snapshot held when that
 * is more, stretched by `stagger` (a fraction below 1, different on each node): replicas apply the
 * same entries, and without it every one of them would snapshot at the same moment.
 */
export function isSnapshotDue(
  state: { appliedIndex: number; tasksInLastSnapshot: number },
  lastSnapshotIndex: number,
  everyEntries: number,
  stagger = 0,
): boolean {
  const threshold = Math.max(
    everyEntries,
    SNAPSHOT_ENTRIES_PER_RETAINED_TASK * state.tasksInLastSnapshot,
  );
  return state.appliedIndex - lastSnapshotIndex >= Math.round(threshold * (1 + stagger));
}

/**
 * A node's stagger for {@link isSnapshotDue}: a fraction in [0, 0.45] from its id, so that the
 * nodes of a cluster (o1, o2, o3, …) snapshot at different entries. Deterministic: a node always
 * gets the same one.
 */
export function snapshotStagger(nodeId: string): number {
  let sum = 0;
  for (let i = 0; i < nodeId.length; i++) sum += nodeId.charCodeAt(i);
  return (sum % 10) / 20;
}
