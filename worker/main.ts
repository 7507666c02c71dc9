/**
 * `deno task worker`: a worker that registers with the orchestrators, sends
 * heartbeats and runs tasks.
 *
 *   deno task worker [HOST PORT] [--slots N] [--prefetch N] [--allow-exec] [--handlers MODULE] ...
 * @module
 */
import { parseFlags, parseIntFlag, UsageError } from "../shared/cli_args.ts";
import { DEFAULT_CONFIG_PATH } from "../shared/config/mod.ts";
import { LIMITS } from "../shared/limits.ts";
import { queuesProblem } from "../shared/protocol/messages.ts";
import { isEnvName } from "./shell/exec_environment.ts";
import { type Handlers, loadHandlers, moduleUrl } from "./shell/handlers.ts";
import { IsolatedHandlers } from "./shell/isolated_handlers.ts";
import { startWorker } from "./shell/start_worker.ts";
import type { ExecOptions } from "./shell/task_runner.ts";

const USAGE = `Usage: deno task worker [HOST PORT] [options]

Starts a worker. HOST PORT is the worker's own address: its heartbeats leave
from that UDP port and it is named "HOST:PORT" in the cluster (default:
127.0.0.1 and a free port). A worker restarted with the same HOST PORT is
recognised as the same worker.

Options:
  --slots N               tasks run at once (default 4)
  --prefetch N            assignments held beyond the slots, started the moment a slot
                          frees (default 0, or $MUTIRAO_PREFETCH): for many short tasks;
                          they show as running (assigned, not started) while they wait
  --allow-exec            also run exec tasks (programs given by users); off by default
  --exec-allow LIST       with --allow-exec: only these programs (comma-separated, matched
                          exactly against the task's argv[0], e.g. convert,/usr/bin/python3)
  --exec-env LIST         with --allow-exec: worker environment variables exec tasks get
                          (comma-separated names); by default they get only PATH, LANG, and
                          HOME/TMPDIR set to their own temporary working directory
  --exec-uid N            with --allow-exec: run programs as this user id (worker runs as root)
  --exec-gid N            with --allow-exec: ... and this group id
  --queues LIST           take tasks from these queues (comma-separated; default: default, or
                          $MUTIRAO_QUEUES); submit --queue NAME puts a task in one
  --handlers MODULE       serve the task kinds of this handlers module (a path or URL whose
                          default export maps each kind to a function; see examples/handlers.ts)
  --max-result-bytes N    with --handlers: largest result a handler may return, as bytes of
                          JSON (default and most ${LIMITS.resultBytesMax})
  --isolate               with --handlers: run each attempt in a Web Worker (like BullMQ's
                          sandboxed processors): a busy handler does not hold up heartbeats, and
                          one that ignores its signal after a cancel or timeout is terminated
  --config FILE           cluster file listing the orchestrators
                          (default: $MUTIRAO_CONFIG or ${DEFAULT_CONFIG_PATH})
  --orchestrators LIST    HOST:PORT[,HOST:PORT...] instead of the cluster file
  --name NAME             name in the cluster (default: HOST:PORT)
  --drain-timeout SECS    on Ctrl-C/SIGTERM, time running tasks get to finish
                          before they are handed back (default 10)
  --cluster-secret FILE   the cluster secret (mode 0600; default: $MUTIRAO_CLUSTER_SECRET_FILE
                          or the cluster file's clusterSecretFile)
  --tls-ca FILE           CA certificate to verify orchestrators (default: $MUTIRAO_TLS_CA or
                          the cluster file's tls.caFile)
  --multicast GROUP:PORT  follow the leader's announcements on this multicast group;
                          without --config/--orchestrators no cluster file is needed
  -h, --help              show this help
`;

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    slots: { type: "string", default: "4" },
    prefetch: { type: "string" },
    "allow-exec": { type: "boolean", default: false },
    "exec-allow": { type: "string" },
    "exec-env": { type: "string" },
    "exec-uid": { type: "string" },
    "exec-gid": { type: "string" },
    handlers: { type: "string" },
    isolate: { type: "boolean", default: false },
    queues: { type: "string" },
    "max-result-bytes": { type: "string" },
    config: { type: "string" },
    orchestrators: { type: "string" },
    name: { type: "string" },
    "drain-timeout": { type: "string", default: "10" },
    multicast: { type: "string" },
    "cluster-secret": { type: "string" },
    "tls-ca": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 0 && positionals.length !== 2) {
    throw new UsageError(`Expected HOST PORT or nothing, got ${positionals.length} argument(s)`);
  }
  const host = positionals[0] ?? "127.0.0.1";
  const port = positionals[1] === undefined ? 0 : parseIntFlag("PORT", positionals[1], 1, 65535);
  const slots = parseIntFlag("slots", values.slots, 1, LIMITS.workerSlotsMax);
  const prefetch = parseIntFlag(
    "prefetch",
    values.prefetch ?? Deno.env.get("MUTIRAO_PREFETCH") ?? "0",
    0,
    LIMITS.workerPrefetchMax,
  );
  const drainTimeoutMs = parseIntFlag("drain-timeout", values["drain-timeout"], 0, 86_400) * 1000;
  const maxResultBytes = parseMaxResultBytes(values["max-result-bytes"], values.handlers);
  const execAllow = parseExecAllow(values["exec-allow"], values["allow-exec"]);
  const exec = parseExecOptions(values, values["allow-exec"]);
  // Loaded (and checked) before anything starts: a bad module stops the worker here.
  const loaded: Handlers | undefined = values.handlers === undefined
    ? undefined
    : await loadHandlers(values.handlers);
  if (values.isolate && values.handlers === undefined) {
    throw new UsageError("--isolate needs --handlers MODULE");
  }
  // --isolate: the same kinds, each attempt run in a Web Worker of a pool (it can be killed).
  const isolated = values.isolate && values.handlers !== undefined && loaded !== undefined
    ? new IsolatedHandlers(moduleUrl(values.handlers), Object.keys(loaded))
    : null;
  const handlers = isolated?.handlers ?? loaded;

  const queues = parseQueues(values.queues);
  const worker = await startWorker({
    host,
    port,
    slots,
    prefetch,
    ...(queues === undefined ? {} : { queues }),
    allowExec: values["allow-exec"],
    execAllow,
    exec,
    orchestrators: values.orchestrators,
    config: values.config,
    multicast: values.multicast,
    name: values.name,
    drainTimeoutMs,
    clusterSecretFile: values["cluster-secret"],
    tlsCaFile: values["tls-ca"],
    handlers,
    maxResultBytes,
    onRegistered: (workerId) => {
      // One machine-readable line on stdout, for scripts and tests waiting for readiness.
      console.log(JSON.stringify({ event: "ready", role: "worker", workerId }));
    },
  });
  const onSignal = () => worker.runtime.shutdown();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await worker.done;
  } finally {
    isolated?.close();
  }
  return 0;
}

/** `--queues a,b` (or $MUTIRAO_QUEUES): the queues to take tasks from; absent: "default" only. */
function parseQueues(value: string | undefined): string[] | undefined {
  const text = value ?? Deno.env.get("MUTIRAO_QUEUES");
  if (text === undefined) return undefined;
  const queues = text.split(",").map((q) => q.trim());
  const problem = queuesProblem(queues);
  if (problem !== null) throw new UsageError(`Invalid --queues: ${problem}`);
  return queues;
}

function parseMaxResultBytes(
  value: string | undefined,
  handlers: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  if (handlers === undefined) throw new UsageError("--max-result-bytes needs --handlers");
  return parseIntFlag("max-result-bytes", value, 1, LIMITS.resultBytesMax);
}

function parseExecAllow(list: string | undefined, allowExec: boolean): string[] | null {
  if (list === undefined) return null;
  if (!allowExec) throw new UsageError("--exec-allow needs --allow-exec");
  const programs = list.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (programs.length === 0) throw new UsageError("--exec-allow needs at least one program");
  return programs;
}

function parseExecOptions(
  values: { "exec-env"?: string; "exec-uid"?: string; "exec-gid"?: string },
  allowExec: boolean,
): ExecOptions {
  for (const flag of ["exec-env", "exec-uid", "exec-gid"] as const) {
    if (values[flag] !== undefined && !allowExec) {
      throw new UsageError(`--${flag} needs --allow-exec`);
    }
  }
  const envAllow = (values["exec-env"] ?? "").split(",").map((v) => v.trim()).filter((v) => v);
  const bad = envAllow.find((name) => !isEnvName(name));
  if (bad !== undefined) {
    throw new UsageError(`Invalid --exec-env: "${bad}" is not an environment variable name`);
  }
  return {
    envAllow,
    ...(values["exec-uid"] === undefined
      ? {}
      : { uid: parseIntFlag("exec-uid", values["exec-uid"], 0, 2 ** 31 - 1) }),
    ...(values["exec-gid"] === undefined
      ? {}
      : { gid: parseIntFlag("exec-gid", values["exec-gid"], 0, 2 ** 31 - 1) }),
  };
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`mutirao worker: ${(error as Error).message}`);
    if (Deno.args.includes("--debug")) console.error(error);
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}
