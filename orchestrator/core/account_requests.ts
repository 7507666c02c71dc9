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
import type { Command } from "../tasks/commands.ts";
import type { TaskStateMachine } from "../tasks/task_state_machine.ts";
import type { ConnId } from "./node_io.ts";

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
 * Handles one account or token request.
 * @param passwordHash for userAdd/userPasswd: the request password's scrypt hash (made by the shell).
 */
export function handleAccountRequest(
  ctx: RequestContext,
  conn: ConnId,
  request: AccountRequest,
  caller: Caller,
  passwordHash: string | null,
): void {
  const re = request.id;
  const sm = ctx.sm();
  const nowMs = ctx.nowMs();
  switch (request.type) {
    case "userAdd":
      if (!requireAdmin(ctx, conn, re, caller, "add users") || passwordHash === null) return;
      if (sm.users.has(request.name)) {
        ctx.refuse(conn, re, "conflict", `User "${request.name}" already exists`);
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
        passwordHash,
        atMs: nowMs,
      });
      return;
    case "userPasswd":
      if (
        request.name !== caller.user &&
        !requireAdmin(ctx, conn, re, caller, "change another user's password")
      ) {
        return;
      }
      if (passwordHash === null) return;
      if (!sm.users.has(request.name)) {
        ctx.refuse(conn, re, "not_found", `No user "${request.name}"`);
        return;
      }
      ctx.log("info", `Password of user "${request.name}" changed by "${caller.user}"`);
      ctx.proposeDone(
        conn,
        re,
        `Changed the password of ${request.name}; their sessions are revoked`,
        {
          type: "userPasswordChanged",
          name: request.name,
          passwordHash,
          atMs: nowMs,
        },
      );
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
