/**
 * Variable-length integers in a growable byte buffer, and a reader that checks every byte it
 * takes: what snapshot task batches are made of (_snapshot_tasks.ts). Integers are unsigned
 * LEB128 up to 2^53 (plain arithmetic, not 32-bit bitwise operators); signed ones are zigzagged.
 * @module
 */

/** Bytes of the largest varint: 8 × 7 bits cover 2^53. */
const VARINT_BYTES_MAX = 8;

/** Appends varints and raw bytes; `bytes()` is what was written. */
export class ByteWriter {
  #buffer: Uint8Array;
  #length = 0;

  constructor(capacity = 1024) {
    this.#buffer = new Uint8Array(capacity);
  }

  /** A non-negative safe integer. */
  uint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot encode ${value}: not a non-negative safe integer`);
    }
    this.#reserve(VARINT_BYTES_MAX);
    let rest = value;
    while (rest >= 0x80) {
      this.#buffer[this.#length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.#buffer[this.#length++] = rest;
  }

  /** A safe integer of either sign (zigzag: 0, -1, 1, -2 … as 0, 1, 2, 3 …). */
  int(value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`Cannot encode ${value}: not an integer`);
    }
    this.uint(value < 0 ? -value * 2 - 1 : value * 2);
  }

  /** A safe integer or null (0 for null, the zigzagged value plus one otherwise). */
  nullableInt(value: number | null): void {
    if (value === null) this.uint(0);
    else {
      if (!Number.isSafeInteger(value) || Math.abs(value) >= 2 ** 51) {
        throw new RangeError(`Cannot encode ${value}: not an integer below 2^51`);
      }
      this.uint((value < 0 ? -value * 2 - 1 : value * 2) + 1);
    }
  }

  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.#length + extra));
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
  }
}

/** Reads what a ByteWriter wrote; every read past the end or of a malformed value throws a RangeError. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  #at: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, from = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#at = from;
    this.#end = end;
  }

  get position(): number {
    return this.#at;
  }

  get remaining(): number {
    return this.#end - this.#at;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (this.#at >= this.#end) throw new RangeError("Snapshot ends inside a number");
      const byte = this.#bytes[this.#at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new RangeError("Snapshot holds a number too large");
        return value;
      }
      scale *= 0x80;
    }
    throw new RangeError("Snapshot holds a number longer than 8 bytes");
  }

  int(): number {
    const zigzag = this.uint();
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }

  nullableInt(): number | null {
    const stored = this.uint();
    if (stored === 0) return null;
    const zigzag = stored - 1;
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }

  /** A uint that must be below `limit` (an index into a table, a code from a list). */
  below(limit: number, what: string): number {
    const value = this.uint();
    if (value >= limit) throw new RangeError(`Snapshot has a bad ${what}: ${value} of ${limit}`);
    return value;
  }

  /** A 32-bit little-endian length, then that many bytes (a view, not a copy). */
  block(what: string): Uint8Array {
    if (this.remaining < 4) throw new RangeError(`Snapshot ends before the length of its ${what}`);
    const b = this.#bytes;
    const at = this.#at;
    const length = b[at] + b[at + 1] * 0x100 + b[at + 2] * 0x10000 + b[at + 3] * 0x1000000;
    this.#at += 4;
    if (length > this.remaining) {
      throw new RangeError(`Snapshot's ${what} of ${length} bytes runs past its end`);
    }
    const block = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return block;
  }
}

/** `block` preceded by its 32-bit little-endian length (what ByteReader.block reads). */
export function lengthPrefixed(block: Uint8Array): Uint8Array {
  if (block.length >= 2 ** 32) throw new RangeError("Cannot encode a block of 4 GiB or more");
  const out = new Uint8Array(4 + block.length);
  new DataView(out.buffer).setUint32(0, block.length, true);
  out.set(block, 4);
  return out;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * `bytes` as text.
 * @throws {RangeError} for bytes that are not UTF-8 (TextDecoder throws a TypeError).
 */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch (error) {
    throw new RangeError(`Snapshot's ${what} is not UTF-8`, { cause: error });
  }
}
