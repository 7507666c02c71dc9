/**
 * Child processes for the demo, the end-to-end tests, the benchmarks and the
 * chaos suite: started from this repository, watched line by line, and always
 * stopped by PID (never by name).
 * @module
 */

/** The repository root (where deno.json lives). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

export interface StartOptions {
  /** A short name for log prefixes and error messages. */
  name: string;
  /** Arguments after `deno run -A` (the script path first, relative to the repo root). */
  args: string[];
  env?: Record<string, string>;
  /** Copy each output line to our stderr, prefixed with the name. */
  echo?: boolean;
  /**
   * A command that execs the process, e.g. `["ip", "netns", "exec", NS]` to run it inside a
   * network namespace. It must exec (not fork), so the PID is Deno's and kill-by-PID works.
   */
  prefix?: string[];
  /** "piped" lets the caller type into the process with `writeStdin`; default "null". */
  stdin?: "null" | "piped";
}

interface LineWaiter {
  predicate: (line: string) => boolean;
  resolve: (line: string) => void;
}

/** A running `deno run` child with its output captured line by line. */
export class ManagedProcess {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly stdoutLines: string[] = [];
  readonly exited: Promise<Deno.CommandStatus>;
  #waiters: LineWaiter[] = [];
  #exitStatus: Deno.CommandStatus | null = null;

  constructor(options: StartOptions) {
    this.name = options.name;
    const prefix = options.prefix ?? [];
    const command = prefix.length > 0 ? prefix[0] : Deno.execPath();
    const args = ["run", "-A", ...options.args];
    this.child = new Deno.Command(command, {
      args: prefix.length > 0 ? [...prefix.slice(1), Deno.execPath(), ...args] : args,
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...options.env },
      stdin: options.stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const echo = options.echo ?? false;
    const reading = Promise.all([
      this.#read(this.child.stdout, echo, true),
      this.#read(this.child.stderr, echo, false),
    ]);
    this.exited = this.child.status.then(async (status) => {
      await reading;
      this.#exitStatus = status;
      return status;
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.#exitStatus !== null;
  }

  /**
   * Resolves with the first output line (stdout or stderr, past or future) matching `predicate`.
   * @throws {Error} if the process exits first or `timeoutMs` passes (the bound of a failing test).
   */
  waitForLine(predicate: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const seen = this.lines.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: LineWaiter = { predicate, resolve: (line) => settle(() => resolve(line)) };
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        fn();
      };
      const timer = setTimeout(() => {
        settle(() =>
          reject(
            new Error(
              `${this.name}: no matching line within ${timeoutMs} ms; output:\n${this.tail()}`,
            ),
          )
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
      void this.exited.then((status) => {
        if (this.#waiters.includes(waiter)) {
          settle(() =>
            reject(
              new Error(
                `${this.name} exited (code ${status.code}) before the line; output:\n${this.tail()}`,
              ),
            )
          );
        }
      });
    });
  }

  /** Waits for the JSON `{"event":"ready",...}` line and returns it parsed. */
  async ready(timeoutMs = 30_000): Promise<Record<string, string>> {
    const line = await this.waitForLine((l) => l.startsWith('{"event":"ready"'), timeoutMs);
    return JSON.parse(line);
  }

  /**
   * Writes `text` to the process's stdin (started with `stdin: "piped"`).
   * @throws {TypeError} if stdin is not piped
   */
  async writeStdin(text: string): Promise<void> {
    const writer = this.child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(text));
    } finally {
      writer.releaseLock();
    }
  }

  /** Sends a signal by PID; a process that already exited is fine. */
  signal(signal: Deno.Signal): void {
    if (this.hasExited) return;
    try {
      this.child.kill(signal);
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

  /** The last lines of output, for failure messages. */
  tail(count = 40): string {
    return this.lines.slice(-count).map((l) => `  [${this.name}] ${l}`).join("\n");
  }

  async #read(stream: ReadableStream<Uint8Array>, echo: boolean, isStdout: boolean): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      partial += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = partial.indexOf("\n")) >= 0) {
        this.#onLine(partial.slice(0, newline), echo, isStdout);
        partial = partial.slice(newline + 1);
      }
    }
    if (partial !== "") this.#onLine(partial, echo, isStdout);
  }

  #onLine(line: string, echo: boolean, isStdout: boolean): void {
    this.lines.push(line);
    if (isStdout) this.stdoutLines.push(line);
    if (echo) console.error(`[${this.name}] ${line}`);
    for (const waiter of [...this.#waiters]) {
      if (waiter.predicate(line)) waiter.resolve(line);
    }
  }
}

/** A free TCP port on 127.0.0.1 whose UDP twin is free too (orchestrators use both). */
export function freePort(): number {
  for (;;) {
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (tcp.addr as Deno.NetAddr).port;
    try {
      const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
      udp.close();
      return port;
    } catch {
      // UDP twin taken: try another port.
    } finally {
      tcp.close();
    }
  }
}
