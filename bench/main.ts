/**
 * `deno task bench`: starts real clusters on 127.0.0.1, runs the benchmark scenarios, prints a
 * table of measured values against their targets and writes the results to bench/results/.
 *
 *   deno task bench [--scenario NAME[,NAME...]] [--quick] [--orchestrators N] [--workers N]
 *                   [--slots N] [--tasks N] [--scale-tasks N]
 *                   [--retention-tasks N] [--retention-keep N] [--rounds N] [--log-level L] [--keep]
 *                   [--peer bullmq [--peer-rounds N]] [--http]
 * @module
 */
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../scripts/lib/managed_process.ts";
import { describeMachine, MachineLoad } from "./lib/machine.ts";
import { RealCluster, type RealClusterOptions } from "./lib/real_cluster.ts";
import { renderTable, type ScenarioRecord } from "./lib/report.ts";
import {
  type BenchOptions,
  type BenchSizes,
  FULL_SIZES,
  QUICK_SIZES,
  type ScenarioContext,
} from "./lib/scenario.ts";
import { SCENARIOS } from "./scenarios/mod.ts";
import { PEER_NAMES, resolvePeer } from "./peer/mod.ts";
import { PeerProcess } from "./peer/peer_process.ts";
import { RedisServer } from "./peer/redis_server.ts";
import type { PeerSystem } from "./lib/scenario.ts";

const USAGE = `Usage: deno task bench [options]

Runs the benchmark scenarios on real clusters (127.0.0.1), prints measured values
next to their targets and writes bench/results/<date>.json.

Options:
  --scenario NAMES      run only these (comma-separated): ${SCENARIOS.map((s) => s.name).join(", ")}
  --quick               small sizes, for a smoke run (about 3 minutes)
  --orchestrators N     orchestrators in the cluster (default 3)
  --workers N           workers (default 3)
  --slots N             slots per worker (default 8)
  --prefetch N          workers' --prefetch: assignments held beyond their slots (default: as
                        many as the slots, like a BullMQ worker that takes its next job as it
                        finishes one; 0 for the product default)
  --tasks N             throughput, payloads: tasks per run (default ${FULL_SIZES.throughputTasks})
  --batch N             throughput: tasks per submitBatch request (default ${FULL_SIZES.batchSize})
  --scale-tasks N       scale: tasks (default ${FULL_SIZES.scaleTasks})
  --scale-minutes N     scale: stop adding tasks after this long (default ${FULL_SIZES.scaleBudgetMinutes})
  --retention-tasks N   retention: tasks (default ${FULL_SIZES.retentionTasks})
  --retention-keep N    retention: finished tasks kept, keepFinishedTasks (default
                        ${FULL_SIZES.retentionKeep}, the product default)
  --retention-minutes N retention: stop adding tasks after this long (default ${FULL_SIZES.retentionBudgetMinutes})
  --rounds N            leader failover: kills (default ${FULL_SIZES.failoverRounds})
  --sim-workers N       many workers: simulated workers (default ${FULL_SIZES.simWorkers})
  --hog-seconds N       false suspicion: seconds of saturated CPU (default ${FULL_SIZES.hogSeconds})
  --peer NAME           compare with another system (${PEER_NAMES.join(", ")}): throughput,
                        latency, loaded-latency and payloads run interleaved rounds of Mutirão
                        and the peer's configurations and report the ratios (see
                        docs/performance.md)
  --peer-rounds N       rounds per system with --peer (default 2, 1 with --quick)
  --log-level LEVEL     nodes' MUTIRAO_LOG_LEVEL: info (the product default) or warn
  --isolate             payloads: handler workers run each attempt in a Web Worker (--isolate)
  --http                every orchestrator serves HTTP (an httpPort, so it derives the event
                        stream); throughput and payloads also keep what an open dashboard asks
                        for on the leader: one event stream read and counted, and
                        /api/v1/cluster and /api/v1/workers polled every 2 s
  --keep                keep cluster directories (node logs, data) under $TMPDIR
  --profile DIR         nodes write CPU profiles there when they stop (summarize them with
                        deno run -A bench/tools/profile_summary.ts DIR/*.cpuprofile)
  --out DIR             where the JSON goes (default bench/results)
  -h, --help            show this help
`;

interface ParsedOptions {
  options: BenchOptions;
  names: string[];
  outDir: string;
  peers: PeerSystem[];
}

function parseOptions(args: string[]): ParsedOptions {
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: "string", multiple: true },
      quick: { type: "boolean", default: false },
      orchestrators: { type: "string", default: "3" },
      workers: { type: "string", default: "3" },
      slots: { type: "string", default: "8" },
      prefetch: { type: "string" },
      tasks: { type: "string" },
      batch: { type: "string" },
      "scale-tasks": { type: "string" },
      "scale-minutes": { type: "string" },
      "retention-tasks": { type: "string" },
      "retention-keep": { type: "string" },
      "retention-minutes": { type: "string" },
      rounds: { type: "string" },
      "sim-workers": { type: "string" },
      "hog-seconds": { type: "string" },
      "log-level": { type: "string", default: "info" },
      keep: { type: "boolean", default: false },
      isolate: { type: "boolean", default: false },
      http: { type: "boolean", default: false },
      profile: { type: "string" },
      peer: { type: "string" },
      "peer-rounds": { type: "string" },
      out: { type: "string", default: `${REPO_ROOT}bench/results` },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const names = (values.scenario ?? []).flatMap((s) => s.split(",")).filter((s) => s !== "");
  for (const name of names) {
    if (!SCENARIOS.some((s) => s.name === name)) {
      throw new RangeError(
        `Unknown scenario "${name}": choose from ${SCENARIOS.map((s) => s.name).join(", ")}`,
      );
    }
  }
  const logLevel = values["log-level"];
  if (logLevel !== "info" && logLevel !== "warn") {
    throw new RangeError(`--log-level must be info or warn, got "${logLevel}"`);
  }
  const sizes: BenchSizes = { ...(values.quick ? QUICK_SIZES : FULL_SIZES) };
  const override = (key: keyof BenchSizes, text: string | undefined, flag: string) => {
    if (text !== undefined) sizes[key] = intFlag(flag, text, 1);
  };
  override("throughputTasks", values.tasks, "tasks");
  override("batchSize", values.batch, "batch");
  override("scaleTasks", values["scale-tasks"], "scale-tasks");
  override("scaleBudgetMinutes", values["scale-minutes"], "scale-minutes");
  override("retentionTasks", values["retention-tasks"], "retention-tasks");
  override("retentionKeep", values["retention-keep"], "retention-keep");
  override("retentionBudgetMinutes", values["retention-minutes"], "retention-minutes");
  override("failoverRounds", values.rounds, "rounds");
  override("simWorkers", values["sim-workers"], "sim-workers");
  override("hogSeconds", values["hog-seconds"], "hog-seconds");
  const peers = values.peer === undefined ? [] : resolvePeer(values.peer);
  const peerRounds = values["peer-rounds"] === undefined
    ? (values.quick ? 1 : 2)
    : intFlag("peer-rounds", values["peer-rounds"], 1);
  return {
    names,
    outDir: values.out,
    peers,
    options: {
      orchestrators: intFlag("orchestrators", values.orchestrators, 1),
      workers: intFlag("workers", values.workers, 2),
      slots: intFlag("slots", values.slots, 1),
      prefetch: values.prefetch === undefined
        ? intFlag("slots", values.slots, 1)
        : intFlag("prefetch", values.prefetch, 0),
      quick: values.quick,
      sizes,
      logLevel,
      keep: values.keep,
      profileDir: values.profile ?? null,
      peerRounds,
      isolate: values.isolate,
      // Absent rather than false by default, so a run without --http records what it did before.
      ...(values.http ? { http: true } : {}),
    },
  };
}

function intFlag(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${flag} must be an integer ≥ ${min}, got "${text}"`);
  }
  return n;
}

async function main(args: string[]): Promise<number> {
  const { options, names, outDir, peers } = parseOptions(args);
  const chosen = names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name));
  const machine = await describeMachine();
  const startedAt = new Date();
  console.error(
    `bench: ${
      chosen.map((s) => s.name).join(", ")
    } on ${machine.cores} cores (${machine.cpuModel}), ` +
      `Deno ${machine.deno}${options.quick ? ", quick sizes" : ""}` +
      (options.http ? "; HTTP on, a dashboard open" : "") +
      (peers.length === 0
        ? ""
        : `; peers ${peers.map((p) => p.name).join(", ")}, ${options.peerRounds} round(s)`),
  );
  const records: ScenarioRecord[] = [];
  for (const scenario of chosen) {
    records.push(await runScenario(scenario, options, peers));
    console.error(
      `bench: ${scenario.name} took ${(records.at(-1)!.durationMs / 1000).toFixed(0)} s`,
    );
  }
  const table = renderTable(records);
  console.log(table);
  await Deno.mkdir(outDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const path = `${outDir}/${stamp}${options.quick ? "-quick" : ""}${
    options.http ? "-http" : ""
  }.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify(
      {
        date: startedAt.toISOString(),
        machine,
        configuration: {
          ...options,
          scenarios: chosen.map((s) => s.name),
          peers: peers.map((p) => ({ name: p.name, description: p.description })),
        },
        results: records,
        table,
      },
      null,
      2,
    ) + "\n",
  );
  console.error(`bench: results written to ${path}`);
  return records.some((r) => r.error !== null) ? 1 : 0;
}

async function runScenario(
  scenario: (typeof SCENARIOS)[number],
  options: BenchOptions,
  peers: readonly PeerSystem[],
): Promise<ScenarioRecord> {
  const clusters: RealCluster[] = [];
  const ctx: ScenarioContext = {
    options,
    peers,
    progress: (message) => console.error(`  ${scenario.name}: ${message}`),
    cluster: async (overrides: Partial<RealClusterOptions> = {}) => {
      const cluster = await RealCluster.create({
        orchestrators: options.orchestrators,
        workers: options.workers,
        slots: options.slots,
        prefetch: options.prefetch,
        logLevel: options.logLevel,
        keepDir: options.keep,
        denoFlags: options.profileDir === null ? undefined : profileFlags(options.profileDir),
        http: options.http,
        ...overrides,
      });
      clusters.push(cluster);
      return cluster;
    },
  };
  const started = performance.now();
  const load = await MachineLoad.start();
  try {
    const result = await scenario.run(ctx);
    return {
      scenario: scenario.name,
      durationMs: performance.now() - started,
      error: null,
      machineLoad: await load.finish(),
      ...result,
    };
  } catch (error) {
    console.error(`bench: ${scenario.name} failed: ${(error as Error).stack ?? error}`);
    for (const cluster of clusters) {
      cluster.keepDir();
      console.error(`bench: kept ${cluster.dir} (node logs and data) for inspection`);
    }
    return {
      scenario: scenario.name,
      durationMs: performance.now() - started,
      error: (error as Error).message,
      machineLoad: await load.finish(),
      measurements: [],
      details: {},
    };
  } finally {
    // Stopping twice is harmless: scenarios may have stopped their clusters already.
    await Promise.all(clusters.map((c) => c.stop()));
  }
}

/** `deno run` flags that make each node write a CPU profile (named by PID) when it exits. */
function profileFlags(dir: string): { orchestrator: string[]; worker: string[] } {
  const flags = (role: string) => ["--cpu-prof", `--cpu-prof-dir=${dir}/${role}`];
  return { orchestrator: flags("orchestrator"), worker: flags("worker") };
}

if (import.meta.main) {
  PeerProcess.terminateAllOnSignal();
  RedisServer.removeAllOnSignal();
  RealCluster.stopAllOnSignal();
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`mutirao bench: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
