/**
 * What each `mutirao` command accepts: its positionals, the flags that apply to it, and its help.
 * One table, so the parser refuses a flag that does not apply, `COMMAND --help` prints the
 * command's own help, and the usage text cannot drift from what is accepted.
 * @module
 */
import { DEFAULT_CONFIG_PATH } from "../../shared/config/mod.ts";

/** Every flag any command takes, in `node:util` parseArgs form. */
export const FLAGS = {
  json: { type: "boolean", default: false },
  config: { type: "string" },
  orchestrators: { type: "string" },
  multicast: { type: "string" },
  "insecure-multicast": { type: "boolean", default: false },
  "tls-ca": { type: "string" },
  timeout: { type: "string" },
  debug: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  "password-stdin": { type: "boolean", default: false },
  duration: { type: "string", short: "d" },
  exec: { type: "boolean", default: false },
  batch: { type: "string" },
  "exec-timeout": { type: "string" },
  "max-attempts": { type: "string" },
  "idempotency-key": { type: "string" },
  wait: { type: "boolean", default: false },
  "wait-timeout": { type: "string" },
  all: { type: "boolean", default: false },
  role: { type: "string" },
  state: { type: "string", multiple: true },
  limit: { type: "string" },
  after: { type: "string" },
  "queue-timeout": { type: "string" },
  owner: { type: "string" },
  "older-than": { type: "string" },
  "dry-run": { type: "boolean", default: false },
  kind: { type: "string" },
  payload: { type: "string" },
  retries: { type: "string" },
  backoff: { type: "string" },
  "backoff-type": { type: "string" },
  "max-backoff": { type: "string" },
  "task-timeout": { type: "string" },
  delay: { type: "string" },
  at: { type: "string" },
  priority: { type: "string" },
  queue: { type: "string" },
  cron: { type: "string" },
  tz: { type: "string" },
  follow: { type: "boolean", short: "f", default: false },
} as const;

/** A flag's long name. */
export type FlagName = keyof typeof FLAGS;

/** Flags every command takes: output, where the cluster is, and how long to try. */
export const GLOBAL_FLAGS: readonly FlagName[] = [
  "json",
  "config",
  "orchestrators",
  "multicast",
  "insecure-multicast",
  "tls-ca",
  "timeout",
  "debug",
  "help",
];

/** One command (or `user`/`token` sub-command) and what it accepts. */
export interface CommandSpec {
  /** As typed: "submit", "user add". */
  readonly name: string;
  /** The synopsis line, e.g. `status TASK_ID [--wait [--wait-timeout SECS]]`. */
  readonly usage: string;
  /** What the command does, one or more lines. */
  readonly summary: string;
  /** Positionals after the command name (after the sub-command for `user`/`token`). */
  readonly positionals: { readonly min: number; readonly max: number };
  /** The command's own options, one per line, for its help. */
  readonly details?: string;
  /** Flags beyond {@link GLOBAL_FLAGS}. */
  readonly flags: readonly FlagName[];
}

const WAIT_FLAGS: readonly FlagName[] = ["wait", "wait-timeout"];

/** Every command, in the order the usage text lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "login",
    usage: "login USER",
    summary: "log in; the password is read from the terminal (hidden) or the first line of\n" +
      "stdin. (login USER PASSWORD still works but warns: other local users see\n" +
      "arguments in `ps`, and shells keep them in history)",
    positionals: { min: 1, max: 2 },
    flags: ["password-stdin"],
  },
  {
    name: "logout",
    usage: "logout",
    summary: "end the session (when there is none, says so and succeeds)",
    positionals: { min: 0, max: 0 },
    flags: [],
  },
  {
    name: "submit",
    usage: 'submit "DESCRIPTION" -d SECS [--wait [--wait-timeout SECS]]\n' +
      'submit --kind KIND [--payload JSON|@FILE] ["DESCRIPTION"]\n' +
      "submit --exec [--exec-timeout SECS] -- PROGRAM [ARGS...]\n" +
      "submit --batch FILE",
    summary: "submit the seed's simulated task (runs SECS seconds); with --kind, a task for\n" +
      'the handler of that kind on a worker started with --handlers (README, "Writing\n' +
      'tasks"); with --exec, run a program on a worker started with --allow-exec; with\n' +
      "--batch, many tasks in one request, one JSON object per line (FILE - reads\n" +
      'stdin; README, "Batch submission")',
    details: `  -d, --duration SECS     duration of the simulated task (decimal, may be fractional)
  --kind KIND             the task kind a worker's handler serves (e.g. resize)
  --payload JSON|@FILE    with --kind: the handler's input, JSON text or @ and a file
                          holding it (default null)
  --retries N             retry a failed attempt (handler threw, program exited non-zero,
                          time limit passed) up to N times (default 0)
  --backoff SECS          with --retries: pause before the first retry (default 1); each
                          next one doubles, with jitter, up to --max-backoff
  --backoff-type TYPE     exponential (default) or fixed (--backoff every time)
  --max-backoff SECS      with --retries: longest pause (default 300)
  --task-timeout SECS     each attempt fails (reason timeout) after SECS; for --exec the
                          same as --exec-timeout. (--timeout stays how long to try to
                          reach the cluster, as for every command)
  --delay SECS            do not start before SECS from now
  --at TIME               do not start before TIME (ISO 8601, e.g. 2026-12-24T18:00:00Z)
  --priority N            higher runs first within its queue (-1000 to 1000, default 0;
                          negative as --priority=-5)
  --queue NAME            wait in queue NAME (default: default), for workers started with
                          --queues NAME
  --after ID[,ID...]      run once these tasks of yours succeeded; fail (dependency_failed)
                          as soon as one fails or is cancelled
  --queue-timeout SECS    not started within SECS of being due, the task ends expired
  --max-attempts N        attempts allowed when workers die under the task
  --idempotency-key KEY   resubmitting with the same key never makes a second task
                          (default: a fresh random key; with --batch, the prefix of
                          each line's key: KEY-LINE)
  --exec-timeout SECS     with --exec: kill the program after SECS (default 3600)
  --wait                  wait for the task to end, then print its status; exit 8 if it
                          failed or was cancelled
  --wait-timeout SECS     with --wait: stop waiting after SECS and exit 9`,
    positionals: { min: 0, max: 1 },
    flags: [
      "duration",
      "exec",
      "exec-timeout",
      "batch",
      "max-attempts",
      "idempotency-key",
      "kind",
      "payload",
      "retries",
      "backoff",
      "backoff-type",
      "max-backoff",
      "task-timeout",
      "delay",
      "at",
      "priority",
      "queue",
      "after",
      "queue-timeout",
      ...WAIT_FLAGS,
    ],
  },
  {
    name: "status",
    usage: "status TASK_ID [--wait [--wait-timeout SECS]]",
    summary: "state, worker, attempts and event history; with --wait, waits until the task\n" +
      "ends (exit 8 if it failed or was cancelled, 9 if --wait-timeout passed first)",
    positionals: { min: 1, max: 1 },
    flags: WAIT_FLAGS,
  },
  {
    name: "result",
    usage: "result TASK_ID [--wait [--wait-timeout SECS]]",
    summary: "print a succeeded task's result (its handler's return value as JSON, or its\n" +
      "output); exit 8 with the error if it failed or was cancelled, 13 if it has not\n" +
      "ended (with --wait: waits for it)",
    positionals: { min: 1, max: 1 },
    flags: WAIT_FLAGS,
  },
  {
    name: "logs",
    usage: "logs TASK_ID [--follow]",
    summary: "print a task's output: its handler's ctx.log lines, or its program's stdout and\n" +
      "stderr (the last 64 KiB of each are kept); with --follow (-f), print it as it\n" +
      "comes while the task runs, until it ends (exit 8 if it failed or was cancelled)",
    details: `  -f, --follow            print new output every 0.4 s until the task ends, then any
                          final output not shown; the task's stderr goes to stderr.
                          With --json: one {"stream","text"} object per line, then
                          {"id","state","attempt","error"}`,
    positionals: { min: 1, max: 1 },
    flags: ["follow"],
  },
  {
    name: "watch",
    usage: "watch [TASK_ID]",
    summary: "follow the event stream (GET /api/v1/events on an orchestrator's httpPort): one\n" +
      "line per event of your tasks (admins: every task, worker and leader event); with\n" +
      "TASK_ID, that task's events until it ends (exit 8 if it failed or was cancelled),\n" +
      "otherwise until Ctrl-C. A broken stream resumes on another orchestrator",
    details: `  --json                  one event object per line`,
    positionals: { min: 0, max: 1 },
    flags: [],
  },
  {
    name: "list",
    usage: "list [--state STATE[,STATE]]... [--limit N] [--after CURSOR] [--all]",
    summary: "your tasks, newest first, a page at a time (--all, admins: every user's);\n" +
      "--after CURSOR shows the page after one whose last line named CURSOR",
    positionals: { min: 0, max: 0 },
    flags: ["state", "limit", "after", "all"],
  },
  {
    name: "workers",
    usage: "workers",
    summary: "(admin) live workers and their load",
    positionals: { min: 0, max: 0 },
    flags: [],
  },
  {
    name: "cancel",
    usage: "cancel TASK_ID\ncancel --state STATE[,STATE] [--kind KIND] [--queue NAME] [--all]",
    summary: "cancel a queued or running task (a running handler's signal fires; a running\n" +
      "program's process group is killed); with --state (queued, running), every task of\n" +
      "yours in those states, of that kind or queue if given (--all, admins: everyone's)",
    positionals: { min: 0, max: 1 },
    flags: ["state", "kind", "queue", "all"],
  },
  {
    name: "retry",
    usage: "retry TASK_ID [--wait [--wait-timeout SECS]]",
    summary: "run a failed, cancelled or expired task again: a new task with the same kind,\n" +
      "payload and options (its id is printed); retrying the same task twice gives the\n" +
      "same new task",
    positionals: { min: 1, max: 1 },
    flags: WAIT_FLAGS,
  },
  {
    name: "purge",
    usage: "purge [--state STATE]... [--owner USER] [--older-than AGE] [--dry-run]",
    summary: "(admin) remove finished tasks now, whatever the retention policy says; queued\n" +
      "and running tasks are never removed. `status` of a removed task exits 12 (expired)",
    positionals: { min: 0, max: 0 },
    flags: ["state", "owner", "older-than", "dry-run"],
  },
  {
    name: "cluster",
    usage: "cluster",
    summary: "(admin) every orchestrator: role (leader = primary, followers = backups),\n" +
      "term, commit/applied index, lag; exits 6 when no orchestrator is leader",
    positionals: { min: 0, max: 0 },
    flags: [],
  },
  {
    name: "user add",
    usage: "user add NAME [--role admin|user]",
    summary: "(admin) create an account; the password is read from the terminal or stdin",
    positionals: { min: 1, max: 1 },
    flags: ["role", "password-stdin"],
  },
  {
    name: "user passwd",
    usage: "user passwd [NAME]",
    summary: "change your password: asks for the current one, then the new one (stdin:\n" +
      "current on line 1, new on line 2); admins resetting another user's give only\n" +
      "the new one; revokes that user's sessions",
    positionals: { min: 0, max: 1 },
    flags: ["password-stdin"],
  },
  {
    name: "user remove",
    usage: "user remove NAME",
    summary: "(admin) remove an account (exit 11 if there is none)",
    positionals: { min: 1, max: 1 },
    flags: [],
  },
  {
    name: "user list",
    usage: "user list",
    summary: "(admin) list accounts",
    positionals: { min: 0, max: 0 },
    flags: [],
  },
  {
    name: "token list",
    usage: "token list",
    summary: "(admin) list live sessions",
    positionals: { min: 0, max: 0 },
    flags: [],
  },
  {
    name: "token revoke",
    usage: "token revoke ID",
    summary: "(admin) revoke a session by its id prefix (exit 11 if none matches)",
    positionals: { min: 1, max: 1 },
    flags: [],
  },
  {
    name: "schedule add",
    usage: "schedule add NAME --cron EXPR [--tz ZONE] --kind KIND [--payload JSON|@FILE]\n" +
      'schedule add NAME --cron EXPR [--tz ZONE] "DESCRIPTION" -d SECS\n' +
      "schedule add NAME --cron EXPR [--tz ZONE] [--exec] [--exec-timeout SECS] -- PROGRAM [ARGS...]",
    summary: "submit a task at each tick of a cron expression, from now on (the same NAME\n" +
      "replaces your schedule of that name). A tick fires exactly once, across\n" +
      "failovers; ticks missed while no leader was there fire once, as the latest\n" +
      '(README, "Schedules")',
    details: `  --cron EXPR             5 fields (minute hour day month weekday), 6 with seconds
                          first, or 7 with a year; or @hourly, @daily, ... e.g.
                          "*/10 * * * * *" (every 10 s), "0 9 * * 1-5" (9:00 on weekdays)
  --tz ZONE               the IANA time zone the expression reads in (default UTC)
  --kind, --payload, -d, --exec, --exec-timeout, --task-timeout, --retries,
  --backoff, --backoff-type, --max-backoff, --max-attempts: as for submit`,
    positionals: { min: 1, max: 2 },
    flags: [
      "cron",
      "tz",
      "duration",
      "exec",
      "exec-timeout",
      "max-attempts",
      "kind",
      "payload",
      "retries",
      "backoff",
      "backoff-type",
      "max-backoff",
      "task-timeout",
    ],
  },
  {
    name: "schedule list",
    usage: "schedule list [--all]",
    summary: "your schedules (--all, admins: every user's): expression, next tick, last\n" +
      "fired tick and its task, paused, ticks missed",
    positionals: { min: 0, max: 0 },
    flags: ["all"],
  },
  {
    name: "schedule remove",
    usage: "schedule remove NAME [--owner USER]",
    summary: "remove a schedule (its tasks stay); admins may name another user's",
    positionals: { min: 1, max: 1 },
    flags: ["owner"],
  },
  {
    name: "schedule pause",
    usage: "schedule pause NAME [--owner USER]",
    summary: "stop firing a schedule until it is resumed",
    positionals: { min: 1, max: 1 },
    flags: ["owner"],
  },
  {
    name: "schedule resume",
    usage: "schedule resume NAME [--owner USER]",
    summary: "fire a paused schedule again, from its next tick (ticks that passed while it\n" +
      "was paused do not fire)",
    positionals: { min: 1, max: 1 },
    flags: ["owner"],
  },
  {
    name: "help",
    usage: "help [COMMAND]",
    summary: "this text, or one command's help (also: mutirao COMMAND --help)",
    positionals: { min: 0, max: 2 },
    flags: [],
  },
];

/** Commands that take a sub-command. */
export const GROUPS: readonly string[] = ["user", "token", "schedule"];

/** The spec of `name` ("submit", "user add"), or undefined. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

const GLOBAL_HELP = `Global options (every command):
  --json                 print exactly one JSON document on stdout
  --config FILE          cluster file (default: $MUTIRAO_CONFIG, the cluster used at
                         login, or ${DEFAULT_CONFIG_PATH})
  --orchestrators LIST   HOST:PORT[,HOST:PORT...] instead of a cluster file
  --multicast GROUP:PORT find the leader by its multicast announcements (or
                         $MUTIRAO_MULTICAST); no cluster file needed, but credentials
                         go only to a TLS-verified orchestrator
  --insecure-multicast   with --multicast and no TLS: send credentials anyway to the
                         announced orchestrator (a forged announcement would receive them)
  --tls-ca FILE          CA certificate of a TLS cluster (or $MUTIRAO_TLS_CA; default:
                         the cluster file's tls.caFile)
  --timeout SECS         give up reaching the cluster after SECS (default 10)
  --debug                show stack traces
  -h, --help             show help (mutirao COMMAND --help: that command's)`;

/** Exit codes, as in the README's table; scripts rely on them. */
export const EXIT_CODE_HELP = `Exit codes:
  0  ok
  1  internal error (a bug; --debug shows the stack)
  2  invalid arguments (unknown command or flag, a flag the command does not take, a bad value)
  3  bad credentials
  4  not logged in, session expired, or session issued by another cluster
  5  unknown task
  6  cluster unreachable, no quorum, or (cluster) no leader
  7  request refused (e.g. cancelling a finished task, not an admin)
  8  --wait, logs --follow: the task ended failed or cancelled
  9  --wait: --wait-timeout passed before the task ended
  10 configuration error (cluster file, TLS CA file, session directory)
  11 no such user or session (user passwd/remove, token revoke)
  12 the task expired: it finished and was removed (retention, or an admin's purge)`;

function indent(text: string, by: string): string {
  return text.split("\n").map((line) => by + line).join("\n");
}

function usageEntry(spec: CommandSpec): string {
  const details = spec.details === undefined ? "" : `\n${indent(spec.details, "    ")}`;
  return `${indent(spec.usage, "  ")}\n${indent(spec.summary, "      ")}${details}`;
}

/** The full usage text: `mutirao help`, `mutirao --help`, and a bare `mutirao`. */
export const USAGE = `Usage: mutirao COMMAND [options]
       (from the repository: deno task client COMMAND [options])

Commands:
${COMMANDS.map(usageEntry).join("\n")}

${GLOBAL_HELP}

The session token is kept in $MUTIRAO_HOME/session.json (default ~/.mutirao, mode 0600; the
directory must be the user's and not writable by others). It is sent only to the cluster that
issued it: an orchestrator whose welcome names another cluster id, or (TLS) that is verified with
another CA than at login, never receives it.

${EXIT_CODE_HELP}
`;

/** A command flag's value name and meaning, for `COMMAND --help` (submit has its own text). */
const FLAG_HELP: Partial<Record<FlagName, readonly [string, string]>> = {
  "password-stdin": ["", "read passwords from stdin even when it is a terminal"],
  wait: ["", "wait until the task ends; exit 8 if it failed or was cancelled"],
  "wait-timeout": ["SECS", "with --wait: stop waiting after SECS and exit 9"],
  state: ["STATE", "only tasks in this state (repeat, or a comma list, for several)"],
  limit: ["N", "at most N tasks per page"],
  after: ["CURSOR", "the page after the one that named CURSOR"],
  all: ["", "(admin) every user's tasks"],
  role: ["ROLE", "admin or user (default user)"],
  owner: ["USER", "only this user's tasks"],
  "older-than": ["AGE", "only tasks that finished at least AGE ago (90s, 30m, 12h, 7d)"],
  "dry-run": ["", "count what matches; remove nothing"],
};

/** One command's help: `mutirao submit --help`, `mutirao help submit`. */
export function commandHelp(spec: CommandSpec): string {
  const own = spec.details ??
    spec.flags.map((f) =>
      `  ${`--${f} ${FLAG_HELP[f]?.[0] ?? ""}`.padEnd(22)}${FLAG_HELP[f]?.[1] ?? ""}`
    )
      .join("\n");
  return `Usage: ${spec.usage.split("\n").map((l) => `mutirao ${l}`).join("\n       ")}

${spec.summary}
${own === "" ? "" : `\nOptions:\n${own}\n`}
${GLOBAL_HELP}

${EXIT_CODE_HELP}
`;
}

/** Help for a group (`mutirao user --help`): its sub-commands. */
export function groupHelp(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return `Usage:\n${
    members.map((c) => `${indent(c.usage, "  mutirao ")}\n${indent(c.summary, "      ")}`).join(
      "\n",
    )
  }\n\n${GLOBAL_HELP}\n`;
}
