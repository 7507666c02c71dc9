/**
 * Error codes carried by error replies on the wire, and the CLI exit code each
 * maps to. Scripts rely on the exit codes: they are a contract (README, "Exit codes").
 * @module
 */

/** Every error code an orchestrator can put in an error reply. */
export const ERROR_CODES = [
  "bad_request", // a field is missing, ill-typed or out of range
  "malformed_frame", // bytes that are not a JSON object
  "frame_too_large", // a frame above the configured maximum
  "unsupported_version", // a protocol version this node does not speak
  "bad_credentials", // wrong user name or password
  "unauthenticated", // no token, unknown token, or expired token
  "not_found", // unknown task id (or one the caller may not see)
  "forbidden", // the caller's role may not do this (admin commands)
  "not_leader", // this orchestrator cannot serve writes; see leaderHint
  "unavailable", // the cluster cannot serve this now (no quorum, shutting down)
  "conflict", // the request does not fit the task's state (cancel a finished task)
  "rate_limited", // too many requests; retry later
  "internal", // a bug: reported, never expected
  // Added later; old clients do not know it.
  "expired", // the task existed but was removed by the retention policy or a purge
] as const;

/** A machine-readable error code. */
export type ErrorCode = typeof ERROR_CODES[number];

/** CLI exit codes; distinct per failure kind so scripts can branch on them. */
export const EXIT_CODES = {
  ok: 0,
  internal: 1,
  invalidArguments: 2,
  badCredentials: 3,
  unauthenticated: 4,
  notFound: 5,
  unreachable: 6,
  rejected: 7,
  // Added later; the codes above keep their meaning.
  /** `--wait`: the task ended failed or cancelled. */
  taskFailed: 8,
  /** `--wait --wait-timeout`: the timeout passed before the task ended. */
  waitTimedOut: 9,
  /** A cluster file, TLS CA file or session directory that cannot be used. */
  configuration: 10,
  /** No such user (`user passwd`/`remove`) or session (`token revoke`): not an unknown task. */
  noSuchAccount: 11,
  /** The task existed but is no longer kept (retention, or an admin's purge). */
  taskExpired: 12,
  /** `result`: the task has not ended yet. */
  taskNotFinished: 13,
} as const;

/** The exit code the CLI uses for a server error code. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case "bad_credentials":
      return EXIT_CODES.badCredentials;
    case "unauthenticated":
      return EXIT_CODES.unauthenticated;
    case "not_found":
      return EXIT_CODES.notFound;
    case "bad_request":
      return EXIT_CODES.invalidArguments;
    case "not_leader":
    case "unavailable":
      return EXIT_CODES.unreachable;
    case "conflict":
    case "forbidden":
    case "rate_limited":
    case "malformed_frame":
    case "frame_too_large":
    case "unsupported_version":
      return EXIT_CODES.rejected;
    case "internal":
      return EXIT_CODES.internal;
    case "expired":
      return EXIT_CODES.taskExpired;
  }
}

/** An error reply received from (or to be sent by) an orchestrator. */
export class RemoteError extends Error {
  override name = "RemoteError";
  readonly code: ErrorCode;
  readonly leaderHint?: string;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { leaderHint?: string; cause?: unknown },
  ) {
    super(message, { cause: options?.cause });
    this.code = code;
    this.leaderHint = options?.leaderHint;
  }
}
