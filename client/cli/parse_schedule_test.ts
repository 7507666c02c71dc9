// Proves the schedule commands' parsing: `schedule add` takes its task as `submit` does (handler,
// simulated or exec, with retries and limits), checks the cron expression and zone with croner
// before anything is sent (a bad one exits 2 with croner's message), and list/remove/pause/resume
// take what they should.
import assert from "node:assert/strict";
import { UsageError } from "../../shared/cli_args.ts";
import { parseInvocation } from "./parse_command.ts";

function parse(...args: string[]) {
  return parseInvocation(["schedule", ...args]).command;
}

function refused(args: string[], pattern: RegExp): void {
  assert.throws(() => parse(...args), (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.match((error as Error).message, pattern);
    return true;
  });
}

Deno.test("schedule add with --kind makes a handler task on a cron expression and zone", () => {
  const command = parse(
    "add",
    "nightly",
    "--cron",
    "0 2 * * *",
    "--tz",
    "Europe/Berlin",
    "--kind",
    "report",
    "--payload",
    '{"day":1}',
    "--retries",
    "2",
    "--max-attempts",
    "4",
  );
  assert.deepEqual(command, {
    name: "scheduleAdd",
    scheduleName: "nightly",
    cron: "0 2 * * *",
    timezone: "Europe/Berlin",
    spec: { kind: "handler", handler: "report", description: "", payload: '{"day":1}' },
    payloadFile: null,
    retry: { retries: 2, backoff: "exponential", delayMs: 1000, maxDelayMs: 300_000 },
    maxAttempts: 4,
  });
});

Deno.test("schedule add takes the seed's task and an exec task like submit", () => {
  const sleep = parse("add", "beat", "--cron", "*/1 * * * * *", "tick", "-d", "0.5");
  assert.equal(sleep.name, "scheduleAdd");
  assert.deepEqual(sleep.name === "scheduleAdd" && sleep.spec, {
    kind: "sleep",
    description: "tick",
    durationMs: 500,
  });
  const exec = parse("add", "ping", "--cron", "@hourly", "--exec", "--", "echo", "hi");
  assert.equal(exec.name === "scheduleAdd" && exec.spec.kind, "exec");
  assert.equal(exec.name === "scheduleAdd" && exec.timezone, null);
  // As the issue writes it: a program after -- needs no --exec.
  const program = parse("add", "ping", "--cron", "@hourly", "--", "echo", "hi");
  assert.deepEqual(
    program.name === "scheduleAdd" && program.spec,
    exec.name === "scheduleAdd" && exec.spec,
  );
});

Deno.test("schedule add refuses a bad cron expression or zone with croner's message", () => {
  refused(["add", "x", "--cron", "61 * * * *", "t", "-d", "1"], /Invalid value for minute: 61/);
  refused(["add", "x", "--cron", "* * *", "t", "-d", "1"], /five, six, or seven/);
  refused(
    ["add", "x", "--cron", "* * * * *", "--tz", "Mars/Base", "t", "-d", "1"],
    /unknown time zone "Mars\/Base"/,
  );
  refused(["add", "x", "t", "-d", "1"], /missing --cron EXPR/);
  refused(["add", "9lives", "--cron", "* * * * *", "t", "-d", "1"], /Invalid schedule NAME/);
  refused(
    ["add", "x", "--cron", "* * * * *", "--delay", "3", "t", "-d", "1"],
    /does not take --delay/,
  );
});

Deno.test("schedule list, remove, pause and resume", () => {
  assert.deepEqual(parse("list", "--all"), { name: "scheduleList", all: true });
  assert.deepEqual(parse("remove", "beat"), {
    name: "scheduleRemove",
    scheduleName: "beat",
    owner: null,
  });
  assert.deepEqual(parse("pause", "beat", "--owner", "bob"), {
    name: "schedulePause",
    scheduleName: "beat",
    paused: true,
    owner: "bob",
  });
  assert.deepEqual(parse("resume", "beat"), {
    name: "schedulePause",
    scheduleName: "beat",
    paused: false,
    owner: null,
  });
  refused(["stop", "beat"], /Expected: schedule add\|remove\|list\|pause\|resume/);
});
