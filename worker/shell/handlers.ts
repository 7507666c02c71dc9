/**
 * Handlers: user code a worker runs for task kinds of its own ("resize", "mail.send"). A
 * handlers module's default export maps each kind to a function of the task's payload:
 *
 * ```ts
 * import type { Handlers } from "../worker/mod.ts";
 * export default {
 *   add: ({ a, b }) => a + b,
 *   slow: async ({ ms }, ctx) => {
 *     await new Promise((resolve) => setTimeout(resolve, ms));
 *     ctx.progress(1, "done");
 *   },
 * } satisfies Handlers;
 * ```
 *
 * This module holds their types, checks a module's shape, and loads one by path or URL.
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { LIMITS } from "../../shared/limits.ts";
import { HandlerKindSchema } from "../../shared/protocol/messages.ts";

/** What a handler is given besides its payload: who it runs for, and how to report. */
export interface HandlerContext {
  /** The task's id, e.g. "t-42". */
  readonly taskId: string;
  /** Which attempt this is: 1, then 2 after a retry, and so on. */
  readonly attempt: number;
  /**
   * Fires when the attempt is cancelled or runs past its timeout. Its `reason` is a DOMException
   * named "TimeoutError" for a timeout and "AbortError" for a cancel (the names `fetch` and
   * `AbortSignal.timeout` use), its message the why. The attempt's outcome is reported at once;
   * a handler that ignores the signal only wastes the worker's time.
   */
  readonly signal: AbortSignal;
  /**
   * Reports how far along the attempt is, from 0 to 1, with an optional message. For now it is
   * logged at debug and kept as a line of the task's output (`progress 50%: message`).
   * @throws {RangeError} when `fraction` is not a number from 0 to 1.
   */
  progress(fraction: number, message?: string): void;
  /** Adds a line to the task's output (its stdout; the last 64 KiB are kept). */
  log(line: string): void;
}

/**
 * Runs one task of its kind. `payload` is the task's payload parsed from JSON; what it returns
 * (or resolves to) becomes the task's result, as JSON. A throw (or rejection) fails the attempt,
 * and the task's retry policy decides what happens next.
 *
 * Handlers run in the worker's process, on its event loop: an error thrown outside the handler's
 * own promise (in a timer, an abort listener, a promise nobody awaits) stops the worker like any
 * uncaught error (its tasks then run elsewhere), and a long synchronous computation holds up its
 * heartbeats. Keep work asynchronous, or hand CPU-heavy work to a Web Worker.
 */
// deno-lint-ignore no-explicit-any -- payloads are user JSON: each handler knows its own shape.
export type Handler = (payload: any, ctx: HandlerContext) => unknown;

/** The kinds a worker serves, each with its handler: a handlers module's default export. */
export type Handlers = Record<string, Handler>;

/**
 * Checks that `value` is a handlers map: a plain object of at least one and at most
 * LIMITS.workerKindsMax kinds, each a valid kind name (not "sleep" or "exec") mapped to a
 * function. Returns a copy: later changes to `value` do not change the kinds served.
 * @param source Where `value` came from, for error messages (a file, "runWorker() options").
 * @throws {TypeError} naming the source and the first problem found.
 */
export function validateHandlers(value: unknown, source: string): Handlers {
  const problem = (what: string) => new TypeError(`Invalid handlers in ${source}: ${what}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw problem(
      `expected an object mapping task kinds to functions, got ${describe(value)}`,
    );
  }
  const kinds = Object.keys(value);
  if (kinds.length === 0) throw problem("it defines no task kinds");
  if (kinds.length > LIMITS.workerKindsMax) {
    throw problem(
      `a worker serves at most ${LIMITS.workerKindsMax} kinds, got ${kinds.length}`,
    );
  }
  const handlers: Handlers = {};
  for (const kind of kinds) {
    const why = kindProblem(kind);
    if (why !== null) throw problem(`the kind "${kind}" is invalid (${why})`);
    const handler = (value as Record<string, unknown>)[kind];
    if (typeof handler !== "function") {
      throw problem(`the handler of "${kind}" must be a function, got ${describe(handler)}`);
    }
    handlers[kind] = handler as Handler;
  }
  return handlers;
}

/**
 * Imports a handlers module and returns its default export, checked by `validateHandlers`.
 * @param specifier A file path (relative to the working directory) or a URL (`file:`, `https:`;
 *   remote modules need Deno's --allow-import).
 * @throws {Error} naming the module and what is wrong: not found, a syntax error, code that threw
 *   while loading, no default export, or a default export that is not a handlers map.
 * @example
 * ```ts
 * const handlers = await loadHandlers("examples/handlers.ts");
 * Object.keys(handlers); // ["add", "echo", ...]
 * ```
 */
export async function loadHandlers(specifier: string | URL): Promise<Handlers> {
  const url = moduleUrl(specifier);
  const name = `"${String(specifier)}"`;
  const cannot = (why: string, cause?: unknown) =>
    new Error(`Cannot load handlers from ${name}: ${why}`, { cause });
  if (url.protocol === "file:") {
    try {
      const info = await Deno.stat(url);
      if (!info.isFile) throw cannot(`${url.pathname} is not a file`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw cannot(`no such file (${url.pathname})`);
      throw error;
    }
  }
  let module: Record<string, unknown>;
  try {
    module = await import(url.href);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Deno reports both a missing import and a syntax error as ERR_MODULE_NOT_FOUND: its message
    // says which (and where). Anything else was thrown by the module's own top-level code.
    const why = (error as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND"
      ? message
      : `its code threw while loading: ${message}`;
    throw cannot(why, error);
  }
  if (!("default" in module)) {
    throw cannot(
      "it has no default export; end it with `export default { kind: handler, ... }`",
    );
  }
  return validateHandlers(module.default, name);
}

/** Why `kind` cannot name a handler (the wire's own rule for kinds), or null. */
function kindProblem(kind: string): string | null {
  const checked = HandlerKindSchema.safeParse(kind);
  if (checked.success) return null;
  return checked.error.issues.map((i) => i.message).join("; ");
}

export function moduleUrl(specifier: string | URL): URL {
  if (specifier instanceof URL) return specifier;
  // A scheme of two or more letters is a URL ("C:" alone would be a Windows drive).
  if (/^[A-Za-z][A-Za-z0-9+.-]+:/.test(specifier)) return new URL(specifier);
  return pathToFileURL(isAbsolute(specifier) ? specifier : resolve(Deno.cwd(), specifier));
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
