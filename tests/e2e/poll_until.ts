/**
 * A bounded poll for end-to-end tests, for conditions that announce themselves with no event
 * (a process gone from /proc, a worker gone from a list): check, pause briefly, check again, and
 * fail once the deadline passes.
 * @module
 */

export interface PollOptions {
  /** Give up after this long; the bound of a failing test, not an expected duration. */
  deadlineMs?: number;
  intervalMs?: number;
}

/**
 * Calls `check` until it returns something other than `undefined`, and returns that.
 * @throws {Error} naming `what` when the deadline passes first.
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.deadlineMs ?? 15_000);
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
