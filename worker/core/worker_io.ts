/**
 * What the worker's core is given and what it asks of its shell: its options, its inputs (each
 * carrying its own time) and its effects.
 * @module
 */
import type {
  Heartbeat,
  OrchestratorToWorker,
  Outcome,
  OutputStream,
  TaskSpec,
  WorkerInfo,
  WorkerToOrchestrator,
} from "../../shared/protocol/messages.ts";

export interface WorkerCoreOptions {
  info: WorkerInfo;
  /** Heartbeat interval until the orchestrator says otherwise. */
  heartbeatIntervalMs: number;
  /** On shutdown, running attempts get this long to finish before they are handed back. */
  drainTimeoutMs: number;
  /** After handing back, how long to wait for outstanding result acknowledgements before exiting. */
  exitGraceMs?: number;
}

export type WorkerInput =
  | { type: "tick"; nowMs: number }
  /** The TCP connection is open and the orchestrator said welcome. */
  | { type: "connected"; nowMs: number }
  | { type: "disconnected"; nowMs: number }
  | { type: "message"; message: OrchestratorToWorker; nowMs: number }
  /** A task the shell started has ended (or was killed). */
  | { type: "taskExited"; taskId: string; attempt: number; outcome: Outcome; nowMs: number }
  /**
   * A running attempt wrote output (a handler's log or progress line, a program's stdout or
   * stderr as it comes): sent on in batches (see output_batches.ts) for `logs --follow`.
   */
  | {
    type: "output";
    taskId: string;
    attempt: number;
    stream: OutputStream;
    text: string;
    nowMs: number;
  }
  /** SIGINT/SIGTERM; a second one forces: hand back at once. */
  | { type: "shutdown"; nowMs: number }
  /**
   * The end of a turn of the shell's event loop: start reports held since are sent. An attempt
   * that ended meanwhile is reported once, its result standing for its start too.
   */
  | { type: "flush"; nowMs: number };

export interface WorkerEffects {
  /** Messages for the orchestrator's TCP connection (only produced while connected). */
  send: WorkerToOrchestrator[];
  /** Heartbeat to send by UDP to every orchestrator. */
  heartbeats: Heartbeat[];
  start: Array<{ taskId: string; attempt: number; spec: TaskSpec }>;
  kill: Array<{ taskId: string; attempt: number; reason: string }>;
  log: Array<{ level: "debug" | "info" | "warn"; message: string }>;
  /** Close the connection and connect again (the orchestrator went silent). */
  reconnect: boolean;
  /** Exit the process after flushing `send`. */
  exit: boolean;
}

/** No effects yet: what a step starts from. */
export function emptyEffects(): WorkerEffects {
  return { send: [], heartbeats: [], start: [], kill: [], log: [], reconnect: false, exit: false };
}
