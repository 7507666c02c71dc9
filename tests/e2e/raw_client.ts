/**
 * A TCP client for tests that speak raw frames to an orchestrator: it writes whatever it is given
 * (garbage included) and reads whatever frames come back, so tests can check the server's answers
 * to hostile or broken input byte for byte.
 * @module
 */
import assert from "node:assert/strict";
import { encodeFrame, FrameDecoder } from "../../shared/protocol/frame.ts";

export type Frame = Record<string, unknown>;

/** Bounds every wait for a frame: a server that never answers fails the test, not hangs it. */
export const REPLY_TIMEOUT_MS = 10_000;
export const HELLO = { v: 1, type: "hello", role: "client", lamport: 0 };
const encoder = new TextEncoder();

/** A TCP client speaking raw frames: writes whatever it is given, reads frames as they come. */
export class RawClient {
  readonly #conn: Deno.Conn;
  readonly #frames: Frame[] = [];
  readonly #reading: Promise<void>;
  #isClosed = false;
  #wake: (() => void) | null = null;
  #nextId = 1000;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reading = this.#readLoop();
  }

  static async open(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Opens a connection and completes hello/welcome, failing the test on anything else. */
  static async welcomed(port: number): Promise<RawClient> {
    const { client, refusal } = await RawClient.greeted(port);
    if (refusal !== null) {
      await client.close();
      assert.fail(`expected a welcome, got ${JSON.stringify(refusal)}`);
    }
    return client;
  }

  /** Opens a connection and completes hello/welcome; the refusal if the server refused it instead. */
  static async greeted(port: number): Promise<{ client: RawClient; refusal: Frame | null }> {
    const client = await RawClient.open(port);
    const reply = await client.request(HELLO);
    if (reply?.type === "welcome") return { client, refusal: null };
    return { client, refusal: reply ?? { type: "closed" } };
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Writes bytes; false when the server has already closed the connection. */
  async write(bytes: Uint8Array): Promise<boolean> {
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
      return true;
    } catch (error) {
      if (
        error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.BadResource
      ) return false;
      throw error;
    }
  }

  async send(message: unknown): Promise<void> {
    await this.write(encodeFrame(encoder.encode(JSON.stringify(message))));
  }

  /** Sends `message` and returns the next frame received (null: the server closed). */
  async request(message: unknown): Promise<Frame | null> {
    await this.send(message);
    return await this.next();
  }

  /** A request with a fresh id, envelope added. */
  async call(body: Frame): Promise<Frame | null> {
    return await this.request({ v: 1, lamport: 1, id: this.#nextId++, ...body });
  }

  /** The next frame, or null once the server has closed the connection. */
  async next(timeoutMs = REPLY_TIMEOUT_MS): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.#frames.length === 0 && !this.#isClosed) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`No frame and no close within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, remaining);
      });
      clearTimeout(timer);
    }
    return this.#frames.shift() ?? null;
  }

  /** Asserts the server closes the connection without sending anything more. */
  async expectClosed(what: string): Promise<void> {
    const frame = await this.next();
    assert.equal(
      frame,
      null,
      `${what}: expected the server to close, got ${JSON.stringify(frame)}`,
    );
  }

  /** Resolves once the server has closed the connection (bounded). */
  async closedByServer(timeoutMs: number): Promise<void> {
    while (!this.#isClosed) {
      const frame = await this.next(timeoutMs);
      if (frame !== null) throw new Error(`Expected a close, got ${JSON.stringify(frame)}`);
    }
  }

  async close(): Promise<void> {
    if (!this.#isClosed) {
      try {
        this.#conn.close();
      } catch (error) {
        // The runtime already released it after the server's close.
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    }
    await this.#reading;
  }

  async #readLoop(): Promise<void> {
    const decoder = new FrameDecoder(16 * 1024 * 1024);
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        for (const payload of decoder.push(buffer.subarray(0, n))) {
          const frame = JSON.parse(new TextDecoder().decode(payload));
          // A liveness signal sent every heartbeat interval, not an answer to anything.
          if (frame.type !== "keepalive") this.#frames.push(frame);
        }
        this.#wake?.();
      }
    } catch (error) {
      // A reset or our own close ends the stream like an orderly close.
      if (
        !(error instanceof Deno.errors.ConnectionReset) &&
        !(error instanceof Deno.errors.BadResource) &&
        !(error instanceof Deno.errors.Interrupted)
      ) {
        throw error;
      }
    } finally {
      this.#isClosed = true;
      this.#wake?.();
    }
  }
}
