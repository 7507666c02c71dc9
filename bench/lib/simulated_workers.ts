/**
 * Many workers in one process: each is the real worker runtime (worker/mod.ts `WorkerRuntime`:
 * its own TCP connection and registration, its own UDP socket and heartbeats, the real task
 * logic), only without a process of its own. Two hundred Deno processes would cost gigabytes and
 * bury the orchestrators' cost per worker under process scheduling on a small machine; reusing the
 * runtime instead of re-implementing the wire protocol keeps the simulation honest as the
 * protocol evolves (authentication, signed heartbeats).
 * @module
 */
import type { OrchestratorAddress } from "../../shared/config/mod.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../../shared/limits.ts";
import { type Logger, loggerFrom, type LogLevel } from "../../shared/log.ts";
import { WorkerRuntime } from "../../worker/mod.ts";

/** Counters over the pool's life. */
export interface PoolStats {
  registered: number;
  /** Warnings the runtimes logged (evictions, lost connections), by first words. */
  warnings: Record<string, number>;
}

/** A pool of in-process workers; `stop()` shuts every one down. */
export class SimulatedWorkerPool {
  readonly stats: PoolStats = { registered: 0, warnings: {} };
  readonly #runtimes: WorkerRuntime[] = [];
  readonly #runs: Promise<void>[] = [];
  readonly #allRegistered = Promise.withResolvers<void>();
  readonly #count: number;

  constructor(
    readonly options: {
      orchestrators: readonly OrchestratorAddress[];
      count: number;
      slots: number;
      heartbeatIntervalMs: number;
    },
  ) {
    this.#count = options.count;
  }

  /**
   * Starts every worker and resolves once each was registered by the leader. Start-up is spread
   * over `spreadMs` so heartbeats end up out of phase, as for independent machines.
   * @throws {Error} when not all registered within `timeoutMs`.
   */
  async start(options: { timeoutMs?: number; spreadMs?: number } = {}): Promise<void> {
    const spreadMs = options.spreadMs ?? this.options.heartbeatIntervalMs;
    for (let i = 0; i < this.#count; i++) {
      const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const name = `sim-${i + 1}`;
      const runtime = new WorkerRuntime({
        info: { name, incarnation: crypto.randomUUID(), slots: this.options.slots, canExec: false },
        orchestrators: this.options.orchestrators,
        udp,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        drainTimeoutMs: 0,
        maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
        logger: this.#logger(),
        onRegistered: () => {
          this.stats.registered += 1;
          if (this.stats.registered === this.#count) this.#allRegistered.resolve();
        },
      });
      this.#runtimes.push(runtime);
      this.#runs.push(runtime.run());
      await new Promise((resolve) => setTimeout(resolve, spreadMs / this.#count));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`Only ${this.stats.registered} of ${this.#count} workers registered`)),
        options.timeoutMs ?? 60_000,
      );
    });
    await Promise.race([this.#allRegistered.promise, timeout]).finally(() => clearTimeout(timer));
  }

  /** Shuts every worker down (twice: hand back at once) and waits for them to exit. */
  async stop(): Promise<void> {
    for (const runtime of this.#runtimes) {
      runtime.shutdown();
      runtime.shutdown();
    }
    await Promise.all(this.#runs);
  }

  /** Info and debug lines are dropped (thousands per second); warnings are counted. */
  #logger(): Logger {
    return loggerFrom((level: LogLevel, message: string) => {
      if (level !== "warn" && level !== "error") return;
      const key = message.split(/[:;]/)[0].replace(/\d+(\.\d+)*(:\d+)?/g, "N").slice(0, 60);
      this.stats.warnings[key] = (this.stats.warnings[key] ?? 0) + 1;
    });
  }
}
