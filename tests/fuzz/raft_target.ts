/**
 * Fuzz target: an OrchestratorNode in a three-voter Raft group, with its two peers played by
 * raft_peers.ts (honest phases in which o1 or o2 leads, and random messages from a buggy or
 * hostile peer in between), plus the client and worker traffic of the node target. With one
 * voter, peer messages are ignored; here they reach elections, replication, commits, snapshot
 * installs and reads. Checked like the node target, minus the checks a follower cannot meet.
 * @module
 */
import type { Rng } from "../../shared/prng.ts";
import type { EpisodeContext, FuzzTarget } from "./fuzz_runner.ts";
import { NodeScenario } from "./node_scenario.ts";

/** Steps per episode. */
export const RAFT_EPISODE_STEPS = 1000;

/** The orchestrator node as one of three voters. */
export const raftTarget: FuzzTarget = {
  name: "raft",
  description: "OrchestratorNode with two peers: elections, replication, snapshots, hostile peers",
  episodeLength: RAFT_EPISODE_STEPS,
  runEpisode(rng: Rng, ctx: EpisodeContext): void {
    const scenario = new NodeScenario(rng, { note: ctx.note, tally: ctx.tally, raftPeers: true });
    scenario.setUp();
    for (let i = 0; i < ctx.count; i++) {
      ctx.begin(i);
      scenario.step();
    }
  },
};
