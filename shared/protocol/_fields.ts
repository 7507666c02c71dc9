/**
 * Field schemas every wire message is built from: bounded integers, the envelope (`v`, `lamport`),
 * request ids, session tokens and account names. Private to shared/protocol.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { LAMPORT_MAX, LIMITS, PROTOCOL_VERSION } from "../limits.ts";

export const nonNegInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const positiveInt = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** Spread into every message: the protocol version and the sender's Lamport time. */
export const envelope = {
  v: z.literal(PROTOCOL_VERSION),
  lamport: z.number().int().nonnegative().max(LAMPORT_MAX),
};
export const requestId = nonNegInt;
export const token = z.string().min(1).max(512);

/**
 * An account name. Also what a login may name: an unauthenticated name reaches log lines, so it is
 * held to the same characters as the accounts that can exist.
 */
export const userName = z.string().regex(
  /^[A-Za-z0-9_.@-]+$/,
  "letters, digits, '_', '.', '@' or '-'",
)
  .max(LIMITS.userNameChars);
