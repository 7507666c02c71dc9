/**
 * `deno task sim`: runs the deterministic simulation.
 *
 *   deno task sim --seed S [--trace]        replay one seed (the trace with --trace)
 *   deno task sim --seeds N [--start K]     run N seeds from K (default 1) and summarize
 *
 * On a failure it prints what broke, the trace tail, and exactly one line to
 * replay it, `deno task sim --seed S`, then exits 1.
 * @module
 */
import { parseArgs } from "node:util";
import { runSeed, type SeedSummary, SimFailure } from "./run_seed.ts";
import { type KnownBugPolicy, STRICT, TOLERATE_KNOWN_BUGS } from "./known_bugs.ts";
import { describeParams, drawParams } from "./sim_params.ts";
import { createPrng } from "../../shared/prng.ts";

const USAGE = `Usage:
  deno task sim --seed S [--trace]      replay one seed (with --trace: every trace line)
  deno task sim --seeds N [--start K] [--keep-going] [--tolerate-known]
                                        run N seeds starting at K (default 1); with
                                        --keep-going, report every failing seed, not just the
                                        first; with --tolerate-known, count the known product
                                        bugs (known_bugs.ts) instead of failing, as CI does
`;

/** Totals over many seeds. */
interface Totals {
  seeds: number;
  simulatedMs: number;
  events: number;
  tasks: number;
  acknowledged: number;
  leaderElections: number;
  orchestratorCrashes: number;
  workerCrashes: number;
  executions: number;
  results: number;
  duplicatesPrevented: number;
  staleReportsRejected: number;
  snapshotsInstalled: number;
}

function parseSeed(text: string | undefined, flag: string): number {
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Invalid ${flag}: expected an integer in [0, 2^32), got "${text}"`);
  }
  return value;
}

function add(totals: Totals, s: SeedSummary): void {
  totals.seeds += 1;
  totals.simulatedMs += s.simulatedMs;
  totals.events += s.events;
  totals.tasks += s.tasks;
  totals.acknowledged += s.acknowledged;
  totals.leaderElections += s.leaderElections;
  totals.orchestratorCrashes += s.orchestratorCrashes;
  totals.workerCrashes += s.workerCrashes;
  totals.executions += s.executions;
  totals.results += s.results;
  totals.duplicatesPrevented += s.duplicatesPrevented;
  totals.staleReportsRejected += s.staleReportsRejected;
  totals.snapshotsInstalled += s.snapshotsInstalled;
}

function reportFailure(failure: SimFailure, showTail: boolean): void {
  console.error(`FAILED ${failure.message}`);
  if (showTail) {
    console.error("--- trace tail ---");
    for (const line of failure.traceTail) console.error(line);
    console.error("---");
  }
  console.log(`deno task sim --seed ${failure.seed}`);
}

async function replay(seed: number, fullTrace: boolean): Promise<number> {
  const params = drawParams(seed, createPrng(seed));
  console.log(`seed ${seed}: ${describeParams(params)}`);
  try {
    const s = await runSeed(seed, {
      trace: fullTrace ? { keepAll: false, echo: (line) => console.log(line) } : {},
    });
    console.log(
      `ok: ${s.simulatedMs} simulated ms, ${s.events} events, ${s.tasks} tasks ` +
        `(${s.acknowledged} acknowledged), ${s.leaderElections} leader elections over ` +
        `${s.leaderTerms} terms, ${s.orchestratorCrashes} orchestrator and ${s.workerCrashes} worker ` +
        `crashes, ${s.executions} executions for ${s.results} results, ` +
        `${s.duplicatesPrevented} duplicates prevented, ${s.staleReportsRejected} stale reports ` +
        `rejected, ${s.snapshotsTaken} snapshots taken and ${s.snapshotsInstalled} installed; ` +
        `faults ${JSON.stringify(s.faults)}; trace ${s.traceHash}`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof SimFailure)) throw error;
    reportFailure(error, !fullTrace);
    return 1;
  }
}

async function soak(
  count: number,
  start: number,
  options: { keepGoing: boolean; knownBugs: KnownBugPolicy },
): Promise<number> {
  const keepGoing = options.keepGoing;
  const totals: Totals = {
    seeds: 0,
    simulatedMs: 0,
    events: 0,
    tasks: 0,
    acknowledged: 0,
    leaderElections: 0,
    orchestratorCrashes: 0,
    workerCrashes: 0,
    executions: 0,
    results: 0,
    duplicatesPrevented: 0,
    staleReportsRejected: 0,
    snapshotsInstalled: 0,
  };
  const startedMs = performance.now();
  const failures: SimFailure[] = [];
  const knownHits = new Map<string, { hits: number; seeds: number[] }>();
  const stoppedEarly: string[] = [];
  for (let seed = start; seed < start + count; seed++) {
    try {
      const summary = await runSeed(seed, { knownBugs: options.knownBugs });
      add(totals, summary);
      if (summary.stoppedBy !== null) stoppedEarly.push(`${seed} (${summary.stoppedBy})`);
      for (const [id, hits] of Object.entries(summary.knownBugHits)) {
        const known = knownHits.get(id) ?? { hits: 0, seeds: [] };
        known.hits += hits;
        known.seeds.push(seed);
        knownHits.set(id, known);
      }
    } catch (error) {
      if (!(error instanceof SimFailure)) throw error;
      if (keepGoing) {
        failures.push(error);
        console.error(`FAILED ${error.message.split("\n")[0]}`);
        continue;
      }
      console.error(`after ${totals.seeds} passing seed(s):`);
      reportFailure(error, true);
      return 1;
    }
    if (totals.seeds % 100 === 0) {
      console.error(
        `… ${totals.seeds} seeds passed (${Math.round(performance.now() - startedMs)} ms)`,
      );
    }
  }
  const wallS = ((performance.now() - startedMs) / 1000).toFixed(1);
  console.log(
    `${totals.seeds} seeds passed (${start}..${start + count - 1}) in ${wallS} s: ` +
      `${(totals.simulatedMs / 1000).toFixed(0)} simulated s, ${totals.events} events, ` +
      `${totals.tasks} tasks (${totals.acknowledged} acknowledged), ` +
      `${totals.leaderElections} leader elections, ${totals.orchestratorCrashes} orchestrator and ` +
      `${totals.workerCrashes} worker crashes, ${totals.executions} executions for ` +
      `${totals.results} results, ${totals.duplicatesPrevented} duplicates prevented, ` +
      `${totals.staleReportsRejected} stale reports rejected, ` +
      `${totals.snapshotsInstalled} snapshots installed`,
  );
  for (const [id, { hits, seeds }] of knownHits) {
    console.log(
      `KNOWN BUG ${id} tolerated: ${hits} hit(s) in ${seeds.length} seed(s); ` +
        `replay: deno task sim --seed ${seeds[0]}`,
    );
  }
  if (stoppedEarly.length > 0) {
    console.log(`seeds stopped early by a tolerated known bug: ${stoppedEarly.join(", ")}`);
  }
  if (failures.length === 0) return 0;
  console.error(`${failures.length} seed(s) failed; replay the first with:`);
  console.log(`deno task sim --seed ${failures[0].seed}`);
  return 1;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seed: { type: "string" },
      seeds: { type: "string" },
      start: { type: "string" },
      trace: { type: "boolean", default: false },
      "keep-going": { type: "boolean", default: false },
      "tolerate-known": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.seed !== undefined) {
    return await replay(parseSeed(values.seed, "--seed"), values.trace);
  }
  if (values.seeds !== undefined) {
    const count = parseSeed(values.seeds, "--seeds");
    const start = values.start === undefined ? 1 : parseSeed(values.start, "--start");
    return await soak(count, start, {
      keepGoing: values["keep-going"],
      knownBugs: values["tolerate-known"] ? TOLERATE_KNOWN_BUGS : STRICT,
    });
  }
  console.error(USAGE);
  return 2;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`sim: ${error instanceof Error ? error.message : error}`);
    Deno.exit(error instanceof RangeError || error instanceof TypeError ? 2 : 1);
  }
}
