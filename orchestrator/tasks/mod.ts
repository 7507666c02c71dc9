/**
 * The task state machine: commands, state, snapshots, invariants and views.
 * @module
 */
export * from "./commands.ts";
export * from "./records.ts";
export { TaskQueue } from "./task_queue.ts";
export { TaskMetrics } from "./task_metrics.ts";
export { historyOf } from "./task_history.ts";
export type { PackedHistory } from "./task_history.ts";
export { capacityOf } from "./worker_commands.ts";
export { scheduledTaskKey, scheduleKey } from "./schedule_commands.ts";
export {
  ACCOUNT_CHANGED,
  LAST_ADMIN,
  SESSIONS_PER_USER_MAX,
  TaskStateMachine,
  workerRuns,
} from "./task_state_machine.ts";
export {
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotInSteps,
  encodeSnapshotParts,
  isRestorableSnapshot,
  restorableSnapshotPosition,
  restoreSnapshot,
  SNAPSHOT_FORMAT,
  takeSnapshot,
} from "./state_snapshot.ts";
export type { StateSnapshot } from "./state_snapshot.ts";
export { findInvariantViolations } from "./invariants.ts";
export {
  isSnapshotDue,
  SNAPSHOT_ENTRIES_PER_RETAINED_TASK,
  snapshotStagger,
} from "./snapshot_policy.ts";
export { listTaskPage, listTasks, toTaskSummary, toTaskView, toWorkerView } from "./views.ts";
export type { TaskPage } from "./views.ts";
