/**
 * Keeps the last N bytes of a stream (a task's stdout or stderr), so a chatty
 * program costs bounded memory.
 * @module
 */

export class TailBuffer {
  readonly #maxBytes: number;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #droppedBytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes dropped from the front so far. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  /** True once any byte was dropped: the text is only the stream's tail. */
  get isTruncated(): boolean {
    return this.#droppedBytes > 0;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length >= this.#maxBytes) {
      this.#droppedBytes += this.#bytes + chunk.length - this.#maxBytes;
      this.#chunks = [chunk.slice(chunk.length - this.#maxBytes)];
      this.#bytes = this.#maxBytes;
      return;
    }
    this.#chunks.push(chunk.slice());
    this.#bytes += chunk.length;
    while (this.#bytes > this.#maxBytes) {
      const excess = this.#bytes - this.#maxBytes;
      const first = this.#chunks[0];
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#bytes -= first.length;
        this.#droppedBytes += first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#bytes -= excess;
        this.#droppedBytes += excess;
      }
    }
  }

  /** The kept bytes as text (a character cut at the front shows as U+FFFD). */
  text(): string {
    const out = new Uint8Array(this.#bytes);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return new TextDecoder().decode(out);
  }
}
