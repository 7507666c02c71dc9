/**
 * The HTTP status of each protocol error code: an HTTP client gets the same code (in the JSON
 * body) and a status that says the same thing to HTTP tooling.
 * @module
 */
import type { ErrorCode } from "../../shared/errors.ts";

/** The HTTP status an error reply with `code` is answered with. */
export function errorStatus(code: ErrorCode): number {
  switch (code) {
    case "bad_request":
    case "malformed_frame":
    case "unsupported_version":
      return 400;
    case "bad_credentials":
    case "unauthenticated":
      return 401;
    case "forbidden":
      return 403;
    case "not_found":
      return 404;
    case "conflict":
      return 409;
    case "expired":
      return 410;
    case "frame_too_large":
      return 413;
    case "rate_limited":
      return 429;
    case "internal":
      return 500;
    case "not_leader":
    case "unavailable":
      return 503;
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; leaderHint?: string };
}

/** Builds the JSON body of an error answer. */
export function errorBody(code: ErrorCode, message: string, leaderHint?: string): ErrorBody {
  return { error: { code, message, ...(leaderHint === undefined ? {} : { leaderHint }) } };
}
