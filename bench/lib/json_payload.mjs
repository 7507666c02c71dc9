/**
 * Task payloads of a given size for the benchmarks, shared by the Deno bench and the BullMQ peer's
 * Node scripts (hence plain JavaScript). Pure: the same size and index give the same text.
 * @module
 */

/** `{"i":` … `,"pad":"` … `"}`: the fixed part of every payload. */
const OVERHEAD_CHARS = '{"i":,"pad":""}'.length;
/** Letters the padding is drawn from (ASCII, so characters and UTF-8 bytes are the same count). */
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** Distinct starting points of the padding within the pad text. */
const PAD_OFFSETS = 4096;
/** The pad text made so far; only ever extended, always the same for a given length. */
let padCache = "";

/**
 * At least `length` characters of the pad text: letters from a small linear congruential
 * sequence (no randomness, so runs are repeatable).
 * @param {number} length
 * @returns {string}
 */
function padText(length) {
  if (padCache.length >= length) return padCache;
  const chars = [];
  let state = 1;
  for (let k = 0; k < length; k++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    chars.push(ALPHABET[(state >>> 16) % ALPHABET.length]);
  }
  padCache = chars.join("");
  return padCache;
}

/**
 * Compact JSON text of exactly `bytes` bytes (UTF-8): an object `{ i, pad }` whose padding
 * varies with `index`, so no two tasks of a run carry the same payload. Its own
 * `JSON.stringify(JSON.parse(text))` is itself, so an echo handler returns as many bytes.
 *
 * @param {number} bytes the size wanted, at least the fixed part plus the index's digits
 * @param {number} index a non-negative integer, e.g. the task's position in its run
 * @returns {string}
 * @throws {RangeError} when `index` is not a non-negative integer or `bytes` is too small
 * @example
 * jsonPayload(1024, 7).length; // 1024
 */
export function jsonPayload(bytes, index) {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`Payload index must be a non-negative integer, got ${index}`);
  }
  const padChars = bytes - OVERHEAD_CHARS - String(index).length;
  if (!Number.isInteger(bytes) || padChars < 0) {
    throw new RangeError(
      `Payload size must be an integer of at least ${bytes - padChars} bytes, got ${bytes}`,
    );
  }
  // A window of a fixed pseudo-random text, starting where the index says: varied payloads
  // without generating each one character by character (the bench client shares the machine).
  const offset = (index * 7919) % PAD_OFFSETS;
  const pad = padText(PAD_OFFSETS + padChars).slice(offset, offset + padChars);
  return `{"i":${index},"pad":"${pad}"}`;
}
