/**
 * Password hashing and session tokens.
 * @module
 */
export {
  DEFAULT_SCRYPT_PARAMS,
  DUMMY_PASSWORD_HASH,
  hashPassword,
  isPasswordHash,
  verifyPassword,
} from "./password.ts";
export type { ScryptParams } from "./password.ts";
export { generateToken, hashToken } from "./token.ts";
export {
  type ClusterKeys,
  datagramMac,
  deriveClusterKeys,
  type HandshakeContext,
  handshakeProof,
  loadClusterKeys,
  macEquals,
  newClusterSecret,
  newNonce,
  verifyHandshakeProof,
} from "./node_auth.ts";
