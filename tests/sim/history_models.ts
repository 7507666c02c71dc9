/**
 * Sequential models of what a client can observe, for the linearizability
 * checker: one task (submitted under one key), and one user's account with
 * its sessions. A task's progress through workers is not a client operation:
 * the model lets it happen between any two operations (queued and running
 * alternate, a final state is for ever), so no check depends on worker timing.
 * @module
 */
import { isFinalState, type TaskState } from "../../shared/protocol/messages.ts";
import type { Model } from "./linearizability.ts";

// ---- one task ----

export type TaskInput =
  | { kind: "submit" }
  | { kind: "read" }
  | { kind: "cancel" }
  /** A `list` of the owner's tasks, projected onto this task. */
  | { kind: "list" };

export type TaskOutput =
  /** submitOk. */
  | { duplicate: boolean }
  /** A view of the task (status, wait, a successful cancel), or a cancel refused as final. */
  | { state: TaskState }
  | { notFound: true }
  /** Removed by retention: `status`, `wait` and `cancel` say "expired". */
  | { expired: true }
  | { listed: boolean };

export interface TaskModelState {
  exists: boolean;
  /** The final state, once there is one. */
  final: TaskState | null;
  /**
   * Removed by retention: that may happen between any two operations once the task is final
   * (like a worker's progress), and is for ever.
   */
  removed?: boolean;
}

/**
 * The task's removal; null if it cannot have been removed. It must exist; that it had finished is
 * not observable here (it may have finished unobserved) and is checked on the committed log.
 */
function expire(s: TaskModelState): TaskModelState | null {
  return s.exists ? { ...s, removed: true } : null;
}

function observe(s: TaskModelState, state: TaskState): TaskModelState | null {
  if (!s.exists) return null;
  if (!isFinalState(state)) return s.final === null ? s : null;
  if (s.final === null) return { exists: true, final: state };
  return s.final === state ? s : null;
}

/** One task as its owner sees it. */
export const taskModel: Model<TaskModelState, TaskInput, TaskOutput> = {
  init: () => ({ exists: false, final: null }),
  key: (s) => `${s.exists}/${s.final}/${s.removed === true}`,
  step(s, input, output) {
    if (output !== null && "expired" in output) return input.kind === "list" ? null : expire(s);
    if (s.removed === true) {
      // Gone for ever: no view of it, no listing. (Timeouts and resubmissions do not apply:
      // clients resubmit only inside the window.)
      if (output === null) return input.kind === "submit" ? null : s;
      return "listed" in output && !output.listed ? s : null;
    }
    switch (input.kind) {
      case "submit":
        if (output === null) return s.exists ? s : { exists: true, final: null };
        if (!("duplicate" in output)) return null;
        // duplicate: false means this submission made the task. True means it existed when
        // the last attempt arrived, perhaps made by an earlier attempt of the same request.
        if (!output.duplicate && s.exists) return null;
        return s.exists ? s : { exists: true, final: null };
      case "read":
        if (output === null) return s;
        if ("notFound" in output) return s.exists ? null : s;
        return "state" in output ? observe(s, output.state) : null;
      case "cancel":
        if (output === null) {
          return s.exists && s.final === null ? { exists: true, final: "cancelled" } : s;
        }
        if ("notFound" in output) return s.exists ? null : s;
        if (!("state" in output)) return null;
        if (output.state === "cancelled" && s.exists && s.final === null) {
          return { exists: true, final: "cancelled" };
        }
        return observe(s, output.state);
      case "list":
        if (output === null || !("listed" in output)) return output === null ? s : null;
        if (output.listed === s.exists) return s;
        // Not listed: removed meanwhile, if it had finished.
        return !output.listed ? expire(s) : null;
    }
  },
};

// ---- one user's account and sessions ----

export type AccountInput =
  | { kind: "login"; password: string }
  /** Any request made with `token`: was the session accepted? */
  | { kind: "auth"; token: string }
  | { kind: "logout"; token: string }
  | { kind: "passwd"; password: string }
  | { kind: "remove" }
  | { kind: "add"; password: string }
  | { kind: "revoke"; token: string }
  /** A `token list`, projected onto one known session of this user. */
  | { kind: "tokenListed"; token: string }
  /** A `user list`, projected onto this user. */
  | { kind: "userListed" };

export type AccountOutput =
  /** Done (for a login: the token it got). */
  | { done: true; token?: string }
  /** Refused: wrong password, unknown session, no such user or session, user exists. */
  | { refused: true }
  | { listed: boolean };

export interface AccountModelState {
  exists: boolean;
  password: string;
  /** Open sessions, sorted. */
  sessions: readonly string[];
}

function withSessions(s: AccountModelState, sessions: readonly string[]): AccountModelState {
  return { ...s, sessions: [...sessions].sort() };
}

function isDone(output: AccountOutput): boolean {
  return "done" in output;
}

/** Whether `token` is a live session of an existing account. */
function isLive(s: AccountModelState, token: string): boolean {
  return s.exists && s.sessions.includes(token);
}

/** One user's account, starting as the cluster file creates it. */
export function accountModel(
  initialPassword: string,
): Model<AccountModelState, AccountInput, AccountOutput> {
  return {
    init: () => ({ exists: true, password: initialPassword, sessions: [] }),
    key: (s) => `${s.exists}/${s.password}/${s.sessions.join(",")}`,
    step(s, input, output) {
      const isRight = s.exists && "password" in input && input.password === s.password;
      switch (input.kind) {
        case "login":
          if (output === null) return s; // a session nobody learned of: nothing observable
          if (!isDone(output)) return isRight ? null : s;
          if (!isRight || !("done" in output) || output.token === undefined) return null;
          return withSessions(s, [...s.sessions, output.token]);
        case "auth":
          if (output === null) return s;
          return isDone(output) === isLive(s, input.token) ? s : null;
        case "logout":
        case "revoke": {
          const isOpen = isLive(s, input.token);
          const without = () => withSessions(s, s.sessions.filter((t) => t !== input.token));
          if (output === null) return isOpen ? without() : s;
          if (!isDone(output)) return isOpen ? null : s;
          // A logout is idempotent: one whose session a revocation closed meanwhile (after the
          // logout was authenticated) is done all the same; a revoke of a closed one is not.
          if (input.kind === "logout") return isOpen ? without() : s;
          return isOpen ? without() : null;
        }
        case "passwd":
          if (output === null) {
            return s.exists ? { ...s, password: input.password, sessions: [] } : s;
          }
          if (!isDone(output)) return s.exists ? null : s;
          return s.exists ? { ...s, password: input.password, sessions: [] } : null;
        case "remove":
          if (output === null) return s.exists ? { ...s, exists: false, sessions: [] } : s;
          if (!isDone(output)) return s.exists ? null : s;
          return s.exists ? { ...s, exists: false, sessions: [] } : null;
        case "add": {
          const added = { exists: true, password: input.password, sessions: [] };
          if (output === null) return s.exists ? s : added;
          if (!isDone(output)) return s.exists ? s : null;
          return s.exists ? null : added;
        }
        case "tokenListed":
          if (output === null || !("listed" in output)) return output === null ? s : null;
          return output.listed === isLive(s, input.token) ? s : null;
        case "userListed":
          if (output === null || !("listed" in output)) return output === null ? s : null;
          return output.listed === s.exists ? s : null;
      }
    },
  };
}
