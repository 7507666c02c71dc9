/**
 * A TCP (or TLS) connection that speaks length-prefixed frames. Reads yield
 * whole payloads; writes are queued and coalesced, so many frames sent in one
 * turn of the event loop go out in one write (PLATFORM.md: ~3-4x the
 * throughput of one write per frame).
 * @module
 */
import { concatBytes, encodeFrame, FrameDecoder } from "../protocol/frame.ts";
import { encodeMessage } from "../protocol/codec.ts";

/** Above this many queued bytes the peer is not reading; the connection is closed. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
const READ_BUFFER_BYTES = 64 * 1024;

export interface FramedConnectionOptions {
  maxFrameBytes: number;
  maxQueuedBytes?: number;
}

export class FramedConnection {
  readonly #conn: Deno.Conn;
  #decoder: FrameDecoder;
  readonly #maxQueuedBytes: number;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #writing = false;
  #closed = false;
  #drained: Array<() => void> = [];
  #partialSinceMs: number | null = null;

  constructor(conn: Deno.Conn, options: FramedConnectionOptions) {
    this.#conn = conn;
    this.#decoder = new FrameDecoder(options.maxFrameBytes);
    this.#maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    // Frames are already batched per write; Nagle would only add latency.
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  }

  /**
   * Raises or lowers the frame limit (peers get a larger one than clients once their
   * hello is read). Bytes already buffered are kept.
   */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.#decoder = this.#decoder.withLimit(maxFrameBytes);
  }

  /** How long the frame being received has been incomplete (0 when none is). */
  partialFrameAgeMs(nowMs: number): number {
    return this.#partialSinceMs === null ? 0 : nowMs - this.#partialSinceMs;
  }

  /** The peer's host (for per-source limits and logs). */
  get remoteHost(): string {
    return (this.#conn.remoteAddr as Deno.NetAddr).hostname;
  }

  /** The peer's address as "host:port". */
  get remoteAddress(): string {
    const addr = this.#conn.remoteAddr as Deno.NetAddr;
    return `${addr.hostname}:${addr.port}`;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Yields frame payloads until the peer closes the connection.
   * @throws {FrameTooLargeError} when a frame header exceeds the limit.
   * @throws the read error when the connection fails (reset, TLS failure).
   */
  async *frames(): AsyncGenerator<Uint8Array> {
    for await (const batch of this.frameBatches()) yield* batch;
  }

  /**
   * Yields, per read, every whole frame that read completed (never an empty batch), until the
   * peer closes the connection. Handling a batch without awaiting lets the replies to all of its
   * frames go out in one write: between frames yielded one at a time the queued write runs.
   * @throws {FrameTooLargeError} when a frame header exceeds the limit.
   * @throws the read error when the connection fails (reset, TLS failure).
   */
  async *frameBatches(): AsyncGenerator<Uint8Array[]> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    while (!this.#closed) {
      let n: number | null;
      try {
        n = await this.#conn.read(buffer);
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        throw error;
      }
      if (n === null) return;
      const frames = this.#decoder.push(buffer.subarray(0, n));
      // Track how long a frame has been incomplete, so a trickling sender can be cut off.
      this.#partialSinceMs = this.#decoder.pendingBytes === 0
        ? null
        : this.#partialSinceMs ?? Date.now();
      if (frames.length > 0) yield frames;
    }
  }

  /** Queues a message (JSON-encoded and framed); it is written with others queued in the same turn. */
  send(message: object): void {
    this.sendPayload(encodeMessage(message));
  }

  /** Queues an already-encoded payload. */
  sendPayload(payload: Uint8Array): void {
    if (this.#closed) return;
    const frame = encodeFrame(payload);
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#queuedBytes > this.#maxQueuedBytes) {
      // The peer is not reading; holding more would grow memory without bound.
      this.close();
      return;
    }
    if (!this.#writing) {
      this.#writing = true;
      queueMicrotask(() => void this.#writeLoop());
    }
  }

  /** Resolves once everything queued so far is written (or the connection closed). */
  flushed(): Promise<void> {
    if (!this.#writing || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Closes the connection; queued frames not yet written are dropped. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    try {
      this.#conn.close();
    } catch (error) {
      // Already closed by the runtime after a failed read or write: nothing left to release.
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    this.#resolveDrained();
  }

  /** Writes what is queued, then closes. */
  async closeAfterFlush(): Promise<void> {
    await this.flushed();
    this.close();
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = concatBytes(this.#queue);
        this.#queue = [];
        this.#queuedBytes = 0;
        let offset = 0;
        while (offset < batch.length) {
          offset += await this.#conn.write(batch.subarray(offset));
        }
      }
    } catch {
      // The peer went away mid-write; its reader sees the close and cleans up.
      this.close();
    } finally {
      this.#writing = false;
      this.#resolveDrained();
    }
  }

  #resolveDrained(): void {
    const waiting = this.#drained;
    this.#drained = [];
    for (const resolve of waiting) resolve();
  }
}
