/**
 * Checks on the error replies an orchestrator sends, made when it sends them
 * (so against the state it answered from): a committed session is never
 * "unknown", a committed task is never "not found" to its owner, and the
 * right password is never "wrong".
 * @module
 */
import type { TaskStateMachine } from "../../orchestrator/tasks/mod.ts";
import type { ClientToOrchestrator } from "../../shared/protocol/messages.ts";
import { SimViolation } from "./violation.ts";
import type { World } from "./world.ts";

/** What an error reply answers: the request as the orchestrator received it. */
export interface RequestContext {
  type: string;
  tokenHash: string | null;
  taskId: string | null;
  /** For a login: the user, and whether the password was right. */
  user: string | null;
  isPasswordRight: boolean;
  /** For a login: whether the node led and held the account when it checked the password. */
  wasCheckedByLeaderWithAccount: boolean;
}

/** The context worth keeping from a request. */
export function contextOf(
  request: ClientToOrchestrator,
  tokenHash: string | null,
  world: World,
): RequestContext {
  const isLogin = request.type === "login";
  return {
    type: request.type,
    tokenHash,
    taskId: "taskId" in request ? request.taskId : null,
    user: isLogin ? request.user : null,
    isPasswordRight: isLogin && world.passwordMatches(request.user, request.password),
    wasCheckedByLeaderWithAccount: false,
  };
}

/** The node answering, as the checks see it. */
export interface Answerer {
  id: string;
  isLeader: boolean;
  sm: TaskStateMachine;
}

/**
 * Checks one error reply.
 * @throws {SimViolation} for a wrong answer that is not a known bug (and for a known bug, unless tolerated).
 */
export function checkErrorReply(
  world: World,
  node: Answerer,
  request: RequestContext,
  error: { code: string; message: string },
): void {
  const reference = world.checker.reference;
  const what = `${node.id} answered a ${request.type} with ${error.code} ("${error.message}")`;
  if (error.code === "bad_credentials" && request.isPasswordRight) {
    if (!request.wasCheckedByLeaderWithAccount) {
      world.knownBug("loginRefusedOffLeader", `${what} for the right password of ${request.user}`);
      return;
    }
    throw new SimViolation(`${what}, though it led and knew ${request.user} when it checked`);
  }
  const session = request.tokenHash === null
    ? undefined
    : reference.sessions.get(request.tokenHash);
  if (session === undefined || session.expiresAtMs <= world.nowMs) return;
  if (error.code === "unauthenticated") {
    if (!node.sm.sessions.has(request.tokenHash!)) {
      world.knownBug(
        "unreadyLeaderServesStaleState",
        `${what} for a committed session of ${session.user}`,
      );
      return;
    }
    throw new SimViolation(`${what} for a committed session of ${session.user} it holds`);
  }
  const task = request.taskId === null ? undefined : reference.tasks.get(request.taskId);
  if (error.code === "not_found" && task !== undefined && task.owner === session.user) {
    if (!node.sm.tasks.has(task.id)) {
      world.knownBug("unreadyLeaderServesStaleState", `${what} for committed task ${task.id}`);
      return;
    }
    throw new SimViolation(`${what} for task ${task.id} of ${task.owner}, which it holds`);
  }
}
