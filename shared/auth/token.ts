/**
 * Session tokens: 256 random bits, shown to the user once; orchestrators keep
 * only their SHA-256, so a leaked state or snapshot does not leak sessions.
 * @module
 */
import { createHash, randomBytes } from "node:crypto";

const TOKEN_BYTES = 32;

/** A new random token (base64url, 43 characters). */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString("base64url");
}

/** The SHA-256 of a token, hex; what replicated state stores. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
