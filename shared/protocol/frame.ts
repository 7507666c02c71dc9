/**
 * Length-prefixed framing for TCP: each frame is a 4-byte big-endian payload
 * length followed by the payload. {@link FrameDecoder} is pure: it turns a byte
 * stream, in chunks of any size, into whole payloads.
 * @module
 */

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** A frame header announced more bytes than the limit; the stream cannot be trusted further. */
export class FrameTooLargeError extends RangeError {
  override name = "FrameTooLargeError";
  readonly announcedBytes: number;
  readonly maxFrameBytes: number;

  constructor(announcedBytes: number, maxFrameBytes: number) {
    super(
      `Frame of ${announcedBytes} bytes exceeds the ${maxFrameBytes}-byte limit ` +
        `(garbage on the connection, or a peer that does not speak the Mutirão protocol)`,
    );
    this.announcedBytes = announcedBytes;
    this.maxFrameBytes = maxFrameBytes;
  }
}

/** Prefixes a payload with its length. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Concatenates frames for a single write: many small writes cost far more than one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Reassembles frames from a byte stream. Holds at most one frame plus one chunk. */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;

  constructor(maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes <= 0) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
    }
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** A decoder with another limit that continues from this one's buffered bytes. */
  withLimit(maxFrameBytes: number): FrameDecoder {
    const next = new FrameDecoder(maxFrameBytes);
    next.#buffer = this.#buffer.slice(this.#start, this.#end);
    next.#end = this.#end - this.#start;
    return next;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.#end - this.#start;
  }

  /**
   * Adds a chunk and returns every frame it completes, in order.
   * @throws {FrameTooLargeError} when a header announces more than the limit.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.#append(chunk);
    const frames: Uint8Array[] = [];
    while (this.#end - this.#start >= FRAME_HEADER_BYTES) {
      const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset + this.#start, 4);
      const length = view.getUint32(0);
      if (length > this.#maxFrameBytes) throw new FrameTooLargeError(length, this.#maxFrameBytes);
      if (this.#end - this.#start < FRAME_HEADER_BYTES + length) break;
      const from = this.#start + FRAME_HEADER_BYTES;
      frames.push(this.#buffer.slice(from, from + length));
      this.#start = from + length;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frames;
  }

  #append(chunk: Uint8Array): void {
    const needed = this.#end - this.#start + chunk.length;
    if (this.#end + chunk.length > this.#buffer.length) {
      if (needed <= this.#buffer.length) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(Math.max(needed, this.#buffer.length * 2, 4096));
        next.set(this.#buffer.subarray(this.#start, this.#end), 0);
        this.#buffer = next;
      }
      this.#end -= this.#start;
      this.#start = 0;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}
