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
