/**
 * The inside of an isolated handler (`deno task worker --isolate`): a Web Worker that imports the
 * handlers module once and runs one attempt at a time, as the worker asks. Its context's signal,
 * log and progress travel as messages; the worker terminates this Web Worker when a cancelled or
 * timed-out handler does not stop (a real kill, which in-process handlers cannot have).
 * @module
 */
import type { HostReply, HostRequest } from "./isolated_handlers.ts";
import type { HandlerContext, Handlers } from "./handlers.ts";

// deno-lint-ignore no-explicit-any -- the Web Worker global scope
const scope = self as any;
let handlers: Promise<Handlers> | null = null;
const running = new Map<number, AbortController>();

function reply(message: HostReply): void {
  scope.postMessage(message);
}

scope.onmessage = async (event: MessageEvent<HostRequest>) => {
  const message = event.data;
  if (message.type === "load") {
    handlers = import(message.moduleUrl).then((module) => module.default as Handlers);
    return;
  }
  if (message.type === "abort") {
    running.get(message.id)?.abort(new DOMException(message.message, message.name));
    return;
  }
  const { id, kind, payload, taskId, attempt } = message;
  const controller = new AbortController();
  running.set(id, controller);
  const ctx: HandlerContext = {
    taskId,
    attempt,
    signal: controller.signal,
    progress(fraction: number, text?: string) {
      if (typeof fraction !== "number" || !(fraction >= 0 && fraction <= 1)) {
        throw new RangeError(`progress() takes a fraction from 0 to 1, got ${fraction}`);
      }
      reply({ type: "progress", id, fraction, ...(text === undefined ? {} : { message: text }) });
    },
    log(line: string) {
      reply({ type: "log", id, line: String(line) });
    },
  };
  try {
    const handler = (await handlers!)[kind];
    const value = await handler(payload, ctx);
    reply({ type: "done", id, value });
  } catch (error) {
    reply({
      type: "error",
      id,
      message: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack ?? null : null,
    });
  } finally {
    running.delete(id);
  }
};
