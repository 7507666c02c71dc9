/**
 * Fuzz target: the streaming FrameDecoder, fed streams of valid frames, frames announcing huge
 * or exactly-the-limit lengths, and garbage, cut into chunks of any size (empty and one-byte
 * chunks included), with the limit sometimes changed mid-stream. It is checked against a
 * reference model: the same frames, byte for byte, not aliasing the caller's buffer; only
 * FrameTooLargeError thrown, exactly when the model says; the pending byte count the model's.
 * @module
 */
import type { Rng } from "../../shared/prng.ts";
import {
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameTooLargeError,
} from "../../shared/protocol/frame.ts";
import { type EpisodeContext, type FuzzTarget, FuzzViolation } from "./fuzz_runner.ts";

const LIMITS = [1, 4, 16, 255, 4096, 65_536, 1024 * 1024, 2 ** 32 - 1];

/** The reference model: the decoder's contract written as plainly as possible. */
class ModelDecoder {
  max: number;
  buffer: number[] = [];

  constructor(max: number) {
    this.max = max;
  }

  /** Frames completed by `chunk`, or "tooLarge" when a header in it exceeds the limit. */
  push(chunk: Uint8Array): Uint8Array[] | "tooLarge" {
    this.buffer.push(...chunk);
    const frames: Uint8Array[] = [];
    while (this.buffer.length >= FRAME_HEADER_BYTES) {
      const [a, b, c, d] = this.buffer;
      const length = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
      if (length > this.max) return "tooLarge";
      if (this.buffer.length < FRAME_HEADER_BYTES + length) break;
      frames.push(Uint8Array.from(this.buffer.slice(4, 4 + length)));
      this.buffer = this.buffer.slice(4 + length);
    }
    return frames;
  }
}

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

function randomBytes(rng: Rng, length: number): Uint8Array {
  return new Uint8Array(length).map(() => rng.int(0, 255));
}

/** A stream of segments: mostly frames that fit, some oversized or garbage. */
function drawStream(rng: Rng, max: number): { bytes: Uint8Array; parts: string[] } {
  const segments: Uint8Array[] = [];
  const parts: string[] = [];
  const count = rng.int(0, 12);
  for (let i = 0; i < count; i++) {
    const roll = rng.next();
    if (roll < 0.7) {
      const length = rng.chance(0.1) ? Math.min(max, 4096) : rng.int(0, Math.min(max, 300));
      segments.push(encodeFrame(randomBytes(rng, length)));
      parts.push(`frame(${length})`);
    } else if (roll < 0.8) {
      // Exactly the limit: accepted; the payload may never come.
      segments.push(header(max));
      if (max <= 4096) segments.push(randomBytes(rng, max));
      parts.push(`header(max=${max})`);
    } else if (roll < 0.9) {
      const length = rng.pick([max + 1, 2 ** 31, 2 ** 32 - 1].filter((n) => n <= 2 ** 32 - 1));
      if (length > max) {
        segments.push(header(length));
        parts.push(`header(${length})`);
      }
    } else {
      const length = rng.int(1, 12);
      segments.push(randomBytes(rng, length));
      parts.push(`garbage(${length})`);
    }
  }
  const total = segments.reduce((n, s) => n + s.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const s of segments) {
    bytes.set(s, offset);
    offset += s.length;
  }
  return { bytes, parts };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkConstructorRefusesBadLimits(rng: Rng): void {
  const bad = rng.pick([0, -1, 1.5, Number.NaN, Infinity, -Infinity]);
  try {
    new FrameDecoder(bad);
  } catch (error) {
    if (error instanceof RangeError) return;
    throw new FuzzViolation("wrongError", `new FrameDecoder(${bad}) threw ${error}`);
  }
  throw new FuzzViolation("acceptedBadLimit", `new FrameDecoder(${bad}) accepted the limit`);
}

/** Runs one stream through the decoder and the model, chunk by chunk. */
function runStream(rng: Rng, ctx: EpisodeContext): void {
  let max = rng.chance(0.8) ? rng.pick(LIMITS) : rng.int(1, 100_000);
  const { bytes, parts } = drawStream(rng, max);
  ctx.note(`limit ${max}, stream ${parts.join(" ")} (${bytes.length} bytes)`);
  // Every segment is a frame fed: whole, announcing too much, or garbage.
  for (let i = 0; i < parts.length; i++) ctx.tally("frames");
  let decoder = new FrameDecoder(max);
  const model = new ModelDecoder(max);
  // The last chunk is always empty: a read that returns nothing new must change nothing.
  for (let offset = 0, done = false; !done;) {
    const size = offset >= bytes.length
      ? 0
      : rng.chance(0.1)
      ? 0
      : rng.chance(0.3)
      ? 1
      : rng.int(1, 64);
    done = offset >= bytes.length;
    // A copy, because the test overwrites it after the push (as a shell reuses its read buffer).
    const chunk = bytes.slice(offset, offset + size);
    offset += size;
    if (rng.chance(0.05)) {
      max = rng.chance(0.5) ? rng.pick(LIMITS) : rng.int(1, 100_000);
      decoder = decoder.withLimit(max);
      model.max = max;
    }
    const expected = model.push(chunk);
    let frames: Uint8Array[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameTooLargeError)) {
        throw new FuzzViolation("wrongError", `FrameDecoder.push threw ${error}`, { cause: error });
      }
      if (expected !== "tooLarge") {
        throw new FuzzViolation("spuriousTooLarge", `FrameTooLargeError where the model has none`);
      }
      ctx.tally("frameTooLarge");
      return;
    }
    if (expected === "tooLarge") {
      throw new FuzzViolation("missedTooLarge", `no FrameTooLargeError for an oversized header`);
    }
    chunk.fill(0xaa);
    if (frames.length !== expected.length || frames.some((f, i) => !sameBytes(f, expected[i]))) {
      throw new FuzzViolation(
        "wrongFrames",
        `decoder returned ${frames.length} frames, model ${expected.length}, or their bytes differ`,
      );
    }
    if (decoder.pendingBytes !== model.buffer.length) {
      throw new FuzzViolation(
        "wrongPending",
        `pendingBytes ${decoder.pendingBytes}, model holds ${model.buffer.length}`,
      );
    }
    if (frames.length > 0) ctx.tally("streams with frames");
  }
  ctx.tally(decoder.pendingBytes === 0 ? "clean end" : "partial frame at end");
}

/** The streaming frame decoder. */
export const frameTarget: FuzzTarget = {
  name: "frame",
  description: "FrameDecoder on chunked streams of frames, huge headers and garbage",
  episodeLength: 1,
  runEpisode(rng: Rng, ctx: EpisodeContext): void {
    ctx.begin(0);
    if (rng.chance(0.02)) {
      ctx.note("constructor with an invalid limit");
      checkConstructorRefusesBadLimits(rng);
      return;
    }
    runStream(rng, ctx);
  },
};
