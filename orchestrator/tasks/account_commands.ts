/**
 * The account and session commands of the task state machine: users added, configured from the
 * cluster file, changed and removed, and sessions opened and closed. Part of `apply`, so pure and
 * deterministic like it: every replica applies them the same way.
 * @module
 */
import { assertNever } from "../../shared/assert.ts";
import type {
  AccountConfigured,
  ApplyResult,
  SessionClosed,
  SessionOpened,
  UserAdded,
  UserPasswordChanged,
  UserRemoved,
} from "./commands.ts";
import type { SessionRecord, UserRecord } from "./records.ts";
import { OK, rejected } from "./_apply_results.ts";

/**
 * Live sessions one user may hold; a login beyond it closes that user's oldest session. Bounds
 * what one account's repeated logins can make every replica keep.
 */
export const SESSIONS_PER_USER_MAX = 100;

/** Expired sessions are swept after this many logins, so the session table stays bounded. */
const SESSION_SWEEP_EVERY = 1024;

/** Why a session whose password was checked against a replaced hash does not open. */
export const ACCOUNT_CHANGED = "the account changed while its password was checked";
/** Why a command that would leave the cluster with no admin is rejected. */
export const LAST_ADMIN = "it would leave the cluster without an admin";
/** Cluster-file password hashes remembered per account (see AccountConfigured). */
const CONFIGURED_HASHES_KEPT = 8;

/** The commands {@link AccountCommands} applies. */
export type AccountCommand =
  | UserAdded
  | AccountConfigured
  | UserPasswordChanged
  | UserRemoved
  | SessionOpened
  | SessionClosed;

/**
 * The replicated state the account commands change. The task state machine is one; its fields are
 * read on every call, because restoring a snapshot replaces them.
 */
export interface AccountState {
  users: Map<string, UserRecord>;
  sessions: Map<string, SessionRecord>;
  /** Password hashes already applied from the cluster file, by account name. */
  configuredAccounts: Map<string, string[]>;
  loginsSinceSweep: number;
}

/** Applies account and session commands to an {@link AccountState} and answers questions about it. */
export class AccountCommands {
  readonly #state: AccountState;
  /** Sessions per user (derived from `sessions`; see SESSIONS_PER_USER_MAX). */
  readonly #sessionCounts = new Map<string, number>();

  constructor(state: AccountState) {
    this.#state = state;
  }

  apply(command: AccountCommand): ApplyResult {
    const state = this.#state;
    switch (command.type) {
      case "userAdded":
        if (state.users.has(command.name)) return rejected("user exists");
        state.users.set(command.name, {
          name: command.name,
          role: command.role,
          passwordHash: command.passwordHash,
          createdAtMs: command.atMs,
        });
        return OK;
      case "accountConfigured":
        return this.#configureAccount(command);
      case "userPasswordChanged": {
        const user = state.users.get(command.name);
        if (user === undefined) return rejected("no such user");
        // A client's retry of a change already applied (its reply was lost): done, once.
        if (command.changeId !== undefined && user.lastChangeId === command.changeId) return OK;
        if (
          command.expectedPasswordHash !== undefined &&
          user.passwordHash !== command.expectedPasswordHash
        ) {
          return rejected("the password was changed meanwhile; check the current one again");
        }
        user.passwordHash = command.passwordHash;
        if (command.changeId !== undefined) user.lastChangeId = command.changeId;
        else delete user.lastChangeId;
        this.#revokeSessionsOf(command.name);
        return OK;
      }
      case "userRemoved":
        if (!state.users.has(command.name)) return rejected("no such user");
        if (this.isLastAdmin(command.name)) return rejected(LAST_ADMIN);
        state.users.delete(command.name);
        this.#revokeSessionsOf(command.name);
        return OK;
      case "sessionOpened":
        if (
          command.passwordHash !== undefined &&
          state.users.get(command.user)?.passwordHash !== command.passwordHash
        ) {
          return rejected(ACCOUNT_CHANGED);
        }
        this.#closeSession(command.tokenHash);
        state.sessions.set(command.tokenHash, {
          user: command.user,
          issuedAtMs: command.atMs,
          expiresAtMs: command.expiresAtMs,
        });
        this.#sessionCounts.set(command.user, this.sessionCountOf(command.user) + 1);
        if (this.sessionCountOf(command.user) > SESSIONS_PER_USER_MAX) {
          this.#closeOldestSessionOf(command.user);
        }
        this.#maybeSweepSessions(command.atMs);
        return OK;
      case "sessionClosed":
        return this.#closeSession(command.tokenHash) ? OK : rejected("no such session");
      default:
        return assertNever(command, "unknown account command");
    }
  }

  /** True when `hash` was already applied to account `name` from the cluster file. */
  isConfigured(name: string, hash: string): boolean {
    return this.#state.configuredAccounts.get(name)?.includes(hash) ?? false;
  }

  #configureAccount(command: AccountConfigured): ApplyResult {
    const state = this.#state;
    const { name, role, passwordHash } = command;
    if (this.isConfigured(name, passwordHash)) return rejected("already applied");
    const user = state.users.get(name);
    if (user !== undefined && role !== "admin" && this.isLastAdmin(name)) {
      // Not recorded as applied: a corrected cluster file may still apply it later.
      return rejected(LAST_ADMIN);
    }
    const applied = state.configuredAccounts.get(name) ?? [];
    // Bounded: only the newest hashes matter (older cluster files on lagging orchestrators).
    state.configuredAccounts.set(name, [...applied, passwordHash].slice(-CONFIGURED_HASHES_KEPT));
    if (user === undefined) {
      state.users.set(name, { name, role, passwordHash, createdAtMs: command.atMs });
      return OK;
    }
    user.role = role;
    if (user.passwordHash !== passwordHash) {
      user.passwordHash = passwordHash;
      this.#revokeSessionsOf(name);
    }
    return OK;
  }

  /** True when `name` is an admin and no other admin exists (it may not be removed or demoted). */
  isLastAdmin(name: string): boolean {
    const users = this.#state.users;
    if (users.get(name)?.role !== "admin") return false;
    for (const user of users.values()) {
      if (user.role === "admin" && user.name !== name) return false;
    }
    return true;
  }

  /** The user a token hash belongs to, if the session exists and has not expired at `nowMs`. */
  sessionUser(tokenHash: string, nowMs: number): string | null {
    const session = this.#state.sessions.get(tokenHash);
    if (session === undefined || session.expiresAtMs <= nowMs) return null;
    return session.user;
  }

  /** The role of a session's user; null when the user no longer exists. */
  roleOf(user: string): "admin" | "user" | null {
    return this.#state.users.get(user)?.role ?? null;
  }

  /** Live sessions of `user` (including expired ones not swept yet). */
  sessionCountOf(user: string): number {
    return this.#sessionCounts.get(user) ?? 0;
  }

  /** Recounts sessions per user (after a restore or a sweep: the counts are derived state). */
  recountSessions(): void {
    this.#sessionCounts.clear();
    for (const { user } of this.#state.sessions.values()) {
      this.#sessionCounts.set(user, this.sessionCountOf(user) + 1);
    }
  }

  #revokeSessionsOf(user: string): void {
    const sessions = this.#state.sessions;
    for (const [hash, session] of sessions) {
      if (session.user === user) sessions.delete(hash);
    }
    this.#sessionCounts.delete(user);
  }

  #closeSession(tokenHash: string): boolean {
    const sessions = this.#state.sessions;
    const session = sessions.get(tokenHash);
    if (session === undefined) return false;
    sessions.delete(tokenHash);
    const left = this.sessionCountOf(session.user) - 1;
    if (left > 0) this.#sessionCounts.set(session.user, left);
    else this.#sessionCounts.delete(session.user);
    return true;
  }

  /** Sessions are kept in opening order, so the first one of `user` found is its oldest. */
  #closeOldestSessionOf(user: string): void {
    for (const [hash, session] of this.#state.sessions) {
      if (session.user === user) {
        this.#closeSession(hash);
        return;
      }
    }
  }

  #maybeSweepSessions(nowMs: number): void {
    const state = this.#state;
    state.loginsSinceSweep += 1;
    if (state.loginsSinceSweep < SESSION_SWEEP_EVERY) return;
    state.loginsSinceSweep = 0;
    for (const [hash, session] of state.sessions) {
      if (session.expiresAtMs <= nowMs) state.sessions.delete(hash);
    }
    this.recountSessions();
  }
}
