/**
 * Runs Mutirão and the peers of `--peer` in interleaved rounds (see interleavedSchedule), each
 * run on fresh processes, and collects each system's results. A failed run is recorded and the
 * schedule goes on, so a broken peer does not hide Mutirão's figures, or the other way round.
 * @module
 */
import { interleavedSchedule, MUTIRAO } from "./comparison.ts";
import type { Measurement } from "./report.ts";
import type { PeerSystem, ScenarioContext } from "./scenario.ts";

/** A run that threw. */
export interface FailedRun {
  round: number;
  system: string;
  message: string;
}

/** Each system's successful runs in round order (Mutirão first), and the failed ones. */
export interface RoundsOutcome<T> {
  runs: Map<string, T[]>;
  failures: FailedRun[];
}

/**
 * Measures Mutirão with `mutirao` and each peer with `peer`, `ctx.options.peerRounds` times,
 * interleaved.
 * @throws {Error} when every run failed (there is nothing to report)
 */
export async function runPeerRounds<T>(
  ctx: ScenarioContext,
  measure: { mutirao: () => Promise<T>; peer: (peer: PeerSystem) => Promise<T> },
): Promise<RoundsOutcome<T>> {
  const run = new Map<string, () => Promise<T>>([
    [MUTIRAO, measure.mutirao],
    ...ctx.peers.map((p): [string, () => Promise<T>] => [p.name, () => measure.peer(p)]),
  ]);
  const schedule = interleavedSchedule([...run.keys()], ctx.options.peerRounds);
  const runs = new Map<string, T[]>([...run.keys()].map((system) => [system, []]));
  const failures: FailedRun[] = [];
  for (const { round, system } of schedule) {
    ctx.progress(`round ${round}/${ctx.options.peerRounds}: ${system}`);
    try {
      runs.get(system)!.push(await run.get(system)!());
    } catch (error) {
      // Recorded and reported in the table; the other systems' runs still count.
      const message = (error as Error).message;
      ctx.progress(`round ${round}: ${system} failed: ${message}`);
      failures.push({ round, system, message });
    }
  }
  if (failures.length === schedule.length) {
    throw new Error(`Every run failed; the first: ${failures[0].system}: ${failures[0].message}`);
  }
  return { runs, failures };
}

/** A table row naming the failed runs, or none when every run succeeded. */
export function failureRows(failures: readonly FailedRun[]): Measurement[] {
  if (failures.length === 0) return [];
  return [{
    metric: "failed runs",
    value: failures.length,
    unit: "",
    note: failures.map((f) => `${f.system} round ${f.round}: ${f.message.split("\n")[0]}`).join(
      "; ",
    ),
  }];
}
