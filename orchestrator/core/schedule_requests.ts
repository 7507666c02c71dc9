/**
 * The schedule requests: `scheduleAdd` (the cron expression and zone checked here, against the
 * leader's clock, before anything is proposed), `scheduleRemove`, `schedulePause` (proposed; the
 * reply comes when the entry applies) and `scheduleList` (a read, from the applied state). Users
 * act on their own schedules; admins may name another owner, and list everyone's.
 * @module
 */
import { nextTickAfter, validateCron } from "../../shared/cron.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { ClientToOrchestrator, ScheduleView } from "../../shared/protocol/messages.ts";
import { scheduleKey, type ScheduleRecord, type TaskStateMachine } from "../tasks/mod.ts";
import { type Caller, type RequestContext, requireAdmin } from "./account_requests.ts";
import type { ConnId } from "./node_io.ts";
import type { Stamp } from "../tasks/mod.ts";

export type ScheduleRequest = Extract<
  ClientToOrchestrator,
  { type: "scheduleAdd" | "scheduleList" | "scheduleRemove" | "schedulePause" }
>;

/** What the schedule requests need from the node. */
export interface ScheduleRequestContext extends RequestContext {
  options: { defaultMaxAttempts: number };
  stamp(): Stamp;
}

/** Serves one schedule request of an authenticated caller. */
export function handleScheduleRequest(
  ctx: ScheduleRequestContext,
  conn: ConnId,
  request: ScheduleRequest,
  caller: Caller,
): void {
  switch (request.type) {
    case "scheduleAdd":
      addSchedule(ctx, conn, request, caller);
      break;
    case "scheduleList":
      if (
        request.all === true &&
        !requireAdmin(ctx, conn, request.id, caller, "list every user's schedules")
      ) {
        break;
      }
      ctx.send(conn, {
        type: "scheduleList",
        re: request.id,
        schedules: listSchedules(ctx.sm(), request.all === true ? null : caller.user),
      });
      break;
    case "scheduleRemove":
    case "schedulePause":
      changeSchedule(ctx, conn, request, caller);
      break;
  }
}

function addSchedule(
  ctx: ScheduleRequestContext,
  conn: ConnId,
  request: Extract<ScheduleRequest, { type: "scheduleAdd" }>,
  caller: Caller,
): void {
  const problem = validateCron(request.cron, {
    ...(request.timezone === undefined ? {} : { timezone: request.timezone }),
    fromMs: ctx.nowMs(),
  });
  if (problem !== null) {
    ctx.sendError(
      conn,
      request.id,
      "bad_request",
      `Cannot add schedule ${request.name}: ${problem}`,
    );
    return;
  }
  const sm = ctx.sm();
  const isNew = !sm.schedules.has(scheduleKey(caller.user, request.name));
  if (isNew && sm.schedulesOf(caller.user) >= LIMITS.schedulesPerUserMax) {
    ctx.refuse(
      conn,
      request.id,
      "conflict",
      `Cannot add schedule ${request.name}: ${caller.user} has ${LIMITS.schedulesPerUserMax} ` +
        `schedules, the most a user may have; remove one first`,
    );
    return;
  }
  ctx.proposeDone(
    conn,
    request.id,
    `Schedule ${request.name} ${isNew ? "added" : "replaced"}`,
    {
      type: "scheduleSet",
      name: request.name,
      owner: caller.user,
      cron: request.cron,
      ...(request.timezone === undefined ? {} : { timezone: request.timezone }),
      task: {
        spec: request.task,
        maxAttempts: request.maxAttempts ?? ctx.options.defaultMaxAttempts,
        ...(request.retry === undefined ? {} : { retry: request.retry }),
      },
      ...ctx.stamp(),
    },
  );
}

function changeSchedule(
  ctx: ScheduleRequestContext,
  conn: ConnId,
  request: Extract<ScheduleRequest, { type: "scheduleRemove" | "schedulePause" }>,
  caller: Caller,
): void {
  const owner = request.owner ?? caller.user;
  if (
    owner !== caller.user &&
    !requireAdmin(ctx, conn, request.id, caller, "change another user's schedules")
  ) return;
  const schedule = ctx.sm().schedules.get(scheduleKey(owner, request.name));
  if (schedule === undefined) {
    ctx.refuse(conn, request.id, "not_found", `No schedule named ${request.name} of ${owner}`);
    return;
  }
  if (request.type === "scheduleRemove") {
    ctx.proposeDone(conn, request.id, `Schedule ${request.name} removed`, {
      type: "scheduleRemoved",
      name: request.name,
      owner,
      by: caller.user,
      ...ctx.stamp(),
    });
    return;
  }
  ctx.proposeDone(
    conn,
    request.id,
    `Schedule ${request.name} ${request.paused ? "paused" : "resumed"}`,
    { type: "schedulePaused", name: request.name, owner, paused: request.paused, ...ctx.stamp() },
  );
}

/** The schedules of `owner` (null: everyone's), by owner then name. */
export function listSchedules(sm: TaskStateMachine, owner: string | null): ScheduleView[] {
  const schedules = [...sm.schedules.values()].filter((s) => owner === null || s.owner === owner);
  schedules.sort((a, b) =>
    a.owner === b.owner ? (a.name < b.name ? -1 : 1) : (a.owner < b.owner ? -1 : 1)
  );
  return schedules.map(toScheduleView);
}

/** A schedule as `schedule list` shows it, with the next tick that may fire. */
export function toScheduleView(schedule: ScheduleRecord): ScheduleView {
  return {
    name: schedule.name,
    owner: schedule.owner,
    cron: schedule.cron,
    timezone: schedule.timezone,
    task: schedule.task,
    paused: schedule.paused,
    createdAtMs: schedule.createdAtMs,
    nextTickMs: schedule.paused ? null : nextTickOf(schedule),
    lastTickMs: schedule.lastTickMs,
    lastTaskId: schedule.lastTaskId,
    fired: schedule.fired,
    missedTicks: schedule.missedTicks,
  };
}

function nextTickOf(schedule: ScheduleRecord): number | null {
  const afterMs = Math.max(schedule.lastTickMs ?? 0, schedule.activeFromMs);
  try {
    return nextTickAfter(schedule.cron, { timezone: schedule.timezone ?? undefined, afterMs });
  } catch {
    return null; // validated when set: only a croner upgrade that refuses it gets here
  }
}
