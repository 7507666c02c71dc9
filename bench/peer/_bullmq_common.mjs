/**
 * What the BullMQ peer's Node scripts share: BullMQ loaded from tools/node_modules (where
 * tools/package.json pins it), a sub-millisecond wall clock, and the JSON-line channel to the Deno
 * bench on stdout.
 * @module
 */
import { createRequire } from "node:module";

const requireFromTools = createRequire(new URL("../../tools/package.json", import.meta.url));

/** The BullMQ module (CommonJS build), resolved from tools/node_modules. */
export const bullmq = requireFromTools("bullmq");

/** Sub-millisecond wall-clock time, comparable across processes on one machine. */
export function wallNowMs() {
  return performance.timeOrigin + performance.now();
}

/** Writes one JSON line to stdout: the only thing the Deno bench reads from these scripts. */
export function emit(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

/** Resolves after `ms` milliseconds. */
export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * The ioredis connection options of every BullMQ object here. Workers need
 * `maxRetriesPerRequest: null` (BullMQ refuses to start otherwise).
 */
export function connectionTo(port) {
  return { host: "127.0.0.1", port, maxRetriesPerRequest: null };
}

/**
 * A whole number ≥ `min` from a command-line value.
 * @throws {RangeError} naming the flag and the value seen
 */
export function intArg(values, flag, min) {
  const n = Number(values[flag]);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${flag} must be an integer ≥ ${min}, got "${values[flag]}"`);
  }
  return n;
}
