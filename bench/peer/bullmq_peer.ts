/**
 * BullMQ as a peer of the bench: for each run a private Redis (redis_server.ts), as many
 * BullMQ worker processes as Mutirão has workers, each with `concurrency` = Mutirão's slots
 * (bullmq_worker.mjs), and one producer process that runs the scenario's load with the same sizes
 * and prints its result (bullmq_producer.mjs). Everything is stopped by PID before the run returns.
 * @module
 */
import type { LatencyRun, LoadedLatencyRun, PayloadRun, ThroughputRun } from "../lib/comparison.ts";
import {
  LATENCY_WARMUP_TASKS,
  LOADED_BATCHES_IN_FLIGHT_MAX,
  type PeerSystem,
  type ScenarioContext,
  THROUGHPUT_WARMUP_TASKS,
} from "../lib/scenario.ts";
import { type PeerEvent, PeerProcess } from "./peer_process.ts";
import { RedisServer } from "./redis_server.ts";

/** Node scripts of the peer, beside this file. */
const WORKER_SCRIPT = new URL("./bullmq_worker.mjs", import.meta.url).pathname;
const PRODUCER_SCRIPT = new URL("./bullmq_producer.mjs", import.meta.url).pathname;
/** How long workers may take to connect, and a producer to finish its run. */
const WORKER_READY_TIMEOUT_MS = 30_000;
const PRODUCER_TIMEOUT_MS = 900_000;
/** The queue every process of a run uses (each run has its own Redis). */
const QUEUE = "bench";

/** The BullMQ peer with Redis's default persistence (none) or fsync on every write. */
export function bullmqPeer(options: { durable: boolean }): PeerSystem {
  const name = options.durable ? "bullmq-durable" : "bullmq";
  const run = <T>(ctx: ScenarioContext, mode: string, args: string[]) =>
    runBullmq<T>(ctx, { name, durable: options.durable, mode, args });
  return {
    name,
    description: "BullMQ 5 under Node on a private redis-server, " +
      (options.durable
        ? "appendonly yes, appendfsync always (fsync on every write)"
        : "no persistence (--save '' --appendonly no)"),
    throughput(ctx) {
      const { sizes } = ctx.options;
      return run<ThroughputRun>(ctx, "throughput", [
        ...["--tasks", String(sizes.throughputTasks), "--batch", String(sizes.batchSize)],
        ...["--in-flight", String(sizes.batchesInFlight)],
        ...["--warmup", String(THROUGHPUT_WARMUP_TASKS)],
      ]);
    },
    latency(ctx) {
      const { sizes } = ctx.options;
      return run<LatencyRun>(ctx, "latency", [
        ...["--count", String(sizes.latencyTasks), "--rate", String(sizes.latencyRatePerS)],
        ...["--warmup", String(LATENCY_WARMUP_TASKS)],
      ]);
    },
    loadedLatency(ctx) {
      const { sizes } = ctx.options;
      return run<LoadedLatencyRun>(ctx, "loaded-latency", [
        ...["--count", String(sizes.loadedProbeTasks)],
        ...["--rate", String(sizes.loadedProbeRatePerS)],
        ...["--warmup", String(LATENCY_WARMUP_TASKS)],
        ...["--background-rate", String(sizes.loadedBackgroundRatePerS)],
        ...["--background-batch", String(sizes.loadedBatchSize)],
        ...["--background-in-flight", String(LOADED_BATCHES_IN_FLIGHT_MAX)],
        ...["--settle-ms", String(sizes.loadedSettleMs)],
      ]);
    },
    payloads(ctx, payloadOptions) {
      const { sizes } = ctx.options;
      return run<PayloadRun>(ctx, "payloads", [
        ...["--tasks", String(sizes.throughputTasks)],
        ...["--batch", String(payloadOptions.batchSize)],
        ...["--in-flight", String(sizes.batchesInFlight)],
        ...["--warmup", String(THROUGHPUT_WARMUP_TASKS)],
        ...["--payload-bytes", String(payloadOptions.payloadBytes)],
        ...(payloadOptions.payloadFirst ? ["--payload-first"] : []),
      ]);
    },
  };
}

/** One run: Redis, workers, the producer; its result event; everything stopped. */
async function runBullmq<T>(
  ctx: ScenarioContext,
  options: { name: string; durable: boolean; mode: string; args: string[] },
): Promise<T> {
  const redis = await RedisServer.start({ durable: options.durable, progress: ctx.progress });
  const workers: PeerProcess[] = [];
  try {
    const port = String(redis.port);
    for (let i = 1; i <= ctx.options.workers; i++) {
      workers.push(node(`${options.name}-w${i}`, WORKER_SCRIPT, [
        ...["--port", port, "--queue", QUEUE, "--concurrency", String(ctx.options.slots)],
      ]));
    }
    await Promise.all(workers.map((w) => w.waitForEvent("ready", WORKER_READY_TIMEOUT_MS)));
    const producer = node(
      `${options.name}-producer`,
      PRODUCER_SCRIPT,
      ["--port", port, "--queue", QUEUE, "--mode", options.mode, ...options.args],
      (event) => {
        if (event.event === "progress") ctx.progress(`${options.name}: ${event.message}`);
      },
    );
    try {
      const result = await producer.waitForEvent("result", PRODUCER_TIMEOUT_MS);
      const status = await producer.exited;
      if (!status.success) {
        throw new Error(`${producer.name} exited with code ${status.code}${producer.tail()}`);
      }
      return resultOf<T>(result);
    } finally {
      await producer.stop();
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
  }
}

function node(
  name: string,
  script: string,
  args: string[],
  onEvent?: (event: PeerEvent) => void,
): PeerProcess {
  try {
    return new PeerProcess({ name, command: "node", args: [script, ...args], onEvent });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error("Cannot run the BullMQ peer: node is not on PATH", { cause: error });
    }
    throw error;
  }
}

/**
 * The result event without its tag. Its fields come from our own producer script, so a shape
 * check is enough: every field a number or an array of numbers.
 * @throws {TypeError} naming the first field of another type
 */
function resultOf<T>(event: PeerEvent): T {
  const { event: _tag, ...fields } = event;
  for (const [key, value] of Object.entries(fields)) {
    const ok = typeof value === "number" ||
      (Array.isArray(value) && value.every((v) => typeof v === "number"));
    if (!ok) throw new TypeError(`BullMQ result field "${key}" is not numeric: ${value}`);
  }
  return fields as T;
}
