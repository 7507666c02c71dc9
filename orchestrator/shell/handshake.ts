/**
 * The first frames on a connection: the hello that says who is calling (client, worker or peer
 * orchestrator) and, when the cluster has a secret, the proof a worker or peer must answer the
 * server's challenge with. Each function returns the connection's role, or null to close it;
 * every refusal is handed to the node as a protocol error, so the caller hears why.
 * @module
 */
import {
  type ClusterKeys,
  type HandshakeContext,
  handshakeProof,
  newNonce,
  verifyHandshakeProof,
} from "../../shared/auth/mod.ts";
import type { ClusterConfig, OrchestratorAddress } from "../../shared/config/mod.ts";
import type { Logger } from "../../shared/log.ts";
import type { FramedConnection } from "../../shared/net/framed_connection.ts";
import { decodeMessage, DIRECTIONS, ProtocolError } from "../../shared/protocol/codec.ts";
import type { Hello } from "../../shared/protocol/messages.ts";
import type { ConnId, NodeInput } from "../core/mod.ts";
import { PEER_MAX_FRAME_BYTES } from "./peer_links.ts";

/** Who is on the other end of a TCP connection, from its hello (and proof, for nodes). */
export type Role =
  | { kind: "client" }
  | { kind: "worker" }
  | { kind: "peer"; nodeId: string }
  /** A worker or peer that was challenged and must now send its proof. */
  | {
    kind: "awaitingProof";
    becomes: { kind: "worker" } | { kind: "peer"; nodeId: string };
    context: HandshakeContext;
  };

/** What the handshake needs from the server. */
export interface HandshakePorts {
  config: ClusterConfig;
  self: OrchestratorAddress;
  keys: ClusterKeys | null;
  logger: Logger;
  step(input: NodeInput): void;
}

/** Handles the first frame; returns the peer's role, or null to close the connection. */
export function acceptHello(
  ports: HandshakePorts,
  frame: { connId: ConnId; conn: FramedConnection; payload: Uint8Array; nowMs: number },
): Role | null {
  const { connId, conn, payload, nowMs } = frame;
  const decoded = decodeMessage(payload, DIRECTIONS.hello);
  if (!decoded.ok || decoded.message.type !== "hello") {
    const error = decoded.ok
      ? new ProtocolError("bad_request", "The first frame on a connection must be a hello")
      : new ProtocolError(
        decoded.error.code,
        `${decoded.error.message}; the first frame on a connection must be a hello`,
        decoded.error.requestId,
      );
    ports.step({ type: "protocolError", conn: connId, error, nowMs });
    return null;
  }
  const hello = decoded.message;
  ports.logger.debug(`Connection ${connId} from ${conn.remoteAddress} says it is a ${hello.role}`);
  if (hello.role === "client") {
    ports.step({ type: "hello", conn: connId, hello, nowMs });
    return { kind: "client" };
  }
  let becomes: { kind: "worker" } | { kind: "peer"; nodeId: string } = { kind: "worker" };
  if (hello.role === "peer") {
    const peer = peerIdentity(ports, connId, hello, nowMs);
    if (peer === null) return null;
    becomes = { kind: "peer", nodeId: peer };
  }
  const keys = ports.keys;
  if (keys === null) {
    // Without a secret there is nothing to prove: a peer is whoever says so.
    if (becomes.kind === "peer") conn.setMaxFrameBytes(PEER_MAX_FRAME_BYTES);
    ports.step({ type: "hello", conn: connId, hello, nowMs });
    return becomes;
  }
  if (hello.nonce === undefined) {
    const error = new ProtocolError(
      "unauthenticated",
      "This cluster requires node authentication: start the node with the cluster secret (--cluster-secret FILE)",
    );
    ports.logger.warn(
      `Refused a ${hello.role} from ${conn.remoteAddress}: no cluster-secret challenge`,
    );
    ports.step({ type: "protocolError", conn: connId, error, nowMs });
    return null;
  }
  const context: HandshakeContext = {
    role: hello.role,
    clientNonce: hello.nonce,
    serverNonce: newNonce(),
    serverId: ports.self.id,
  };
  const challenge = {
    nonce: context.serverNonce,
    proof: handshakeProof(keys, "server", context),
  };
  ports.step({ type: "hello", conn: connId, hello, challenge, nowMs });
  return { kind: "awaitingProof", becomes, context };
}

/** Checks a challenged node's proof; returns its role, or null to close the connection. */
export function acceptProof(
  ports: HandshakePorts,
  role: Extract<Role, { kind: "awaitingProof" }>,
  frame: { connId: ConnId; conn: FramedConnection; payload: Uint8Array; nowMs: number },
): Role | null {
  const { connId, conn, payload, nowMs } = frame;
  const decoded = decodeMessage(payload, DIRECTIONS.hello);
  const keys = ports.keys;
  // A role awaiting proof exists only when the cluster has keys (see acceptHello).
  const valid = keys !== null && decoded.ok && decoded.message.type === "authenticate" &&
    verifyHandshakeProof(keys, "client", role.context, decoded.message.proof);
  if (!valid) {
    ports.logger.warn(
      `Node authentication failed for a ${role.context.role} from ${conn.remoteAddress}: ` +
        `wrong or missing proof of the cluster secret`,
    );
    const error = new ProtocolError(
      "unauthenticated",
      "Node authentication failed: this node does not hold the cluster's secret",
    );
    ports.step({ type: "protocolError", conn: connId, error, nowMs });
    return null;
  }
  ports.logger.debug(`Connection ${connId} from ${conn.remoteAddress} proved the cluster secret`);
  // Batches of entries and snapshot chunks are larger than client frames. Only now: a hello
  // claiming to be a peer proves nothing, and must not let a stranger send 64 MiB frames
  // (issue 13, hole 2).
  if (role.becomes.kind === "peer") conn.setMaxFrameBytes(PEER_MAX_FRAME_BYTES);
  return role.becomes;
}

/** The id of a connecting orchestrator if it is a member of this cluster; else replies and null. */
function peerIdentity(
  ports: HandshakePorts,
  connId: ConnId,
  hello: Hello,
  nowMs: number,
): string | null {
  const { config, self } = ports;
  const member = config.orchestrators.some((o) => o.id === hello.nodeId && o.id !== self.id);
  if (!member || hello.clusterId !== config.clusterId || hello.nodeId === undefined) {
    const error = new ProtocolError(
      "bad_request",
      `Refused peer ${hello.nodeId ?? "(no id)"} of cluster ${hello.clusterId ?? "(none)"}: ` +
        `not a member of cluster ${config.clusterId}`,
    );
    ports.step({ type: "protocolError", conn: connId, error, nowMs });
    return null;
  }
  return hello.nodeId;
}
