/**
 * `deno task fuzz`: feeds random and mutated input to the codec, the frame decoder, the
 * orchestrator node (one voter, and one of three), the cluster-file parser and the batch-file
 * parser, and checks what each must keep (see each *_target.ts).
 *
 *   deno task fuzz [--iterations N] [--seed S] [--target NAME,...] [--strict]
 *   deno task fuzz --target NAME --seed S --iteration I [--strict]     replay one iteration
 *
 * N iterations in all (default 200,000) are shared between the targets. Known product bugs
 * (known_bugs.ts) are counted and reported with their replay command, as in CI; --strict fails
 * on them too. On a failure it prints what was fed last and exactly one line to replay it,
 * then exits 1.
 * @module
 */
import { parseArgs } from "node:util";
import { formatReport, runTarget, type TargetReport } from "./fuzz_runner.ts";
import { KNOWN_BUGS } from "./known_bugs.ts";
import { findTarget, FUZZ_TARGETS, splitIterations } from "./targets.ts";

const USAGE = `Usage:
  deno task fuzz [--iterations N] [--seed S] [--target NAME,...] [--strict]
      N iterations in all (default 200000), shared between the targets; S defaults to random
  deno task fuzz --target NAME --seed S --iteration I [--strict]
      replay iteration I (from a failure report) and show what was fed before it

Targets: ${FUZZ_TARGETS.map((t) => t.target.name).join(", ")}
Known product bugs (tests/fuzz/known_bugs.ts) are counted, not failed on; --strict fails on them.
`;

function parseCount(text: string | undefined, flag: string, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Invalid ${flag}: expected a non-negative integer, got "${text}"`);
  }
  return value;
}

function main(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      iterations: { type: "string" },
      seed: { type: "string" },
      target: { type: "string" },
      iteration: { type: "string" },
      strict: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const seed = parseCount(values.seed, "--seed", crypto.getRandomValues(new Uint32Array(1))[0]);
  if (seed > 0xffffffff) throw new RangeError(`Invalid --seed: expected a 32-bit integer`);
  const names = values.target?.split(",").map((n) => n.trim()) ??
    FUZZ_TARGETS.map((t) => t.target.name);
  const targets = names.map((name) => {
    const target = findTarget(name);
    if (target === undefined) throw new RangeError(`Unknown --target "${name}"\n\n${USAGE}`);
    return target;
  });
  if (values.iteration !== undefined) {
    if (targets.length !== 1 || values.seed === undefined) {
      throw new RangeError("--iteration replays one target: give --target NAME and --seed S");
    }
    const only = parseCount(values.iteration, "--iteration");
    const report = runTarget(targets[0], {
      seed,
      iterations: only + 1,
      only,
      strict: values.strict,
      keepInputs: 40,
    });
    console.log(formatReport(report));
    if (report.failure === null && report.knownBugs.size === 0) {
      console.log(`iteration ${only} passes`);
    }
    return report.failure === null ? 0 : 1;
  }
  const total = parseCount(values.iterations, "--iterations", 200_000);
  console.log(`Fuzzing ${names.join(", ")}: ${total} iterations, seed ${seed}`);
  const reports: TargetReport[] = [];
  for (const { target, iterations } of splitIterations(total, targets)) {
    const report = runTarget(target, { seed, iterations, strict: values.strict });
    reports.push(report);
    console.log(formatReport(report));
    if (report.failure !== null) break;
  }
  return summarize(reports);
}

function summarize(reports: TargetReport[]): number {
  const iterations = reports.reduce((n, r) => n + r.iterations, 0);
  const seconds = reports.reduce((n, r) => n + r.elapsedMs, 0) / 1000;
  const known = new Set(reports.flatMap((r) => [...r.knownBugs.keys()]));
  console.log(
    `\n${iterations} iterations in ${seconds.toFixed(1)} s; ` +
      `${known.size} known product bug(s) hit${known.size > 0 ? ":" : ""}`,
  );
  for (const id of known) console.log(`  ${id} (${KNOWN_BUGS[id].where})`);
  const failed = reports.find((r) => r.failure !== null);
  if (failed === undefined) {
    console.log("no new failures");
    return 0;
  }
  console.log(`\nFAILED; replay with:\n${failed.failure!.replay}`);
  return 1;
}

if (import.meta.main) {
  try {
    Deno.exit(main(Deno.args));
  } catch (error) {
    if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
    console.error(`fuzz: ${error.message}`);
    Deno.exit(2);
  }
}
