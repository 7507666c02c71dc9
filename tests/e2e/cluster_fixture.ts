/**
 * A real cluster for end-to-end tests: orchestrator and worker processes on
 * 127.0.0.1 with ephemeral ports, a temporary cluster file, data directory and
 * $MUTIRAO_HOME, and a way to run the CLI. `withCluster` stops every process it
 * started, by PID, even when the test fails.
 * @module
 */
import { hashPassword } from "../../shared/auth/mod.ts";
import { freePort, ManagedProcess } from "../../scripts/lib/managed_process.ts";

/** Nodes log at debug: tests wait for per-task lines ("Running task …"), debug in the product. */
const NODE_ENV = { MUTIRAO_LOG_LEVEL: "debug" };

export interface ClusterOptions {
  orchestrators?: number;
  heartbeatIntervalMs?: number;
  missedHeartbeats?: number;
  snapshotEveryEntries?: number;
  snapshotCatchUpEntries?: number;
  scheduler?: "round-robin" | "least-loaded";
  maxFrameBytes?: number;
  /** Give each orchestrator an `httpPort` (the REST API and /metrics). */
  http?: boolean;
  /** Copy every node's output to stderr (debugging). */
  echo?: boolean;
  /** More cluster-file fields (tokenTtlMs, clusterSecretFile, tls, …). */
  extraConfig?: Record<string, unknown>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is one JSON document, else null. */
  json: Record<string, unknown> | null;
}

let cachedUsers: Array<{ name: string; passwordHash: string; role?: string }> | null = null;

async function testUsers() {
  cachedUsers ??= [
    // user1 is an admin (as in the demo file); user2 is a plain user.
    { name: "user1", passwordHash: await hashPassword("pass1"), role: "admin" },
    { name: "user2", passwordHash: await hashPassword("pass2") },
  ];
  return cachedUsers;
}

export class ClusterFixture {
  readonly dir: string;
  readonly configPath: string;
  readonly home: string;
  readonly config: Record<string, unknown> & {
    orchestrators: Array<{ id: string; host: string; port: number; httpPort?: number }>;
  };
  readonly processes: ManagedProcess[] = [];
  readonly #echo: boolean;
  #workerCount = 0;

  private constructor(dir: string, config: ClusterFixture["config"], echo: boolean) {
    this.dir = dir;
    this.configPath = `${dir}/cluster.json`;
    this.home = `${dir}/home`;
    this.config = config;
    this.#echo = echo;
  }

  static async create(options: ClusterOptions = {}): Promise<ClusterFixture> {
    const dir = await Deno.makeTempDir({ prefix: "mutirao-e2e-" });
    const config = {
      clusterId: "e2e",
      orchestrators: Array.from({ length: options.orchestrators ?? 1 }, (_, i) => ({
        id: `o${i + 1}`,
        host: "127.0.0.1",
        port: freePort(),
        ...(options.http ? { httpPort: freePort() } : {}),
      })),
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 250,
      missedHeartbeats: options.missedHeartbeats ?? 4,
      scheduler: options.scheduler ?? "round-robin",
      snapshotEveryEntries: options.snapshotEveryEntries ?? 10_000,
      ...(options.snapshotCatchUpEntries === undefined
        ? {}
        : { snapshotCatchUpEntries: options.snapshotCatchUpEntries }),
      ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
      users: await testUsers(),
      ...options.extraConfig,
    };
    const fixture = new ClusterFixture(dir, config, options.echo ?? false);
    await Deno.writeTextFile(fixture.configPath, JSON.stringify(config, null, 2));
    return fixture;
  }

  /** The address of orchestrator `id`. */
  address(id = "o1"): { host: string; port: number } {
    const o = this.config.orchestrators.find((x) => x.id === id);
    if (o === undefined) throw new Error(`No orchestrator ${id}`);
    return { host: o.host, port: o.port };
  }

  /** The base URL of orchestrator `id`'s HTTP port (the cluster was made with `http: true`). */
  httpUrl(id = "o1"): string {
    const o = this.config.orchestrators.find((x) => x.id === id);
    if (o?.httpPort === undefined) throw new Error(`No HTTP port for orchestrator ${id}`);
    return `http://${o.host}:${o.httpPort}`;
  }

  /**
   * Starts orchestrator `id` and waits until it listens.
   * @param extraArgs Flags after the fixed ones (`--rejoin`, …).
   */
  async startOrchestrator(id = "o1", extraArgs: string[] = []): Promise<ManagedProcess> {
    const p = new ManagedProcess({
      name: `orchestrator ${id}`,
      args: this.orchestratorArgs(id, extraArgs),
      env: NODE_ENV,
      echo: this.#echo,
    });
    this.processes.push(p);
    await p.ready();
    return p;
  }

  /** The arguments `startOrchestrator` runs orchestrator `id` with (for one expected to exit). */
  orchestratorArgs(id: string, extraArgs: string[] = []): string[] {
    return [
      "orchestrator/main.ts",
      "--config",
      this.configPath,
      "--id",
      id,
      "--data-dir",
      this.dataDir(id),
      ...extraArgs,
    ];
  }

  /** Orchestrator `id`'s data directory. */
  dataDir(id: string): string {
    return `${this.dir}/data/${id}`;
  }

  /**
   * Waits until the cluster serves clients: a newly elected leader answers "unavailable" until
   * its first entry commits, and the CLI retries through that. Tests that then talk raw frames
   * need it; the CLI alone does not.
   */
  async waitUntilServing(): Promise<void> {
    const r = await this.cli(["login", "user1", "pass1", "--timeout", "30"]);
    if (r.code !== 0) throw new Error(`The cluster did not start serving: ${r.stderr}`);
  }

  /** Starts a worker and waits until the orchestrator confirmed its registration. */
  async startWorker(
    options: { slots?: number; allowExec?: boolean; port?: number; args?: string[] } = {},
  ): Promise<
    ManagedProcess & { workerId: string }
  > {
    this.#workerCount += 1;
    const args = [
      "worker/main.ts",
      "--config",
      this.configPath,
      "--slots",
      String(options.slots ?? 4),
    ];
    if (options.port !== undefined) args.push("127.0.0.1", String(options.port));
    if (options.allowExec) args.push("--allow-exec");
    args.push(...options.args ?? []);
    const p = new ManagedProcess({
      name: `worker ${this.#workerCount}`,
      args,
      env: NODE_ENV,
      echo: this.#echo,
    });
    this.processes.push(p);
    const ready = await p.ready();
    return Object.assign(p, { workerId: ready.workerId });
  }

  /** Starts any repository script (stopped with the cluster), without waiting for it. */
  spawn(name: string, args: string[], env?: Record<string, string>): ManagedProcess {
    const p = new ManagedProcess({ name, args, env: { ...NODE_ENV, ...env }, echo: this.#echo });
    this.processes.push(p);
    return p;
  }

  /**
   * Runs the CLI with this cluster's file and home; `--json` is added. `program` goes after
   * `--`, behind the added flags, so they never become part of an exec task's argv.
   */
  async cli(
    args: string[],
    options: { stdin?: string; json?: boolean; program?: string[]; config?: string } = {},
  ): Promise<CliResult> {
    const full = [
      "run",
      "-A",
      "client/main.ts",
      ...args,
      "--config",
      options.config ?? this.configPath,
    ];
    if (options.json ?? true) full.push("--json");
    if (options.program !== undefined) full.push("--", ...options.program);
    const child = new Deno.Command(Deno.execPath(), {
      args: full,
      cwd: new URL("../../", import.meta.url).pathname,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0", MUTIRAO_HOME: this.home },
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    let json: Record<string, unknown> | null = null;
    try {
      json = JSON.parse(stdout);
    } catch {
      json = null; // not JSON output (a human-readable command): callers use stdout
    }
    return { code: out.code, stdout, stderr: new TextDecoder().decode(out.stderr), json };
  }

  /** Stops every process still running (SIGTERM, then SIGKILL) and removes the temp directory. */
  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop(3000)));
    await Deno.remove(this.dir, { recursive: true }).catch(() => {/* best effort */});
  }

  /** All output of every process, for failure messages. */
  dump(): string {
    return this.processes.map((p) => p.tail(60)).join("\n");
  }
}

/** Runs `body` with a fresh cluster and always stops it; on failure the nodes' output is attached. */
export async function withCluster(
  options: ClusterOptions,
  body: (cluster: ClusterFixture) => Promise<void>,
): Promise<void> {
  const cluster = await ClusterFixture.create(options);
  try {
    await body(cluster);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- node output ---\n${cluster.dump()}`, {
      cause: error,
    });
  } finally {
    await cluster.stop();
  }
}
