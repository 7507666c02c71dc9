/**
 * The `schedule` commands' arguments, without I/O: `schedule add` (its task described by the same
 * flags as `submit`'s, parse_submit.ts; the cron expression and zone checked here with croner, so a
 * bad one exits 2 before anything is sent), `schedule list`, `remove`, `pause` and `resume`.
 * @module
 */
import { UsageError } from "../../shared/cli_args.ts";
import { validateCron } from "../../shared/cron.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { RetryPolicy, TaskSpec } from "../../shared/protocol/messages.ts";
import type { Parsed } from "./flag_values.ts";
import { userName } from "./parse_command.ts";
import { buildTaskSpec, maxAttemptsOf, retryPolicyOf } from "./parse_submit.ts";

/** A validated `schedule` command. */
export type ScheduleCommand =
  | {
    name: "scheduleAdd";
    scheduleName: string;
    cron: string;
    /** IANA zone; null: UTC. */
    timezone: string | null;
    spec: TaskSpec;
    /** `--payload @FILE`: the shell reads the payload from this file into the spec. */
    payloadFile: string | null;
    retry: RetryPolicy | null;
    maxAttempts: number | null;
  }
  | { name: "scheduleList"; all: boolean }
  | { name: "scheduleRemove"; scheduleName: string; owner: string | null }
  | { name: "schedulePause"; scheduleName: string; paused: boolean; owner: string | null };

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]*$/;

/**
 * Builds the `schedule` command `specName` ("schedule add", ...) from its parsed arguments.
 * @throws {UsageError} for a bad name, cron expression, zone or task flag.
 */
export function buildSchedule(specName: string, parsed: Parsed): ScheduleCommand {
  const { values, positionals } = parsed;
  switch (specName) {
    case "schedule add":
      return buildAdd(parsed);
    case "schedule list":
      return { name: "scheduleList", all: values.all };
    case "schedule remove":
      return {
        name: "scheduleRemove",
        scheduleName: scheduleName(positionals[0]),
        owner: ownerOf(parsed),
      };
    case "schedule pause":
    case "schedule resume":
      return {
        name: "schedulePause",
        scheduleName: scheduleName(positionals[0]),
        paused: specName === "schedule pause",
        owner: ownerOf(parsed),
      };
    default:
      throw new UsageError(`Unknown command "${specName}" (try mutirao help)`);
  }
}

function buildAdd(parsed: Parsed): ScheduleCommand {
  const { values, positionals } = parsed;
  const name = scheduleName(positionals[0]);
  const cron = values.cron;
  if (cron === undefined) {
    throw new UsageError(
      `Cannot add schedule ${name}: missing --cron EXPR (e.g. --cron "*/10 * * * * *")`,
    );
  }
  if (cron.length > LIMITS.cronChars) {
    throw new UsageError(`Invalid --cron: at most ${LIMITS.cronChars} characters`);
  }
  const timezone = values.tz ?? null;
  if (timezone !== null && timezone.length > LIMITS.timeZoneChars) {
    throw new UsageError(`Invalid --tz: at most ${LIMITS.timeZoneChars} characters`);
  }
  const problem = validateCron(cron, timezone === null ? {} : { timezone });
  if (problem !== null) throw new UsageError(`Invalid --cron "${cron}": ${problem}`);
  // The task's own arguments follow the name, as they follow `submit`.
  const { spec, payloadFile } = buildTaskSpec({ ...parsed, positionals: positionals.slice(1) });
  return {
    name: "scheduleAdd",
    scheduleName: name,
    cron,
    timezone,
    spec,
    payloadFile,
    retry: retryPolicyOf(values) ?? null,
    maxAttempts: maxAttemptsOf(values),
  };
}

function ownerOf({ values }: Parsed): string | null {
  return values.owner === undefined ? null : userName(values.owner);
}

function scheduleName(value: string | undefined): string {
  if (value === undefined || !NAME_PATTERN.test(value) || value.length > LIMITS.scheduleNameChars) {
    throw new UsageError(
      `Invalid schedule NAME: expected a letter, then letters, digits, '_', '.', ':' or '-' (at most ${LIMITS.scheduleNameChars}), got ${
        JSON.stringify((value ?? "").slice(0, LIMITS.scheduleNameChars))
      }`,
    );
  }
  return value;
}
