/**
 * Fuzz target: snapshot bytes (orchestrator/tasks/state_snapshot.ts) as a follower receives them
 * from a leader: binary snapshots of random states, and JSON ones (format 1 and older builds),
 * whole, cut short, or mutated. decodeSnapshot may only throw RangeError or SyntaxError;
 * restorableSnapshotPosition never throws; unmutated bytes decode, restore and encode again to
 * the same bytes.
 * @module
 */
import type { Rng } from "../../shared/prng.ts";
import {
  decodeSnapshot,
  encodeSnapshot,
  restorableSnapshotPosition,
  restoreSnapshot,
  takeSnapshot,
  TaskStateMachine,
} from "../../orchestrator/tasks/mod.ts";
import { randomLog } from "../../orchestrator/tasks/_task_fixtures_test.ts";
import { mutateBytes } from "./byte_mutator.ts";
import { type EpisodeContext, type FuzzTarget, FuzzViolation } from "./fuzz_runner.ts";

/** States to start from, built once: a fresh one, and random logs of a few lengths. */
let states: TaskStateMachine[] | null = null;

function startingStates(): TaskStateMachine[] {
  if (states !== null) return states;
  states = [new TaskStateMachine()];
  for (const [seed, steps] of [[1, 40], [2, 400], [3, 3000]]) {
    const sm = new TaskStateMachine();
    for (const entry of randomLog(seed, steps)) sm.apply(entry);
    states.push(sm);
  }
  return states;
}

function encodeSome(rng: Rng, sm: TaskStateMachine): { bytes: Uint8Array; kind: string } {
  if (rng.chance(0.15)) {
    return { bytes: new TextEncoder().encode(JSON.stringify(takeSnapshot(sm))), kind: "json" };
  }
  return { bytes: encodeSnapshot(sm), kind: "binary" };
}

function runOne(rng: Rng, ctx: EpisodeContext): void {
  const sm = rng.pick(startingStates());
  const { bytes, kind } = encodeSome(rng, sm);
  const roll = rng.next();
  let input = bytes;
  let how = "whole";
  if (roll < 0.2) {
    input = bytes.subarray(0, rng.int(0, bytes.length));
    how = `cut to ${input.length}`;
  } else if (roll < 0.9) {
    const mutated = mutateBytes(rng, bytes);
    input = mutated.bytes;
    how = mutated.did.join(", ");
  }
  ctx.note(`${kind} snapshot of ${sm.tasks.size} tasks (${bytes.length} bytes), ${how}`);
  let decoded: ReturnType<typeof decodeSnapshot> | null = null;
  try {
    decoded = decodeSnapshot(input);
  } catch (error) {
    if (!(error instanceof RangeError || error instanceof SyntaxError)) {
      throw new FuzzViolation("wrongError", `decodeSnapshot threw ${error}`);
    }
  }
  const position = restorableSnapshotPosition(input); // throwing here fails the run
  ctx.tally(position === null ? "refused" : "restorable");
  if (how !== "whole" || kind !== "binary") return;
  if (decoded === null || position === null) {
    throw new FuzzViolation("refusedValid", "a snapshot this build wrote was refused");
  }
  const again = encodeSnapshot(restoreSnapshot(decoded));
  if (again.length !== bytes.length || !again.every((byte, i) => byte === bytes[i])) {
    throw new FuzzViolation("roundTrip", "decoding and encoding again changed the bytes");
  }
}

export const snapshotTarget: FuzzTarget = {
  name: "snapshot",
  description: "snapshot bytes from a leader: only RangeError/SyntaxError, never a crash",
  episodeLength: 1,
  runEpisode(rng: Rng, ctx: EpisodeContext): void {
    for (let i = 0; i < ctx.count; i++) {
      ctx.begin(i);
      runOne(rng, ctx);
    }
  },
};
