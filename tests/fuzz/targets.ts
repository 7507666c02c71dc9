/**
 * Every fuzz target, by name, with its share of a run's iterations.
 * @module
 */
import { batchFileTarget } from "./batch_file_target.ts";
import { codecTarget } from "./codec_target.ts";
import { configTarget } from "./config_target.ts";
import { frameTarget } from "./frame_target.ts";
import type { FuzzTarget } from "./fuzz_runner.ts";
import { loginTarget } from "./login_target.ts";
import { nodeTarget } from "./node_target.ts";
import { raftTarget } from "./raft_target.ts";
import { snapshotTarget } from "./snapshot_target.ts";

/** Every target, and the share of a run's iterations it gets (the shares sum to 1). */
export const FUZZ_TARGETS: ReadonlyArray<{ target: FuzzTarget; share: number }> = [
  { target: codecTarget, share: 0.2 },
  { target: loginTarget, share: 0.05 },
  { target: frameTarget, share: 0.15 },
  { target: nodeTarget, share: 0.25 },
  { target: raftTarget, share: 0.15 },
  { target: configTarget, share: 0.075 },
  { target: batchFileTarget, share: 0.075 },
  { target: snapshotTarget, share: 0.05 },
];

/** The target called `name`, or undefined. */
export function findTarget(name: string): FuzzTarget | undefined {
  return FUZZ_TARGETS.find((t) => t.target.name === name)?.target;
}

/** Splits `total` iterations between `targets` in proportion to their shares. */
export function splitIterations(
  total: number,
  targets: readonly FuzzTarget[],
): Array<{ target: FuzzTarget; iterations: number }> {
  const shares = targets.map((t) => FUZZ_TARGETS.find((e) => e.target === t)?.share ?? 1);
  const sum = shares.reduce((a, b) => a + b, 0);
  return targets.map((target, i) => ({
    target,
    iterations: Math.max(1, Math.round((total * shares[i]) / sum)),
  }));
}
