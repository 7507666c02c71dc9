/**
 * `purge`: an admin removes finished tasks matching a filter now (owner, final states, finished at
 * least so long ago). The leader picks up to `limit` of them, oldest finished first, and proposes
 * their removal; the reply (when it applies) says how many matched and how many were removed, so
 * the client repeats until none is left. Queued and running tasks never match, and the state
 * machine skips any that are no longer finished when the entry applies.
 * @module
 */
import type { Caller } from "./account_requests.ts";
import type { ConnId } from "./node_io.ts";
import type { Pending } from "./pending_replies.ts";
import type { Command, Stamp, TaskStateMachine } from "../tasks/mod.ts";
import type { TaskState } from "../../shared/protocol/messages.ts";
import { PURGE_LIMIT_MAX } from "../../shared/protocol/client_requests.ts";
import type {
  ClientToOrchestrator,
  OrchestratorToClient,
  Unstamped,
} from "../../shared/protocol/messages.ts";

type PurgeRequest = Extract<ClientToOrchestrator, { type: "purge" }>;

/** What the purge needs from the node. */
export interface PurgeContext {
  sm(): TaskStateMachine;
  nowMs(): number;
  stamp(): Stamp;
  proposeFor(pending: Pending, command: Command): void;
  send(conn: ConnId, message: Unstamped<Extract<OrchestratorToClient, { type: "purged" }>>): void;
}

/**
 * The finished tasks a purge filter matches: how many, and the oldest `limit` of them. Without an
 * age the count comes from the state counts, and the walk stops once `limit` are chosen; with one,
 * the walk (in finish order) stops at the first task finished too recently, so a request costs
 * the tasks it can remove, not every task kept.
 */
export function matchPurge(
  sm: TaskStateMachine,
  request: Pick<PurgeRequest, "states" | "owner" | "olderThanMs" | "limit">,
  nowMs: number,
): { matched: number; chosen: string[] } {
  const limit = request.limit ?? PURGE_LIMIT_MAX;
  const states = new Set<TaskState>(request.states ?? FINAL_STATES);
  const queue = request.owner === undefined
    ? sm.finishedOrder.all
    : sm.finishedOrder.ofOwner(request.owner);
  const chosen: string[] = [];
  const olderThanMs = request.olderThanMs;
  let matched = 0;
  for (const id of queue?.live((id) => sm.tasks.has(id)) ?? []) {
    const task = sm.tasks.get(id)!;
    if (olderThanMs !== undefined && nowMs - (task.finishedAtMs ?? nowMs) < olderThanMs) break;
    if (!states.has(task.state)) continue;
    matched += 1;
    if (chosen.length < limit) chosen.push(id);
    else if (olderThanMs === undefined) break; // the count comes from the state counts
  }
  if (olderThanMs === undefined) {
    const counts = request.owner === undefined ? sm.counts : sm.countsByOwner.get(request.owner);
    matched = 0;
    for (const state of states) matched += counts?.[state] ?? 0;
  }
  return { matched, chosen };
}

const FINAL_STATES = ["succeeded", "failed", "cancelled", "expired"] as const;

/** Serves an admin's purge (the caller's role was checked). */
export function purge(
  ctx: PurgeContext,
  conn: ConnId,
  request: PurgeRequest,
  caller: Caller,
): void {
  const { matched, chosen } = matchPurge(ctx.sm(), request, ctx.nowMs());
  if (request.dryRun === true || chosen.length === 0) {
    ctx.send(conn, {
      type: "purged",
      re: request.id,
      matched,
      removed: 0,
      dryRun: request.dryRun ?? false,
    });
    return;
  }
  ctx.proposeFor({ kind: "purge", conn, requestId: request.id, matched }, {
    type: "tasksRemoved",
    taskIds: chosen,
    reason: "purge",
    by: caller.user,
    ...ctx.stamp(),
  });
}
