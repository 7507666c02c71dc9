/**
 * The worker: its pure core, its runtime shell, handlers (user code serving task kinds), and
 * `runWorker` to run one inside your own program.
 * @module
 */
export * from "./core/mod.ts";
export { WorkerRuntime } from "./shell/worker_runtime.ts";
export type { WorkerRuntimeOptions } from "./shell/worker_runtime.ts";
export { runTask } from "./shell/task_runner.ts";
export type { RunningTask, RunTaskOptions } from "./shell/task_runner.ts";
export { loadHandlers, validateHandlers } from "./shell/handlers.ts";
export type { Handler, HandlerContext, Handlers } from "./shell/handlers.ts";
export { runHandler } from "./shell/handler_runner.ts";
export type { HandlerRunOptions } from "./shell/handler_runner.ts";
export { runWorker } from "./shell/run_worker.ts";
export type { RunningWorker, RunWorkerOptions } from "./shell/run_worker.ts";
