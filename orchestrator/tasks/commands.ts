/**
 * Commands: the entries of the orchestrator's replicated log. Every change to
 * orchestrator state is one of these, applied by the state machine in log
 * order on every replica. A command carries everything its application needs
 * (times, ids, Lamport stamps), so applying the same log always gives the same
 * state.
 * @module
 */
import type { Outcome, TaskSpec } from "../../shared/protocol/messages.ts";

/** Where an event came from: its Lamport time and the node that produced it. */
export interface Stamp {
  /** Wall-clock time on the proposing orchestrator, for display only. */
  atMs: number;
  lamport: number;
  node: string;
}

/** A user logged in; only the token's SHA-256 is kept. */
export interface SessionOpened {
  type: "sessionOpened";
  tokenHash: string;
  user: string;
  expiresAtMs: number;
  atMs: number;
}

/** A user logged out (or a token was revoked). */
export interface SessionClosed {
  type: "sessionClosed";
  tokenHash: string;
  atMs: number;
}

export interface TaskSubmitted extends Stamp {
  type: "taskSubmitted";
  owner: string;
  idempotencyKey: string;
  spec: TaskSpec;
  maxAttempts: number;
}

/** The scheduler placed attempt `attempt` of a queued task on a worker. */
export interface TaskAssigned extends Stamp {
  type: "taskAssigned";
  taskId: string;
  attempt: number;
  workerId: string;
  incarnation: string;
}

/** The worker confirmed it began the attempt (stamped by the worker). */
export interface TaskStarted extends Stamp {
  type: "taskStarted";
  taskId: string;
  attempt: number;
  workerId: string;
}

/** The worker reported the attempt's outcome (stamped by the worker). */
export interface TaskFinished extends Stamp {
  type: "taskFinished";
  taskId: string;
  attempt: number;
  workerId: string;
  outcome: Outcome;
}

export interface TaskCancelled extends Stamp {
  type: "taskCancelled";
  taskId: string;
  by: string;
}

/** The worker gave the attempt back unfinished; the task is requeued as a new attempt. */
export interface TaskHandedBack extends Stamp {
  type: "taskHandedBack";
  taskId: string;
  attempt: number;
  workerId: string;
  reason: string;
}

/** A worker incarnation registered. A different live incarnation of the same worker is replaced. */
export interface WorkerJoined extends Stamp {
  type: "workerJoined";
  workerId: string;
  incarnation: string;
  slots: number;
  canExec: boolean;
}

/** The worker is shutting down: it keeps its running attempts but gets nothing new. */
export interface WorkerDraining extends Stamp {
  type: "workerDraining";
  workerId: string;
  incarnation: string;
}

/** The worker incarnation is gone (missed heartbeats, or left); its attempts are requeued. */
export interface WorkerLost extends Stamp {
  type: "workerLost";
  workerId: string;
  incarnation: string;
  reason: string;
}

/** Changes nothing; a new leader commits one to learn what is committed (Raft section 5.4.2). */
export interface Noop {
  type: "noop";
  atMs: number;
}

/** Every command of the log. */
export type Command =
  | SessionOpened
  | SessionClosed
  | TaskSubmitted
  | TaskAssigned
  | TaskStarted
  | TaskFinished
  | TaskCancelled
  | TaskHandedBack
  | WorkerJoined
  | WorkerDraining
  | WorkerLost
  | Noop;

/** A command at its place in the log. `term` is the Raft term that created it. */
export interface LogEntry {
  index: number;
  term: number;
  command: Command;
}

/** What applying one command produced, for the node that awaits it. */
export type ApplyResult =
  | { type: "ok" }
  | { type: "submitted"; taskId: string; duplicate: boolean }
  | { type: "rejected"; reason: string };
