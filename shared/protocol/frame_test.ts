// Proves that FrameDecoder turns a byte stream cut into chunks of any size back into the exact
// payloads encodeFrame produced, and refuses any header that announces more than the limit.
import assert from "node:assert/strict";
import { createPrng } from "../prng.ts";
import {
  concatBytes,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameTooLargeError,
} from "./frame.ts";

const text = new TextEncoder();

function bytes(s: string): Uint8Array {
  return text.encode(s);
}

/** Pushes `stream` one byte at a time and collects every frame. */
function pushByteByByte(decoder: FrameDecoder, stream: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i++) frames.push(...decoder.push(stream.subarray(i, i + 1)));
  return frames;
}

Deno.test("encodeFrame() prefixes the payload with its big-endian length", () => {
  const frame = encodeFrame(new Uint8Array([7, 8, 9]));
  assert.deepEqual([...frame], [0, 0, 0, 3, 7, 8, 9]);
  assert.equal(FRAME_HEADER_BYTES, 4);
});

Deno.test("encodeFrame() writes lengths above 16 bits in network byte order", () => {
  const frame = encodeFrame(new Uint8Array(0x010203));
  assert.deepEqual([...frame.subarray(0, 4)], [0x00, 0x01, 0x02, 0x03]);
  assert.equal(frame.length, 4 + 0x010203);
});

Deno.test("encodeFrame() encodes an empty payload as a bare zero header", () => {
  assert.deepEqual([...encodeFrame(new Uint8Array(0))], [0, 0, 0, 0]);
});

Deno.test("concatBytes() joins parts in order", () => {
  const joined = concatBytes([new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
  assert.deepEqual([...joined], [1, 2, 3]);
});

Deno.test("concatBytes() of no parts is empty", () => {
  assert.equal(concatBytes([]).length, 0);
});

Deno.test("concatBytes() of one part returns that part as is", () => {
  const only = new Uint8Array([4, 5]);
  assert.equal(concatBytes([only]), only);
});

Deno.test("FrameDecoder rejects a limit that is not a positive integer", () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new FrameDecoder(bad), RangeError, `limit ${bad}`);
  }
});

Deno.test("FrameDecoder.push() returns a single whole frame", () => {
  const decoder = new FrameDecoder(1024);
  const frames = decoder.push(encodeFrame(bytes("hello")));
  assert.deepEqual(frames, [bytes("hello")]);
  assert.equal(decoder.pendingBytes, 0);
});

Deno.test("FrameDecoder.push() returns many frames from one chunk, in order", () => {
  const decoder = new FrameDecoder(1024);
  const payloads = ["one", "two", "", "three"].map(bytes);
  const frames = decoder.push(concatBytes(payloads.map(encodeFrame)));
  assert.deepEqual(frames, payloads);
  assert.equal(decoder.pendingBytes, 0);
});

Deno.test("FrameDecoder.push() reassembles a frame split into 1-byte chunks", () => {
  const decoder = new FrameDecoder(1024);
  const stream = encodeFrame(bytes("split across many chunks"));
  const frames: Uint8Array[] = [];
  for (let i = 0; i < stream.length - 1; i++) {
    assert.deepEqual(decoder.push(stream.subarray(i, i + 1)), [], `frame finished early at ${i}`);
    assert.equal(decoder.pendingBytes, i + 1);
  }
  frames.push(...decoder.push(stream.subarray(stream.length - 1)));
  assert.deepEqual(frames, [bytes("split across many chunks")]);
  assert.equal(decoder.pendingBytes, 0);
});

Deno.test("FrameDecoder.push() keeps a trailing partial frame pending", () => {
  const decoder = new FrameDecoder(1024);
  const second = encodeFrame(bytes("second"));
  const frames = decoder.push(concatBytes([encodeFrame(bytes("first")), second.subarray(0, 6)]));
  assert.deepEqual(frames, [bytes("first")]);
  assert.equal(decoder.pendingBytes, 6);
  assert.deepEqual(decoder.push(second.subarray(6)), [bytes("second")]);
  assert.equal(decoder.pendingBytes, 0);
});

Deno.test("FrameDecoder.push() returns a zero-length frame as an empty payload", () => {
  const decoder = new FrameDecoder(16);
  const frames = decoder.push(new Uint8Array([0, 0, 0, 0]));
  assert.equal(frames.length, 1);
  assert.equal(frames[0].length, 0);
});

Deno.test("FrameDecoder.push() returns nothing for an empty chunk", () => {
  const decoder = new FrameDecoder(16);
  assert.deepEqual(decoder.push(new Uint8Array(0)), []);
  assert.equal(decoder.pendingBytes, 0);
});

Deno.test("FrameDecoder.push() accepts a frame of exactly the limit", () => {
  const limit = 5000;
  const payload = new Uint8Array(limit).map((_, i) => i % 251);
  const decoder = new FrameDecoder(limit);
  assert.deepEqual(decoder.push(encodeFrame(payload)), [payload]);
});

Deno.test("FrameDecoder.push() throws FrameTooLargeError for a header one byte over the limit", () => {
  const decoder = new FrameDecoder(5000);
  const header = encodeFrame(new Uint8Array(5001)).subarray(0, FRAME_HEADER_BYTES);
  assert.throws(() => decoder.push(header), FrameTooLargeError);
});

Deno.test("FrameTooLargeError reports the announced size and the limit", () => {
  const decoder = new FrameDecoder(5000);
  let caught: unknown;
  try {
    decoder.push(new Uint8Array([0, 0, 0x13, 0x89])); // 5001
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof FrameTooLargeError);
  assert.ok(caught instanceof RangeError, "callers may catch it as a RangeError");
  assert.equal(caught.name, "FrameTooLargeError");
  assert.equal(caught.announcedBytes, 5001);
  assert.equal(caught.maxFrameBytes, 5000);
  assert.match(caught.message, /5001 bytes exceeds the 5000-byte limit/);
});

Deno.test("FrameDecoder.push() rejects an oversized header as soon as its 4 bytes arrive", () => {
  const decoder = new FrameDecoder(100);
  const header = new Uint8Array([0, 0, 1, 0]); // 256
  assert.deepEqual(decoder.push(header.subarray(0, 3)), []);
  assert.throws(() => decoder.push(header.subarray(3)), FrameTooLargeError);
});

Deno.test("FrameDecoder.push() throws FrameTooLargeError for an HTTP request line", () => {
  const decoder = new FrameDecoder(1024 * 1024);
  let caught: unknown;
  try {
    decoder.push(bytes("GET / HTTP/1.1\r\n"));
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof FrameTooLargeError);
  // "GET " read as a big-endian uint32.
  assert.equal(caught.announcedBytes, 0x47455420);
});

Deno.test("FrameDecoder.push() rejects an oversized frame after valid ones in the same stream", () => {
  const decoder = new FrameDecoder(8);
  assert.deepEqual(decoder.push(encodeFrame(bytes("ok"))), [bytes("ok")]);
  assert.throws(() => decoder.push(encodeFrame(bytes("123456789"))), FrameTooLargeError);
});

Deno.test("FrameDecoder.push() returns copies that later pushes do not overwrite", () => {
  const decoder = new FrameDecoder(1024);
  const [first] = decoder.push(encodeFrame(bytes("aaaa")));
  for (let i = 0; i < 100; i++) decoder.push(encodeFrame(bytes("bbbb")));
  assert.deepEqual(first, bytes("aaaa"));
});

Deno.test("FrameDecoder.push() does not keep a reference to the caller's chunk", () => {
  const decoder = new FrameDecoder(1024);
  const chunk = encodeFrame(bytes("hello"));
  assert.deepEqual(decoder.push(chunk.subarray(0, 6)), []);
  chunk.fill(0); // the caller reuses its read buffer
  assert.deepEqual(decoder.push(encodeFrame(bytes("hello")).subarray(6)), [bytes("hello")]);
});

Deno.test("FrameDecoder.push() reassembles frames larger than its initial buffer", () => {
  const decoder = new FrameDecoder(1024 * 1024);
  const big = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
  const stream = concatBytes([encodeFrame(bytes("small")), encodeFrame(big), encodeFrame(big)]);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += 4093) {
    frames.push(...decoder.push(stream.subarray(i, i + 4093)));
  }
  assert.deepEqual(frames, [bytes("small"), big, big]);
  assert.equal(decoder.pendingBytes, 0);
});

Deno.test("FrameDecoder.push() round-trips 10,000 frames pushed in random chunk sizes", () => {
  for (const seed of [1, 2, 3, 8112693]) {
    const rng = createPrng(seed);
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < 10_000; i++) {
      const length = rng.chance(0.05) ? rng.int(1000, 20_000) : rng.int(0, 64);
      const payload = new Uint8Array(length);
      for (let j = 0; j < length; j++) payload[j] = rng.int(0, 255);
      // Stamp the index so a reordered or duplicated frame cannot go unnoticed.
      if (length >= 2) payload.set([i >> 8, i & 0xff]);
      payloads.push(payload);
    }
    const stream = concatBytes(payloads.map(encodeFrame));
    const decoder = new FrameDecoder(20_000);
    const frames: Uint8Array[] = [];
    let offset = 0;
    while (offset < stream.length) {
      const size = rng.chance(0.3) ? rng.int(1, 3) : rng.int(0, 9000);
      frames.push(...decoder.push(stream.subarray(offset, offset + size)));
      offset += size;
      // Bound from the class doc: at most one frame (plus its header) waits between pushes.
      assert.ok(decoder.pendingBytes < FRAME_HEADER_BYTES + 20_000, `seed ${seed}: buffer grew`);
    }
    assert.equal(frames.length, payloads.length, `seed ${seed}`);
    for (let i = 0; i < payloads.length; i++) {
      assert.deepEqual(frames[i], payloads[i], `seed ${seed}: frame ${i} differs`);
    }
    assert.equal(decoder.pendingBytes, 0, `seed ${seed}`);
  }
});

Deno.test("FrameDecoder.push() decodes the same frames one byte at a time as all at once", () => {
  const payloads = ["a", "", "bcd", "e".repeat(5000)].map(bytes);
  const stream = concatBytes(payloads.map(encodeFrame));
  assert.deepEqual(pushByteByByte(new FrameDecoder(5000), stream), payloads);
  assert.deepEqual(new FrameDecoder(5000).push(stream), payloads);
});
