/**
 * The pure scheduler: round robin and least loaded, both slot-aware.
 * @module
 */
export { planAssignments } from "./plan_assignments.ts";
export { SCHEDULER_POLICIES } from "./scheduler_types.ts";
export type {
  Assignment,
  ConcurrencyLimits,
  PlanInput,
  SchedulableTask,
  SchedulableWorker,
  SchedulerPolicy,
} from "./scheduler_types.ts";
