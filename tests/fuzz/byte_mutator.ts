/**
 * Byte- and text-level mutations of an encoded payload: flipped bits and bytes, truncations,
 * extensions, spliced garbage, invalid UTF-8, number tokens JSON.stringify never writes,
 * duplicate keys and deep nesting wrapped around the message.
 * @module
 */
import type { Rng } from "../../shared/prng.ts";
import { nestedText, RAW_NUMBER_TOKENS } from "./hostile_values.ts";

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** Byte sequences that are not valid UTF-8 (or are overlong, or encode surrogates). */
const INVALID_UTF8: readonly number[][] = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0x80], // overlong NUL
  [0xed, 0xa0, 0x80], // an encoded surrogate
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0xe2, 0x82], // truncated sequence
  [0x80],
];

/** Applies 1-4 random byte or text mutations; returns the new bytes and what was done. */
export function mutateBytes(rng: Rng, payload: Uint8Array): { bytes: Uint8Array; did: string[] } {
  let bytes = payload;
  const did: string[] = [];
  const count = rng.int(1, 4);
  for (let i = 0; i < count; i++) {
    // Text mutations scan the payload: only on payloads of ordinary size.
    if (rng.chance(0.4) || bytes.length > 64 * 1024) {
      ({ bytes } = applyByteMutation(rng, bytes, did));
    } else {
      bytes = applyTextMutation(rng, bytes, did);
    }
  }
  return { bytes, did };
}

function applyByteMutation(rng: Rng, input: Uint8Array, did: string[]): { bytes: Uint8Array } {
  const bytes = input.slice();
  const at = bytes.length === 0 ? 0 : rng.int(0, bytes.length - 1);
  switch (rng.int(0, 7)) {
    case 0: {
      if (bytes.length > 0) bytes[at] ^= 1 << rng.int(0, 7);
      did.push(`flipped a bit at ${at}`);
      return { bytes };
    }
    case 1: {
      if (bytes.length > 0) bytes[at] = rng.int(0, 255);
      did.push(`set byte ${at}`);
      return { bytes };
    }
    case 2: {
      const cut = rng.int(0, bytes.length);
      did.push(`truncated to ${cut} bytes`);
      return { bytes: bytes.subarray(0, cut) };
    }
    case 3: {
      const extra = Array.from({ length: rng.int(1, 16) }, () => rng.int(0, 255));
      did.push(`appended ${extra.length} random bytes`);
      return { bytes: splice(bytes, bytes.length, 0, extra) };
    }
    case 4: {
      const sequence = rng.pick(INVALID_UTF8);
      did.push(`inserted invalid UTF-8 at ${at}`);
      return { bytes: splice(bytes, at, 0, sequence) };
    }
    case 5: {
      const length = rng.int(1, Math.max(1, Math.floor(bytes.length / 4)));
      did.push(`deleted ${length} bytes at ${at}`);
      return { bytes: splice(bytes, at, length, []) };
    }
    case 6: {
      const from = rng.int(0, Math.max(0, bytes.length - 1));
      const chunk = Array.from(bytes.subarray(from, from + rng.int(1, 32)));
      did.push(`duplicated ${chunk.length} bytes`);
      return { bytes: splice(bytes, at, 0, chunk) };
    }
    default: {
      did.push(`inserted NUL at ${at}`);
      return { bytes: splice(bytes, at, 0, [0]) };
    }
  }
}

function applyTextMutation(rng: Rng, bytes: Uint8Array, did: string[]): Uint8Array {
  // Latin-1 maps bytes to characters one to one, so any bytes survive the round trip.
  const text = latin1.decode(bytes);
  switch (rng.pick([0, 0, 1, 1, 2, 3, 3, 4])) {
    case 0: {
      const numbers = [...text.matchAll(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g)];
      if (numbers.length === 0) break;
      const match = rng.pick(numbers);
      const token = rng.pick(RAW_NUMBER_TOKENS);
      did.push(`number ${match[0]} -> ${token}`);
      return toBytes(
        text.slice(0, match.index) + token + text.slice(match.index! + match[0].length),
      );
    }
    case 1: {
      // A duplicate key: JSON.parse keeps the last one, a naive scanner the first.
      const keys = [...text.matchAll(/"([A-Za-z]+)":/g)];
      const close = text.lastIndexOf("}");
      if (keys.length === 0 || close < 0) break;
      const key = rng.pick(keys)[1];
      const value = rng.pick(['"x"', "0", "null", "-1", '"status"', "{}", "[]", "1e400", "true"]);
      did.push(`duplicate key "${key}"`);
      const separator = text.slice(0, close).trimEnd().endsWith("{") ? "" : ",";
      return toBytes(`${text.slice(0, close)}${separator}"${key}":${value}${text.slice(close)}`);
    }
    case 2: {
      // Deep wrapping costs milliseconds per frame: rare.
      const depth = rng.chance(0.05) ? rng.pick([50_000, 200_000]) : rng.pick([100, 3_000]);
      const kind = rng.chance(0.5) ? "array" : "object";
      did.push(`wrapped in ${depth} ${kind}s`);
      return kind === "array"
        ? toBytes("[".repeat(depth) + text + "]".repeat(depth))
        : toBytes('{"a":'.repeat(depth) + text + "}".repeat(depth));
    }
    case 3: {
      const values = [...text.matchAll(/:("[^"]*"|-?\d+|true|false|null)/g)];
      if (values.length === 0) break;
      const match = rng.pick(values);
      const depth = rng.chance(0.1) ? 10_000 : rng.pick([10, 1_000]);
      did.push(`value ${match[1].slice(0, 20)} -> ${depth}-deep nesting`);
      const start = match.index! + 1;
      return toBytes(
        text.slice(0, start) + nestedText(depth, rng.chance(0.5) ? "array" : "object") +
          text.slice(start + match[1].length),
      );
    }
    default: {
      const prefix = rng.pick(["\ufeff", " ", "\n", "\u00a0", "\u0000"]);
      did.push(`prefixed ${JSON.stringify(prefix)}`);
      return concat(encoder.encode(prefix), bytes);
    }
  }
  did.push("text mutation found nothing to change");
  return bytes;
}

function toBytes(latin1Text: string): Uint8Array {
  const out = new Uint8Array(latin1Text.length);
  for (let i = 0; i < latin1Text.length; i++) out[i] = latin1Text.charCodeAt(i) & 0xff;
  return out;
}

function splice(bytes: Uint8Array, at: number, remove: number, insert: readonly number[]) {
  const out = new Uint8Array(bytes.length - Math.min(remove, bytes.length - at) + insert.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
