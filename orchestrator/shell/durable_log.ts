/**
 * Opens this orchestrator's durable state at start: the private data directory, the log and its
 * latest snapshot, refusing a `--rejoin` that would be unsafe and warning about a repaired tail.
 * @module
 */
import type { Logger } from "../../shared/log.ts";
import { ensurePrivateDirectory } from "../../shared/secret_file.ts";
import { type LogStorage, openFileLogStorage, type RecoveredLog } from "../storage/mod.ts";
import { rejoinRefusal } from "./rejoin_check.ts";

/** The opened log and what was recovered from it. */
export interface DurableLog {
  storage: LogStorage;
  recovered: RecoveredLog;
}

/**
 * Opens the log in `dataDir` (created private if missing).
 * @throws {Error} when the directory cannot be used, or `rejoin` is refused for this disk.
 */
export async function openDurableLog(
  dataDir: string,
  options: { rejoin: boolean; voters: number; logger: Logger },
): Promise<DurableLog> {
  const { logger } = options;
  await ensurePrivateDirectory(dataDir, {
    what: "data directory",
    onWarning: (message) => logger.warn(message),
  });
  const opened = await openFileLogStorage(dataDir, {
    onWarning: (message: string) => logger.warn(message),
  });
  const refusal = options.rejoin
    ? rejoinRefusal(opened.recovered, { dataDir, voters: options.voters })
    : null;
  if (refusal !== null) {
    await opened.storage.close();
    throw new Error(refusal);
  }
  if (opened.recovered.repairedBytes > 0) {
    logger.warn(
      `Recovered log after cutting a torn tail of ${opened.recovered.repairedBytes} byte(s)`,
    );
  }
  return { storage: opened.storage, recovered: opened.recovered };
}
