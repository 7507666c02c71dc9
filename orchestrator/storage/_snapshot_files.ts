/**
 * Snapshot files: one checksummed frame (`[u32 BE length][u32 BE crc32][data]`)
 * named after the snapshot's index and term, published by an atomic rename.
 * @module
 */
import { join } from "node:path";
import { encodeChecksumFrame, readChecksumFrame } from "./_checksum_frame.ts";
import { syncDirectory, writeAll } from "./_file_io.ts";
import { snapshotFileName, snapshotTempFileName } from "./_file_names.ts";
import type { StoredSnapshot } from "./log_storage.ts";

/** Largest snapshot accepted: recovery reads a snapshot whole into memory. */
export const SNAPSHOT_DATA_BYTES_MAX = 1024 * 1024 * 1024;

/** Suffix given to a snapshot file that failed validation, kept for inspection. */
const CORRUPT_SUFFIX = ".corrupt";

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
  dir: string,
  snapshot: { index: number; term: number; fileBytes: Uint8Array },
): Promise<SnapshotFile> {
  const { index, term, fileBytes } = snapshot;
  const tempPath = join(dir, snapshotTempFileName(index, term));
  const file = await Deno.open(tempPath, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, fileBytes);
    await file.sync();
  } finally {
    file.close();
  }
  const name = snapshotFileName(index, term);
  await Deno.rename(tempPath, join(dir, name));
  await syncDirectory(dir);
  return { name, index, term };
}

/**
 * Loads the newest snapshot that validates. A corrupt one is reported through
 * `onWarning` and renamed aside, and the next older one is tried.
 * @param files Snapshot files, oldest first.
 * @returns The snapshot (null when none validates) and the files still in use, oldest first.
 */
export async function loadNewestSnapshot(
  dir: string,
  options: { files: readonly SnapshotFile[]; onWarning: (message: string) => void },
): Promise<{ snapshot: StoredSnapshot | null; files: SnapshotFile[] }> {
  const files = [...options.files];
  while (files.length > 0) {
    const file = files[files.length - 1];
    const decoded = decodeSnapshotFile(await Deno.readFile(join(dir, file.name)));
    if (decoded.ok) {
      return { snapshot: { index: file.index, term: file.term, data: decoded.data }, files };
    }
    files.pop();
    await setCorruptFileAside(dir, file.name);
    options.onWarning(
      `Skipped corrupt snapshot ${file.name} in ${dir} (${decoded.problem}); ` +
        `renamed it to ${file.name}${CORRUPT_SUFFIX} and fell back to an older one`,
    );
  }
  return { snapshot: null, files };
}

async function setCorruptFileAside(dir: string, name: string): Promise<void> {
  // No directory fsync: if the rename is lost in a crash, the next recovery
  // finds the same corrupt file and sets it aside again.
  await Deno.rename(join(dir, name), join(dir, name + CORRUPT_SUFFIX));
}
