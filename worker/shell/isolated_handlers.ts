/**
 * Handlers run in Web Workers (`deno task worker --handlers MODULE --isolate`), like BullMQ's
 * sandboxed processors: each attempt runs in a Web Worker of a pool (one per slot), so a handler's
 * busy loop does not hold up the worker's heartbeats, a crash inside it fails only that attempt,
 * and a handler that ignores its signal after a cancel or timeout is stopped for good: its Web
 * Worker is terminated after a grace period and replaced. The proxies have the same shape as
 * in-process handlers, so runHandler (payload parsing, timeouts, result limits) is unchanged.
 * @module
 */
import type { HandlerContext, Handlers } from "./handlers.ts";

/** What the worker tells a handler host. */
export type HostRequest =
  | { type: "load"; moduleUrl: string }
  | { type: "run"; id: number; kind: string; payload: unknown; taskId: string; attempt: number }
  | { type: "abort"; id: number; name: string; message: string };

/** What a handler host answers. */
export type HostReply =
  | { type: "done"; id: number; value: unknown }
  | { type: "error"; id: number; message: string; stack: string | null }
  | { type: "log"; id: number; line: string }
  | { type: "progress"; id: number; fraction: number; message?: string };

/** How long a signalled handler may take to stop before its Web Worker is terminated. */
export const KILL_GRACE_MS = 2000;

interface Host {
  worker: Worker;
  /** The attempt it runs, if any. */
  busy: number | null;
}

interface Call {
  ctx: HandlerContext;
  resolve(value: unknown): void;
  reject(error: Error): void;
  host: Host;
}

/** A pool of handler hosts serving the kinds of the module at `moduleUrl`. */
export class IsolatedHandlers {
  readonly handlers: Handlers;
  readonly #moduleUrl: string;
  readonly #killGraceMs: number;
  readonly #hosts: Host[] = [];
  readonly #calls = new Map<number, Call>();
  #nextId = 1;
  /** Web Workers terminated because a handler would not stop (for tests and logs). */
  killed = 0;

  constructor(moduleUrl: URL, kinds: readonly string[], options: { killGraceMs?: number } = {}) {
    this.#moduleUrl = moduleUrl.href;
    this.#killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
    this.handlers = Object.fromEntries(
      kinds.map((
        kind,
      ) => [kind, (payload: unknown, ctx: HandlerContext) => this.#run(kind, payload, ctx)]),
    );
  }

  /** Terminates every host (at shutdown). */
  close(): void {
    for (const host of this.#hosts) host.worker.terminate();
    this.#hosts.length = 0;
    for (const call of this.#calls.values()) call.reject(new Error("the worker is stopping"));
    this.#calls.clear();
  }

  #run(kind: string, payload: unknown, ctx: HandlerContext): Promise<unknown> {
    const id = this.#nextId++;
    const host = this.#hosts.find((h) => h.busy === null) ?? this.#spawn();
    host.busy = id;
    const result = Promise.withResolvers<unknown>();
    this.#calls.set(id, { ctx, resolve: result.resolve, reject: result.reject, host });
    const onAbort = () => {
      const reason = ctx.signal.reason as { name?: string; message?: string } | undefined;
      host.worker.postMessage(
        {
          type: "abort",
          id,
          name: reason?.name ?? "AbortError",
          message: reason?.message ?? "aborted",
        } satisfies HostRequest,
      );
      // A handler that does not stop within the grace period is stopped for good.
      setTimeout(() => {
        if (host.busy !== id) return;
        this.killed += 1;
        this.#replace(host);
        this.#settle(
          id,
          (call) => call.reject(new Error("terminated: it did not stop when signalled")),
        );
      }, this.#killGraceMs);
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      host.worker.postMessage(
        {
          type: "run",
          id,
          kind,
          payload,
          taskId: ctx.taskId,
          attempt: ctx.attempt,
        } satisfies HostRequest,
      );
    } catch (error) {
      // A payload that cannot be cloned (it came from JSON, so it always can) fails the attempt.
      this.#settle(id, (call) => call.reject(error as Error));
    }
    return result.promise.finally(() => ctx.signal.removeEventListener("abort", onAbort));
  }

  #spawn(): Host {
    const worker = new Worker(new URL("./handler_host.ts", import.meta.url).href, {
      type: "module",
    });
    const host: Host = { worker, busy: null };
    worker.onmessage = (event: MessageEvent<HostReply>) => this.#onReply(event.data);
    worker.onerror = (event) => {
      // An error the handler's promise did not catch: that attempt fails, the host is replaced.
      event.preventDefault();
      const id = host.busy;
      this.#replace(host);
      if (id !== null) {
        this.#settle(
          id,
          (call) => call.reject(new Error(`uncaught in the handler: ${event.message}`)),
        );
      }
    };
    worker.postMessage({ type: "load", moduleUrl: this.#moduleUrl } satisfies HostRequest);
    this.#hosts.push(host);
    return host;
  }

  #replace(host: Host): void {
    host.worker.terminate();
    host.busy = null;
    const index = this.#hosts.indexOf(host);
    if (index >= 0) this.#hosts.splice(index, 1);
  }

  #onReply(reply: HostReply): void {
    const call = this.#calls.get(reply.id);
    if (call === undefined) return;
    switch (reply.type) {
      case "log":
        call.ctx.log(reply.line);
        break;
      case "progress":
        call.ctx.progress(reply.fraction, reply.message);
        break;
      case "done":
        this.#settle(reply.id, (c) => c.resolve(reply.value));
        break;
      case "error": {
        const error = new Error(reply.message);
        if (reply.stack !== null) error.stack = reply.stack;
        this.#settle(reply.id, (c) => c.reject(error));
        break;
      }
    }
  }

  #settle(id: number, how: (call: Call) => void): void {
    const call = this.#calls.get(id);
    if (call === undefined) return;
    this.#calls.delete(id);
    if (call.host.busy === id) call.host.busy = null;
    how(call);
  }
}
