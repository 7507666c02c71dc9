/**
 * `deno task sim`: runs the deterministic simulation.
 *
 *   deno task sim --seed S [--trace] [--strict]     replay one seed
 *   deno task sim --seeds N [--start K] [--keep-going] [--strict]   run N seeds and summarize
 *
 * Like CI, it counts the known product bugs (known_bugs.ts) instead of failing
 * on them, and says so; `--strict` fails on them too. On a failure it prints
 * what broke, the trace tail, and exactly one line to replay it
 * (`deno task sim --seed S`, plus `--strict` when that is how it failed), then exits 1.
 * @module
 */
import { parseArgs } from "node:util";
import { createPrng } from "../../shared/prng.ts";
import {
  KNOWN_BUG_IDS,
  type KnownBugPolicy,
  OPEN_KNOWN_BUG_IDS,
  STRICT,
  TOLERATE_KNOWN_BUGS,
} from "./known_bugs.ts";
import { runSeed, type SeedSummary, SimFailure } from "./run_seed.ts";
import { describeParams, drawParams } from "./sim_params.ts";

const USAGE = `Usage:
  deno task sim --seed S [--trace] [--strict | --fail-on ID,...]
      replay one seed; --trace prints every trace line
  deno task sim --seeds N [--start K] [--keep-going] [--strict | --fail-on ID,...]
      run N seeds from K (default 1); --keep-going reports every failing seed, not just the first

Known product bugs (tests/sim/known_bugs.ts) are counted and reported, not failed on, as in CI;
--strict fails on all of them like on any other violation, --fail-on on those named.
`;

/** The totals a soak reports. */
const TOTALS = [
  "simulatedMs",
  "events",
  "tasks",
  "acknowledged",
  "leaderElections",
  "orchestratorCrashes",
  "workerCrashes",
  "executions",
  "results",
  "duplicatesPrevented",
  "removedByRetention",
  "retriedAttempts",
  "tasksWithDependencies",
  "expiredTasks",
  "scheduleFirings",
  "scheduleFiringsRefused",
  "staleReportsRejected",
  "outputBatches",
  "snapshotsInstalled",
] as const;
type Totals = Record<typeof TOTALS[number], number>;

function parseSeed(text: string | undefined, flag: string): number {
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Invalid ${flag}: expected an integer in [0, 2^32), got "${text}"`);
  }
  return value;
}

/** The known bugs a run fails on: none (as CI), all (--strict), or those named (--fail-on). */
interface Strictness {
  policy: KnownBugPolicy;
  /** The flag that reproduces this strictness ("" for the default). */
  flag: string;
}

function strictness(strict: boolean, failOn: string | undefined): Strictness {
  if (strict) return { policy: STRICT, flag: " --strict" };
  if (failOn === undefined) return { policy: TOLERATE_KNOWN_BUGS, flag: "" };
  const ids = failOn.split(",");
  for (const id of ids) {
    if (!(KNOWN_BUG_IDS as readonly string[]).includes(id)) {
      throw new RangeError(
        `Invalid --fail-on: unknown bug "${id}" (known: ${KNOWN_BUG_IDS.join(", ")})`,
      );
    }
  }
  const tolerated = new Set(OPEN_KNOWN_BUG_IDS.filter((id) => !ids.includes(id)));
  return { policy: { tolerated }, flag: ` --fail-on ${ids.join(",")}` };
}

function replayCommand(seed: number, flag: string): string {
  return `deno task sim --seed ${seed}${flag}`;
}

function reportFailure(failure: SimFailure, flag: string, showTail: boolean): void {
  console.error(`FAILED ${failure.message}`);
  if (showTail) {
    console.error("--- trace tail ---");
    for (const line of failure.traceTail) console.error(line);
    console.error("---");
  }
  console.log(replayCommand(failure.seed, flag));
}

function describeKnownBugHits(s: SeedSummary): string {
  const hits = Object.entries(s.knownBugHits).map(([id, n]) => `${id} x${n}`);
  const stopped = s.stoppedBy === null ? "" : `; stopped early by ${s.stoppedBy}`;
  return hits.length === 0 ? "" : `; KNOWN BUGS hit (tolerated): ${hits.join(", ")}${stopped}`;
}

async function replay(
  seed: number,
  options: { trace: boolean; strictness: Strictness },
): Promise<number> {
  const params = drawParams(seed, createPrng(seed));
  console.log(`seed ${seed}: ${describeParams(params)}`);
  try {
    const s = await runSeed(seed, {
      trace: options.trace ? { echo: (line) => console.log(line) } : {},
      knownBugs: options.strictness.policy,
    });
    console.log(
      `ok: ${s.simulatedMs} simulated ms, ${s.events} events, ${s.tasks} tasks ` +
        `(${s.acknowledged} acknowledged), ${s.leaderElections} leader elections over ` +
        `${s.leaderTerms} terms, ${s.orchestratorCrashes} orchestrator and ${s.workerCrashes} ` +
        `worker crashes, ${s.executions} executions for ${s.results} results, ` +
        `${s.duplicatesPrevented} duplicates prevented, ${s.removedByRetention} removed by ` +
        `retention, ${s.retriedAttempts} failed attempts retried, ${s.scheduleFirings} schedule ` +
        `ticks fired (${s.scheduleFiringsRefused} refused), ${s.staleReportsRejected} stale reports ` +
        `rejected, ${s.snapshotsTaken} snapshots taken and ${s.snapshotsInstalled} installed; ` +
        `faults ${JSON.stringify(s.faults)}; trace ${s.traceHash}${describeKnownBugHits(s)}`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof SimFailure)) throw error;
    reportFailure(error, options.strictness.flag, !options.trace);
    return 1;
  }
}

async function soak(
  count: number,
  start: number,
  options: { keepGoing: boolean; strictness: Strictness },
): Promise<number> {
  const { policy, flag } = options.strictness;
  const totals = Object.fromEntries(TOTALS.map((k) => [k, 0])) as Totals;
  let passed = 0;
  const failures: SimFailure[] = [];
  const known = new Map<string, { hits: number; seeds: number[] }>();
  const stoppedEarly: string[] = [];
  const startedMs = performance.now();
  for (let seed = start; seed < start + count; seed++) {
    let summary: SeedSummary;
    try {
      summary = await runSeed(seed, { knownBugs: policy });
    } catch (error) {
      if (!(error instanceof SimFailure)) throw error;
      if (!options.keepGoing) {
        console.error(`after ${passed} passing seed(s):`);
        reportFailure(error, flag, true);
        return 1;
      }
      failures.push(error);
      console.error(`FAILED ${error.message.split("\n")[0]}`);
      continue;
    }
    passed += 1;
    for (const key of TOTALS) totals[key] += summary[key];
    if (summary.stoppedBy !== null) stoppedEarly.push(`${seed} (${summary.stoppedBy})`);
    for (const [id, hits] of Object.entries(summary.knownBugHits)) {
      const entry = known.get(id) ?? { hits: 0, seeds: [] };
      entry.hits += hits;
      entry.seeds.push(seed);
      known.set(id, entry);
    }
    if (passed % 100 === 0) {
      console.error(`… ${passed} seeds passed (${Math.round(performance.now() - startedMs)} ms)`);
    }
  }
  const wallS = ((performance.now() - startedMs) / 1000).toFixed(1);
  console.log(
    `${passed} of ${count} seeds passed (${start}..${start + count - 1}) in ${wallS} s: ` +
      `${(totals.simulatedMs / 1000).toFixed(0)} simulated s, ${totals.events} events, ` +
      `${totals.tasks} tasks (${totals.acknowledged} acknowledged), ` +
      `${totals.leaderElections} leader elections, ${totals.orchestratorCrashes} orchestrator and ` +
      `${totals.workerCrashes} worker crashes, ${totals.executions} executions for ` +
      `${totals.results} results, ${totals.duplicatesPrevented} duplicates prevented, ` +
      `${totals.removedByRetention} finished tasks removed by retention, ` +
      `${totals.retriedAttempts} failed attempts retried, ` +
      `${totals.tasksWithDependencies} tasks run after others, ` +
      `${totals.expiredTasks} expired, ` +
      `${totals.scheduleFirings} schedule ticks fired (${totals.scheduleFiringsRefused} refused), ` +
      `${totals.staleReportsRejected} stale reports rejected, ` +
      `${totals.outputBatches} live output batches, ` +
      `${totals.snapshotsInstalled} snapshots installed`,
  );
  for (const [id, { hits, seeds }] of known) {
    console.log(
      `KNOWN BUG ${id} (tolerated): ${hits} hit(s) in ${seeds.length} seed(s); ` +
        `replay: ${replayCommand(seeds[0], ` --fail-on ${id}`)}`,
    );
  }
  if (stoppedEarly.length > 0) {
    console.log(`stopped early by a known bug (no convergence): seeds ${stoppedEarly.join(", ")}`);
  }
  if (failures.length === 0) return 0;
  console.error(`${failures.length} seed(s) failed; replay the first with:`);
  console.log(replayCommand(failures[0].seed, flag));
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
      strict: { type: "boolean", default: false },
      "fail-on": { type: "string" },
      "keep-going": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const chosen = strictness(values.strict, values["fail-on"]);
  if (values.seed !== undefined) {
    return await replay(parseSeed(values.seed, "--seed"), {
      trace: values.trace,
      strictness: chosen,
    });
  }
  if (values.seeds !== undefined) {
    const count = parseSeed(values.seeds, "--seeds");
    const start = values.start === undefined ? 1 : parseSeed(values.start, "--start");
    return await soak(count, start, { keepGoing: values["keep-going"], strictness: chosen });
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
