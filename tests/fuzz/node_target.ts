/**
 * Fuzz target: an in-process OrchestratorNode (one-voter Raft log) fed every input its shell can
 * produce, from valid, aimed and mutated frames, after users have logged in and workers have
 * registered (node_scenario.ts); checked after every step by node_harness.ts. Each episode is a
 * fresh node.
 * @module
 */
import type { Rng } from "../../shared/prng.ts";
import type { EpisodeContext, FuzzTarget } from "./fuzz_runner.ts";
import { NodeScenario } from "./node_scenario.ts";

/** Steps per episode: long enough for tasks to run, fail over and finish; short to replay. */
export const NODE_EPISODE_STEPS = 1000;

/** The orchestrator node. */
export const nodeTarget: FuzzTarget = {
  name: "node",
  description: "OrchestratorNode fed decoded client, worker, heartbeat, peer and timer inputs",
  episodeLength: NODE_EPISODE_STEPS,
  runEpisode(rng: Rng, ctx: EpisodeContext): void {
    // Some episodes limit submissions per user, so "slow down" paths are reached too.
    const limited = rng.chance(0.3);
    const scenario = new NodeScenario(rng, {
      note: ctx.note,
      tally: ctx.tally,
      node: limited
        ? { submitRatePerUser: rng.int(1, 20), submitBurstPerUser: rng.int(0, 40) }
        : {},
    });
    scenario.setUp();
    for (let i = 0; i < ctx.count; i++) {
      ctx.begin(i);
      scenario.step();
    }
  },
};
