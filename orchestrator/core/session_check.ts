/**
 * Who a session token hash stands for in this node's replicated state, and how a node refuses one
 * it cannot vouch for: shared by client requests (client_requests.ts) and the HTTP event stream.
 * @module
 */
import type { ErrorCode } from "../../shared/errors.ts";
import type { TaskStateMachine } from "../tasks/mod.ts";
import type { Caller } from "./account_requests.ts";

/** The caller behind a token hash in `sm`, or why there is none. */
export function checkSession(
  sm: Pick<TaskStateMachine, "sessions" | "roleOf">,
  at: { tokenHash: string; nowMs: number },
): Caller | string {
  const session = sm.sessions.get(at.tokenHash);
  if (session === undefined) return "Unknown session token; log in again";
  if (session.expiresAtMs <= at.nowMs) return "Session token expired; log in again";
  // The role is read now, not at login: a demoted or removed user loses its rights at once.
  const role = sm.roleOf(session.user);
  if (role === null) return "The session's user no longer exists";
  return { user: session.user, role };
}

/**
 * How a node answers a session it refused (`reason`, from checkSession). Only a leader that
 * serves clients answers "unauthenticated": any other node may simply not have applied the session
 * yet (a login acknowledged a moment ago), so it answers "unavailable, retry" instead.
 */
export function sessionRefusal(
  reason: string,
  node: { canServeClients: boolean; nodeId: string },
): { code: ErrorCode; message: string } {
  if (node.canServeClients) return { code: "unauthenticated", message: reason };
  return {
    code: "unavailable",
    message: `Orchestrator ${node.nodeId} does not know this session yet (it may be behind ` +
      `the leader); retry`,
  };
}
