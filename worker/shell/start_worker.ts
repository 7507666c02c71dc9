/**
 * Starts a worker from checked settings: finds the orchestrators (a list, the cluster file, or
 * multicast announcements), loads the cluster secret and TLS CA, binds the heartbeat socket, and
 * runs a WorkerRuntime. `deno task worker` (worker/main.ts) and `runWorker` (worker/mod.ts) both
 * start workers through it.
 * @module
 */
import {
  addressOf,
  type ClusterConfig,
  DEFAULT_CONFIG_PATH,
  loadClusterConfig,
  type OrchestratorAddress,
  parseAddressList,
} from "../../shared/config/mod.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../../shared/limits.ts";
import { createLogger, type Logger } from "../../shared/log.ts";
import { LeaderWatcher, parseMulticastAddress } from "../../shared/net/multicast.ts";
import { loadNodeKeys, loadTlsClient } from "../../shared/net/node_security.ts";
import type { Handlers } from "./handlers.ts";
import type { ExecOptions } from "./task_runner.ts";
import { WorkerRuntime } from "./worker_runtime.ts";

/** A worker's settings, already checked (flags are parsed by the caller). */
export interface WorkerSettings {
  /** The worker's own address: heartbeats leave from it (default 127.0.0.1 and a free port). */
  host?: string;
  port?: number;
  slots: number;
  prefetch: number;
  /** Run exec tasks (and, if given, only these programs). */
  allowExec: boolean;
  execAllow: string[] | null;
  exec: ExecOptions;
  /** Orchestrators as "HOST:PORT,..." or a list; else the cluster file (or multicast alone). */
  orchestrators?: string | readonly OrchestratorAddress[];
  /** The cluster file (default $MUTIRAO_CONFIG, then DEFAULT_CONFIG_PATH). */
  config?: string;
  /** Leader announcements' GROUP:PORT (default $MUTIRAO_MULTICAST, then the cluster file's). */
  multicast?: string;
  /** Name in the cluster (default HOST:PORT). */
  name?: string;
  drainTimeoutMs: number;
  clusterSecretFile?: string;
  tlsCaFile?: string;
  /** The queues it takes tasks from, already checked (default: only "default"). */
  queues?: readonly string[];
  /** The handlers of the kinds it serves, already checked by validateHandlers. */
  handlers?: Handlers;
  maxResultBytes?: number;
  /** Called once, when the orchestrator first confirms the registration. */
  onRegistered?: (workerId: string) => void;
}

/** A worker that has started: its runtime, its name and log, and its end. */
export interface StartedWorker {
  runtime: WorkerRuntime;
  name: string;
  logger: Logger;
  /** Resolves when it stopped; rejects when an orchestrator refused it for good. */
  done: Promise<void>;
}

/**
 * Starts a worker; it connects and registers in the background.
 * @throws {Error} when the cluster file, secret or CA cannot be loaded, or the address is taken.
 */
export async function startWorker(settings: WorkerSettings): Promise<StartedWorker> {
  const found = await findCluster(settings);
  const keys = await loadNodeKeys(settings.clusterSecretFile, found.config);
  const tls = await loadTlsClient(settings.tlsCaFile, found.config);
  const host = settings.host ?? "127.0.0.1";
  const udp = bindHeartbeatSocket(host, settings.port ?? 0);
  const name = settings.name ?? `${host}:${(udp.addr as Deno.NetAddr).port}`;
  const logger = createLogger(`worker ${name}`);
  const kinds = Object.keys(settings.handlers ?? {}).sort();
  const runtime = new WorkerRuntime({
    info: {
      name,
      incarnation: crypto.randomUUID(),
      slots: settings.slots,
      ...(settings.prefetch > 0 ? { prefetch: settings.prefetch } : {}),
      canExec: settings.allowExec,
      execAllow: settings.execAllow,
      ...(kinds.length > 0 ? { kinds } : {}),
      ...(settings.queues === undefined ? {} : { queues: [...settings.queues] }),
    },
    exec: settings.exec,
    handlers: settings.handlers,
    maxResultBytes: settings.maxResultBytes,
    orchestrators: found.orchestrators,
    udp,
    keys,
    tls,
    heartbeatIntervalMs: found.heartbeatIntervalMs,
    drainTimeoutMs: settings.drainTimeoutMs,
    maxFrameBytes: found.maxFrameBytes,
    logger,
    onRegistered: settings.onRegistered,
  });
  if (settings.allowExec) {
    logger.warn("Exec tasks allowed: users of this cluster can run programs here");
  }
  if (kinds.length > 0) logger.info(`Serving ${kinds.length} handler kind(s): ${kinds.join(", ")}`);
  if (settings.queues !== undefined) {
    logger.info(`Taking tasks from queue(s): ${settings.queues.join(", ")}`);
  }
  logger.info(
    `Starting with ${settings.slots} slot(s)${
      settings.prefetch > 0 ? ` and ${settings.prefetch} prefetched` : ""
    }; orchestrators: ${found.orchestrators.map(addressOf).join(", ")}`,
  );
  if (found.multicast !== null) {
    let watcher: LeaderWatcher;
    try {
      watcher = await LeaderWatcher.join(found.multicast, {
        clusterId: found.config?.clusterId ?? null,
        keys,
        onLeader: (a) => runtime.followLeader(a),
      });
    } catch (error) {
      udp.close();
      throw error;
    }
    logger.info(
      `Listening for leader announcements on ${found.multicast.group}:${found.multicast.port}`,
    );
    runtime.onStop(() => watcher.close());
  }
  return { runtime, name, logger, done: runtime.run() };
}

interface FoundCluster {
  orchestrators: OrchestratorAddress[];
  config: ClusterConfig | null;
  heartbeatIntervalMs: number;
  maxFrameBytes: number;
  multicast: ReturnType<typeof parseMulticastAddress> | null;
}

/** Where the orchestrators are: the given list, else the cluster file, else multicast alone. */
async function findCluster(settings: WorkerSettings): Promise<FoundCluster> {
  let multicastText = settings.multicast ?? Deno.env.get("MUTIRAO_MULTICAST");
  const list = settings.orchestrators ?? Deno.env.get("MUTIRAO_ORCHESTRATORS");
  const configPath = settings.config ?? Deno.env.get("MUTIRAO_CONFIG");
  const found: FoundCluster = {
    orchestrators: [],
    config: null,
    heartbeatIntervalMs: 500,
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    multicast: null,
  };
  let multicastInterface = "127.0.0.1";
  if (list !== undefined) {
    found.orchestrators = typeof list === "string" ? parseAddressList(list) : [...list];
  } else if (configPath !== undefined || multicastText === undefined) {
    // With only --multicast, the leader is found by its announcements: no cluster file needed.
    const config = await loadClusterConfig(configPath ?? DEFAULT_CONFIG_PATH);
    found.config = config;
    found.orchestrators = config.orchestrators;
    found.heartbeatIntervalMs = config.heartbeatIntervalMs;
    found.maxFrameBytes = config.maxFrameBytes;
    multicastText ??= config.multicast ?? undefined;
    multicastInterface = config.multicastInterface;
  }
  if (multicastText !== undefined) {
    found.multicast = parseMulticastAddress(multicastText, multicastInterface);
  }
  return found;
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
