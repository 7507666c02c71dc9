/**
 * Random fault injection for the chaos phase: at random gaps, one fault of a
 * kind drawn by the seed's weights (crash, pause, graceful stop, partitions
 * symmetric or one-way, an isolated leader, a broken connection, a power loss
 * of the whole cluster), each undone
 * after a random while unless the phase ends first.
 * @module
 */
import { FAULT_KINDS, type FaultKind } from "./sim_params.ts";
import type { World } from "./world.ts";

export class Chaos {
  readonly #world: World;
  #isActive = false;

  constructor(world: World) {
    this.#world = world;
  }

  /** Starts injecting faults. */
  start(): void {
    this.#isActive = true;
    this.#scheduleNext();
  }

  /** No new faults; pending undo actions still run (harmlessly, after the heal). */
  stop(): void {
    this.#isActive = false;
  }

  #scheduleNext(): void {
    const world = this.#world;
    // Exponential gaps: faults arrive as a Poisson process.
    const gap = Math.round(-Math.log(1 - world.rng.next()) * world.params.faults.meanGapMs);
    world.schedule(Math.min(gap, 1e9), null, () => {
      if (!this.#isActive) return;
      this.#inject();
      this.#scheduleNext();
    });
  }

  #inject(): void {
    const world = this.#world;
    const weights = world.params.faults.weights;
    const total = FAULT_KINDS.reduce((sum, kind) => sum + weights[kind], 0);
    if (total === 0) return;
    let roll = world.rng.next() * total;
    const kind = FAULT_KINDS.find((k) => (roll -= weights[k]) < 0) ?? FAULT_KINDS[0];
    if (this.#apply(kind)) world.countFault(kind);
  }

  /** Applies one fault; false when it does not apply now (e.g. nothing to crash). */
  #apply(kind: FaultKind): boolean {
    const world = this.#world;
    const rng = world.rng;
    const f = world.params.faults;
    const later = (maxMs: number, undo: () => void) =>
      world.schedule(rng.int(50, maxMs), null, undo);
    switch (kind) {
      case "crashOrchestrator": {
        const down = world.orchestrators.filter((o) => !o.isAlive).length;
        const alive = world.orchestrators.filter((o) => o.isAlive);
        if (alive.length === 0 || down >= f.maxOrchestratorsDown) return false;
        const o = rng.pick(alive);
        world.crashOrchestrator(o);
        later(f.downMsMax, () => world.restartOrchestrator(o));
        return true;
      }
      case "pauseOrchestrator": {
        const o = rng.pick(world.orchestrators);
        world.pause(o.id, rng.int(50, f.outageMsMax));
        return true;
      }
      case "crashWorker": {
        const alive = world.workers.filter((w) => w.isAlive);
        if (alive.length === 0) return false;
        const w = rng.pick(alive);
        w.crash();
        later(f.downMsMax, () => w.start());
        return true;
      }
      case "pauseWorker": {
        const w = rng.pick(world.workers);
        world.pause(w.name, rng.int(50, f.outageMsMax));
        return true;
      }
      case "stopWorker": {
        const alive = world.workers.filter((w) => w.isAlive);
        if (alive.length === 0) return false;
        const w = rng.pick(alive);
        w.shutdown();
        if (rng.chance(0.3)) later(1000, () => w.shutdown()); // impatient operator: a second signal
        later(f.downMsMax + 3000, () => w.start()); // restarts once it has exited
        return true;
      }
      case "partition":
        return this.#partition(f.outageMsMax);
      case "asymmetricPartition": {
        const ids = world.orchestrators.map((o) => o.id);
        if (ids.length < 2) return false;
        const one = rng.pick(ids);
        const others = ids.filter((id) => id !== one && rng.chance(0.7));
        if (others.length === 0) others.push(ids.find((id) => id !== one)!);
        const heal = rng.chance(0.5)
          ? world.blockOneWay([one], others)
          : world.blockOneWay(others, [one]);
        later(f.outageMsMax, heal);
        return true;
      }
      case "isolateLeader": {
        const leader = world.leaders()[0];
        if (leader === undefined || world.orchestrators.length < 2) return false;
        const others = world.orchestrators.filter((o) => o !== leader).map((o) => o.id);
        // Only its links to other orchestrators: its clients and workers still reach it.
        later(f.outageMsMax, world.partition([leader.id], others));
        return true;
      }
      case "powerLoss": {
        const alive = world.orchestrators.filter((o) => o.isAlive);
        if (alive.length === 0) return false;
        world.note("POWER LOSS: every orchestrator goes down at once");
        // No write in flight completes: each is lost, or (on a tearing disk) torn.
        for (const o of alive) world.crashOrchestrator(o, rng.chance(f.tearRate) ? "torn" : "lost");
        for (const o of alive) later(f.downMsMax, () => world.restartOrchestrator(o));
        return true;
      }
      case "breakConnection": {
        const conns = world.network.connections;
        if (conns.length === 0) return false;
        rng.pick(conns).break("fault");
        return true;
      }
    }
  }

  /** Splits the system in two; orchestrators on both sides when there are several. */
  #partition(outageMsMax: number): boolean {
    const world = this.#world;
    const rng = world.rng;
    const sides: [string[], string[]] = [[], []];
    const ids = world.orchestrators.map((o) => o.id);
    if (ids.length >= 2) {
      const shuffled = [...ids];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      const cut = rng.int(1, ids.length - 1);
      sides[0].push(...shuffled.slice(0, cut));
      sides[1].push(...shuffled.slice(cut));
    } else {
      sides[0].push(ids[0]);
    }
    for (const w of world.workers) sides[rng.int(0, 1)].push(w.name);
    for (const c of world.clients) sides[rng.int(0, 1)].push(c.name);
    if (sides[1].length === 0) return false;
    world.schedule(rng.int(50, outageMsMax), null, world.partition(sides[0], sides[1]));
    return true;
  }
}
