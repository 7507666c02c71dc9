/**
 * A child process of the peer bench (a Redis server, a Node script), started by PID and stopped
 * by PID: SIGTERM, then SIGKILL. Scripts talk to the bench in JSON lines on stdout
 * (`{"event":"ready"}`, `{"event":"result",...}`); stderr is kept (bounded) for error messages.
 * @module
 */

/** Lines of stderr kept for error messages. */
const STDERR_TAIL_LINES = 40;

/** One parsed stdout line of a peer script. */
export type PeerEvent = { event: string } & Record<string, unknown>;

export interface PeerProcessOptions {
  /** A short name for error messages ("redis", "bullmq-w1"). */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Called for every event line (e.g. to forward progress). */
  onEvent?: (event: PeerEvent) => void;
}

interface EventWaiter {
  event: string;
  resolve: (event: PeerEvent) => void;
}

/** A running child; `stop()` ends it by PID. */
export class PeerProcess {
  /** Processes started and not yet exited, for terminateAllOnSignal(). */
  static readonly #live = new Set<PeerProcess>();
  readonly name: string;
  readonly exited: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #events: PeerEvent[] = [];
  readonly #stderr: string[] = [];
  #waiters: EventWaiter[] = [];
  #hasExited = false;

  /**
   * Spawns the command.
   * @throws {Deno.errors.NotFound} when the command does not exist
   */
  constructor(options: PeerProcessOptions) {
    this.name = options.name;
    this.#child = new Deno.Command(options.command, {
      args: options.args,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    PeerProcess.#live.add(this);
    const reading = Promise.all([
      readLines(this.#child.stdout, (line) => this.#onStdout(line, options.onEvent)),
      readLines(this.#child.stderr, (line) => {
        this.#stderr.push(line);
        if (this.#stderr.length > STDERR_TAIL_LINES) this.#stderr.shift();
      }),
    ]);
    this.exited = this.#child.status.then(async (status) => {
      await reading;
      this.#hasExited = true;
      PeerProcess.#live.delete(this);
      return status;
    });
  }

  /**
   * On SIGINT or SIGTERM, sends SIGTERM to every peer process still running, at once (the
   * bench's own handler then exits), so an interrupted run leaves no Redis or Node behind.
   */
  static terminateAllOnSignal(): void {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => {
        for (const p of PeerProcess.#live) p.signal("SIGTERM");
      });
    }
  }

  get pid(): number {
    return this.#child.pid;
  }

  get hasExited(): boolean {
    return this.#hasExited;
  }

  /**
   * The first event line named `event` (past or future).
   * @throws {Error} if the process exits first or `timeoutMs` passes
   */
  waitForEvent(event: string, timeoutMs: number): Promise<PeerEvent> {
    const seen = this.#events.find((e) => e.event === event);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        fn();
      };
      const waiter: EventWaiter = { event, resolve: (e) => settle(() => resolve(e)) };
      const timer = setTimeout(() => {
        settle(() =>
          reject(new Error(`${this.name}: no "${event}" within ${timeoutMs} ms${this.tail()}`))
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
      void this.exited.then((status) => {
        if (!this.#waiters.includes(waiter)) return;
        settle(() =>
          reject(
            new Error(`${this.name} exited (code ${status.code}) before "${event}"${this.tail()}`),
          )
        );
      });
    });
  }

  /** Sends a signal by PID; a process that already exited is fine. */
  signal(signal: Deno.Signal): void {
    if (this.#hasExited) return;
    try {
      this.#child.kill(signal);
    } catch (error) {
      // It exited between the check and the kill.
      if (!(error instanceof TypeError)) throw error;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5000): Promise<Deno.CommandStatus> {
    this.signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal("SIGKILL");
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, forced]);
    clearTimeout(timer);
    return await this.exited;
  }

  /** The last lines of stderr, for error messages ("" when there are none). */
  tail(): string {
    if (this.#stderr.length === 0) return "";
    return "; stderr:\n" + this.#stderr.map((l) => `  [${this.name}] ${l}`).join("\n");
  }

  #onStdout(line: string, onEvent: PeerProcessOptions["onEvent"]): void {
    const event = parseEvent(line);
    if (event === null) return; // Not ours (a library printing to stdout): ignored.
    this.#events.push(event);
    onEvent?.(event);
    for (const waiter of [...this.#waiters]) {
      if (waiter.event === event.event) waiter.resolve(event);
    }
  }
}

/** A JSON object line with a string `event`, or null for any other line. */
export function parseEvent(line: string): PeerEvent | null {
  if (!line.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== "object" || value === null) return null;
    const event = (value as Record<string, unknown>).event;
    return typeof event === "string" ? value as PeerEvent : null;
  } catch (error) {
    if (error instanceof SyntaxError) return null; // Not JSON: not an event line.
    throw error;
  }
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    partial += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = partial.indexOf("\n")) >= 0) {
      onLine(partial.slice(0, newline));
      partial = partial.slice(newline + 1);
    }
  }
  if (partial !== "") onLine(partial);
}
