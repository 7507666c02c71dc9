/**
 * Frames after the handshake: decoded by what the connection proved it is (peer, worker or
 * client) and handed to the node, a client's requests counted against the connection's limit
 * of replies awaited.
 * @module
 */
import { assertNever } from "../../shared/assert.ts";
import { hashToken } from "../../shared/auth/mod.ts";
import type { Logger } from "../../shared/log.ts";
import { decodeMessage, DIRECTIONS, ProtocolError } from "../../shared/protocol/codec.ts";
import type { ConnId, NodeInput } from "../core/mod.ts";
import type { ConnectionTable } from "./connection_table.ts";
import type { Role } from "./handshake.ts";

/** What routing needs from the server. */
export interface FramePorts {
  connections: ConnectionTable;
  maxInflightPerConnection: number;
  logger: Logger;
  step(input: NodeInput): void;
}

/** Decodes a frame after the handshake by the connection's role and hands it to the node. */
export function routeFrame(
  ports: FramePorts,
  frame: { connId: ConnId; role: Role; payload: Uint8Array; nowMs: number },
): void {
  const { connId, role, payload, nowMs } = frame;
  switch (role.kind) {
    case "peer": {
      const decoded = decodeMessage(payload, DIRECTIONS.peer);
      if (!decoded.ok) {
        ports.logger.warn(`Bad message from peer ${role.nodeId}: ${decoded.error.message}`);
        return;
      }
      ports.step({ type: "peerMessage", from: role.nodeId, message: decoded.message, nowMs });
      return;
    }
    case "worker": {
      const decoded = decodeMessage(payload, DIRECTIONS.workerToOrchestrator);
      ports.step(
        decoded.ok
          ? { type: "workerMessage", conn: connId, message: decoded.message, nowMs }
          : { type: "protocolError", conn: connId, error: decoded.error, nowMs },
      );
      return;
    }
    case "client": {
      routeClientFrame(ports, connId, payload, nowMs);
      return;
    }
    case "awaitingProof":
      // The server hands frames of a connection awaiting proof to acceptProof, never here.
      throw new Error(`Connection ${connId}: a frame routed before the proof was checked`);
    default:
      assertNever(role, "connection role");
  }
}

function routeClientFrame(
  ports: FramePorts,
  connId: ConnId,
  payload: Uint8Array,
  nowMs: number,
): void {
  const decoded = decodeMessage(payload, DIRECTIONS.clientToOrchestrator);
  // Count every frame that will get a reply naming its request id; the reply uncounts it.
  const requestId = decoded.ok ? decoded.message.id : decoded.error.requestId;
  const maxInflight = ports.maxInflightPerConnection;
  if (requestId !== null && !ports.connections.admitRequest(connId, maxInflight)) {
    const error = new ProtocolError(
      "rate_limited",
      `Too many requests awaiting replies on this connection (at most ${maxInflight}); wait for some`,
      requestId,
    );
    ports.step({ type: "protocolError", conn: connId, error, nowMs });
    return;
  }
  if (!decoded.ok) {
    ports.step({ type: "protocolError", conn: connId, error: decoded.error, nowMs });
  } else if (decoded.message.type === "login") {
    const source = ports.connections.remoteHost(connId);
    ports.step({ type: "login", conn: connId, request: decoded.message, source, nowMs });
  } else {
    ports.step({
      type: "clientRequest",
      conn: connId,
      request: decoded.message,
      tokenHash: hashToken(decoded.message.token),
      nowMs,
    });
  }
}
