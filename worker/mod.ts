/**
 * The worker: its pure core and its runtime shell.
 * @module
 */
export * from "./core/mod.ts";
export { WorkerRuntime } from "./shell/worker_runtime.ts";
export type { WorkerRuntimeOptions } from "./shell/worker_runtime.ts";
export { runTask } from "./shell/task_runner.ts";
export type { RunningTask } from "./shell/task_runner.ts";
