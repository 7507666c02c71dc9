// Proves that a fuzz run is a function of its seed, that a failure names the iteration and the
// one command that replays it, and that replaying that iteration fails the same way.
import assert from "node:assert/strict";
import type { Rng } from "../../shared/prng.ts";
import {
  type EpisodeContext,
  type FuzzTarget,
  FuzzViolation,
  replayCommand,
  runTarget,
} from "./fuzz_runner.ts";
import { nodeTarget } from "./node_target.ts";

/** Fails when its PRNG draws below 0.001: about once per thousand iterations. */
const flaky: FuzzTarget = {
  name: "flaky",
  description: "fails at random, reproducibly",
  episodeLength: 10,
  runEpisode(rng: Rng, ctx: EpisodeContext) {
    for (let i = 0; i < ctx.count; i++) {
      ctx.begin(i);
      const draw = rng.next();
      ctx.note(`drew ${draw}`);
      if (draw < 0.001) throw new FuzzViolation("unlucky", `drew ${draw}`);
      ctx.tally("ok");
    }
  },
};

Deno.test("runTarget() stops at the first failure and names its replay command", () => {
  const report = runTarget(flaky, { seed: 7, iterations: 100_000 });
  const failure = report.failure;
  assert.ok(failure !== null, "a failure within 100,000 draws");
  assert.equal(failure.replay, replayCommand("flaky", 7, failure.iteration));
  assert.match(failure.replay, /^deno task fuzz --target flaky --seed 7 --iteration \d+$/);
  assert.equal(failure.lastInputs.at(-1), `#${failure.iteration}: ${failure.message}`);
});

Deno.test("replaying a failing iteration runs only its episode and fails the same way", () => {
  const first = runTarget(flaky, { seed: 7, iterations: 100_000 }).failure!;
  const replay = runTarget(flaky, { seed: 7, iterations: 0, only: first.iteration });
  assert.equal(replay.failure?.iteration, first.iteration);
  assert.equal(replay.failure?.message, first.message);
  assert.ok(replay.iterations <= flaky.episodeLength, `${replay.iterations} iterations replayed`);
});

Deno.test("the node target gives the same outcomes for the same seed", () => {
  const tallies = () =>
    JSON.stringify([...runTarget(nodeTarget, { seed: 99, iterations: 1_500 }).tallies].sort());
  assert.equal(tallies(), tallies());
});
