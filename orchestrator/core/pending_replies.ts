/**
 * Replies owed once a proposed entry is applied: the node proposes a command for a request and
 * remembers here, by log index, whom to answer and how. Applying that entry resolves the reply
 * from the apply result, so every replica would agree on it; losing leadership abandons them
 * all with "not leader" (the proposals may or may not commit under the new leader: callers
 * retry, idempotently).
 * @module
 */
import { assert, assertNever } from "../../shared/assert.ts";
import type { TaskRef } from "../../shared/protocol/messages.ts";
import type { ApplyResult, TaskStateMachine } from "../tasks/mod.ts";
import type { ConnId } from "./node_io.ts";
import type { NodeOutput } from "./node_output.ts";
import { viewTask } from "./view_task.ts";

/** A batch submission waiting for all its entries to apply. */
export interface BatchReply {
  conn: ConnId;
  requestId: number;
  results: Array<{ taskId: string; duplicate: boolean; error?: string }>;
  /** Entries still to apply; -1 once the batch was answered otherwise (not leader). */
  remaining: number;
}

/** A reply owed once the entry at some index is applied. */
export type Pending =
  | { kind: "submit"; conn: ConnId; requestId: number }
  | {
    kind: "submitBatchItem";
    conn: ConnId;
    requestId: number;
    batch: BatchReply;
    position: number;
  }
  | {
    kind: "login";
    conn: ConnId;
    requestId: number;
    user: string;
    token: string;
    expiresAtMs: number;
  }
  | { kind: "logout"; conn: ConnId; requestId: number }
  /** Replies `done` with `message` when applied, or `conflict` with the rejection's reason. */
  | { kind: "done"; conn: ConnId; requestId: number; message: string }
  | { kind: "cancel"; conn: ConnId; requestId: number; taskId: string }
  /** A purge: `matched` finished tasks matched its filter when it was proposed. */
  | { kind: "purge"; conn: ConnId; requestId: number; matched: number }
  | { kind: "register"; conn: ConnId; workerId: string; running: TaskRef[] };

/** What resolving a reply needs from the node. */
export interface PendingContext {
  out: NodeOutput;
  sm(): TaskStateMachine;
  /** Confirms a worker's registration once its entry applied (see WorkerLinks). */
  completeRegistration(conn: ConnId, workerId: string, running: readonly TaskRef[]): void;
}

export class PendingReplies {
  readonly #byIndex = new Map<number, Pending>();

  /** Remembers the reply owed when the entry at `index` applies. */
  add(index: number, pending: Pending): void {
    this.#byIndex.set(index, pending);
  }

  /** Removes and returns the reply owed for `index`, if any. */
  take(index: number): Pending | undefined {
    const pending = this.#byIndex.get(index);
    if (pending !== undefined) this.#byIndex.delete(index);
    return pending;
  }

  /**
   * Leadership was lost: tells every waiting request (once per batch) with `refuse`, and
   * forgets every reply, registrations included (their workers are disconnected).
   */
  abandon(refuse: (conn: ConnId, requestId: number) => void): void {
    for (const pending of this.#byIndex.values()) {
      if (pending.kind === "register") continue;
      if (pending.kind === "submitBatchItem") {
        if (pending.batch.remaining < 0) continue; // this batch was already answered
        pending.batch.remaining = -1;
      }
      refuse(pending.conn, pending.requestId);
    }
    this.#byIndex.clear();
  }
}

/** Sends the reply `pending` owes, now that its entry applied with `result`. */
export function resolvePending(ctx: PendingContext, pending: Pending, result: ApplyResult): void {
  const { out } = ctx;
  switch (pending.kind) {
    case "submitBatchItem": {
      const { batch } = pending;
      batch.results[pending.position] = result.type === "submitted"
        ? { taskId: result.taskId, duplicate: result.duplicate }
        : result.type === "rejected"
        ? { taskId: "", duplicate: false, error: result.reason }
        : { taskId: "", duplicate: false };
      batch.remaining -= 1;
      if (batch.remaining === 0) {
        out.send(pending.conn, {
          type: "submitBatchOk",
          re: pending.requestId,
          results: batch.results,
        });
      }
      break;
    }
    case "submit":
      if (result.type === "submitted") {
        out.send(pending.conn, {
          type: "submitOk",
          re: pending.requestId,
          taskId: result.taskId,
          duplicate: result.duplicate,
        });
      } else if (result.type === "rejected") {
        // Its idempotency key was used for a different task (decided at apply, so every
        // replica agrees).
        out.sendError(pending.conn, pending.requestId, "conflict", result.reason);
      } else {
        out.sendError(pending.conn, pending.requestId, "internal", "Submission was not applied");
      }
      break;
    case "login":
      if (result.type === "rejected") {
        // The password was right for an account that changed meanwhile: check it again.
        out.sendError(
          pending.conn,
          pending.requestId,
          "unavailable",
          `Cannot log in as "${pending.user}": ${result.reason}; retry`,
        );
        break;
      }
      out.send(pending.conn, {
        type: "loginOk",
        re: pending.requestId,
        user: pending.user,
        token: pending.token,
        expiresAtMs: pending.expiresAtMs,
      });
      break;
    case "logout":
      out.send(pending.conn, { type: "logoutOk", re: pending.requestId });
      break;
    case "done":
      if (result.type === "rejected") {
        out.sendError(pending.conn, pending.requestId, "conflict", `Not done: ${result.reason}`);
      } else {
        out.send(pending.conn, { type: "done", re: pending.requestId, message: pending.message });
      }
      break;
    case "cancel": {
      const sm = ctx.sm();
      const task = sm.tasks.get(pending.taskId);
      assert(task !== undefined, `cancelled task ${pending.taskId} is not in the state`);
      if (result.type === "ok" || task.state === "cancelled") {
        out.send(pending.conn, { type: "task", re: pending.requestId, task: viewTask(sm, task) });
      } else {
        out.sendError(
          pending.conn,
          pending.requestId,
          "conflict",
          `Cannot cancel task ${pending.taskId}: it is already ${task.state}`,
        );
      }
      break;
    }
    case "purge":
      out.send(pending.conn, {
        type: "purged",
        re: pending.requestId,
        matched: pending.matched,
        removed: result.type === "removed" ? result.removed : 0,
        dryRun: false,
      });
      break;
    case "register":
      ctx.completeRegistration(pending.conn, pending.workerId, pending.running);
      break;
    default:
      assertNever(pending, "unknown pending reply");
  }
}
