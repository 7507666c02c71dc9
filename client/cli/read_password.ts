/**
 * Reads passwords without putting them on the command line: hidden prompts on
 * a terminal, or successive lines of piped stdin (`user passwd` for oneself
 * reads the current password, then the new one).
 * @module
 */
import { UsageError } from "../../shared/cli_args.ts";

/** Longest line accepted on stdin: far above any password limit, so nothing is cut silently. */
const MAX_LINE_BYTES = 4096;
const NEWLINE = 10;

/** Reads one password after another from the terminal or from the lines of stdin. */
export class PasswordReader {
  readonly #fromStdin: boolean;
  /** Bytes read from stdin but not yet returned (the lines after the current one). */
  #buffer: number[] = [];
  #ended = false;

  /** `fromStdin` reads stdin even when it is a terminal (`--password-stdin`). */
  constructor(options: { fromStdin: boolean }) {
    this.#fromStdin = options.fromStdin;
  }

  /** True when passwords are typed at a hidden prompt rather than read from stdin. */
  get isInteractive(): boolean {
    return !this.#fromStdin && Deno.stdin.isTerminal();
  }

  /**
   * The next password: typed at `prompt` (hidden), or the next line of stdin.
   * @throws {UsageError} with `missing` when stdin has no further line, or when a line is too long.
   */
  async read(prompt: string, missing: string): Promise<string> {
    if (this.isInteractive) return await promptHidden(prompt);
    const line = await this.#nextLine();
    if (line === null) throw new UsageError(missing);
    return line;
  }

  /** The next line of stdin without its line ending; null at the end of input. */
  async #nextLine(): Promise<string | null> {
    const chunk = new Uint8Array(1024);
    while (!this.#buffer.includes(NEWLINE) && !this.#ended) {
      if (this.#buffer.length > MAX_LINE_BYTES) break;
      const n = await Deno.stdin.read(chunk);
      if (n === null) this.#ended = true;
      else for (const b of chunk.subarray(0, n)) this.#buffer.push(b);
    }
    const end = this.#buffer.indexOf(NEWLINE);
    if (end < 0 && this.#buffer.length === 0) return null;
    if ((end < 0 ? this.#buffer.length : end) > MAX_LINE_BYTES) {
      throw new UsageError(
        `Cannot read the password: stdin line longer than ${MAX_LINE_BYTES} bytes`,
      );
    }
    const bytes = end < 0 ? this.#buffer.splice(0) : this.#buffer.splice(0, end + 1).slice(0, -1);
    return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\r$/, "");
  }
}

async function promptHidden(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  // Echo goes off before the prompt shows, so nothing typed after it can appear on the screen.
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
    await Deno.stderr.write(encoder.encode(prompt));
    const buffer = new Uint8Array(1);
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      const c = buffer[0];
      if (c === 3) throw new UsageError("Cancelled"); // Ctrl-C
      if (c === 13 || c === 10) break;
      if (c === 127 || c === 8) bytes.pop();
      else bytes.push(c);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
