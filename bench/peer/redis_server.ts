/**
 * A private `redis-server` for the BullMQ peer: found on the machine (installed from Debian's
 * package when missing and we are root), started on 127.0.0.1 on a free ephemeral port with its
 * own temporary directory, and stopped by PID. A system Redis service (port 6379, which a Debian
 * install may start) is never touched: ours has its own port.
 * @module
 */
import { delay } from "../lib/real_cluster.ts";
import { PeerProcess } from "./peer_process.ts";

/** Where `redis-server` is looked for besides PATH. */
const REDIS_DIRS = ["/usr/bin", "/usr/sbin", "/usr/local/bin"];
/** How long a fresh server may take to answer PING. */
const READY_TIMEOUT_MS = 10_000;

/** Persistence of the server. */
export interface RedisServerOptions {
  /**
   * false: Redis's default for this bench, no persistence at all (`--save "" --appendonly no`);
   * true: an append-only file fsync'd on every write (`--appendonly yes --appendfsync always`).
   */
  durable: boolean;
}

/** The `redis-server` arguments for `port`, `dir` and the persistence asked for. */
export function redisServerArgs(
  port: number,
  options: RedisServerOptions & { dir: string },
): string[] {
  const persistence = options.durable
    ? ["--appendonly", "yes", "--appendfsync", "always"]
    : ["--appendonly", "no"];
  return [
    ...["--port", String(port), "--bind", "127.0.0.1", "--daemonize", "no"],
    ...["--dir", options.dir, "--logfile", `${options.dir}/redis.log`, "--save", ""],
    ...persistence,
  ];
}

/** A running private Redis; `stop()` ends it by PID and removes its directory. */
export class RedisServer {
  /** Servers started and not yet stopped, for removeAllOnSignal(). */
  static readonly #live = new Set<RedisServer>();
  readonly port: number;
  readonly dir: string;
  readonly #process: PeerProcess;

  private constructor(port: number, dir: string, process: PeerProcess) {
    this.port = port;
    this.dir = dir;
    this.#process = process;
    RedisServer.#live.add(this);
  }

  /**
   * On SIGINT or SIGTERM, kills every server still running (by PID) and removes its directory
   * at once: the bench's own handler exits without running `finally` blocks.
   */
  static removeAllOnSignal(): void {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => {
        for (const server of RedisServer.#live) {
          server.#process.signal("SIGKILL");
          try {
            Deno.removeSync(server.dir, { recursive: true });
          } catch (error) {
            console.error(`bench: could not remove ${server.dir}: ${(error as Error).message}`);
          }
        }
      });
    }
  }

  get pid(): number {
    return this.#process.pid;
  }

  /**
   * Starts a server and waits until it answers PING.
   * @throws {Error} if no `redis-server` can be found or installed, or it does not answer
   */
  static async start(
    options: RedisServerOptions & { progress?: (message: string) => void },
  ): Promise<RedisServer> {
    const binary = await ensureRedisServer(options.progress ?? (() => {}));
    const dir = await Deno.makeTempDir({ prefix: "mutirao-redis-" });
    const port = freeTcpPort();
    const process = new PeerProcess({
      name: `redis:${port}`,
      command: binary,
      args: redisServerArgs(port, { ...options, dir }),
    });
    const server = new RedisServer(port, dir, process);
    try {
      await waitForPong(port, process);
    } catch (error) {
      const log = await Deno.readTextFile(`${dir}/redis.log`).catch(() => "");
      await server.stop();
      throw new Error(`Redis on port ${port} did not start: ${(error as Error).message}\n${log}`, {
        cause: error,
      });
    }
    return server;
  }

  /** SIGTERM (Redis exits cleanly), then SIGKILL after `graceMs`; removes the directory. */
  async stop(graceMs = 3000): Promise<void> {
    RedisServer.#live.delete(this);
    await this.#process.stop(graceMs);
    await Deno.remove(this.dir, { recursive: true }).catch((error) => {
      // Best effort: a temp dir left behind is harmless, but say so.
      console.error(`bench: could not remove ${this.dir}: ${(error as Error).message}`);
    });
  }
}

/**
 * The path of `redis-server`, installing Debian's `redis-server` package when it is missing and
 * we are root (`apt-get install`, after `apt-get update` if the first attempt fails).
 * @throws {Error} when it is missing and cannot be installed
 */
export async function ensureRedisServer(progress: (message: string) => void): Promise<string> {
  const found = await findRedisServer();
  if (found !== null) return found;
  if (Deno.uid() !== 0) {
    throw new Error(
      "Cannot run the BullMQ peer: redis-server is not installed and we are not root to install " +
        "it (apt-get install -y redis-server)",
    );
  }
  progress("redis-server missing: apt-get install -y redis-server");
  if (!(await aptGet(["install", "-y", "redis-server"]))) {
    progress("install failed: apt-get update, then install again");
    await aptGet(["update"]);
    await aptGet(["install", "-y", "redis-server"]);
  }
  const installed = await findRedisServer();
  if (installed === null) {
    throw new Error("Cannot run the BullMQ peer: apt-get install redis-server did not provide it");
  }
  return installed;
}

/** `redis-server` on PATH or in the usual directories, or null. */
export async function findRedisServer(): Promise<string | null> {
  const pathDirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const dir of [...pathDirs, ...REDIS_DIRS]) {
    const candidate = `${dir}/redis-server`;
    try {
      const info = await Deno.stat(candidate);
      if (info.isFile) return candidate;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return null;
}

async function aptGet(args: string[]): Promise<boolean> {
  const output = await new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    console.error(
      `bench: apt-get ${args.join(" ")} failed:\n${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return output.success;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). */
function freeTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Sends PING on a fresh connection until `+PONG` comes back, the process exits, or time runs out. */
async function waitForPong(port: number, process: PeerProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = "no answer";
  while (Date.now() < deadline) {
    if (process.hasExited) throw new Error(`redis-server exited${process.tail()}`);
    try {
      if (await ping(port)) return;
      lastError = "unexpected answer to PING";
    } catch (error) {
      // Not listening yet (connection refused): retry until the deadline.
      lastError = (error as Error).message;
    }
    await delay(50);
  }
  throw new Error(`No PONG within ${READY_TIMEOUT_MS} ms: ${lastError}`);
}

async function ping(port: number): Promise<boolean> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer);
    return n !== null && new TextDecoder().decode(buffer.subarray(0, n)).startsWith("+PONG");
  } finally {
    conn.close();
  }
}
