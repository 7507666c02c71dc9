/**
 * An example handlers module: start a worker that serves these kinds with
 *
 *   deno task worker --handlers examples/handlers.ts
 *
 * Each key is a task kind; its function gets the task's payload (parsed JSON) and a context, and
 * what it returns is the task's result. The README and the end-to-end tests use this module.
 * @module
 */
import type { HandlerContext, Handlers } from "../worker/mod.ts";

export default {
  /** Returns its payload unchanged. */
  echo: (payload: unknown) => payload,

  /** `{ a, b }` → a + b. */
  add: ({ a, b }: { a: number; b: number }) => {
    if (typeof a !== "number" || typeof b !== "number") {
      throw new TypeError(`add needs numbers a and b, got ${JSON.stringify({ a, b })}`);
    }
    return a + b;
  },

  /** Fails its first `failTimes` attempts, then succeeds: shows retries (`--retries`). */
  flaky: ({ failTimes }: { failTimes: number }, ctx: HandlerContext) => {
    ctx.log(`attempt ${ctx.attempt} of a task that fails ${failTimes} time(s)`);
    if (ctx.attempt <= failTimes) throw new Error(`flaky: attempt ${ctx.attempt} fails`);
    return { attempt: ctx.attempt };
  },

  /** Waits `ms`, reporting progress; stops early (and logs it) when cancelled or timed out. */
  slow: async ({ ms }: { ms: number }, ctx: HandlerContext) => {
    const started = Date.now();
    const steps = 4;
    for (let step = 1; step <= steps; step++) {
      try {
        await pause(ms / steps, ctx.signal);
      } catch (reason) {
        // The attempt already ended: the worker logs this line (at debug) instead of reporting it.
        const why = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
        ctx.log(`slow: stopped at step ${step} of ${steps} (${why})`);
        throw reason;
      }
      ctx.progress(step / steps, `${step} of ${steps}`);
    }
    return { sleptMs: Date.now() - started };
  },

  /** `{ text }` → how many lines, words and characters it has. */
  wordcount: ({ text }: { text: string }) => ({
    lines: text === "" ? 0 : text.split("\n").length,
    words: text.split(/\s+/).filter((w) => w !== "").length,
    chars: [...text].length,
  }),

  /**
   * Keeps the CPU busy for `ms` and ignores its signal: what `--isolate` is for (in the worker's
   * process it would hold up heartbeats, and a timeout could not stop it).
   */
  spin: ({ ms }: { ms: number }) => {
    const end = Date.now() + ms;
    while (Date.now() < end) { /* busy */ }
    return "spun";
  },

  /** Always fails, with `message`. */
  fail: ({ message }: { message?: string }) => {
    throw new Error(message ?? "fail: failing as asked");
  },
} satisfies Handlers;

/** Resolves after `ms`, or rejects with the signal's reason once it fires. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
