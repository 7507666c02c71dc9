/**
 * Applies planned faults to a running cluster and heals them: SIGKILL and restart, SIGSTOP and
 * SIGCONT, network cuts. It decides targets when a fault fires (the leader is whoever leads
 * then), never hits a node that is already faulted, and keeps at most one orchestrator faulted
 * at a time so that a majority survives (the cluster promises to survive any minority; losing
 * the majority would only stall it). It also watches for nodes that exit on their own: a node
 * stopping by itself is an assertion or a crash, and fails the run.
 * @module
 */
import { DRIVER_TAG, type NodeHandle, type RealCluster } from "../../bench/lib/real_cluster.ts";
import type { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import { familyOf, type PlannedFault, targetRoleOf } from "./fault_schedule.ts";
import type { Endpoint, NetworkFaults } from "./network_faults.ts";

/** One fault as it happened. */
export interface AppliedFault {
  atMs: number;
  kind: PlannedFault["kind"];
  target: string | null;
  durationMs: number;
  /** Why it was skipped (no eligible target), when it was. */
  skipped?: string;
}

/** Longest a restarted node may take to be ready before the run counts it as a failure. */
const RESTART_READY_MS = 60_000;

export class FaultInjector {
  readonly applied: AppliedFault[] = [];
  readonly violations: string[] = [];
  readonly #cluster: RealCluster;
  readonly #network: NetworkFaults | null;
  readonly #log: (line: string) => void;
  /** Nodes under a fault now. */
  readonly #busy = new Set<string>();
  /** Processes we killed or stopped on purpose: their exit is expected. */
  readonly #expectedExits = new WeakSet<ManagedProcess>();
  readonly #healing = new Set<Promise<void>>();
  #stopping = false;
  readonly #startMs = performance.now();

  constructor(cluster: RealCluster, network: NetworkFaults | null, log: (line: string) => void) {
    this.#cluster = cluster;
    this.#network = network;
    this.#log = log;
    for (const node of [...cluster.orchestrators, ...cluster.workers]) this.#watch(node);
  }

  /** Applies one fault now; its healing runs in the background (see `settle`). */
  async apply(fault: PlannedFault): Promise<void> {
    const target = await this.#chooseTarget(fault);
    const record: AppliedFault = {
      atMs: Math.round(performance.now() - this.#startMs),
      kind: fault.kind,
      target: target?.id ?? null,
      durationMs: fault.durationMs,
    };
    this.applied.push(record);
    if (target === null) {
      record.skipped = "no eligible target";
      return;
    }
    this.#busy.add(target.id);
    this.#log(
      `+${(record.atMs / 1000).toFixed(1)} s ${fault.kind} ${target.id} for ${fault.durationMs} ms`,
    );
    const heal = this.#inflict(fault, target)
      .catch((error) => {
        this.violations.push(`${fault.kind} on ${target.id} failed: ${(error as Error).message}`);
      })
      .finally(() => {
        this.#busy.delete(target.id);
        this.#healing.delete(heal);
      });
    this.#healing.add(heal);
  }

  /** Waits for every fault in progress to be healed, then makes sure everything runs again. */
  async settle(): Promise<void> {
    while (this.#healing.size > 0) await Promise.all([...this.#healing]);
    await this.#network?.healAll();
    for (const node of [...this.#cluster.orchestrators, ...this.#cluster.workers]) {
      this.#cluster.signal(node, "SIGCONT");
      if (!this.#cluster.isRunning(node)) await this.#restart(node);
    }
  }

  /** From now on exits are expected (the run is stopping the cluster). */
  stopWatching(): void {
    this.#stopping = true;
  }

  async #inflict(fault: PlannedFault, node: NodeHandle): Promise<void> {
    switch (familyOf(fault.kind)) {
      case "kill": {
        this.#expectedExits.add(node.process!);
        await this.#cluster.kill(node);
        await sleep(fault.durationMs);
        await this.#restart(node);
        return;
      }
      case "pause": {
        this.#cluster.signal(node, "SIGSTOP");
        await sleep(fault.durationMs);
        this.#cluster.signal(node, "SIGCONT");
        return;
      }
      case "network": {
        const cuts = await this.#cut(fault.kind, node);
        await sleep(fault.durationMs);
        for (const id of cuts) await this.#network!.heal(id);
        return;
      }
    }
  }

  /** The cuts a network fault makes around `node`. */
  async #cut(kind: PlannedFault["kind"], node: NodeHandle): Promise<number[]> {
    const network = this.#network!;
    const others = this.#cluster.orchestrators.filter((o) => o.id !== node.id).map(endpoint);
    const driver: Endpoint = { name: "client", tag: DRIVER_TAG, address: null };
    let peers: Endpoint[];
    switch (kind) {
      case "partitionLeader":
      case "partitionFollower":
      case "partitionWorker":
        // An orchestrator from the other orchestrators; a worker from every orchestrator.
        peers = others;
        break;
      case "isolateLeader":
        peers = [...others, ...this.#cluster.workers.map(endpoint), driver];
        break;
      case "cutClientFromLeader":
        peers = [driver];
        break;
      default:
        throw new Error(`${kind} is not a network fault`);
    }
    const ids: number[] = [];
    for (const peer of peers) ids.push(await network.cut(endpoint(node), peer));
    return ids;
  }

  async #restart(node: NodeHandle): Promise<void> {
    try {
      await this.#cluster.startNode(node, RESTART_READY_MS);
      this.#watch(node);
    } catch (error) {
      this.violations.push(
        `${node.id} did not come back after a restart: ${(error as Error).message}`,
      );
    }
  }

  /** Flags an exit nobody asked for: a node that stops by itself hit an assertion or crashed. */
  #watch(node: NodeHandle): void {
    const process = node.process;
    if (process === null) return;
    void process.exited.then(async (status) => {
      if (this.#stopping || this.#expectedExits.has(process)) return;
      this.violations.push(
        `${node.id} exited by itself (code ${status.code}):\n${await this.#cluster.logTail(
          node,
          15,
        )}`,
      );
    });
  }

  async #chooseTarget(fault: PlannedFault): Promise<NodeHandle | null> {
    const cluster = this.#cluster;
    const role = targetRoleOf(fault.kind);
    const free = (n: NodeHandle) => cluster.isRunning(n) && !this.#busy.has(n.id);
    if (role === "worker") {
      const candidates = cluster.workers.filter(free);
      // Keep one worker untouched so tasks can always run somewhere.
      const faulted = cluster.workers.length - candidates.length;
      if (candidates.length === 0 || faulted >= cluster.workers.length - 1) return null;
      return candidates[fault.pick % candidates.length];
    }
    // At most one orchestrator faulted at a time: a majority always survives.
    if (cluster.orchestrators.some((o) => this.#busy.has(o.id))) return null;
    const leader = await this.#currentLeader();
    if (role === "leader") return leader !== null && free(leader) ? leader : null;
    const followers = cluster.orchestrators.filter((o) => o !== leader && free(o));
    return followers.length === 0 ? null : followers[fault.pick % followers.length];
  }

  async #currentLeader(): Promise<NodeHandle | null> {
    const running = this.#cluster.orchestrators.filter((o) => this.#cluster.isRunning(o));
    const views = await Promise.all(running.map((o) => this.#cluster.nodeStatus(o.id, 500)));
    let best: { id: string; term: number } | null = null;
    for (const v of views) {
      if (v !== null && v.role === "leader" && (best === null || v.term > best.term)) best = v;
    }
    return best === null ? null : this.#cluster.node(best.id);
  }

  /** When the injector started (performance.now()). */
  get startMs(): number {
    return this.#startMs;
  }
}

function endpoint(node: NodeHandle): Endpoint {
  if (node.gid === null) throw new Error(`${node.id} has no group id: not in a namespace layout`);
  return { name: node.id, tag: node.gid, address: node.host };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
