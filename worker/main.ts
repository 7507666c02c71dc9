/**
 * `deno task worker`: a worker that registers with the orchestrators, sends
 * heartbeats and runs tasks.
 *
 *   deno task worker [HOST PORT] [--slots N] [--prefetch N] [--allow-exec] [--config FILE] ...
 * @module
 */
import { parseFlags, parseIntFlag, UsageError } from "../shared/cli_args.ts";
import {
  addressOf,
  type ClusterConfig,
  DEFAULT_CONFIG_PATH,
  loadClusterConfig,
  type OrchestratorAddress,
  parseAddressList,
} from "../shared/config/mod.ts";
import { DEFAULT_MAX_FRAME_BYTES, LIMITS } from "../shared/limits.ts";
import { createLogger } from "../shared/log.ts";
import { LeaderWatcher, parseMulticastAddress } from "../shared/net/multicast.ts";
import { loadNodeKeys, loadTlsClient } from "../shared/net/node_security.ts";
import { isEnvName } from "./shell/exec_environment.ts";
import type { ExecOptions } from "./shell/task_runner.ts";
import { WorkerRuntime } from "./shell/worker_runtime.ts";

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

  let orchestrators: OrchestratorAddress[] = [];
  let heartbeatIntervalMs = 500;
  let maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  let multicastText = values.multicast ?? Deno.env.get("MUTIRAO_MULTICAST");
  let multicastInterface = "127.0.0.1";
  let clusterId: string | null = null;
  let config: ClusterConfig | null = null;
  const list = values.orchestrators ?? Deno.env.get("MUTIRAO_ORCHESTRATORS");
  const configPath = values.config ?? Deno.env.get("MUTIRAO_CONFIG");
  if (list !== undefined) {
    orchestrators = parseAddressList(list);
  } else if (configPath !== undefined || multicastText === undefined) {
    // With only --multicast, the leader is found by its announcements: no cluster file needed.
    config = await loadClusterConfig(configPath ?? DEFAULT_CONFIG_PATH);
    orchestrators = config.orchestrators;
    heartbeatIntervalMs = config.heartbeatIntervalMs;
    maxFrameBytes = config.maxFrameBytes;
    multicastText ??= config.multicast ?? undefined;
    multicastInterface = config.multicastInterface;
    clusterId = config.clusterId;
  }
  const multicast = multicastText === undefined
    ? null
    : parseMulticastAddress(multicastText, multicastInterface);

  const keys = await loadNodeKeys(values["cluster-secret"], config);
  const tls = await loadTlsClient(values["tls-ca"], config);
  const execAllow = parseExecAllow(values["exec-allow"], values["allow-exec"]);
  const exec = parseExecOptions(values, values["allow-exec"]);
  const udp = bindHeartbeatSocket(host, port);
  const name = values.name ?? `${host}:${(udp.addr as Deno.NetAddr).port}`;
  const logger = createLogger(`worker ${name}`);
  const runtime = new WorkerRuntime({
    info: {
      name,
      incarnation: crypto.randomUUID(),
      slots,
      ...(prefetch > 0 ? { prefetch } : {}),
      canExec: values["allow-exec"],
      execAllow,
    },
    exec,
    orchestrators,
    udp,
    keys,
    tls,
    heartbeatIntervalMs,
    drainTimeoutMs,
    maxFrameBytes,
    logger,
    onRegistered: (workerId) => {
      // One machine-readable line on stdout, for scripts and tests waiting for readiness.
      console.log(JSON.stringify({ event: "ready", role: "worker", workerId }));
    },
  });
  if (values["allow-exec"]) {
    logger.warn("Exec tasks allowed: users of this cluster can run programs here");
  }
  logger.info(
    `Starting with ${slots} slot(s)${
      prefetch > 0 ? ` and ${prefetch} prefetched` : ""
    }; orchestrators: ${orchestrators.map(addressOf).join(", ")}`,
  );
  if (multicast !== null) {
    const watcher = await LeaderWatcher.join(multicast, {
      clusterId,
      keys,
      onLeader: (a) => runtime.followLeader(a),
    });
    logger.info(`Listening for leader announcements on ${multicast.group}:${multicast.port}`);
    runtime.onStop(() => watcher.close());
  }
  const onSignal = () => runtime.shutdown();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await runtime.run();
  return 0;
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

function bindHeartbeatSocket(host: string, port: number): Deno.DatagramConn {
  try {
    return Deno.listenDatagram({ hostname: host, port, transport: "udp" });
  } catch (error) {
    // The usual cause: a worker with this HOST PORT already runs here (it is the worker's name).
    const why = error instanceof Deno.errors.AddrInUse
      ? "it is already in use, most likely by a worker with this address already running " +
        "here; stop it first, or give another PORT (or none, for a free one)"
      : (error as Error).message;
    throw new Error(`Cannot start the worker at ${host}:${port}: ${why}`, { cause: error });
  }
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
