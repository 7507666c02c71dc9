/**
 * Node authentication with a shared cluster secret. Workers and orchestrators
 * prove on every TCP connection that they hold the secret by challenge and
 * response — HMAC-SHA-256 over nonces from both sides, so the secret never
 * crosses the wire and an old exchange cannot be replayed — and every UDP
 * datagram (heartbeat, leader announcement) carries an HMAC of its fields.
 *
 * Separate keys are derived for the two uses, so a MAC made for one can never
 * be mistaken for the other.
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { requirePrivateFile } from "../secret_file.ts";

/** Keys derived from the cluster secret. */
export interface ClusterKeys {
  handshake: Uint8Array;
  datagram: Uint8Array;
}

const SECRET_BYTES_MIN = 32;
const NONCE_BYTES = 32;

/** Derives the purpose keys from the raw secret. */
export function deriveClusterKeys(secret: Uint8Array): ClusterKeys {
  if (secret.length < SECRET_BYTES_MIN) {
    throw new RangeError(
      `A cluster secret needs at least ${SECRET_BYTES_MIN} bytes, got ${secret.length}`,
    );
  }
  const derive = (label: string) =>
    new Uint8Array(createHmac("sha256", secret).update(label).digest());
  return { handshake: derive("mutirao handshake v1"), datagram: derive("mutirao datagram v1") };
}

/**
 * Reads a cluster secret file (base64url text, as `deno task cluster-secret` writes it).
 * @throws {Error} when the file is missing, readable by others, or too short.
 */
export async function loadClusterKeys(path: string): Promise<ClusterKeys> {
  await requirePrivateFile(path, "cluster secret file");
  const text = (await Deno.readTextFile(path)).trim();
  const secret = new Uint8Array(Buffer.from(text, "base64url"));
  try {
    return deriveClusterKeys(secret);
  } catch (error) {
    throw new Error(`Cannot use the cluster secret file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A new secret, as file text. */
export function newClusterSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** A fresh random nonce for one handshake. */
export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString("base64url");
}

/** What a handshake proof covers: both nonces, the side, and who is connecting as what. */
export interface HandshakeContext {
  role: "worker" | "peer";
  clientNonce: string;
  serverNonce: string;
  /** The orchestrator answering (its id), so a proof from one cannot be passed off as another's. */
  serverId: string;
}

/** The proof one side sends: HMAC over the context, bound to the side so proofs cannot be reflected. */
export function handshakeProof(
  keys: ClusterKeys,
  side: "server" | "client",
  context: HandshakeContext,
): string {
  const text = [
    "mutirao-auth",
    side,
    context.role,
    context.clientNonce,
    context.serverNonce,
    context.serverId,
  ]
    .join("|");
  return createHmac("sha256", keys.handshake).update(text).digest("base64url");
}

/** Checks a proof in constant time. */
export function verifyHandshakeProof(
  keys: ClusterKeys,
  side: "server" | "client",
  context: HandshakeContext,
  proof: string,
): boolean {
  return macEquals(handshakeProof(keys, side, context), proof);
}

/** The MAC of a datagram's canonical text (see canonical* in shared/net/datagram_auth.ts). */
export function datagramMac(keys: ClusterKeys, canonical: string): string {
  return createHmac("sha256", keys.datagram).update(canonical).digest("base64url");
}

/** Constant-time comparison of two base64url MACs. */
export function macEquals(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, "base64url");
  const b = Buffer.from(actual, "base64url");
  return a.length === b.length && timingSafeEqual(a, b);
}
