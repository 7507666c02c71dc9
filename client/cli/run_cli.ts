/**
 * The `mutirao` command line: login, logout, submit, status, list, workers,
 * cancel. Every command takes `--json` and then prints exactly one JSON
 * document on stdout; errors go to stderr with a distinct exit code.
 * @module
 */
import { parseFlags, parseIntFlag, UsageError } from "../../shared/cli_args.ts";
import {
  addressOf,
  DEFAULT_CONFIG_PATH,
  loadClusterConfig,
  type OrchestratorAddress,
  parseAddressList,
} from "../../shared/config/mod.ts";
import { assert } from "../../shared/assert.ts";
import { EXIT_CODES, exitCodeFor, RemoteError } from "../../shared/errors.ts";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { LIMITS } from "../../shared/limits.ts";
import {
  TASK_STATES,
  type TaskSpec,
  type TaskState,
  type TaskView,
} from "../../shared/protocol/messages.ts";
import { mutiraoHome } from "../../shared/paths.ts";
import { discoverLeader, parseMulticastAddress } from "../../shared/net/multicast.ts";
import { MutiraoClient, UnreachableError, WrongClusterError } from "../api/mod.ts";
import { loadTlsClientOptions, type TlsClientOptions } from "../../shared/net/connect.ts";
import { CliError, notLoggedIn } from "./cli_error.ts";
import {
  type ClusterRow,
  formatCluster,
  formatTask,
  formatTaskList,
  formatTime,
  formatTokens,
  formatUsers,
  formatWorkers,
  unreachableRow,
} from "./format.ts";
import { PasswordReader } from "./read_password.ts";
import {
  MULTICAST_REFUSAL,
  MULTICAST_WARNING,
  multicastCredentialPolicy,
} from "./discovery_policy.ts";
import { boundClusterId, caFingerprint } from "./session_binding.ts";
import { parseBatchFile } from "./batch_file.ts";
import {
  type ClientState,
  loadClientState,
  saveClientState,
  type Session,
} from "./session_store.ts";

export const USAGE = `Usage: mutirao COMMAND [options]
       (from the repository: deno task client COMMAND [options])

Commands:
  login USER                    log in; the password is read from the terminal
                                (hidden) or the first line of stdin. (login USER
                                PASSWORD still works but warns: other local users
                                see arguments in \`ps\`, and shells keep them in history)
  logout                        end the session
  submit "DESCRIPTION" -d SECS  submit the seed's simulated task (runs SECS seconds)
  submit --exec [--exec-timeout SECS] -- PROGRAM [ARGS...]
                                run a program on a worker started with --allow-exec
  submit --batch FILE           many tasks in one request, one JSON object per line
                                (FILE - reads stdin); see README, "Batch submission"
  status TASK_ID [--wait]       state, worker, attempts and event history
  list [--state STATE] [--limit N]
                                your tasks, newest first
  workers                       live workers and their load
  cancel TASK_ID                cancel a queued or running task
  cluster                       every orchestrator: role (leader = primary,
                                followers = backups), term, commit/applied index, lag
  user add NAME [--role admin|user]     (admin) create an account; the password
                                        is read from the terminal or stdin
  user passwd [NAME]            change your password: asks for the current one, then
                                the new one (stdin: current on line 1, new on line 2);
                                admins resetting another user's give only the new one;
                                revokes that user's sessions
  user remove NAME | user list  (admin) remove or list accounts
  token list | token revoke ID  (admin) list live sessions, or revoke one
  list --all                    (admin) every user's tasks

Submit options:
  -d, --duration SECS           duration of the simulated task (may be fractional)
  --max-attempts N              attempts allowed when workers die under the task
  --idempotency-key KEY         resubmitting with the same key never makes a second task
                                (default: a fresh random key; with --batch, the prefix
                                of each line's key: KEY-LINE)
  --wait                        wait for the task to finish, then print its status

Global options:
  --json                        print exactly one JSON document on stdout
  --config FILE                 cluster file (default: $MUTIRAO_CONFIG, the cluster
                                used at login, or ${DEFAULT_CONFIG_PATH})
  --orchestrators LIST          HOST:PORT[,HOST:PORT...] instead of a cluster file
  --multicast GROUP:PORT        find the leader by its multicast announcements
                                (or $MUTIRAO_MULTICAST); no cluster file needed, but
                                credentials go only to a TLS-verified orchestrator
  --insecure-multicast          with --multicast and no TLS: send credentials anyway to
                                the announced orchestrator (a forged announcement would
                                receive them)
  --tls-ca FILE                 CA certificate of a TLS cluster (or $MUTIRAO_TLS_CA; default:
                                the cluster file's tls.caFile)
  --timeout SECS                give up reaching the cluster after SECS (default 10)
  --wait-timeout SECS           with --wait: give up waiting after SECS (default: never)
  --debug                       show stack traces
  -h, --help                    show this help

The session token is kept in $MUTIRAO_HOME/session.json (default ~/.mutirao, mode 0600; the
directory must be the user's and not writable by others). It is sent only to the cluster that
issued it: an orchestrator whose welcome names another cluster id, or (TLS) that is verified with
another CA than at login, never receives it.
Exit codes: 0 ok, 1 internal error, 2 invalid arguments, 3 bad credentials,
4 not logged in, session expired or issued by another cluster, 5 unknown task,
6 cluster unreachable, 7 request refused (e.g. cancelling a finished task).
`;

const FLAGS = {
  json: { type: "boolean", default: false },
  config: { type: "string" },
  orchestrators: { type: "string" },
  multicast: { type: "string" },
  "insecure-multicast": { type: "boolean", default: false },
  "tls-ca": { type: "string" },
  timeout: { type: "string" },
  "wait-timeout": { type: "string" },
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
  all: { type: "boolean", default: false },
  role: { type: "string" },
  state: { type: "string" },
  limit: { type: "string" },
} as const;

type Values = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

interface Context {
  values: Values;
  positionals: string[];
  /** Arguments after `--` (the program of an exec task). */
  rest: string[];
  state: ClientState;
  clock: LamportClock;
}

/** Output of a command: the JSON document and its human rendering. */
interface Output {
  json: unknown;
  text: string;
}

/** Runs the CLI; returns the exit code. Never throws. */
export async function runCli(args: string[]): Promise<number> {
  const split = args.indexOf("--");
  const head = split < 0 ? args : args.slice(0, split);
  const rest = split < 0 ? [] : args.slice(split + 1);
  const json = head.includes("--json");
  const debug = head.includes("--debug");
  try {
    const { values, positionals } = parseFlags(head, FLAGS);
    if (values.help || positionals.length === 0) {
      if (positionals.length === 0 && !values.help) throw new UsageError("Missing command");
      console.log(USAGE);
      return 0;
    }
    const state = await loadClientState();
    const clock = new LamportClock(state.lamport);
    const context: Context = { values, positionals: positionals.slice(1), rest, state, clock };
    let output: Output;
    try {
      output = await runCommand(positionals[0], context);
    } finally {
      state.lamport = clock.value;
      // Persist the clock even after a failed request: it may have advanced.
      if (state.session !== null || state.lamport > 0) await saveClientState(state);
    }
    console.log(json ? JSON.stringify(output.json) : output.text);
    return 0;
  } catch (error) {
    return reportError(error, { json, debug });
  }
}

function runCommand(command: string, context: Context): Promise<Output> {
  switch (command) {
    case "login":
      return login(context);
    case "logout":
      return logout(context);
    case "submit":
      return submit(context);
    case "status":
      return status(context);
    case "list":
      return list(context);
    case "workers":
      return workers(context);
    case "cancel":
      return cancel(context);
    case "cluster":
      return cluster(context);
    case "user":
      return userCommand(context);
    case "token":
      return tokenCommand(context);
    default:
      throw new UsageError(`Unknown command "${command}" (try --help)`);
  }
}

// ---- commands ----

const PASSWORD_ARGUMENT_WARNING =
  "warning: a password given as an argument is visible to every local user (ps) and kept in " +
  "shell history; leave it out to be prompted, or pipe it on stdin";

async function login(context: Context): Promise<Output> {
  expectPositionals(context, 1, 2, "login USER");
  const [user, given] = context.positionals;
  if (given !== undefined) {
    // Kept for existing scripts, but every local user can read it in `ps` (and `deno task`
    // echoes its command line), so say so each time.
    console.error(`mutirao: ${PASSWORD_ARGUMENT_WARNING}`);
  }
  const password = given ??
    await new PasswordReader({ fromStdin: context.values["password-stdin"] }).read(
      "Password: ",
      "Cannot log in: no password given (type it at the prompt, or pipe it on stdin)",
    );
  if (password === "") throw new UsageError("Cannot log in: the password is empty");
  const target = await resolveTarget(context, { useSession: false });
  const { reply, clusterId } = await withClient(context, target, async (c) => {
    const reply = await c.request({ type: "login", user, password });
    return { reply, clusterId: c.clusterId };
  });
  // A reply implies a welcome, and the client adopted the cluster id of the first one.
  assert(clusterId !== null, "logged in without a welcome naming the cluster");
  context.state.session = {
    user: reply.user,
    token: reply.token,
    expiresAtMs: reply.expiresAtMs,
    orchestrators: target.orchestrators,
    tlsCaFile: target.tlsCaFile,
    clusterId,
    caFingerprint: target.caFingerprint,
  };
  const expiresAt = new Date(reply.expiresAtMs).toISOString();
  return {
    json: { user: reply.user, expiresAt, expiresAtMs: reply.expiresAtMs },
    text: `Logged in as ${reply.user} (session valid until ${formatTime(reply.expiresAtMs)})`,
  };
}

async function logout(context: Context): Promise<Output> {
  expectPositionals(context, 0, 0, "logout");
  const session = requireSession(context);
  await withSessionClient(context, (c) => c.request({ type: "logout", token: session.token }));
  context.state.session = null;
  return { json: { loggedOut: true, user: session.user }, text: `Logged out ${session.user}` };
}

/** Tasks per batch request, and bytes (under the orchestrators' 1 MiB frame limit). */
const BATCH_CHUNK = 1000;
const BATCH_CHUNK_BYTES = 768 * 1024;

/** Splits a batch into requests small enough for one frame each. */
function chunkBatch<T>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = JSON.stringify(item).length * 3; // UTF-8 upper bound: never overshoots
    if (current.length > 0 && (current.length >= BATCH_CHUNK || bytes + size > BATCH_CHUNK_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

async function submitBatch(context: Context, path: string): Promise<Output> {
  expectPositionals(context, 0, 0, "submit --batch FILE");
  if (context.values.exec || context.values.duration !== undefined || context.values.wait) {
    throw new UsageError(
      "submit --batch takes the tasks from the file; drop --exec, -d and --wait",
    );
  }
  let text: string;
  try {
    text = path === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`Cannot read batch file ${path}: ${(error as Error).message}`);
  }
  const prefix = context.values["idempotency-key"] ?? crypto.randomUUID();
  const items = parseBatchFile(text, prefix);
  const session = requireSession(context);
  const results: Array<{ id: string; duplicate: boolean; idempotencyKey: string }> = [];
  const refused: string[] = [];
  await withSessionClient(context, async (c) => {
    for (const chunk of chunkBatch(items)) {
      const reply = await c.request({ type: "submitBatch", token: session.token, tasks: chunk });
      reply.results.forEach((r, i) => {
        if (r.error !== undefined) {
          refused.push(r.error);
          return;
        }
        results.push({
          id: r.taskId,
          duplicate: r.duplicate,
          idempotencyKey: chunk[i].idempotencyKey,
        });
      });
    }
  });
  if (refused.length > 0) {
    // The others were submitted; say so, since a retry with the same keys finds them.
    throw new CliError(
      "conflict",
      EXIT_CODES.rejected,
      `Refused ${refused.length} of ${items.length} task(s), submitted the other ${results.length}: ` +
        refused.slice(0, 3).join("; ") + (refused.length > 3 ? "; …" : ""),
    );
  }
  const duplicates = results.filter((r) => r.duplicate).length;
  const range = results.length === 1 ? results[0].id : `${results[0].id} … ${results.at(-1)!.id}`;
  return {
    json: { tasks: results },
    text: `Submitted ${results.length} task(s) (${range})` +
      (duplicates > 0 ? `; ${duplicates} were already submitted with their idempotency keys` : ""),
  };
}

async function submit(context: Context): Promise<Output> {
  if (context.values.batch !== undefined) return await submitBatch(context, context.values.batch);
  const spec = buildSpec(context);
  const maxAttempts = context.values["max-attempts"] === undefined
    ? undefined
    : parseIntFlag("max-attempts", context.values["max-attempts"], 1, LIMITS.maxAttemptsMax);
  const idempotencyKey = context.values["idempotency-key"] ?? crypto.randomUUID();
  if (idempotencyKey.length > LIMITS.idempotencyKeyChars) {
    throw new UsageError(
      `Invalid --idempotency-key: longer than ${LIMITS.idempotencyKeyChars} characters`,
    );
  }
  // Arguments are checked before the session, so a typo says "invalid arguments" (exit 2).
  const session = requireSession(context);
  return await withSessionClient(context, async (c) => {
    const reply = await c.request({
      type: "submit",
      token: session.token,
      idempotencyKey,
      task: spec,
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
    });
    if (context.values.wait) {
      const task = await waitForTask(context, c, session, reply.taskId);
      return { json: task, text: formatTask(task) };
    }
    const note = reply.duplicate ? " (already submitted with this idempotency key)" : "";
    return {
      json: { id: reply.taskId, duplicate: reply.duplicate, idempotencyKey },
      text: `Submitted task ${reply.taskId}${note}`,
    };
  });
}

function buildSpec(context: Context): TaskSpec {
  const { values } = context;
  if (values.exec) {
    expectPositionals(context, 0, 0, "submit --exec -- PROGRAM [ARGS...]");
    if (context.rest.length === 0) {
      throw new UsageError(
        "Cannot submit exec task: give the program after --, e.g. submit --exec -- echo hi",
      );
    }
    if (context.rest.some((a) => a === "")) {
      throw new UsageError("Cannot submit exec task: empty argument");
    }
    const timeoutS = values["exec-timeout"] === undefined
      ? 3600
      : parseSeconds("exec-timeout", values["exec-timeout"]);
    if (timeoutS <= 0) throw new UsageError("Invalid --exec-timeout: must be more than 0 seconds");
    return {
      kind: "exec",
      description: context.rest.join(" ").slice(0, LIMITS.descriptionChars),
      argv: context.rest,
      timeoutMs: Math.round(timeoutS * 1000),
    };
  }
  expectPositionals(context, 1, 1, 'submit "DESCRIPTION" -d SECONDS');
  if (context.rest.length > 0) {
    throw new UsageError("Arguments after -- are only for submit --exec");
  }
  if (values.duration === undefined) {
    throw new UsageError('Cannot submit task: missing -d SECONDS (e.g. submit "report" -d 15)');
  }
  const description = context.positionals[0];
  if (description.length > LIMITS.descriptionChars) {
    throw new UsageError(
      `Cannot submit task: description longer than ${LIMITS.descriptionChars} characters`,
    );
  }
  return {
    kind: "sleep",
    description,
    durationMs: Math.round(parseSeconds("duration", values.duration) * 1000),
  };
}

async function status(context: Context): Promise<Output> {
  expectPositionals(context, 1, 1, "status TASK_ID");
  const session = requireSession(context);
  const taskId = context.positionals[0];
  return await withSessionClient(context, async (c) => {
    const task = context.values.wait
      ? await waitForTask(context, c, session, taskId)
      : (await c.request({ type: "status", token: session.token, taskId })).task;
    return { json: task, text: formatTask(task) };
  });
}

async function list(context: Context): Promise<Output> {
  expectPositionals(context, 0, 0, "list [--state STATE] [--limit N]");
  const stateFlag = context.values.state;
  if (stateFlag !== undefined && !(TASK_STATES as readonly string[]).includes(stateFlag)) {
    throw new UsageError(
      `Invalid --state: expected one of ${TASK_STATES.join(", ")}, got "${stateFlag}"`,
    );
  }
  const limit = context.values.limit === undefined
    ? undefined
    : parseIntFlag("limit", context.values.limit, 1, LIMITS.listLimitMax);
  const session = requireSession(context);
  const reply = await withSessionClient(context, (c) =>
    c.request({
      type: "list",
      token: session.token,
      ...(context.values.all ? { all: true } : {}),
      ...(stateFlag === undefined ? {} : { state: stateFlag as TaskState }),
      ...(limit === undefined ? {} : { limit }),
    }));
  return { json: { tasks: reply.tasks }, text: formatTaskList(reply.tasks) };
}

async function workers(context: Context): Promise<Output> {
  expectPositionals(context, 0, 0, "workers");
  const session = requireSession(context);
  const reply = await withSessionClient(
    context,
    (c) => c.request({ type: "workers", token: session.token }),
  );
  return { json: { workers: reply.workers }, text: formatWorkers(reply.workers) };
}

async function cancel(context: Context): Promise<Output> {
  expectPositionals(context, 1, 1, "cancel TASK_ID");
  const session = requireSession(context);
  const reply = await withSessionClient(
    context,
    (c) => c.request({ type: "cancel", token: session.token, taskId: context.positionals[0] }),
  );
  return { json: reply.task, text: formatTask(reply.task) };
}

async function userCommand(context: Context): Promise<Output> {
  const [action, name] = context.positionals;
  const session = () => requireSession(context);
  const request = async <R extends Parameters<MutiraoClient["request"]>[0]>(body: R) =>
    await withSessionClient(context, (c) => c.request(body));
  switch (action) {
    case "add": {
      expectPositionals(context, 2, 2, "user add NAME [--role admin|user]");
      const role = context.values.role ?? "user";
      if (role !== "admin" && role !== "user") {
        throw new UsageError(`Invalid --role: expected admin or user, got "${role}"`);
      }
      const password = await readNewPassword(passwordReader(context));
      const reply = await request({
        type: "userAdd",
        token: session().token,
        name,
        role,
        password,
      });
      return doneOutput(reply.message);
    }
    case "passwd": {
      expectPositionals(context, 1, 2, "user passwd [NAME]");
      const target = name ?? session().user;
      // One's own password needs the current one too: a stolen token alone must not be enough to
      // lock the owner out. An admin resetting someone else's gives only the new one.
      const own = target === session().user;
      const reader = passwordReader(context);
      const currentPassword = own
        ? await reader.read(
          "Current password: ",
          "Cannot change your password: give the current password first (on stdin: the " +
            "current password on the first line, the new one on the second)",
        )
        : undefined;
      if (currentPassword === "") throw new UsageError("The current password is empty");
      const password = await readNewPassword(reader, own);
      const reply = await request({
        type: "userPasswd",
        token: session().token,
        name: target,
        password,
        ...(currentPassword === undefined ? {} : { currentPassword }),
      });
      if (target === session().user) context.state.session = null; // our own session was revoked
      return doneOutput(reply.message);
    }
    case "remove": {
      expectPositionals(context, 2, 2, "user remove NAME");
      const reply = await request({ type: "userRemove", token: session().token, name });
      return doneOutput(reply.message);
    }
    case "list": {
      expectPositionals(context, 1, 1, "user list");
      const reply = await request({ type: "userList", token: session().token });
      return { json: { users: reply.users }, text: formatUsers(reply.users) };
    }
    default:
      throw new UsageError(`Expected: user add|passwd|remove|list (got "${action ?? ""}")`);
  }
}

async function tokenCommand(context: Context): Promise<Output> {
  const [action, id] = context.positionals;
  const session = requireSession(context);
  switch (action) {
    case "list": {
      expectPositionals(context, 1, 1, "token list");
      const reply = await withSessionClient(
        context,
        (c) => c.request({ type: "tokenList", token: session.token }),
      );
      return { json: { tokens: reply.tokens }, text: formatTokens(reply.tokens) };
    }
    case "revoke": {
      expectPositionals(context, 2, 2, "token revoke ID");
      const reply = await withSessionClient(
        context,
        (c) => c.request({ type: "tokenRevoke", token: session.token, tokenId: id }),
      );
      return doneOutput(reply.message);
    }
    default:
      throw new UsageError(`Expected: token list|revoke (got "${action ?? ""}")`);
  }
}

function passwordReader(context: Context): PasswordReader {
  return new PasswordReader({ fromStdin: context.values["password-stdin"] });
}

/**
 * A new password, never from argv: typed twice at a hidden prompt, or the next line of stdin
 * (the second line when the current password came first).
 */
async function readNewPassword(reader: PasswordReader, afterCurrent = false): Promise<string> {
  const missing = afterCurrent
    ? "Cannot change your password: no new password on the second line of stdin (the first " +
      "line is the current password)"
    : "Cannot set the password: none given (type it at the prompt, or pipe it on stdin)";
  const password = await reader.read("New password: ", missing);
  if (password.length < 8) throw new UsageError("The password must have at least 8 characters");
  if (reader.isInteractive) {
    const again = await reader.read("Retype new password: ", missing);
    if (again !== password) throw new UsageError("The two new passwords differ; nothing changed");
  }
  return password;
}

function doneOutput(message: string): Output {
  return { json: { done: true, message }, text: message };
}

/** Asks every orchestrator where it stands; unreachable ones are reported as such. */
async function cluster(context: Context): Promise<Output> {
  expectPositionals(context, 0, 0, "cluster");
  const session = requireSession(context);
  const target = await resolveTarget(context, { useSession: true });
  const clusterId = boundClusterId(session, target.caFingerprint);
  const timeoutS = context.values.timeout === undefined
    ? 2
    : parseSeconds("timeout", context.values.timeout);
  const rows: ClusterRow[] = await Promise.all(target.orchestrators.map(async (o) => {
    const address = addressOf(o);
    const client = new MutiraoClient({
      orchestrators: [o],
      timeoutMs: timeoutS * 1000,
      clock: context.clock,
      tls: target.tls,
      clusterId,
    });
    try {
      const { node } = await client.request({ type: "nodeStatus", token: session.token });
      return { ...node, address, lag: null, error: null };
    } catch (error) {
      if (error instanceof RemoteError && error.code === "unauthenticated") {
        throw notLoggedIn(error.message.replace(/; log in again$/, ""));
      }
      // An orchestrator that answered (e.g. "forbidden") is not unreachable: report its answer;
      // one of another cluster means the address list is wrong, which must not pass unnoticed.
      if (error instanceof RemoteError || error instanceof WrongClusterError) throw error;
      return unreachableRow(o.id, address, (error as Error).message);
    } finally {
      client.close();
    }
  }));
  const leader = rows.find((r) => r.role === "leader") ?? null;
  for (const row of rows) {
    if (leader !== null && row.role !== "unreachable") {
      row.lag = Math.max(0, leader.commitIndex - row.appliedIndex);
    }
  }
  return {
    json: { leader: leader?.id ?? null, orchestrators: rows },
    text: formatCluster(rows, leader?.id ?? null),
  };
}

/** Waits until the task is final, in rounds of server-side waits; bounded by --wait-timeout. */
async function waitForTask(
  context: Context,
  client: MutiraoClient,
  session: Session,
  taskId: string,
): Promise<TaskView> {
  const limitS = context.values["wait-timeout"];
  const deadline = limitS === undefined
    ? Infinity
    : Date.now() + parseSeconds("wait-timeout", limitS) * 1000;
  for (;;) {
    const timeoutMs = Math.max(1, Math.min(60_000, deadline - Date.now()));
    const { task } = await client.request({
      type: "wait",
      token: session.token,
      taskId,
      timeoutMs,
    });
    if (task.state === "succeeded" || task.state === "failed" || task.state === "cancelled") {
      return task;
    }
    if (Date.now() >= deadline) return task;
  }
}

// ---- plumbing ----

function requireSession(context: Context): Session {
  const session = context.state.session;
  if (session === null) throw notLoggedIn("Not logged in");
  if (session.expiresAtMs <= Date.now()) throw notLoggedIn("Session expired");
  return session;
}

/**
 * Runs `use` with a client bound to the session's cluster: its token goes only to orchestrators
 * verified with the CA of the login (TLS) and whose welcome names the session's cluster id.
 */
async function withSessionClient<T>(
  context: Context,
  use: (client: MutiraoClient) => Promise<T>,
): Promise<T> {
  const session = requireSession(context);
  const target = await resolveTarget(context, { useSession: true });
  const clusterId = boundClusterId(session, target.caFingerprint);
  try {
    return await withClient(context, target, use, clusterId);
  } catch (error) {
    if (error instanceof RemoteError && error.code === "unauthenticated") {
      throw notLoggedIn(error.message.replace(/; log in again$/, ""));
    }
    throw error;
  }
}

async function withClient<T>(
  context: Context,
  target: Target,
  use: (client: MutiraoClient) => Promise<T>,
  clusterId?: string,
): Promise<T> {
  const timeoutS = context.values.timeout === undefined
    ? 10
    : parseSeconds("timeout", context.values.timeout);
  const client = new MutiraoClient({
    orchestrators: target.orchestrators,
    timeoutMs: timeoutS * 1000,
    clock: context.clock,
    tls: target.tls,
    ...(clusterId === undefined ? {} : { clusterId }),
  });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

/** Where the cluster is and how to verify it. */
interface Target {
  orchestrators: OrchestratorAddress[];
  tlsCaFile: string | null;
  tls: TlsClientOptions | null;
  /** Of the CA in `tlsCaFile`; null over plain TCP. */
  caFingerprint: string | null;
}

async function resolveTarget(
  context: Context,
  options: { useSession: boolean },
): Promise<Target> {
  const tlsCaFile = await resolveTlsCaFile(context);
  const tls = tlsCaFile === null ? null : await loadTlsClientOptions(tlsCaFile);
  const orchestrators = await resolveOrchestrators(context, { ...options, hasTls: tls !== null });
  const fingerprint = tls === null ? null : caFingerprint(tls.caCerts.join("\n"));
  return { orchestrators, tlsCaFile, tls, caFingerprint: fingerprint };
}

/** Where the cluster is: flag, environment, the login's cluster, the home cluster file, the demo. */
async function resolveOrchestrators(
  context: Context,
  options: { useSession: boolean; hasTls: boolean },
): Promise<OrchestratorAddress[]> {
  const list = context.values.orchestrators ?? Deno.env.get("MUTIRAO_ORCHESTRATORS");
  if (list !== undefined) {
    try {
      return parseAddressList(list);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const multicast = context.values.multicast ?? Deno.env.get("MUTIRAO_MULTICAST");
  if (multicast !== undefined) {
    // Every command sends a credential (a password, or the token), and an announcement is
    // unauthenticated for clients: only TLS, or the user's explicit consent, makes it usable.
    const decision = multicastCredentialPolicy({
      hasTls: options.hasTls,
      allowInsecure: context.values["insecure-multicast"],
    });
    if (decision === "refuse") throw new UsageError(MULTICAST_REFUSAL);
    if (decision === "warn") console.error(`mutirao: ${MULTICAST_WARNING}`);
    return [await discoverByMulticast(multicast, context)];
  }
  const configPath = context.values.config ?? Deno.env.get("MUTIRAO_CONFIG");
  if (configPath !== undefined) return (await loadClusterConfig(configPath)).orchestrators;
  if (options.useSession && context.state.session !== null) {
    return context.state.session.orchestrators;
  }
  const homeConfig = `${mutiraoHome()}/cluster.json`;
  try {
    return (await loadClusterConfig(homeConfig)).orchestrators;
  } catch (error) {
    if (!((error as Error).cause instanceof Deno.errors.NotFound)) throw error;
  }
  return (await loadClusterConfig(DEFAULT_CONFIG_PATH)).orchestrators;
}

/** The CA file to verify orchestrators with: flag, environment, cluster file, or the login's. */
async function resolveTlsCaFile(context: Context): Promise<string | null> {
  const explicit = context.values["tls-ca"] ?? Deno.env.get("MUTIRAO_TLS_CA");
  if (explicit !== undefined) return explicit;
  const configPath = context.values.config ?? Deno.env.get("MUTIRAO_CONFIG");
  if (configPath !== undefined) return (await loadClusterConfig(configPath)).tls?.caFile ?? null;
  return context.state.session?.tlsCaFile ?? null;
}

async function discoverByMulticast(text: string, context: Context): Promise<OrchestratorAddress> {
  let group;
  try {
    group = parseMulticastAddress(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const timeoutS = context.values.timeout === undefined
    ? 3
    : parseSeconds("timeout", context.values.timeout);
  let announcement;
  try {
    announcement = await discoverLeader(group, { clusterId: null, timeoutMs: timeoutS * 1000 });
  } catch (error) {
    throw new UnreachableError(`Cannot find the cluster: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const [host, port] = [
    announcement.address.replace(/:\d+$/, ""),
    Number(/:(\d+)$/.exec(announcement.address)?.[1]),
  ];
  return { id: announcement.nodeId, host, port };
}

function expectPositionals(context: Context, min: number, max: number, usage: string): void {
  const n = context.positionals.length;
  if (n < min || n > max) {
    throw new UsageError(`Expected: ${usage} (got ${n} argument${n === 1 ? "" : "s"})`);
  }
}

function parseSeconds(flag: string, value: string): number {
  const seconds = Number(value);
  const max = LIMITS.taskDurationMsMax / 1000;
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds < 0 || seconds > max) {
    throw new UsageError(
      `Invalid --${flag}: expected a number of seconds from 0 to ${max}, got "${value}"`,
    );
  }
  return seconds;
}

function reportError(error: unknown, options: { json: boolean; debug: boolean }): number {
  let code: string;
  let exitCode: number;
  if (error instanceof UsageError) {
    [code, exitCode] = ["invalid_arguments", EXIT_CODES.invalidArguments];
  } else if (error instanceof CliError) {
    [code, exitCode] = [error.code, error.exitCode];
  } else if (error instanceof RemoteError) {
    [code, exitCode] = [error.code, exitCodeFor(error.code)];
  } else if (error instanceof WrongClusterError) {
    [code, exitCode] = ["wrong_cluster", EXIT_CODES.unauthenticated];
  } else if (error instanceof UnreachableError) {
    [code, exitCode] = ["unreachable", EXIT_CODES.unreachable];
  } else {
    [code, exitCode] = ["internal", EXIT_CODES.internal];
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`mutirao: ${message}`);
  if (options.debug && error instanceof Error) console.error(error.stack);
  if (options.json) console.log(JSON.stringify({ error: { code, message, exitCode } }));
  return exitCode;
}
