/**
 * The simulated world: one clock, one agenda, one PRNG, and everything that
 * lives in it (orchestrators, workers, clients, the network and the
 * checkers). It runs events in order and, between two events, lets the
 * promise continuations of the real GroupCommit settle, so a run is a pure
 * function of its seed. It also offers the faults that chaos and the scripted
 * scenarios inject.
 * @module
 */
import { type ClusterKeys, deriveClusterKeys } from "../../shared/auth/node_auth.ts";
import type { Rng } from "../../shared/prng.ts";
import { SafetyChecker } from "./checkers.ts";
import { simWorkerQueues } from "./sim_handler_tasks.ts";
import { EventQueue } from "./event_queue.ts";
import { type KnownBugId, type KnownBugPolicy, KnownBugStop, STRICT } from "./known_bugs.ts";
import { Network, type NetworkHost } from "./network.ts";
import type { CrashMode } from "./sim_disk.ts";
import { SimClient } from "./sim_client.ts";
import { SimClocks } from "./sim_clocks.ts";
import { SimOrchestrator } from "./sim_orchestrator.ts";
import type { SimParams } from "./sim_params.ts";
import { SimWorker } from "./sim_worker.ts";
import type { Trace } from "./trace.ts";
import { SimViolation } from "./violation.ts";

/** Once healed, how often anything down (a worker that finished draining) is started again. */
const KEEP_UP_EVERY_MS = 250;

/** One Raft message in this many goes through the codec (see shouldValidatePeerMessage). */
const PEER_VALIDATION_EVERY = 8;

/** Microtask turns allowed for persistence to settle between two events. */
const SETTLE_TURNS_MAX = 10_000;

/** Counters reported in summaries. */
export interface WorldStats {
  events: number;
  leaderElections: number;
  executions: number;
  /** Live output messages workers sent (`output`, for `logs --follow`). */
  outputBatches: number;
  faults: Record<string, number>;
}

export class World implements NetworkHost {
  readonly params: SimParams;
  readonly rng: Rng;
  readonly trace: Trace;
  readonly network: Network;
  readonly checker: SafetyChecker;
  readonly orchestrators: SimOrchestrator[];
  readonly workers: SimWorker[];
  readonly clients: SimClient[];
  readonly stats: WorldStats = {
    events: 0,
    leaderElections: 0,
    executions: 0,
    outputBatches: 0,
    faults: {},
  };
  /** Every attempt a worker started, per task. */
  readonly executionsByTask = new Map<string, Array<{ worker: string; attempt: number }>>();
  /** Each machine's wall clock (skewed and drifting); the agenda runs on true time (nowMs). */
  readonly clocks: SimClocks;
  readonly #queue = new EventQueue();
  readonly #pausedUntil = new Map<string, number>();
  #nowMs = 0;
  #failure: unknown = null;
  #hasFailure = false;
  #nextToken = 1;
  #peerMessages = 0;

  readonly policy: KnownBugPolicy;
  /** Keys from the cluster secret, when the scenario has one (one secret per seed). */
  readonly clusterKeys: ClusterKeys | null;
  /** Hits of tolerated known bugs. */
  readonly knownBugHits: Partial<Record<KnownBugId, number>> = {};

  constructor(params: SimParams, rng: Rng, trace: Trace, policy: KnownBugPolicy = STRICT) {
    this.params = params;
    this.checker = new SafetyChecker({ keepFinishedForMs: params.retention?.keepFinishedForMs });
    this.rng = rng;
    this.trace = trace;
    this.policy = policy;
    this.clocks = new SimClocks(params.seed);
    this.clusterKeys = params.hasClusterSecret
      ? deriveClusterKeys(
        new TextEncoder().encode(`sim cluster secret for seed ${params.seed}`.padEnd(32)),
      )
      : null;
    this.network = new Network(this, params.network);
    this.orchestrators = Array.from(
      { length: params.orchestrators },
      (_, i) => new SimOrchestrator(this, `o${i + 1}`, `o${i + 1}.sim:${7001 + i}`),
    );
    this.workers = params.workerSlots.map((slots, i) =>
      new SimWorker(
        this,
        `w${i + 1}.sim:${6001 + i}`,
        slots,
        params.workerPrefetch[i] ?? 0,
        params.handlerTasks === null ? undefined : simWorkerQueues(i),
      )
    );
    this.clients = Array.from({ length: params.clients }, (_, i) => {
      const user = (i % params.users) + 1;
      return new SimClient(this, {
        name: `c${i + 1}`,
        user: `user${user}`,
        password: `pass${user}`,
      });
    });
  }

  /** True simulated time: what the agenda and the checkers run on. */
  get nowMs(): number {
    return this.#nowMs;
  }

  /** What the wall clock of machine `name` (an orchestrator, worker or client) reads now. */
  clockMs(name: string): number {
    return this.clocks.wallMs(name, this.#nowMs);
  }

  /** The first failure of the run, if any (a violation, or a core or simulator error). */
  get failure(): unknown {
    return this.#failure;
  }

  get hasFailed(): boolean {
    return this.#hasFailure;
  }

  schedule(delayMs: number, owner: string | null, run: () => void): void {
    this.#queue.push({ at: this.#nowMs + Math.max(0, Math.round(delayMs)), owner, run });
  }

  /** Every message a client, worker or orchestrator sends on a connection, for scripted scenarios. */
  readonly wireObservers: Array<(from: string, to: string, message: { type: string }) => void> = [];

  /** Shows a message sent on a connection to the observers. */
  observeWire(from: string, to: string, message: { type: string }): void {
    for (const observe of this.wireObservers) observe(from, to, message);
  }

  /** Writes a trace line at the current time. */
  note(text: string): void {
    this.trace.line(this.#nowMs, text);
  }

  /**
   * A known product bug was hit (KNOWN_BUGS). Unless the policy tolerates it, that is a
   * violation; tolerated, it is counted, and when `fatal` (the run cannot go on meaningfully) the
   * run ends here.
   * @throws {SimViolation} when not tolerated; {KnownBugStop} when tolerated and fatal.
   */
  knownBug(id: KnownBugId, message: string, options: { fatal?: boolean } = {}): void {
    if (!this.policy.tolerated.has(id)) throw new SimViolation(`[known bug ${id}] ${message}`);
    this.knownBugHits[id] = (this.knownBugHits[id] ?? 0) + 1;
    this.note(`KNOWN BUG ${id}: ${message}`);
    if (options.fatal) throw new KnownBugStop(id, message);
  }

  /** Records a failure; the run stops after the current event. The first one wins. */
  fail(error: unknown): void {
    if (this.#hasFailure) return;
    this.#hasFailure = true;
    this.#failure = error;
    const what = error instanceof SimViolation
      ? "VIOLATION"
      : error instanceof KnownBugStop
      ? "STOPPED BY KNOWN BUG"
      : "ERROR";
    this.note(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }

  /**
   * Runs events up to `untilMs`, or until `stopWhen` holds (checked every
   * `probeEveryMs` of simulated time; every event by default).
   * @returns true when `stopWhen` held, false when time ran out.
   */
  async run(
    untilMs: number,
    options: { stopWhen?: () => boolean; probeEveryMs?: number } = {},
  ): Promise<boolean> {
    const { stopWhen, probeEveryMs = 0 } = options;
    let nextProbeMs = this.#nowMs;
    for (;;) {
      if (this.#hasFailure) return false;
      if (stopWhen !== undefined && this.#nowMs >= nextProbeMs) {
        if (stopWhen()) return true;
        nextProbeMs = this.#nowMs + probeEveryMs;
      }
      const at = this.#queue.peekTime();
      if (at === null || at > untilMs) {
        this.#nowMs = Math.max(this.#nowMs, untilMs);
        return stopWhen?.() ?? false;
      }
      const event = this.#queue.pop()!;
      const resumeAt = event.owner === null ? undefined : this.#pausedUntil.get(event.owner);
      if (resumeAt !== undefined && resumeAt > event.at) {
        this.#queue.push({ at: resumeAt, owner: event.owner, run: event.run });
        continue;
      }
      this.#nowMs = event.at;
      this.trace.mix(event.at, event.seq);
      this.stats.events += 1;
      try {
        event.run();
      } catch (error) {
        this.fail(error);
      }
      if (!this.#isQuiet()) await this.#settle();
    }
  }

  /** Every orchestrator's persistence is waiting on the agenda (or idle). */
  #isQuiet(): boolean {
    for (const o of this.orchestrators) if (!o.isQuiet) return false;
    return true;
  }

  async #settle(): Promise<void> {
    for (let turn = 0; !this.#isQuiet(); turn++) {
      if (turn > SETTLE_TURNS_MAX || this.#hasFailure) {
        if (!this.#hasFailure) this.fail(new Error("simulator: persistence never settled"));
        return;
      }
      await Promise.resolve();
    }
  }

  // ---- identities ----

  /** The accounts of the cluster file: user1/pass1, user2/pass2, … */
  get users(): Array<{ name: string; password: string }> {
    return Array.from({ length: this.params.users }, (_, i) => ({
      name: `user${i + 1}`,
      password: `pass${i + 1}`,
    }));
  }

  /**
   * Whether to run the next Raft message through the codec: one in PEER_VALIDATION_EVERY (they
   * are most of the traffic and the codec is the costliest part of a run). Validation never
   * changes what happens, so sampling keeps runs identical; every other message is validated.
   */
  shouldValidatePeerMessage(): boolean {
    return this.params.validateWire && this.#peerMessages++ % PEER_VALIDATION_EVERY === 0;
  }

  /** Whether `password` is the right one for `user`, as the cluster file says. */
  passwordMatches(user: string, password: string): boolean {
    return this.users.some((u) => u.name === user && u.password === password);
  }

  /** A fresh session token (unique across the run, like a random one). */
  newToken(nodeId: string): string {
    return `token-${this.#nextToken++}-${nodeId}`;
  }

  // ---- views ----

  /** Live leaders, highest term first. */
  leaders(): SimOrchestrator[] {
    return this.orchestrators.filter((o) => o.isLeader).sort((a, b) => b.term - a.term);
  }

  isPaused(endpoint: string): boolean {
    return (this.#pausedUntil.get(endpoint) ?? 0) > this.#nowMs;
  }

  /**
   * Workers whose registration an orchestrator dropped: it changed role or term after the
   * registration arrived, `graceMs` ago or more, and the worker still has no answer (its
   * connection is open, so it never registers again).
   */
  strandedWorkers(graceMs: number): string[] {
    const stranded: string[] = [];
    for (const w of this.workers) {
      const pending = w.registrationPending;
      if (!w.isAlive || pending === null) continue;
      // A worker paused since (or just resumed) has not read its answer yet (soak seed 2182).
      if ((this.#pausedUntil.get(w.name) ?? 0) > this.#nowMs - graceMs) continue;
      const server = this.orchestrators.find((o) => o.id === pending.server)!;
      if (!server.isAlive || this.isPaused(server.id)) continue;
      if (server.roleSinceMs <= pending.sinceMs || this.#nowMs - server.roleSinceMs < graceMs) {
        continue;
      }
      stranded.push(
        `${w.name} registered with ${server.id} at ${pending.sinceMs} ms; ${server.id} changed ` +
          `role at ${server.roleSinceMs} ms and never answered`,
      );
    }
    return stranded;
  }

  // ---- faults ----

  countFault(kind: string): void {
    this.stats.faults[kind] = (this.stats.faults[kind] ?? 0) + 1;
  }

  /**
   * Kills an orchestrator. Without `mode`, the write in flight is lost, completed or torn at random.
   * Peers whose connection from it closes are told (`peerDisconnected`).
   */
  crashOrchestrator(o: SimOrchestrator, mode?: CrashMode): void {
    if (!o.isAlive) return;
    const rng = this.rng;
    const chosen: CrashMode = mode ??
      (rng.chance(this.params.faults.tearRate) ? "torn" : rng.chance(0.5) ? "completed" : "lost");
    o.crash(chosen, rng.next());
    for (const peer of this.orchestrators) {
      if (peer === o || !this.network.canReach(o.id, peer.id)) continue;
      this.schedule(this.network.latency(), peer.id, () => peer.peerDisconnected(o.id));
    }
    this.checkAcksEverywhere();
  }

  restartOrchestrator(o: SimOrchestrator): void {
    if (o.isAlive) return;
    o.boot();
    this.checkAcksEverywhere();
  }

  /** Every acknowledged submission is on every live orchestrator that applied far enough. */
  checkAcksEverywhere(): void {
    for (const o of this.orchestrators) {
      if (o.isAlive) this.checker.checkAcks(o.id, o.node.sm);
    }
  }

  /** Stops an endpoint's events (a SIGSTOP, a long GC pause) for `ms`. */
  pause(endpoint: string, ms: number): void {
    const until = this.#nowMs + ms;
    this.#pausedUntil.set(endpoint, Math.max(until, this.#pausedUntil.get(endpoint) ?? 0));
    this.note(`${endpoint} PAUSED for ${ms} ms`);
  }

  /** Cuts every link between `a` and `b` (both ways); returns the heal. */
  partition(a: readonly string[], b: readonly string[]): () => void {
    const directions: Array<[string, string]> = [];
    for (const x of a) for (const y of b) directions.push([x, y], [y, x]);
    this.note(`PARTITION {${a.join(",")}} | {${b.join(",")}}`);
    return this.#blocking(directions);
  }

  /** Packets from each of `from` to each of `to` are lost; the other way works. */
  blockOneWay(from: readonly string[], to: readonly string[]): () => void {
    const directions: Array<[string, string]> = [];
    for (const x of from) for (const y of to) directions.push([x, y]);
    this.note(`ONE-WAY PARTITION {${from.join(",")}} -/-> {${to.join(",")}}`);
    return this.#blocking(directions);
  }

  #blocking(directions: Array<[string, string]>): () => void {
    const heal = this.network.block(directions);
    return () => {
      heal();
      this.note(`heal ${directions.length} blocked direction(s)`);
    };
  }

  /** Phase 2: no more faults; every link heals, every process runs again. */
  healEverything(): void {
    this.note("HEAL: faults stop, the network heals, everything restarts");
    this.network.healAll();
    this.network.rates = { dropRate: 0, duplicateRate: 0, reorderRate: 0 };
    for (const c of this.clients) c.stop();
    // A draining worker exits later: keep restarting whatever is down, for the rest of the run.
    const keepUp = () => {
      for (const o of this.orchestrators) this.restartOrchestrator(o);
      for (const w of this.workers) w.start();
      this.schedule(KEEP_UP_EVERY_MS, null, keepUp);
    };
    keepUp();
  }
}
