/**
 * The client: a library to talk to a Mutirão cluster, and the `mutirao` CLI.
 * @module
 */
export * from "./api/mod.ts";
export { runCli, USAGE } from "./cli/run_cli.ts";
export { readSseEvents, type SseEvent } from "./cli/sse_events.ts";
