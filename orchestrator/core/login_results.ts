/**
 * The result of a login the shell checked (scrypt belongs outside the core): a session is
 * proposed for a right password, and a refusal ("wrong password", "throttled") is sent only by
 * a ready leader whose read barrier holds, and only if the account still has the hash the shell
 * checked against.
 * @module
 */
import type { Command } from "../tasks/mod.ts";
import type { TaskStateMachine } from "../tasks/mod.ts";
import type { ConnId, LoginWork, NodeInput } from "./node_io.ts";
import type { NodeOutput } from "./node_output.ts";
import type { PendingReplies } from "./pending_replies.ts";
import type { RequestTurns } from "./request_turns.ts";

export type LoginChecked = Extract<NodeInput, { type: "loginChecked" }>;
export type LoginRequest = Extract<NodeInput, { type: "login" }>;

/** The password check a leader asks its shell for: against the account's current hash. */
export function loginWorkFor(input: LoginRequest, sm: TaskStateMachine): LoginWork {
  const { conn, request, source } = input;
  return { conn, request, source, passwordHash: sm.users.get(request.user)?.passwordHash ?? null };
}

/** A login answered unchecked, as for a refused check (a node that cannot serve redirects). */
export function refusedUnchecked(input: LoginRequest): LoginChecked {
  const { conn, request, source, nowMs } = input;
  return {
    type: "loginChecked",
    conn,
    requestId: request.id,
    lamport: request.lamport,
    user: request.user,
    session: null,
    source,
    nowMs,
  };
}

/** What handling a checked login needs from the node. */
export interface LoginContext {
  out: NodeOutput;
  turns: RequestTurns;
  pending: PendingReplies;
  sm(): TaskStateMachine;
  nowMs(): number;
  propose(command: Command): number | null;
  /** True when this node leads; otherwise replies "not leader". */
  requireLeader(conn: ConnId, requestId: number | null): boolean;
  /** True when this node may serve clients; otherwise replies why not. */
  requireReadyLeader(conn: ConnId, requestId: number | null): boolean;
}

/** Answers a login the shell checked, inside its turn. */
export function handleLoginChecked(ctx: LoginContext, input: LoginChecked): void {
  // A follower (or a leader still catching up) checked against accounts it may not have yet:
  // send the client to the leader rather than answer "wrong password".
  if (!ctx.requireReadyLeader(input.conn, input.requestId)) return;
  const from = input.source === undefined ? "" : ` from ${input.source}`;
  if (input.retryAfterMs !== undefined && input.retryAfterMs > 0) {
    const seconds = Math.ceil(input.retryAfterMs / 1000);
    ctx.out.log(
      "warn",
      `Throttled login for user "${input.user}"${from} (retry in ${seconds} s)`,
    );
    ctx.out.sendError(
      input.conn,
      input.requestId,
      "rate_limited",
      `Too many failed logins for "${input.user}" or from this address; retry in ${seconds} s`,
    );
    return;
  }
  if (input.session === null) {
    // "Wrong password" asserts what the accounts are: a deposed leader may not know of a new
    // account or password, so the refusal waits for a barrier, and holds only if the hash the
    // shell checked against is still the account's.
    const turn = ctx.turns.current();
    if (!turn.confirmed) {
      turn.deferred = true;
      return;
    }
    const current = ctx.sm().users.get(input.user)?.passwordHash ?? null;
    if (input.checkedPasswordHash !== undefined && input.checkedPasswordHash !== current) {
      ctx.out.sendError(
        input.conn,
        input.requestId,
        "unavailable",
        `The account "${input.user}" changed while its password was checked; retry`,
      );
      return;
    }
    ctx.out.log("warn", `Failed login for user "${input.user}"${from}`);
    ctx.out.sendError(
      input.conn,
      input.requestId,
      "bad_credentials",
      "Wrong user name or password",
    );
    return;
  }
  if (!ctx.requireLeader(input.conn, input.requestId)) return;
  const index = ctx.propose({
    type: "sessionOpened",
    tokenHash: input.session.tokenHash,
    user: input.user,
    expiresAtMs: input.session.expiresAtMs,
    atMs: ctx.nowMs(),
    ...(typeof input.checkedPasswordHash === "string"
      ? { passwordHash: input.checkedPasswordHash }
      : {}),
  });
  if (index === null) return;
  ctx.out.log("info", `User "${input.user}" logged in${from}`);
  ctx.pending.add(index, {
    kind: "login",
    conn: input.conn,
    requestId: input.requestId,
    user: input.user,
    token: input.session.token,
    expiresAtMs: input.session.expiresAtMs,
  });
}
