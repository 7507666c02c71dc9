/**
 * A real Mutirão cluster of separate processes, for the benchmarks and the chaos suite: a cluster
 * file with one account, orchestrators and workers started by PID through ManagedProcess, each
 * node's log in its own file, and the client-side views (leader, node status) both need.
 *
 * Two layouts:
 * - `loopback`: every node on 127.0.0.1 with free ports (the benchmarks);
 * - `namespace`: for a private network namespace the caller runs in, each node on its own
 *   address (orchestrators 127.0.0.2.., workers 127.0.0.20..) and under its own group id, so
 *   firewall rules can cut chosen pairs of nodes (see tests/chaos/network_faults.ts).
 *
 * Node logs go to files rather than through the parent: at tens of thousands of tasks per second
 * the nodes log hundreds of thousands of lines, and reading them in the driver would steal CPU
 * from the nodes being measured on a small machine.
 * @module
 */
import { MutiraoClient } from "../../client/api/mod.ts";
import { hashPassword } from "../../shared/auth/mod.ts";
import { RemoteError } from "../../shared/errors.ts";
import type { NodeStatusView } from "../../shared/protocol/messages.ts";
import { freePort, ManagedProcess } from "../../scripts/lib/managed_process.ts";

/** The benchmark account; its password only ever exists in this temporary cluster. */
export const BENCH_USER = "bench";
export const BENCH_PASSWORD = "bench-password";

/** First group id of orchestrators (o1 = 4101) and workers (w1 = 4201) in the namespace layout. */
export const ORCHESTRATOR_GID_BASE = 4100;
export const WORKER_GID_BASE = 4200;
/** The driver's own connections in the namespace layout are tagged with this id (it runs as gid 0). */
export const DRIVER_TAG = 4000;

/** Cluster file fields a caller may set; the rest keep the product defaults. */
export interface ClusterTuning {
  heartbeatIntervalMs?: number;
  missedHeartbeats?: number;
  snapshotEveryEntries?: number;
  snapshotCatchUpEntries?: number;
  scheduler?: "round-robin" | "least-loaded";
  defaultMaxAttempts?: number;
  electionTimeoutMinMs?: number;
  electionTimeoutMaxMs?: number;
  raftHeartbeatIntervalMs?: number;
  /** How long finished tasks are kept (0 = no limit of that kind); absent fields: defaults. */
  retention?: { keepFinishedForMs?: number; keepFinishedTasks?: number; sweepIntervalMs?: number };
}

export interface RealClusterOptions {
  orchestrators: number;
  workers: number;
  /** Slots per worker. */
  slots: number;
  /** Workers' --prefetch (assignments held beyond their slots); 0 or absent: none. */
  prefetch?: number;
  layout?: "loopback" | "namespace";
  tuning?: ClusterTuning;
  /** MUTIRAO_LOG_LEVEL of every node (default "info", the product default). */
  logLevel?: "debug" | "info" | "warn";
  /** Keep the directory (logs, data) after stop(), e.g. when a check failed. */
  keepDir?: boolean;
  /** Parent of the cluster's temporary directory. */
  parentDir?: string;
  /** Extra `deno run` flags per role, e.g. `["--cpu-prof", "--cpu-prof-dir=DIR"]` to profile. */
  denoFlags?: { orchestrator?: string[]; worker?: string[] };
  /** Extra worker arguments after the bench's own, e.g. `["--handlers", "examples/handlers.ts"]`. */
  workerArgs?: string[];
  /**
   * Give every orchestrator an `httpPort` (a free port, loopback layout only): the REST API,
   * /metrics and the event stream, which nodes derive only when they serve HTTP.
   */
  http?: boolean;
}

/** One orchestrator or worker slot of the cluster; its process changes across restarts. */
export interface NodeHandle {
  readonly role: "orchestrator" | "worker";
  /** "o1".. for orchestrators, "w1".. for workers. */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** The orchestrator's HTTP port (RealClusterOptions.http), or null. */
  readonly httpPort: number | null;
  /** The group id the process runs under (namespace layout), or null. */
  readonly gid: number | null;
  /** Every incarnation of this node appends its stderr here. */
  readonly logPath: string;
  process: ManagedProcess | null;
  /** The worker's name in the cluster ("host:port"), set once it registered. */
  workerName: string | null;
  /** How many times it was started. */
  starts: number;
}

let cachedHash: string | null = null;

/** A running cluster; `stop()` ends every process it started, by PID. */
export class RealCluster {
  /** Clusters created and not yet stopped, for stopClustersOnSignal(). */
  static readonly #live = new Set<RealCluster>();
  readonly dir: string;
  readonly configPath: string;
  readonly options: RealClusterOptions;
  readonly orchestrators: NodeHandle[];
  readonly workers: NodeHandle[];
  #token: Promise<string> | null = null;
  #keep: boolean;
  #statusClients = new Map<string, MutiraoClient>();

  private constructor(
    dir: string,
    options: RealClusterOptions,
    nodes: { orchestrators: NodeHandle[]; workers: NodeHandle[] },
  ) {
    this.dir = dir;
    this.configPath = `${dir}/cluster.json`;
    this.options = options;
    this.orchestrators = nodes.orchestrators;
    this.workers = nodes.workers;
    this.#keep = options.keepDir ?? false;
    RealCluster.#live.add(this);
  }

  /**
   * On SIGINT or SIGTERM, stops every cluster not yet stopped (by PID, as always) and exits with
   * 128 + the signal number, so an interrupted bench or chaos run leaves no node behind.
   */
  static stopAllOnSignal(): void {
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      Deno.addSignalListener(signal, () => {
        console.error(`mutirao: ${signal}: stopping every node started`);
        void Promise.all([...RealCluster.#live].map((c) => c.stop(1000)))
          .finally(() => Deno.exit(code));
      });
    }
  }

  /** Keeps the directory (node logs, data) after stop(), e.g. because a check failed. */
  keepDir(): void {
    this.#keep = true;
  }

  /** Writes the cluster file and prepares node slots; starts nothing. */
  static async create(options: RealClusterOptions): Promise<RealCluster> {
    const dir = await Deno.makeTempDir({ prefix: "mutirao-real-", dir: options.parentDir });
    // The log path is spliced into a shell command (see #spawn): refuse anything needing quotes.
    if (!/^[A-Za-z0-9_./-]+$/.test(dir)) throw new RangeError(`Unusable temp dir path: ${dir}`);
    await Deno.mkdir(`${dir}/logs`);
    const namespace = options.layout === "namespace";
    if (namespace && options.http === true) {
      throw new RangeError("Cannot serve HTTP in the namespace layout: only loopback has it");
    }
    const node = (role: NodeHandle["role"], i: number): NodeHandle => {
      const orchestrator = role === "orchestrator";
      const id = `${orchestrator ? "o" : "w"}${i + 1}`;
      return {
        role,
        id,
        host: namespace ? `127.0.0.${(orchestrator ? 2 : 20) + i}` : "127.0.0.1",
        port: namespace ? (orchestrator ? 7701 : 7801) : freePort(),
        httpPort: orchestrator && options.http === true ? freePort() : null,
        gid: namespace ? (orchestrator ? ORCHESTRATOR_GID_BASE : WORKER_GID_BASE) + i + 1 : null,
        logPath: `${dir}/logs/${id}.log`,
        process: null,
        workerName: null,
        starts: 0,
      };
    };
    const orchestrators = Array.from(
      { length: options.orchestrators },
      (_, i) => node("orchestrator", i),
    );
    const workers = Array.from({ length: options.workers }, (_, i) => node("worker", i));
    const cluster = new RealCluster(dir, options, { orchestrators, workers });
    cachedHash ??= await hashPassword(BENCH_PASSWORD);
    const config = {
      clusterId: "bench",
      orchestrators: orchestrators.map((o) => ({
        id: o.id,
        host: o.host,
        port: o.port,
        ...(o.httpPort === null ? {} : { httpPort: o.httpPort }),
      })),
      // The bench measures the engine: one user submits everything, as fast as it can.
      submitRatePerUser: 0,
      maxActiveTasksPerUser: 0,
      maxRetainedTasksPerUser: 0,
      ...options.tuning,
      // An admin: node status ("view the cluster") is admin-only.
      users: [{ name: BENCH_USER, passwordHash: cachedHash, role: "admin" }],
    };
    await Deno.writeTextFile(cluster.configPath, JSON.stringify(config, null, 2));
    return cluster;
  }

  /** The orchestrator addresses, as the client library wants them. */
  get addresses(): Array<{ id: string; host: string; port: number }> {
    return this.orchestrators.map((o) => ({ id: o.id, host: o.host, port: o.port }));
  }

  /**
   * The base URL of orchestrator `id`'s HTTP port (`http://127.0.0.1:PORT`).
   * @throws {RangeError} when the cluster was created without `http`
   */
  httpBase(id: string): string {
    const { host, httpPort } = this.node(id);
    if (httpPort === null) throw new RangeError(`Orchestrator ${id} has no HTTP port`);
    return `http://${host}:${httpPort}`;
  }

  /** Looks a node up by id ("o2", "w3"). */
  node(id: string): NodeHandle {
    const found = [...this.orchestrators, ...this.workers].find((n) => n.id === id);
    if (found === undefined) throw new RangeError(`No node "${id}" in this cluster`);
    return found;
  }

  /** Starts every orchestrator, waits for a leader, then starts every worker. */
  async start(): Promise<void> {
    await Promise.all(this.orchestrators.map((o) => this.startNode(o)));
    await this.waitForLeader();
    await Promise.all(this.workers.map((w) => this.startNode(w)));
  }

  /**
   * Starts (or restarts) a node and waits for its ready line: an orchestrator prints it once it
   * recovered its state and listens, a worker once the leader confirmed its registration.
   * @throws {Error} if the node exits first or is not ready within `readyTimeoutMs`.
   */
  async startNode(node: NodeHandle, readyTimeoutMs = 60_000): Promise<ManagedProcess> {
    if (node.process !== null && !node.process.hasExited) {
      throw new Error(`Cannot start ${node.id}: it is running (PID ${node.process.pid})`);
    }
    const flags = this.options.denoFlags?.[node.role] ?? [];
    const args = node.role === "orchestrator"
      ? [
        ...flags,
        "orchestrator/main.ts",
        "--config",
        this.configPath,
        "--id",
        node.id,
        "--data-dir",
        `${this.dir}/data/${node.id}`,
      ]
      : [
        ...flags,
        "worker/main.ts",
        node.host,
        String(node.port),
        "--config",
        this.configPath,
        "--slots",
        String(this.options.slots),
        "--prefetch",
        String(this.options.prefetch ?? 0),
        ...(this.options.workerArgs ?? []),
      ];
    const p = this.#spawn(node, args);
    node.process = p;
    node.starts += 1;
    const ready = await p.ready(readyTimeoutMs).catch(async (error) => {
      throw new Error(
        `${node.id} did not start: ${(error as Error).message}\n${await this.logTail(node)}`,
        {
          cause: error,
        },
      );
    });
    if (node.role === "worker") node.workerName = ready.workerId;
    return p;
  }

  #spawn(node: NodeHandle, args: string[]): ManagedProcess {
    const prefix: string[] = [];
    // Runs the node under its own group id, which tags its connections for the firewall.
    if (node.gid !== null) prefix.push("setpriv", `--regid=${node.gid}`, "--clear-groups");
    // stderr (the node's log) appended to its file; `exec` keeps the PID Deno's.
    prefix.push("sh", "-c", `exec "$@" 2>>${node.logPath}`, "sh");
    return new ManagedProcess({
      name: node.id,
      args,
      prefix,
      env: {
        MUTIRAO_HOME: `${this.dir}/home`,
        MUTIRAO_LOG_LEVEL: this.options.logLevel ?? "info",
      },
    });
  }

  /** Sends a signal to a node's current process (a node that is not running is ignored). */
  signal(node: NodeHandle, signal: Deno.Signal): void {
    node.process?.signal(signal);
  }

  /** `kill -9` and wait until the process is gone. */
  async kill(node: NodeHandle): Promise<void> {
    if (node.process === null) return;
    node.process.signal("SIGKILL");
    await node.process.exited;
  }

  /** True while the node's current process runs. */
  isRunning(node: NodeHandle): boolean {
    return node.process !== null && !node.process.hasExited;
  }

  /**
   * Logs in once and returns the session token. A fresh cluster creates the cluster file's
   * accounts only once a leader is ready, and until then answers "wrong user name or password";
   * so that answer is retried (rate-limit answers too) for a bounded time.
   * @throws {RemoteError} when logging in still fails after `timeoutMs`.
   */
  token(timeoutMs = 30_000): Promise<string> {
    // One login shared by concurrent callers: parallel logins would trip the login throttle.
    this.#token ??= this.#login(timeoutMs).catch((error) => {
      this.#token = null;
      throw error;
    });
    return this.#token;
  }

  async #login(timeoutMs: number): Promise<string> {
    const client = this.client({ timeoutMs });
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        try {
          const reply = await client.request({
            type: "login",
            user: BENCH_USER,
            password: BENCH_PASSWORD,
          });
          return reply.token;
        } catch (error) {
          const retryable = error instanceof RemoteError &&
            (error.code === "bad_credentials" || error.code === "rate_limited");
          if (!retryable || Date.now() > deadline) throw error;
          await delay(250);
        }
      }
    } finally {
      client.close();
    }
  }

  /** A client of this cluster (close it when done). */
  client(options: { timeoutMs?: number; only?: string } = {}): MutiraoClient {
    const orchestrators = options.only === undefined
      ? this.addresses
      : this.addresses.filter((o) => o.id === options.only);
    return new MutiraoClient({ orchestrators, timeoutMs: options.timeoutMs ?? 30_000 });
  }

  /** What orchestrator `id` says about itself, or null if it does not answer in `timeoutMs`. */
  async nodeStatus(id: string, timeoutMs = 1000): Promise<NodeStatusView | null> {
    const token = await this.token();
    let client = this.#statusClients.get(id);
    if (client === undefined) {
      client = this.client({ only: id, timeoutMs });
      this.#statusClients.set(id, client);
    }
    try {
      return (await client.request({ type: "nodeStatus", token })).node;
    } catch {
      // Down, paused or cut off: "no answer" is the information the callers want.
      client.close();
      this.#statusClients.delete(id);
      return null;
    }
  }

  /**
   * Polls the running orchestrators until one says it leads (and, with `notId`, is not that
   * one). Polling, because leadership has no event a client can subscribe to.
   * @throws {Error} when no leader appears within `timeoutMs`.
   */
  async waitForLeader(
    options: { timeoutMs?: number; notId?: string; minTerm?: number } = {},
  ): Promise<{ id: string; term: number }> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      const live = this.orchestrators.filter((o) => this.isRunning(o) && o.id !== options.notId);
      const views = await Promise.all(live.map((o) => this.nodeStatus(o.id, 500)));
      const leader = views.find((v) =>
        v !== null && v.role === "leader" && v.term >= (options.minTerm ?? 0)
      );
      if (leader) return { id: leader.id, term: leader.term };
      await delay(50);
    }
    throw new Error(`No leader within ${options.timeoutMs ?? 30_000} ms`);
  }

  /** The whole log of a node (every incarnation), or "" if it never wrote one. */
  async logText(node: NodeHandle): Promise<string> {
    try {
      return await Deno.readTextFile(node.logPath);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "";
      throw error;
    }
  }

  /** The last lines of a node's log, for failure messages. */
  async logTail(node: NodeHandle, lines = 30): Promise<string> {
    const text = await this.logText(node);
    return text.split("\n").slice(-lines - 1).map((l) => `  [${node.id}] ${l}`).join("\n");
  }

  /** Stops every process (SIGTERM, then SIGKILL after `graceMs`); removes the directory unless kept. */
  async stop(graceMs = 3000): Promise<void> {
    RealCluster.#live.delete(this);
    for (const client of this.#statusClients.values()) client.close();
    this.#statusClients.clear();
    const running = [...this.orchestrators, ...this.workers]
      .map((n) => n.process)
      .filter((p): p is ManagedProcess => p !== null);
    // A paused (SIGSTOP) process cannot handle SIGTERM: continue it first.
    for (const p of running) p.signal("SIGCONT");
    // A profiled node writes its profile as it exits: a worker may first wait for its connection
    // (the orchestrators stop too), so profiled runs give them longer before SIGKILL.
    const profiling = Object.values(this.options.denoFlags ?? {}).flat().some((f) =>
      f.startsWith("--cpu-prof")
    );
    const grace = profiling ? Math.max(graceMs, 15_000) : graceMs;
    await Promise.all(running.map((p) => p.stop(grace)));
    if (!this.#keep) {
      await Deno.remove(this.dir, { recursive: true }).catch(() => {/* best effort: temp dir */});
    }
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
