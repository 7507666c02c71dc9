/**
 * Arguments to a validated command, without I/O: every flag is checked against the command it is
 * given to, every value against its range, before anything is read or sent. A typo therefore
 * exits 2 whether or not a session exists, and nothing reaches the cluster half-checked.
 * @module
 */
import { parseFlags, parseIntFlag, UsageError } from "../../shared/cli_args.ts";
import { LIMITS } from "../../shared/limits.ts";
import { TASK_STATES, type TaskSpec, type TaskState } from "../../shared/protocol/messages.ts";
import {
  commandHelp,
  type CommandSpec,
  findCommand,
  type FlagName,
  FLAGS,
  GLOBAL_FLAGS,
  groupHelp,
  GROUPS,
  USAGE,
} from "./command_spec.ts";
import {
  type Parsed,
  parseSeconds,
  type Values,
  type WaitOptions,
  waitOptions,
} from "./flag_values.ts";
import { buildSubmit, type SubmitOptions } from "./parse_submit.ts";
import { buildSchedule, type ScheduleCommand } from "./parse_schedule.ts";

export { parseSeconds, type WaitOptions };

/** A validated command, ready to become requests. */
export type Command =
  | { name: "help"; text: string }
  | { name: "login"; user: string; password: string | null }
  | { name: "logout" }
  | {
    name: "submit";
    spec: TaskSpec;
    /** `--payload @FILE`: the shell reads the payload from this file into the spec. */
    payloadFile: string | null;
    options: SubmitOptions;
    maxAttempts: number | null;
    /** null: the shell picks a fresh random key. */
    idempotencyKey: string | null;
    wait: WaitOptions | null;
  }
  | { name: "submitBatch"; path: string; keyPrefix: string | null }
  | { name: "status"; taskId: string; wait: WaitOptions | null }
  | { name: "result"; taskId: string; wait: WaitOptions | null }
  | { name: "logs"; taskId: string; follow: boolean }
  | { name: "watch"; taskId: string | null }
  | {
    name: "list";
    all: boolean;
    /** Tasks in any of these states; empty = every state. */
    states: TaskState[];
    limit: number | null;
    /** The cursor a previous page ended with (`next`), or null for the first page. */
    after: string | null;
  }
  | { name: "workers" }
  | { name: "cancel"; taskId: string }
  | {
    name: "cancelMany";
    states: Array<"queued" | "running">;
    kind: string | null;
    queue: string | null;
    all: boolean;
  }
  | { name: "retry"; taskId: string; wait: WaitOptions | null }
  | { name: "cluster" }
  | {
    name: "purge";
    /** Final states to purge; empty = all three. */
    states: Array<"succeeded" | "failed" | "cancelled" | "expired">;
    owner: string | null;
    olderThanMs: number | null;
    dryRun: boolean;
  }
  | { name: "userAdd"; user: string; role: "admin" | "user" }
  | { name: "userPasswd"; user: string | null }
  | { name: "userRemove"; user: string }
  | { name: "userList" }
  | { name: "tokenList" }
  | { name: "tokenRevoke"; tokenId: string }
  | ScheduleCommand;

/** Options every command takes. */
export interface GlobalOptions {
  json: boolean;
  debug: boolean;
  config: string | null;
  orchestrators: string | null;
  multicast: string | null;
  insecureMulticast: boolean;
  tlsCa: string | null;
  /** `--timeout`; null: the command's default. */
  timeoutS: number | null;
  passwordStdin: boolean;
}

/** What the user asked for. */
export interface Invocation {
  command: Command;
  options: GlobalOptions;
}

/**
 * Parses the command line.
 * @throws {UsageError} for an unknown command or flag, a flag the command does not take, a
 *   missing or extra argument, or a value out of range; the message names the value seen.
 * @example
 * ```ts
 * parseInvocation(["status", "t-4", "--wait"]).command; // { name: "status", taskId: "t-4", ... }
 * ```
 */
export function parseInvocation(args: readonly string[]): Invocation {
  const split = args.indexOf("--");
  const head = split < 0 ? [...args] : args.slice(0, split);
  const rest = split < 0 ? [] : args.slice(split + 1);
  const { values, positionals } = parseFlagsPlainly(head);
  const options = globalOptions(values);
  const [first, ...others] = positionals;
  if (first === undefined || first === "help") {
    if (first === undefined && !values.help) throw new UsageError(`Missing command\n\n${USAGE}`);
    return { command: { name: "help", text: helpFor(others) }, options };
  }
  if (!GROUPS.includes(first) && findCommand(first) === undefined) {
    throw new UsageError(`Unknown command "${first}" (try mutirao help)`);
  }
  if (GROUPS.includes(first) && (values.help && others.length === 0)) {
    return { command: { name: "help", text: groupHelp(first) }, options };
  }
  const spec = GROUPS.includes(first) ? subCommand(first, others[0]) : findCommand(first)!;
  const args2 = GROUPS.includes(first) ? others.slice(1) : others;
  if (values.help) return { command: { name: "help", text: commandHelp(spec) }, options };
  checkFlags(spec, head, values);
  checkPositionals(spec, args2);
  // `schedule add NAME --cron EXPR -- PROGRAM ARGS` needs no --exec: what follows -- is a program.
  if (spec.name === "schedule add" && rest.length > 0 && values.kind === undefined) {
    values.exec = true;
  }
  if (
    rest.length > 0 && !((spec.name === "submit" || spec.name === "schedule add") && values.exec)
  ) {
    throw new UsageError("Arguments after -- are only for submit --exec and schedule add --exec");
  }
  return { command: buildCommand(spec, { values, positionals: args2, rest }), options };
}

/** `parseFlags`, with node's advice about `--` (meant for positionals) left out. */
function parseFlagsPlainly(head: string[]) {
  try {
    return parseFlags(head, FLAGS);
  } catch (error) {
    const unknown = /^Unknown option '([^']+)'/.exec((error as Error).message);
    if (unknown === null) throw error;
    throw new UsageError(`Unknown option ${unknown[1]} (see mutirao help)`, { cause: error });
  }
}

function helpFor(topic: string[]): string {
  if (topic.length === 0) return USAGE;
  const name = topic.join(" ");
  if (GROUPS.includes(name)) return groupHelp(name);
  const spec = findCommand(name);
  if (spec === undefined) throw new UsageError(`No help for "${name}": no such command`);
  return commandHelp(spec);
}

function subCommand(group: string, action: string | undefined): CommandSpec {
  const spec = action === undefined ? undefined : findCommand(`${group} ${action}`);
  if (spec === undefined) {
    const actions = ["add", "passwd", "remove", "list", "revoke", "pause", "resume"]
      .filter((a) => findCommand(`${group} ${a}`) !== undefined).join("|");
    throw new UsageError(`Expected: ${group} ${actions} (got "${action ?? ""}")`);
  }
  return spec;
}

function globalOptions(values: Values): GlobalOptions {
  return {
    json: values.json,
    debug: values.debug,
    config: values.config ?? null,
    orchestrators: values.orchestrators ?? null,
    multicast: values.multicast ?? null,
    insecureMulticast: values["insecure-multicast"],
    tlsCa: values["tls-ca"] ?? null,
    timeoutS: values.timeout === undefined ? null : parseSeconds("timeout", values.timeout),
    passwordStdin: values["password-stdin"],
  };
}

/** Refuses any flag given that neither the command nor every command takes. */
function checkFlags(spec: CommandSpec, head: readonly string[], values: Values): void {
  const allowed = new Set<FlagName>([...GLOBAL_FLAGS, ...spec.flags]);
  for (const name of Object.keys(values) as FlagName[]) {
    if (allowed.has(name) || !wasGiven(name, head)) continue;
    throw new UsageError(
      `${spec.name} does not take --${name} (see mutirao ${spec.name} --help)`,
    );
  }
}

/** Defaults fill `values` too, so a boolean flag counts as given only if it is on the line. */
function wasGiven(name: FlagName, head: readonly string[]): boolean {
  const short = "short" in FLAGS[name] ? (FLAGS[name] as { short: string }).short : null;
  return head.some((a) =>
    a === `--${name}` || a.startsWith(`--${name}=`) ||
    (short !== null && /^-[^-]/.test(a) && a.slice(1).includes(short))
  );
}

function checkPositionals(spec: CommandSpec, positionals: readonly string[]): void {
  const n = positionals.length;
  const { min, max } = spec.positionals;
  if (n < min || n > max) {
    throw new UsageError(
      `Expected: ${spec.usage.split("\n")[0]} (got ${n} argument${n === 1 ? "" : "s"})`,
    );
  }
}

function buildCommand(spec: CommandSpec, parsed: Parsed): Command {
  const { values, positionals: p } = parsed;
  switch (spec.name) {
    case "login":
      return { name: "login", user: userName(p[0]), password: p[1] ?? null };
    case "logout":
      return { name: "logout" };
    case "submit":
      return buildSubmit(parsed, Date.now());
    case "status":
      return { name: "status", taskId: taskId(p[0]), wait: waitOptions(values) };
    case "result":
      return { name: "result", taskId: taskId(p[0]), wait: waitOptions(values) };
    case "logs":
      return { name: "logs", taskId: taskId(p[0]), follow: values.follow === true };
    case "watch":
      return { name: "watch", taskId: p[0] === undefined ? null : taskId(p[0]) };
    case "list":
      return buildList(values);
    case "workers":
      return { name: "workers" };
    case "cancel":
      return buildCancel(values, p);
    case "retry":
      return { name: "retry", taskId: taskId(p[0]), wait: waitOptions(values) };
    case "cluster":
      return { name: "cluster" };
    case "purge":
      return buildPurge(values);
    case "user add":
      return { name: "userAdd", user: userName(p[0]), role: role(values.role) };
    case "user passwd":
      return { name: "userPasswd", user: p[0] === undefined ? null : userName(p[0]) };
    case "user remove":
      return { name: "userRemove", user: userName(p[0]) };
    case "user list":
      return { name: "userList" };
    case "token list":
      return { name: "tokenList" };
    case "token revoke":
      return { name: "tokenRevoke", tokenId: tokenId(p[0]) };
    case "schedule add":
    case "schedule list":
    case "schedule remove":
    case "schedule pause":
    case "schedule resume":
      return buildSchedule(spec.name, parsed);
    default:
      throw new UsageError(`Unknown command "${spec.name}" (try mutirao help)`);
  }
}

/** `cancel TASK_ID`, or `cancel --state ...` for every matching task. */
function buildCancel(values: Values, positionals: string[]): Command {
  const filtered = values.state !== undefined || values.kind !== undefined ||
    values.queue !== undefined || values.all;
  if (positionals.length === 1) {
    if (filtered) {
      throw new UsageError("Give a TASK_ID or --state (with --kind/--queue/--all), not both");
    }
    return { name: "cancel", taskId: taskId(positionals[0]) };
  }
  if (values.state === undefined) {
    throw new UsageError("Expected: cancel TASK_ID, or cancel --state queued[,running] [--kind K]");
  }
  const states = values.state.flatMap((v) => v.split(","));
  for (const state of states) {
    if (state !== "queued" && state !== "running") {
      throw new UsageError(
        `Invalid --state for cancel: only queued and running tasks can be cancelled, got "${state}"`,
      );
    }
  }
  return {
    name: "cancelMany",
    states: [...new Set(states)] as Array<"queued" | "running">,
    kind: values.kind ?? null,
    queue: values.queue ?? null,
    all: values.all,
  };
}

function buildList(values: Values): Command {
  // `--state a --state b` and `--state a,b` mean the same: tasks in either state.
  const states: TaskState[] = [];
  for (const state of (values.state ?? []).flatMap((v) => v.split(","))) {
    if (!(TASK_STATES as readonly string[]).includes(state)) {
      throw new UsageError(
        `Invalid --state: expected one of ${TASK_STATES.join(", ")}, got "${state}"`,
      );
    }
    if (!states.includes(state as TaskState)) states.push(state as TaskState);
  }
  const after = values.after ?? null;
  if (after !== null && !/^t-[0-9]{1,15}$/.test(after)) {
    throw new UsageError(
      `Invalid --after: expected the cursor a list page ended with (a task id such as t-42), got "${after}"`,
    );
  }
  return {
    name: "list",
    all: values.all,
    states,
    limit: values.limit === undefined
      ? null
      : parseIntFlag("limit", values.limit, 1, LIMITS.listLimitMax),
    after,
  };
}

const FINAL_STATES = ["succeeded", "failed", "cancelled", "expired"] as const;

function buildPurge(values: Values): Command {
  const states: Array<typeof FINAL_STATES[number]> = [];
  for (const state of (values.state ?? []).flatMap((v) => v.split(","))) {
    if (!(FINAL_STATES as readonly string[]).includes(state)) {
      throw new UsageError(
        `Invalid --state: purge removes finished tasks only; expected one of ${
          FINAL_STATES.join(", ")
        }, got "${state}"`,
      );
    }
    const final = state as typeof FINAL_STATES[number];
    if (!states.includes(final)) states.push(final);
  }
  return {
    name: "purge",
    states,
    owner: values.owner === undefined ? null : userName(values.owner),
    olderThanMs: values["older-than"] === undefined ? null : parseAge(values["older-than"]),
    dryRun: values["dry-run"],
  };
}

const AGE_UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `--older-than`: a number with a unit (ms, s, m, h, d; seconds when none), e.g. 7d or 90s. */
export function parseAge(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value);
  const ms = match === null ? NaN : Number(match[1]) * AGE_UNIT_MS[match[2] ?? "s"];
  if (!Number.isFinite(ms) || ms > 100 * 365 * 86_400_000) {
    throw new UsageError(
      `Invalid --older-than: expected an age such as 90s, 30m, 12h or 7d (at most 100 years), got "${value}"`,
    );
  }
  return Math.round(ms);
}

function role(value: string | undefined): "admin" | "user" {
  const r = value ?? "user";
  if (r !== "admin" && r !== "user") {
    throw new UsageError(`Invalid --role: expected admin or user, got "${r}"`);
  }
  return r;
}

/** Task ids are short printable strings (t-42); anything else cannot name a task. */
function taskId(value: string): string {
  if (value.trim() === "" || value.length > LIMITS.taskIdChars || /[\s\p{Cc}]/u.test(value)) {
    throw new UsageError(
      `Invalid TASK_ID: expected a task id such as t-42 (from submit or list), got ${
        JSON.stringify(value.slice(0, LIMITS.taskIdChars))
      }`,
    );
  }
  return value;
}

/** The account-name characters the protocol accepts, checked here so the error is ours. */
/** A user name as accounts have them. @throws {UsageError} naming the value seen. */
export function userName(value: string): string {
  if (!/^[A-Za-z0-9_.@-]+$/.test(value) || value.length > LIMITS.userNameChars) {
    throw new UsageError(
      `Invalid user name: expected 1 to ${LIMITS.userNameChars} letters, digits, '_', '.', '@' ` +
        `or '-', got ${JSON.stringify(value.slice(0, LIMITS.userNameChars))}`,
    );
  }
  return value;
}

function tokenId(value: string): string {
  if (!/^[0-9a-f]{8,64}$/.test(value)) {
    throw new UsageError(
      `Invalid token ID: expected 8 to 64 lowercase hex digits from token list, got ${
        JSON.stringify(value.slice(0, 80))
      }`,
    );
  }
  return value;
}
