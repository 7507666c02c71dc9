/**
 * Who a session token hash stands for in this node's replicated state, and how a node refuses one
 * it cannot vouch for: shared by client requests (client_requests.ts) and the HTTP event stream.
 * @module
 */
import type { ErrorCode } from "../../shared/errors.ts";
import type { TaskStateMachine } from "../tasks/mod.ts";
import type { Caller } from "./account_requests.ts";

/** Why checkSession refused a token it has no session for (the one refusal a lagging node may give). */
export const UNKNOWN_SESSION = "Unknown session token; log in again";

/** The caller behind a token hash in `sm`, or why there is none. */
export function checkSession(
  sm: Pick<TaskStateMachine, "sessions" | "roleOf">,
  at: { tokenHash: string; nowMs: number },
): Caller | string {
  const session = sm.sessions.get(at.tokenHash);
  if (session === undefined) return UNKNOWN_SESSION;
  if (session.expiresAtMs <= at.nowMs) return "Session token expired; log in again";
  // The role is read now, not at login: a demoted or removed user loses its rights at once.
  const role = sm.roleOf(session.user);
  if (role === null) return "The session's user no longer exists";
  return { user: session.user, role };
}

/**
 * How a node answers a session it refused (`reason`, from checkSession). A session it does not
 * know is "unauthenticated" only on a leader that serves clients: any other node may simply not
 * have applied it yet (a login acknowledged a moment ago), so it answers "unavailable, retry". An
 * expired session or a removed user is final on any node: "unauthenticated", so clients log in
 * again instead of retrying for ever.
 */
export function sessionRefusal(
  reason: string,
  node: { canServeClients: boolean; nodeId: string },
): { code: ErrorCode; message: string } {
  if (node.canServeClients || reason !== UNKNOWN_SESSION) {
    return { code: "unauthenticated", message: reason };
  }
  return {
    code: "unavailable",
    message: `Orchestrator ${node.nodeId} does not know this session yet (it may be behind ` +
      `the leader); retry`,
  };
}
