// Proves that the client leaves an orchestrator that falls silent while a reply is owed (frozen:
// its connection stays open) once the keepalives it had been sending stop, and does not go back
// to it within the request, not even when another orchestrator's "not leader" hint names it (a
// follower names the frozen leader until its own election timeout) (issue 11, failures noticed
// sooner).
import assert from "node:assert/strict";
import { MutiraoClient } from "../../client/api/mod.ts";
import { RemoteError } from "../../shared/errors.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import { FramedConnection } from "../../shared/net/framed_connection.ts";

const KEEPALIVE_MS = 100;

type Answer = (request: { id: number }, conn: FramedConnection) => void;

/** A fake orchestrator: welcomes every hello, then answers requests with `answer`. */
function fakeOrchestrator(name: string, answer: Answer, keepalives: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const state = { connections: 0 };
  const timers = new Set<ReturnType<typeof setInterval>>();
  const conns = new Set<FramedConnection>();
  const serving = (async () => {
    for await (const raw of listener) {
      state.connections += 1;
      const conn = new FramedConnection(raw, { maxFrameBytes: 1 << 20 });
      conns.add(conn);
      void (async () => {
        try {
          for await (const payload of conn.frames()) {
            const frame = JSON.parse(new TextDecoder().decode(payload));
            if (frame.type === "hello") {
              conn.send({
                v: PROTOCOL_VERSION,
                type: "welcome",
                lamport: 1,
                nodeId: name,
                clusterId: "c",
              });
              // Keepalives for a while, then silence: frozen, yet the connection stays open.
              let sent = 0;
              const timer = setInterval(() => {
                if (sent++ >= keepalives) return clearInterval(timer);
                conn.send({ v: PROTOCOL_VERSION, type: "keepalive", lamport: 1 });
              }, KEEPALIVE_MS);
              timers.add(timer);
            } else {
              answer(frame, conn);
            }
          }
        } catch {
          // The client closed the connection: nothing left to serve on it.
        }
      })();
    }
  })();
  return {
    address: { id: name, host: "127.0.0.1", port },
    state,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      for (const conn of conns) conn.close();
      listener.close();
      await serving.catch(() => {/* the listener closed */});
    },
  };
}

Deno.test("the client leaves a frozen orchestrator and does not follow a hint back to it", async () => {
  const frozen = fakeOrchestrator("o1", () => {/* frozen: never answers */}, 6);
  const follower = fakeOrchestrator("o2", (request, conn) => {
    conn.send({
      v: PROTOCOL_VERSION,
      type: "error",
      lamport: 1,
      re: request.id,
      code: "not_leader",
      message: "Orchestrator o2 is not the leader; the leader is o1",
      leaderHint: `127.0.0.1:${frozen.address.port}`,
    });
  }, 1000);
  const leader = fakeOrchestrator("o3", (request, conn) => {
    conn.send({
      v: PROTOCOL_VERSION,
      type: "error",
      lamport: 1,
      re: request.id,
      code: "not_found",
      message: "No task t-1",
    });
  }, 1000);
  const client = new MutiraoClient({
    orchestrators: [frozen.address, follower.address, leader.address],
    timeoutMs: 20_000,
  });
  try {
    const error = await client.request({ type: "status", token: "x", taskId: "t-1" })
      .then(() => null, (e: unknown) => e);
    assert.ok(error instanceof RemoteError, `the new leader's answer, got ${error}`);
    assert.equal(error.code, "not_found");
    assert.equal(frozen.state.connections, 1, "the frozen orchestrator was not dialled again");
  } finally {
    client.close();
    await Promise.all([frozen.stop(), follower.stop(), leader.stop()]);
  }
});
