/**
 * Runs a fuzz target for a number of iterations from one seed, and turns the first failure into
 * one replay command. Iterations are grouped in episodes: each episode starts from fresh state
 * with its own PRNG derived from (seed, target, episode), so replaying iteration I runs only I's
 * episode, up to I, and prints what was fed last.
 * @module
 */
import { createPrng, type Rng } from "../../shared/prng.ts";
import { type KnownBugId, recognizeKnownBug } from "./known_bugs.ts";

import { FuzzViolation } from "./fuzz_violation.ts";

export { FuzzViolation };

/** What a target gets for one episode. */
export interface EpisodeContext {
  /** Iterations to run in this episode. */
  readonly count: number;
  /** Marks the start of iteration `index` of the episode (0-based). */
  begin(index: number): void;
  /** Describes the current iteration's input; the last few are printed with a failure. */
  note(text: string): void;
  /** Counts an outcome, for the summary (e.g. "decoded", "error:bad_request"). */
  tally(outcome: string): void;
}

/** A fuzz target: a component fed random and mutated input, with the properties it must keep. */
export interface FuzzTarget {
  readonly name: string;
  /** One line on what is fed and what must hold. */
  readonly description: string;
  /** Iterations per episode (1 for stateless targets). */
  readonly episodeLength: number;
  /**
   * Runs `ctx.count` iterations of one episode, calling `ctx.begin(i)` before each.
   * @throws {FuzzViolation} (or anything else the code under test threw) at the first failure.
   */
  runEpisode(rng: Rng, ctx: EpisodeContext): void;
}

/** The first failure of a run, with the command that replays it. */
export interface FuzzFailure {
  target: string;
  seed: number;
  iteration: number;
  message: string;
  /** The last inputs fed before the failure, oldest first. */
  lastInputs: string[];
  replay: string;
}

/** A known product bug (known_bugs.ts) that a run hit and tolerated. */
export interface KnownBugHit {
  hits: number;
  firstIteration: number;
  replay: string;
  message: string;
}

/** What one run of one target did. */
export interface TargetReport {
  target: string;
  seed: number;
  iterations: number;
  elapsedMs: number;
  tallies: Map<string, number>;
  knownBugs: Map<KnownBugId, KnownBugHit>;
  failure: FuzzFailure | null;
}

export interface RunOptions {
  seed: number;
  /** Iterations to run, from 0; with `only`, the run stops after that iteration. */
  iterations: number;
  /** Replay: run only this iteration's episode, up to and including it. */
  only?: number;
  /** Fail on known product bugs instead of counting them. */
  strict?: boolean;
  /** Inputs kept for a failure report. */
  keepInputs?: number;
}

/** The command that replays `iteration` of `target` from `seed`. */
export function replayCommand(target: string, seed: number, iteration: number, strict = false) {
  return `deno task fuzz --target ${target} --seed ${seed} --iteration ${iteration}` +
    (strict ? " --strict" : "");
}

/** Mixes the run seed, the target and the episode into one 32-bit seed. */
export function episodeSeed(seed: number, target: string, episode: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of `${target}#${episode}`) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x85ebca6b);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Runs `target`; stops at the first failure that is not a tolerated known bug. */
export function runTarget(target: FuzzTarget, options: RunOptions): TargetReport {
  const started = performance.now();
  const report: TargetReport = {
    target: target.name,
    seed: options.seed,
    iterations: 0,
    elapsedMs: 0,
    tallies: new Map(),
    knownBugs: new Map(),
    failure: null,
  };
  const length = target.episodeLength;
  const firstEpisode = options.only === undefined ? 0 : Math.floor(options.only / length);
  const end = options.only === undefined ? options.iterations : options.only + 1;
  for (let episode = firstEpisode; episode * length < end; episode++) {
    const base = episode * length;
    const outcome = runEpisode(target, options, report, base, Math.min(length, end - base));
    if (outcome === "failed") break;
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

function runEpisode(
  target: FuzzTarget,
  options: RunOptions,
  report: TargetReport,
  base: number,
  count: number,
): "ok" | "failed" {
  const keep = options.keepInputs ?? 8;
  const inputs: string[] = [];
  let index = 0;
  const ctx: EpisodeContext = {
    count,
    begin: (i) => {
      index = i;
      report.iterations += 1;
    },
    note: (text) => {
      inputs.push(`#${base + index}: ${text}`);
      if (inputs.length > keep) inputs.shift();
    },
    tally: (outcome) => report.tallies.set(outcome, (report.tallies.get(outcome) ?? 0) + 1),
  };
  const rng = createPrng(episodeSeed(options.seed, target.name, base / target.episodeLength));
  try {
    target.runEpisode(rng, ctx);
    return "ok";
  } catch (error) {
    const iteration = base + Math.max(0, index);
    const message = describeError(error);
    const known = recognizeKnownBug(target.name, error);
    if (known !== null && !options.strict) {
      const hit = report.knownBugs.get(known);
      if (hit === undefined) {
        report.knownBugs.set(known, {
          hits: 1,
          firstIteration: iteration,
          replay: replayCommand(target.name, options.seed, iteration, true),
          message,
        });
      } else {
        hit.hits += 1;
      }
      // The episode's state is no longer trustworthy past a product bug: the next one starts fresh.
      ctx.tally("episodes ended by a known bug");
      return "ok";
    }
    report.failure = {
      target: target.name,
      seed: options.seed,
      iteration,
      message,
      lastInputs: inputs,
      replay: replayCommand(target.name, options.seed, iteration, options.strict),
    };
    return "failed";
  }
}

function describeError(error: unknown): string {
  if (error instanceof FuzzViolation) return error.message;
  if (error instanceof Error) {
    return `${error.name}: ${error.message}\n${error.stack?.split("\n").slice(1, 6).join("\n")}`;
  }
  return String(error);
}

/** A short summary of a report, one line per fact. */
export function formatReport(report: TargetReport): string {
  const lines = [
    `${report.target}: ${report.iterations} iterations in ${
      (report.elapsedMs / 1000).toFixed(1)
    } s (seed ${report.seed})`,
  ];
  const tallies = [...report.tallies].sort((a, b) => b[1] - a[1]).slice(0, 12);
  if (tallies.length > 0) {
    lines.push(`  outcomes: ${tallies.map(([k, n]) => `${k} ${n}`).join(", ")}`);
  }
  for (const [id, hit] of report.knownBugs) {
    lines.push(
      `  KNOWN PRODUCT BUG ${id} hit ${hit.hits} time(s), tolerated; first at iteration ` +
        `${hit.firstIteration}; replay: ${hit.replay}`,
    );
  }
  if (report.failure !== null) {
    lines.push(`  FAILED at iteration ${report.failure.iteration}: ${report.failure.message}`);
    for (const input of report.failure.lastInputs) lines.push(`    ${input}`);
    lines.push(`  replay: ${report.failure.replay}`);
  }
  return lines.join("\n");
}
