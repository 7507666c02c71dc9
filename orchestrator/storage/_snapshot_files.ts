/**
 * Snapshot files: one checksummed frame (`[u32 BE length][u32 BE crc32][data]`)
 * named after the snapshot's index and term, published by an atomic rename.
 * @module
 */
import { join } from "node:path";
import { encodeChecksumFrame, readChecksumFrame } from "./_checksum_frame.ts";
import { writeAll } from "./_file_io.ts";
import { snapshotFileName, snapshotTempFileName } from "./_file_names.ts";
import type { FileSystem } from "./file_system.ts";
import type { StoredSnapshot } from "./log_storage.ts";

/** Largest snapshot accepted: recovery reads a snapshot whole into memory. */
export const SNAPSHOT_DATA_BYTES_MAX = 1024 * 1024 * 1024;

/** A snapshot file in the directory, known by its name. */
export interface SnapshotFile {
  name: string;
  index: number;
  term: number;
}

/**
 * The bytes of a snapshot file.
 * @throws {RangeError} when `data` exceeds {@link SNAPSHOT_DATA_BYTES_MAX}.
 */
export function encodeSnapshotFile(data: Uint8Array): Uint8Array {
  return encodeChecksumFrame(data, SNAPSHOT_DATA_BYTES_MAX);
}

/** The data of a snapshot file, or why the file is not valid. */
export function decodeSnapshotFile(
  bytes: Uint8Array,
): { ok: true; data: Uint8Array } | { ok: false; problem: string } {
  const frame = readChecksumFrame(bytes, { offset: 0, payloadBytesMax: SNAPSHOT_DATA_BYTES_MAX });
  if (!frame.ok) return frame;
  if (frame.end !== bytes.length) {
    return { ok: false, problem: `${bytes.length - frame.end} unexpected bytes after the data` };
  }
  return { ok: true, data: frame.payload };
}

/**
 * Durably publishes a snapshot file: write a temp file, fsync it, rename it
 * into place, fsync the directory. A crash leaves either no file or a whole one.
 */
export async function writeSnapshotFile(
  fs: FileSystem,
  dir: string,
  snapshot: { index: number; term: number; fileBytes: Uint8Array },
): Promise<SnapshotFile> {
  const { index, term, fileBytes } = snapshot;
  const tempPath = join(dir, snapshotTempFileName(index, term));
  const file = await fs.open(tempPath, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, fileBytes);
    await file.sync();
  } finally {
    file.close();
  }
  const name = snapshotFileName(index, term);
  await fs.rename(tempPath, join(dir, name));
  await fs.syncDirectory(dir);
  return { name, index, term };
}

/** A snapshot file that failed validation, and why. */
export interface CorruptSnapshotFile extends SnapshotFile {
  problem: string;
}

/**
 * Loads the newest snapshot that validates, changing nothing. A corrupt one
 * is skipped (and left in place as evidence) for the next older one; the
 * caller must check that the older one and the log still cover everything the
 * skipped one did. A snapshot is published by an fsync'd rename, so a crash
 * never leaves a partial one: a corrupt one is real damage.
 * @param files Snapshot files, oldest first.
 * @returns The snapshot (null when none validates), the files still in use
 * (oldest first), and the corrupt files skipped (newest first).
 */
export async function loadNewestSnapshot(
  fs: FileSystem,
  dir: string,
  files: readonly SnapshotFile[],
): Promise<
  { snapshot: StoredSnapshot | null; files: SnapshotFile[]; skipped: CorruptSnapshotFile[] }
> {
  const kept = [...files];
  const skipped: CorruptSnapshotFile[] = [];
  while (kept.length > 0) {
    const file = kept[kept.length - 1];
    const decoded = decodeSnapshotFile(await fs.readFile(join(dir, file.name)));
    if (decoded.ok) {
      return {
        snapshot: { index: file.index, term: file.term, data: decoded.data },
        files: kept,
        skipped,
      };
    }
    kept.pop();
    skipped.push({ ...file, problem: decoded.problem });
  }
  return { snapshot: null, files: kept, skipped };
}
