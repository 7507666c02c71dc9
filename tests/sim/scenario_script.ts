/**
 * Helpers for scripted scenarios: a calm world of a chosen shape, booted
 * without the clients' own loops, and a few steps a script waits on (a ready
 * leader, an operation's answer, convergence), each within a simulated time
 * budget. A script fails with what it waited for and the trace tail.
 * @module
 */
import { checkConverged, convergenceProblems } from "./convergence.ts";
import { checkHistory, type HistoryReport } from "./history_check.ts";
import { type KnownBugPolicy, TOLERATE_KNOWN_BUGS } from "./known_bugs.ts";
import { createWorld } from "./run_seed.ts";
import type { OpHandle, SimClient } from "./sim_client.ts";
import type { RequestResult } from "./sim_client_transport.ts";
import type { SimOrchestrator } from "./sim_orchestrator.ts";
import type { SimParams } from "./sim_params.ts";
import type { World } from "./world.ts";

/** The shape of a scripted world; everything else is calm and fixed. */
export interface ScenarioShape {
  orchestrators: number;
  workerSlots: number[];
  clients?: number;
  /** Further changes to the parameters. */
  adjust?: (params: SimParams) => void;
  /** Known product bugs tolerated (default: all, since a scenario checks its own property). */
  knownBugs?: KnownBugPolicy;
  /** An admin client (the last of `world.clients`) and its account (default: none). */
  admin?: boolean;
}

/** A message seen on a connection. */
export interface WireMessage {
  atMs: number;
  from: string;
  to: string;
  message: { type: string } & Record<string, unknown>;
}

/** A world driven step by step by a test. */
export class Script {
  readonly world: World;
  /** Every message sent on a connection so far. */
  readonly wire: WireMessage[] = [];

  /** A calm world (no loss, no chaos, fixed timings) of `shape`, drawn from `seed`. */
  constructor(seed: number, shape: ScenarioShape) {
    this.world = createWorld(seed, {
      knownBugs: shape.knownBugs ?? TOLERATE_KNOWN_BUGS,
      accountWorkload: shape.admin ?? false,
      adjust: (p) => {
        p.orchestrators = shape.orchestrators;
        p.workerSlots = shape.workerSlots;
        p.clients = shape.clients ?? 1;
        p.users = 1;
        p.network = {
          ...p.network,
          latencyMinMs: 1,
          latencyMaxMs: 5,
          dropRate: 0,
          duplicateRate: 0,
          reorderRate: 0,
          breakDetectMsMax: 20,
          connectTimeoutMs: 500,
        };
        p.disk = { fsyncMinMs: 2, fsyncMaxMs: 6 };
        // The memory storage (SimOrchestrator.nextBoot is known at once); sim_fs_scenarios_test.ts
        // adjusts scenarios onto the file storage.
        p.storage = { ...p.storage, kind: "memory", damageableNodes: [], damageRate: 0 };
        p.storage.fsyncErrorRate = p.storage.diskFullRate = 0;
        p.faults.weights.powerLoss = 0;
        // Sleep tasks only: a scripted task does what its script says (no drawn handler failures).
        p.handlerTasks = null;
        p.raft = {
          ...p.raft,
          heartbeatIntervalMs: 50,
          electionTimeoutMinMs: 300,
          electionTimeoutMaxMs: 600,
        };
        p.node = {
          ...p.node,
          heartbeatIntervalMs: 100,
          missedHeartbeats: 3,
          defaultMaxAttempts: 5,
        };
        p.clientTimeoutMs = 15_000;
        shape.adjust?.(p);
      },
    });
    this.world.wireObservers.push((from, to, message) =>
      this.wire.push({
        atMs: this.world.nowMs,
        from,
        to,
        message: message as WireMessage["message"],
      })
    );
  }

  /** Starts every orchestrator and worker; clients act only when the script says. */
  boot(): void {
    for (const o of this.world.orchestrators) this.world.restartOrchestrator(o);
    for (const w of this.world.workers) w.start();
  }

  /** The live leader that has applied all it logged (so it is past its term's first entry). */
  readyLeader(): SimOrchestrator | null {
    const leader = this.world.leaders()[0];
    if (leader === undefined) return null;
    const node = leader.node;
    return node.sm.appliedIndex === node.commitIndex && node.commitIndex === node.lastLogIndex
      ? leader
      : null;
  }

  /** Runs until `condition` holds, at most `withinMs` of simulated time. */
  async until(condition: () => boolean, withinMs: number, what: string): Promise<void> {
    const deadline = this.world.nowMs + withinMs;
    const held = await this.world.run(deadline, { stopWhen: condition });
    this.#throwIfFailed();
    if (!held) {
      throw new Error(
        `Expected ${what} within ${withinMs} simulated ms; it did not happen by ${this.world.nowMs} ms\n` +
          this.world.trace.tail(60).join("\n"),
      );
    }
  }

  /** Runs for `ms` of simulated time. */
  async run(ms: number): Promise<void> {
    await this.world.run(this.world.nowMs + ms);
    this.#throwIfFailed();
  }

  /** Waits for an operation's answer. */
  async answer(handle: OpHandle, what: string, withinMs = 30_000): Promise<RequestResult> {
    await this.until(() => handle.result !== null, withinMs, `an answer to ${what}`);
    return handle.result!;
  }

  /** Logs client `index` in, trying again while the answer is a (tolerated) refusal. */
  async login(index = 0): Promise<SimClient> {
    const client = this.world.clients[index];
    for (let attempt = 1;; attempt++) {
      const result = await this.answer(client.login(), "a login");
      if (result.ok) return client;
      if (attempt >= 20) throw new Error(`Cannot log in: ${JSON.stringify(result)}`);
      await this.run(200);
    }
  }

  /** Waits for a ready leader and returns it. */
  async leader(withinMs = 10_000): Promise<SimOrchestrator> {
    await this.until(() => this.readyLeader() !== null, withinMs, "a ready leader");
    return this.readyLeader()!;
  }

  /** Waits until the world converged, then makes the end-of-run checks (and the history's). */
  async converge(withinMs = 60_000): Promise<void> {
    await this.until(
      () => convergenceProblems(this.world).length === 0,
      withinMs,
      "convergence",
    );
    checkConverged(this.world);
    this.checkHistory();
  }

  /** Checks the clients' history for linearizability (see history_check.ts). */
  checkHistory(): HistoryReport {
    try {
      return checkHistory(this.world);
    } catch (error) {
      this.world.fail(error);
      this.#throwIfFailed();
      throw error;
    }
  }

  #throwIfFailed(): void {
    if (!this.world.hasFailed) return;
    const failure = this.world.failure;
    throw new Error(
      `${failure instanceof Error ? failure.message : failure}\n` +
        this.world.trace.tail(60).join("\n"),
      { cause: failure },
    );
  }
}
