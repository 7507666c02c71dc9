/**
 * The simulation's trace: one line per notable event, a hash over all of them
 * (two runs of one seed must produce the same hash), and the last lines kept
 * for failure reports.
 * @module
 */

/** Lines kept for the failure report when the full trace is not kept. */
const DEFAULT_TAIL_LINES = 120;

export interface TraceOptions {
  /** Keep every line (for `--trace`); otherwise only the tail. */
  keepAll?: boolean;
  /** Print each line as it is written. */
  echo?: (line: string) => void;
  tailLines?: number;
}

/** An append-only trace with a running FNV-1a hash (two 32-bit lanes). */
export class Trace {
  readonly #keepAll: boolean;
  readonly #echo: ((line: string) => void) | null;
  readonly #tailLines: number;
  #lines: string[] = [];
  #hashA = 0x811c9dc5;
  #hashB = 0x01000193 ^ 0x5bd1e995;
  #count = 0;

  constructor(options: TraceOptions = {}) {
    this.#keepAll = options.keepAll ?? false;
    this.#echo = options.echo ?? null;
    this.#tailLines = options.tailLines ?? DEFAULT_TAIL_LINES;
  }

  /** Lines written so far. */
  get count(): number {
    return this.#count;
  }

  /** Records a line at simulated time `nowMs`. */
  line(nowMs: number, text: string): void {
    const line = `${String(nowMs).padStart(7)} ${text}`;
    this.#mixString(line);
    this.#count += 1;
    this.#echo?.(line);
    this.#lines.push(line);
    if (!this.#keepAll && this.#lines.length > this.#tailLines * 2) {
      this.#lines = this.#lines.slice(-this.#tailLines);
    }
  }

  /** Mixes numbers into the hash without writing a line (cheap, for every event). */
  mix(a: number, b: number): void {
    this.#mixNumber(a);
    this.#mixNumber(b);
  }

  /** The hash of everything traced, as 16 hex digits. */
  get hash(): string {
    return (this.#hashA >>> 0).toString(16).padStart(8, "0") +
      (this.#hashB >>> 0).toString(16).padStart(8, "0");
  }

  /** The last `n` lines. */
  tail(n = this.#tailLines): string[] {
    return this.#lines.slice(-n);
  }

  /** Every line, when kept. */
  all(): string[] {
    return [...this.#lines];
  }

  #mixString(text: string): void {
    let a = this.#hashA, b = this.#hashB;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.#hashA = a;
    this.#hashB = b;
  }

  #mixNumber(n: number): void {
    const lo = n | 0;
    const hi = Math.floor(n / 4294967296) | 0;
    this.#hashA = Math.imul(this.#hashA ^ lo, 0x01000193);
    this.#hashA = Math.imul(this.#hashA ^ hi, 0x01000193);
    this.#hashB = Math.imul(this.#hashB ^ lo, 0x5bd1e995);
    this.#hashB ^= this.#hashB >>> 13;
  }
}
