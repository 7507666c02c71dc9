/**
 * The `mutirao` command line's shell: parses the arguments (pure, `parse_command.ts`), loads the
 * local state, runs the command, and prints its outcome (pure, `outcome.ts`). Every command takes
 * `--json` and then prints exactly one JSON document on stdout; errors go to stderr with a
 * distinct exit code (README, "Exit codes").
 * @module
 */
import { assertNever } from "../../shared/assert.ts";
import { LamportClock } from "../../shared/lamport_clock.ts";
import * as accounts from "./account_commands.ts";
import { configurationError } from "./cli_error.ts";
import { cluster } from "./cluster_command.ts";
import { purge } from "./purge_command.ts";
import { watch } from "./watch_command.ts";
import type { Context } from "./cluster_session.ts";
import { failureFor, failureOutcome, type Outcome, type Output, outputOutcome } from "./outcome.ts";
import { type Command, type Invocation, parseInvocation } from "./parse_command.ts";
import { loadClientState, saveClientState } from "./session_store.ts";
import * as tasks from "./task_commands.ts";
import * as schedules from "./schedule_commands.ts";

export { USAGE } from "./command_spec.ts";

/** Runs the CLI; returns the exit code. Never throws. */
export async function runCli(args: string[]): Promise<number> {
  const outcome = await outcomeOf(args);
  for (const line of outcome.stderr) console.error(line);
  if (outcome.stdout !== null) console.log(outcome.stdout);
  return outcome.exitCode;
}

async function outcomeOf(args: string[]): Promise<Outcome> {
  // Read before parsing, so even a usage error is reported in the form asked for.
  const head = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
  const json = head.includes("--json");
  const debug = head.includes("--debug");
  let invocation: Invocation | null = null;
  try {
    invocation = parseInvocation(args);
    if (invocation.command.name === "help") {
      return { stdout: invocation.command.text, stderr: [], exitCode: 0 };
    }
    return outputOutcome(await execute(invocation), { json });
  } catch (error) {
    const failure = failureFor(error, invocation?.command.name ?? null);
    const stack = debug && error instanceof Error ? error.stack ?? null : null;
    return failureOutcome(failure, { json, stack });
  }
}

/** Runs a parsed command with the local state, saved afterwards even when the command failed. */
async function execute({ command, options }: Invocation): Promise<Output> {
  const state = await loadClientState().catch((error) => {
    throw configurationError(error);
  });
  const clock = new LamportClock(state.lamport);
  const context: Context = { options, state, clock };
  try {
    return await runCommand(command, context);
  } finally {
    state.lamport = clock.value;
    // Persist the clock even after a failed request: it may have advanced.
    if (state.session !== null || state.lamport > 0) {
      await saveClientState(state).catch((error) => {
        throw configurationError(error);
      });
    }
  }
}

function runCommand(command: Command, context: Context): Promise<Output> {
  switch (command.name) {
    case "help":
      throw new TypeError("help is answered before any state is loaded");
    case "login":
      return accounts.login(context, command);
    case "logout":
      return accounts.logout(context);
    case "submit":
      return tasks.submit(context, command);
    case "submitBatch":
      return tasks.submitBatch(context, command);
    case "status":
      return tasks.status(context, command);
    case "result":
      return tasks.result(context, command);
    case "logs":
      return tasks.logs(context, command);
    case "watch":
      return watch(context, command);
    case "list":
      return tasks.list(context, command);
    case "workers":
      return tasks.workers(context);
    case "cancel":
      return tasks.cancel(context, command);
    case "cancelMany":
      return tasks.cancelMany(context, command);
    case "retry":
      return tasks.retry(context, command);
    case "cluster":
      return cluster(context);
    case "purge":
      return purge(context, command);
    case "userAdd":
      return accounts.userAdd(context, command);
    case "userPasswd":
      return accounts.userPasswd(context, command);
    case "userRemove":
      return accounts.userRemove(context, command);
    case "userList":
      return accounts.userList(context);
    case "tokenList":
      return accounts.tokenList(context);
    case "tokenRevoke":
      return accounts.tokenRevoke(context, command);
    case "scheduleAdd":
      return schedules.scheduleAdd(context, command);
    case "scheduleList":
      return schedules.scheduleList(context, command);
    case "scheduleRemove":
      return schedules.scheduleRemove(context, command);
    case "schedulePause":
      return schedules.schedulePause(context, command);
    default:
      return assertNever(command);
  }
}
