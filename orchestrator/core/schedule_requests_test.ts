// Proves the schedule requests: a bad cron expression or zone is refused before anything is
// proposed, with croner's message; an add proposes scheduleSet for the caller; users change only
// their own schedules and admins anyone's; the per-user limit is checked up front; and the list
// shows the next tick.
import assert from "node:assert/strict";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import type { OrchestratorToClient, Unstamped } from "../../shared/protocol/messages.ts";
import type { Command } from "../tasks/mod.ts";
import { Harness, SLEEP } from "../tasks/_task_fixtures_test.ts";
import { handleScheduleRequest, type ScheduleRequest } from "./schedule_requests.ts";
import type { Caller } from "./account_requests.ts";

const ENVELOPE = { v: PROTOCOL_VERSION, lamport: 1, token: "secret" } as const;
const ALICE: Caller = { user: "alice", role: "user" };
const ADMIN: Caller = { user: "root", role: "admin" };

function setup() {
  const h = new Harness();
  h.nowMs = 1_000_000;
  const sent: Array<Unstamped<OrchestratorToClient> | { error: string; message: string }> = [];
  const proposed: Command[] = [];
  const ctx = {
    options: { defaultMaxAttempts: 3 },
    sm: () => h.sm,
    nowMs: () => h.nowMs,
    stamp: () => h.stamp(),
    send: (_conn: number, message: Unstamped<OrchestratorToClient>) => sent.push(message),
    sendError: (_c: number, _r: number | null, error: string, message: string) =>
      sent.push({ error, message }),
    refuse: (_c: number, _r: number, error: string, message: string) =>
      sent.push({ error, message }),
    log: () => {},
    proposeDone: (_c: number, _r: number, _message: string, command: Command) => {
      proposed.push(command);
      h.apply(command);
    },
    askPasswordWork: () => {
      throw new Error("not used");
    },
  };
  const handle = (request: Record<string, unknown>, caller: Caller = ALICE) =>
    handleScheduleRequest(ctx, 1, { ...ENVELOPE, ...request } as ScheduleRequest, caller);
  return { h, sent, proposed, handle };
}

const add = (cron: string, extra: object = {}) => ({
  type: "scheduleAdd" as const,
  id: 1,
  name: "beat",
  cron,
  task: SLEEP,
  ...extra,
});

Deno.test("scheduleAdd with a bad expression or zone is refused with croner's message", () => {
  const { sent, proposed, handle } = setup();
  handle(add("61 * * * *"));
  handle(add("* * * * *", { timezone: "Mars/Base" }));
  assert.deepEqual(proposed, []);
  assert.deepEqual(sent, [
    {
      error: "bad_request",
      message: "Cannot add schedule beat: CronPattern: Invalid value for minute: 61",
    },
    {
      error: "bad_request",
      message:
        'Cannot add schedule beat: unknown time zone "Mars/Base" (an IANA name such as Europe/Berlin or UTC)',
    },
  ]);
});

Deno.test("scheduleAdd proposes scheduleSet for the caller; list shows the next tick", () => {
  const { sent, proposed, handle } = setup();
  handle(add("*/3 * * * * *", { timezone: "UTC", maxAttempts: 2 }));
  assert.equal(proposed.length, 1);
  const set = proposed[0];
  assert(set.type === "scheduleSet");
  assert.equal(set.owner, "alice");
  assert.deepEqual(set.task, { spec: SLEEP, maxAttempts: 2 });
  handle({ type: "scheduleList", id: 2 });
  const reply = sent.at(-1);
  assert(reply !== undefined && "type" in reply && reply.type === "scheduleList");
  assert.equal(reply.schedules.length, 1);
  assert.equal(reply.schedules[0].nextTickMs, 1_002_000);
  assert.equal(reply.schedules[0].lastTickMs, null);
});

Deno.test("users change only their own schedules; admins anyone's", () => {
  const { sent, proposed, handle } = setup();
  handle(add("* * * * *"));
  handle({ type: "scheduleRemove", id: 2, name: "beat", owner: "bob" });
  assert.deepEqual(sent.at(-1), {
    error: "forbidden",
    message: "Only admins may change another user's schedules",
  });
  handle({ type: "schedulePause", id: 3, name: "nope", paused: true });
  assert.deepEqual(sent.at(-1), { error: "not_found", message: "No schedule named nope of alice" });
  handle({ type: "schedulePause", id: 4, name: "beat", paused: true, owner: "alice" }, ADMIN);
  handle({ type: "scheduleRemove", id: 5, name: "beat" });
  assert.deepEqual(proposed.map((c) => c.type), [
    "scheduleSet",
    "schedulePaused",
    "scheduleRemoved",
  ]);
  handle({ type: "scheduleList", id: 6, all: true });
  assert.deepEqual(sent.at(-1), {
    error: "forbidden",
    message: "Only admins may list every user's schedules",
  });
});
