// Proves that runHandler turns everything a handler does into an honest outcome: its result as
// JSON, a throw as the error and stack, a bad payload, a result too big or not JSON, a timeout
// and a cancel (at once, even when the handler ignores its signal), and its log as stdout's tail.
import assert from "node:assert/strict";
import { LIMITS } from "../../shared/limits.ts";
import type { TaskSpec } from "../../shared/protocol/messages.ts";
import { type HandlerRunOptions, runHandler } from "./handler_runner.ts";
import type { Handler, HandlerContext } from "./handlers.ts";

type HandlerSpec = Extract<TaskSpec, { kind: "handler" }>;

function spec(payload: unknown, patch: Partial<HandlerSpec> = {}): HandlerSpec {
  return {
    kind: "handler",
    handler: "test",
    description: "",
    payload: JSON.stringify(payload),
    ...patch,
  };
}

const OPTIONS: HandlerRunOptions = { taskId: "t-7", attempt: 2 };

/** A handler that never settles, handing out its context: it ignores its signal. */
function stuck(): { handler: Handler; ctx: Promise<HandlerContext> } {
  const ctx = Promise.withResolvers<HandlerContext>();
  return {
    handler: (_payload, c) => {
      ctx.resolve(c);
      return new Promise(() => {});
    },
    ctx: ctx.promise,
  };
}

Deno.test("runHandler() reports the result as JSON, given the parsed payload and the attempt", async () => {
  let seen: { payload: unknown; taskId: string; attempt: number } | null = null;
  const handler: Handler = (payload, ctx) => {
    seen = { payload, taskId: ctx.taskId, attempt: ctx.attempt };
    return { sum: payload.a + payload.b };
  };
  const outcome = await runHandler(handler, spec({ a: 2, b: 3 }), OPTIONS).done;
  assert.deepEqual(seen, { payload: { a: 2, b: 3 }, taskId: "t-7", attempt: 2 });
  assert.equal(outcome.status, "succeeded");
  assert.equal(outcome.value, '{"sum":5}');
  assert.equal(outcome.error, null);
  assert.equal(outcome.exitCode, null);
  assert.ok(Number.isInteger(outcome.durationMs) && outcome.durationMs >= 0);
  assert.equal("timedOut" in outcome, false);
});

Deno.test("runHandler() awaits an async handler and omits the value of one that returns nothing", async () => {
  const asyncOutcome = await runHandler(async () => await Promise.resolve(5), spec(null), OPTIONS)
    .done;
  assert.equal(asyncOutcome.value, "5");
  const outcome = await runHandler(() => undefined, spec(null), OPTIONS).done;
  assert.equal(outcome.status, "succeeded");
  assert.equal("value" in outcome, false);
  const nullOutcome = await runHandler(() => null, spec(null), OPTIONS).done;
  assert.equal(nullOutcome.value, "null", "null is a value");
});

Deno.test("runHandler() fails a payload that is not JSON without calling the handler", async () => {
  let called = false;
  const task = runHandler(
    () => {
      called = true;
    },
    spec(null, { payload: "{not json" }),
    OPTIONS,
  );
  assert.ok(task.ended !== undefined, "ended as it started");
  const outcome = await task.done;
  assert.equal(called, false);
  assert.equal(outcome.status, "failed");
  assert.match(outcome.error ?? "", /^Invalid payload for kind test: not JSON \(/);
});

Deno.test("runHandler() fails with the message and stack of what the handler threw", async () => {
  const outcome = await runHandler(
    () => {
      throw new RangeError("too many widgets");
    },
    spec({}),
    OPTIONS,
  ).done;
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.error, "too many widgets");
  assert.match(outcome.stderr, /^RangeError: too many widgets\n\s+at /);
  assert.equal("value" in outcome, false);

  const rejected = await runHandler(() => Promise.reject(new Error("later")), spec({}), OPTIONS)
    .done;
  assert.equal(rejected.error, "later");

  const thrownString = await runHandler(
    () => {
      throw "plain text";
    },
    spec({}),
    OPTIONS,
  ).done;
  assert.equal(thrownString.error, "plain text");
  assert.equal(thrownString.stderr, "", "a string has no stack");

  const unprintable = await runHandler(
    () => {
      throw Object.create(null);
    },
    spec({}),
    OPTIONS,
  ).done;
  assert.match(unprintable.error ?? "", /cannot be shown as text/);
});

Deno.test("runHandler() times out at once a handler that ignores its signal, and fires the signal", async () => {
  const { handler, ctx } = stuck();
  const outcome = await runHandler(handler, spec({}, { timeoutMs: 20 }), OPTIONS).done;
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.timedOut, true);
  assert.equal(outcome.error, "timed out after 0.02 s");
  const { signal } = await ctx;
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as DOMException).name, "TimeoutError");
});

Deno.test("runHandler() ends a cancelled attempt at once with the reason, and fires the signal", async () => {
  const { handler, ctx } = stuck();
  const task = runHandler(handler, spec({}, { timeoutMs: 60_000 }), OPTIONS);
  const { signal } = await ctx;
  const aborted = new Promise<unknown>((resolve) =>
    signal.addEventListener("abort", () => resolve(signal.reason))
  );
  task.kill("cancelled by user1");
  const outcome = await task.done;
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.error, "cancelled by user1");
  assert.equal("timedOut" in outcome, false);
  const reason = await aborted as DOMException;
  assert.equal(reason.name, "AbortError");
  assert.equal(reason.message, "cancelled by user1");
});

Deno.test("runHandler() keeps what a handler logs after its end out of the outcome, in the debug log", async () => {
  const debug: string[] = [];
  const ctx = Promise.withResolvers<HandlerContext>();
  const task = runHandler(
    (_payload, c) => {
      c.log("before");
      ctx.resolve(c);
      return new Promise(() => {});
    },
    spec({}),
    { ...OPTIONS, debug: (m) => debug.push(m) },
  );
  task.kill("stop");
  const outcome = await task.done;
  (await ctx.promise).log("after");
  assert.equal(outcome.stdout, "before\n");
  assert.deepEqual(debug, ["after its end: after"]);
});

Deno.test("runHandler() fails a result bigger than the limit, saying how big it was", async () => {
  const outcome = await runHandler(() => "x".repeat(20), spec({}), {
    ...OPTIONS,
    maxResultBytes: 10,
  }).done;
  assert.equal(outcome.status, "failed");
  assert.equal(
    outcome.error,
    "The handler's result is too big: 22 bytes of JSON, more than the 10 allowed " +
      "(--max-result-bytes)",
  );
  assert.equal("value" in outcome, false);
  // Counted in bytes: two characters of three bytes each, plus the quotes.
  const wide = await runHandler(() => "€€", spec({}), { ...OPTIONS, maxResultBytes: 7 }).done;
  assert.match(wide.error ?? "", /8 bytes of JSON/);
  const fits = await runHandler(() => "€€", spec({}), { ...OPTIONS, maxResultBytes: 8 }).done;
  assert.equal(fits.value, '"€€"');
});

Deno.test("runHandler() caps results at LIMITS.resultBytesMax by default", async () => {
  const outcome = await runHandler(() => "x".repeat(LIMITS.resultBytesMax), spec({}), OPTIONS)
    .done;
  assert.match(outcome.error ?? "", new RegExp(`${LIMITS.resultBytesMax + 2} bytes`));
});

Deno.test("runHandler() fails a result that cannot be serialized as JSON", async () => {
  const bigint = await runHandler(() => 10n, spec({}), OPTIONS).done;
  assert.equal(bigint.status, "failed");
  assert.match(bigint.error ?? "", /^The handler's result cannot be serialized as JSON: .*BigInt/);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  const cyclic = await runHandler(() => cycle, spec({}), OPTIONS).done;
  assert.match(cyclic.error ?? "", /cannot be serialized as JSON: .*circular/i);
});

Deno.test("runHandler() keeps the tail of the log as stdout, flagged when cut", async () => {
  const line = "y".repeat(1000);
  const outcome = await runHandler(
    (_p, ctx) => {
      for (let i = 0; i < 100; i++) ctx.log(line);
      ctx.log("last line\n");
    },
    spec({}),
    OPTIONS,
  ).done;
  assert.equal(outcome.status, "succeeded");
  assert.equal(outcome.stdout.length, LIMITS.outputTailBytes);
  assert.ok(outcome.stdout.endsWith(`${line}\nlast line\n`), "the tail, one newline per line");
  assert.equal(outcome.stdoutTruncated, true);
  const short = await runHandler((_p, ctx) => ctx.log("one"), spec({}), OPTIONS).done;
  assert.equal(short.stdout, "one\n");
  assert.equal("stdoutTruncated" in short, false);
});

Deno.test("runHandler() writes progress as output lines and to the debug log; a bad fraction throws", async () => {
  const debug: string[] = [];
  const outcome = await runHandler(
    (_p, ctx) => {
      ctx.progress(0.5);
      ctx.log("halfway");
      ctx.progress(1, "done");
    },
    spec({}),
    { ...OPTIONS, debug: (m) => debug.push(m) },
  ).done;
  assert.equal(outcome.stdout, "progress 50%\nhalfway\nprogress 100%: done\n");
  assert.deepEqual(debug, ["progress 50%", "progress 100%: done"]);
  for (const bad of [1.5, -0.1, NaN]) {
    const failed = await runHandler((_p, ctx) => ctx.progress(bad), spec({}), OPTIONS).done;
    assert.equal(failed.status, "failed");
    assert.match(failed.error ?? "", /Progress must be a number from 0 to 1/);
  }
});

Deno.test("runHandler() hands each log and progress line to onOutput as it comes, none after the end", async () => {
  const seen: string[] = [];
  const { handler, ctx } = stuck();
  const task = runHandler(handler, spec(null), {
    ...OPTIONS,
    onOutput: (stream, text) => seen.push(`${stream}:${text}`),
  });
  const c = await ctx;
  c.log("one");
  c.progress(0.5, "half");
  assert.deepEqual(seen, ["stdout:one\n", "stdout:progress 50%: half\n"]);
  task.kill("cancelled");
  c.log("late");
  assert.equal(seen.length, 2);
  assert.equal((await task.done).stdout, "one\nprogress 50%: half\n");
});
