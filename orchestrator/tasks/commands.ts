/**
 * The log's commands (defined in shared/protocol/commands.ts, because
 * orchestrators exchange them) and what applying one produces.
 * @module
 */
import type { Command } from "../../shared/protocol/commands.ts";

export type {
  AccountConfigured,
  Command,
  LogEntry,
  Noop,
  ScheduledTask,
  ScheduleFired,
  SchedulePaused,
  ScheduleRemoved,
  ScheduleSet,
  SessionClosed,
  SessionOpened,
  Stamp,
  TaskAssigned,
  TaskCancelled,
  TaskFinished,
  TaskHandedBack,
  TasksExpired,
  TasksRemoved,
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
  | { type: "removed"; removed: number }
  | { type: "expired"; expired: number }
  | { type: "fired"; taskId: string | null }
  | { type: "rejected"; reason: string };

/**
 * The command a new Raft leader appends in its own term (`RaftOptions.noopCommand`): applying it
 * changes nothing; `atMs` records when that leader took over.
 */
export function noopCommand(atMs: number): Command {
  return { type: "noop", atMs };
}
