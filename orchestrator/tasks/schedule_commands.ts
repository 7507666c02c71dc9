/**
 * The schedule commands of the task state machine: schedules set, paused, resumed and removed,
 * and the leader's firings of their ticks. Part of `apply`, so pure and deterministic like it.
 *
 * Exactly once per tick: a firing is a log entry, and applying it is refused on every replica
 * alike unless its tick is later than the schedule's last fired tick (and after the schedule was
 * set or resumed, and not after the entry's own time). Two leaders of different terms may both
 * propose tick T (the first one's proposal committed but not yet known to the second): the first
 * to apply submits the task, the other is refused. The task's idempotency key,
 * `schedule:<name>:<tickMs>`, is a second guard: even a repeated submission names the same task.
 * @module
 */
import { assertNever } from "../../shared/assert.ts";
import { LIMITS } from "../../shared/limits.ts";
import type {
  ApplyResult,
  ScheduleFired,
  SchedulePaused,
  ScheduleRemoved,
  ScheduleSet,
  TaskSubmitted,
} from "./commands.ts";
import type { ScheduleRecord, UserRecord } from "./records.ts";
import { OK, rejected } from "./_apply_results.ts";

/** The commands {@link ScheduleCommands} applies. */
export type ScheduleCommand = ScheduleSet | ScheduleRemoved | SchedulePaused | ScheduleFired;

/** Where a schedule lives in `schedules`: owner and name. */
export function scheduleKey(owner: string, name: string): string {
  return `${owner}\n${name}`;
}

/** The idempotency key of the task that tick `tickMs` of schedule `name` submits. */
export function scheduledTaskKey(name: string, tickMs: number): string {
  return `schedule:${name}:${tickMs}`;
}

/** The replicated state the schedule commands change (the task state machine is one). */
export interface ScheduleCommandState {
  /** scheduleKey(owner, name) -> schedule. */
  schedules: Map<string, ScheduleRecord>;
  users: Map<string, UserRecord>;
}

/** How a firing submits its task: the state machine's own submit path. */
export type SubmitTask = (command: TaskSubmitted) => ApplyResult;

/** Applies schedule commands to a {@link ScheduleCommandState}. */
export class ScheduleCommands {
  readonly #state: ScheduleCommandState;
  readonly #submit: SubmitTask;

  constructor(state: ScheduleCommandState, submit: SubmitTask) {
    this.#state = state;
    this.#submit = submit;
  }

  apply(command: ScheduleCommand): ApplyResult {
    switch (command.type) {
      case "scheduleSet":
        return this.#set(command);
      case "scheduleRemoved":
        return this.#remove(command);
      case "schedulePaused":
        return this.#pause(command);
      case "scheduleFired":
        return this.#fire(command);
      default:
        return assertNever(command, "unknown schedule command");
    }
  }

  /** Schedules of `owner`. */
  countOf(owner: string): number {
    let count = 0;
    for (const schedule of this.#state.schedules.values()) {
      if (schedule.owner === owner) count += 1;
    }
    return count;
  }

  #set(command: ScheduleSet): ApplyResult {
    const key = scheduleKey(command.owner, command.name);
    const existing = this.#state.schedules.get(key);
    if (existing === undefined && this.countOf(command.owner) >= LIMITS.schedulesPerUserMax) {
      return rejected(
        `${command.owner} has ${LIMITS.schedulesPerUserMax} schedules, the most a user may have; remove one first`,
      );
    }
    this.#state.schedules.set(key, {
      name: command.name,
      owner: command.owner,
      cron: command.cron,
      timezone: command.timezone ?? null,
      task: command.task,
      createdAtMs: existing?.createdAtMs ?? command.atMs,
      // Never earlier than a tick already fired: the next firing must be later anyway.
      activeFromMs: Math.max(command.atMs, existing?.lastTickMs ?? 0),
      paused: existing?.paused ?? false,
      lastTickMs: existing?.lastTickMs ?? null,
      lastTaskId: existing?.lastTaskId ?? null,
      fired: existing?.fired ?? 0,
      missedTicks: existing?.missedTicks ?? 0,
    });
    return OK;
  }

  #remove(command: ScheduleRemoved): ApplyResult {
    const deleted = this.#state.schedules.delete(scheduleKey(command.owner, command.name));
    return deleted ? OK : rejected(`no schedule named ${command.name}`);
  }

  #pause(command: SchedulePaused): ApplyResult {
    const schedule = this.#state.schedules.get(scheduleKey(command.owner, command.name));
    if (schedule === undefined) return rejected(`no schedule named ${command.name}`);
    if (schedule.paused === command.paused) return OK;
    schedule.paused = command.paused;
    // Resumed: ticks that passed while paused never fire.
    if (!command.paused) schedule.activeFromMs = Math.max(schedule.activeFromMs, command.atMs);
    return OK;
  }

  #fire(command: ScheduleFired): ApplyResult {
    const schedule = this.#state.schedules.get(scheduleKey(command.owner, command.name));
    if (schedule === undefined) return rejected(`no schedule named ${command.name}`);
    if (schedule.paused) return rejected("schedule is paused");
    if (schedule.lastTickMs !== null && command.tickMs <= schedule.lastTickMs) {
      return rejected(`tick ${command.tickMs} is not after the last fired ${schedule.lastTickMs}`);
    }
    if (command.tickMs <= schedule.activeFromMs) {
      return rejected(`tick ${command.tickMs} is before the schedule was set or resumed`);
    }
    if (command.tickMs > command.atMs) return rejected(`tick ${command.tickMs} is not due yet`);
    if (!this.#state.users.has(schedule.owner)) return rejected("owner account is gone");
    schedule.lastTickMs = command.tickMs;
    schedule.fired += 1;
    schedule.missedTicks += command.missed ?? 0;
    const result = this.#submit({
      type: "taskSubmitted",
      owner: schedule.owner,
      idempotencyKey: scheduledTaskKey(schedule.name, command.tickMs),
      spec: schedule.task.spec,
      maxAttempts: schedule.task.maxAttempts,
      ...(schedule.task.retry === undefined ? {} : { retry: schedule.task.retry }),
      atMs: command.atMs,
      lamport: command.lamport,
      node: command.node,
    });
    const taskId = result.type === "submitted" ? result.taskId : null;
    schedule.lastTaskId = taskId;
    return { type: "fired", taskId };
  }
}
