/**
 * What a command's result or error becomes on the terminal: the stdout document, the stderr lines
 * and the exit code (README, "Exit codes"). Pure, so every exit code is unit-tested without a
 * cluster.
 * @module
 */
import { UsageError } from "../../shared/cli_args.ts";
import { EXIT_CODES, exitCodeFor, RemoteError } from "../../shared/errors.ts";
import type { TaskView } from "../../shared/protocol/messages.ts";
import { UnreachableError, WrongClusterError } from "../api/mod.ts";
import { CliError } from "./cli_error.ts";
import type { Command, WaitOptions } from "./parse_command.ts";

/** A failure as scripts see it: `--json` prints `{ error: Failure }`. */
export interface Failure {
  code: string;
  exitCode: number;
  message: string;
}

/** A command's result: its JSON document, its human rendering, and an exit other than 0 if any. */
export interface Output {
  json: unknown;
  /** null: nothing more to print (a command that printed as it went, like `logs --follow`). */
  text: string | null;
  /** Set when the command ran but its answer is a failure for scripts (the task failed). */
  failure?: Failure;
}

/** Everything the shell prints, and the exit code. */
export interface Outcome {
  stdout: string | null;
  stderr: string[];
  exitCode: number;
}

/** Commands whose `not_found` means an account or session, not a task. */
const ACCOUNT_COMMANDS: ReadonlySet<Command["name"]> = new Set([
  "userAdd",
  "userPasswd",
  "userRemove",
]);

/**
 * Classifies an error thrown while running `command` (null: before one was parsed).
 * Anything unrecognised is a bug: exit 1.
 */
export function failureFor(error: unknown, command: Command["name"] | null): Failure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError) {
    return { code: "invalid_arguments", exitCode: EXIT_CODES.invalidArguments, message };
  }
  if (error instanceof CliError) return { code: error.code, exitCode: error.exitCode, message };
  if (error instanceof RemoteError) {
    if (error.code === "not_found" && command !== null && ACCOUNT_COMMANDS.has(command)) {
      return { code: "no_such_user", exitCode: EXIT_CODES.noSuchAccount, message };
    }
    if (error.code === "not_found" && command === "tokenRevoke") {
      return { code: "no_such_session", exitCode: EXIT_CODES.noSuchAccount, message };
    }
    return { code: error.code, exitCode: exitCodeFor(error.code), message };
  }
  if (error instanceof WrongClusterError) {
    return { code: "wrong_cluster", exitCode: EXIT_CODES.unauthenticated, message };
  }
  if (error instanceof UnreachableError) {
    return { code: "unreachable", exitCode: EXIT_CODES.unreachable, message };
  }
  return { code: "internal", exitCode: EXIT_CODES.internal, message };
}

/** What a failed command prints: the message on stderr, and with `--json` one error document. */
export function failureOutcome(
  failure: Failure,
  options: { json: boolean; stack?: string | null },
): Outcome {
  const stderr = [`mutirao: ${failure.message}`];
  if (options.stack) stderr.push(options.stack);
  return {
    stdout: options.json ? JSON.stringify({ error: failure }) : null,
    stderr,
    exitCode: failure.exitCode,
  };
}

/**
 * What a command that ran prints; a result that is a failure for scripts also says why, on stderr
 * and (with `--json`) in an `error` field beside the result's own.
 */
export function outputOutcome(output: Output, options: { json: boolean }): Outcome {
  // Every non-zero exit carries `error` in its JSON document, here beside the result's fields.
  const json = output.failure === undefined ? output.json : {
    ...(output.json as Record<string, unknown>),
    error: output.failure,
  };
  return {
    stdout: options.json ? JSON.stringify(json) : output.text,
    stderr: output.failure === undefined ? [] : [`mutirao: ${output.failure.message}`],
    exitCode: output.failure?.exitCode ?? EXIT_CODES.ok,
  };
}

/**
 * The failure, if any, of a task shown after `--wait`: it ended failed or cancelled (exit 8), or
 * the wait timed out first (exit 9). Without `--wait`, showing a task is a success whatever its
 * state: the query worked.
 */
export function waitFailure(task: TaskView, wait: WaitOptions | null): Failure | undefined {
  if (wait === null || task.state === "succeeded") return undefined;
  if (task.state === "failed" || task.state === "cancelled" || task.state === "expired") {
    return {
      code: `task_${task.state}`,
      exitCode: EXIT_CODES.taskFailed,
      message: `Task ${task.id} ended ${task.state}`,
    };
  }
  return {
    code: "wait_timeout",
    exitCode: EXIT_CODES.waitTimedOut,
    message: `Task ${task.id} is still ${task.state} after --wait-timeout ${wait.timeoutS}s`,
  };
}

/** `cluster` with no leader cannot serve writes: a health check must not read that as fine. */
export function noLeaderFailure(leaderId: string | null): Failure | undefined {
  if (leaderId !== null) return undefined;
  return {
    code: "no_leader",
    exitCode: EXIT_CODES.unreachable,
    message: "No orchestrator is leader: the cluster cannot accept or change tasks now",
  };
}
