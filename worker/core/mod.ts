/**
 * The worker's pure core.
 * @module
 */
export { WorkerCore } from "./worker_core.ts";
export type { WorkerCoreOptions, WorkerEffects, WorkerInput } from "./worker_core.ts";
