/**
 * Whether an orchestrator may start with `--rejoin`, the way back for one whose log is lost or
 * corrupt: only from an empty data directory (the damaged one moved aside), or one holding a
 * rejoin under way (it crashed while catching up), and only with peers to catch up from.
 * @module
 */
import { canRejoin } from "../raft/mod.ts";
import type { RecoveredLog } from "../storage/mod.ts";

/**
 * Why `--rejoin` may not start from what the data directory holds, or null when it may.
 * @param recovered What the data directory's storage recovered.
 * @example
 * const refusal = rejoinRefusal(recovered, { dataDir, voters: config.orchestrators.length });
 * if (refusal !== null) throw new Error(refusal);
 */
export function rejoinRefusal(
  recovered: RecoveredLog,
  options: { dataDir: string; voters: number },
): string | null {
  if (options.voters < 2) {
    return "Cannot rejoin: the cluster file lists one orchestrator, so there is no leader to " +
      "catch up from; restore its data directory from a backup instead";
  }
  if (canRejoin(recovered)) return null;
  const { hardState, snapshot, entries } = recovered;
  const snapshotText = snapshot === null ? "" : `, a snapshot at index ${snapshot.index}`;
  return `Cannot rejoin: ${options.dataDir} already holds a log (term ${hardState.term}, ` +
    `${entries.length} ${
      entries.length === 1 ? "entry" : "entries"
    }${snapshotText}); --rejoin starts only from an empty data ` +
    "directory: move this one aside first, or start without --rejoin to keep using it";
}
