/**
 * Snapshot files, named after the snapshot's index and term, published by an atomic rename.
 *
 * A file is written a part at a time as the snapshot is encoded ({@link SnapshotFileWriter}), so
 * no one holds a whole snapshot in memory: an 8-byte magic, the data, then a 12-byte trailer
 * (`[u64 BE data length][u32 BE crc32(data)]`, the checksum computed as the parts go by).
 * Files of the earlier format, one checksummed frame (`[u32 BE length][u32 BE crc32][data]`),
 * are still read. In both the data starts at byte 8 ({@link SNAPSHOT_DATA_OFFSET}), which is
 * where a snapshot source reads it from. The formats cannot be confused: the magic's first byte
 * would announce a frame of over 4 GiB, far above {@link SNAPSHOT_DATA_BYTES_MAX}.
 * @module
 */
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { readChecksumFrame } from "./_checksum_frame.ts";
import { writeAll } from "./_file_io.ts";
import { snapshotDraftFileName, snapshotFileName } from "./_file_names.ts";
import type { FileHandle, FileReader, FileSystem } from "./file_system.ts";
import { checkSnapshotRange, type SnapshotSource } from "./snapshot_source.ts";

/** Largest snapshot accepted: recovery reads a snapshot whole into memory. */
export const SNAPSHOT_DATA_BYTES_MAX = 1024 * 1024 * 1024;

/** Where a snapshot file's data starts, in either format. */
export const SNAPSHOT_DATA_OFFSET = 8;

/** The first bytes of a snapshot file written in parts: 0xFF, "MSNAP", 0, format 2. */
const SNAPSHOT_MAGIC = new Uint8Array([0xff, 0x4d, 0x53, 0x4e, 0x41, 0x50, 0x00, 0x02]);
/** `[u64 BE data length][u32 BE crc32(data)]`. */
const SNAPSHOT_TRAILER_BYTES = 12;
/** Parts are gathered into writes of about this size (parts are a line of tasks, ~100 KiB). */
const SNAPSHOT_WRITE_BYTES = 1024 * 1024;

/** A snapshot file in the directory, known by its name. */
export interface SnapshotFile {
  name: string;
  index: number;
  term: number;
}

/**
 * The bytes of a snapshot file of `data` (the format {@link SnapshotFileWriter} writes).
 * @throws {RangeError} when `data` exceeds {@link SNAPSHOT_DATA_BYTES_MAX}.
 */
export function encodeSnapshotFile(data: Uint8Array): Uint8Array {
  checkDataLength(data.length);
  const bytes = new Uint8Array(SNAPSHOT_DATA_OFFSET + data.length + SNAPSHOT_TRAILER_BYTES);
  bytes.set(SNAPSHOT_MAGIC);
  bytes.set(data, SNAPSHOT_DATA_OFFSET);
  bytes.set(encodeTrailer(data.length, crc32(data)), SNAPSHOT_DATA_OFFSET + data.length);
  return bytes;
}

/** The data of a snapshot file (either format), or why the file is not valid. */
export function decodeSnapshotFile(
  bytes: Uint8Array,
): { ok: true; data: Uint8Array } | { ok: false; problem: string } {
  if (bytes.length > 0 && bytes[0] === SNAPSHOT_MAGIC[0]) return decodePartsFormat(bytes);
  const frame = readChecksumFrame(bytes, { offset: 0, payloadBytesMax: SNAPSHOT_DATA_BYTES_MAX });
  if (!frame.ok) return frame;
  if (frame.end !== bytes.length) {
    return { ok: false, problem: `${bytes.length - frame.end} unexpected bytes after the data` };
  }
  return { ok: true, data: frame.payload };
}

function decodePartsFormat(
  bytes: Uint8Array,
): { ok: true; data: Uint8Array } | { ok: false; problem: string } {
  const minimum = SNAPSHOT_DATA_OFFSET + SNAPSHOT_TRAILER_BYTES;
  if (bytes.length < minimum) {
    return { ok: false, problem: `incomplete file (${bytes.length} of at least ${minimum} bytes)` };
  }
  if (!SNAPSHOT_MAGIC.every((byte, i) => bytes[i] === byte)) {
    return { ok: false, problem: "unknown magic bytes" };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const trailerAt = bytes.length - SNAPSHOT_TRAILER_BYTES;
  const length = view.getUint32(trailerAt) * 2 ** 32 + view.getUint32(trailerAt + 4);
  const storedCrc = view.getUint32(trailerAt + 8);
  if (length !== trailerAt - SNAPSHOT_DATA_OFFSET) {
    return {
      ok: false,
      problem: `trailer announces ${length} data bytes, the file holds ${
        trailerAt - SNAPSHOT_DATA_OFFSET
      }`,
    };
  }
  const data = bytes.subarray(SNAPSHOT_DATA_OFFSET, trailerAt);
  const actualCrc = crc32(data);
  if (actualCrc !== storedCrc) {
    return {
      ok: false,
      problem: `checksum mismatch (stored ${hex(storedCrc)}, computed ${hex(actualCrc)})`,
    };
  }
  return { ok: true, data };
}

/**
 * Writes a snapshot file a part at a time, into a temp file, then publishes it: fsync the temp
 * file, rename it into place, fsync the directory. A crash leaves either no published file or a
 * whole one (recovery removes temp files). Parts are gathered into writes of about 1 MiB.
 *
 * @example
 * const writer = await SnapshotFileWriter.create(fs, dir, { index: 42, term: 3 });
 * for await (const part of parts) await writer.write(part);
 * await writer.finish();
 * const file = await writer.publish();
 */
export class SnapshotFileWriter {
  readonly index: number;
  readonly term: number;
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #tempName: string;
  readonly #file: FileHandle;
  #crc = 0;
  #dataBytes = 0;
  #buffered: Uint8Array[] = [];
  #bufferedBytes = 0;
  #state: "writing" | "finished" | "closed" = "writing";

  private constructor(
    init: { fs: FileSystem; dir: string; index: number; term: number; tempName: string },
    file: FileHandle,
  ) {
    this.#fs = init.fs;
    this.#dir = init.dir;
    this.index = init.index;
    this.term = init.term;
    this.#tempName = init.tempName;
    this.#file = file;
  }

  /** Opens the temp file `snapshot.tempName` (see snapshotDraftFileName) for the data. */
  static async create(
    fs: FileSystem,
    dir: string,
    snapshot: { index: number; term: number; tempName: string },
  ): Promise<SnapshotFileWriter> {
    const path = join(dir, snapshot.tempName);
    const file = await fs.open(path, { write: true, create: true, truncate: true });
    const writer = new SnapshotFileWriter({ fs, dir, ...snapshot }, file);
    writer.#buffer(SNAPSHOT_MAGIC.slice());
    return writer;
  }

  /** Bytes of data written so far (without the magic and trailer). */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  /** CRC-32 of the data written so far (what the trailer records once finished). */
  get dataCrc32(): number {
    return this.#crc >>> 0;
  }

  /** Bytes of the file once finished. */
  get fileBytes(): number {
    return SNAPSHOT_DATA_OFFSET + this.#dataBytes + SNAPSHOT_TRAILER_BYTES;
  }

  /**
   * Appends data (copied as needed: the caller may reuse `bytes` once this resolves).
   * @throws {RangeError} when the data would exceed {@link SNAPSHOT_DATA_BYTES_MAX}.
   */
  async write(bytes: Uint8Array): Promise<void> {
    this.#expect("writing", "write to");
    checkDataLength(this.#dataBytes + bytes.length);
    this.#crc = crc32(bytes, this.#crc);
    this.#dataBytes += bytes.length;
    // What stays buffered after this call is a copy; a large part is written before it returns.
    this.#buffer(bytes.length >= SNAPSHOT_WRITE_BYTES ? bytes : bytes.slice());
    if (this.#bufferedBytes >= SNAPSHOT_WRITE_BYTES) await this.#flush();
  }

  /** Ends the data: writes the trailer and makes the temp file durable. */
  async finish(): Promise<void> {
    this.#expect("writing", "finish");
    this.#buffer(encodeTrailer(this.#dataBytes, this.#crc));
    await this.#flush();
    await this.#file.sync();
    this.#file.close();
    this.#state = "finished";
  }

  /** Publishes the finished file under its snapshot's name. */
  async publish(): Promise<SnapshotFile> {
    this.#expect("finished", "publish");
    this.#state = "closed";
    const name = snapshotFileName(this.index, this.term);
    await this.#fs.rename(join(this.#dir, this.#tempName), join(this.#dir, name));
    await this.#fs.syncDirectory(this.#dir);
    return { name, index: this.index, term: this.term };
  }

  /** Closes and removes the unpublished temp file. Idempotent. */
  async abandon(): Promise<void> {
    if (this.#state === "closed") return;
    if (this.#state === "writing") this.#file.close();
    this.#state = "closed";
    await this.#fs.remove(join(this.#dir, this.#tempName));
  }

  #buffer(bytes: Uint8Array): void {
    this.#buffered.push(bytes);
    this.#bufferedBytes += bytes.length;
  }

  async #flush(): Promise<void> {
    const parts = this.#buffered;
    this.#buffered = [];
    this.#bufferedBytes = 0;
    const bytes = parts.length === 1 ? parts[0] : concatBytes(parts);
    await writeAll(this.#file, bytes);
  }

  #expect(state: "writing" | "finished", action: string): void {
    if (this.#state !== state) {
      throw new Error(
        `Cannot ${action} snapshot ${this.index} in ${this.#dir}: the file is ${this.#state}`,
      );
    }
  }
}

/**
 * Durably publishes a snapshot file of `data` (a snapshot received whole, from the leader).
 */
export async function writeSnapshotFile(
  fs: FileSystem,
  dir: string,
  snapshot: { index: number; term: number; data: Uint8Array },
): Promise<SnapshotFile> {
  const { index, term, data } = snapshot;
  const writer = await SnapshotFileWriter.create(fs, dir, {
    index,
    term,
    tempName: snapshotDraftFileName(index, term, "installed"),
  });
  try {
    await writer.write(data);
    await writer.finish();
  } catch (error) {
    await writer.abandon().catch(() => undefined); // the write's error is the one to report
    throw error;
  }
  return await writer.publish();
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
  {
    snapshot: { index: number; term: number; data: Uint8Array } | null;
    files: SnapshotFile[];
    skipped: CorruptSnapshotFile[];
  }
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

function checkDataLength(length: number): void {
  if (length > SNAPSHOT_DATA_BYTES_MAX) {
    throw new RangeError(
      `Cannot write snapshot: ${length} bytes of data exceed the ${SNAPSHOT_DATA_BYTES_MAX}-byte limit`,
    );
  }
}

function encodeTrailer(dataBytes: number, crc: number): Uint8Array {
  const trailer = new Uint8Array(SNAPSHOT_TRAILER_BYTES);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, Math.floor(dataBytes / 2 ** 32));
  view.setUint32(4, dataBytes >>> 0);
  view.setUint32(8, crc >>> 0);
  return trailer;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

/**
 * A source over the data of a snapshot file open in `reader` (either format: the data starts at
 * {@link SNAPSHOT_DATA_OFFSET}).
 */
export function fileSnapshotSource(
  reader: FileReader,
  dataBytes: number,
  dataCrc32: number,
): SnapshotSource {
  return {
    byteLength: dataBytes,
    crc32: dataCrc32,
    read(offset, length) {
      checkSnapshotRange(dataBytes, offset, length);
      return reader.readAt(SNAPSHOT_DATA_OFFSET + offset, length);
    },
  };
}
