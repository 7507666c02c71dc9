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
 * stopped and the log grew for ever.
 *
 * One entry per such task (two in issue 12, with JSON snapshots costing several times more to
 * write): the log since the snapshot is what a restart replays and what every node holds in memory
 * besides the state, so it bounds both. Measured at 1,000,000 retained tasks with two: a follower
 * was ready after 9.4 s and the whole cluster answered after 20.3 s, with 950 bytes of live heap
 * per task; a binary snapshot costs about 3 µs per task to encode, so one entry per task pays
 * that once per entry.
 */
export const SNAPSHOT_ENTRIES_PER_RETAINED_TASK = 1;

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
