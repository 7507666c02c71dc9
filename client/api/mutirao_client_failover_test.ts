// Proves two things of the client library's retries against scripted orchestrators on loopback:
// a connection whose welcome never came is closed (not left receiving keepalives), and an
// orchestrator that was silent once is tried again later in the same request — a loaded leader
// that missed one welcome is not shunned for the whole time budget while followers point at it.
import assert from "node:assert/strict";
import { encodeFrame, FrameDecoder } from "../../shared/protocol/frame.ts";
import { MutiraoClient } from "./mutirao_client.ts";

type Frame = Record<string, unknown>;

/** How a scripted orchestrator treats its n-th connection (0-based). */
type Script = (connection: number, frame: Frame) => Frame | "ignore";

class Scripted {
  readonly port: number;
  connections = 0;
  /** Connections the client closed. */
  closed = 0;
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #serving: Promise<void>;
  readonly #script: Script;

  constructor(script: Script) {
    this.#script = script;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#serving = this.#accept();
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) conn.close();
    await this.#serving;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const n = this.connections++;
        this.#conns.add(conn);
        void this.#serve(conn, n).finally(() => this.#conns.delete(conn));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  async #serve(conn: Deno.Conn, n: number): Promise<void> {
    const decoder = new FrameDecoder(1024 * 1024);
    try {
      for await (const chunk of conn.readable) {
        for (const payload of decoder.push(chunk)) {
          const answer = this.#script(n, JSON.parse(new TextDecoder().decode(payload)));
          if (answer === "ignore") continue;
          await conn.write(encodeFrame(new TextEncoder().encode(JSON.stringify(answer))));
        }
      }
      this.closed += 1; // the client closed it (end of stream)
    } catch {
      // closed by close() above
    }
  }
}

const welcome = (nodeId: string): Frame => ({
  v: 1,
  type: "welcome",
  nodeId,
  clusterId: "c",
  lamport: 1,
});

Deno.test("a request follows the leader again once it answers, after it missed a welcome", async () => {
  // o2, the leader, misses its first welcome (loaded); o1, a follower, names o2 as leader.
  const leader = new Scripted((n, frame) => {
    if (frame.type === "hello") return n === 0 ? "ignore" : welcome("o2");
    return { v: 1, type: "workerList", re: frame.id, workers: [], lamport: 2 };
  });
  const follower = new Scripted((_n, frame) =>
    frame.type === "hello" ? welcome("o1") : {
      v: 1,
      type: "error",
      re: frame.id,
      code: "not_leader",
      message: "not the leader",
      leaderHint: "o2",
      lamport: 2,
    }
  );
  const client = new MutiraoClient({
    orchestrators: [
      { id: "o2", host: "127.0.0.1", port: leader.port },
      { id: "o1", host: "127.0.0.1", port: follower.port },
    ],
    timeoutMs: 15_000,
  });
  try {
    const reply = await client.request({ type: "workers", token: "t" });
    assert.equal(reply.type, "workerList");
    assert.ok(leader.connections >= 2, "the leader was tried again");
    // The connection that got no welcome was closed by the client, not left open.
    assert.ok(leader.closed >= 1, "the unwelcomed connection is still open");
  } finally {
    client.close();
    await leader.close();
    await follower.close();
  }
});
