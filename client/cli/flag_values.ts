/**
 * Flag values as the parser hands them to each command's builder, and the value parsers several
 * commands share (seconds, `--wait`). Pure, like the parser.
 * @module
 */
import { type parseFlags, UsageError } from "../../shared/cli_args.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { FLAGS } from "./command_spec.ts";

/** `--wait`, and how long to wait (null: until the task ends). */
export interface WaitOptions {
  timeoutS: number | null;
}

/** Every flag's value as parsed. */
export type Values = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

export interface Parsed {
  values: Values;
  positionals: string[];
  rest: string[];
}

export function waitOptions(values: Values): WaitOptions | null {
  const limit = values["wait-timeout"];
  if (!values.wait) {
    if (limit !== undefined) throw new UsageError("--wait-timeout applies only with --wait");
    return null;
  }
  return { timeoutS: limit === undefined ? null : parseSeconds("wait-timeout", limit) };
}

/**
 * A number of seconds written in decimal (`15`, `0.5`): hex, exponents and signs are refused,
 * so `-d 0x10` cannot silently mean 16 seconds.
 * @throws {UsageError} naming the flag and the value seen.
 */
export function parseSeconds(
  flag: string,
  value: string,
  max = LIMITS.taskDurationMsMax / 1000,
): number {
  const seconds = Number(value);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value) || !Number.isFinite(seconds) || seconds > max) {
    throw new UsageError(
      `Invalid --${flag}: expected a decimal number of seconds from 0 to ${max}, got "${value}"`,
    );
  }
  return seconds;
}
