/**
 * The on-disk frame shared by log records and snapshot files:
 * `[u32 BE payload length][u32 BE crc32(payload)][payload]`. Pure.
 * @module
 */
import { crc32 } from "node:zlib";

const textEncoder = new TextEncoder();

/** Bytes of the length and checksum header. */
export const CHECKSUM_FRAME_HEADER_BYTES = 8;

/** A frame read from `bytes`, or why none could be. */
export type FrameReadResult =
  | { ok: true; payload: Uint8Array; end: number }
  | { ok: false; problem: string };

/**
 * Prefixes `payload` with its length and crc32.
 * @throws {RangeError} when the payload is larger than `payloadBytesMax`.
 */
export function encodeChecksumFrame(payload: Uint8Array, payloadBytesMax: number): Uint8Array {
  if (payload.length > payloadBytesMax) {
    throw new RangeError(
      `Cannot encode frame: payload of ${payload.length} bytes exceeds the ${payloadBytesMax}-byte limit`,
    );
  }
  const frame = new Uint8Array(CHECKSUM_FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32(payload));
  frame.set(payload, CHECKSUM_FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Encodes many UTF-8 text payloads as consecutive frames in one buffer. One
 * allocation for the lot instead of several per frame: small allocations, not
 * the checksum, dominate the cost of encoding a large batch.
 * @throws {RangeError} when a payload's UTF-8 is larger than `payloadBytesMax`.
 */
export function encodeTextFrames(texts: readonly string[], payloadBytesMax: number): Uint8Array {
  let bound = 0;
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  for (const text of texts) bound += CHECKSUM_FRAME_HEADER_BYTES + 3 * text.length;
  const buffer = new Uint8Array(bound);
  const view = new DataView(buffer.buffer);
  let offset = 0;
  for (const text of texts) {
    const start = offset + CHECKSUM_FRAME_HEADER_BYTES;
    const { written } = textEncoder.encodeInto(text, buffer.subarray(start));
    if (written > payloadBytesMax) {
      throw new RangeError(
        `Cannot encode frame: payload of ${written} bytes exceeds the ${payloadBytesMax}-byte limit`,
      );
    }
    view.setUint32(offset, written);
    view.setUint32(offset + 4, crc32(buffer.subarray(start, start + written)));
    offset = start + written;
  }
  return buffer.slice(0, offset);
}

/**
 * Reads the frame that starts at `offset`. Every failure is reported, never
 * thrown, because a torn tail is an expected result of a crash.
 */
export function readChecksumFrame(
  bytes: Uint8Array,
  options: { offset: number; payloadBytesMax: number },
): FrameReadResult {
  const { offset, payloadBytesMax } = options;
  const available = bytes.length - offset;
  if (available < CHECKSUM_FRAME_HEADER_BYTES) {
    return { ok: false, problem: `incomplete header at byte ${offset} (${available} of 8 bytes)` };
  }
  const length = readUint32(bytes, offset);
  const storedCrc = readUint32(bytes, offset + 4);
  // A zero length is never written (payloads are non-empty), but it is what a
  // tail of zeros looks like: the file grew before its data reached the disk.
  if (length === 0) return { ok: false, problem: `zero-length frame at byte ${offset}` };
  if (length > payloadBytesMax) {
    return {
      ok: false,
      problem:
        `frame at byte ${offset} announces ${length} bytes, above the ${payloadBytesMax}-byte limit`,
    };
  }
  const start = offset + CHECKSUM_FRAME_HEADER_BYTES;
  if (length > bytes.length - start) {
    return {
      ok: false,
      problem: `incomplete frame at byte ${offset} (${
        bytes.length - start
      } of ${length} payload bytes)`,
    };
  }
  const payload = bytes.subarray(start, start + length);
  const actualCrc = crc32(payload);
  if (actualCrc !== storedCrc) {
    return {
      ok: false,
      problem: `checksum mismatch at byte ${offset} (stored ${hex(storedCrc)}, computed ${
        hex(actualCrc)
      })`,
    };
  }
  return { ok: true, payload, end: start + length };
}

/** Big-endian u32 at `offset`; no DataView, since recovery reads one header per record. */
function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) |
    bytes[offset + 3]) >>> 0;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
