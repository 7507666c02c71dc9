/**
 * The error of a log storage that refuses to start because a file is damaged
 * in a way a crash cannot explain.
 * @module
 */
import { join } from "node:path";

/**
 * What an operator should do about it, as the README's operations section
 * documents: the node comes back empty and does not vote until a leader has
 * caught it up, so it can neither vote twice in a term nor forget an entry it
 * helped commit.
 */
export const CORRUPTION_RECOVERY_ADVICE =
  "move this data directory aside (keep it as evidence) and restart this orchestrator with an " +
  "empty data directory and --rejoin";

/**
 * Thrown by `openFileLogStorage` when a file holds damaged data that recovery
 * cannot tell from data it would need: a bad record followed by valid ones
 * (not a torn write), a bad earlier segment, or a corrupt snapshot that no
 * older snapshot and log cover. Nothing in the directory has been changed.
 * Callers branch on it: the only safe way back is the one in the message.
 */
export class LogCorruptionError extends Error {
  override name = "LogCorruptionError";
  /** The damaged file's path. */
  readonly path: string;
  /** Byte offset of the damage in the file. */
  readonly offset: number;

  constructor(init: { dir: string; file: string; offset: number; problem: string }) {
    super(
      `Cannot open log storage in ${init.dir}: ${init.file} is corrupt at byte ${init.offset} ` +
        `(${init.problem}). Refusing to start, and leaving every file as it is: ` +
        CORRUPTION_RECOVERY_ADVICE,
    );
    this.path = join(init.dir, init.file);
    this.offset = init.offset;
  }
}
