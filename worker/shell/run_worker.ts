/**
 * `runWorker`: a worker inside your own program, serving the kinds of a handlers map or module,
 * for library use (`deno task worker --handlers MODULE` is the same worker as a command).
 * @module
 */
import type { OrchestratorAddress } from "../../shared/config/mod.ts";
import { LIMITS } from "../../shared/limits.ts";
import { queuesProblem } from "../../shared/protocol/messages.ts";
import { type Handlers, loadHandlers, moduleUrl, validateHandlers } from "./handlers.ts";
import { IsolatedHandlers } from "./isolated_handlers.ts";
import { startWorker } from "./start_worker.ts";

/** What `runWorker` needs: the handlers, and where the cluster is. */
export interface RunWorkerOptions {
  /** The kinds served: a handlers map, or a module's path or URL whose default export is one. */
  handlers: Handlers | string | URL;
  /**
   * With a module path or URL as `handlers`: run each attempt in a Web Worker, which can be
   * terminated when a handler ignores its signal (default false: in this process).
   */
  isolate?: boolean;
  /** "HOST:PORT,..." or a list (default: $MUTIRAO_ORCHESTRATORS, then the cluster file). */
  orchestrators?: string | readonly OrchestratorAddress[];
  /** The cluster file (default $MUTIRAO_CONFIG, then config/demo.json). */
  config?: string;
  /** Follow leader announcements on GROUP:PORT. */
  multicast?: string;
  /** Tasks run at once (default 4). */
  slots?: number;
  /** Assignments held beyond the slots (default 0). */
  prefetch?: number;
  /** The queues it takes tasks from (default: only "default"). */
  queues?: readonly string[];
  /** Name in the cluster (default HOST:PORT). */
  name?: string;
  /** The worker's own address (default 127.0.0.1 and a free port). */
  host?: string;
  port?: number;
  /** On `stop()`, how long running tasks get to finish before they are handed back (10 s). */
  drainTimeoutMs?: number;
  /** Largest handler result, as bytes of JSON (default and most LIMITS.resultBytesMax). */
  maxResultBytes?: number;
  /** The cluster secret file (default as for `deno task worker`). */
  clusterSecretFile?: string;
  /** The CA certificate that verifies orchestrators (TLS). */
  tlsCaFile?: string;
}

/** A started worker. */
export interface RunningWorker {
  /** Its name in the cluster ("127.0.0.1:PORT" unless given). */
  readonly name: string;
  /** Its id, once an orchestrator confirmed its registration; rejects if it stops before. */
  readonly workerId: Promise<string>;
  /**
   * Stops it as SIGTERM does: takes no new task, gives running ones `drainTimeoutMs` to finish,
   * hands back the rest, and resolves once it stopped.
   */
  stop(): Promise<void>;
  /** Resolves when it stopped; rejects when an orchestrator refused it for good. */
  readonly done: Promise<void>;
}

/**
 * Starts a worker serving `options.handlers` and connects it to the cluster in the background.
 * Needs Deno's --allow-net, --allow-read and --allow-env (and --allow-import for a remote module).
 * @throws {Error} for a handlers module that cannot be loaded or is not a handlers map, an option
 *   out of range (RangeError), a cluster file that cannot be read, or an address in use.
 * @example
 * ```ts
 * import { runWorker } from "./worker/mod.ts";
 * const worker = await runWorker({
 *   handlers: { add: ({ a, b }) => a + b },
 *   orchestrators: "127.0.0.1:7701",
 * });
 * console.log(`registered as ${await worker.workerId}`);
 * Deno.addSignalListener("SIGTERM", () => void worker.stop());
 * await worker.done;
 * ```
 */
export async function runWorker(options: RunWorkerOptions): Promise<RunningWorker> {
  const isModule = typeof options.handlers === "string" || options.handlers instanceof URL;
  if (options.isolate === true && !isModule) {
    throw new RangeError("runWorker(): isolate needs handlers given as a module path or URL");
  }
  const loaded = isModule
    ? await loadHandlers(options.handlers as string | URL)
    : validateHandlers(options.handlers, "runWorker() options");
  const isolated = options.isolate === true
    ? new IsolatedHandlers(moduleUrl(options.handlers as string | URL), Object.keys(loaded))
    : null;
  const handlers = isolated?.handlers ?? loaded;
  const registered = Promise.withResolvers<string>();
  const worker = await startWorker({
    host: options.host,
    port: options.port === undefined ? undefined : checkInt("port", options.port, 0, 65535),
    slots: checkInt("slots", options.slots ?? 4, 1, LIMITS.workerSlotsMax),
    prefetch: checkInt("prefetch", options.prefetch ?? 0, 0, LIMITS.workerPrefetchMax),
    ...(options.queues === undefined ? {} : { queues: checkQueues(options.queues) }),
    allowExec: false,
    execAllow: null,
    exec: { envAllow: [] },
    orchestrators: options.orchestrators,
    config: options.config,
    multicast: options.multicast,
    name: options.name,
    drainTimeoutMs: checkInt("drainTimeoutMs", options.drainTimeoutMs ?? 10_000, 0, 86_400_000),
    clusterSecretFile: options.clusterSecretFile,
    tlsCaFile: options.tlsCaFile,
    handlers,
    maxResultBytes: options.maxResultBytes === undefined
      ? undefined
      : checkInt("maxResultBytes", options.maxResultBytes, 1, LIMITS.resultBytesMax),
    onRegistered: (workerId) => registered.resolve(workerId),
  });
  worker.done.then(
    () => registered.reject(new Error(`Worker ${worker.name} stopped before it registered`)),
    (error) => registered.reject(error),
  );
  // Marked handled: a caller that never asks for the id must not crash on its rejection.
  registered.promise.catch(() => {});
  let isStopping = false;
  // Its Web Workers (with `isolate`) stop with it.
  const done = worker.done.finally(() => isolated?.close());
  done.catch(() => {}); // handled by whoever awaits it; no unhandled rejection if nobody does
  return {
    name: worker.name,
    workerId: registered.promise,
    done,
    stop() {
      // Once: a second shutdown would hand running tasks back at once (a second SIGTERM).
      if (!isStopping) worker.runtime.shutdown();
      isStopping = true;
      return done;
    },
  };
}

function checkQueues(queues: readonly string[]): string[] {
  const problem = queuesProblem(queues);
  if (problem !== null) throw new RangeError(`Cannot start the worker: queues: ${problem}`);
  return [...queues];
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot start the worker: ${name} must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}
