/**
 * One seed, start to end: draw the scenario, boot the cluster, chaos with
 * safety checks after every step, heal, and require convergence within the
 * tick budget. A failure carries the seed, what broke and the trace tail.
 * @module
 */
import { simWorkMs } from "./sim_handler_tasks.ts";
import { createPrng } from "../../shared/prng.ts";
import { Chaos } from "./chaos.ts";
import { checkConverged, convergenceProblems } from "./convergence.ts";
import { checkHistory } from "./history_check.ts";
import { type KnownBugId, type KnownBugPolicy, KnownBugStop, STRICT } from "./known_bugs.ts";
import { drawsAccountWorkload, setUpAccounts } from "./sim_accounts.ts";
import { drawParams, type SimParams } from "./sim_params.ts";
import { checkScheduleLiveness, schedulesOf, setUpSchedules } from "./sim_schedules.ts";
import { Trace, type TraceOptions } from "./trace.ts";
import { SimViolation } from "./violation.ts";
import { World } from "./world.ts";

/** What a passing seed did. */
export interface SeedSummary {
  seed: number;
  traceHash: string;
  simulatedMs: number;
  events: number;
  orchestrators: number;
  workers: number;
  clients: number;
  tasks: number;
  acknowledged: number;
  leaderTerms: number;
  leaderElections: number;
  orchestratorCrashes: number;
  workerCrashes: number;
  /** Attempts started by workers, and results recorded (each task at most one). */
  executions: number;
  results: number;
  duplicatesPrevented: number;
  /** Finished tasks the retention policy removed (0 unless the seed draws a short one). */
  removedByRetention: number;
  /** Failed attempts retried by their task's policy. */
  retriedAttempts: number;
  /** Tasks that ran after others (`--after`). */
  tasksWithDependencies: number;
  /** Tasks not started within their queue timeout. */
  expiredTasks: number;
  /** Schedule firings the committed log applied, and those it refused (stale or paused). */
  scheduleFirings: number;
  scheduleFiringsRefused: number;
  staleReportsRejected: number;
  /** Live output messages workers sent. */
  outputBatches: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  faults: Record<string, number>;
  /** Hits of tolerated known bugs. */
  knownBugHits: Partial<Record<KnownBugId, number>>;
  /** Set when a tolerated known bug made the run stop early (it did not converge because of it). */
  stoppedBy: KnownBugId | null;
}

/** A seed that broke a guarantee, crashed a core, or did not converge. */
export class SimFailure extends Error {
  override name = "SimFailure";
  readonly seed: number;
  readonly traceTail: string[];
  readonly traceHash: string;
  readonly isViolation: boolean;

  constructor(seed: number, error: unknown, trace: Trace) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    super(`seed ${seed}: ${error instanceof SimViolation ? error.message : detail}`, {
      cause: error,
    });
    this.seed = seed;
    this.traceTail = trace.tail();
    this.traceHash = trace.hash;
    this.isViolation = error instanceof SimViolation;
  }
}

export interface RunOptions {
  trace?: TraceOptions;
  /** Known bugs to tolerate (default: none). */
  knownBugs?: KnownBugPolicy;
  /** Changes to the drawn scenario (tests pin what they need). */
  adjust?: (params: SimParams) => void;
  /** An admin at work on accounts and sessions (default: drawn from the seed). */
  accountWorkload?: boolean;
}

/** Builds the world of a seed without running it (scenarios script their own runs). */
export function createWorld(seed: number, options: RunOptions = {}): World {
  const rng = createPrng(seed);
  const params = drawParams(seed, rng);
  options.adjust?.(params);
  const world = new World(params, rng, new Trace(options.trace), options.knownBugs ?? STRICT);
  setUpAccounts(world, { withAdmin: options.accountWorkload ?? drawsAccountWorkload(seed) });
  setUpSchedules(world);
  return world;
}

/** Boots every node at t=0 and starts the clients a little later, each at its own pace. */
export function bootWorld(world: World): void {
  for (const o of world.orchestrators) world.restartOrchestrator(o);
  for (const w of world.workers) world.schedule(world.rng.int(0, 300), w.name, () => w.start());
  for (const c of world.clients) c.start(world.rng.int(100, 800));
  schedulesOf(world)?.start();
}

/**
 * Runs the three phases of a seed.
 * @throws {SimFailure} when a check fails or the run does not converge.
 */
export async function runSeed(seed: number, options: RunOptions = {}): Promise<SeedSummary> {
  const world = createWorld(seed, options);
  let stoppedBy: KnownBugId | null = null;
  try {
    await runPhases(world);
  } catch (error) {
    if (!(error instanceof KnownBugStop)) throw new SimFailure(seed, error, world.trace);
    stoppedBy = error.id;
  }
  return { ...summarize(world), stoppedBy };
}

async function runPhases(world: World): Promise<void> {
  const p = world.params;
  world.note(`seed ${p.seed}`);
  bootWorld(world);
  probeStrandedWorkers(world);
  const chaos = new Chaos(world);
  chaos.start();
  await world.run(p.chaosMs);
  chaos.stop();
  if (world.hasFailed) throw world.failure;
  world.healEverything();
  const healedAtMs = world.nowMs;
  // The budget covers healing and the work still queued: a backlog of long tasks on few slots
  // legitimately takes longer than any fixed budget (soak seed 56677: 72 tasks, one slot).
  const budgetMs = p.convergenceBudgetMs + queuedWorkMs(world);
  const deadline = world.nowMs + budgetMs;
  const converged = await world.run(deadline, {
    stopWhen: () => convergenceProblems(world).length === 0,
    probeEveryMs: 50,
  });
  if (world.hasFailed) throw world.failure;
  if (!converged) {
    const stranded = world.strandedWorkers(STRANDED_AFTER_MS);
    if (stranded.length > 0) {
      world.knownBug("strandedWorkerRegistration", `no convergence: ${stranded[0]}`, {
        fatal: true,
      });
    }
    const stuck = world.orchestrators.find((o) => o.isAlive && o.underReport !== null);
    if (stuck !== undefined) {
      world.knownBug("groupCommitUnderReport", `no convergence: ${stuck.underReport}`, {
        fatal: true,
      });
    }
    throw new SimViolation(
      `no convergence within ${budgetMs} ms of healing: ` +
        convergenceProblems(world).slice(0, 5).join("; "),
    );
  }
  checkConverged(world);
  world.note(`converged at ${world.nowMs} ms`);
  await checkScheduleLiveness(world, healedAtMs);
  checkHistory(world);
}

/**
 * How long the unfinished tasks need on every worker slot at once, twice over (attempts may be
 * repeated): the sum of their run times over the cluster's slots.
 */
function queuedWorkMs(world: World): number {
  let totalMs = 0;
  for (const task of world.checker.reference.tasks.values()) {
    if (task.state === "queued" || task.state === "running") {
      totalMs += simWorkMs(task.spec, task.retry);
    }
  }
  const slots = world.params.workerSlots.reduce((a, b) => a + b, 0);
  return slots === 0 ? 0 : Math.ceil((2 * totalMs) / slots);
}

/** A registration still unanswered this long after its orchestrator changed role is stranded. */
const STRANDED_AFTER_MS = 2000;

/** Every simulated second, looks for workers stranded on a follower (known bug). */
function probeStrandedWorkers(world: World): void {
  const reported = new Set<string>();
  const probe = () => {
    for (const description of world.strandedWorkers(STRANDED_AFTER_MS)) {
      if (reported.has(description)) continue;
      reported.add(description);
      world.knownBug("strandedWorkerRegistration", description);
    }
    world.schedule(1000, null, probe);
  };
  world.schedule(1000, null, probe);
}

/** The summary of a finished world. */
export function summarize(world: World): SeedSummary {
  const reference = world.checker.reference;
  return {
    seed: world.params.seed,
    traceHash: world.trace.hash,
    simulatedMs: world.nowMs,
    events: world.stats.events,
    orchestrators: world.orchestrators.length,
    workers: world.workers.length,
    clients: world.clients.length,
    tasks: reference.nextTaskSeq - 1,
    acknowledged: world.checker.acks.size,
    leaderTerms: world.checker.leaders.size,
    leaderElections: world.stats.leaderElections,
    orchestratorCrashes: world.orchestrators.reduce((n, o) => n + o.crashes, 0),
    workerCrashes: world.workers.reduce((n, w) => n + w.crashes, 0),
    executions: world.stats.executions,
    results: reference.counts.succeeded + reference.counts.failed,
    duplicatesPrevented: reference.stats.duplicateSubmissions,
    removedByRetention: world.checker.removedCount,
    retriedAttempts: world.checker.retriedAttempts,
    tasksWithDependencies: world.checker.tasksWithDependencies,
    expiredTasks: world.checker.expiredTasks,
    scheduleFirings: schedulesOf(world)?.applied ?? 0,
    scheduleFiringsRefused: schedulesOf(world)?.refused ?? 0,
    staleReportsRejected: reference.stats.staleReports,
    outputBatches: world.stats.outputBatches,
    snapshotsTaken: world.orchestrators.reduce((n, o) => n + o.snapshotsTaken, 0),
    snapshotsInstalled: world.orchestrators.reduce((n, o) => n + o.snapshotsInstalled, 0),
    faults: { ...world.stats.faults },
    knownBugHits: { ...world.knownBugHits },
    stoppedBy: null,
  };
}
