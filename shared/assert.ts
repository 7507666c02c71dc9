/**
 * Invariant checks for the pure cores. A failed assertion is a bug, never bad
 * user input: it stops the node loudly, because the cluster is built to survive
 * a stopped node, not a corrupted one.
 * @module
 */

/** Thrown when an invariant does not hold. Callers never catch it to continue. */
export class InvariantError extends Error {
  override name = "InvariantError";
}

/**
 * Asserts that `condition` holds.
 * @throws {InvariantError} when it does not.
 * @example
 * assert(entry.index === lastIndex + 1, `log gap: appending ${entry.index} after ${lastIndex}`);
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** Marks a branch the type system proves unreachable; a new union member breaks the build here. */
export function assertNever(value: never, context = "unexpected value"): never {
  throw new InvariantError(`${context}: ${JSON.stringify(value)}`);
}
