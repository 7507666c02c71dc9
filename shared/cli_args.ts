/**
 * Shared helpers for the three command lines (orchestrator, worker, client):
 * flag parsing on top of `node:util` parseArgs with errors that say what was wrong.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Bad command-line input: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses flags and positionals strictly.
 * @throws {UsageError} for an unknown flag or a flag missing its value.
 */
export function parseFlags<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError.*?: /, ""), { cause: error });
  }
}

/**
 * Parses an integer flag value within bounds.
 * @throws {UsageError} naming the flag and the value seen.
 */
export function parseIntFlag(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `Invalid --${name}: expected an integer from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}
