// Proves the handshake gives a connection its role only for a valid hello (and, with a cluster
// secret, a valid proof), and raises the frame limit only for a peer that has proven itself.
import assert from "node:assert/strict";
import { deriveClusterKeys, handshakeProof } from "../../shared/auth/mod.ts";
import { parseClusterConfig } from "../../shared/config/mod.ts";
import { createLogger } from "../../shared/log.ts";
import type { FramedConnection } from "../../shared/net/framed_connection.ts";
import { encodeMessage } from "../../shared/protocol/codec.ts";
import type { NodeInput } from "../core/mod.ts";
import { acceptHello, acceptProof, type HandshakePorts } from "./handshake.ts";
import { PEER_MAX_FRAME_BYTES } from "./peer_links.ts";

const config = parseClusterConfig({
  clusterId: "c1",
  orchestrators: [
    { id: "o1", host: "127.0.0.1", port: 7701 },
    { id: "o2", host: "127.0.0.1", port: 7702 },
  ],
}, "test");

/** Ports that record what is stepped, and a connection that records its frame limit. */
function setUp(keys: HandshakePorts["keys"]) {
  const stepped: NodeInput[] = [];
  const ports: HandshakePorts = {
    config,
    self: config.orchestrators[0]!,
    keys,
    logger: createLogger("test", "error"),
    step: (input) => stepped.push(input),
  };
  const limits: number[] = [];
  const conn = {
    remoteAddress: "127.0.0.1:5000",
    setMaxFrameBytes: (bytes: number) => limits.push(bytes),
  } as unknown as FramedConnection;
  const frame = (message: object) => ({
    connId: 1,
    conn,
    payload: encodeMessage(message),
    nowMs: 5,
  });
  return { ports, stepped, limits, frame };
}

Deno.test("a client's hello makes it a client and is handed to the node", () => {
  const { ports, stepped, frame } = setUp(null);
  const role = acceptHello(ports, frame({ v: 1, lamport: 1, type: "hello", role: "client" }));
  assert.deepEqual(role, { kind: "client" });
  assert.deepEqual(stepped.map((s) => s.type), ["hello"]);
});

Deno.test("a first frame that is not a hello is refused with a protocol error", () => {
  const { ports, stepped, frame } = setUp(null);
  const role = acceptHello(ports, frame({ v: 1, lamport: 1, type: "authenticate", proof: "x" }));
  assert.equal(role, null);
  assert.deepEqual(stepped.map((s) => s.type), ["protocolError"]);
});

Deno.test("a peer of another cluster is refused, and its frame limit stays", () => {
  const { ports, stepped, limits, frame } = setUp(null);
  const hello = { v: 1, lamport: 1, type: "hello", role: "peer", nodeId: "o2", clusterId: "c2" };
  assert.equal(acceptHello(ports, frame(hello)), null);
  assert.deepEqual(stepped.map((s) => s.type), ["protocolError"]);
  assert.deepEqual(limits, []);
});

Deno.test("with a cluster secret a peer gets its larger frame limit only after a valid proof", () => {
  const keys = deriveClusterKeys(new Uint8Array(32).fill(7));
  const { ports, limits, frame } = setUp(keys);
  const hello = {
    v: 1,
    lamport: 1,
    type: "hello",
    role: "peer",
    nodeId: "o2",
    clusterId: "c1",
    nonce: "AAAAAAAAAAAAAAAAAAAAAA",
  };
  const challenged = acceptHello(ports, frame(hello));
  assert.equal(challenged?.kind, "awaitingProof");
  assert.deepEqual(limits, [], "a hello alone proves nothing");
  if (challenged?.kind !== "awaitingProof") return;
  const wrong = acceptProof(
    ports,
    challenged,
    frame({ v: 1, lamport: 2, type: "authenticate", proof: "AAAA" }),
  );
  assert.equal(wrong, null);
  assert.deepEqual(limits, []);
  const proof = handshakeProof(keys, "client", challenged.context);
  const right = acceptProof(
    ports,
    challenged,
    frame({ v: 1, lamport: 2, type: "authenticate", proof }),
  );
  assert.deepEqual(right, { kind: "peer", nodeId: "o2" });
  assert.deepEqual(limits, [PEER_MAX_FRAME_BYTES]);
});
