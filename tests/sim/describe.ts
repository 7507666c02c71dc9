/**
 * One-line descriptions of messages and commands for the trace: enough to
 * follow a run by eye, short enough to keep every line.
 * @module
 */
import type { Command } from "../../orchestrator/tasks/mod.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";

/** A Raft message in a few words. */
export function describePeer(m: PeerMessage): string {
  switch (m.type) {
    case "requestVote":
      return `${
        m.preVote ? "preVote" : "requestVote"
      } t${m.term} last ${m.lastLogIndex}/${m.lastLogTerm}`;
    case "voteResponse":
      return `${m.preVote ? "preVote" : "vote"}${m.granted ? "Granted" : "Denied"} t${m.term}`;
    case "appendEntries": {
      const entries = m.entries.length === 0
        ? ""
        : ` [${m.entries[0].index}..${m.entries.at(-1)!.index}]`;
      return `append t${m.term} prev ${m.prevLogIndex}/${m.prevLogTerm}${entries} commit ${m.leaderCommit}`;
    }
    case "appendResponse":
      return `appendResp t${m.term} ${
        m.success ? `ok ${m.matchIndex}` : `reject ${m.conflictIndex}`
      }`;
    case "installSnapshot":
      return `installSnapshot t${m.term} at ${m.snapshotIndex}/${m.snapshotTerm} off ${m.offset}` +
        `${m.done ? " done" : ""}`;
    case "snapshotResponse":
      return `snapshotResp t${m.term} at ${m.snapshotIndex} got ${m.received}${
        m.done ? " done" : ""
      }`;
  }
}

/** A log command in a few words. */
export function describeCommand(c: Command): string {
  switch (c.type) {
    case "taskSubmitted":
      return `submit ${c.owner}/${c.idempotencyKey}`;
    case "taskAssigned":
      return `assign ${c.taskId}#${c.attempt} -> ${c.workerId}`;
    case "taskStarted":
      return `start ${c.taskId}#${c.attempt}`;
    case "taskFinished":
      return `finish ${c.taskId}#${c.attempt} ${c.outcome.status}`;
    case "taskCancelled":
      return `cancel ${c.taskId}`;
    case "taskHandedBack":
      return `handBack ${c.taskId}#${c.attempt}`;
    case "workerJoined":
      return `join ${c.workerId}/${c.incarnation}`;
    case "workerDraining":
      return `drain ${c.workerId}`;
    case "workerLost":
      return `lost ${c.workerId}/${c.incarnation}`;
    case "sessionOpened":
      return `login ${c.user}`;
    case "sessionClosed":
      return "logout";
    default:
      return c.type;
  }
}

/** A client or worker message in a few words (type plus its most telling fields). */
export function describeMessage(m: { type: string } & Record<string, unknown>): string {
  const parts = [m.type];
  for (const key of ["re", "id", "code", "taskId", "attempt", "idempotencyKey", "duplicate"]) {
    if (m[key] !== undefined && m[key] !== null) parts.push(`${key}=${String(m[key])}`);
  }
  if (m.type === "task" && typeof m.task === "object" && m.task !== null) {
    const task = m.task as { id: string; state: string };
    parts.push(`${task.id}:${task.state}`);
  }
  return parts.join(" ");
}
