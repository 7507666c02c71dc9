/**
 * Times as text for messages and history details: pure formatting of a time it is given (the
 * cores must never read the clock; this never does).
 * @module
 */

/** `ms` since the epoch as ISO 8601 in UTC, e.g. 2026-12-05T20:15:00.000Z. */
export function isoTime(ms: number): string {
  // A date holds ±8.64e15 ms: beyond, say the number rather than throw inside a node's step.
  return Math.abs(ms) <= DATE_MS_MAX ? new Date(ms).toISOString() : `${ms} ms after 1970`;
}

/** The furthest time a Date holds. */
const DATE_MS_MAX = 8.64e15;
