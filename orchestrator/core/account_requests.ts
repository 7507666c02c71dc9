/**
 * User and token management requests: admins add, remove and list accounts and
 * list and revoke sessions; any user may change their own password. Every
 * change is a log command; the reply comes once it is applied.
 * @module
 */
import { assertNever } from "../../shared/assert.ts";
import type { ErrorCode } from "../../shared/errors.ts";
import type {
  ClientToOrchestrator,
  OrchestratorToClient,
  Unstamped,
} from "../../shared/protocol/messages.ts";
import type { Command } from "../tasks/mod.ts";
import type { TaskStateMachine } from "../tasks/mod.ts";
import type { ConnId, CurrentPasswordCheck, PasswordWork } from "./node_io.ts";

/** Who sent a request: the session's user and, as of now, their role. */
export interface Caller {
  user: string;
  role: "admin" | "user";
}

/** What the node lends to request handlers that live outside it. */
export interface RequestContext {
  sm(): TaskStateMachine;
  nowMs(): number;
  send(conn: ConnId, message: Unstamped<OrchestratorToClient>): void;
  sendError(conn: ConnId, requestId: number | null, code: ErrorCode, message: string): void;
  /**
   * Refuses on the strength of the node's state ("no such user", "not an admin"): sent only
   * once a read barrier confirms that state is current; until then the request is redone later.
   */
  refuse(conn: ConnId, requestId: number, code: ErrorCode, message: string): void;
  log(level: "debug" | "info" | "warn" | "error", message: string): void;
  /** Proposes `command`; once applied, replies `done` with `message` (or a conflict). */
  proposeDone(conn: ConnId, requestId: number, message: string, command: Command): void;
  /** Asks the shell for scrypt work; it steps the request again with the results. */
  askPasswordWork(work: PasswordWork): void;
}

/** What the shell's scrypt work found for a userAdd/userPasswd, when it has run. */
export interface PasswordResults {
  tokenHash: string;
  /** The new password's hash; null until the shell has made it. */
  passwordHash: string | null;
  /** For one's own password: the check of the current one; null until the shell has made it. */
  currentPasswordCheck: CurrentPasswordCheck | null;
}

export type AccountRequest = Extract<
  ClientToOrchestrator,
  { type: "userAdd" | "userPasswd" | "userRemove" | "userList" | "tokenList" | "tokenRevoke" }
>;

/** Hex characters of a token's hash shown as its id: enough to tell sessions apart, useless to log in. */
const TOKEN_ID_CHARS = 12;

/** True for admins; otherwise replies "forbidden" naming what was refused. */
export function requireAdmin(
  ctx: RequestContext,
  conn: ConnId,
  requestId: number,
  caller: Caller,
  what: string,
): boolean {
  if (caller.role === "admin") return true;
  ctx.refuse(conn, requestId, "forbidden", `Only admins may ${what}`);
  return false;
}

/**
 * Handles one account or token request. userAdd and userPasswd need scrypt: once the request is
 * authorized (and only then: a bad token or a follower costs no hashing), the node asks the shell
 * for it, and the shell steps the request again with `password` filled in.
 */
export function handleAccountRequest(
  ctx: RequestContext,
  conn: ConnId,
  request: AccountRequest,
  caller: Caller,
  password: PasswordResults,
): void {
  const re = request.id;
  const sm = ctx.sm();
  const nowMs = ctx.nowMs();
  switch (request.type) {
    case "userAdd":
      if (!requireAdmin(ctx, conn, re, caller, "add users")) return;
      if (sm.users.has(request.name)) {
        ctx.refuse(conn, re, "conflict", `User "${request.name}" already exists`);
        return;
      }
      if (password.passwordHash === null) {
        ctx.askPasswordWork({
          conn,
          request,
          tokenHash: password.tokenHash,
          verifyCurrentOf: null,
        });
        return;
      }
      ctx.log(
        "info",
        `User "${caller.user}" adds user "${request.name}" (${request.role})`,
      );
      ctx.proposeDone(conn, re, `Added user ${request.name} (${request.role})`, {
        type: "userAdded",
        name: request.name,
        role: request.role,
        passwordHash: password.passwordHash,
        atMs: nowMs,
      });
      return;
    case "userPasswd":
      changePassword(ctx, conn, request, caller, password);
      return;
    case "userRemove":
      if (!requireAdmin(ctx, conn, re, caller, "remove users")) return;
      if (!sm.users.has(request.name)) {
        ctx.refuse(conn, re, "not_found", `No user "${request.name}"`);
        return;
      }
      if (sm.isLastAdmin(request.name)) {
        // Also rejected when applied (a concurrent removal of the other admin may come first).
        ctx.refuse(
          conn,
          re,
          "conflict",
          `Cannot remove user "${request.name}": it is the last admin; add another admin first`,
        );
        return;
      }
      ctx.log("info", `User "${caller.user}" removes user "${request.name}"`);
      ctx.proposeDone(conn, re, `Removed user ${request.name}; their sessions are revoked`, {
        type: "userRemoved",
        name: request.name,
        atMs: nowMs,
      });
      return;
    case "userList": {
      if (!requireAdmin(ctx, conn, re, caller, "list users")) return;
      const sessions = new Map<string, number>();
      for (const s of sm.sessions.values()) {
        if (s.expiresAtMs > nowMs) sessions.set(s.user, (sessions.get(s.user) ?? 0) + 1);
      }
      ctx.send(conn, {
        type: "userList",
        re,
        users: [...sm.users.values()].sort((a, b) => a.name < b.name ? -1 : 1).map((u) => ({
          name: u.name,
          role: u.role,
          createdAtMs: u.createdAtMs,
          sessions: sessions.get(u.name) ?? 0,
        })),
      });
      return;
    }
    case "tokenList":
      if (!requireAdmin(ctx, conn, re, caller, "list tokens")) return;
      ctx.send(conn, {
        type: "tokenList",
        re,
        tokens: [...sm.sessions.entries()]
          .filter(([, s]) => s.expiresAtMs > nowMs)
          .map(([hash, s]) => ({
            id: hash.slice(0, TOKEN_ID_CHARS),
            user: s.user,
            issuedAtMs: s.issuedAtMs,
            expiresAtMs: s.expiresAtMs,
          })),
      });
      return;
    case "tokenRevoke": {
      if (!requireAdmin(ctx, conn, re, caller, "revoke tokens")) return;
      const matches = [...sm.sessions.keys()].filter((h) => h.startsWith(request.tokenId));
      if (matches.length !== 1) {
        ctx.refuse(
          conn,
          re,
          matches.length === 0 ? "not_found" : "bad_request",
          matches.length === 0
            ? `No session with token id ${request.tokenId}`
            : `Token id ${request.tokenId} matches ${matches.length} sessions; give more characters`,
        );
        return;
      }
      ctx.log("info", `User "${caller.user}" revokes session ${request.tokenId}`);
      ctx.proposeDone(conn, re, `Revoked session ${request.tokenId}`, {
        type: "sessionClosed",
        tokenHash: matches[0],
        atMs: nowMs,
      });
      return;
    }
    default:
      assertNever(request, "unknown account request");
  }
}

/**
 * userPasswd: an admin may reset anyone's password (logged: who reset whom); changing one's own,
 * admins included, takes the current password (issue 13, hole 14: a stolen token alone must
 * not be enough to take the account over).
 */
function changePassword(
  ctx: RequestContext,
  conn: ConnId,
  request: Extract<AccountRequest, { type: "userPasswd" }>,
  caller: Caller,
  password: PasswordResults,
): void {
  const re = request.id;
  const own = request.name === caller.user;
  if (!own && !requireAdmin(ctx, conn, re, caller, "change another user's password")) return;
  const account = ctx.sm().users.get(request.name);
  if (account === undefined) {
    ctx.refuse(conn, re, "not_found", `No user "${request.name}"`);
    return;
  }
  if (request.changeId !== undefined && account.lastChangeId === request.changeId) {
    // A retry of the change already applied (its reply was lost): it is done; checking the
    // current password again would refuse it, since the current password is now the new one.
    ctx.send(conn, { type: "done", re, message: `Changed the password of ${request.name}` });
    return;
  }
  if (own && request.currentPassword === undefined) {
    ctx.sendError(
      conn,
      re,
      "bad_request",
      "Cannot change your own password without your current password (currentPassword)",
    );
    return;
  }
  const check = password.currentPasswordCheck;
  if (own && check !== null) {
    if (check.verdict === "throttled") {
      const seconds = Math.ceil(check.retryAfterMs / 1000);
      ctx.sendError(
        conn,
        re,
        "rate_limited",
        `Too many failed password checks for "${request.name}" or from this address; retry in ${seconds} s`,
      );
      return;
    }
    if (check.checkedPasswordHash !== account.passwordHash) {
      // Checked against a hash the linearizable state no longer has: check again.
      ctx.sendError(
        conn,
        re,
        "unavailable",
        `The password of "${request.name}" changed while it was checked; retry`,
      );
      return;
    }
    if (check.verdict === "wrong") {
      ctx.refuse(conn, re, "bad_credentials", "Wrong current password");
      return;
    }
  }
  if (password.passwordHash === null || (own && check === null)) {
    ctx.askPasswordWork({
      conn,
      request,
      tokenHash: password.tokenHash,
      verifyCurrentOf: own ? request.name : null,
      ...(own
        ? { currentPasswordHash: ctx.sm().users.get(request.name)?.passwordHash ?? null }
        : {}),
    });
    return;
  }
  ctx.log(
    own ? "info" : "warn",
    own
      ? `User "${caller.user}" changed their password`
      : `Admin "${caller.user}" reset the password of user "${request.name}"`,
  );
  ctx.proposeDone(
    conn,
    re,
    `Changed the password of ${request.name}; their sessions are revoked`,
    {
      type: "userPasswordChanged",
      name: request.name,
      passwordHash: password.passwordHash,
      atMs: ctx.nowMs(),
      ...(own && check !== null && check.verdict === "ok"
        ? { expectedPasswordHash: check.checkedPasswordHash }
        : {}),
      ...(request.changeId === undefined ? {} : { changeId: request.changeId }),
    },
  );
}
