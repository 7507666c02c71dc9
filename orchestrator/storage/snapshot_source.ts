/**
 * How the Raft core refers to a snapshot without holding its bytes: a {@link SnapshotSource}
 * reads a range of the snapshot's data on demand, from the store that keeps it (the snapshot
 * file on disk, or bytes in memory for the simulator and tests). A leader reads the one chunk it
 * sends to a follower (InstallSnapshot), so a snapshot of hundreds of MiB costs no memory while
 * no follower needs it.
 *
 * Reads are synchronous on purpose: to the core a source is data access, like indexing an array,
 * not an effect; the core stays deterministic because the store hands it a source whose bytes do
 * not change. A read may fail (the file was removed under it, a short read, an I/O error): it
 * throws, and the caller treats that as an operating error (the leader stops that transfer and
 * starts again later from the newest snapshot).
 * @module
 */
import { crc32 } from "node:zlib";

/** Random access to a snapshot's data. */
export interface SnapshotSource {
  /** Bytes of the snapshot's data. */
  readonly byteLength: number;
  /**
   * Exactly `length` bytes of the data from `offset` (a fresh array the caller may keep).
   * @throws {Error} when the bytes cannot be read (the file is gone, closed, or shorter).
   * @throws {RangeError} when the range is not inside the data.
   */
  read(offset: number, length: number): Uint8Array;
  /**
   * CRC-32 of the whole data, when the storage knows it (from the file's trailer, or computed):
   * sent with a transfer's last chunk so the follower can tell bytes damaged on the way (on the
   * leader's disk since the file was published, or in transit) from the snapshot taken.
   */
  readonly crc32?: number;
}

/** A snapshot known by its position, its bytes read on demand. */
export interface SnapshotRef {
  /** Index of the last entry the snapshot includes. */
  index: number;
  /** Term of that entry. */
  term: number;
  source: SnapshotSource;
}

/**
 * A source over bytes in memory (the memory storages, a snapshot just received from a leader).
 * @example
 * const source = bytesSnapshotSource(new TextEncoder().encode("abc"));
 * source.read(1, 2); // the bytes of "bc"
 */
export function bytesSnapshotSource(data: Uint8Array): SnapshotSource {
  let crc: number | undefined;
  return {
    byteLength: data.length,
    get crc32() {
      // Computed when a transfer first needs it: most sources over bytes are never sent.
      return crc ??= crc32(data);
    },
    read(offset, length) {
      checkSnapshotRange(data.length, offset, length);
      return data.slice(offset, offset + length);
    },
  };
}

/**
 * Checks that `[offset, offset + length)` lies inside data of `byteLength` bytes.
 * @throws {RangeError} when it does not.
 */
export function checkSnapshotRange(byteLength: number, offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
    offset + length > byteLength
  ) {
    throw new RangeError(
      `Cannot read snapshot bytes: range ${offset}+${length} is outside its ${byteLength} bytes`,
    );
  }
}

/** A reference to a snapshot held as bytes in memory (see {@link bytesSnapshotSource}). */
export function bytesSnapshotRef(
  snapshot: { index: number; term: number; data: Uint8Array },
): SnapshotRef {
  return { index: snapshot.index, term: snapshot.term, source: bytesSnapshotSource(snapshot.data) };
}
