/**
 * Checks on the replies an orchestrator sends, made when it sends them (so
 * against the state it answered from): a committed session is never
 * "unknown", a committed task is never "not found" to its owner, an existing
 * account or session is never "not found" to an admin, and the right
 * (current) password is never "wrong". Every answer is also noted in the
 * client history with whether a deposed leader gave it (history_check.ts).
 * @module
 */
import type { TaskStateMachine } from "../../orchestrator/tasks/mod.ts";
import type { ClientToOrchestrator } from "../../shared/protocol/messages.ts";
import { historyOf } from "./client_history.ts";
import { simPasswordHash } from "./sim_login.ts";
import { SimViolation } from "./violation.ts";
import type { World } from "./world.ts";

/** What a reply answers: the request as the orchestrator received it. */
export interface RequestContext {
  /** The client that sent it, and the request (attempt) id. */
  client: string;
  requestId: number;
  type: string;
  tokenHash: string | null;
  taskId: string | null;
  /** The account an account request or a login names. */
  user: string | null;
  /** For `tokenRevoke`: the token id. */
  tokenId: string | null;
  /** For a login: whether the password was right (as committed when the request arrived). */
  isPasswordRight: boolean;
  /** For a login: the password tried (to ask whether it is still right when answered). */
  password: string | null;
  /** For a login: whether the node led and held the account when it checked the password. */
  wasCheckedByLeaderWithAccount: boolean;
}

/**
 * Whether `password` is `user`'s current password: as the committed log says once the account
 * is there, as the cluster file says before the first leader created it.
 */
export function isCurrentPassword(world: World, user: string, password: string): boolean {
  const account = world.checker.reference.users.get(user);
  if (account !== undefined) return account.passwordHash === simPasswordHash(password);
  return !world.checker.reference.appliedIndex && historyOf(world).bootstrapPasswords.get(user) ===
      password;
}

/** The context worth keeping from a request. */
export function contextOf(
  request: ClientToOrchestrator,
  tokenHash: string | null,
  world: World,
  client = "",
): RequestContext {
  const isLogin = request.type === "login";
  return {
    client,
    requestId: request.id,
    type: request.type,
    tokenHash,
    taskId: "taskId" in request ? request.taskId : null,
    user: isLogin ? request.user : "name" in request ? request.name : null,
    tokenId: "tokenId" in request ? request.tokenId : null,
    isPasswordRight: isLogin && isCurrentPassword(world, request.user, request.password),
    password: isLogin ? request.password : null,
    wasCheckedByLeaderWithAccount: false,
  };
}

/** The node answering, as the checks see it. */
export interface Answerer {
  id: string;
  isLeader: boolean;
  term: number;
  sm: TaskStateMachine;
}

/** A leader that has not heard it was deposed: some later term has (or had) a leader. */
export function isDeposedLeader(world: World, node: Answerer): boolean {
  if (!node.isLeader) return false;
  for (const term of world.checker.leaders.keys()) if (term > node.term) return true;
  return false;
}

/**
 * Checks one reply (errors only) and notes it in the history.
 * @throws {SimViolation} for a wrong answer that is not a known bug (and for a known bug, unless tolerated).
 */
export function checkReply(
  world: World,
  node: Answerer,
  request: RequestContext,
  reply: { type: string; code?: string; message?: string },
): void {
  const isStale = isDeposedLeader(world, node);
  historyOf(world).noteAnswer(request.client, request.requestId, isStale);
  if (reply.type !== "error") return;
  const error = { code: reply.code!, message: reply.message! };
  const refusal = wrongRefusal(world, node, request, error);
  if (refusal === null) return;
  if (isStale) return world.knownBug("staleLeaderRefusal", refusal.what);
  if (refusal.isHeldByNode) throw new SimViolation(refusal.what);
  world.knownBug("unreadyLeaderServesStaleState", refusal.what);
}

/** The historical check of an unready leader's login refusal (loginRefusedOffLeader). */
function checkLoginRefusal(world: World, request: RequestContext, what: string): void {
  if (!request.wasCheckedByLeaderWithAccount) {
    world.knownBug("loginRefusedOffLeader", `${what} for the right password of ${request.user}`);
    return;
  }
  throw new SimViolation(`${what}, though it led and knew ${request.user} when it checked`);
}

/**
 * An error that refuses what the committed log holds, if this one does; `isHeldByNode` when
 * the answering node's own state holds it too (so no stale state excuses it).
 */
function wrongRefusal(
  world: World,
  node: Answerer,
  request: RequestContext,
  error: { code: string; message: string },
): { what: string; isHeldByNode: boolean } | null {
  const reference = world.checker.reference;
  const what = `${node.id} answered a ${request.type} with ${error.code} ("${error.message}")`;
  // "Wrong password" is right if the password stopped being right at some point before the answer
  // (a change committed meanwhile): only one right from arrival to answer must not be refused.
  if (
    error.code === "bad_credentials" && request.isPasswordRight &&
    isCurrentPassword(world, request.user!, request.password!)
  ) {
    if (isDeposedLeader(world, node)) {
      return { what: `${what} for the current password of ${request.user}`, isHeldByNode: false };
    }
    checkLoginRefusal(world, request, what);
    return null;
  }
  const session = request.tokenHash === null
    ? undefined
    : reference.sessions.get(request.tokenHash);
  // Expiry is judged by the answering node's clock (a session expires on each machine's own time).
  if (session === undefined || session.expiresAtMs <= world.clockMs(node.id)) return null;
  // A login checked before its user was removed opens its session after: it is not valid.
  if (!reference.users.has(session.user)) return null;
  if (error.code === "unauthenticated") {
    return {
      what: `${what} for a committed session of ${session.user}`,
      isHeldByNode: node.sm.sessions.has(request.tokenHash!),
    };
  }
  if (error.code !== "not_found") return null;
  const task = request.taskId === null ? undefined : reference.tasks.get(request.taskId);
  if (task !== undefined && task.owner === session.user) {
    return {
      what: `${what} for committed task ${task.id}`,
      isHeldByNode: node.sm.tasks.has(task.id),
    };
  }
  const isAccountRequest = request.type === "userPasswd" || request.type === "userRemove";
  if (isAccountRequest && request.user !== null && reference.users.has(request.user)) {
    return {
      what: `${what} for committed account ${request.user}`,
      isHeldByNode: node.sm.users.has(request.user),
    };
  }
  if (request.type === "tokenRevoke" && request.tokenId !== null) {
    const held = (sm: TaskStateMachine) =>
      [...sm.sessions.keys()].some((h) => h.startsWith(request.tokenId!));
    if (held(reference)) {
      return {
        what: `${what} for committed session ${request.tokenId}`,
        isHeldByNode: held(node.sm),
      };
    }
  }
  return null;
}
