/**
 * Every wire message, defined once. Each message is a schema (which the codec
 * uses to validate every field) and the TypeScript type inferred from it.
 * Messages are unions tagged by `type`; every one carries the protocol version
 * `v` and the sender's Lamport time `lamport`.
 *
 * Directions:
 * - {@link ClientToOrchestrator}, {@link OrchestratorToClient}: the client API over TCP.
 * - {@link WorkerToOrchestrator}, {@link OrchestratorToWorker}: task dispatch over TCP.
 * - {@link Heartbeat}: worker liveness over UDP, on the orchestrator's port number.
 *
 * This module is the one importers use; the schemas live by concern beside it:
 * - `task_schemas.ts`: task states, specs, outcomes, history, task and worker views.
 * - `connection_messages.ts`: hello, authenticate, welcome and keepalive.
 * - `client_requests.ts` and `client_replies.ts`: the client API.
 * - `worker_messages.ts`: task dispatch between workers and orchestrators.
 * - `datagrams.ts`: heartbeats and leader announcements over UDP.
 * @module
 */
export * from "./task_schemas.ts";
export * from "./connection_messages.ts";
export * from "./client_requests.ts";
export * from "./client_replies.ts";
export * from "./worker_messages.ts";
export * from "./datagrams.ts";

/** A message without its envelope, for building one: the sender adds `v` and `lamport`. */
export type Unstamped<M> = M extends unknown ? Omit<M, "v" | "lamport"> : never;
