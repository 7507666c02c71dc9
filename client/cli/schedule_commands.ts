/**
 * The `schedule` commands' I/O: add (reading `--payload @FILE`), list, remove, pause and resume.
 * Arguments arrive validated (parse_schedule.ts); exit codes come from `outcome.ts`.
 * @module
 */
import { type Context, withSessionClient } from "./cluster_session.ts";
import { formatSchedules } from "./format.ts";
import type { Output } from "./outcome.ts";
import type { ScheduleCommand } from "./parse_schedule.ts";
import { readPayloadFile } from "./task_commands.ts";

type CommandOf<N extends ScheduleCommand["name"]> = Extract<ScheduleCommand, { name: N }>;

export async function scheduleAdd(
  context: Context,
  given: CommandOf<"scheduleAdd">,
): Promise<Output> {
  const command = await withPayloadFile(given);
  const reply = await withSessionClient(context, (c, session) =>
    c.request({
      type: "scheduleAdd",
      token: session.token,
      name: command.scheduleName,
      cron: command.cron,
      ...(command.timezone === null ? {} : { timezone: command.timezone }),
      task: command.spec,
      ...(command.maxAttempts === null ? {} : { maxAttempts: command.maxAttempts }),
      ...(command.retry === null ? {} : { retry: command.retry }),
    }));
  return { json: { name: command.scheduleName, message: reply.message }, text: reply.message };
}

export async function scheduleList(
  context: Context,
  command: CommandOf<"scheduleList">,
): Promise<Output> {
  const reply = await withSessionClient(context, (c, session) =>
    c.request({
      type: "scheduleList",
      token: session.token,
      ...(command.all ? { all: true } : {}),
    }));
  return {
    json: { schedules: reply.schedules },
    text: formatSchedules(reply.schedules, command.all),
  };
}

export async function scheduleRemove(
  context: Context,
  command: CommandOf<"scheduleRemove">,
): Promise<Output> {
  const reply = await withSessionClient(context, (c, session) =>
    c.request({
      type: "scheduleRemove",
      token: session.token,
      name: command.scheduleName,
      ...(command.owner === null ? {} : { owner: command.owner }),
    }));
  return { json: { name: command.scheduleName, message: reply.message }, text: reply.message };
}

export async function schedulePause(
  context: Context,
  command: CommandOf<"schedulePause">,
): Promise<Output> {
  const reply = await withSessionClient(context, (c, session) =>
    c.request({
      type: "schedulePause",
      token: session.token,
      name: command.scheduleName,
      paused: command.paused,
      ...(command.owner === null ? {} : { owner: command.owner }),
    }));
  return {
    json: { name: command.scheduleName, paused: command.paused, message: reply.message },
    text: reply.message,
  };
}

/** `command` with the payload of `--payload @FILE` read into its spec. */
async function withPayloadFile(
  command: CommandOf<"scheduleAdd">,
): Promise<CommandOf<"scheduleAdd">> {
  if (command.payloadFile === null) return command;
  return {
    ...command,
    spec: await readPayloadFile(command.spec, command.payloadFile),
    payloadFile: null,
  };
}
