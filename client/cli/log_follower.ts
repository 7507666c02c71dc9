/**
 * `logs --follow` without I/O: what to ask for next (the attempt and offsets seen so far) and
 * what each `logs` reply adds to what was shown — new output, notes about output not kept or a
 * new attempt, and at the end the part of the final output not shown live.
 * @module
 */
import type { OrchestratorToClient, OutputStream } from "../../shared/protocol/messages.ts";

type LogsReply = Extract<OrchestratorToClient, { type: "logs" }>;

/** Something to print: output of a stream, or a note about it (for stderr, or a JSON line). */
export type LogPiece = { stream: OutputStream; text: string } | { notice: string };

/** How much of what was shown is remembered, to find where a cut final output picks up. */
const SHOWN_TAIL_CHARS = 1024;

/** Fewest characters of overlap trusted between what was shown and a cut final output. */
const MATCH_CHARS_MIN = 32;

const STREAMS: readonly OutputStream[] = ["stdout", "stderr"];

export class LogFollower {
  readonly #taskId: string;
  /** The attempt whose output is being shown (null: none yet). */
  #attempt: number | null = null;
  readonly #next: Record<OutputStream, number> = { stdout: 0, stderr: 0 };
  /** The end of what was shown of each stream. */
  readonly #shown: Record<OutputStream, string> = { stdout: "", stderr: "" };

  constructor(taskId: string) {
    this.#taskId = taskId;
  }

  /** The `logs` request's fields: where the next reply should start. */
  query(): { attempt?: number; stdoutOffset?: number; stderrOffset?: number } {
    if (this.#attempt === null) return {};
    return {
      attempt: this.#attempt,
      stdoutOffset: this.#next.stdout,
      stderrOffset: this.#next.stderr,
    };
  }

  /** What `reply` adds to what was shown, in order. */
  take(reply: LogsReply): LogPiece[] {
    const pieces: LogPiece[] = [];
    if (reply.attempt !== 0 && reply.attempt !== this.#attempt) {
      // A new attempt's streams start again at 0 (the orchestrator read them from there).
      if (this.#attempt !== null) {
        pieces.push({ notice: `[attempt ${reply.attempt} of task ${this.#taskId}]` });
      }
      this.#attempt = reply.attempt;
      for (const stream of STREAMS) {
        this.#next[stream] = 0;
        this.#shown[stream] = "";
      }
    }
    for (const stream of STREAMS) {
      const part = reply[stream];
      const text = reply.isFinal
        ? this.#unshownFinal(stream, part.offset, part.text, pieces)
        : this.#unshownLive(stream, part.offset ?? 0, part.text, pieces);
      if (part.next !== null) this.#next[stream] = part.next;
      if (text === "") continue;
      pieces.push({ stream, text });
      this.#shown[stream] = (this.#shown[stream] + text).slice(-SHOWN_TAIL_CHARS);
    }
    return pieces;
  }

  #unshownLive(stream: OutputStream, offset: number, text: string, pieces: LogPiece[]): string {
    const skipped = offset - this.#next[stream];
    if (skipped > 0 && text !== "") {
      pieces.push({ notice: `[… ${skipped} characters of ${stream} not kept …]` });
    }
    return text;
  }

  /**
   * The part of a final output not shown live. Exact when the output was kept whole (it starts
   * at offset 0); when only its tail was kept, where live output stopped is found by matching the
   * end of what was shown (output that repeats itself may then be shown twice; without a match,
   * the whole tail is shown after a note).
   */
  #unshownFinal(
    stream: OutputStream,
    offset: number | null,
    text: string,
    pieces: LogPiece[],
  ): string {
    const shownUpTo = this.#next[stream];
    if (offset === 0) return text.slice(Math.min(shownUpTo, text.length));
    const shown = this.#shown[stream];
    if (shown === "") return text;
    const at = text.indexOf(shown);
    if (at >= 0) return text.slice(at + shown.length);
    // The final tail may begin inside what was shown: its longest start that ends what was shown
    // (not a few characters only, which would match by chance: a newline, a space).
    const least = Math.min(MATCH_CHARS_MIN, shown.length);
    for (let k = Math.min(shown.length, text.length); k >= least; k--) {
      if (text.startsWith(shown.slice(shown.length - k))) return text.slice(k);
    }
    pieces.push({ notice: `[… ${stream} not kept between the live output and its final tail …]` });
    return text;
  }
}
