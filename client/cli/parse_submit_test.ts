// Proves submit's new flags: handler tasks (--kind, --payload JSON or @FILE), retries with backoff,
// per-attempt time limits, delays and --at, and that each bad value is refused with a message
// naming it (exit 2), while the seed's and exec's forms keep working.
import assert from "node:assert/strict";
import { UsageError } from "../../shared/cli_args.ts";
import { parseInvocation } from "./parse_command.ts";
import { parseAt } from "./parse_submit.ts";

function submit(...args: string[]) {
  const { command } = parseInvocation(["submit", ...args]);
  assert.equal(command.name, "submit");
  return command as Extract<typeof command, { name: "submit" }>;
}

function refused(args: string[], pattern: RegExp): void {
  assert.throws(() => parseInvocation(["submit", ...args]), (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.match((error as Error).message, pattern);
    return true;
  });
}

Deno.test("submit --kind makes a handler task with its JSON payload, description and time limit", () => {
  const command = submit(
    "--kind",
    "resize",
    "--payload",
    '{"w":3}',
    "--task-timeout",
    "2.5",
    "pic",
  );
  assert.deepEqual(command.spec, {
    kind: "handler",
    handler: "resize",
    description: "pic",
    payload: '{"w":3}',
    timeoutMs: 2500,
  });
  assert.equal(command.payloadFile, null);
  assert.deepEqual(submit("--kind", "ping").spec, {
    kind: "handler",
    handler: "ping",
    description: "",
    payload: "null",
  });
  assert.equal(submit("--kind", "ping", "--payload", "@in.json").payloadFile, "in.json");
});

Deno.test("submit --retries builds the retry policy, exponential unless asked for fixed", () => {
  assert.deepEqual(submit("x", "-d", "1", "--retries", "3").options, {
    retry: { retries: 3, backoff: "exponential", delayMs: 1000, maxDelayMs: 300_000 },
  });
  assert.deepEqual(
    submit("x", "-d", "1", "--retries", "2", "--backoff", "0.5", "--backoff-type", "fixed")
      .options.retry,
    { retries: 2, backoff: "fixed", delayMs: 500, maxDelayMs: 300_000 },
  );
  // A cap below the first pause would shorten it: the cap is raised to the pause instead.
  assert.equal(
    submit("x", "-d", "1", "--retries", "1", "--backoff", "10", "--max-backoff", "2").options.retry
      ?.maxDelayMs,
    10_000,
  );
});

Deno.test("submit --delay and --at put a task off", () => {
  assert.deepEqual(submit("x", "-d", "1", "--delay", "90").options, { delayMs: 90_000 });
  const soon = new Date(Date.now() + 3_600_000).toISOString();
  assert.deepEqual(submit("x", "-d", "1", "--at", soon).options, { runAtMs: Date.parse(soon) });
  const now = Date.parse("2029-06-01T00:00:00Z");
  assert.equal(parseAt("2030-01-01T00:00:00Z", now), Date.parse("2030-01-01T00:00:00Z"));
  assert.equal(parseAt("2029-06-01 12:30", now), Date.parse("2029-06-01T12:30"));
});

Deno.test("submit refuses bad new flags with a message naming each", () => {
  refused(["--kind", "sleep"], /built in/);
  refused(["--kind", "9lives"], /Invalid --kind/);
  refused(["--kind", "a", "--payload", "{oops"], /not JSON/);
  refused(["--kind", "a", "--payload", "@"], /@ must be followed by a file/);
  refused(["--kind", "a", "--exec", "--", "ls"], /Choose one of --kind and --exec/);
  refused(["--kind", "a", "-d", "3"], /do not apply to --kind/);
  refused(["x", "-d", "1", "--payload", "1"], /--payload applies only with --kind/);
  refused(["x", "-d", "1", "--backoff", "1"], /--backoff applies only with --retries/);
  refused(["x", "-d", "1", "--retries", "101"], /retries/);
  refused(["x", "-d", "1", "--retries", "1", "--backoff-type", "linear"], /exponential or fixed/);
  refused(["x", "-d", "1", "--task-timeout", "0"], /more than 0/);
  refused(
    ["x", "-d", "1", "--delay", "1", "--at", "2030-01-01T00:00:00Z"],
    /one of --delay and --at/,
  );
  refused(["x", "-d", "1", "--at", "tomorrow"], /ISO 8601/);
  refused(["x", "-d", "1", "--at", "2026-12-24"], /ISO 8601/);
  refused(["x", "-d", "1", "--at", "2999-01-01T00:00:00Z"], /more than a year ahead/);
  refused(["--batch", "f", "--retries", "2"], /drop --retries/);
  refused(["--exec", "--exec-timeout", "1", "--task-timeout", "1", "--", "ls"], /Choose one/);
});

Deno.test("submit --priority and --queue place a task in a lane", () => {
  // A negative value follows an = sign (a bare -7 would read as a flag).
  assert.deepEqual(submit("x", "-d", "1", "--priority=-7", "--queue", "images").options, {
    priority: -7,
    queue: "images",
  });
  refused(["x", "-d", "1", "--priority", "1001"], /Invalid --priority/);
  refused(["x", "-d", "1", "--priority", "1.5"], /Invalid --priority/);
  refused(["x", "-d", "1", "--queue", "no spaces"], /Invalid --queue/);
  assert.deepEqual(submit("x", "-d", "1", "--after", "t-3, t-9").options, {
    after: ["t-3", "t-9"],
  });
  refused(["x", "-d", "1", "--after", "t-3,t-3"], /Invalid --after/);
  refused(["x", "-d", "1", "--after", "3"], /Invalid --after/);
  assert.deepEqual(submit("x", "-d", "1", "--queue-timeout", "2.5").options, {
    queueTimeoutMs: 2500,
  });
  refused(["x", "-d", "1", "--queue-timeout", "0"], /more than 0/);
});

Deno.test("submit --exec takes --task-timeout as its time limit", () => {
  const spec = submit("--exec", "--task-timeout", "7", "--", "ls").spec;
  assert.equal(spec.kind === "exec" && spec.timeoutMs, 7000);
});
