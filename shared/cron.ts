/**
 * Cron expressions for schedules: validation and the ticks an expression names, computed by
 * `croner` (npm, no dependencies). Pure: every answer depends only on the expression, the time
 * zone and the time passed in, never on the clock, so the leader, the simulator's checker and
 * the CLI compute the same ticks from the same inputs.
 *
 * croner's `nextRun(date)` and `previousRuns(n, date)` evaluate `new Date()` but use it only when
 * no date is given; we always give one (the tests pin answers for 1970 and 2026 while the clock
 * says otherwise). A tick is a whole second in ms since the epoch.
 *
 * Expressions have five fields (minute hour day month weekday), six (seconds first) or seven
 * (seconds ... year), or a nickname (`@hourly`, `@daily`, ...). Time zones are IANA names; without
 * one, UTC.
 * @module
 */
import { Cron } from "npm:croner@^11.0.1";
import { LIMITS } from "./limits.ts";

/** Ticks counted at most between two instants (`countTicksBetween`); more reads as this many. */
export const TICK_COUNT_MAX = 10_000;

/** Ticks looked at after a start to check the minimum interval (`validateCron`). */
const INTERVAL_PROBE_TICKS = 16;

/** Parsed expressions by (expression, zone): the leader asks about the same few every tick. */
const parsed = new Map<string, Cron>();
const PARSED_MAX = 4096;

function cronOf(expr: string, timezone: string | undefined): Cron {
  const key = `${timezone ?? ""}\n${expr}`;
  let cron = parsed.get(key);
  if (cron === undefined) {
    // A string with ':' is a date to croner (a one-shot run), never a cron expression.
    if (expr.includes(":")) {
      throw new SyntaxError(`"${expr}" is a date, not a cron expression`);
    }
    // No callback: croner schedules nothing and keeps no timer.
    cron = new Cron(expr, { timezone, paused: true, mode: "auto" });
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(key, cron);
  }
  return cron;
}

/**
 * Why `expr` (in `timezone`) cannot drive a schedule, or null when it can: it must parse, name a
 * known IANA zone, fire at least once after `fromMs`, and its ticks must be at least
 * `LIMITS.scheduleIntervalMsMin` apart.
 * @example validateCron("*\/5 * * * * *") // null
 * @example validateCron("61 * * * *") // "CronPattern: Invalid value for minute: 61"
 */
export function validateCron(
  expr: string,
  options: { timezone?: string; fromMs?: number } = {},
): string | null {
  const timezone = options.timezone;
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    } catch {
      // RangeError is the only thing this throws for a bad zone name; it is the answer.
      return `unknown time zone "${timezone}" (an IANA name such as Europe/Berlin or UTC)`;
    }
  }
  let cron: Cron;
  let first: number | null;
  try {
    cron = cronOf(expr, timezone);
    first = nextTickAfter(expr, { timezone, afterMs: options.fromMs ?? 0 });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (first === null) return `"${expr}" never fires`;
  const ticks = cron.nextRuns(INTERVAL_PROBE_TICKS, new Date(first)).map((d) => d.getTime());
  let previous = first;
  for (const tick of ticks) {
    if (tick - previous < LIMITS.scheduleIntervalMsMin) {
      return `"${expr}" fires ${tick - previous} ms apart; schedules fire at most every ${
        LIMITS.scheduleIntervalMsMin / 1000
      } s`;
    }
    previous = tick;
  }
  return null;
}

/**
 * The first tick of `expr` strictly after `afterMs`, or null if there is none (before year 3000).
 * @throws {Error} croner's error when `expr` does not parse (see `validateCron`).
 */
export function nextTickAfter(
  expr: string,
  options: { timezone?: string; afterMs: number },
): number | null {
  const next = cronOf(expr, options.timezone).nextRun(new Date(options.afterMs));
  return next === null ? null : next.getTime();
}

/**
 * The last tick of `expr` at or before `atMs`, or null if there is none.
 * @throws {Error} croner's error when `expr` does not parse.
 */
export function lastTickAtOrBefore(
  expr: string,
  options: { timezone?: string; atMs: number },
): number | null {
  // previousRuns gives ticks strictly before its date; ticks are whole seconds.
  const before = Math.floor(options.atMs / 1000) * 1000 + 1;
  const [last] = cronOf(expr, options.timezone).previousRuns(1, new Date(before));
  return last === undefined ? null : last.getTime();
}

/**
 * How many ticks of `expr` lie strictly between `afterMs` and `beforeMs`, counting at most
 * TICK_COUNT_MAX.
 */
export function countTicksBetween(
  expr: string,
  options: { timezone?: string; afterMs: number; beforeMs: number },
): number {
  let count = 0;
  let at = options.afterMs;
  while (count < TICK_COUNT_MAX) {
    const next = nextTickAfter(expr, { timezone: options.timezone, afterMs: at });
    if (next === null || next >= options.beforeMs) break;
    count += 1;
    at = next;
  }
  return count;
}

/** True when `tickMs` is a tick of `expr` (the simulator's checker asks this of every firing). */
export function isTick(expr: string, options: { timezone?: string; tickMs: number }): boolean {
  return nextTickAfter(expr, { timezone: options.timezone, afterMs: options.tickMs - 1 }) ===
    options.tickMs;
}
