/**
 * The log's commands (defined in shared/protocol/commands.ts, because
 * orchestrators exchange them) and what applying one produces.
 * @module
 */
export type {
  AccountConfigured,
  Command,
  LogEntry,
  Noop,
  SessionClosed,
  SessionOpened,
  Stamp,
  TaskAssigned,
  TaskCancelled,
  TaskFinished,
  TaskHandedBack,
  TaskStarted,
  TaskSubmitted,
  UserAdded,
  UserPasswordChanged,
  UserRemoved,
  WorkerDraining,
  WorkerJoined,
  WorkerLost,
} from "../../shared/protocol/commands.ts";

/** What applying one command produced, for the node that awaits it. */
export type ApplyResult =
  | { type: "ok" }
  | { type: "submitted"; taskId: string; duplicate: boolean }
  | { type: "rejected"; reason: string };
