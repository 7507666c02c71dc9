/**
 * Errors the CLI reports with a specific exit code (README, "Exit codes").
 * @module
 */
import { EXIT_CODES } from "../../shared/errors.ts";

export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  readonly code: string;

  constructor(code: string, exitCode: number, message: string) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
  }
}

export function notLoggedIn(detail: string): CliError {
  return new CliError(
    "unauthenticated",
    EXIT_CODES.unauthenticated,
    `${detail}; run \`mutirao login USER\``,
  );
}

/**
 * A cluster file, TLS CA file or session directory that cannot be used: the user's setup, not a
 * bug (exit 10).
 */
export function configurationError(error: unknown): CliError {
  const failure = new CliError(
    "configuration",
    EXIT_CODES.configuration,
    error instanceof Error ? error.message : String(error),
  );
  failure.cause = error;
  return failure;
}
