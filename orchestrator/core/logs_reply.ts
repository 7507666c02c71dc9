/**
 * The answer to a `logs` request: a running task's live output from the offsets asked for (the
 * leader's view, live_output.ts), or a final task's output as its last attempt's result keeps it.
 * @module
 */
import {
  isFinalState,
  type LogText,
  type OrchestratorToClient,
} from "../../shared/protocol/messages.ts";
import type { TaskRecord } from "../tasks/mod.ts";
import type { LiveOutput } from "./live_output.ts";

type LogsReply = Extract<OrchestratorToClient, { type: "logs" }>;

/** What a `logs` request asks: offsets into `attempt`'s streams (absent: from their start). */
export interface LogsQuery {
  attempt?: number;
  stdoutOffset?: number;
  stderrOffset?: number;
}

/** The reply's body (the caller adds the envelope and `re`). */
export function logsReply(
  task: TaskRecord,
  live: LiveOutput,
  query: LogsQuery,
): Omit<LogsReply, "v" | "lamport" | "re"> {
  const base = { type: "logs" as const, taskId: task.id, state: task.state, attempt: task.attempt };
  if (isFinalState(task.state)) {
    const result = task.result;
    return {
      ...base,
      isFinal: true,
      // A tail that was cut starts at an offset nobody knows any more.
      stdout: finalText(result?.stdout ?? "", result?.stdoutTruncated === true),
      stderr: finalText(result?.stderr ?? "", result?.stderrTruncated === true),
      error: result?.error ?? null,
    };
  }
  // Offsets of another attempt mean nothing in this one: its streams start again at 0.
  const isSameAttempt = query.attempt === task.attempt;
  const from = {
    stdout: isSameAttempt ? query.stdoutOffset ?? 0 : 0,
    stderr: isSameAttempt ? query.stderrOffset ?? 0 : 0,
  };
  const read = (stream: "stdout" | "stderr"): LogText =>
    task.state === "running"
      ? live.read(task.id, task.attempt, stream, from[stream])
      : { offset: from[stream], text: "", next: from[stream] };
  return { ...base, isFinal: false, stdout: read("stdout"), stderr: read("stderr"), error: null };
}

function finalText(text: string, isTruncated: boolean): LogText {
  return { offset: isTruncated ? null : 0, text, next: null };
}
