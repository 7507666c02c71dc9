/**
 * The leader's schedule round: each tick, a ready leader proposes a `scheduleFired` entry for
 * every active schedule with a tick due by its clock, at most one in flight per schedule. The
 * firing only happens when the entry applies (schedule_commands.ts refuses a tick at or before the
 * last fired one), so a proposal lost with a deposed leader, or made twice by two leaders, fires
 * the tick at most once; the next leader proposes it again if it never committed.
 *
 * Missed ticks ("catch up once"): when several ticks of a schedule are due at once (no leader
 * existed for a while, or the cluster was down), only the most recent fires, once; the older
 * ones are counted in the entry (`missed`, shown as the schedule's missed ticks). Like a
 * Kubernetes CronJob's starting deadline, a backlog of runs never floods the queue after an
 * outage. Ticks that passed while a schedule was paused never fire (it counts from its resume).
 * @module
 */
import { countTicksBetween, lastTickAtOrBefore, nextTickAfter } from "../../shared/cron.ts";
import type { Command, ScheduleRecord, Stamp, TaskStateMachine } from "../tasks/mod.ts";
import { scheduleKey } from "../tasks/mod.ts";

/** Firings one round proposes at most (the rest are proposed on the next ticks). */
export const FIRINGS_PER_ROUND_MAX = 256;

/** One firing to propose: tick `tickMs` of a schedule, with the older due ticks it skips. */
export interface Firing {
  owner: string;
  name: string;
  tickMs: number;
  missed: number;
}

/** The first tick a schedule may fire, remembered until its last tick or definition changes. */
interface NextTick {
  fromMs: number;
  cron: string;
  timezone: string | null;
  tickMs: number | null;
}

/**
 * What the leader keeps between rounds: the firings in flight and each schedule's next tick.
 * Soft state: cleared when leadership changes (the state machine decides what fired).
 */
export class ScheduleRounds {
  /** scheduleKey of schedules with a firing proposed and not applied yet. */
  readonly inFlight = new Set<string>();
  /** scheduleKey -> next tick, so a round costs a lookup per schedule, not a cron evaluation. */
  readonly #next = new Map<string, NextTick>();

  clear(): void {
    this.inFlight.clear();
    this.#next.clear();
  }

  /** A firing of this schedule applied or was refused: it may be proposed again. */
  settled(owner: string, name: string): void {
    this.inFlight.delete(scheduleKey(owner, name));
  }

  /** The first tick of `schedule` after `fromMs` (null: none, or its expression is unusable). */
  nextTick(schedule: ScheduleRecord, fromMs: number): number | null {
    const key = scheduleKey(schedule.owner, schedule.name);
    const known = this.#next.get(key);
    if (
      known !== undefined && known.fromMs === fromMs && known.cron === schedule.cron &&
      known.timezone === schedule.timezone
    ) return known.tickMs;
    const tickMs = tryTick(() =>
      nextTickAfter(schedule.cron, { timezone: schedule.timezone ?? undefined, afterMs: fromMs })
    );
    // Bounded by the schedules there are; entries of removed schedules go when the map is full.
    if (this.#next.size > 4 * FIRINGS_PER_ROUND_MAX + 4096) this.#next.clear();
    this.#next.set(key, { fromMs, cron: schedule.cron, timezone: schedule.timezone, tickMs });
    return tickMs;
  }
}

/**
 * The firings due at `nowMs`: for each active schedule without a firing in flight whose next tick
 * (after its last fired tick, and after it was set or resumed) is at or before `nowMs`, its most
 * recent tick at or before `nowMs`, counting the ones in between as missed.
 */
export function planFirings(
  sm: TaskStateMachine,
  options: {
    nowMs: number;
    rounds: ScheduleRounds;
    max?: number;
    /** Tasks an owner may have queued or running (maxActiveTasksPerUser; 0: no limit). */
    maxActivePerUser?: number;
  },
): Firing[] {
  const { nowMs, rounds } = options;
  const max = options.max ?? FIRINGS_PER_ROUND_MAX;
  const firings: Firing[] = [];
  for (const [key, schedule] of sm.schedules) {
    if (firings.length >= max) break;
    if (schedule.paused || rounds.inFlight.has(key)) continue;
    // An owner removed (old logs kept its schedules) or at its quota, as a submission of theirs
    // would be refused: nothing fires for now; once below it, the latest tick fires (catch up once).
    if (!sm.users.has(schedule.owner)) continue;
    const maxActive = options.maxActivePerUser ?? 0;
    if (maxActive > 0 && sm.activeTasksOf(schedule.owner) >= maxActive) continue;
    const fromMs = Math.max(schedule.lastTickMs ?? 0, schedule.activeFromMs);
    const next = rounds.nextTick(schedule, fromMs);
    if (next === null || next > nowMs) continue;
    const firing = dueFiring(schedule, fromMs, next, nowMs);
    if (firing !== null) firings.push(firing);
  }
  return firings;
}

function dueFiring(
  schedule: ScheduleRecord,
  fromMs: number,
  next: number,
  nowMs: number,
): Firing | null {
  const timezone = schedule.timezone ?? undefined;
  const latest = tryTick(() => lastTickAtOrBefore(schedule.cron, { timezone, atMs: nowMs }));
  if (latest === null || latest < next) return null;
  const missed = latest === next
    ? 0
    : countTicksBetween(schedule.cron, { timezone, afterMs: fromMs, beforeMs: latest });
  return { owner: schedule.owner, name: schedule.name, tickMs: latest, missed };
}

/** A tick from croner, or null when the stored expression no longer parses (a newer croner). */
function tryTick(compute: () => number | null): number | null {
  try {
    return compute();
  } catch {
    // Validated when set, so only a croner upgrade that refuses it gets here: the schedule does
    // not fire (and `schedule list` shows no next tick) rather than stopping the leader.
    return null;
  }
}

/** What proposing firings needs from the node. */
export interface ScheduleRoundContext {
  rounds: ScheduleRounds;
  sm(): TaskStateMachine;
  nowMs(): number;
  propose(command: Command): number | null;
  stamp(): Stamp;
  /** The submission quota firings respect (maxActiveTasksPerUser; 0: none). */
  maxActivePerUser?: number;
}

/** Proposes the firings due now (planFirings), marking each schedule in flight. */
export function proposeFirings(ctx: ScheduleRoundContext): void {
  const firings = planFirings(ctx.sm(), {
    nowMs: ctx.nowMs(),
    rounds: ctx.rounds,
    maxActivePerUser: ctx.maxActivePerUser,
  });
  for (const firing of firings) {
    const index = ctx.propose({
      type: "scheduleFired",
      name: firing.name,
      owner: firing.owner,
      tickMs: firing.tickMs,
      ...(firing.missed > 0 ? { missed: firing.missed } : {}),
      ...ctx.stamp(),
    });
    if (index !== null) ctx.rounds.inFlight.add(scheduleKey(firing.owner, firing.name));
  }
}
