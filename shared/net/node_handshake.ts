/**
 * The connecting side of node authentication (workers, and orchestrators
 * connecting to their peers): checks the orchestrator's proof in its welcome
 * and builds the `authenticate` reply. The accepting side is in
 * orchestrator/shell (it must also decide whom to let in).
 * @module
 */
import { type ClusterKeys, handshakeProof, newNonce, verifyHandshakeProof } from "../auth/mod.ts";
import { PROTOCOL_VERSION } from "../limits.ts";
import type { Welcome } from "../protocol/messages.ts";

/** A hello for a worker or peer connection, with a fresh nonce for the challenge. */
export function nodeHello(
  role: "worker" | "peer",
  extra: { nodeId?: string; clusterId?: string } = {},
): { message: object; nonce: string } {
  const nonce = newNonce();
  return {
    nonce,
    message: { v: PROTOCOL_VERSION, type: "hello", role, lamport: 0, nonce, ...extra },
  };
}

/**
 * Checks the welcome and returns the `authenticate` message to send, null when there is
 * nothing to prove (no secret on our side), or an error explaining why to hang up.
 */
export function answerWelcome(
  keys: ClusterKeys | null,
  role: "worker" | "peer",
  clientNonce: string,
  welcome: Welcome,
): { ok: true; authenticate: object | null } | { ok: false; reason: string } {
  if (keys === null) {
    if (welcome.proof === undefined) return { ok: true, authenticate: null };
    return {
      ok: false,
      reason: `orchestrator ${welcome.nodeId} requires node authentication: ` +
        `give this node the cluster secret (--cluster-secret FILE)`,
    };
  }
  if (welcome.nonce === undefined || welcome.proof === undefined) {
    return {
      ok: false,
      reason: `orchestrator ${welcome.nodeId} did not prove it holds the cluster secret ` +
        `(it runs without one, or is not part of this cluster)`,
    };
  }
  const context = { role, clientNonce, serverNonce: welcome.nonce, serverId: welcome.nodeId };
  if (!verifyHandshakeProof(keys, "server", context, welcome.proof)) {
    return {
      ok: false,
      reason: `orchestrator ${welcome.nodeId} failed the cluster-secret challenge`,
    };
  }
  return {
    ok: true,
    authenticate: {
      v: PROTOCOL_VERSION,
      type: "authenticate",
      lamport: 0,
      proof: handshakeProof(keys, "client", context),
    },
  };
}
